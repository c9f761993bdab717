// Segment proofs of the ViT ops: a small random transformer block with every ViT handler
// (Transpose, Add of a committed constant, LayerNorm, Linear over 3 tokens, causal 2-head
// Attention, Softmax, MatMul; fast), and the shipped vision transformer (models/vit imported
// and split into 3 segments, as out/vit.veil: Conv2d, Reshape, Transpose, Add of the position
// embedding, LayerNorm, Linear over tokens, Attention, Lookup, Add, ReduceMean; built as a
// separate binary with VEIL_ZK_SHIPPED_VIT, label slow). Every segment and the chain verify
// with outputs equal to Session::RunSegment, and tampering is rejected.
#include <gtest/gtest.h>

#include <random>

#ifdef VEIL_ZK_SHIPPED_VIT
#include "onnx/shipped_models.h"
#endif
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

#ifndef VEIL_ZK_SHIPPED_VIT

std::vector<int32_t> ExpTable() {
  std::vector<int32_t> t(256);
  for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = 65536 >> (i / 8);
  return t;
}

// x [4,3] -> Transpose [3,4] -> Add constant [4] (broadcast over the 3 rows) -> LayerNorm |
// Linear 4->4 over the 3 tokens -> Attention(q, q, q) (2 heads, causal) -> Softmax [3,4] ->
// MatMul(softmax, linear) with transpose_b [3,3]. Two segments; segment 1 has internal
// fan-out (the Linear feeds Attention three times and MatMul).
Graph SmallBlock(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Graph g;
  auto value = [&](Shape s) {
    return g.AddValue({"v" + std::to_string(g.values.size()), DType::kInt8, s, 1.0});
  };
  auto node = [&](OpKind kind, const char* name, std::vector<int> in, Shape out) {
    Node n;
    n.kind = kind;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {value(out)};
    g.nodes.push_back(n);
    return &g.nodes.back();
  };
  auto scalar = [](int32_t v) { return Tensor::FromInt32({1}, {v}); };
  g.inputs = {value({4, 3})};
  Node* t = node(OpKind::kTranspose, "transpose", {g.inputs[0]}, {3, 4});
  t->SetAttr("perm", {1, 0});
  Node* a = node(OpKind::kAdd, "pos", {t->outputs[0]}, {3, 4});
  a->SetParam("constant", Tensor::FromInt8({4}, RandomI8(rng, 4)));
  a->SetParam("multiplier_a", scalar(1 << 30));
  a->SetParam("multiplier_b", scalar(1 << 29));
  a->SetParam("shift", scalar(31));
  Node* n = node(OpKind::kLayerNorm, "ln", {a->outputs[0]}, {3, 4});
  n->SetParam("gamma", Tensor::FromInt32({4}, {900, -700, 1100, 1300}));
  n->SetParam("beta", Tensor::FromInt64({4}, {0, 4000, -3000, 100}));
  n->SetParam("eps", Tensor::FromInt64({1}, {3}));
  n->SetParam("shift", scalar(14));
  g.segments.push_back({0, 3});
  Node* l = node(OpKind::kLinear, "qkv", {n->outputs[0]}, {3, 4});
  l->SetParam("weight", Tensor::FromInt8({4, 4}, RandomI8(rng, 16)));
  l->SetParam("bias", Tensor::FromInt32({4}, {100, -50, 7, 0}));
  l->SetParam("multiplier", Tensor::FromInt32({4}, {1 << 30, 1 << 29, 1 << 30, 1 << 28}));
  l->SetParam("shift", scalar(36));
  const int lo = l->outputs[0];
  Node* at = node(OpKind::kAttention, "attn", {lo, lo, lo}, {3, 4});
  at->SetAttr("heads", {2});
  at->SetAttr("causal", {1});
  at->SetParam("score_multiplier", scalar(1 << 30));
  at->SetParam("score_shift", scalar(33));
  at->SetParam("exp_table", Tensor::FromInt32({256}, ExpTable()));
  at->SetParam("multiplier", scalar(1 << 30));
  at->SetParam("shift", scalar(30));
  Node* sm = node(OpKind::kSoftmax, "softmax", {at->outputs[0]}, {3, 4});
  sm->SetParam("exp_table", Tensor::FromInt32({256}, ExpTable()));
  const int so = sm->outputs[0];
  Node* m = node(OpKind::kMatMul, "matmul", {so, lo}, {3, 3});
  m->SetAttr("transpose_b", {1});
  m->SetParam("multiplier", scalar(1 << 30));
  m->SetParam("shift", scalar(36));
  g.outputs = {m->outputs[0]};
  g.segments.push_back({3, static_cast<int>(g.nodes.size())});
  EXPECT_TRUE(ValidateGraph(g).ok()) << ValidateGraph(g).ToString();
  return g;
}

