// SHE exact mode, key holder side (veil/she/client.h).
#include "veil/she/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "credentials.h"
#include "veil/he/bfv.h"
#include "veil/he/serialize.h"
#include "veil/kernels.h"
#include "veil/model_file.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ToString(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  const std::string m = what + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(m);
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status::Unsupported(m);
    default:
      return Status::Unavailable(m);
  }
}

// A graph of the single node `index` of `g`, for the key holder's plaintext nodes.
Result<std::unique_ptr<Session>> SingleNodeSession(const Graph& g, int index,
                                                   const SessionOptions& options) {
  Graph sub;
  sub.name = g.name + "#" + std::to_string(index);
  std::map<int, int> remap;
  Node node = g.nodes[static_cast<size_t>(index)];
  for (int& id : node.inputs) {
    auto it = remap.find(id);
    if (it == remap.end()) {
      it = remap.emplace(id, sub.AddValue(g.values[static_cast<size_t>(id)])).first;
      sub.inputs.push_back(it->second);
    }
    id = it->second;
  }
  for (int& id : node.outputs) {
    id = sub.AddValue(g.values[static_cast<size_t>(id)]);
    sub.outputs.push_back(id);
  }
  sub.nodes.push_back(std::move(node));
  return Session::Create(sub, options);
}

// Checks the caller's inputs as Session::Run does: count, dtype, dims, int8 range.
Status CheckInputs(const Graph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("the graph takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[static_cast<size_t>(g.inputs[i])];
    const Tensor& t = inputs[i];
    bool ok = t.dtype() == v.dtype && t.rank() == v.shape.size() + 1 && t.dim(0) >= 1 &&
              t.dim(0) == inputs[0].dim(0);
    for (size_t j = 0; ok && j < v.shape.size(); ++j)
      ok = v.shape[j] == kDynamicDim ? t.dim(j + 1) >= 1 : v.shape[j] == t.dim(j + 1);
    if (!ok)
      return Status::InvalidArgument("input " + std::to_string(i) + " (" + v.name +
                                     "): " + DTypeName(t.dtype()) + " " + ShapeToString(t.shape()) +
                                     ", expected " + DTypeName(v.dtype) + " [B] + " +
                                     ShapeToString(v.shape));
    if (t.dtype() == DType::kInt8)
      for (int8_t x : t.i8())
        if (x < kActMin)
          return Status::InvalidArgument("input " + std::to_string(i) + " holds -128");
  }
  return Status::Ok();
}

struct Remote {
  int segment = 0;
  int layer_in_segment = 0;
  SheLayer layer;  // layout only (zero weights)
  std::vector<int32_t> multiplier, shift;
  int32_t act_min = kActMin, act_max = kActMax;
};

}  // namespace

struct SheRunner::Impl {
  Graph graph;
  net::Route route;
  SheOptions options;
  KernelPath path = KernelPath::kScalar;
  Digest model_digest{};
  std::vector<Segment> segments;
  std::vector<Digest> segment_digests;
  std::vector<int> segment_of;  // per node

  std::shared_ptr<const he::Context> ctx;
  std::optional<he::KeyGenerator> keygen;
  std::optional<he::Encryptor> encryptor;
  std::optional<he::Decryptor> decryptor;
  std::optional<he::BatchEncoder> encoder;

  std::map<int, Remote> remote;                                // by node index
  std::map<int, std::unique_ptr<Session>> local;               // by node index
  std::map<int, std::string> galois_blob;                      // by segment, generated on demand
  std::map<int, size_t> galois_count;                          // keys in each blob
  std::map<std::pair<std::string, int>, std::string> key_ids;  // (address, segment)
  std::set<std::string> excluded;
  std::vector<SheKeyUpload> uploads;
  std::map<std::string, std::unique_ptr<v1::She::Stub>> stubs;
  std::mutex mutex;  // one Run at a time
  uint64_t next_id = 0;

