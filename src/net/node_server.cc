#include "veil/net/node_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>

#include "credentials.h"
#include "veil/model_file.h"
#include "veil/v1/node.grpc.pb.h"
#include "wire.h"

namespace veil::net {
namespace {

constexpr const char* kNodeVersion = "veil-node/0.2";

using Clock = std::chrono::steady_clock;

struct DecodeSession {
  KvCache cache;
  Clock::time_point last_used;
};

struct HostedSegment {
  std::string model_name;
  Digest model_digest{};
  int count = 0;  // segments in the model
  int index = 0;
  Digest digest{};
  Graph graph;  // ExtractSegment(model, index)
  std::unique_ptr<Session> session;
  std::mutex mutex;  // guards session and sessions: one run at a time per segment
  std::map<std::string, DecodeSession> sessions;
};

// Metrics shared by the service and NodeServer::metrics().
struct MetricsState {
  mutable std::mutex mutex;
  NodeMetrics m;
  MetricsState() { m.latency_buckets.assign(std::size(kLatencyBucketsMs) + 1, 0); }
};

int64_t TensorBytes(const google::protobuf::RepeatedPtrField<v1::Tensor>& ts) {
  int64_t n = 0;
  for (const auto& t : ts) n += static_cast<int64_t>(t.data().size());
  return n;
}

void FillSpec(const Graph& g, int value_id, v1::TensorSpec* spec) {
  const Value& v = g.values[static_cast<size_t>(value_id)];
  spec->set_name(v.name);
  spec->set_dtype(ToWire(v.dtype));
  for (int64_t d : v.shape) spec->add_dims(d);
}

grpc::Status Invalid(const std::string& m) { return {grpc::StatusCode::INVALID_ARGUMENT, m}; }

grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
    case StatusCode::kCorrupt:
      return Invalid(s.message());
    case StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, s.message()};
    case StatusCode::kUnsupported:
      return {grpc::StatusCode::UNIMPLEMENTED, s.message()};
    case StatusCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, s.message()};
    case StatusCode::kUnavailable:
      return {grpc::StatusCode::UNAVAILABLE, s.message()};
    default:
      return {grpc::StatusCode::INTERNAL, s.message()};
  }
}

// Checks the decoded inputs against the segment graph's inputs: count, dtype, rank,
// per-sample dims (a dynamic dim takes any size >= 1) and a common batch dimension.
Status CheckAgainstSegment(const Graph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("segment takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[static_cast<size_t>(g.inputs[i])];
    const Tensor& t = inputs[i];
    const std::string what = "input " + std::to_string(i) + " (" + v.name + ")";
    if (t.dtype() != v.dtype)
      return Status::InvalidArgument(what + ": dtype " + DTypeName(t.dtype()) + ", expected " +
                                     DTypeName(v.dtype));
    if (t.rank() != v.shape.size() + 1)
      return Status::InvalidArgument(what + ": dims " + ShapeToString(t.shape()) +
                                     ", expected [B] + " + ShapeToString(v.shape));
    if (t.dim(0) != inputs[0].dim(0))
      return Status::InvalidArgument(what + ": batch " + std::to_string(t.dim(0)) +
                                     " differs from input 0's " + std::to_string(inputs[0].dim(0)));
    for (size_t j = 0; j < v.shape.size(); ++j)
      if (v.shape[j] != kDynamicDim && v.shape[j] != t.dim(j + 1))
        return Status::InvalidArgument(what + ": dims " + ShapeToString(t.shape()) +
                                       ", expected [B] + " + ShapeToString(v.shape));
  }
  return Status::Ok();
}

class NodeService final : public v1::Node::Service {
 public:
  NodeService(std::vector<std::unique_ptr<HostedSegment>>* segments,
              const NodeServerOptions* options, MetricsState* metrics, const std::string* self)
      : segments_(segments), options_(options), metrics_(metrics), self_(self) {}

