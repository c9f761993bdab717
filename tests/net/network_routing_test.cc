// Routing over the registry: PlanRoute ranks and spreads candidates, and a NetworkClient's
// runner follows the registry's watch (a node that leaves drops out of the route with no
// failed request). Runs an embedded registry and in-process nodes over mutual TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "onnx/shipped_models.h"
#include "veil/model_file.h"
#include "veil/net/network.h"
#include "veil/net/node_server.h"
#include "veil/net/publication.h"
#include "veil/registry/embedded_server.h"
#include "veil/segmenter.h"

namespace veil::net {
namespace {

registry::NodeRecord Node(const std::string& address, const Digest& model, int segment,
                          const Digest& segment_digest, double throughput) {
  registry::NodeRecord r;
  r.grpc_address = address;
  r.segments.push_back({model, static_cast<uint32_t>(segment), segment_digest, throughput});
  return r;
}

registry::ModelRecord Model(int segments) {
  registry::ModelRecord m;
  m.name = "m";
  m.model_digest.fill(7);
  for (int s = 0; s < segments; ++s) {
    registry::SegmentManifestEntry e;
    e.index = static_cast<uint32_t>(s);
    e.segment_digest.fill(static_cast<uint8_t>(s + 1));
    m.segments.push_back(e);
  }
  return m;
}

TEST(PlanRouteTest, RanksByExpectedLatencyAndSpreadsStages) {
  const registry::ModelRecord m = Model(4);  // middle segments 1 and 2
  auto seg = [&](int s) { return m.segments[static_cast<size_t>(s)].segment_digest; };
  std::vector<registry::NodeRecord> nodes = {
      Node("a:1", m.model_digest, 1, seg(1), 1000),  // 1 ms per sample
      Node("b:1", m.model_digest, 1, seg(1), 100),   // 10 ms per sample
      Node("c:1", m.model_digest, 2, seg(2), 1000),
  };
  nodes[0].segments.push_back({m.model_digest, 2, seg(2), 1000});  // a also hosts 2
  auto route = PlanRoute(m, nodes, {{"a:1", 0.2}, {"b:1", 0.2}, {"c:1", 0.3}});
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_EQ((*route)[1], (std::vector<std::string>{"a:1", "b:1"}));
  // a is fastest for segment 2 by 0.1 ms, but already runs segment 1: c takes it.
  EXPECT_EQ((*route)[2], (std::vector<std::string>{"c:1", "a:1"}));
  // A node advertising another digest for the segment is not a candidate.
  nodes[2].segments[0].segment_digest.fill(99);
  route = PlanRoute(m, nodes, {});
  ASSERT_TRUE(route.ok());
  EXPECT_EQ((*route)[2], (std::vector<std::string>{"a:1"}));
  // No host at all: Unavailable.
  nodes = {nodes[1]};  // b hosts segment 1 only
  EXPECT_EQ(PlanRoute(m, nodes, {}).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(PlanRoute(Model(2), nodes, {}).ok());
}

TEST(PlanRouteTest, PrefersReputableNodes) {
  const registry::ModelRecord m = Model(3);  // middle segment 1
  auto seg1 = m.segments[1].segment_digest;
  std::vector<registry::NodeRecord> nodes = {Node("a:1", m.model_digest, 1, seg1, 1000),
                                             Node("b:1", m.model_digest, 1, seg1, 1000),
                                             Node("c:1", m.model_digest, 1, seg1, 1000)};
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].node_key.fill(static_cast<uint8_t>(i + 1));
  const std::map<std::string, double> rtt = {{"a:1", 0.2}, {"b:1", 0.3}, {"c:1", 0.4}};
  // Unrated: by latency.
  auto route = PlanRoute(m, nodes, rtt);
  ASSERT_TRUE(route.ok());
  EXPECT_EQ((*route)[1], (std::vector<std::string>{"a:1", "b:1", "c:1"}));
  // a was found faulty (low reputation), c is reputable: c first, a last.
  route = PlanRoute(m, nodes, rtt, {{nodes[0].node_key, 0.05}, {nodes[2].node_key, 0.95}});
  ASSERT_TRUE(route.ok());
  EXPECT_EQ((*route)[1], (std::vector<std::string>{"c:1", "b:1", "a:1"}));
}

TEST(NetworkClientTest, RoutesFollowTheRegistry) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("veil-routing-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto registry_server = registry::EmbeddedRegistryServer::Start();
  ASSERT_TRUE(registry_server.ok());
  const std::string endpoint = (*registry_server)->endpoint();
  auto imported = testing::ImportShipped("mlp");
  ASSERT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&graph, 3).ok());
  auto owner = registry::Identity::LoadOrCreate((dir / "owner").string());
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  auto owner_registry = registry::Registry::Connect(endpoint);
  ASSERT_TRUE(owner_registry.ok());
  auto record = PublishModel(**owner_registry, **owner, graph, (dir / "store").string());
  ASSERT_TRUE(record.ok()) << record.status().ToString();

