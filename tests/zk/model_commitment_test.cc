#include "veil/zk/model_commitment.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "graph/test_models.h"
#include "veil/model_file.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

CommitmentSeed Seed(uint8_t tag) {
  CommitmentSeed s{};
  s[0] = tag;
  s[31] = 0x5a;
  return s;
}

struct Fixture {
  Graph graph = gt::MakeImageModel(7);
  ModelCommitment commitment;
  Fixture() {
    ThreadPool pool(2);
    commitment = *CommitModel(graph, Seed(1), &pool);
  }
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

Param* FindWeight(Graph* g, int* node_index) {
  for (size_t n = 0; n < g->nodes.size(); ++n)
    for (Param& p : g->nodes[n].params)
      if (p.name == "weight") {
        *node_index = static_cast<int>(n);
        return &p;
      }
  return nullptr;
}

TEST(ModelCommitment, CoversEveryCommittedParamInCanonicalOrder) {
  const Fixture& f = F();
  ASSERT_EQ(f.commitment.segments.size(), f.graph.EffectiveSegments().size());
  ASSERT_GE(f.commitment.segments.size(), 2u);
  EXPECT_TRUE(CheckCommitmentMatchesGraph(f.commitment, f.graph).ok());
  size_t committed = 0, public_params = 0;
  for (const Node& n : f.graph.nodes)
    for (const Param& p : n.params) (IsCommittedParam(n, p) ? committed : public_params)++;
  size_t listed = 0;
  for (const auto& s : f.commitment.segments) listed += s.tensors.size();
  EXPECT_EQ(listed, committed);
  EXPECT_GT(public_params, 0u);
  // Each row commitment is the Pedersen commitment of that row with its derived blind.
  const CommitmentKey key = ModelCommitmentKey(f.commitment);
  for (const SegmentCommitment& s : f.commitment.segments) {
    for (const CommittedTensor& t : s.tensors) {
      const Tensor* tensor = f.graph.nodes[t.node].FindParam(t.param);
      ASSERT_NE(tensor, nullptr);
      const auto [rows, cols] = MatrixShape(t.shape);
      const std::vector<Scalar> blinds =
          TensorBlinds(Seed(1), static_cast<int>(s.index), static_cast<int>(t.node), t.param, rows);
      const HyraxCommitment expected =
          tensor->dtype() == DType::kInt8
              ? *HyraxCommitInt8(key, tensor->i8(), rows, cols, blinds)
              : *HyraxCommitInt32(key, tensor->i32(), rows, cols, blinds);
      EXPECT_EQ(expected, t.commitment) << t.param << " of node " << t.node;
    }
  }
}

TEST(ModelCommitment, HidingBindingAndDeterminism) {
  const Fixture& f = F();
  // Same seed: the same commitment (the owner can recompute it).
  EXPECT_EQ(CommitModel(f.graph, Seed(1))->digest, f.commitment.digest);
  // Another seed: every row commitment changes (blinds are fresh), the weights do not.
  const ModelCommitment other = *CommitModel(f.graph, Seed(2));
  EXPECT_NE(other.digest, f.commitment.digest);
  EXPECT_NE(other.segments[0].tensors[0].commitment.rows[0],
            f.commitment.segments[0].tensors[0].commitment.rows[0]);
  EXPECT_EQ(other.segments[0].public_digest, f.commitment.segments[0].public_digest);
  // One weight changed by 1: the public digest is unchanged (weights are hidden), the
  // commitment and the model commitment digest change.
  Graph changed = f.graph;
  int node = -1;
  Param* w = FindWeight(&changed, &node);
  ASSERT_NE(w, nullptr);
  w->tensor.i8()[0] = static_cast<int8_t>(w->tensor.i8()[0] == 127 ? 126 : w->tensor.i8()[0] + 1);
  const ModelCommitment changed_commitment = *CommitModel(changed, Seed(1));
  EXPECT_NE(changed_commitment.digest, f.commitment.digest);
  EXPECT_TRUE(CheckCommitmentMatchesGraph(f.commitment, changed).ok());
  // A changed public parameter (a requantization multiplier) does not match.
  Graph requant = f.graph;
  for (Param& p : requant.nodes[static_cast<size_t>(node)].params)
    if (p.name == "multiplier") p.tensor.i32()[0] += 1;
  EXPECT_FALSE(CheckCommitmentMatchesGraph(f.commitment, requant).ok());
}

TEST(ModelCommitment, FileRoundTripAndStrictDecoding) {
  const Fixture& f = F();
  const std::vector<uint8_t> bytes = SerializeModelCommitment(f.commitment);
  const auto back = ParseModelCommitment(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->digest, f.commitment.digest);
  EXPECT_EQ(SerializeModelCommitment(*back), bytes);
  // Truncations at many positions, trailing bytes and flipped bytes are all rejected.
  for (size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 300) {
    EXPECT_FALSE(ParseModelCommitment(std::span(bytes).first(cut)).ok()) << cut;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(ParseModelCommitment(longer).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 300) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x01;
    EXPECT_FALSE(ParseModelCommitment(flipped).ok()) << pos;
  }
}

TEST(ModelCommitment, PublicDescriptionCarriesEverythingButTheWeights) {
  const Fixture& f = F();
  const auto pub = PublicModel(f.commitment);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  ASSERT_EQ(pub->nodes.size(), f.graph.nodes.size());
  EXPECT_NE(pub->FindMetadata("veil.zk.public_description"), nullptr);
  EXPECT_TRUE(CheckCommitmentMatchesGraph(f.commitment, *pub).ok());
  for (size_t n = 0; n < f.graph.nodes.size(); ++n) {
    const Node& real = f.graph.nodes[n];
    const Node& desc = pub->nodes[n];
    EXPECT_EQ(desc.kind, real.kind);
    EXPECT_EQ(desc.inputs, real.inputs);
    EXPECT_EQ(desc.outputs, real.outputs);
    ASSERT_EQ(desc.params.size(), real.params.size());
    for (size_t k = 0; k < real.params.size(); ++k) {
      const Tensor& a = real.params[k].tensor;
      const Tensor& b = desc.params[k].tensor;
      ASSERT_EQ(a.shape(), b.shape()) << real.params[k].name;
      const std::span<const uint8_t> bb{b.raw(), b.byte_size()};
      if (IsCommittedParam(real, real.params[k])) {
        EXPECT_TRUE(std::all_of(bb.begin(), bb.end(), [](uint8_t x) { return x == 0; }));
      } else {
        EXPECT_TRUE(std::equal(bb.begin(), bb.end(), a.raw())) << real.params[k].name;
      }
    }
  }
  // The file does not contain the weights: no 16-byte run of any weight row appears in it.
  const std::vector<uint8_t> file = SerializeModelCommitment(f.commitment);
  for (const Node& n : f.graph.nodes) {
    const Tensor* w = n.FindParam("weight");
    if (w == nullptr || w->size() < 16) continue;
    const uint8_t* run = w->raw();
    EXPECT_EQ(std::search(file.begin(), file.end(), run, run + 16), file.end()) << n.name;
  }
}

TEST(ModelCommitment, DescriptionIsBoundAndChecked) {
  const Fixture& f = F();
  // A description with another public parameter: the digest no longer matches.
  Graph requant = f.graph;
  for (Node& n : requant.nodes)
    for (Param& p : n.params)
      if (p.name == "multiplier") p.tensor.i32()[0] += 1;
  ModelCommitment swapped = f.commitment;
  swapped.description = *DescribePublicModel(requant);
  EXPECT_EQ(ParseModelCommitment(SerializeModelCommitment(swapped)).status().code(),
            StatusCode::kCorrupt);
  // Even with the digest recomputed (a forger's own commitment), a description whose public
  // parameters differ from the segments' public digests is refused.
  swapped.digest = ComputeModelCommitmentDigest(swapped.segments, swapped.description);
  const auto parsed = ParseModelCommitment(SerializeModelCommitment(swapped));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("public description"), std::string::npos)
      << parsed.status().ToString();
  // A description that ships a committed param's real values is refused.
  ModelCommitment leaky = f.commitment;
  leaky.description = *SerializeModel(f.graph);
  leaky.digest = ComputeModelCommitmentDigest(leaky.segments, leaky.description);
  EXPECT_NE(PublicModel(leaky).status().message().find("placeholder"), std::string::npos);
  // Garbage and an empty description are refused with kCorrupt.
  ModelCommitment empty = f.commitment;
  empty.description.clear();
  EXPECT_EQ(PublicModel(empty).status().code(), StatusCode::kCorrupt);
}

TEST(ModelCommitment, SecretFile) {
  const Fixture& f = F();
  const std::vector<uint8_t> secret = SerializeCommitmentSecret(Seed(1), f.commitment.digest);
  const auto seed = ParseCommitmentSecret(secret, f.commitment.digest);
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(*seed, Seed(1));
  Digest other = f.commitment.digest;
  other[5] ^= 1;
  EXPECT_EQ(ParseCommitmentSecret(secret, other).status().code(), StatusCode::kInvalidArgument);
  for (size_t cut = 0; cut < secret.size(); ++cut)
    EXPECT_FALSE(ParseCommitmentSecret(std::span(secret).first(cut), f.commitment.digest).ok());
}

}  // namespace
}  // namespace veil::zk
