// Mutual TLS bound to Ed25519 identities: a registered peer connects, an unregistered one
// (or a server whose key is not the expected one) is refused, and chains work over TLS.
#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <set>

#include "onnx/shipped_models.h"
#include "veil/model_file.h"
#include "veil/net/link_security.h"
#include "veil/net/node_client.h"
#include "veil/net/node_server.h"
#include "veil/net/split_inference.h"
#include "veil/segmenter.h"

namespace veil::net {
namespace {

std::array<uint8_t, 32> RandomSeed() {
  std::array<uint8_t, 32> seed{};
  EXPECT_EQ(RAND_bytes(seed.data(), static_cast<int>(seed.size())), 1);
  return seed;
}

// An identity whose peer check admits exactly `allowed` (shared, so keys can be added).
struct Party {
  explicit Party(std::shared_ptr<std::set<PublicKey>> allowed) {
    auto s = LinkSecurity::MutualTls(
        RandomSeed(), [allowed](const PublicKey& k) { return allowed->count(k) != 0; });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    security = std::move(s).value();
  }
  LinkSecurity security;
};

Graph ThreeSegmentMlp() {
  auto imported = testing::ImportShipped("mlp");
  EXPECT_TRUE(imported.ok());
  Graph graph = std::move(imported).value();
  EXPECT_TRUE(SplitIntoSegments(&graph, 4).ok());
  return graph;
}

TEST(LinkSecurityTest, CertificateCarriesTheKey) {
  auto allowed = std::make_shared<std::set<PublicKey>>();
  Party a(allowed);
  auto key = Ed25519KeyFromCertificate(a.security.certificate_pem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, a.security.public_key);
  EXPECT_FALSE(Ed25519KeyFromCertificate("").ok());
  EXPECT_FALSE(Ed25519KeyFromCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n").ok());
  // A flipped byte inside the base64 body breaks the self-signature or the encoding.
  std::string tampered = a.security.certificate_pem;
  const size_t at = tampered.size() / 2;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Ed25519KeyFromCertificate(tampered).ok());
  EXPECT_FALSE(LinkSecurity::MutualTls(RandomSeed(), nullptr).ok());
}

TEST(LinkSecurityTest, OnlyRegisteredPeersConnect) {
  const Graph graph = ThreeSegmentMlp();
  auto registered = std::make_shared<std::set<PublicKey>>();
  Party node(registered), client(registered), stranger(registered);
  registered->insert(node.security.public_key);
  registered->insert(client.security.public_key);

  NodeServerOptions options;
  options.segments = {1};
  options.security = node.security;
  auto server = NodeServer::Start(graph, options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  NodeClientOptions ok_options;
  ok_options.security = client.security;
  ok_options.deadline_ms = 5000;
  auto ok_client = NodeClient::Connect((*server)->address(), ok_options);
  ASSERT_TRUE(ok_client.ok());
  auto info = (*ok_client)->Info();
  EXPECT_TRUE(info.ok()) << info.status().ToString();

  // Unregistered client key: refused by the node.
  NodeClientOptions bad_options = ok_options;
  bad_options.security = stranger.security;
  auto bad_client = NodeClient::Connect((*server)->address(), bad_options);
  ASSERT_TRUE(bad_client.ok());
  EXPECT_FALSE((*bad_client)->Info(2000).ok());

  // Plaintext client against a TLS node: refused.
  NodeClientOptions plain = ok_options;
  plain.security = LinkSecurity::Insecure();
  auto plain_client = NodeClient::Connect((*server)->address(), plain);
  ASSERT_TRUE(plain_client.ok());
  EXPECT_FALSE((*plain_client)->Info(2000).ok());

  // The client refuses a server whose key it does not expect (pinning).
  auto pinned = LinkSecurity::MutualTls(
      RandomSeed(), [&](const PublicKey& k) { return k == stranger.security.public_key; });
  ASSERT_TRUE(pinned.ok());
  registered->insert(pinned->public_key);
  NodeClientOptions pin_options = ok_options;
  pin_options.security = *pinned;
  auto pin_client = NodeClient::Connect((*server)->address(), pin_options);
  ASSERT_TRUE(pin_client.ok());
  EXPECT_FALSE((*pin_client)->Info(2000).ok());

  // The registered client still works afterwards.
  EXPECT_TRUE((*ok_client)->Info().ok());
}

TEST(LinkSecurityTest, ChainOverMutualTlsIsBitIdentical) {
  const Graph graph = ThreeSegmentMlp();
  auto registered = std::make_shared<std::set<PublicKey>>();
  Party client(registered);
  registered->insert(client.security.public_key);
  std::vector<std::unique_ptr<NodeServer>> nodes;
  Route route;
  for (int s = 1; s <= 2; ++s) {
    Party node(registered);
    registered->insert(node.security.public_key);
    NodeServerOptions options;
    options.segments = {s};
    options.security = node.security;
    auto server = NodeServer::Start(graph, options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    route[s] = {(*server)->address()};
    nodes.push_back(std::move(server).value());
  }
  SplitOptions split;
  split.client.security = client.security;
  auto runner = SplitRunner::Create(graph, route, split);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  Shape shape = {2};
  for (int64_t d : graph.values[static_cast<size_t>(graph.inputs[0])].shape) shape.push_back(d);
  Tensor x(DType::kInt8, shape);
  for (size_t i = 0; i < x.i8().size(); ++i) x.i8()[i] = static_cast<int8_t>(i % 200 - 100);
  auto expected = (*session)->Run({x});
  ASSERT_TRUE(expected.ok());
  auto got = (*runner)->Run({x});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->outputs[0] == (*expected)[0]);
  // Node 2 only accepts registered keys: the chain hop from node 1 used node 1's identity.
  EXPECT_EQ(nodes[1]->metrics().requests_ok, 1u);
  EXPECT_EQ(nodes[0]->metrics().forwards, 1u);
}

}  // namespace
}  // namespace veil::net