  // Two nodes hosting segment 1, each with its own identity, ring and registration.
  struct RunningNode {
    std::unique_ptr<registry::Identity> identity;
    std::unique_ptr<registry::Registry> registry;
    std::unique_ptr<KeyRing> ring;
    std::unique_ptr<registry::WatchHandle> watch;
    std::unique_ptr<NodeServer> server;
  };
  std::vector<RunningNode> nodes(2);
  for (int i = 0; i < 2; ++i) {
    RunningNode& n = nodes[static_cast<size_t>(i)];
    auto id = registry::Identity::LoadOrCreate((dir / ("node" + std::to_string(i))).string());
    ASSERT_TRUE(id.ok());
    n.identity = std::move(id).value();
    auto reg = registry::Registry::Connect(endpoint);
    ASSERT_TRUE(reg.ok());
    n.registry = std::move(reg).value();
    n.ring = std::make_unique<KeyRing>();
    KeyRing* ring = n.ring.get();
    const PublicKey self = n.identity->public_key();
    auto watch = n.registry->WatchNodes([ring, self](const std::vector<registry::NodeRecord>& all) {
      auto keys = RegisteredKeys(all);
      keys.insert(self);
      ring->Replace(keys);
    });
    ASSERT_TRUE(watch.ok());
    n.watch = std::move(watch).value();
    auto segment = FetchSegment(*record, 1);
    ASSERT_TRUE(segment.ok()) << segment.status().ToString();
    std::vector<SegmentToHost> hosted;
    hosted.push_back({"mlp", record->model_digest, 3, 1, record->segments[1].segment_digest,
                      std::move(segment).value(), nullptr});
    NodeServerOptions options;
    auto link = IdentityLink(*n.identity, *n.ring);
    ASSERT_TRUE(link.ok());
    options.security = *link;
    auto server = NodeServer::Start(std::move(hosted), options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    n.server = std::move(server).value();
    registry::NodeRecord me;
    me.node_key = self;
    me.grpc_address = n.server->address();
    me.capacity.cores = 1;
    me.capacity.memory_bytes = 1 << 30;
    me.segments.push_back({record->model_digest, 1, record->segments[1].segment_digest,
                           i == 0 ? 1e6 : 1.0});  // node 0 advertises itself as far faster
    ASSERT_TRUE(n.registry->Join(*n.identity, me, 2).ok());
  }

  auto client = NetworkClient::Connect(endpoint, (dir / "client").string(), 2);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto runner = (*client)->Runner(graph, *record);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  Shape shape = {1};
  for (int64_t d : graph.values[static_cast<size_t>(graph.inputs[0])].shape) shape.push_back(d);
  Tensor x(DType::kInt8, shape);
  auto first = (*runner)->Run({x});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->stages[1].served_by, nodes[0].server->address());

  // Node 0 leaves: the watch re-routes before any request fails.
  ASSERT_TRUE(nodes[0].registry->Leave().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto next = (*runner)->NextNodes();
    if (next.ok() && (*next)[0] == nodes[1].server->address()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto second = (*runner)->Run({x});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->stages[1].served_by, nodes[1].server->address());
  EXPECT_TRUE(second->failovers.empty());
  EXPECT_TRUE(second->outputs[0] == first->outputs[0]);
  // A node that is no longer registered is no longer admitted by its former peers: the
  // client's own ring dropped node 0's key.
  for (auto& n : nodes) n.watch->Cancel();
  client->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace veil::net
