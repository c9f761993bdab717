// SHE node side: veil.v1.She (proto/veil/v1/she.proto) — exact mode (BFV, per layer) and
// non-interactive mode (CKKS, whole layer ranges).
#include "veil/she/service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "veil/digest.h"
#include "veil/he/serialize.h"
#include "veil/model_file.h"
#include "veil/net/grpc_status.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {
namespace {

using Clock = std::chrono::steady_clock;
using KeyId = std::array<uint8_t, 32>;

constexpr int kMaxInputs = 64;

grpc::Status Invalid(const std::string& m) { return net::InvalidRequest(m); }
grpc::Status ToGrpc(const Status& s) { return net::ToGrpcStatus(s); }

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ToDigest(const std::string& bytes, std::array<uint8_t, 32>* out) {
  if (bytes.size() != 32) return false;
  std::memcpy(out->data(), bytes.data(), 32);
  return true;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Hosted {
  Digest model_digest{};
  int index = 0;
  Digest digest{};
  Graph graph;
};

struct KeyEntry {
  SheParams params = SheParams::kN8192;
  bool ckks = false;
  std::shared_ptr<const he::GaloisKeys> keys;
  std::shared_ptr<const he::RelinKeys> relin;  // CKKS only, may be null
  size_t bytes = 0;
  Clock::time_point last_used;
};

struct ParamState {
  std::shared_ptr<const he::Context> context;
  std::optional<he::Evaluator> evaluator;
};

struct CkksHosted {
  std::shared_ptr<const he::CkksNetworkSpec> spec;
  Digest model_digest{};
  size_t first = 0, last = 0;
};

struct CkksParamState {
  std::shared_ptr<const he::Context> context;
  std::optional<he::CkksEvaluator> evaluator;
  std::map<Digest, std::shared_ptr<const he::CkksNetwork>> networks;
};

}  // namespace

struct SheService::Impl final : public v1::She::Service {
  SheServiceOptions options;
  std::vector<Hosted> segments;

  std::mutex params_mutex;  // guards params and layers (creation is rare)
  std::map<SheParams, ParamState> params;
  std::map<std::tuple<size_t, uint32_t, SheParams>, std::shared_ptr<const SheLayer>> layers;
  std::vector<CkksHosted> ckks_hosted;
  std::map<SheParams, CkksParamState> ckks_params;
  std::map<std::pair<size_t, SheParams>, std::shared_ptr<const he::CkksSegment>> ckks_segments;

  mutable std::mutex keys_mutex;
  std::map<KeyId, KeyEntry> keys;

  Result<const ParamState*> State(SheParams p) {
    std::lock_guard<std::mutex> lock(params_mutex);
    auto it = params.find(p);
    if (it == params.end()) {
      ParamState st;
      VEIL_ASSIGN_OR_RETURN(st.context, MakeSheContext(p));
      VEIL_ASSIGN_OR_RETURN(he::Evaluator ev, he::Evaluator::Create(st.context));
      st.evaluator.emplace(std::move(ev));
      it = params.emplace(p, std::move(st)).first;
    }
    return &it->second;
  }

  Result<std::shared_ptr<const SheLayer>> Layer(size_t seg, uint32_t layer, SheParams p) {
    VEIL_ASSIGN_OR_RETURN(const ParamState* st, State(p));
    std::lock_guard<std::mutex> lock(params_mutex);
    const auto key = std::make_tuple(seg, layer, p);
    auto it = layers.find(key);
    if (it != layers.end()) return it->second;
    VEIL_ASSIGN_OR_RETURN(SheLayer l, MakeSheLayer(st->context, segments[seg].graph,
                                                   static_cast<int>(layer), /*weights=*/true));
    auto shared = std::make_shared<const SheLayer>(std::move(l));
    layers.emplace(key, shared);
    return shared;
  }