  v1::She::Stub* StubFor(const std::string& address) {
    auto& stub = stubs[address];
    if (stub == nullptr) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(static_cast<int>(options.client.max_message_bytes));
      args.SetMaxSendMessageSize(static_cast<int>(options.client.max_message_bytes));
      net::ApplyChannelArguments(options.client.security, &args);
      stub = v1::She::NewStub(grpc::CreateCustomChannel(
          address, net::MakeChannelCredentials(options.client.security), args));
    }
    return stub.get();
  }

  void SetDeadline(grpc::ClientContext* c) const {
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(options.client.deadline_ms));
  }

  Result<const std::string*> GaloisBlob(int segment) {
    auto it = galois_blob.find(segment);
    if (it != galois_blob.end()) return &it->second;
    std::set<int> steps;
    for (const auto& [n, r] : remote)
      if (r.segment == segment)
        for (int s : r.layer.linear().RequiredGaloisSteps()) steps.insert(s);
    VEIL_ASSIGN_OR_RETURN(he::GaloisKeys gk,
                          keygen->CreateGaloisKeysForSteps({steps.begin(), steps.end()}, false));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, he::SerializeGaloisKeys(*ctx, gk));
    galois_count[segment] = gk.keys.size();
    it = galois_blob.emplace(segment, std::string(bytes.begin(), bytes.end())).first;
    return &it->second;
  }

  Result<std::string> KeyId(const std::string& address, int segment) {
    auto it = key_ids.find({address, segment});
    if (it != key_ids.end()) return it->second;
    VEIL_ASSIGN_OR_RETURN(const std::string* blob, GaloisBlob(segment));
    v1::SheUploadKeysRequest req;
    req.set_version(kSheProtocolVersion);
    req.set_param_set(static_cast<v1::SheParamSet>(options.params));
    req.set_galois_keys(*blob);
    v1::SheUploadKeysReply reply;
    grpc::ClientContext call;
    SetDeadline(&call);
    const auto start = Clock::now();
    grpc::Status s = StubFor(address)->UploadKeys(&call, req, &reply);
    if (!s.ok()) return FromGrpc(s, "SHE key upload to " + address);
    if (reply.key_id().size() != 32)
      return Status::Corrupt("node " + address + " answered a key_id of " +
                             std::to_string(reply.key_id().size()) + " bytes");
    SheKeyUpload u;
    u.address = address;
    u.bytes = blob->size();
    u.ms = MsSince(start);
    u.galois_keys = galois_count[segment];
    uploads.push_back(u);
    key_ids[{address, segment}] = reply.key_id();
    return reply.key_id();
  }

  // Sends `req` (key_id filled in here) for `segment` to the first usable candidate.
  Result<v1::SheEvaluateReply> Call(int segment, v1::SheEvaluateRequest& req,
                                    std::string* served_by) {
    const auto rit = route.find(segment);
    if (rit == route.end()) return Status::Internal("no route for segment");
    Status last = Status::Unavailable("no usable node for segment " + std::to_string(segment));
    int attempts = 0;
    for (const std::string& address : rit->second) {
      if (excluded.count(address) != 0) continue;
      if (attempts++ >= options.max_attempts) break;
      for (int round = 0; round < 2; ++round) {  // a second round re-uploads expired keys
        auto key = KeyId(address, segment);
        if (!key.ok()) {
          last = key.status();
          break;
        }
        req.set_key_id(*key);
        v1::SheEvaluateReply reply;
        grpc::ClientContext call;
        SetDeadline(&call);
        grpc::Status s = StubFor(address)->Evaluate(&call, req, &reply);
        if (s.ok()) {
          *served_by = address;
          return reply;
        }
        last = FromGrpc(s, "SHE evaluation on " + address);
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION && round == 0) {
          key_ids.erase({address, segment});
          continue;
        }
        break;
      }
      if (last.code() == StatusCode::kInvalidArgument) return last;  // a bug, not a failure
      excluded.insert(address);
      if (options.log)
        options.log("event=she_failover node=" + address + " error=\"" + last.message() + "\"");
    }
    return last;
  }

  Result<std::vector<he::Plaintext>> DecryptReply(const v1::SheEvaluateReply& reply,
                                                  size_t expected, uint64_t* bytes) {
    if (static_cast<size_t>(reply.outputs_size()) != expected)
      return Status::Corrupt("node returned " + std::to_string(reply.outputs_size()) +
                             " ciphertext(s), expected " + std::to_string(expected));
    std::vector<he::Plaintext> plains;
    for (const std::string& o : reply.outputs()) {
      *bytes += o.size();
      VEIL_ASSIGN_OR_RETURN(he::Ciphertext ct, he::DeserializeCiphertext(*ctx, AsBytes(o)));
      if (ct.size() != 2) return Status::Corrupt("node returned a ciphertext of size != 2");
      VEIL_ASSIGN_OR_RETURN(he::Plaintext p, decryptor->Decrypt(ct));
      plains.push_back(std::move(p));
    }
    return plains;
  }

  Status AddCiphertext(const he::Plaintext& p, v1::SheEvaluateRequest* req, uint64_t* bytes) {
    VEIL_ASSIGN_OR_RETURN(he::Ciphertext ct, encryptor->EncryptSymmetric(p));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, he::SerializeCiphertext(*ctx, ct));
    *bytes += b.size();
    req->add_inputs(reinterpret_cast<const char*>(b.data()), b.size());
    return Status::Ok();
  }

  // acc for the samples [b0, b0 + nb) of x, written to acc (int32, row-major as the
  // plaintext op would: Linear [vectors, N]; Conv2d [O, OH, OW] per sample).
  Result<Tensor> RunRemote(int node_index, const Remote& r, const Tensor& x, SheResult* result) {
    const auto start = Clock::now();
    const Node& node = graph.nodes[static_cast<size_t>(node_index)];
    const Value& out_value = graph.values[static_cast<size_t>(node.outputs[0])];
    const int64_t batch = x.dim(0);
    Shape out_shape = {batch};
    for (int64_t d : out_value.shape) out_shape.push_back(d);
    Tensor y(DType::kInt8, out_shape);
    const int64_t per_sample_out = y.size() / batch;
    std::vector<int32_t> acc(static_cast<size_t>(y.size()));
    const int64_t in_per_sample = x.size() / batch;
    SheStep step;
    step.node_index = node_index;
    step.segment_index = r.segment;
    for (int64_t b0 = 0; b0 < batch; b0 += r.layer.MaxBatch()) {
      const int64_t nb = std::min(r.layer.MaxBatch(), batch - b0);
      v1::SheEvaluateRequest req;
      req.set_version(kSheProtocolVersion);
      req.set_request_id("she-" + std::to_string(next_id++));
      req.set_model_digest(ToString(model_digest));
      req.set_segment_index(static_cast<uint32_t>(r.segment));
      req.set_segment_digest(ToString(segment_digests[static_cast<size_t>(r.segment)]));
      req.set_layer(static_cast<uint32_t>(r.layer_in_segment));
      req.set_batch(static_cast<uint32_t>(nb));
      const int8_t* xs = x.i8().data() + b0 * in_per_sample;
      std::vector<size_t> group_sizes;
      if (r.layer.is_conv()) {
        for (int64_t b = 0; b < nb; ++b) {
          VEIL_ASSIGN_OR_RETURN(
              std::vector<he::Plaintext> ps,
              r.layer.conv->EncodeInput(
                  *encoder, std::span<const int8_t>(xs + b * in_per_sample,
                                                    static_cast<size_t>(in_per_sample))));
          for (const auto& p : ps) VEIL_RETURN_IF_ERROR(AddCiphertext(p, &req, &step.upload_bytes));
        }
      } else {
        const he::EncryptedLinearLayer& l = *r.layer.dense;
        const auto k = static_cast<int64_t>(l.layout().in_features);
        const int64_t vectors = nb * r.layer.rows;
        for (int64_t v0 = 0; v0 < vectors; v0 += static_cast<int64_t>(l.batch_capacity())) {
          const int64_t nv =
              std::min<int64_t>(static_cast<int64_t>(l.batch_capacity()), vectors - v0);
          std::vector<std::vector<int8_t>> group;
          for (int64_t v = v0; v < v0 + nv; ++v) group.emplace_back(xs + v * k, xs + (v + 1) * k);
          group_sizes.push_back(static_cast<size_t>(nv));
          VEIL_ASSIGN_OR_RETURN(std::vector<he::Plaintext> ps, l.EncodeInputs(*encoder, group));
          for (const auto& p : ps) VEIL_RETURN_IF_ERROR(AddCiphertext(p, &req, &step.upload_bytes));
        }
      }
      result->max_request_bytes = std::max<uint64_t>(result->max_request_bytes, req.ByteSizeLong());
      VEIL_ASSIGN_OR_RETURN(v1::SheEvaluateReply reply, Call(r.segment, req, &step.served_by));
      VEIL_ASSIGN_OR_RETURN(
          std::vector<he::Plaintext> plains,
          DecryptReply(reply, r.layer.OutputCiphertexts(nb), &step.download_bytes));
      int32_t* out = acc.data() + b0 * per_sample_out;
      if (r.layer.is_conv()) {
        const size_t groups = r.layer.conv->groups();
        for (int64_t b = 0; b < nb; ++b) {
          std::vector<he::Plaintext> mine(
              plains.begin() + static_cast<ptrdiff_t>(b * groups),
              plains.begin() + static_cast<ptrdiff_t>((b + 1) * groups));
          VEIL_ASSIGN_OR_RETURN(std::vector<int64_t> a, r.layer.conv->DecodeOutput(*encoder, mine));
          if (static_cast<int64_t>(a.size()) != per_sample_out)
            return Status::Internal("conv accumulator count mismatch");
          for (size_t i = 0; i < a.size(); ++i)
            out[b * per_sample_out + static_cast<int64_t>(i)] = static_cast<int32_t>(a[i]);
        }
      } else {
        const int64_t n = r.layer.out_features;
        int64_t v = 0;
        for (size_t g = 0; g < plains.size(); ++g) {
          VEIL_ASSIGN_OR_RETURN(auto rows,
                                r.layer.dense->DecodeOutputs(*encoder, plains[g], group_sizes[g]));
          for (const auto& row : rows) {
            for (int64_t j = 0; j < n; ++j)
              out[v * n + j] = static_cast<int32_t>(row[static_cast<size_t>(j)]);
            ++v;
          }
        }
      }
    }
    // Requantize with the graph's own kernel (docs/arithmetic.md, Linear / Conv2d).
    const bool per_channel = r.multiplier.size() > 1;
    if (r.layer.is_conv()) {
      const int64_t o = r.layer.out_features, plane = per_sample_out / o;
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t c = 0; c < o; ++c) {
          const size_t m = per_channel ? static_cast<size_t>(c) : 0;
          const int64_t off = b * per_sample_out + c * plane;
          RequantizeRows(path, 1, plane, acc.data() + off, plane, &r.multiplier[m], &r.shift[m],
                         false, r.act_min, r.act_max, y.i8().data() + off, plane, nullptr);
        }
    } else {
      const int64_t n = r.layer.out_features, rows = y.size() / n;
      RequantizeRows(path, rows, n, acc.data(), n, r.multiplier.data(), r.shift.data(), per_channel,
                     r.act_min, r.act_max, y.i8().data(), n, nullptr);
    }
    step.ms = MsSince(start);
    result->upload_bytes += step.upload_bytes;
    result->download_bytes += step.download_bytes;
    result->steps.push_back(std::move(step));
    return y;
  }
};

