// Split inference through in-process NodeServers on loopback: bit-identical to
// Session::Run for every shipped model, through >= 3 segments on >= 2 nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "net/node_faults.h"
#include "onnx/shipped_models.h"
#include "veil/generate.h"
#include "veil/model_file.h"
#include "veil/net/node_client.h"
#include "veil/net/node_server.h"
#include "veil/net/split_inference.h"
#include "veil/segmenter.h"
#include "veil/session.h"

namespace veil::net {
namespace {

// Random valid inputs for every graph input: int8 in [-127, 127]; int32 ids in [0, T).
std::vector<Tensor> RandomInputs(const Graph& g, int64_t batch, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Tensor> out;
  for (int id : g.inputs) {
    const Value& v = g.values[static_cast<size_t>(id)];
    Shape shape = {batch};
    for (int64_t d : v.shape) shape.push_back(d == kDynamicDim ? tokens : d);
    Tensor t(v.dtype, shape);
    if (v.dtype == DType::kInt8) {
      std::uniform_int_distribution<int> dist(-127, 127);
      for (auto& x : t.i8()) x = static_cast<int8_t>(dist(rng));
    } else {
      std::uniform_int_distribution<int> dist(0, static_cast<int>(tokens) - 1);
      for (auto& x : t.i32()) x = dist(rng);
    }
    out.push_back(std::move(t));
  }
  return out;
}

class SplitShippedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SplitShippedTest, BitIdenticalToSessionRun) {
  const std::string name = GetParam();
  auto imported = testing::ImportShipped(name);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  Graph graph = std::move(imported).value();
  // As many segments as the model allows, up to 5 (the MLP has only a few nodes).
  const int count = std::min(5, static_cast<int>(graph.nodes.size()));
  ASSERT_GE(count, 3) << name;
  ASSERT_TRUE(SplitIntoSegments(&graph, count).ok());
  // Round-trip through the file format, as a node would load it.
  auto bytes = SerializeModel(graph);
  ASSERT_TRUE(bytes.ok());
  auto loaded = ParseModel(*bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();

  // One node per middle segment.
  std::vector<std::unique_ptr<NodeServer>> nodes;
  Route route;
  for (int s = 1; s <= count - 2; ++s) {
    NodeServerOptions options;
    options.segments = {s};
    auto node = NodeServer::Start(*loaded, options);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    EXPECT_GT((*node)->port(), 0);
    route[s] = {(*node)->address()};
    nodes.push_back(std::move(node).value());
  }
  auto runner = SplitRunner::Create(*loaded, route);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto session = Session::Create(*loaded);
  ASSERT_TRUE(session.ok());

  for (int64_t batch : {1, 3}) {
    const std::vector<Tensor> inputs =
        RandomInputs(*loaded, batch, 7, static_cast<uint32_t>(batch));
    RunTrace whole_trace;
    auto expected = (*session)->Run(inputs, &whole_trace);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    auto split = (*runner)->Run(inputs);
    ASSERT_TRUE(split.ok()) << split.status().ToString();
    ASSERT_EQ(split->outputs.size(), expected->size());
    for (size_t i = 0; i < expected->size(); ++i)
      EXPECT_TRUE(split->outputs[i] == (*expected)[i]) << name;
    ASSERT_EQ(split->stages.size(), static_cast<size_t>(count));
    EXPECT_EQ(split->stages[0].served_by, "local");
    EXPECT_EQ(split->stages.back().served_by, "local");
    std::vector<Digest> stage_digests;
    for (int s = 1; s <= count - 2; ++s)
      EXPECT_EQ(split->stages[static_cast<size_t>(s)].served_by, route[s][0]);
    // The concatenated per-stage traces are the whole run's trace.
    for (const auto& st : split->stages)
      stage_digests.insert(stage_digests.end(), st.trace_digests.begin(), st.trace_digests.end());
    EXPECT_EQ(stage_digests, whole_trace.node_digests) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, SplitShippedTest,
                         ::testing::Values("mlp", "cnn", "vit", "textgen"));

TEST(NodeServerTest, InfoListsVerifiedSegments) {
  auto imported = testing::ImportShipped("mlp");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 3).ok());
  NodeServerOptions options;
  options.segments = {1, 2};
  auto node = NodeServer::Start(graph, options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  auto client = NodeClient::Connect((*node)->address());
  ASSERT_TRUE(client.ok());
  auto info = (*client)->Info();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->segments.size(), 2u);
  for (const auto& s : info->segments) {
    EXPECT_EQ(s.model_digest, ModelDigest(graph));
    EXPECT_EQ(s.model_name, graph.name);
    EXPECT_EQ(s.segment_count, 3);
    EXPECT_EQ(s.segment_digest, SegmentDigest(graph, s.segment_index));
  }
}

TEST(NodeServerTest, RejectsBadOptions) {
  auto imported = testing::ImportShipped("mlp");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 3).ok());
  NodeServerOptions options;
  EXPECT_FALSE(NodeServer::Start(graph, options).ok());  // no segments
  options.segments = {3};
  EXPECT_FALSE(NodeServer::Start(graph, options).ok());  // out of range
  options.segments = {1, 1};
  EXPECT_FALSE(NodeServer::Start(graph, options).ok());  // duplicate
  options.segments = {1};
  options.listen_address = "nonsense";
  EXPECT_FALSE(NodeServer::Start(graph, options).ok());
  // Fault injection is test-only: this binary links the production veil_net, which
  // refuses to start a node that carries a fault.
  options.listen_address = "127.0.0.1:0";
  options.faults = std::make_shared<NodeFaults>();
  auto refused = NodeServer::Start(graph, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("test-only"), std::string::npos);
}