  Result<CkksParamState*> CkksState(SheParams p) {
    std::lock_guard<std::mutex> lock(params_mutex);
    auto it = ckks_params.find(p);
    if (it == ckks_params.end()) {
      CkksParamState st;
      VEIL_ASSIGN_OR_RETURN(st.context, MakeSheCkksContext(p));
      VEIL_ASSIGN_OR_RETURN(he::CkksEvaluator ev, he::CkksEvaluator::Create(st.context));
      st.evaluator.emplace(std::move(ev));
      it = ckks_params.emplace(p, std::move(st)).first;
    }
    return &it->second;
  }

  // The precomputed segment `index` of ckks_hosted for parameter set p.
  Result<std::shared_ptr<const he::CkksSegment>> CkksSeg(size_t index, SheParams p) {
    VEIL_ASSIGN_OR_RETURN(CkksParamState * st, CkksState(p));
    std::lock_guard<std::mutex> lock(params_mutex);
    auto it = ckks_segments.find({index, p});
    if (it != ckks_segments.end()) return it->second;
    const CkksHosted& h = ckks_hosted[index];
    auto& net = st->networks[h.model_digest];
    if (net == nullptr) {
      auto created = he::CkksNetwork::Create(st->context, *h.spec);
      if (!created.ok()) {
        st->networks.erase(h.model_digest);
        return created.status();
      }
      net = *created;
    }
    VEIL_ASSIGN_OR_RETURN(he::CkksSegment seg, he::CkksSegment::Create(net, h.first, h.last));
    auto shared = std::make_shared<const he::CkksSegment>(std::move(seg));
    ckks_segments.emplace(std::make_pair(index, p), shared);
    return shared;
  }

  void ExpireKeys(Clock::time_point now) {
    const auto ttl = std::chrono::milliseconds(options.key_ttl_ms);
    for (auto it = keys.begin(); it != keys.end();)
      it = now - it->second.last_used > ttl ? keys.erase(it) : std::next(it);
  }

  void Log(const std::string& line) {
    if (options.log) options.log(line);
  }

  grpc::Status UploadKeys(grpc::ServerContext* context, const v1::SheUploadKeysRequest* request,
                          v1::SheUploadKeysReply* reply) override {
    const auto start = Clock::now();
    grpc::Status s = HandleUpload(*request, reply);
    std::ostringstream line;
    line << "event=she_keys peer=" << context->peer() << " param_set=" << request->param_set()
         << " scheme=" << (request->scheme() == v1::SHE_SCHEME_CKKS ? "ckks" : "bfv")
         << " kind=" << (request->relin_keys().empty() ? "galois" : "galois+relin")
         << " bytes=" << request->galois_keys().size() + request->relin_keys().size()
         << " status=" << (s.ok() ? "OK" : "ERROR(" + std::to_string(s.error_code()) + ")")
         << " ms=" << std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!s.ok()) line << " error=\"" << s.error_message() << "\"";
    Log(line.str());
    return s;
  }

