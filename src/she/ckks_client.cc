// SHE non-interactive mode (CKKS), key holder side (veil/she/ckks_client.h).
#include "veil/she/ckks_client.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "internal.h"
#include "veil/he/ckks.h"
#include "veil/he/serialize.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {

using internal::AsBytes;
using internal::FromGrpc;
using internal::MsSince;
using Clock = std::chrono::steady_clock;

Result<std::vector<CkksHop>> ParseCkksRoute(const std::string& text) {
  std::vector<CkksHop> hops;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      return Status::InvalidArgument("CKKS route entry '" + item +
                                     "' is not FIRST:LAST=HOST:PORT[|ALT...]");
    VEIL_ASSIGN_OR_RETURN(auto ranges, ParseLayerRanges(item.substr(0, eq)));
    CkksHop hop;
    hop.first = ranges[0].first;
    hop.last = ranges[0].second;
    const std::string addrs = item.substr(eq + 1);
    size_t a = 0;
    while (a <= addrs.size()) {
      size_t bar = addrs.find('|', a);
      if (bar == std::string::npos) bar = addrs.size();
      const std::string addr = addrs.substr(a, bar - a);
      const size_t colon = addr.rfind(':');
      if (addr.empty() || colon == std::string::npos || colon == 0 || colon + 1 == addr.size())
        return Status::InvalidArgument("CKKS route: '" + addr + "' is not HOST:PORT");
      hop.addresses.push_back(addr);
      a = bar + 1;
    }
    hops.push_back(std::move(hop));
    if (hops.size() > 64) return Status::InvalidArgument("CKKS route: more than 64 hops");
    pos = comma + 1;
  }
  return hops;
}

struct CkksSheRunner::Impl {
  std::shared_ptr<const he::CkksNetworkSpec> spec;
  std::vector<CkksHop> hops;
  CkksSheOptions options;
  Digest model_digest{};
  std::shared_ptr<const he::Context> ctx;
  std::shared_ptr<const he::CkksNetwork> net;
  std::optional<he::KeyGenerator> keygen;
  std::optional<he::CkksEncoder> encoder;
  std::optional<he::CkksEncryptor> encryptor;
  std::optional<he::CkksDecryptor> decryptor;

  struct Blob {
    std::string galois, relin;
    size_t galois_count = 0;
  };
  std::map<size_t, Blob> blobs;                                   // by hop
  std::map<std::pair<std::string, size_t>, std::string> key_ids;  // (address, hop)
  std::set<std::string> excluded;
  std::vector<CkksKeyUpload> uploads;
  std::map<std::string, std::unique_ptr<v1::She::Stub>> stubs;
  std::mutex mutex;
  uint64_t next_id = 0;

  v1::She::Stub* StubFor(const std::string& address) {
    auto& stub = stubs[address];
    if (stub == nullptr) stub = v1::She::NewStub(internal::MakeChannel(address, options.client));
    return stub.get();
  }