TEST(SplitRunnerTest, RouteErrors) {
  EXPECT_TRUE(ParseRoute("seg1=127.0.0.1:1,2=127.0.0.1:2").ok());
  EXPECT_FALSE(ParseRoute("").ok());
  EXPECT_FALSE(ParseRoute("seg1").ok());
  EXPECT_FALSE(ParseRoute("segx=a:1").ok());
  EXPECT_FALSE(ParseRoute("seg1=a:1,seg1=b:2").ok());
  auto alternates = ParseRoute("seg1=a:1|b:2,seg2=c:3");
  ASSERT_TRUE(alternates.ok());
  EXPECT_EQ((*alternates)[1], (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_FALSE(ParseRoute("seg1=a:1|").ok());
  auto imported = testing::ImportShipped("mlp");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 3).ok());
  EXPECT_FALSE(SplitRunner::Create(graph, {{0, {"127.0.0.1:1"}}, {1, {"127.0.0.1:1"}}})
                   .ok());                            // first stays local
  EXPECT_FALSE(SplitRunner::Create(graph, {}).ok());  // segment 1 unrouted
}

TEST(SplitRunnerTest, DeadNodeIsAnErrorNotAHang) {
  auto imported = testing::ImportShipped("mlp");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 3).ok());
  NodeServerOptions options;
  options.segments = {1};
  auto node = NodeServer::Start(graph, options);
  ASSERT_TRUE(node.ok());
  const std::string address = (*node)->address();
  (*node)->Shutdown(0);
  node->reset();
  SplitOptions split;
  split.client.deadline_ms = 2000;
  auto runner = SplitRunner::Create(graph, {{1, {address}}}, split);
  ASSERT_TRUE(runner.ok());
  auto result = (*runner)->Run(RandomInputs(graph, 1, 1, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(address), std::string::npos)
      << result.status().ToString();
}

// The shipped text model in 5 segments, and one node per middle segment plus a spare
// node per middle segment (alternates for failover).
class SplitGenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto imported = testing::ImportShipped("textgen");
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    graph_ = std::move(imported).value();
    ASSERT_TRUE(SplitIntoSegments(&graph_, 5).ok());
    for (int s = 1; s <= 3; ++s)
      for (int copy = 0; copy < 2; ++copy) {
        NodeServerOptions options;
        options.segments = {s};
        auto node = NodeServer::Start(graph_, options);
        ASSERT_TRUE(node.ok()) << node.status().ToString();
        route_[s].push_back((*node)->address());
        nodes_[{s, copy}] = std::move(node).value();
      }
  }

  std::vector<int> LocalGenerate(const std::vector<int>& prompt, int n) {
    auto session = Session::Create(graph_);
    EXPECT_TRUE(session.ok());
    GenerateOptions options;
    options.max_new_tokens = n;
    auto r = GenerateGreedy(**session, prompt, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->tokens : std::vector<int>{};
  }

  NodeServer& node(int segment, int copy) { return *nodes_[{segment, copy}]; }

  Graph graph_;
  Route route_;
  std::map<std::pair<int, int>, std::unique_ptr<NodeServer>> nodes_;
};

