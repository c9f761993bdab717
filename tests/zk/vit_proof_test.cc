// Segment proofs of the shipped vision transformer (models/vit imported and split into 3
// segments, as out/vit.veil): Conv2d, Reshape, Transpose, Add of a committed constant (the
// position embedding), LayerNorm, Linear over tokens, fused Attention, Lookup, Add, ReduceMean.
// Every segment and the chain verify with outputs equal to Session::RunSegment, and tampering
// is rejected. Label slow (it proves the whole model several times).
#include <gtest/gtest.h>

#include <random>

#include "onnx/shipped_models.h"
#include "veil/segmenter.h"
#include "veil/session.h"
#include "veil/zk/segment_proof.h"
#include "zk/segment_test_util.h"

namespace veil::zk {
namespace {

using prooftest::ExpectFlipsAndTruncationsRejected;
using prooftest::ExpectOutputsMatchSession;
using prooftest::ProveAll;
using prooftest::Proved;
using prooftest::RandomI8;
using prooftest::Seed;

const Proved& Shipped() {
  static const Proved* p = [] {
    auto* q = new Proved;
    auto g = testing::ImportShipped("vit");
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    q->graph = std::move(g).value();
    EXPECT_TRUE(SplitIntoSegments(&q->graph, 3).ok());
    std::mt19937_64 rng(9);
    q->input = Tensor::FromInt8({1, 1, 28, 28}, RandomI8(rng, 784));
    ProveAll(q, 5);
    return q;
  }();
  return *p;
}

// The openings of segment s's inputs from the previous segment's outputs.
std::vector<ActivationOpening> InputsOf(const Proved& p, int s) {
  std::vector<ActivationOpening> in;
  for (int v : p.graph.SegmentInputs(p.graph.EffectiveSegments()[static_cast<size_t>(s)]))
    for (const ActivationOpening& a : p.outputs[static_cast<size_t>(s - 1)])
      if (a.value == v) in.push_back(a);
  return in;
}

int FirstNode(const Proved& p, int s, OpKind kind) {
  const Segment seg = p.graph.EffectiveSegments()[static_cast<size_t>(s)];
  for (int n = seg.begin; n < seg.end; ++n)
    if (p.graph.nodes[static_cast<size_t>(n)].kind == kind) return n;
  return -1;
}

Param* FindParam(Graph* g, int n, const char* name) {
  for (Param& x : g->nodes[static_cast<size_t>(n)].params)
    if (x.name == name) return &x;
  return nullptr;
}

TEST(VitProofShipped, EverySegmentAndTheChainVerify) {
  const Proved& p = Shipped();
  const std::vector<Segment> segs = p.graph.EffectiveSegments();
  ASSERT_EQ(segs.size(), 3u);
  ASSERT_EQ(p.proofs.size(), 3u);
  for (int kind : {static_cast<int>(OpKind::kTranspose), static_cast<int>(OpKind::kLayerNorm),
                   static_cast<int>(OpKind::kAttention), static_cast<int>(OpKind::kAdd)}) {
    bool seen = false;
    for (int s = 0; s < 3; ++s) seen |= FirstNode(p, s, static_cast<OpKind>(kind)) >= 0;
    EXPECT_TRUE(seen) << OpKindName(static_cast<OpKind>(kind));
  }
  for (const SegmentProof& proof : p.proofs) {
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, proof).ok());
    auto parsed = ParseSegmentProof(SerializeSegmentProof(proof), p.graph);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, *parsed).ok());
  }
  EXPECT_TRUE(VerifyChain(p.graph, p.commitment, p.proofs).ok());
  ExpectOutputsMatchSession(p);
}