SheRunner::SheRunner() : impl_(std::make_unique<Impl>()) {}
SheRunner::~SheRunner() = default;

Result<std::unique_ptr<SheRunner>> SheRunner::Create(const Graph& graph, const net::Route& route,
                                                     SheOptions options) {
  VEIL_RETURN_IF_ERROR(ValidateGraph(graph));
  std::unique_ptr<SheRunner> runner(new SheRunner());
  Impl& m = *runner->impl_;
  m.graph = graph;
  m.route = route;
  m.options = std::move(options);
  m.path = ResolveKernelPath(m.options.session.kernel_path);
  m.model_digest = ModelDigest(graph);
  m.segments = graph.EffectiveSegments();
  m.segment_of.assign(graph.nodes.size(), 0);
  for (size_t s = 0; s < m.segments.size(); ++s) {
    m.segment_digests.push_back(SegmentDigest(graph, static_cast<int>(s)));
    for (int n = m.segments[s].begin; n < m.segments[s].end; ++n)
      m.segment_of[static_cast<size_t>(n)] = static_cast<int>(s);
  }
  for (const auto& [seg, nodes] : route) {
    if (seg < 0 || seg >= static_cast<int>(m.segments.size()))
      return Status::InvalidArgument("route names segment " + std::to_string(seg) +
                                     "; the model has " + std::to_string(m.segments.size()));
    if (nodes.empty())
      return Status::InvalidArgument("route lists no node for segment " + std::to_string(seg));
  }
  VEIL_ASSIGN_OR_RETURN(m.ctx, MakeSheContext(m.options.params));
  VEIL_ASSIGN_OR_RETURN(he::KeyGenerator kg,
                        m.options.secret_key != nullptr
                            ? he::KeyGenerator::Create(m.ctx, *m.options.secret_key)
                            : he::KeyGenerator::Create(m.ctx));
  m.keygen.emplace(std::move(kg));
  VEIL_ASSIGN_OR_RETURN(he::Encryptor enc, he::Encryptor::Create(m.ctx, m.keygen->secret_key()));
  m.encryptor.emplace(std::move(enc));
  VEIL_ASSIGN_OR_RETURN(he::Decryptor dec, he::Decryptor::Create(m.ctx, m.keygen->secret_key()));
  m.decryptor.emplace(std::move(dec));
  VEIL_ASSIGN_OR_RETURN(he::BatchEncoder be, he::BatchEncoder::Create(m.ctx));
  m.encoder.emplace(std::move(be));

  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    const int seg = m.segment_of[static_cast<size_t>(n)];
    if (route.count(seg) != 0 && IsEncryptable(node)) {
      Remote r;
      r.segment = seg;
      r.layer_in_segment = n - m.segments[static_cast<size_t>(seg)].begin;
      VEIL_ASSIGN_OR_RETURN(r.layer, MakeSheLayer(m.ctx, graph, n, /*weights=*/false));
      const auto mult = node.FindParam("multiplier")->i32();
      const auto shift = node.FindParam("shift")->i32();
      const size_t count = std::max(mult.size(), shift.size());
      for (size_t i = 0; i < count; ++i) {
        r.multiplier.push_back(mult.size() == 1 ? mult[0] : mult[i]);
        r.shift.push_back(shift.size() == 1 ? shift[0] : shift[i]);
      }
      r.act_min = static_cast<int32_t>(node.AttrInt("act_min", kActMin));
      r.act_max = static_cast<int32_t>(node.AttrInt("act_max", kActMax));
      m.remote.emplace(n, std::move(r));
    } else {
      VEIL_ASSIGN_OR_RETURN(auto session, SingleNodeSession(graph, n, m.options.session));
      m.local.emplace(n, std::move(session));
    }
  }
  return runner;
}

