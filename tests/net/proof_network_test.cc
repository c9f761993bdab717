// Proofs in the network (issue 5 item 4, docs/zk.md "In the network"): in-process nodes on
// loopback prove their segments on request (ProveSegment); the client verifies every proof
// before the next hop; proof receipts; publication of the model commitment in the registry.
// Faulty provers come from the test-only veil_net_faulty build (src/net/node_faults.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "net/node_faults.h"
#include "onnx/shipped_models.h"
#include "veil/consensus/receipt.h"
#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/net/proof_inference.h"
#include "veil/registry/embedded_server.h"
#include "veil/registry/registry.h"
#include "veil/segmenter.h"
#include "veil/session.h"
#include "veil/zk/segment_proof.h"

namespace veil::net {
namespace {

// The shipped MLP in 4 segments: [Reshape] [Linear] [Linear] [Linear]; both middle ones
// are provable.
const Graph& Mlp() {
  static const Graph graph = [] {
    auto imported = testing::ImportShipped("mlp");
    EXPECT_TRUE(imported.ok()) << imported.status().ToString();
    Graph g = std::move(imported).value();
    EXPECT_TRUE(SplitIntoSegments(&g, 4).ok());
    return g;
  }();
  return graph;
}

std::shared_ptr<const SegmentProving> Proving(const Graph& g, uint8_t seed_byte) {
  auto p = std::make_shared<SegmentProving>();
  p->seed.fill(seed_byte);
  auto c = zk::CommitModel(g, p->seed);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  p->commitment = std::move(c).value();
  return p;
}

std::vector<Tensor> Inputs(const Graph& g, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-127, 127);
  Shape shape = {batch};
  for (int64_t d : g.values[static_cast<size_t>(g.inputs[0])].shape) shape.push_back(d);
  Tensor t(DType::kInt8, shape);
  for (auto& x : t.i8()) x = static_cast<int8_t>(dist(rng));
  return {t};
}

std::unique_ptr<NodeServer> StartNode(const Graph& g, int segment,
                                      std::shared_ptr<const SegmentProving> proving,
                                      std::shared_ptr<NodeFaults> faults = nullptr) {
  NodeServerOptions options;
  options.segments = {segment};
  options.proving = std::move(proving);
  options.faults = std::move(faults);
  auto server = NodeServer::Start(g, options);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

class ProofNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    proving_ = Proving(Mlp(), 7);
    node1_ = StartNode(Mlp(), 1, proving_);
    node2_ = StartNode(Mlp(), 2, proving_);
    ASSERT_TRUE(node1_ && node2_);
  }
  Route DefaultRoute() const { return {{1, {node1_->address()}}, {2, {node2_->address()}}}; }
  std::shared_ptr<const SegmentProving> proving_;
  std::unique_ptr<NodeServer> node1_, node2_;
};

TEST_F(ProofNetworkTest, ProvenOutputEqualsSessionAndTheReceiptVerifies) {
  auto runner = ProofRunner::Create(Mlp(), proving_->commitment, DefaultRoute());
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto session = Session::Create(Mlp());
  ASSERT_TRUE(session.ok());
  for (int64_t batch : {1, 3}) {
    const auto inputs = Inputs(Mlp(), batch, static_cast<uint32_t>(batch));
    auto result = (*runner)->Run(inputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto want = (*session)->Run(inputs);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(TensorDigest(result->outputs[0]), TensorDigest((*want)[0]));
    ASSERT_EQ(result->stages.size(), 2u);
    EXPECT_EQ(result->stages[0].served_by, node1_->address());
    auto report =
        VerifyProofReceipt(result->receipt_bytes, proving_->commitment, ModelDigest(Mlp()));
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->receipt.is_proof());
    // A proof receipt is not a consensus receipt.
    auto consensus_check = consensus::VerifyReceipt(
        result->receipt_bytes, [](const registry::PublicKey&) { return true; });
    EXPECT_FALSE(consensus_check.ok());
  }
}

