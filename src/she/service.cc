// SHE exact mode, node side: veil.v1.She (proto/veil/v1/she.proto).
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
  std::shared_ptr<const he::GaloisKeys> keys;
  size_t bytes = 0;
  Clock::time_point last_used;
};

struct ParamState {
  std::shared_ptr<const he::Context> context;
  std::optional<he::Evaluator> evaluator;
};

}  // namespace

struct SheService::Impl final : public v1::She::Service {
  SheServiceOptions options;
  std::vector<Hosted> segments;

  std::mutex params_mutex;  // guards params and layers (creation is rare)
  std::map<SheParams, ParamState> params;
  std::map<std::tuple<size_t, uint32_t, SheParams>, std::shared_ptr<const SheLayer>> layers;

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
         << " kind=galois bytes=" << request->galois_keys().size()
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
    if (static_cast<int64_t>(request.galois_keys().size()) > options.max_key_bytes)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, "galois_keys larger than this node accepts"};
    auto st = State(p);
    if (!st.ok()) return ToGrpc(st.status());
    // The decoder checks the blob's kind: a blob of any other kind (a secret key, a
    // public key, a ciphertext) is refused here and never decoded as one.
    auto gk = he::DeserializeGaloisKeys(*(*st)->context, AsBytes(request.galois_keys()));
    if (!gk.ok()) return Invalid("galois_keys: " + gk.status().message());
    if (gk->keys.empty()) return Invalid("galois_keys holds no key");
    std::string material;
    material.push_back(static_cast<char>(p));
    material += request.galois_keys();
    const Digest id = Sha256(AsBytes(material));
    const auto now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(keys_mutex);
      ExpireKeys(now);
      auto it = keys.find(id);
      if (it == keys.end()) {
        size_t total = request.galois_keys().size();
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
        e.keys = std::make_shared<const he::GaloisKeys>(std::move(gk).value());
        e.bytes = request.galois_keys().size();
        it = keys.emplace(id, std::move(e)).first;
      }
      it->second.last_used = now;
    }
    // Prepare the encrypted layers for this parameter set now, so that the first
    // evaluation does not pay for it. A layer that has no encrypted form (e.g. a dynamic
    // sequence dimension) is not an upload error: evaluating it reports why.
    for (size_t seg = 0; seg < segments.size(); ++seg)
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
};

SheService::SheService() : impl_(std::make_unique<Impl>()) {}
SheService::~SheService() = default;

Result<std::unique_ptr<SheService>> SheService::Create(
    const std::vector<net::SegmentToHost>& segments, SheServiceOptions options) {
  if (options.key_ttl_ms < 1 || options.max_key_sets < 1 || options.max_key_bytes < 1)
    return Status::InvalidArgument("SHE key limits must be positive");
  std::unique_ptr<SheService> service(new SheService());
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
