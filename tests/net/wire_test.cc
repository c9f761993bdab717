// Hostile peers: malformed RunSegment requests sent with the raw generated stub get an
// error status naming the problem, never a crash; the node keeps serving afterwards.
#include "net/wire.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/v1/node.grpc.pb.h"

namespace veil::net {
namespace {

// A small three-segment graph: x int8 [4] -> Lookup -> Lookup -> Lookup.
Graph TinyGraph() {
  Graph g;
  g.name = "tiny";
  int prev = g.AddValue({"x", DType::kInt8, {4}, 1.0});
  g.inputs = {prev};
  for (int i = 0; i < 3; ++i) {
    const int out = g.AddValue({"y" + std::to_string(i), DType::kInt8, {4}, 1.0});
    Node n;
    n.kind = OpKind::kLookup;
    n.name = "lookup" + std::to_string(i);
    n.inputs = {prev};
    n.outputs = {out};
    std::vector<int8_t> table(256);
    for (int k = 0; k < 256; ++k)
      table[static_cast<size_t>(k)] =
          static_cast<int8_t>(std::max(-127, std::min(127, (k - 128) / 2 + i)));
    n.SetParam("table", Tensor::FromInt8({256}, table));
    g.nodes.push_back(n);
    prev = out;
  }
  g.outputs = {prev};
  g.segments = {{0, 1}, {1, 2}, {2, 3}};
  return g;
}

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = TinyGraph();
    ASSERT_TRUE(ValidateGraph(graph_).ok()) << ValidateGraph(graph_).ToString();
    NodeServerOptions options;
    options.segments = {1};
    options.max_message_bytes = 1 << 20;
    options.max_tensor_bytes = 64 << 10;
    auto node = NodeServer::Start(graph_, options);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(node).value();
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(8 << 20);
    channel_ =
        grpc::CreateCustomChannel(node_->address(), grpc::InsecureChannelCredentials(), args);
    stub_ = v1::Node::NewStub(channel_);
  }

  v1::RunSegmentRequest Valid() const {
    v1::RunSegmentRequest r;
    r.set_request_id("t-1");
    r.set_model_digest(DigestToBytes(ModelDigest(graph_)));
    r.set_segment_index(1);
    r.set_segment_digest(DigestToBytes(SegmentDigest(graph_, 1)));
    EncodeTensor(Tensor::FromInt8({2, 4}, {1, 2, 3, 4, -127, 127, 0, 5}), r.add_inputs());
    return r;
  }

  grpc::Status Call(const v1::RunSegmentRequest& r, v1::RunSegmentReply* reply = nullptr,
                    int deadline_ms = 5000) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    v1::RunSegmentReply local;
    return stub_->RunSegment(&context, r, reply != nullptr ? reply : &local);
  }

  void ExpectError(const v1::RunSegmentRequest& r, grpc::StatusCode code,
                   const std::string& fragment) {
    const grpc::Status s = Call(r);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find(fragment), std::string::npos) << s.error_message();
  }

  Graph graph_;
  std::unique_ptr<NodeServer> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Node::Stub> stub_;
};

TEST_F(WireTest, ValidRequestRuns) {
  v1::RunSegmentReply reply;
  const grpc::Status s = Call(Valid(), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.request_id(), "t-1");
  EXPECT_EQ(reply.segment_digest(), DigestToBytes(SegmentDigest(graph_, 1)));
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).dims_size(), 2);
  EXPECT_EQ(reply.trace_digests_size(), 1);
}