  Result<const Blob*> Keys(size_t hop) {
    auto it = blobs.find(hop);
    if (it != blobs.end()) return &it->second;
    const CkksHop& h = hops[hop];
    Blob b;
    VEIL_ASSIGN_OR_RETURN(std::vector<int> steps, net->RequiredGaloisSteps(h.first, h.last));
    if (!steps.empty()) {
      VEIL_ASSIGN_OR_RETURN(he::GaloisKeys gk, keygen->CreateGaloisKeysForSteps(steps, false));
      VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, he::SerializeGaloisKeys(*ctx, gk));
      b.galois.assign(bytes.begin(), bytes.end());
      b.galois_count = gk.keys.size();
    }
    VEIL_ASSIGN_OR_RETURN(bool relin, net->NeedsRelinKeys(h.first, h.last));
    if (relin) {
      VEIL_ASSIGN_OR_RETURN(he::RelinKeys rk, keygen->CreateRelinKeys());
      VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, he::SerializeRelinKeys(*ctx, rk));
      b.relin.assign(bytes.begin(), bytes.end());
    }
    return &blobs.emplace(hop, std::move(b)).first->second;
  }

  Result<std::string> KeyId(const std::string& address, size_t hop) {
    auto it = key_ids.find({address, hop});
    if (it != key_ids.end()) return it->second;
    VEIL_ASSIGN_OR_RETURN(const Blob* blob, Keys(hop));
    v1::SheUploadKeysRequest req;
    req.set_version(kSheProtocolVersion);
    req.set_param_set(static_cast<v1::SheParamSet>(options.params));
    req.set_scheme(v1::SHE_SCHEME_CKKS);
    req.set_galois_keys(blob->galois);
    req.set_relin_keys(blob->relin);
    v1::SheUploadKeysReply reply;
    grpc::ClientContext call;
    internal::SetDeadline(&call, options.client.deadline_ms);
    const auto start = Clock::now();
    grpc::Status s = StubFor(address)->UploadKeys(&call, req, &reply);
    if (!s.ok()) return FromGrpc(s, "CKKS key upload to " + address);
    if (reply.key_id().size() != 32)
      return Status::Corrupt("node " + address + " answered a key_id of " +
                             std::to_string(reply.key_id().size()) + " bytes");
    CkksKeyUpload u;
    u.address = address;
    u.first = hops[hop].first;
    u.last = hops[hop].last;
    u.bytes = blob->galois.size() + blob->relin.size();
    u.galois_keys = blob->galois_count;
    u.relin_keys = !blob->relin.empty();
    u.ms = MsSince(start);
    uploads.push_back(u);
    key_ids[{address, hop}] = reply.key_id();
    return reply.key_id();
  }

  // One hop on the first usable candidate: the output ciphertext's bytes.
  Result<std::string> Call(size_t hop, const std::string& input, CkksHopStep* step) {
    const CkksHop& h = hops[hop];
    Status last = Status::Unavailable("no usable node for layers " + std::to_string(h.first) + ":" +
                                      std::to_string(h.last));
    int attempts = 0;
    for (const std::string& address : h.addresses) {
      if (excluded.count(address) != 0) continue;
      if (attempts++ >= options.max_attempts) break;
      for (int round = 0; round < 2; ++round) {  // a second round re-uploads expired keys
        auto key = KeyId(address, hop);
        if (!key.ok()) {
          last = key.status();
          break;
        }
        v1::SheCkksEvaluateRequest req;
        req.set_version(kSheProtocolVersion);
        req.set_request_id("ckks-" + std::to_string(next_id++));
        req.set_key_id(*key);
        req.set_model_digest(internal::ToString(model_digest));
        req.set_first_layer(static_cast<uint32_t>(h.first));
        req.set_last_layer(static_cast<uint32_t>(h.last));
        req.set_input(input);
        v1::SheCkksEvaluateReply reply;
        grpc::ClientContext call;
        internal::SetDeadline(&call, options.client.deadline_ms);
        const auto start = Clock::now();
        grpc::Status s = StubFor(address)->EvaluateCkks(&call, req, &reply);
        if (s.ok()) {
          step->served_by = address;
          step->ms += MsSince(start);
          step->upload_bytes += input.size();
          step->download_bytes += reply.output().size();
          return std::move(*reply.mutable_output());
        }
        last = FromGrpc(s, "CKKS evaluation on " + address);
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION && round == 0) {
          key_ids.erase({address, hop});
          continue;
        }
        break;
      }
      if (last.code() == StatusCode::kInvalidArgument) return last;  // a bug, not a failure
      excluded.insert(address);
      if (options.log)
        options.log("event=she_ckks_failover node=" + address + " error=\"" + last.message() +
                    "\"");
    }
    return last;
  }
};

CkksSheRunner::CkksSheRunner() : impl_(std::make_unique<Impl>()) {}
CkksSheRunner::~CkksSheRunner() = default;

Result<std::unique_ptr<CkksSheRunner>> CkksSheRunner::Create(
    std::shared_ptr<const he::CkksNetworkSpec> spec, std::vector<CkksHop> hops,
    CkksSheOptions options) {
  if (spec == nullptr) return Status::InvalidArgument("no CKKS model");
  if (hops.empty()) return Status::InvalidArgument("the CKKS route has no hop");
  size_t at = 0;
  for (const CkksHop& h : hops) {
    if (h.first != at || h.last <= h.first || h.last > spec->layers.size())
      return Status::InvalidArgument(
          "the CKKS route must cover layers 0:" + std::to_string(spec->layers.size()) +
          " with contiguous ranges in order; got " + std::to_string(h.first) + ":" +
          std::to_string(h.last) + " where " + std::to_string(at) + ":… was expected");
    if (h.addresses.empty()) return Status::InvalidArgument("CKKS hop without a node address");
    at = h.last;
  }
  if (at != spec->layers.size())
    return Status::InvalidArgument("the CKKS route stops at layer " + std::to_string(at) + " of " +
                                   std::to_string(spec->layers.size()));
  std::unique_ptr<CkksSheRunner> runner(new CkksSheRunner());
  Impl& m = *runner->impl_;
  m.spec = std::move(spec);
  m.hops = std::move(hops);
  m.options = std::move(options);
  m.model_digest = CkksModelDigest(*m.spec);
  VEIL_ASSIGN_OR_RETURN(m.ctx, MakeSheCkksContext(m.options.params));
  VEIL_ASSIGN_OR_RETURN(m.net, he::CkksNetwork::Create(m.ctx, *m.spec));
  VEIL_ASSIGN_OR_RETURN(he::KeyGenerator kg, he::KeyGenerator::Create(m.ctx));
  m.keygen.emplace(std::move(kg));
  VEIL_ASSIGN_OR_RETURN(he::CkksEncoder enc, he::CkksEncoder::Create(m.ctx));
  m.encoder.emplace(std::move(enc));
  VEIL_ASSIGN_OR_RETURN(he::CkksEncryptor en,
                        he::CkksEncryptor::Create(m.ctx, m.keygen->secret_key()));
  m.encryptor.emplace(std::move(en));
  VEIL_ASSIGN_OR_RETURN(he::CkksDecryptor de,
                        he::CkksDecryptor::Create(m.ctx, m.keygen->secret_key()));
  m.decryptor.emplace(std::move(de));
  return runner;
}