TEST_F(ProofNetworkTest, TamperedReceiptsAreRejected) {
  auto runner = ProofRunner::Create(Mlp(), proving_->commitment, DefaultRoute());
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto result = (*runner)->Run(Inputs(Mlp(), 1, 42));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const std::string good = result->receipt_bytes;
  const Digest model = ModelDigest(Mlp());
  // Byte flips across the whole receipt.
  int rejected = 0, tried = 0;
  for (size_t pos = 0; pos < good.size(); pos += std::max<size_t>(1, good.size() / 97)) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    ++tried;
    rejected += !VerifyProofReceipt(bad, proving_->commitment, model).ok();
  }
  EXPECT_EQ(rejected, tried);
  // Truncations.
  for (size_t len : {size_t{0}, size_t{10}, good.size() / 3, good.size() - 1})
    EXPECT_FALSE(VerifyProofReceipt(good.substr(0, len), proving_->commitment, model).ok()) << len;
  auto decoded = consensus::DecodeReceipt(good);
  ASSERT_TRUE(decoded.ok());
  // Swapped proofs (segment 2's proof first), one proof dropped, a proof duplicated.
  {
    consensus::Receipt r = *decoded;
    std::swap(r.proofs->segment_proofs[0], r.proofs->segment_proofs[1]);
    auto bytes = consensus::EncodeReceipt(r);
    ASSERT_TRUE(bytes.ok());
    auto v = VerifyProofReceipt(*bytes, proving_->commitment, model);
    EXPECT_FALSE(v.ok());
    r = *decoded;
    r.proofs->segment_proofs[1] = r.proofs->segment_proofs[0];
    bytes = consensus::EncodeReceipt(r);
    ASSERT_TRUE(bytes.ok());
    EXPECT_FALSE(VerifyProofReceipt(*bytes, proving_->commitment, model).ok());
    r = *decoded;
    r.proofs->first_segment = 2;
    r.proofs->segment_proofs.erase(r.proofs->segment_proofs.begin());
    bytes = consensus::EncodeReceipt(r);
    ASSERT_TRUE(bytes.ok());
    v = VerifyProofReceipt(*bytes, proving_->commitment, model);
    EXPECT_FALSE(v.ok()) << "the input commitment is segment 1's";
    r = *decoded;
    std::swap(r.proofs->input_commitments, r.proofs->output_commitments);
    bytes = consensus::EncodeReceipt(r);
    ASSERT_TRUE(bytes.ok());
    EXPECT_FALSE(VerifyProofReceipt(*bytes, proving_->commitment, model).ok());
  }
  // Another commitment to the same weights (other seed), another model digest.
  auto other = Proving(Mlp(), 9);
  auto v = VerifyProofReceipt(good, other->commitment, model);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("model commitment"), std::string::npos)
      << v.status().message();
  Digest wrong = model;
  wrong[0] ^= 1;
  EXPECT_FALSE(VerifyProofReceipt(good, proving_->commitment, wrong).ok());
  // A replayed receipt verifies as what it is (it names its request id; replay is the
  // verifier's concern): same bytes, same report.
  EXPECT_TRUE(VerifyProofReceipt(good, proving_->commitment, model).ok());
}

TEST_F(ProofNetworkTest, ABadProofFailsTheRequestNamingTheSegment) {
  for (FaultKind kind : {FaultKind::kPerturbWeights, FaultKind::kFlipBits}) {
    auto faults = std::make_shared<NodeFaults>();
    faults->kind = kind;
    auto liar = StartNode(Mlp(), 2, proving_, faults);
    ASSERT_TRUE(liar);
    // The liar first: the client must not fall back to the honest alternate either.
    Route route = {{1, {node1_->address()}}, {2, {liar->address(), node2_->address()}}};
    auto runner = ProofRunner::Create(Mlp(), proving_->commitment, route);
    ASSERT_TRUE(runner.ok());
    auto result = (*runner)->Run(Inputs(Mlp(), 2, 5));
    ASSERT_FALSE(result.ok()) << FaultKindName(kind);
    EXPECT_NE(result.status().message().find("segment 2"), std::string::npos)
        << result.status().message();
    EXPECT_NE(result.status().message().find(liar->address()), std::string::npos)
        << result.status().message();
  }
}

TEST_F(ProofNetworkTest, NodesWithoutProvingMaterialAreSkippedAndNamed) {
  auto plain = StartNode(Mlp(), 1, nullptr);
  ASSERT_TRUE(plain);
  Route route = {{1, {plain->address(), node1_->address()}}, {2, {node2_->address()}}};
  auto runner = ProofRunner::Create(Mlp(), proving_->commitment, route);
  ASSERT_TRUE(runner.ok());
  auto result = (*runner)->Run(Inputs(Mlp(), 1, 3));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->stages[0].served_by, node1_->address());
  route = {{1, {plain->address()}}, {2, {node2_->address()}}};
  runner = ProofRunner::Create(Mlp(), proving_->commitment, route);
  ASSERT_TRUE(runner.ok());
  result = (*runner)->Run(Inputs(Mlp(), 1, 3));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("segment 1"), std::string::npos);
  EXPECT_NE(result.status().message().find("does not prove"), std::string::npos)
      << result.status().message();
}

