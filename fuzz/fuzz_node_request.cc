// libFuzzer target: the node's handlers on arbitrary requests. The first byte picks the RPC
// (RunSegment, the consensus RPCs Commit, Reveal, SelectCommittee, LayerInputs, or
// ProveSegment, for which the node holds a model commitment and seed; for half of the
// ProveSegment inputs the fuzzer's digests are replaced by the valid ones, so that its
// activation openings reach the opening parser and the shape checks); the rest
// is parsed as its request message (inputs that do not parse are what gRPC itself would
// refuse) and sent to an in-process NodeServer (with an identity, so consensus calls run)
// hosting segment 1 of a small three-segment graph, over a real loopback channel. Whatever
// the request, the answer is a status (OK with a well-formed reply, or an error with a
// message) and the node keeps serving: a valid request must still succeed after every input.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "format/test_graphs.h"
#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/v1/node.grpc.pb.h"
#include "veil/zk/model_commitment.h"

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
  std::string commitment_digest;  // of the node's proving material

  Fixture() {
    veil::net::NodeServerOptions options;
    options.segments = {1};
    options.max_message_bytes = 1 << 20;
    options.max_tensor_bytes = 64 << 10;
    options.forward_deadline_ms = 200;  // hops named by fuzz inputs lead nowhere
    options.max_rounds = 64;            // fuzzed commits must not grow the store unboundedly
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("veil_fuzz_node_" + std::to_string(getpid())))
            .string();
    std::filesystem::remove_all(dir);
    auto identity = veil::registry::Identity::LoadOrCreate(dir);
    Require(identity.ok(), "identity");
    options.identity = std::move(identity).value();
    auto proving = std::make_shared<veil::net::SegmentProving>();
    proving->seed.fill(1);
    auto commitment = veil::zk::CommitModel(graph, proving->seed);
    Require(commitment.ok(), "commitment");
    proving->commitment = std::move(commitment).value();
    commitment_digest =
        std::string(reinterpret_cast<const char*>(proving->commitment.digest.data()), 32);
    options.proving = proving;
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

  // Parses `bytes` as the request of RPC `which` and calls it.
  template <typename Request, typename Reply, typename Method>
  bool CallParsed(const uint8_t* bytes, size_t size, Method method, grpc::Status* status) {
    Request request;
    if (!request.ParseFromArray(bytes, static_cast<int>(size))) return false;
    Reply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    *status = (stub.get()->*method)(&context, request, &reply);
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();  // lives for the whole run
  if (size < 1) return 0;
  const uint8_t which = data[0] % 6;
  const bool valid_digests = (data[0] / 6) % 2 == 1;
  ++data;
  --size;
  grpc::Status s;
  bool parsed = true;
  using veil::v1::Node;
  switch (which) {
    case 1:
      parsed = fixture->CallParsed<veil::v1::CommitRequest, veil::v1::Commitment>(
          data, size, &Node::Stub::Commit, &s);
      break;
    case 2:
      parsed = fixture->CallParsed<veil::v1::RevealRequest, veil::v1::RevealReply>(
          data, size, &Node::Stub::Reveal, &s);
      break;
    case 3:
      parsed =
          fixture->CallParsed<veil::v1::SelectCommitteeRequest, veil::v1::SelectCommitteeReply>(
              data, size, &Node::Stub::SelectCommittee, &s);
      break;
    case 4:
      parsed = fixture->CallParsed<veil::v1::LayerInputsRequest, veil::v1::LayerInputsReply>(
          data, size, &Node::Stub::LayerInputs, &s);
      break;
    case 5: {
      veil::v1::ProveSegmentRequest request;
      if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
      if (valid_digests) {
        request.set_request_id("prove");
        request.set_model_digest(fixture->valid.model_digest());
        request.set_segment_index(1);
        request.set_segment_digest(fixture->valid.segment_digest());
        request.set_model_commitment_digest(fixture->commitment_digest);
      }
      veil::v1::ProveSegmentReply reply;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      s = fixture->stub->ProveSegment(&context, request, &reply);
      if (s.ok())
        Require(!reply.proof().empty() && !reply.output_opening().empty(),
                "an OK proof reply carries a proof and openings");
      break;
    }
    default: {
      veil::v1::RunSegmentRequest request;
      if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
      veil::v1::RunSegmentReply reply;
      s = fixture->Call(request, &reply);
      if (s.ok()) {
        Require(reply.stages_size() >= 1, "an OK reply carries evidence");
        Require(reply.stages(0).segment_index() == 1, "evidence names the hosted segment");
      }
    }
  }
  if (!parsed) return 0;
  if (!s.ok()) {
    Require(!s.error_message().empty() || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                s.error_code() == grpc::StatusCode::CANCELLED,
            "an error says why");
  }
  veil::v1::RunSegmentReply ok_reply;
  Require(fixture->Call(fixture->valid, &ok_reply).ok(), "the node keeps serving");
  return 0;
}