size_t CkksSheRunner::batch_capacity() const { return impl_->net->batch_capacity(); }
size_t CkksSheRunner::input_size() const { return impl_->net->input_size(); }
const Digest& CkksSheRunner::model_digest() const { return impl_->model_digest; }
const he::SecretKey& CkksSheRunner::secret_key() const { return impl_->keygen->secret_key(); }
std::vector<CkksKeyUpload> CkksSheRunner::key_uploads() const { return impl_->uploads; }

Status CkksSheRunner::UploadKeys() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (size_t h = 0; h < impl_->hops.size(); ++h)
    VEIL_RETURN_IF_ERROR(impl_->KeyId(impl_->hops[h].addresses.front(), h).status());
  return Status::Ok();
}

Result<CkksSheResult> CkksSheRunner::Run(const std::vector<std::vector<double>>& inputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Impl& m = *impl_;
  if (inputs.empty()) return Status::InvalidArgument("no input");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].size() != m.net->input_size())
      return Status::InvalidArgument(
          "input " + std::to_string(i) + " has " + std::to_string(inputs[i].size()) +
          " values, the model takes " + std::to_string(m.net->input_size()));
  CkksSheResult result;
  for (const CkksHop& h : m.hops) result.hops.push_back({h.first, h.last, "", 0, 0, 0});
  const size_t cap = m.net->batch_capacity();
  for (size_t base = 0; base < inputs.size(); base += cap) {
    const size_t count = std::min(cap, inputs.size() - base);
    const std::vector<std::vector<double>> chunk(
        inputs.begin() + static_cast<ptrdiff_t>(base),
        inputs.begin() + static_cast<ptrdiff_t>(base + count));
    auto t = Clock::now();
    VEIL_ASSIGN_OR_RETURN(he::CkksPlaintext plain, m.net->EncodeInputs(*m.encoder, chunk));
    VEIL_ASSIGN_OR_RETURN(he::CkksCiphertext ct, m.encryptor->EncryptSymmetric(plain));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, he::SerializeCkksCiphertext(*m.ctx, ct));
    result.encrypt_ms += MsSince(t);
    std::string wire(bytes.begin(), bytes.end());
    result.input_bytes += wire.size();
    for (size_t h = 0; h < m.hops.size(); ++h) {
      result.upload_bytes += wire.size();
      VEIL_ASSIGN_OR_RETURN(std::string out, m.Call(h, wire, &result.hops[h]));
      result.download_bytes += out.size();
      // Check what the node returned before relaying or decrypting it: the encoding against
      // the parameters, size 2, and the level the next layer expects. Never decrypted here
      // unless it is the last hop's result.
      auto check = he::DeserializeCkksCiphertext(*m.ctx, AsBytes(out));
      if (!check.ok())
        return Status::Corrupt("node " + result.hops[h].served_by +
                               " returned a malformed ciphertext: " + check.status().message());
      const size_t want = m.net->input_limbs(m.hops[h].last);
      if (check->size() != 2 || check->limbs() != want)
        return Status::Corrupt("node " + result.hops[h].served_by +
                               " returned a ciphertext of size " + std::to_string(check->size()) +
                               " with " + std::to_string(check->limbs()) +
                               " limb(s), expected 2 and " + std::to_string(want));
      if (h + 1 == m.hops.size()) {
        t = Clock::now();
        VEIL_ASSIGN_OR_RETURN(he::CkksPlaintext dec, m.decryptor->Decrypt(*check));
        VEIL_ASSIGN_OR_RETURN(auto logits, m.net->DecodeOutputs(*m.encoder, dec, count));
        result.decrypt_ms += MsSince(t);
        for (auto& l : logits) result.outputs.push_back(std::move(l));
      }
      wire = std::move(out);
    }
    ++result.ciphertexts;
  }
  return result;
}

}  // namespace veil::she