const Proved& Small() {
  static const Proved* p = [] {
    auto* q = new Proved;
    q->graph = SmallBlock(21);
    std::mt19937_64 rng(22);
    q->input = Tensor::FromInt8({3, 4, 3}, RandomI8(rng, 36));
    ProveAll(q, 7);
    return q;
  }();
  return *p;
}

TEST(VitProofSmall, EverySegmentAndTheChainVerifyAndMatchTheSession) {
  const Proved& p = Small();
  ASSERT_EQ(p.proofs.size(), 2u);
  for (const SegmentProof& proof : p.proofs) {
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, proof).ok());
    auto parsed = ParseSegmentProof(SerializeSegmentProof(proof), p.graph);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, *parsed).ok());
  }
  EXPECT_TRUE(VerifyChain(p.graph, p.commitment, p.proofs).ok());
  ExpectOutputsMatchSession(p);
  // The outputs are not degenerate (the test would be weak on all-zero activations).
  const auto y = p.outputs[0][0].values.i8();
  EXPECT_GT(std::count_if(y.begin(), y.end(), [](int8_t v) { return v != 0; }), 6);
}

TEST(VitProofSmall, RejectsTampering) {
  const Proved& p = Small();
  for (const SegmentProof& proof : p.proofs)
    prooftest::ExpectChangedOutputsRejected(p.graph, p.commitment, proof);
  for (const SegmentProof& proof : p.proofs)
    ExpectFlipsAndTruncationsRejected(p.graph, p.commitment, proof, 40);
  // The Add's constant changed by 1: the broadcast no longer matches the commitment.
  Graph g = p.graph;
  g.nodes[1].params[0].tensor.i8()[2] ^= 1;
  const CommitmentKey key = SegmentProofKey(p.graph, p.commitment);
  auto out = ProveSegment(g, p.commitment, Seed(7), 0, *CommitActivation(key, p.input));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out->proof).ok());
  // A Linear weight (over tokens) changed by 1.
  Graph h = p.graph;
  h.nodes[3].params[0].tensor.i8()[5] ^= 1;
  auto out1 = ProveSegment(h, p.commitment, Seed(7), 1, p.outputs[0]);
  ASSERT_TRUE(out1.ok()) << out1.status().ToString();
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out1->proof).ok());
  // Segment 0's proof presented as segment 1's.
  SegmentProof q = p.proofs[0];
  q.segment = 1;
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, q).ok());
}

TEST(VitProofSmall, UnprovableFormsAreRefusedByName) {
  Graph g = SmallBlock(21);
  g.nodes[2].kind = OpKind::kRmsNorm;
  Status s = CheckSegmentProvable(g, 0);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("RmsNorm 'ln'"), std::string::npos) << s.ToString();
}

#else  // VEIL_ZK_SHIPPED_VIT: the same source built as a separate (slow) test binary

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

#endif  // VEIL_ZK_SHIPPED_VIT

}  // namespace
}  // namespace veil::zk