Status SheRunner::UploadKeys() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::set<int> segs;
  for (const auto& [n, r] : impl_->remote) segs.insert(r.segment);
  for (int s : segs) {
    const std::string& address = impl_->route.at(s).front();
    VEIL_RETURN_IF_ERROR(impl_->KeyId(address, s).status());
  }
  return Status::Ok();
}

std::vector<SheKeyUpload> SheRunner::key_uploads() const { return impl_->uploads; }

const he::SecretKey& SheRunner::secret_key() const { return impl_->keygen->secret_key(); }

Result<SheResult> SheRunner::Run(const std::vector<Tensor>& inputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Impl& m = *impl_;
  VEIL_RETURN_IF_ERROR(CheckInputs(m.graph, inputs));
  std::vector<std::optional<Tensor>> vals(m.graph.values.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    vals[static_cast<size_t>(m.graph.inputs[i])] = inputs[i];
  SheResult result;
  for (int n = 0; n < static_cast<int>(m.graph.nodes.size()); ++n) {
    const Node& node = m.graph.nodes[static_cast<size_t>(n)];
    std::vector<Tensor> in;
    for (int id : node.inputs) {
      if (!vals[static_cast<size_t>(id)].has_value())
        return Status::Internal("value " + std::to_string(id) + " not computed");
    }
    auto rit = m.remote.find(n);
    if (rit != m.remote.end()) {
      VEIL_ASSIGN_OR_RETURN(
          Tensor y,
          m.RunRemote(n, rit->second, *vals[static_cast<size_t>(node.inputs[0])], &result));
      vals[static_cast<size_t>(node.outputs[0])] = std::move(y);
      continue;
    }
    // A single-node session's inputs are the node's distinct inputs, in first-use order.
    std::vector<int> seen;
    for (int id : node.inputs)
      if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
        seen.push_back(id);
        in.push_back(*vals[static_cast<size_t>(id)]);
      }
    VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> out, m.local.at(n)->Run(in));
    for (size_t i = 0; i < node.outputs.size(); ++i)
      vals[static_cast<size_t>(node.outputs[i])] = std::move(out[i]);
  }
  for (int id : m.graph.outputs) result.outputs.push_back(*vals[static_cast<size_t>(id)]);
  return result;
}

}  // namespace veil::she
