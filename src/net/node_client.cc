#include "veil/net/node_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <limits>

#include "credentials.h"
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
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(m);
    default:
      return Status::Unavailable(m);  // UNAVAILABLE, DEADLINE_EXCEEDED, UNAUTHENTICATED, ...
  }
}

}  // namespace

struct NodeClient::Impl {
  std::string address;
  NodeClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Node::Stub> stub;

  void SetDeadline(grpc::ClientContext* context, int64_t deadline_ms) const {
    context->set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(deadline_ms > 0 ? deadline_ms : options.deadline_ms));
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
  ApplyChannelArguments(options.security, &args);
  impl.channel = grpc::CreateCustomChannel(address, MakeChannelCredentials(options.security), args);
  impl.stub = v1::Node::NewStub(impl.channel);
  return client;
}

const std::string& NodeClient::address() const { return impl_->address; }

Result<NodeInfo> NodeClient::Info(int64_t deadline_ms) {
  grpc::ClientContext context;
  impl_->SetDeadline(&context, deadline_ms);
  v1::InfoRequest request;
  v1::InfoReply reply;
  grpc::Status s = impl_->stub->Info(&context, request, &reply);
  if (!s.ok()) return FromGrpc(impl_->address, s);
  NodeInfo info;
  info.node_version = reply.node_version();
  info.max_message_bytes = reply.max_message_bytes();
  info.max_tensor_bytes = reply.max_tensor_bytes();
  for (const v1::HostedSegment& h : reply.segments()) {
    HostedSegmentInfo seg;
    if (!DigestFromBytes(h.model_digest(), &seg.model_digest) ||
        !DigestFromBytes(h.segment_digest(), &seg.segment_digest))
      return Status::Corrupt("node " + impl_->address +
                             ": Info reply has a digest that is not 32 bytes");
    seg.model_name = h.model_name();
    seg.segment_index = static_cast<int>(h.segment_index());
    seg.segment_count = static_cast<int>(h.segment_count());
    info.segments.push_back(seg);
  }
  return info;
}

Result<ChainReply> NodeClient::Call(const SegmentCall& call, std::string* failed_address) {
  if (failed_address != nullptr) failed_address->clear();
  v1::RunSegmentRequest request;
  VEIL_RETURN_IF_ERROR(EncodeCall(call, &request));
  grpc::ClientContext context;
  impl_->SetDeadline(&context, 0);
  v1::RunSegmentReply reply;
  grpc::Status s = impl_->stub->RunSegment(&context, request, &reply);
  if (!s.ok()) {
    if (failed_address != nullptr) {
      *failed_address = impl_->address;
      const auto& trailers = context.GetServerTrailingMetadata();
      const auto it = trailers.find(kFailedHopMetadata);
      if (it != trailers.end()) *failed_address = std::string(it->second.data(), it->second.size());
    }
    return FromGrpc(impl_->address, s);
  }
  // The reply is untrusted too.
  std::vector<ExpectedStage> expected = {{call.segment_index, call.segment_digest, impl_->address}};
  for (const Hop& h : call.forward)
    expected.push_back({h.segment_index, h.segment_digest, h.address});
  auto out = DecodeChainReply(reply, expected, impl_->options.max_message_bytes);
  if (!out.ok() && failed_address != nullptr) *failed_address = impl_->address;
  if (!out.ok()) return Status::Corrupt("node " + impl_->address + ": " + out.status().message());
  return out;
}

Result<ProveReply> NodeClient::Prove(const ProveCall& call, int64_t deadline_ms) {
  if (!ValidRequestId(call.request_id))
    return Status::InvalidArgument("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
  v1::ProveSegmentRequest request;
  request.set_request_id(call.request_id);
  request.set_model_digest(DigestToBytes(call.model_digest));
  request.set_segment_index(static_cast<uint32_t>(call.segment_index));
  request.set_segment_digest(DigestToBytes(call.segment_digest));
  request.set_model_commitment_digest(DigestToBytes(call.model_commitment));
  request.set_input_opening(std::string(call.input_opening.begin(), call.input_opening.end()));
  grpc::ClientContext context;
  impl_->SetDeadline(&context, deadline_ms);
  v1::ProveSegmentReply reply;
  grpc::Status s = impl_->stub->ProveSegment(&context, request, &reply);
  if (!s.ok()) return FromGrpc(impl_->address, s);
  if (reply.request_id() != call.request_id)
    return Status::Corrupt("node " + impl_->address + ": ProveSegment reply for another request");
  if (reply.proof().empty() || reply.output_opening().empty())
    return Status::Corrupt("node " + impl_->address +
                           ": ProveSegment reply without a proof or "
                           "an output opening");
  ProveReply out;
  out.proof.assign(reply.proof().begin(), reply.proof().end());
  out.output_opening.assign(reply.output_opening().begin(), reply.output_opening().end());
  return out;
}

}  // namespace veil::net
