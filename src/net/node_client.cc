#include "veil/net/node_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <limits>

#include "veil/v1/node.grpc.pb.h"
#include "wire.h"

namespace veil::net {
namespace {

Status FromGrpc(const std::string& address, const grpc::Status& s) {
  const std::string m =
      "node " + address + ": " + std::to_string(s.error_code()) + " " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status::Unsupported(m);
    case grpc::StatusCode::INTERNAL:
      return Status::Internal(m);
    default:
      return Status::IoError(m);  // UNAVAILABLE, DEADLINE_EXCEEDED, ...
  }
}

}  // namespace

struct NodeClient::Impl {
  std::string address;
  NodeClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Node::Stub> stub;

  void SetDeadline(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(options.deadline_ms));
  }
};

NodeClient::NodeClient() : impl_(std::make_unique<Impl>()) {}
NodeClient::~NodeClient() = default;

Result<std::unique_ptr<NodeClient>> NodeClient::Connect(const std::string& address,
                                                        NodeClientOptions options) {
  if (address.empty() || address.find(':') == std::string::npos)
    return Status::InvalidArgument("node address must be host:port, got '" + address + "'");
  if (options.deadline_ms < 1) return Status::InvalidArgument("deadline must be at least 1 ms");
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > std::numeric_limits<int>::max())
    return Status::InvalidArgument("max_message_bytes out of range");
  std::unique_ptr<NodeClient> client(new NodeClient());
  Impl& impl = *client->impl_;
  impl.address = address;
  impl.options = options;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  impl.channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  impl.stub = v1::Node::NewStub(impl.channel);
  return client;
}

const std::string& NodeClient::address() const { return impl_->address; }

Result<NodeInfo> NodeClient::Info() {
  grpc::ClientContext context;
  impl_->SetDeadline(&context);
  v1::InfoRequest request;
  v1::InfoReply reply;
  grpc::Status s = impl_->stub->Info(&context, request, &reply);
  if (!s.ok()) return FromGrpc(impl_->address, s);
  NodeInfo info;
  info.node_version = reply.node_version();
  info.model_name = reply.model_name();
  info.max_message_bytes = reply.max_message_bytes();
  info.max_tensor_bytes = reply.max_tensor_bytes();
  for (const v1::HostedSegment& h : reply.segments()) {
    HostedSegmentInfo seg;
    if (!DigestFromBytes(h.model_digest(), &seg.model_digest) ||
        !DigestFromBytes(h.segment_digest(), &seg.segment_digest))
      return Status::Corrupt("node " + impl_->address +
                             ": Info reply has a digest that is not 32 bytes");
    seg.segment_index = static_cast<int>(h.segment_index());
    seg.segment_count = static_cast<int>(h.segment_count());
    info.segments.push_back(seg);
  }
  return info;
}

Result<SegmentReply> NodeClient::RunSegment(const std::string& request_id,
                                            const Digest& model_digest, int segment_index,
                                            const Digest& segment_digest,
                                            const std::vector<Tensor>& inputs) {
  if (segment_index < 0) return Status::InvalidArgument("negative segment index");
  v1::RunSegmentRequest request;
  request.set_request_id(request_id);
  request.set_model_digest(DigestToBytes(model_digest));
  request.set_segment_index(static_cast<uint32_t>(segment_index));
  request.set_segment_digest(DigestToBytes(segment_digest));
  for (const Tensor& t : inputs) EncodeTensor(t, request.add_inputs());
  grpc::ClientContext context;
  impl_->SetDeadline(&context);
  v1::RunSegmentReply reply;
  grpc::Status s = impl_->stub->RunSegment(&context, request, &reply);
  if (!s.ok()) return FromGrpc(impl_->address, s);

  // The reply is untrusted too.
  SegmentReply out;
  if (!DigestFromBytes(reply.segment_digest(), &out.segment_digest))
    return Status::Corrupt("node " + impl_->address + ": reply segment_digest is not 32 bytes");
  if (out.segment_digest != segment_digest)
    return Status::Corrupt("node " + impl_->address + " served segment digest " +
                           DigestToHex(out.segment_digest).substr(0, 16) + ", not the requested " +
                           DigestToHex(segment_digest).substr(0, 16));
  if (reply.outputs_size() > kMaxWireTensors)
    return Status::Corrupt("node " + impl_->address + ": too many outputs");
  int64_t budget = impl_->options.max_message_bytes;
  for (int i = 0; i < reply.outputs_size(); ++i) {
    auto t = DecodeTensor(reply.outputs(i), &budget,
                          "node " + impl_->address + " output " + std::to_string(i));
    if (!t.ok()) return Status::Corrupt(t.status().message());
    out.outputs.push_back(std::move(t).value());
  }
  for (const std::string& d : reply.trace_digests()) {
    Digest digest;
    if (!DigestFromBytes(d, &digest))
      return Status::Corrupt("node " + impl_->address + ": a trace digest is not 32 bytes");
    out.trace_digests.push_back(digest);
  }
  return out;
}

}  // namespace veil::net
