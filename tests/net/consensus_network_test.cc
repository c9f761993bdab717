// Consensus-based verification over real nodes (in-process NodeServers on loopback, mutual
// TLS bound to node identities): committees, commit-reveal, quorum, escalation, dispute
// localisation with a referee, reputation, trial tasks and receipts (issue 4). Faulty
// nodes come from the test-only veil_net_faulty build (src/net/node_faults.h).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "net/node_faults.h"
#include "onnx/shipped_models.h"
#include "veil/consensus/receipt.h"
#include "veil/model_file.h"
#include "veil/net/network.h"
#include "veil/net/node_server.h"
#include "veil/net/verified_inference.h"
#include "veil/segmenter.h"
#include "veil/session.h"

namespace veil::net {
namespace {

namespace fs = std::filesystem;

std::vector<Tensor> RandomInputs(const Graph& g, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<Tensor> out;
  for (int id : g.inputs) {
    Shape shape = {batch};
    for (int64_t d : g.values[static_cast<size_t>(id)].shape) shape.push_back(d);
    Tensor t(DType::kInt8, shape);
    for (auto& x : t.i8()) x = static_cast<int8_t>(dist(rng));
    out.push_back(std::move(t));
  }
  return out;
}

// A small network: nodes hosting the middle segment `segment` of `graph`, a client, one
// key ring admitting all of them.
class Network {
 public:
  Network(const Graph& graph, int segment) : graph_(graph), segment_(segment) {
    dir_ = fs::temp_directory_path() /
           ("veil_consensus_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto client = registry::Identity::LoadOrCreate((dir_ / "client").string());
    EXPECT_TRUE(client.ok());
    client_ = std::move(client).value();
    ring_.Add(client_->public_key());
  }
  ~Network() {
    for (auto& n : nodes_) n.server->Shutdown(0);
    nodes_.clear();
    fs::remove_all(dir_);
  }

  // Adds a node (faults == nullptr: honest). Returns its index.
  int AddNode(std::shared_ptr<NodeFaults> faults = nullptr) {
    const int i = static_cast<int>(nodes_.size());
    auto id = registry::Identity::LoadOrCreate((dir_ / ("node" + std::to_string(i))).string());
    EXPECT_TRUE(id.ok());
    std::shared_ptr<const registry::Identity> identity = std::move(id).value();
    ring_.Add(identity->public_key());
    NodeServerOptions options;
    options.segments = {segment_};
    options.identity = identity;
    options.faults = std::move(faults);
    auto link = IdentityLink(*identity, ring_);
    EXPECT_TRUE(link.ok());
    options.security = *link;
    auto server = NodeServer::Start(graph_, options);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    nodes_.push_back({identity, std::move(server).value()});
    return i;
  }

  std::vector<CandidateNode> Candidates() const {
    std::vector<CandidateNode> out;
    for (const auto& n : nodes_)
      out.push_back({n.identity->public_key(), n.server->address(), {segment_}});
    return out;
  }

  VerifiedOptions Options() const {
    VerifiedOptions options;
    auto link = IdentityLink(*client_, ring_);
    EXPECT_TRUE(link.ok());
    options.client.security = *link;
    options.client.deadline_ms = 20000;
    return options;
  }

  const registry::PublicKey& key(int i) const {
    return nodes_[static_cast<size_t>(i)].identity->public_key();
  }
  NodeServer& server(int i) { return *nodes_[static_cast<size_t>(i)].server; }
  bool IsNode(const registry::PublicKey& k) const {
    for (const auto& n : nodes_)
      if (n.identity->public_key() == k) return true;
    return false;
  }

 private:
  struct Running {
    std::shared_ptr<const registry::Identity> identity;
    std::unique_ptr<NodeServer> server;
  };
  static inline int counter_ = 0;
  Graph graph_;
  int segment_;
  fs::path dir_;
  std::unique_ptr<registry::Identity> client_;
  KeyRing ring_;
  std::vector<Running> nodes_;
};

// The shipped CNN cut as [0,1) [1,11) [11,12): a middle segment of 10 layers, so disputes
// have something to bisect.
const Graph& Cnn() {
  static const Graph graph = [] {
    auto imported = testing::ImportShipped("cnn");
    EXPECT_TRUE(imported.ok()) << imported.status().ToString();
    Graph g = std::move(imported).value();
    const int n = static_cast<int>(g.nodes.size());
    g.segments = {{0, 1}, {1, n - 1}, {n - 1, n}};
    EXPECT_TRUE(ValidateGraph(g).ok());
    return g;
  }();
  return graph;
}

const Graph& Mlp() {
  static const Graph graph = [] {
    auto imported = testing::ImportShipped("mlp");
    EXPECT_TRUE(imported.ok()) << imported.status().ToString();
    Graph g = std::move(imported).value();
    EXPECT_TRUE(SplitIntoSegments(&g, 3).ok());
    return g;
  }();
  return graph;
}

bool SameOutputs(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (TensorDigest(a[i]) != TensorDigest(b[i])) return false;
  return true;
}

bool Blamed(const SegmentVerdict& v, const registry::PublicKey& k) {
  for (const auto& f : v.faults)
    if (f.member == k) return true;
  return false;
}

TEST(ConsensusNetworkTest, HonestRequestsAreAcceptedAndNeverBlameHonestNodes) {
  const Graph& graph = Mlp();
  Network net(graph, 1);
  for (int i = 0; i < 4; ++i) net.AddNode();
  auto book = consensus::ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  auto runner = VerifiedRunner::Create(graph, net.Candidates(), net.Options(), &*book);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  constexpr int kRequests = 1000;
  std::set<registry::PublicKey> served;
  for (int r = 0; r < kRequests; ++r) {
    const auto inputs = RandomInputs(graph, 1, static_cast<uint32_t>(r));
    auto result = (*runner)->Run(inputs);
    ASSERT_TRUE(result.ok()) << "request " << r << ": " << result.status().ToString();
    auto expected = (*session)->Run(inputs);
    ASSERT_TRUE(expected.ok());
    ASSERT_TRUE(SameOutputs(result->outputs, *expected)) << "request " << r;
    ASSERT_EQ(result->segments.size(), 1u);
    const SegmentVerdict& v = result->segments[0];
    ASSERT_TRUE(v.faults.empty()) << "request " << r
                                  << ": honest node blamed: " << v.faults[0].reason;
    ASSERT_EQ(v.committee.size(), 3u);
    ASSERT_EQ(v.rounds, 1);
    for (const auto& k : v.committee) served.insert(k);
    if (r % 250 == 0) {  // the receipt verifies offline against the registered keys
      auto report = consensus::VerifyReceipt(
          result->receipt_bytes, [&](const registry::PublicKey& k) { return net.IsNode(k); });
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      EXPECT_EQ(report->receipt.request_id, result->request_id);
      EXPECT_EQ(report->receipt.model_digest, ModelDigest(graph));
    }
  }
  EXPECT_EQ(served.size(), 4u);  // committees vary over the 4 nodes
  for (int i = 0; i < 4; ++i) {
    const auto* entry = book->Find(net.key(i));
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->standing, consensus::Standing::kActive);
    EXPECT_EQ(entry->faults, 0u);
    EXPECT_GT(entry->reputation, 0.5);  // rewarded from the initial 0.5
  }
}

TEST(ConsensusNetworkTest, ReceiptFailsForUnregisteredKeys) {
  const Graph& graph = Mlp();
  Network net(graph, 1);
  for (int i = 0; i < 3; ++i) net.AddNode();
  auto book = consensus::ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  auto runner = VerifiedRunner::Create(graph, net.Candidates(), net.Options(), &*book);
  ASSERT_TRUE(runner.ok());
  auto result = (*runner)->Run(RandomInputs(graph, 2, 7), "req-receipt-1");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const registry::PublicKey dropped = net.key(1);
  auto report = consensus::VerifyReceipt(result->receipt_bytes, [&](const registry::PublicKey& k) {
    return net.IsNode(k) && k != dropped;
  });
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find(registry::NodeIdOf(dropped)), std::string::npos)
      << report.status().message();
}

struct FaultCase {
  FaultKind kind;
  bool first_request_honest = false;  // kStale answers honestly the first time
};

class FaultDetectionTest : public ::testing::TestWithParam<FaultCase> {};

// r = 3 = 2f + 1 with f = 1 faulty member: every request returns the correct output, the
// faulty member is marked faulty and the honest ones never are.
TEST_P(FaultDetectionTest, FaultyMemberIsCaughtAndOutputIsCorrect) {
  const FaultCase c = GetParam();
  const Graph& graph = Cnn();
  Network net(graph, 1);
  const int honest_a = net.AddNode();
  const int honest_b = net.AddNode();
  auto faults = std::make_shared<NodeFaults>();
  faults->kind = c.kind;
  faults->stall_ms = 2500;
  if (c.kind == FaultKind::kCopy) faults->copy_from = net.server(honest_a).address();
  std::atomic<bool> crashed{false};
  if (c.kind == FaultKind::kCrash) faults->on_crash = [&] { crashed = true; };
  const int faulty = net.AddNode(faults);
  auto book = consensus::ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  VerifiedOptions options = net.Options();
  options.commit_deadline_ms = 1200;
  auto runner = VerifiedRunner::Create(graph, net.Candidates(), options, &*book);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  for (int r = 0; r < 3; ++r) {
    const auto inputs = RandomInputs(graph, 2, 100 + static_cast<uint32_t>(r));
    auto result = (*runner)->Run(inputs);
    ASSERT_TRUE(result.ok()) << FaultKindName(c.kind) << " request " << r << ": "
                             << result.status().ToString();
    auto expected = (*session)->Run(inputs);
    ASSERT_TRUE(expected.ok());
    EXPECT_TRUE(SameOutputs(result->outputs, *expected)) << FaultKindName(c.kind);
    const SegmentVerdict& v = result->segments.at(0);
    EXPECT_FALSE(Blamed(v, net.key(honest_a))) << FaultKindName(c.kind);
    EXPECT_FALSE(Blamed(v, net.key(honest_b))) << FaultKindName(c.kind);
    if (r == 0 && c.first_request_honest) {
      EXPECT_FALSE(Blamed(v, net.key(faulty)));
    } else {
      EXPECT_TRUE(Blamed(v, net.key(faulty))) << FaultKindName(c.kind) << " request " << r;
      if (c.kind == FaultKind::kCopy && Blamed(v, net.key(faulty))) {
        bool named_copier = false;
        for (const auto& f : v.faults)
          if (f.member == net.key(faulty) && f.reason.find("cop") != std::string::npos)
            named_copier = true;
        EXPECT_TRUE(named_copier) << v.faults[0].reason;
      }
      if (c.kind == FaultKind::kEquivocate) {
        bool named = false;
        for (const auto& f : v.faults)
          if (f.member == net.key(faulty) && f.reason.find("equivoc") != std::string::npos)
            named = true;
        EXPECT_TRUE(named);
      }
    }
    auto report = consensus::VerifyReceipt(
        result->receipt_bytes, [&](const registry::PublicKey& k) { return net.IsNode(k); });
    EXPECT_TRUE(report.ok()) << report.status().ToString();
  }
  const auto* entry = book->Find(net.key(faulty));
  ASSERT_NE(entry, nullptr);
  EXPECT_GT(entry->faults, 0u);
  EXPECT_LT(entry->reputation, book->Find(net.key(honest_a))->reputation);
  EXPECT_EQ(book->Find(net.key(honest_a))->faults, 0u);
  EXPECT_EQ(book->Find(net.key(honest_b))->faults, 0u);
  if (c.kind == FaultKind::kCrash) {
    EXPECT_TRUE(crashed);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFaults, FaultDetectionTest,
    ::testing::Values(FaultCase{FaultKind::kFlipBits}, FaultCase{FaultKind::kPerturbWeights},
                      FaultCase{FaultKind::kSkipLayer}, FaultCase{FaultKind::kStale, true},
                      FaultCase{FaultKind::kEquivocate}, FaultCase{FaultKind::kCopy},
                      FaultCase{FaultKind::kStall}, FaultCase{FaultKind::kCrash}),
    [](const ::testing::TestParamInfo<FaultCase>& param) {
      std::string name = FaultKindName(param.param.kind);
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

// Two members that disagree (r = q = 2): the dispute is localised to the altered layer in at
// most ceil(log2 L) + 1 comparisons, the referee recomputes that one layer and blames the
// faulty member; with no honest replacement left, the client gets an error with the evidence.
TEST(ConsensusNetworkTest, DisputeIsLocalisedAndRefereed) {
  const Graph& graph = Cnn();
  for (FaultKind kind : {FaultKind::kPerturbWeights, FaultKind::kSkipLayer}) {
    Network net(graph, 1);
    const int honest = net.AddNode();
    auto faults = std::make_shared<NodeFaults>();
    faults->kind = kind;
    const int faulty = net.AddNode(faults);
    auto book = consensus::ReputationBook::Create();
    ASSERT_TRUE(book.ok());
    VerifiedOptions options = net.Options();
    options.committee_size = 2;
    options.quorum = 2;
    auto runner = VerifiedRunner::Create(graph, net.Candidates(), options, &*book);
    ASSERT_TRUE(runner.ok()) << runner.status().ToString();
    auto result = (*runner)->Run(RandomInputs(graph, 1, 5), "dispute-1");
    ASSERT_FALSE(result.ok());
    const std::string message = result.status().message();
    EXPECT_NE(message.find("no quorum"), std::string::npos) << message;
    EXPECT_NE(message.find("layer " + std::to_string(faults->altered_layer)), std::string::npos)
        << FaultKindName(kind) << ": " << message;
    EXPECT_NE(message.find(registry::NodeIdOf(net.key(faulty)).substr(0, 12) + " wrong"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(registry::NodeIdOf(net.key(honest)).substr(0, 12) + " right"),
              std::string::npos)
        << message;
    EXPECT_EQ(book->Find(net.key(honest))->faults, 0u);
    EXPECT_GT(book->Find(net.key(faulty))->faults, 0u);
  }
}

TEST(ConsensusNetworkTest, EscalationReplacesTheFaultyMember) {
  const Graph& graph = Cnn();
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  Network net(graph, 1);
  net.AddNode();
  auto faults = std::make_shared<NodeFaults>();
  faults->kind = FaultKind::kPerturbWeights;
  const int faulty = net.AddNode(faults);
  net.AddNode();
  auto book = consensus::ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  VerifiedOptions options = net.Options();
  options.committee_size = 2;
  options.quorum = 2;
  auto runner = VerifiedRunner::Create(graph, net.Candidates(), options, &*book);
  ASSERT_TRUE(runner.ok());
  // Whether the VRF puts the faulty node in a first committee is random (2/3 per request
  // while reputations are equal): run until it did, at most 30 times ((1/3)^30 to miss).
  int disputes = 0;
  for (int r = 0; r < 30 && disputes == 0; ++r) {
    const auto inputs = RandomInputs(graph, 1, 40 + static_cast<uint32_t>(r));
    auto result = (*runner)->Run(inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto expected = (*session)->Run(inputs);
    EXPECT_TRUE(SameOutputs(result->outputs, *expected));
    const SegmentVerdict& v = result->segments.at(0);
    if (v.rounds == 2) {
      ++disputes;
      ASSERT_EQ(v.referee_checks.size(), 1u);
      const RefereeCheck& check = v.referee_checks[0];
      EXPECT_EQ(static_cast<int>(check.layer), faults->altered_layer);
      EXPECT_LE(check.comparisons,
                static_cast<size_t>(std::ceil(std::log2(static_cast<double>(check.layers)))) + 1);
      EXPECT_TRUE(Blamed(v, net.key(faulty)));
    }
    for (const auto& k : v.committee) EXPECT_NE(k, net.key(faulty));
  }
  ASSERT_EQ(disputes, 1);
  EXPECT_GT(book->Find(net.key(faulty))->faults, 0u);
}

TEST(ConsensusNetworkTest, AuditModeRechecksAndCatches) {
  const Graph& graph = Cnn();
  Network net(graph, 1);
  net.AddNode();
  auto faults = std::make_shared<NodeFaults>();
  faults->kind = FaultKind::kFlipBits;
  const int faulty = net.AddNode(faults);
  net.AddNode();
  auto book = consensus::ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  VerifiedOptions options = net.Options();
  options.mode = consensus::Mode::kAudit;
  options.audit_per_million = 1000000;  // always re-checked
  auto runner = VerifiedRunner::Create(graph, net.Candidates(), options, &*book);
  ASSERT_TRUE(runner.ok());
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  for (int r = 0; r < 4; ++r) {
    const auto inputs = RandomInputs(graph, 1, 70 + static_cast<uint32_t>(r));
    auto result = (*runner)->Run(inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(SameOutputs(result->outputs, *(*session)->Run(inputs)));
    const SegmentVerdict& v = result->segments.at(0);
    EXPECT_TRUE(v.audited);
    bool faulty_served = false;
    for (const auto& k : v.committee) faulty_served |= k == net.key(faulty);
    EXPECT_FALSE(faulty_served);  // an accepted committee never contains the bit flipper
    auto report = consensus::VerifyReceipt(
        result->receipt_bytes, [&](const registry::PublicKey& k) { return net.IsNode(k); });
    EXPECT_TRUE(report.ok()) << report.status().ToString();
  }
}

}  // namespace
}  // namespace veil::net