TEST_F(WireTest, MalformedRequestsGetErrors) {
  using C = grpc::StatusCode;
  auto r = Valid();
  r.set_model_digest(std::string(32, '\x01'));
  ExpectError(r, C::NOT_FOUND, "not hosted");
  r = Valid();
  r.set_model_digest("short");
  ExpectError(r, C::INVALID_ARGUMENT, "model_digest must be 32 bytes");
  r = Valid();
  r.set_segment_digest(DigestToBytes(SegmentDigest(graph_, 2)));
  ExpectError(r, C::INVALID_ARGUMENT, "does not match");
  r = Valid();
  r.set_segment_index(2);
  ExpectError(r, C::NOT_FOUND, "segment 2");
  r = Valid();
  r.set_segment_index(0xffffffffu);
  ExpectError(r, C::NOT_FOUND, "not hosted");
  r = Valid();
  r.set_request_id("");
  ExpectError(r, C::INVALID_ARGUMENT, "request_id");
  r = Valid();
  r.set_request_id("bad id\n");
  ExpectError(r, C::INVALID_ARGUMENT, "request_id");
  r = Valid();
  r.set_request_id(std::string(65, 'a'));
  ExpectError(r, C::INVALID_ARGUMENT, "request_id");
  r = Valid();
  r.clear_inputs();
  ExpectError(r, C::INVALID_ARGUMENT, "takes 1 input");
  r = Valid();
  EncodeTensor(Tensor::FromInt8({2, 4}, std::vector<int8_t>(8, 0)), r.add_inputs());
  ExpectError(r, C::INVALID_ARGUMENT, "takes 1 input");
  r = Valid();
  for (int i = 0; i < 70; ++i)
    EncodeTensor(Tensor::FromInt8({1, 4}, std::vector<int8_t>(4, 0)), r.add_inputs());
  ExpectError(r, C::INVALID_ARGUMENT, "at most 64");
  // Wrong dims.
  r = Valid();
  EncodeTensor(Tensor::FromInt8({2, 5}, std::vector<int8_t>(10, 0)), r.mutable_inputs(0));
  ExpectError(r, C::INVALID_ARGUMENT, "expected [B] + [4]");
  r = Valid();
  EncodeTensor(Tensor::FromInt8({8}, std::vector<int8_t>(8, 0)), r.mutable_inputs(0));
  ExpectError(r, C::INVALID_ARGUMENT, "expected [B] + [4]");
  // Wrong dtype.
  r = Valid();
  EncodeTensor(Tensor::FromInt32({2, 4}, std::vector<int32_t>(8, 0)), r.mutable_inputs(0));
  ExpectError(r, C::INVALID_ARGUMENT, "dtype int32");
  r = Valid();
  r.mutable_inputs(0)->set_dtype(static_cast<v1::DType>(7));
  ExpectError(r, C::INVALID_ARGUMENT, "unknown dtype");
  r = Valid();
  r.mutable_inputs(0)->set_dtype(v1::DTYPE_UNSPECIFIED);
  ExpectError(r, C::INVALID_ARGUMENT, "unknown dtype");
  // Data length mismatch, both ways.
  r = Valid();
  r.mutable_inputs(0)->mutable_data()->pop_back();
  ExpectError(r, C::INVALID_ARGUMENT, "data holds 7 bytes");
  r = Valid();
  r.mutable_inputs(0)->mutable_data()->push_back('\0');
  ExpectError(r, C::INVALID_ARGUMENT, "data holds 9 bytes");
  // Bad dims: zero, negative, rank 0, rank 9, overflowing products.
  for (const std::vector<int64_t>& dims :
       std::vector<std::vector<int64_t>>{{0, 4},
                                         {-2, 4},
                                         {},
                                         {1, 1, 1, 1, 1, 1, 1, 1, 8},
                                         {int64_t{1} << 62, int64_t{1} << 62},
                                         {INT64_MAX, 2},
                                         {2, INT64_MAX},
                                         {int64_t{1} << 32, int64_t{1} << 32, 4}}) {
    r = Valid();
    r.mutable_inputs(0)->clear_dims();
    for (int64_t d : dims) r.mutable_inputs(0)->add_dims(d);
    const grpc::Status s = Call(r);
    EXPECT_EQ(s.error_code(), C::INVALID_ARGUMENT) << s.error_message();
  }
  // -128 is not an activation.
  r = Valid();
  (*r.mutable_inputs(0)->mutable_data())[3] = static_cast<char>(-128);
  ExpectError(r, C::INVALID_ARGUMENT, "-128");
  // Over the tensor byte cap (64 KiB) but under the message cap (1 MiB).
  r = Valid();
  EncodeTensor(Tensor::FromInt8({32768, 4}, std::vector<int8_t>(32768 * 4, 1)),
               r.mutable_inputs(0));
  ExpectError(r, C::INVALID_ARGUMENT, "byte limit");
  // Over the gRPC message cap: refused by gRPC before parsing.
  r = Valid();
  r.mutable_inputs(0)->set_data(std::string(2 << 20, '\x01'));
  EXPECT_EQ(Call(r).error_code(), C::RESOURCE_EXHAUSTED);
  // The node still serves.
  EXPECT_TRUE(Call(Valid()).ok());
}

TEST_F(WireTest, ExpiredDeadline) {
  const grpc::Status s = Call(Valid(), nullptr, 0);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(Call(Valid()).ok());
}

// Bounded random mutation of valid requests (serialized bytes and fields): every
// reply is a status, the server never dies.
TEST_F(WireTest, RandomMutationsNeverCrash) {
  std::mt19937 rng(12345);
  const std::string valid = Valid().SerializeAsString();
  int parsed = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes.erase(at, 1 + rng() % 4);
          break;
        default:
          bytes.insert(at, 1 + rng() % 4, static_cast<char>(rng()));
          break;
      }
      if (bytes.empty()) bytes = valid;
    }
    v1::RunSegmentRequest r;
    if (!r.ParseFromString(bytes)) continue;
    ++parsed;
    v1::RunSegmentReply reply;
    const grpc::Status s = Call(r, &reply);
    if (s.ok()) {
      EXPECT_EQ(reply.outputs_size(), 1);
    }
  }
  EXPECT_GT(parsed, 100);
  EXPECT_TRUE(Call(Valid()).ok());
}

TEST(WireCodecTest, DecodeTensorChecks) {
  v1::Tensor w;
  EncodeTensor(Tensor::FromInt64({2}, {1, -5}), &w);
  int64_t budget = 16;
  auto t = DecodeTensor(w, &budget, "t");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(budget, 0);
  EXPECT_EQ(t->i64()[1], -5);
  budget = 15;
  EXPECT_FALSE(DecodeTensor(w, &budget, "t").ok());
  EXPECT_TRUE(ValidRequestId("a.b_c:d-9"));
  EXPECT_FALSE(ValidRequestId("a b"));
  Digest d{};
  EXPECT_FALSE(DigestFromBytes(std::string(33, 'x'), &d));
  EXPECT_TRUE(DigestFromBytes(std::string(32, 'x'), &d));
}

}  // namespace
}  // namespace veil::net
