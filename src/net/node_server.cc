#include "veil/net/node_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <mutex>
#include <sstream>

#include "veil/model_file.h"
#include "veil/v1/node.grpc.pb.h"
#include "wire.h"

namespace veil::net {
namespace {

constexpr const char* kNodeVersion = "veil-node/0.1 (issue 3 slice 1)";

struct HostedSegment {
  int index = 0;
  Digest digest{};
  Graph graph;  // ExtractSegment(model, index)
  std::unique_ptr<Session> session;
  std::mutex mutex;  // one run at a time per segment
};

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
  NodeService(std::string model_name, Digest model_digest, int segment_count,
              std::vector<std::unique_ptr<HostedSegment>>* segments,
              const NodeServerOptions* options)
      : model_name_(std::move(model_name)),
        model_digest_(model_digest),
        segment_count_(segment_count),
        segments_(segments),
        options_(options) {}

  grpc::Status Info(grpc::ServerContext* /*context*/, const v1::InfoRequest* /*request*/,
                    v1::InfoReply* reply) override {
    reply->set_node_version(kNodeVersion);
    reply->set_model_name(model_name_);
    reply->set_max_message_bytes(static_cast<uint64_t>(options_->max_message_bytes));
    reply->set_max_tensor_bytes(static_cast<uint64_t>(options_->max_tensor_bytes));
    for (const auto& seg : *segments_) {
      v1::HostedSegment* h = reply->add_segments();
      h->set_model_digest(DigestToBytes(model_digest_));
      h->set_segment_index(static_cast<uint32_t>(seg->index));
      h->set_segment_count(static_cast<uint32_t>(segment_count_));
      h->set_segment_digest(DigestToBytes(seg->digest));
      for (int id : seg->graph.inputs) FillSpec(seg->graph, id, h->add_inputs());
      for (int id : seg->graph.outputs) FillSpec(seg->graph, id, h->add_outputs());
    }
    return grpc::Status::OK;
  }

  grpc::Status RunSegment(grpc::ServerContext* context, const v1::RunSegmentRequest* request,
                          v1::RunSegmentReply* reply) override {
    const auto start = std::chrono::steady_clock::now();
    int64_t batch = 0;
    grpc::Status status = Handle(context, *request, reply, &batch);
    if (options_->log) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      std::ostringstream line;
      line << "request_id="
           << (ValidRequestId(request->request_id()) ? request->request_id() : "<invalid>")
           << " segment=" << request->segment_index() << " batch=" << batch
           << " peer=" << context->peer() << " status="
           << (status.ok() ? "OK" : "ERROR(" + std::to_string(status.error_code()) + ")")
           << " ms=" << ms;
      if (!status.ok()) line << " error=\"" << status.error_message() << "\"";
      options_->log(line.str());
    }
    return status;
  }

 private:
  grpc::Status Handle(grpc::ServerContext* context, const v1::RunSegmentRequest& request,
                      v1::RunSegmentReply* reply, int64_t* batch) {
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
    if (model_digest != model_digest_)
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    HostedSegment* seg = nullptr;
    for (const auto& s : *segments_)
      if (static_cast<uint32_t>(s->index) == request.segment_index()) seg = s.get();
    if (seg == nullptr)
      return {grpc::StatusCode::NOT_FOUND, "segment " + std::to_string(request.segment_index()) +
                                               " of this model is not hosted here"};
    if (segment_digest != seg->digest)
      return Invalid("segment_digest " + DigestToHex(segment_digest).substr(0, 16) +
                     " does not match segment " + std::to_string(seg->index) + "'s digest " +
                     DigestToHex(seg->digest).substr(0, 16));
    if (request.inputs_size() > kMaxWireTensors)
      return Invalid("at most " + std::to_string(kMaxWireTensors) + " input tensors");
    std::vector<Tensor> inputs;
    int64_t budget = options_->max_tensor_bytes;
    for (int i = 0; i < request.inputs_size(); ++i) {
      auto t = DecodeTensor(request.inputs(i), &budget, "input " + std::to_string(i));
      if (!t.ok()) return ToGrpc(t.status());
      inputs.push_back(std::move(t).value());
    }
    if (Status s = CheckAgainstSegment(seg->graph, inputs); !s.ok()) return ToGrpc(s);
    *batch = inputs.empty() ? 0 : inputs[0].dim(0);
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (context->deadline() < std::chrono::system_clock::now())
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the segment ran"};

    RunTrace trace;
    Result<std::vector<Tensor>> outputs = Status::Internal("not run");
    {
      std::lock_guard<std::mutex> lock(seg->mutex);
      outputs = seg->session->Run(inputs, &trace);
    }
    if (!outputs.ok()) return ToGrpc(outputs.status());
    reply->set_request_id(request.request_id());
    reply->set_segment_digest(DigestToBytes(seg->digest));
    for (const Tensor& t : *outputs) EncodeTensor(t, reply->add_outputs());
    for (const Digest& d : trace.node_digests) reply->add_trace_digests(DigestToBytes(d));
    return grpc::Status::OK;
  }

  std::string model_name_;
  Digest model_digest_;
  int segment_count_;
  std::vector<std::unique_ptr<HostedSegment>>* segments_;
  const NodeServerOptions* options_;
};

}  // namespace

struct NodeServer::Impl {
  NodeServerOptions options;
  Digest model_digest{};
  std::vector<std::unique_ptr<HostedSegment>> segments;
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
  impl.model_digest = ModelDigest(graph);
  const int count = static_cast<int>(graph.EffectiveSegments().size());
  for (int index : options.segments) {
    if (index < 0 || index >= count)
      return Status::InvalidArgument("segment " + std::to_string(index) +
                                     " out of range: the model has " + std::to_string(count) +
                                     " segment(s)");
    for (const auto& s : impl.segments)
      if (s->index == index)
        return Status::InvalidArgument("segment " + std::to_string(index) + " listed twice");
    auto seg = std::make_unique<HostedSegment>();
    seg->index = index;
    VEIL_ASSIGN_OR_RETURN(seg->graph, ExtractSegment(graph, index));
    // The node serves only a segment that matches the digest it advertises.
    seg->digest = SegmentDigest(graph, index);
    if (StandaloneSegmentDigest(seg->graph, index) != seg->digest)
      return Status::Corrupt("segment " + std::to_string(index) +
                             " does not match its SegmentDigest");
    VEIL_ASSIGN_OR_RETURN(seg->session, Session::Create(seg->graph, options.session));
    impl.segments.push_back(std::move(seg));
  }
  impl.options = std::move(options);
  impl.service = std::make_unique<NodeService>(graph.name, impl.model_digest, count, &impl.segments,
                                               &impl.options);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl.options.listen_address, grpc::InsecureServerCredentials(),
                           &impl.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.RegisterService(impl.service.get());
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || impl.port == 0)
    return Status::IoError("could not listen on " + impl.options.listen_address);
  impl.host = impl.options.listen_address.substr(0, colon);
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