  grpc::Status HandleUpload(const v1::SheUploadKeysRequest& request,
                            v1::SheUploadKeysReply* reply) {
    if (request.version() != kSheProtocolVersion)
      return Invalid("version " + std::to_string(request.version()) + ", this node speaks " +
                     std::to_string(kSheProtocolVersion));
    if (request.param_set() != v1::SHE_PARAM_SET_N8192 &&
        request.param_set() != v1::SHE_PARAM_SET_N16384)
      return Invalid("param_set " + std::to_string(request.param_set()) +
                     " is not a known SHE parameter set");
    const auto p = static_cast<SheParams>(request.param_set());
    if (request.scheme() != v1::SHE_SCHEME_BFV && request.scheme() != v1::SHE_SCHEME_CKKS)
      return Invalid("scheme " + std::to_string(request.scheme()) + " is not BFV or CKKS");
    const bool ckks = request.scheme() == v1::SHE_SCHEME_CKKS;
    if (ckks && ckks_hosted.empty())
      return {grpc::StatusCode::FAILED_PRECONDITION, "this node hosts no CKKS segment"};
    if (!ckks && !request.relin_keys().empty())
      return Invalid("relin_keys: BFV exact mode takes Galois keys only");
    const size_t encoded = request.galois_keys().size() + request.relin_keys().size();
    if (static_cast<int64_t>(encoded) > options.max_key_bytes)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "keys larger than this node accepts"};
    std::shared_ptr<const he::Context> ctx;
    if (ckks) {
      auto st = CkksState(p);
      if (!st.ok()) return ToGrpc(st.status());
      ctx = (*st)->context;
    } else {
      auto st = State(p);
      if (!st.ok()) return ToGrpc(st.status());
      ctx = (*st)->context;
    }
    // The decoders check the blob's kind: a blob of any other kind (a secret key, a
    // public key, a ciphertext) is refused here and never decoded as one.
    he::GaloisKeys galois;
    galois.params_id = ctx->params_id();
    if (!ckks || !request.galois_keys().empty()) {
      auto gk = he::DeserializeGaloisKeys(*ctx, AsBytes(request.galois_keys()));
      if (!gk.ok()) return Invalid("galois_keys: " + gk.status().message());
      if (gk->keys.empty() && !ckks) return Invalid("galois_keys holds no key");
      galois = std::move(gk).value();
    }
    std::shared_ptr<const he::RelinKeys> relin;
    if (!request.relin_keys().empty()) {
      auto rk = he::DeserializeRelinKeys(*ctx, AsBytes(request.relin_keys()));
      if (!rk.ok()) return Invalid("relin_keys: " + rk.status().message());
      relin = std::make_shared<const he::RelinKeys>(std::move(rk).value());
    }
    if (galois.keys.empty() && relin == nullptr) return Invalid("the upload holds no key");
    Sha256Hasher hasher;
    const uint8_t head[2] = {static_cast<uint8_t>(ckks ? 1 : 0), static_cast<uint8_t>(p)};
    // BFV key ids stay SHA-256(param_set || galois_keys), as before CKKS existed.
    if (ckks) hasher.Update({head, 1});
    hasher.Update({head + 1, 1});
    if (ckks) hasher.UpdateU64(request.galois_keys().size());
    hasher.Update(AsBytes(request.galois_keys()));
    if (ckks) hasher.Update(AsBytes(request.relin_keys()));
    const Digest id = hasher.Finish();
    const auto now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(keys_mutex);
      ExpireKeys(now);
      auto it = keys.find(id);
      if (it == keys.end()) {
        size_t total = encoded;
        for (const auto& [k, e] : keys) total += e.bytes;
        // Evict least recently used sets until the new one fits.
        while (!keys.empty() && (static_cast<int>(keys.size()) >= options.max_key_sets ||
                                 static_cast<int64_t>(total) > options.max_key_bytes)) {
          auto lru = keys.begin();
          for (auto k = keys.begin(); k != keys.end(); ++k)
            if (k->second.last_used < lru->second.last_used) lru = k;
          total -= lru->second.bytes;
          keys.erase(lru);
        }
        KeyEntry e;
        e.params = p;
        e.ckks = ckks;
        e.keys = std::make_shared<const he::GaloisKeys>(std::move(galois));
        e.relin = std::move(relin);
        e.bytes = encoded;
        it = keys.emplace(id, std::move(e)).first;
      }
      it->second.last_used = now;
    }
    // Prepare the encrypted layers for this parameter set now, so that the first
    // evaluation does not pay for it. A layer that has no encrypted form (e.g. a dynamic
    // sequence dimension) is not an upload error: evaluating it reports why.
    if (ckks)
      for (size_t i = 0; i < ckks_hosted.size(); ++i) (void)CkksSeg(i, p);
    for (size_t seg = 0; seg < segments.size() && !ckks; ++seg)
      for (size_t n = 0; n < segments[seg].graph.nodes.size(); ++n)
        if (IsEncryptable(segments[seg].graph.nodes[n]))
          (void)Layer(seg, static_cast<uint32_t>(n), p);
    reply->set_key_id(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
    reply->set_expires_in_ms(static_cast<uint64_t>(options.key_ttl_ms));
    return grpc::Status::OK;
  }

  grpc::Status Evaluate(grpc::ServerContext* context, const v1::SheEvaluateRequest* request,
                        v1::SheEvaluateReply* reply) override {
    const auto start = Clock::now();
    grpc::Status s = HandleEvaluate(context, *request, reply);
    std::ostringstream line;
    line << "event=she_eval request_id="
         << (ValidId(request->request_id()) ? request->request_id() : "<invalid>")
         << " segment=" << request->segment_index() << " layer=" << request->layer()
         << " batch=" << request->batch() << " ciphertexts=" << request->inputs_size()
         << " peer=" << context->peer()
         << " status=" << (s.ok() ? "OK" : "ERROR(" + std::to_string(s.error_code()) + ")")
         << " ms=" << std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!s.ok()) line << " error=\"" << s.error_message() << "\"";
    Log(line.str());
    return s;
  }

  grpc::Status HandleEvaluate(grpc::ServerContext* context, const v1::SheEvaluateRequest& request,
                              v1::SheEvaluateReply* reply) {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (request.version() != kSheProtocolVersion)
      return Invalid("version " + std::to_string(request.version()) + ", this node speaks " +
                     std::to_string(kSheProtocolVersion));
    if (!ValidId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    KeyId key_id;
    if (!ToDigest(request.key_id(), &key_id))
      return Invalid("key_id must be 32 bytes, got " + std::to_string(request.key_id().size()));
    Digest model_digest, segment_digest;
    if (!ToDigest(request.model_digest(), &model_digest))
      return Invalid("model_digest must be 32 bytes");
    if (!ToDigest(request.segment_digest(), &segment_digest))
      return Invalid("segment_digest must be 32 bytes");
    size_t seg = segments.size();
    bool model_hosted = false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].model_digest != model_digest) continue;
      model_hosted = true;
      if (static_cast<uint32_t>(segments[i].index) == request.segment_index()) seg = i;
    }
    if (!model_hosted)
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    if (seg == segments.size())
      return {grpc::StatusCode::NOT_FOUND, "segment " + std::to_string(request.segment_index()) +
                                               " of this model is not hosted here"};
    if (segments[seg].digest != segment_digest)
      return Invalid("segment_digest does not match segment " +
                     std::to_string(request.segment_index()) + "'s digest");
    const Graph& graph = segments[seg].graph;
    if (request.layer() >= graph.nodes.size())
      return Invalid("layer " + std::to_string(request.layer()) +
                     " out of range: the segment has " + std::to_string(graph.nodes.size()) +
                     " node(s)");
    if (!IsEncryptable(graph.nodes[request.layer()]))
      return Invalid("layer " + std::to_string(request.layer()) + " is a " +
                     OpKindName(graph.nodes[request.layer()].kind) +
                     ", not a Linear or Conv2d node (group 1, dilation 1)");
    if (request.inputs_size() < 1 || request.inputs_size() > kMaxInputs)
      return Invalid("1.." + std::to_string(kMaxInputs) + " input ciphertexts, got " +
                     std::to_string(request.inputs_size()));
    std::shared_ptr<const he::GaloisKeys> gk;
    SheParams p;
    {
      std::lock_guard<std::mutex> lock(keys_mutex);
      ExpireKeys(Clock::now());
      auto it = keys.find(key_id);
      if (it == keys.end())
        return {grpc::StatusCode::FAILED_PRECONDITION,
                "key_id unknown or expired on this node: upload the keys again"};
      if (it->second.ckks)
        return Invalid("key_id names a CKKS key set; exact mode needs a BFV one");
      it->second.last_used = Clock::now();
      gk = it->second.keys;
      p = it->second.params;
    }
    auto layer = Layer(seg, request.layer(), p);
    if (!layer.ok()) return ToGrpc(layer.status());
    const SheLayer& l = **layer;
    const int64_t batch = request.batch();
    if (batch < 1 || batch > l.MaxBatch())
      return Invalid("batch " + std::to_string(batch) + " outside [1, " +
                     std::to_string(l.MaxBatch()) + "] for this layer");
    if (static_cast<size_t>(request.inputs_size()) != l.InputCiphertexts(batch))
      return Invalid("batch " + std::to_string(batch) + " takes " +
                     std::to_string(l.InputCiphertexts(batch)) + " ciphertext(s), got " +
                     std::to_string(request.inputs_size()));
    auto st = State(p);
    if (!st.ok()) return ToGrpc(st.status());
    const he::Context& ctx = *(*st)->context;
    const he::Evaluator& ev = *(*st)->evaluator;
    std::vector<he::Ciphertext> inputs;
    for (int i = 0; i < request.inputs_size(); ++i) {
      auto ct = he::DeserializeCiphertext(ctx, AsBytes(request.inputs(i)));
      if (!ct.ok()) return Invalid("inputs[" + std::to_string(i) + "]: " + ct.status().message());
      if (ct->size() != 2 || ct->polys[0].limbs() != ctx.data_limbs())
        return Invalid("inputs[" + std::to_string(i) +
                       "]: expected a fresh size-2 ciphertext at the top level");
      inputs.push_back(std::move(ct).value());
    }
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    std::vector<he::Ciphertext> outputs;
    if (l.is_conv()) {
      const size_t per = l.conv->input_ciphertexts();
      for (int64_t b = 0; b < batch; ++b) {
        std::vector<he::Ciphertext> part(
            std::make_move_iterator(inputs.begin() + static_cast<ptrdiff_t>(b * per)),
            std::make_move_iterator(inputs.begin() + static_cast<ptrdiff_t>((b + 1) * per)));
        auto out = l.conv->Evaluate(ev, part, *gk);
        if (!out.ok()) return ToGrpc(out.status());
        for (auto& c : *out) outputs.push_back(std::move(c));
      }
    } else {
      const size_t per = l.dense->input_ciphertexts();
      for (size_t g = 0; g * per < inputs.size(); ++g) {
        std::vector<he::Ciphertext> part(
            std::make_move_iterator(inputs.begin() + static_cast<ptrdiff_t>(g * per)),
            std::make_move_iterator(inputs.begin() + static_cast<ptrdiff_t>((g + 1) * per)));
        auto out = l.dense->Evaluate(ev, part, *gk);
        if (!out.ok()) return ToGrpc(out.status());
        outputs.push_back(std::move(out).value());
      }
    }
    reply->set_request_id(request.request_id());
    for (const he::Ciphertext& c : outputs) {
      auto bytes = he::SerializeCiphertext(ctx, c);
      if (!bytes.ok()) return ToGrpc(bytes.status());
      reply->add_outputs(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    }
    return grpc::Status::OK;
  }

  grpc::Status EvaluateCkks(grpc::ServerContext* context, const v1::SheCkksEvaluateRequest* request,
                            v1::SheCkksEvaluateReply* reply) override {
    const auto start = Clock::now();
    grpc::Status s = HandleEvaluateCkks(context, *request, reply);
    std::ostringstream line;
    line << "event=she_ckks_eval request_id="
         << (ValidId(request->request_id()) ? request->request_id() : "<invalid>")
         << " layers=" << request->first_layer() << ":" << request->last_layer()
         << " bytes=" << request->input().size() << " peer=" << context->peer()
         << " status=" << (s.ok() ? "OK" : "ERROR(" + std::to_string(s.error_code()) + ")")
         << " ms=" << std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!s.ok()) line << " error=\"" << s.error_message() << "\"";
    Log(line.str());
    return s;
  }

  grpc::Status HandleEvaluateCkks(grpc::ServerContext* context,
                                  const v1::SheCkksEvaluateRequest& request,
                                  v1::SheCkksEvaluateReply* reply) {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (request.version() != kSheProtocolVersion)
      return Invalid("version " + std::to_string(request.version()) + ", this node speaks " +
                     std::to_string(kSheProtocolVersion));
    if (!ValidId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    KeyId key_id;
    if (!ToDigest(request.key_id(), &key_id))
      return Invalid("key_id must be 32 bytes, got " + std::to_string(request.key_id().size()));
    Digest model_digest;
    if (!ToDigest(request.model_digest(), &model_digest))
      return Invalid("model_digest must be 32 bytes");
    size_t index = ckks_hosted.size();
    bool model_hosted = false;
    for (size_t i = 0; i < ckks_hosted.size(); ++i) {
      if (ckks_hosted[i].model_digest != model_digest) continue;
      model_hosted = true;
      if (ckks_hosted[i].first == request.first_layer() &&
          ckks_hosted[i].last == request.last_layer())
        index = i;
    }
    if (!model_hosted)
      return {grpc::StatusCode::NOT_FOUND,
              "CKKS model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    if (index == ckks_hosted.size())
      return {grpc::StatusCode::NOT_FOUND, "layers " + std::to_string(request.first_layer()) + ":" +
                                               std::to_string(request.last_layer()) +
                                               " of this CKKS model are not hosted here"};
    std::shared_ptr<const he::GaloisKeys> gk;
    std::shared_ptr<const he::RelinKeys> rk;
    SheParams p;
    {
      std::lock_guard<std::mutex> lock(keys_mutex);
      ExpireKeys(Clock::now());
      auto it = keys.find(key_id);
      if (it == keys.end())
        return {grpc::StatusCode::FAILED_PRECONDITION,
                "key_id unknown or expired on this node: upload the keys again"};
      if (!it->second.ckks)
        return Invalid("key_id names a BFV key set; CKKS evaluation needs a CKKS one");
      it->second.last_used = Clock::now();
      gk = it->second.keys;
      rk = it->second.relin;
      p = it->second.params;
    }
    auto seg = CkksSeg(index, p);
    if (!seg.ok()) return ToGrpc(seg.status());
    auto st = CkksState(p);
    if (!st.ok()) return ToGrpc(st.status());
    const he::Context& ctx = *(*st)->context;
    auto ct = he::DeserializeCkksCiphertext(ctx, AsBytes(request.input()));
    if (!ct.ok()) return Invalid("input: " + ct.status().message());
    if (ct->size() != 2 || ct->limbs() != (*seg)->input_limbs())
      return Invalid("input: expected a size-2 ciphertext with " +
                     std::to_string((*seg)->input_limbs()) + " limb(s) (got size " +
                     std::to_string(ct->size()) + ", " + std::to_string(ct->limbs()) + " limbs)");
    const he::CkksNetwork& net = *ckks_networks_of(p, ckks_hosted[index].model_digest);
    auto needs_relin = net.NeedsRelinKeys(ckks_hosted[index].first, ckks_hosted[index].last);
    if (!needs_relin.ok()) return ToGrpc(needs_relin.status());
    if (*needs_relin && rk == nullptr)
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "this segment squares a ciphertext: the key set lacks relinearization keys"};
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    auto out = (*seg)->Evaluate(*(*st)->evaluator, *ct, rk.get(), *gk);
    if (!out.ok()) return ToGrpc(out.status());
    auto bytes = he::SerializeCkksCiphertext(ctx, *out);
    if (!bytes.ok()) return ToGrpc(bytes.status());
    reply->set_request_id(request.request_id());
    reply->set_output(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    return grpc::Status::OK;
  }

  std::shared_ptr<const he::CkksNetwork> ckks_networks_of(SheParams p, const Digest& d) {
    std::lock_guard<std::mutex> lock(params_mutex);
    return ckks_params.at(p).networks.at(d);
  }
};

SheService::SheService() : impl_(std::make_unique<Impl>()) {}
SheService::~SheService() = default;

Result<std::unique_ptr<SheService>> SheService::Create(
    const std::vector<net::SegmentToHost>& segments, SheServiceOptions options) {
  if (options.key_ttl_ms < 1 || options.max_key_sets < 1 || options.max_key_bytes < 1)
    return Status::InvalidArgument("SHE key limits must be positive");
  std::unique_ptr<SheService> service(new SheService());
  for (const CkksHostedSegment& c : options.ckks_segments) {
    if (c.spec == nullptr) return Status::InvalidArgument("CKKS segment without a model");
    if (c.first >= c.last || c.last > c.spec->layers.size())
      return Status::InvalidArgument("CKKS layer range " + std::to_string(c.first) + ":" +
                                     std::to_string(c.last) + " is not inside the model's " +
                                     std::to_string(c.spec->layers.size()) + " layers");
    const Digest d = CkksModelDigest(*c.spec);
    for (const CkksHosted& h : service->impl_->ckks_hosted)
      if (h.model_digest == d && h.first == c.first && h.last == c.last)
        return Status::InvalidArgument("CKKS layer range hosted twice");
    service->impl_->ckks_hosted.push_back({c.spec, d, c.first, c.last});
  }
  // Validate every CKKS segment now (layout, levels) rather than on a client's first call.
  // A network too deep for N8192 may still fit N16384.
  for (size_t i = 0; i < service->impl_->ckks_hosted.size(); ++i)
    if (!service->impl_->CkksSeg(i, SheParams::kN8192).ok())
      VEIL_RETURN_IF_ERROR(service->impl_->CkksSeg(i, SheParams::kN16384).status());
  service->impl_->options = std::move(options);
  for (const net::SegmentToHost& s : segments) {
    if (StandaloneSegmentDigest(s.graph, s.segment_index) != s.segment_digest)
      return Status::Corrupt("segment " + std::to_string(s.segment_index) +
                             " does not match its segment digest");
    service->impl_->segments.push_back(
        {s.model_digest, s.segment_index, s.segment_digest, s.graph});
  }
  return service;
}

std::function<void(void*)> SheService::Registrar() {
  Impl* impl = impl_.get();
  return
      [impl](void* builder) { static_cast<grpc::ServerBuilder*>(builder)->RegisterService(impl); };
}

std::vector<HeldKeySet> SheService::HeldKeys() const {
  std::lock_guard<std::mutex> lock(impl_->keys_mutex);
  std::vector<HeldKeySet> out;
  for (const auto& [id, e] : impl_->keys) {
    HeldKeySet h;
    h.key_id = id;
    h.params = e.params;
    h.params_id = e.keys->params_id;
    h.ckks = e.ckks;
    h.relin_keys = e.relin != nullptr;
    for (const auto& [elt, k] : e.keys->keys) h.galois_elts.push_back(elt);
    h.encoded_bytes = e.bytes;
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<net::SegmentToHost>> ExtractSegments(const Graph& graph,
                                                        const std::vector<int>& indices) {
  const int count = static_cast<int>(graph.EffectiveSegments().size());
  const Digest model_digest = ModelDigest(graph);
  std::vector<net::SegmentToHost> out;
  for (int index : indices) {
    if (index < 0 || index >= count)
      return Status::InvalidArgument("segment " + std::to_string(index) + " out of range");
    net::SegmentToHost seg;
    seg.model_name = graph.name;
    seg.model_digest = model_digest;
    seg.segment_count = count;
    seg.segment_index = index;
    seg.segment_digest = SegmentDigest(graph, index);
    VEIL_ASSIGN_OR_RETURN(seg.graph, ExtractSegment(graph, index));
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace veil::she
