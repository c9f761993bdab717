// Hostile peers: malformed RunSegment requests sent with the raw generated stub get an
// error status naming the problem, never a crash; the node keeps serving afterwards.
#include "net/wire.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "format/test_graphs.h"
#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/v1/node.grpc.pb.h"

namespace veil::net {
namespace {

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_ = testing::MakeLookupChain(3, 4);
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
  ASSERT_EQ(reply.stages_size(), 1);
  EXPECT_EQ(reply.stages(0).segment_digest(), DigestToBytes(SegmentDigest(graph_, 1)));
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).dims_size(), 2);
  EXPECT_EQ(reply.stages(0).trace_digests_size(), 1);
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

TEST_F(WireTest, MalformedChainsAndSessionsGetErrors) {
  using C = grpc::StatusCode;
  auto hop = [](v1::RunSegmentRequest* r) {
    v1::Hop* h = r->add_forward();
    h->set_address("127.0.0.1:1");
    h->set_segment_index(2);
    h->set_segment_digest(std::string(32, '\x02'));
    return h;
  };
  auto r = Valid();
  hop(&r)->add_inputs_from(1);  // only 1 available tensor (the output)
  ExpectError(r, C::INVALID_ARGUMENT, "inputs_from index 1");
  r = Valid();
  hop(&r)->add_carry_from(5);
  ExpectError(r, C::INVALID_ARGUMENT, "carry_from index 5");
  r = Valid();
  hop(&r)->set_segment_digest("short");
  ExpectError(r, C::INVALID_ARGUMENT, "segment_digest must be 32 bytes");
  r = Valid();
  hop(&r)->set_address("no-port");
  ExpectError(r, C::INVALID_ARGUMENT, "host:port");
  r = Valid();
  for (int i = 0; i < 17; ++i) hop(&r)->add_inputs_from(0);
  ExpectError(r, C::INVALID_ARGUMENT, "at most 16 hops");
  r = Valid();
  r.add_return_from(1);
  ExpectError(r, C::INVALID_ARGUMENT, "return_from index 1");
  r = Valid();
  EncodeTensor(Tensor::FromInt8({3, 4}, std::vector<int8_t>(12, 0)), r.add_carry());
  ExpectError(r, C::INVALID_ARGUMENT, "carry 0: batch");
  r = Valid();
  r.set_position(3);
  ExpectError(r, C::INVALID_ARGUMENT, "position without a session_id");
  r = Valid();
  r.set_session_id("bad id");
  ExpectError(r, C::INVALID_ARGUMENT, "session_id");
  // A hop that is down: the error names it, in trailing metadata too.
  r = Valid();
  hop(&r)->add_inputs_from(0);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::RunSegmentReply reply;
    const grpc::Status s = stub_->RunSegment(&context, r, &reply);
    EXPECT_EQ(s.error_code(), C::UNAVAILABLE) << s.error_message();
    const auto& trailers = context.GetServerTrailingMetadata();
    const auto it = trailers.find(kFailedHopMetadata);
    ASSERT_NE(it, trailers.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "127.0.0.1:1");
  }
  // Carry comes back when asked for: available = [output, carry0].
  r = Valid();
  EncodeTensor(Tensor::FromInt8({2, 4}, std::vector<int8_t>(8, 9)), r.add_carry());
  r.add_return_from(1);
  r.add_return_from(0);
  v1::RunSegmentReply reply;
  ASSERT_TRUE(Call(r, &reply).ok());
  ASSERT_EQ(reply.outputs_size(), 2);
  EXPECT_EQ(reply.outputs(0).data(), std::string(8, '\x09'));
  EXPECT_TRUE(Call(Valid()).ok());
}

// Sessions hold a key/value cache per (segment, id); positions must match. (The tiny
// graph has no attention, so RunIncremental is exercised as a per-token map.)
TEST_F(WireTest, SessionPositionsAreChecked) {
  using C = grpc::StatusCode;
  auto r = Valid();
  r.set_session_id("sess-1");
  r.set_position(2);
  ExpectError(r, C::FAILED_PRECONDITION, "unknown or expired");
  r.set_position(0);
  const grpc::Status s = Call(r);
  // The tiny graph is [B, 4] (no token dimension): RunIncremental may refuse it; either
  // way the answer is a status, and an unknown session never runs.
  if (s.ok()) {
    EXPECT_EQ(node_->metrics().active_sessions, 1);
  } else {
    EXPECT_EQ(node_->metrics().active_sessions, 0);
  }
}

TEST_F(WireTest, MetricsAreExported) {
  ASSERT_TRUE(Call(Valid()).ok());
  auto bad = Valid();
  bad.set_request_id("");
  EXPECT_FALSE(Call(bad).ok());
  const NodeMetrics m = node_->metrics();
  EXPECT_GE(m.requests_ok, 1u);
  EXPECT_GE(m.requests_failed, 1u);
  const std::string text = node_->MetricsText();
  EXPECT_NE(text.find("veil_requests_total{node=\"" + node_->address() + "\",status=\"ok\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("veil_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\""), std::string::npos);
}

TEST_F(WireTest, ExpiredDeadline) {
  // A deadline already in the past (a deadline of "now" may race with a fast node).
  const grpc::Status s = Call(Valid(), nullptr, -1000);
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
      EXPECT_GE(reply.stages_size(), 1);
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
