// libFuzzer target: the node's RunSegment handler on arbitrary requests. Each input is
// parsed as a veil.v1.RunSegmentRequest (inputs that do not parse are what gRPC itself
// would refuse) and sent to an in-process NodeServer hosting segment 1 of a small
// three-segment graph, over a real loopback channel. Whatever the request, the answer is
// a status (OK with a well-formed reply, or an error with a message) and the node keeps
// serving: a valid request must still succeed after every fuzz input.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "format/test_graphs.h"
#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/v1/node.grpc.pb.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_node_request invariant violated: %s\n", what);
    std::abort();
  }
}

struct Fixture {
  veil::Graph graph = veil::testing::MakeLookupChain(3, 4);
  std::unique_ptr<veil::net::NodeServer> node;
  std::unique_ptr<veil::v1::Node::Stub> stub;
  veil::v1::RunSegmentRequest valid;

  Fixture() {
    veil::net::NodeServerOptions options;
    options.segments = {1};
    options.max_message_bytes = 1 << 20;
    options.max_tensor_bytes = 64 << 10;
    options.forward_deadline_ms = 200;  // hops named by fuzz inputs lead nowhere
    auto started = veil::net::NodeServer::Start(graph, options);
    Require(started.ok(), "node starts");
    node = std::move(started).value();
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(4 << 20);
    stub = veil::v1::Node::NewStub(
        grpc::CreateCustomChannel(node->address(), grpc::InsecureChannelCredentials(), args));
    valid.set_request_id("valid");
    const veil::Digest model = veil::ModelDigest(graph), seg = veil::SegmentDigest(graph, 1);
    valid.set_model_digest(std::string(reinterpret_cast<const char*>(model.data()), 32));
    valid.set_segment_index(1);
    valid.set_segment_digest(std::string(reinterpret_cast<const char*>(seg.data()), 32));
    veil::v1::Tensor* t = valid.add_inputs();
    t->set_dtype(veil::v1::DTYPE_INT8);
    t->add_dims(2);
    t->add_dims(4);
    t->set_data(std::string("\x01\x02\x03\x04\x81\x7f\x00\x05", 8));
  }

  grpc::Status Call(const veil::v1::RunSegmentRequest& r, veil::v1::RunSegmentReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub->RunSegment(&context, r, reply);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();  // lives for the whole run
  veil::v1::RunSegmentRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  veil::v1::RunSegmentReply reply;
  const grpc::Status s = fixture->Call(request, &reply);
  if (s.ok()) {
    Require(reply.stages_size() >= 1, "an OK reply carries evidence");
    Require(reply.stages(0).segment_index() == 1, "evidence names the hosted segment");
  } else {
    Require(!s.error_message().empty() || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                s.error_code() == grpc::StatusCode::CANCELLED,
            "an error says why");
  }
  veil::v1::RunSegmentReply ok_reply;
  Require(fixture->Call(fixture->valid, &ok_reply).ok(), "the node keeps serving");
  return 0;
}