TEST(VitProofShipped, RejectsChangedOutputsOfAttentionLayerNormAndAdd) {
  const Proved& p = Shipped();
  int changed = 0;
  for (const SegmentProof& proof : p.proofs) {
    for (size_t i = 0; i < proof.layers.size(); ++i) {
      const OpKind kind = p.graph.nodes[proof.layers[i].node].kind;
      if (kind != OpKind::kAttention && kind != OpKind::kLayerNorm && kind != OpKind::kAdd &&
          kind != OpKind::kTranspose)
        continue;
      SegmentProof q = proof;
      const HyraxCommitment before = q.layers[i].output;
      q.layers[i].output.rows[0] = q.layers[i].output.rows[0] + Point::Generator();
      for (HyraxCommitment& o : q.outputs)
        if (o == before) o = q.layers[i].output;
      EXPECT_FALSE(VerifySegment(p.graph, p.commitment, q).ok())
          << "node " << q.layers[i].node << " " << OpKindName(kind);
      ++changed;
    }
  }
  EXPECT_GE(changed, 8);
}

TEST(VitProofShipped, RejectsAChangedLinearWeightConstantOrGamma) {
  const Proved& p = Shipped();
  // A Linear weight changed by 1 (first Linear over tokens of segment 1).
  {
    const int n = FirstNode(p, 1, OpKind::kLinear);
    ASSERT_GE(n, 0);
    Graph g = p.graph;
    Param* w = FindParam(&g, n, "weight");
    w->tensor.i8()[5] = static_cast<int8_t>(w->tensor.i8()[5] == 127 ? 126 : w->tensor.i8()[5] + 1);
    auto out = ProveSegment(g, p.commitment, Seed(5), 1, InputsOf(p, 1));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out->proof).ok());
  }
  // The Add's committed constant (position embedding) changed by 1 (segment 0).
  {
    const int n = FirstNode(p, 0, OpKind::kAdd);
    ASSERT_GE(n, 0);
    Graph g = p.graph;
    Param* c = FindParam(&g, n, "constant");
    ASSERT_NE(c, nullptr);
    c->tensor.i8()[7] = static_cast<int8_t>(c->tensor.i8()[7] == 127 ? 126 : c->tensor.i8()[7] + 1);
    const CommitmentKey key = SegmentProofKey(p.graph, p.commitment);
    auto out = ProveSegment(g, p.commitment, Seed(5), 0, *CommitActivation(key, p.input));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Status s = VerifySegment(p.graph, p.commitment, out->proof);
    EXPECT_FALSE(s.ok());
  }
  // A LayerNorm gamma changed (public: the verifier's graph no longer matches the commitment,
  // and a proof made with it does not verify under the real graph).
  {
    const int n = FirstNode(p, 1, OpKind::kLayerNorm);
    ASSERT_GE(n, 0);
    Graph g = p.graph;
    FindParam(&g, n, "gamma")->tensor.i32()[3] += 1;
    EXPECT_FALSE(VerifySegment(g, p.commitment, p.proofs[1]).ok());
    auto out = ProveSegment(g, p.commitment, Seed(5), 1, InputsOf(p, 1));
    if (out.ok()) {
      EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out->proof).ok());
    }
  }
}

TEST(VitProofShipped, RejectsBytesOtherSegmentsAndOtherCommitments) {
  const Proved& p = Shipped();
  SegmentProof q = p.proofs[1];
  q.segment = 2;
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, q).ok());
  // Segment 1's bytes parsed against segment 2's nodes.
  std::vector<uint8_t> bytes = SerializeSegmentProof(p.proofs[1]);
  auto parsed = ParseSegmentProof(bytes, p.graph);
  ASSERT_TRUE(parsed.ok());
  parsed->segment = 2;
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, *parsed).ok());
  const std::vector<SegmentProof> repeated{p.proofs[0], p.proofs[1], p.proofs[1]};
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, repeated).ok());
  const std::vector<SegmentProof> swapped{p.proofs[0], p.proofs[2], p.proofs[1]};
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, swapped).ok());
  std::vector<SegmentProof> chain = p.proofs;
  chain[1].inputs[0].rows[0] = chain[1].inputs[0].rows[0] + Point::Generator();
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, chain).ok());
  const ModelCommitment other = *CommitModel(p.graph, Seed(6));
  EXPECT_FALSE(VerifySegment(p.graph, other, p.proofs[0]).ok());
  ExpectFlipsAndTruncationsRejected(p.graph, p.commitment, p.proofs[1], 16);
}

}  // namespace
}  // namespace veil::zk