TEST_F(SplitGenerateTest, SessionsAcrossNodesMatchLocalGeneration) {
  const std::string text = "In the beginning God created";
  const std::vector<int> prompt(text.begin(), text.end());
  const std::vector<int> expected = LocalGenerate(prompt, 24);
  auto runner = SplitRunner::Create(graph_, route_);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  GenerateOptions options;
  options.max_new_tokens = 24;
  auto got = (*runner)->Generate(prompt, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->generated.tokens, expected);
  EXPECT_TRUE(got->failovers.empty());
  // Each primary node held one session, advanced once per token.
  for (int s = 1; s <= 3; ++s) {
    const NodeMetrics m = node(s, 0).metrics();
    EXPECT_EQ(m.requests_ok, 24u) << "segment " << s;
    EXPECT_EQ(m.active_sessions, 1) << "segment " << s;
    EXPECT_EQ(node(s, 1).metrics().requests_ok, 0u);
  }
}

TEST_F(SplitGenerateTest, NodeDeathMidGenerationFailsOverWithIdenticalOutput) {
  const std::string text = "And God said";
  const std::vector<int> prompt(text.begin(), text.end());
  const std::vector<int> expected = LocalGenerate(prompt, 20);
  auto runner = SplitRunner::Create(graph_, route_);
  ASSERT_TRUE(runner.ok());
  GenerateOptions options;
  options.max_new_tokens = 20;
  int produced = 0;
  options.on_token = [&](int) {
    if (++produced == 7) node(2, 0).Shutdown(0);  // the middle node dies
  };
  auto got = (*runner)->Generate(prompt, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->generated.tokens, expected);
  ASSERT_EQ(got->failovers.size(), 1u);
  EXPECT_EQ(got->failovers[0].failed_node, route_[2][0]);
  EXPECT_LT(got->failovers[0].recovery_ms, 5000);
  // The spare for segment 2 took over (a replay of the history, then one call per token).
  EXPECT_GE(node(2, 1).metrics().requests_ok, 1u);
  EXPECT_EQ(got->stages[2].served_by, route_[2][1]);
}

TEST_F(SplitGenerateTest, LostSessionIsReplayedOnTheSameRoute) {
  const std::string text = "Let there be";
  const std::vector<int> prompt(text.begin(), text.end());
  const std::vector<int> expected = LocalGenerate(prompt, 12);
  NodeServerOptions options;
  options.segments = {3};
  options.session_ttl_ms = 1;  // every session on this node expires at once
  auto forgetful = NodeServer::Start(graph_, options);
  ASSERT_TRUE(forgetful.ok());
  Route route = route_;
  route[3] = {(*forgetful)->address()};
  auto runner = SplitRunner::Create(graph_, route);
  ASSERT_TRUE(runner.ok());
  GenerateOptions gen;
  gen.max_new_tokens = 12;
  gen.on_token = [](int) { std::this_thread::sleep_for(std::chrono::milliseconds(3)); };
  auto got = (*runner)->Generate(prompt, gen);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->generated.tokens, expected);
  ASSERT_FALSE(got->failovers.empty());
  EXPECT_TRUE(got->failovers[0].failed_node.empty());  // a replay, nobody excluded
  EXPECT_EQ(got->stages[3].served_by, route[3][0]);
}

TEST(SplitRunnerTest, StatelessFailoverToAnAlternate) {
  auto imported = testing::ImportShipped("cnn");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 4).ok());
  std::vector<std::unique_ptr<NodeServer>> nodes;
  Route route;
  for (int s = 1; s <= 2; ++s)
    for (int copy = 0; copy < 2; ++copy) {
      NodeServerOptions options;
      options.segments = {s};
      auto node = NodeServer::Start(graph, options);
      ASSERT_TRUE(node.ok());
      route[s].push_back((*node)->address());
      nodes.push_back(std::move(node).value());
    }
  nodes[0]->Shutdown(0);  // segment 1's primary
  auto runner = SplitRunner::Create(graph, route);
  ASSERT_TRUE(runner.ok());
  const std::vector<Tensor> inputs = RandomInputs(graph, 2, 1, 9);
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  auto expected = (*session)->Run(inputs);
  ASSERT_TRUE(expected.ok());
  auto got = (*runner)->Run(inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->outputs[0] == (*expected)[0]);
  ASSERT_EQ(got->failovers.size(), 1u);
  EXPECT_EQ(got->failovers[0].failed_node, route[1][0]);
  EXPECT_EQ(got->stages[1].served_by, route[1][1]);
  // The dead node stays excluded: the next request goes straight to the alternate.
  auto again = (*runner)->Run(inputs);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->failovers.empty());
}

}  // namespace
}  // namespace veil::net