  grpc::Status Info(grpc::ServerContext* /*context*/, const v1::InfoRequest* /*request*/,
                    v1::InfoReply* reply) override {
    reply->set_node_version(kNodeVersion);
    reply->set_max_message_bytes(static_cast<uint64_t>(options_->max_message_bytes));
    reply->set_max_tensor_bytes(static_cast<uint64_t>(options_->max_tensor_bytes));
    for (const auto& seg : *segments_) {
      v1::HostedSegment* h = reply->add_segments();
      h->set_model_digest(DigestToBytes(seg->model_digest));
      h->set_model_name(seg->model_name);
      h->set_segment_index(static_cast<uint32_t>(seg->index));
      h->set_segment_count(static_cast<uint32_t>(seg->count));
      h->set_segment_digest(DigestToBytes(seg->digest));
      for (int id : seg->graph.inputs) FillSpec(seg->graph, id, h->add_inputs());
      for (int id : seg->graph.outputs) FillSpec(seg->graph, id, h->add_outputs());
    }
    return grpc::Status::OK;
  }

  grpc::Status RunSegment(grpc::ServerContext* context, const v1::RunSegmentRequest* request,
                          v1::RunSegmentReply* reply) override {
    const auto start = Clock::now();
    RunInfo info;
    grpc::Status status = Handle(context, *request, reply, &info);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    {
      std::lock_guard<std::mutex> lock(metrics_->mutex);
      NodeMetrics& m = metrics_->m;
      (status.ok() ? m.requests_ok : m.requests_failed) += 1;
      m.request_seconds += ms / 1000;
      m.segment_seconds += info.segment_ms / 1000;
      m.bytes_in +=
          static_cast<uint64_t>(TensorBytes(request->inputs()) + TensorBytes(request->carry()));
      if (status.ok()) m.bytes_out += static_cast<uint64_t>(TensorBytes(reply->outputs()));
      m.forwards += info.forwarded ? 1 : 0;
      size_t b = 0;
      while (b < std::size(kLatencyBucketsMs) && ms > kLatencyBucketsMs[b]) ++b;
      m.latency_buckets[b] += 1;
    }
    if (options_->log) {
      std::ostringstream line;
      line << "event=run request_id="
           << (ValidRequestId(request->request_id()) ? request->request_id() : "<invalid>")
           << " segment=" << request->segment_index() << " batch=" << info.batch
           << " session=" << (ValidRequestId(request->session_id()) ? request->session_id() : "-")
           << " position=" << request->position() << " hops=" << request->forward_size()
           << " peer=" << context->peer() << " status="
           << (status.ok() ? "OK" : "ERROR(" + std::to_string(status.error_code()) + ")")
           << " segment_ms=" << info.segment_ms << " ms=" << ms;
      if (!status.ok()) line << " error=\"" << status.error_message() << "\"";
      options_->log(line.str());
    }
    return status;
  }

 private:
  struct RunInfo {
    int64_t batch = 0;
    double segment_ms = 0;
    bool forwarded = false;
  };

  // Runs the segment, statelessly or in a decoding session.
  Result<std::vector<Tensor>> RunHosted(HostedSegment* seg, const v1::RunSegmentRequest& request,
                                        const std::vector<Tensor>& inputs, RunTrace* trace) {
    std::lock_guard<std::mutex> lock(seg->mutex);
    if (request.session_id().empty()) return seg->session->Run(inputs, trace);
    const std::string& id = request.session_id();
    const auto now = Clock::now();
    const auto ttl = std::chrono::milliseconds(options_->session_ttl_ms);
    for (auto it = seg->sessions.begin(); it != seg->sessions.end();) {
      if (now - it->second.last_used > ttl) {
        it = seg->sessions.erase(it);
        std::lock_guard<std::mutex> mlock(metrics_->mutex);
        metrics_->m.sessions_expired += 1;
        metrics_->m.active_sessions -= 1;
      } else {
        ++it;
      }
    }
    auto it = seg->sessions.find(id);
    if (request.position() == 0) {
      if (it == seg->sessions.end()) {
        if (static_cast<int>(seg->sessions.size()) >= options_->max_sessions)
          return Status::Unavailable("node has " + std::to_string(options_->max_sessions) +
                                     " active sessions on segment " + std::to_string(seg->index));
        it = seg->sessions.emplace(id, DecodeSession{}).first;
        std::lock_guard<std::mutex> mlock(metrics_->mutex);
        metrics_->m.active_sessions += 1;
      }
      it->second.cache.Clear();
    } else if (it == seg->sessions.end() ||
               it->second.cache.tokens() != static_cast<int64_t>(request.position())) {
      return Status::FailedPrecondition(
          "session " + id + " on segment " + std::to_string(seg->index) +
          (it == seg->sessions.end()
               ? " is unknown or expired"
               : " is at position " + std::to_string(it->second.cache.tokens())) +
          ", request is at position " + std::to_string(request.position()) + "; replay from 0");
    }
    const int64_t tokens = inputs.empty() || inputs[0].rank() < 2 ? 0 : inputs[0].dim(1);
    if (it->second.cache.tokens() + tokens > options_->max_session_tokens) {
      seg->sessions.erase(it);
      std::lock_guard<std::mutex> mlock(metrics_->mutex);
      metrics_->m.active_sessions -= 1;
      return Status::InvalidArgument("session " + id + " would exceed " +
                                     std::to_string(options_->max_session_tokens) + " tokens");
    }
    it->second.last_used = now;
    auto out = seg->session->RunIncremental(inputs, &it->second.cache, trace);
    if (!out.ok()) {  // the cache may be half-updated: drop the session
      seg->sessions.erase(it);
      std::lock_guard<std::mutex> mlock(metrics_->mutex);
      metrics_->m.active_sessions -= 1;
    }
    return out;
  }