TEST_F(ProofNetworkTest, MalformedProveRequestsAreRefused) {
  auto client = NodeClient::Connect(node1_->address());
  ASSERT_TRUE(client.ok());
  const zk::CommitmentKey key = zk::SegmentProofKey(Mlp(), proving_->commitment);
  // A good opening of segment 1's input ([B, 784]).
  Tensor x(DType::kInt8, {1, 784});
  for (size_t i = 0; i < x.i8().size(); ++i) x.i8()[i] = static_cast<int8_t>(i % 200 - 100);
  auto opening = zk::CommitActivation(key, x);
  ASSERT_TRUE(opening.ok());
  ProveCall good;
  good.request_id = "r1";
  good.model_digest = ModelDigest(Mlp());
  good.segment_index = 1;
  good.segment_digest = SegmentDigest(Mlp(), 1);
  good.model_commitment = proving_->commitment.digest;
  good.input_opening = zk::SerializeActivationOpening(*opening);
  ASSERT_TRUE((*client)->Prove(good).ok());

  auto expect = [&](ProveCall call, StatusCode code, const std::string& words) {
    auto r = (*client)->Prove(call);
    ASSERT_FALSE(r.ok()) << words;
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().message();
  };
  ProveCall c = good;
  c.model_commitment[0] ^= 1;
  expect(c, StatusCode::kFailedPrecondition, "model commitment");
  c = good;
  c.segment_index = 2;
  expect(c, StatusCode::kNotFound, "not hosted");
  c = good;
  c.segment_digest[3] ^= 1;
  expect(c, StatusCode::kInvalidArgument, "segment_digest");
  c = good;
  c.input_opening.clear();
  expect(c, StatusCode::kInvalidArgument, "empty");
  // An opening whose values were changed no longer opens its commitment.
  c = good;
  c.input_opening[40] ^= 1;
  expect(c, StatusCode::kInvalidArgument, "input_opening");
  // Truncated and oversized openings.
  c = good;
  c.input_opening.resize(c.input_opening.size() / 2);
  expect(c, StatusCode::kInvalidArgument, "input_opening");
  c = good;
  c.input_opening.resize(8 << 20, 0);
  expect(c, StatusCode::kInvalidArgument, "limit");
  // A valid opening of the wrong shape.
  auto small = zk::CommitActivation(key, Tensor(DType::kInt8, {1, 10}));
  ASSERT_TRUE(small.ok());
  c = good;
  c.input_opening = zk::SerializeActivationOpening(*small);
  expect(c, StatusCode::kInvalidArgument, "shape");
  // A batch over the limit.
  auto big = zk::CommitActivation(key, Tensor(DType::kInt8, {kMaxProofBatch + 1, 784}));
  ASSERT_TRUE(big.ok());
  c = good;
  c.input_opening = zk::SerializeActivationOpening(*big);
  expect(c, StatusCode::kInvalidArgument, "input_opening");
  // Random garbage never crashes the node.
  std::mt19937 rng(1);
  for (int i = 0; i < 200; ++i) {
    c = good;
    c.input_opening.resize(1 + rng() % 2000);
    for (auto& b : c.input_opening) b = static_cast<uint8_t>(rng());
    EXPECT_FALSE((*client)->Prove(c).ok());
  }
  EXPECT_TRUE((*client)->Prove(good).ok()) << "the node still serves";
}

TEST_F(ProofNetworkTest, ACommitmentForAnotherSegmentationIsRefusedAtStart) {
  // The same weights committed under another segmentation: segment 2 of that commitment
  // (nodes 2..3) is not the hosted segment 2 (node 2), so the node refuses to start with it.
  Graph other = Mlp();
  ASSERT_TRUE(SplitIntoSegments(&other, 3).ok());
  ASSERT_EQ(other.EffectiveSegments()[2].end - other.EffectiveSegments()[2].begin, 2);
  NodeServerOptions options;
  options.segments = {2};
  options.proving = Proving(other, 3);
  auto server = NodeServer::Start(Mlp(), options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("commitment"), std::string::npos)
      << server.status().message();
}