  // The stub for a forward hop, one channel per address (created on first use).
  v1::Node::Stub* StubFor(const std::string& address) {
    std::lock_guard<std::mutex> lock(stubs_mutex_);
    auto& stub = stubs_[address];
    if (stub == nullptr) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(static_cast<int>(options_->max_message_bytes));
      args.SetMaxSendMessageSize(static_cast<int>(options_->max_message_bytes));
      ApplyChannelArguments(options_->security, &args);
      stub = v1::Node::NewStub(
          grpc::CreateCustomChannel(address, MakeChannelCredentials(options_->security), args));
    }
    return stub.get();
  }

  // Pushes this stage's results on to forward[0]; its reply becomes ours.
  grpc::Status Forward(grpc::ServerContext* context, const v1::RunSegmentRequest& request,
                       const std::vector<const v1::Tensor*>& available,
                       v1::RunSegmentReply* reply) {
    const v1::Hop& hop = request.forward(0);
    v1::RunSegmentRequest next;
    next.set_request_id(request.request_id());
    next.set_model_digest(request.model_digest());
    next.set_segment_index(hop.segment_index());
    next.set_segment_digest(hop.segment_digest());
    for (uint32_t i : hop.inputs_from()) *next.add_inputs() = *available[i];
    for (uint32_t i : hop.carry_from()) *next.add_carry() = *available[i];
    for (int h = 1; h < request.forward_size(); ++h) *next.add_forward() = request.forward(h);
    *next.mutable_return_from() = request.return_from();
    next.set_session_id(request.session_id());
    next.set_position(request.position());
    grpc::ClientContext client;
    const auto fallback =
        std::chrono::system_clock::now() + std::chrono::milliseconds(options_->forward_deadline_ms);
    client.set_deadline(std::min(context->deadline(), fallback));
    v1::RunSegmentReply downstream;
    grpc::Status s = StubFor(hop.address())->RunSegment(&client, next, &downstream);
    if (!s.ok()) {
      const auto& trailers = client.GetServerTrailingMetadata();
      const auto it = trailers.find(kFailedHopMetadata);
      context->AddTrailingMetadata(
          kFailedHopMetadata,
          it != trailers.end() ? std::string(it->second.data(), it->second.size()) : hop.address());
      return {s.error_code() == grpc::StatusCode::FAILED_PRECONDITION
                  ? grpc::StatusCode::FAILED_PRECONDITION
                  : grpc::StatusCode::UNAVAILABLE,
              "next hop " + hop.address() + " (segment " + std::to_string(hop.segment_index()) +
                  "): " + s.error_message()};
    }
    *reply->mutable_outputs() = std::move(*downstream.mutable_outputs());
    for (auto& st : *downstream.mutable_stages()) *reply->add_stages() = std::move(st);
    return grpc::Status::OK;
  }

  grpc::Status Handle(grpc::ServerContext* context, const v1::RunSegmentRequest& request,
                      v1::RunSegmentReply* reply, RunInfo* info) {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (!ValidRequestId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    Digest model_digest, segment_digest;
    if (!DigestFromBytes(request.model_digest(), &model_digest))
      return Invalid("model_digest must be 32 bytes, got " +
                     std::to_string(request.model_digest().size()));
    if (!DigestFromBytes(request.segment_digest(), &segment_digest))
      return Invalid("segment_digest must be 32 bytes, got " +
                     std::to_string(request.segment_digest().size()));
    HostedSegment* seg = nullptr;
    bool model_hosted = false;
    for (const auto& s : *segments_) {
      if (s->model_digest != model_digest) continue;
      model_hosted = true;
      if (static_cast<uint32_t>(s->index) == request.segment_index()) seg = s.get();
    }
    if (!model_hosted)
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    if (seg == nullptr)
      return {grpc::StatusCode::NOT_FOUND, "segment " + std::to_string(request.segment_index()) +
                                               " of this model is not hosted here"};
    if (segment_digest != seg->digest)
      return Invalid("segment_digest " + DigestToHex(segment_digest).substr(0, 16) +
                     " does not match segment " + std::to_string(seg->index) + "'s digest " +
                     DigestToHex(seg->digest).substr(0, 16));
    if (request.inputs_size() > kMaxWireTensors || request.carry_size() > kMaxWireTensors)
      return Invalid("at most " + std::to_string(kMaxWireTensors) + " input and " +
                     std::to_string(kMaxWireTensors) + " carry tensors");
    if (!request.session_id().empty() && !ValidRequestId(request.session_id()))
      return Invalid("session_id must be 1..64 characters from [A-Za-z0-9._:-]");
    if (request.session_id().empty() && request.position() != 0)
      return Invalid("position without a session_id");
    std::vector<Tensor> inputs;
    int64_t budget = options_->max_tensor_bytes;
    for (int i = 0; i < request.inputs_size(); ++i) {
      auto t = DecodeTensor(request.inputs(i), &budget, "input " + std::to_string(i));
      if (!t.ok()) return ToGrpc(t.status());
      inputs.push_back(std::move(t).value());
    }
    // Carry is passed on unread, but it is checked like any tensor (and counts against
    // the byte budget), and must share the batch dimension.
    for (int i = 0; i < request.carry_size(); ++i) {
      auto t = DecodeTensor(request.carry(i), &budget, "carry " + std::to_string(i));
      if (!t.ok()) return ToGrpc(t.status());
      if (!inputs.empty() && t->dim(0) != inputs[0].dim(0))
        return Invalid("carry " + std::to_string(i) + ": batch differs from the inputs'");
    }
    if (Status s = CheckAgainstSegment(seg->graph, inputs); !s.ok()) return ToGrpc(s);
    info->batch = inputs.empty() ? 0 : inputs[0].dim(0);
    // Every index a hop or return_from uses must name an available tensor at its stage;
    // only the counts are known here, so check what can be checked now: this stage's.
    const int available = static_cast<int>(seg->graph.outputs.size()) + request.carry_size();
    if (request.forward_size() > kMaxHops)
      return Invalid("a chain has at most " + std::to_string(kMaxHops) + " hops");
    if (request.forward_size() > 0) {
      const v1::Hop& hop = request.forward(0);
      if (hop.address().empty() || hop.address().size() > 255 ||
          hop.address().find(':') == std::string::npos)
        return Invalid("forward[0].address must be host:port");
      Digest d;
      if (!DigestFromBytes(hop.segment_digest(), &d))
        return Invalid("forward[0].segment_digest must be 32 bytes");
      if (hop.inputs_from_size() > kMaxWireTensors || hop.carry_from_size() > kMaxWireTensors)
        return Invalid("forward[0] takes too many tensors");
      for (uint32_t i : hop.inputs_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("forward[0].inputs_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
      for (uint32_t i : hop.carry_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("forward[0].carry_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
    } else {
      if (request.return_from_size() > kMaxWireTensors) return Invalid("return_from too long");
      for (uint32_t i : request.return_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("return_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
    }
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (context->deadline() < std::chrono::system_clock::now())
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the segment ran"};

    RunTrace trace;
    const auto start = Clock::now();
    Result<std::vector<Tensor>> outputs = RunHosted(seg, request, inputs, &trace);
    info->segment_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!outputs.ok()) return ToGrpc(outputs.status());
    reply->set_request_id(request.request_id());
    v1::StageEvidence* evidence = reply->add_stages();
    evidence->set_segment_index(static_cast<uint32_t>(seg->index));
    evidence->set_segment_digest(DigestToBytes(seg->digest));
    evidence->set_served_by(*self_);
    for (const Digest& d : trace.node_digests) evidence->add_trace_digests(DigestToBytes(d));

    // Available tensors: this segment's outputs, then the carry received.
    std::vector<v1::Tensor> encoded(outputs->size());
    for (size_t i = 0; i < outputs->size(); ++i) EncodeTensor((*outputs)[i], &encoded[i]);
    std::vector<const v1::Tensor*> avail;
    for (const v1::Tensor& t : encoded) avail.push_back(&t);
    for (const v1::Tensor& t : request.carry()) avail.push_back(&t);
    if (request.forward_size() > 0) {
      info->forwarded = true;
      return Forward(context, request, avail, reply);
    }
    if (request.return_from_size() == 0) {
      for (v1::Tensor& t : encoded) *reply->add_outputs() = std::move(t);
    } else {
      for (uint32_t i : request.return_from()) *reply->add_outputs() = *avail[i];
    }
    return grpc::Status::OK;
  }

  std::vector<std::unique_ptr<HostedSegment>>* segments_;
  const NodeServerOptions* options_;
  MetricsState* metrics_;
  const std::string* self_;
  std::mutex stubs_mutex_;
  std::map<std::string, std::unique_ptr<v1::Node::Stub>> stubs_;
};

}  // namespace

struct NodeServer::Impl {
  NodeServerOptions options;
  Digest model_digest{};
  std::vector<std::unique_ptr<HostedSegment>> segments;
  MetricsState metrics;
  std::string self;  // host:port
  std::unique_ptr<NodeService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string host;
  std::mutex mutex;
  bool shut_down = false;
};

NodeServer::NodeServer() : impl_(std::make_unique<Impl>()) {}

NodeServer::~NodeServer() { Shutdown(0); }

Result<std::unique_ptr<NodeServer>> NodeServer::Start(const Graph& graph,
                                                      NodeServerOptions options) {
  if (options.segments.empty())
    return Status::InvalidArgument("a node must host at least one segment");
  const int count = static_cast<int>(graph.EffectiveSegments().size());
  const Digest model_digest = ModelDigest(graph);
  std::vector<SegmentToHost> segments;
  for (int index : options.segments) {
    if (index < 0 || index >= count)
      return Status::InvalidArgument("segment " + std::to_string(index) +
                                     " out of range: the model has " + std::to_string(count) +
                                     " segment(s)");
    SegmentToHost seg;
    seg.model_name = graph.name;
    seg.model_digest = model_digest;
    seg.segment_count = count;
    seg.segment_index = index;
    seg.segment_digest = SegmentDigest(graph, index);
    VEIL_ASSIGN_OR_RETURN(seg.graph, ExtractSegment(graph, index));
    segments.push_back(std::move(seg));
  }
  return Start(std::move(segments), std::move(options));
}

Result<std::unique_ptr<NodeServer>> NodeServer::Start(std::vector<SegmentToHost> segments,
                                                      NodeServerOptions options) {
  if (segments.empty()) return Status::InvalidArgument("a node must host at least one segment");
  if (options.max_message_bytes < 1024 || options.max_message_bytes > (int64_t{1} << 30))
    return Status::InvalidArgument("max_message_bytes must lie in [1 KiB, 1 GiB]");
  if (options.max_tensor_bytes < 1 || options.max_tensor_bytes > options.max_message_bytes)
    return Status::InvalidArgument("max_tensor_bytes must lie in [1, max_message_bytes]");
  const size_t colon = options.listen_address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("listen address must be host:port, got '" +
                                   options.listen_address + "'");

  std::unique_ptr<NodeServer> node(new NodeServer());
  Impl& impl = *node->impl_;
  impl.model_digest = segments[0].model_digest;
  for (SegmentToHost& s : segments) {
    const std::string what =
        (s.model_name.empty() ? DigestToHex(s.model_digest).substr(0, 16) : s.model_name) +
        " segment " + std::to_string(s.segment_index);
    if (s.segment_index < 0 || s.segment_index >= s.segment_count)
      return Status::InvalidArgument(what + " out of range: the model has " +
                                     std::to_string(s.segment_count) + " segment(s)");
    for (const auto& h : impl.segments)
      if (h->model_digest == s.model_digest && h->index == s.segment_index)
        return Status::InvalidArgument(what + " listed twice");
    // The node serves only a segment that matches the digest it advertises.
    if (StandaloneSegmentDigest(s.graph, s.segment_index) != s.segment_digest)
      return Status::Corrupt(what + " does not match its segment digest");
    auto seg = std::make_unique<HostedSegment>();
    seg->model_name = s.model_name;
    seg->model_digest = s.model_digest;
    seg->count = s.segment_count;
    seg->index = s.segment_index;
    seg->digest = s.segment_digest;
    seg->graph = std::move(s.graph);
    VEIL_ASSIGN_OR_RETURN(seg->session, Session::Create(seg->graph, options.session));
    impl.segments.push_back(std::move(seg));
  }
  impl.options = std::move(options);
  if (impl.options.security.is_tls() && !impl.options.security.peer_allowed)
    return Status::InvalidArgument("TLS needs a peer check");
  if (impl.options.session_ttl_ms < 1 || impl.options.max_sessions < 1 ||
      impl.options.max_session_tokens < 1 || impl.options.forward_deadline_ms < 1)
    return Status::InvalidArgument("session limits and deadlines must be positive");
  impl.service =
      std::make_unique<NodeService>(&impl.segments, &impl.options, &impl.metrics, &impl.self);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl.options.listen_address,
                           MakeServerCredentials(impl.options.security), &impl.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.RegisterService(impl.service.get());
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || impl.port == 0)
    return Status::IoError("could not listen on " + impl.options.listen_address);
  impl.host = impl.options.listen_address.substr(0, colon);
  impl.self = impl.host + ":" + std::to_string(impl.port);
  return node;
}

Result<std::unique_ptr<NodeServer>> NodeServer::StartFromFile(const std::string& path,
                                                              NodeServerOptions options) {
  VEIL_ASSIGN_OR_RETURN(Graph graph, LoadModel(path));
  return Start(graph, std::move(options));
}

int NodeServer::port() const { return impl_->port; }
std::string NodeServer::address() const { return impl_->host + ":" + std::to_string(impl_->port); }
const Digest& NodeServer::model_digest() const { return impl_->model_digest; }

NodeMetrics NodeServer::metrics() const {
  std::lock_guard<std::mutex> lock(impl_->metrics.mutex);
  return impl_->metrics.m;
}

std::string NodeServer::MetricsText() const {
  const NodeMetrics m = metrics();
  const std::string node = "{node=\"" + impl_->self + "\"}";
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value,
                    const std::string& labels) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << labels << " " << value << "\n";
  };
  out << "# HELP veil_requests_total RunSegment calls by outcome.\n"
      << "# TYPE veil_requests_total counter\n"
      << "veil_requests_total{node=\"" << impl_->self << "\",status=\"ok\"} " << m.requests_ok
      << "\n"
      << "veil_requests_total{node=\"" << impl_->self << "\",status=\"error\"} "
      << m.requests_failed << "\n";
  metric("veil_errors_total", "counter", "RunSegment calls that failed.", m.requests_failed, node);
  metric("veil_received_tensor_bytes_total", "counter", "Tensor bytes received.", m.bytes_in, node);
  metric("veil_sent_tensor_bytes_total", "counter", "Tensor bytes sent.", m.bytes_out, node);
  metric("veil_segment_seconds_total", "counter", "Time running hosted segments.",
         m.segment_seconds, node);
  metric("veil_forwards_total", "counter", "Requests pushed on to a next hop.", m.forwards, node);
  metric("veil_active_sessions", "gauge", "Decoding sessions held.", m.active_sessions, node);
  metric("veil_sessions_expired_total", "counter", "Sessions dropped after their idle TTL.",
         m.sessions_expired, node);
  out << "# HELP veil_request_duration_seconds RunSegment latency (including forwarding).\n"
      << "# TYPE veil_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= std::size(kLatencyBucketsMs); ++b) {
    cumulative += m.latency_buckets[b];
    out << "veil_request_duration_seconds_bucket{node=\"" << impl_->self << "\",le=\"";
    if (b < std::size(kLatencyBucketsMs))
      out << kLatencyBucketsMs[b] / 1000;
    else
      out << "+Inf";
    out << "\"} " << cumulative << "\n";
  }
  out << "veil_request_duration_seconds_sum" << node << " " << m.request_seconds << "\n"
      << "veil_request_duration_seconds_count" << node << " " << cumulative << "\n";
  return out.str();
}

void NodeServer::Shutdown(int grace_ms) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->shut_down || impl_->server == nullptr) return;
    impl_->shut_down = true;
  }
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
}

void NodeServer::Wait() {
  if (impl_->server != nullptr) impl_->server->Wait();
}

}  // namespace veil::net