TEST_F(ProofNetworkTest, UnprovableMiddleSegmentsAreRefusedNamingTheOp) {
  auto imported = testing::ImportShipped("vit");
  ASSERT_TRUE(imported.ok());
  Graph vit = std::move(imported).value();
  ASSERT_TRUE(SplitIntoSegments(&vit, 3).ok());
  // The shipped ViT is provable; make its middle segment's first LayerNorm an RmsNorm (not
  // provable yet: the same params with beta 0).
  const Segment middle = vit.EffectiveSegments()[1];
  for (int n = middle.begin; n < middle.end; ++n) {
    Node& node = vit.nodes[static_cast<size_t>(n)];
    if (node.kind != OpKind::kLayerNorm) continue;
    node.kind = OpKind::kRmsNorm;
    for (Param& p : node.params)
      if (p.name == "beta")
        p.tensor = Tensor::FromInt64(p.tensor.shape(),
                                     std::vector<int64_t>(static_cast<size_t>(p.tensor.size()), 0));
    break;
  }
  zk::CommitmentSeed seed{};
  auto commitment = zk::CommitModel(vit, seed);
  ASSERT_TRUE(commitment.ok()) << commitment.status().ToString();
  auto runner = ProofRunner::Create(vit, *commitment, {{1, {"127.0.0.1:1"}}});
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.status().message().find("segment 1"), std::string::npos)
      << runner.status().message();
  EXPECT_NE(runner.status().message().find("'"), std::string::npos) << "names the node";
  EXPECT_NE(runner.status().message().find("RmsNorm"), std::string::npos)
      << runner.status().message();
}

TEST(ProofPublicationTest, CommitmentRecordsAreSignedByTheOwnerAndStrict) {
  auto server = registry::EmbeddedRegistryServer::Start();
  ASSERT_TRUE(server.ok());
  auto reg = registry::Registry::Connect((*server)->endpoint());
  ASSERT_TRUE(reg.ok());
  const std::string dir = ::testing::TempDir() + "/veil_proof_pub_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto owner = registry::Identity::LoadOrCreate(dir + "/owner");
  auto mallory = registry::Identity::LoadOrCreate(dir + "/mallory");
  ASSERT_TRUE(owner.ok() && mallory.ok());
  registry::ModelRecord record;
  record.name = "mlp";
  record.model_digest = ModelDigest(Mlp());
  record.owner_key = (*owner)->public_key();
  for (uint32_t i = 0; i < 4; ++i)
    record.segments.push_back({i, SegmentDigest(Mlp(), static_cast<int>(i)), 1, "file:///x"});
  auto proving = Proving(Mlp(), 1);
  EXPECT_FALSE((*reg)->GetModel("mlp").ok());
  EXPECT_EQ(FetchModelCommitment(**reg, record).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(PublishModelCommitment(**reg, **owner, record, proving->commitment).ok());
  EXPECT_FALSE(PublishModelCommitment(**reg, **mallory, record, proving->commitment).ok());
  std::string signed_record;
  auto fetched = FetchModelCommitment(**reg, record, &signed_record);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(fetched->digest, proving->commitment.digest);
  EXPECT_TRUE(OpenModelCommitment(signed_record, record).ok());
  // Another model digest, another name, another owner key: refused.
  registry::ModelRecord other = record;
  other.model_digest[0] ^= 1;
  EXPECT_FALSE(OpenModelCommitment(signed_record, other).ok());
  other = record;
  other.owner_key = (*mallory)->public_key();
  EXPECT_FALSE(OpenModelCommitment(signed_record, other).ok());
  // A record mallory signs under its own key is not the owner's.
  auto forged = registry::SignStateRecord(
      **mallory, EncodePublishedCommitment({"mlp", record.model_digest,
                                            zk::SerializeModelCommitment(proving->commitment)}));
  ASSERT_TRUE(forged.ok());
  EXPECT_FALSE(OpenModelCommitment(*forged, record).ok());
  // Strict payload decoding: every truncation and a trailing byte.
  const std::string payload = EncodePublishedCommitment(
      {"mlp", record.model_digest, zk::SerializeModelCommitment(proving->commitment)});
  ASSERT_TRUE(DecodePublishedCommitment(payload).ok());
  for (size_t len = 0; len < payload.size(); len += 1 + len / 3)
    EXPECT_FALSE(DecodePublishedCommitment(payload.substr(0, len)).ok()) << len;
  EXPECT_FALSE(DecodePublishedCommitment(payload + "x").ok());
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace veil::net
