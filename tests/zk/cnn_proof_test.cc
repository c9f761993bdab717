// Proofs of the image ops (Conv2d, MaxPool2d, AvgPool2d, ReduceMean, Add) in segments that are
// DAGs with several inputs and outputs: a small random CNN shaped like the shipped one (fast),
// and the shipped CNN itself (models/cnn, label slow).
#include <gtest/gtest.h>

#include <random>

#ifdef VEIL_ZK_SHIPPED_CNN
#include "onnx/shipped_models.h"
#endif
#include "veil/segmenter.h"
#include "veil/session.h"
#include "veil/zk/segment_proof.h"
#include "zk/segment_test_util.h"

namespace veil::zk {
namespace {

using prooftest::ExpectChangedOutputsRejected;
using prooftest::ExpectFlipsAndTruncationsRejected;
using prooftest::ExpectOutputsMatchSession;
using prooftest::ProveAll;
using prooftest::Proved;
using prooftest::RandomI8;
using prooftest::Seed;

// [2,6,6] -> Conv 3x3 pad 1 (ReLU) [3,6,6] -> MaxPool 3x2 stride 2 pads (1,1,0,0) [3,3,3]
// -> Conv 3x3 pad 1 [3,3,3] | Add(conv, maxpool) -> AvgPool 2x2 stride 1 pads (0,0,1,1)
// (count_include_pad 0: divisors 4, 2, 1) [3,3,3] -> Conv 2x2 stride 2 dilation 2 pads
// (2,1,1,2) [4,2,2] -> ReduceMean {1,2} [4,1,1] -> Reshape [4] -> Linear [3].
// Segments [0,3) and [3,9): segment 0 has two outputs, segment 1 two inputs.
[[maybe_unused]] Graph SmallCnn(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Graph g;
  int x = g.AddValue({"x", DType::kInt8, {2, 6, 6}, 1.0});
  g.inputs = {x};
  auto add_node = [&](OpKind kind, const std::string& name, std::vector<int> in, Shape out_shape) {
    Node n;
    n.kind = kind;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {g.AddValue({name + ".out", DType::kInt8, out_shape, 1.0})};
    g.nodes.push_back(n);
    return &g.nodes.back();
  };
  auto conv = [&](int in, int64_t c, int64_t o, int64_t k, Shape out,
                  std::vector<std::pair<std::string, std::vector<int64_t>>> attrs,
                  const std::string& name) {
    Node* n = add_node(OpKind::kConv2d, name, {in}, out);
    for (auto& [a, v] : attrs) n->SetAttr(a, v);
    n->SetParam("weight",
                Tensor::FromInt8({o, c, k, k}, RandomI8(rng, static_cast<size_t>(o * c * k * k))));
    std::vector<int32_t> b(static_cast<size_t>(o)), m(static_cast<size_t>(o)),
        s(static_cast<size_t>(o));
    for (int64_t i = 0; i < o; ++i) {
      b[i] = static_cast<int32_t>(rng() % 4001) - 2000;
      m[i] = (1 << 30) + static_cast<int32_t>(rng() % (1 << 29));
      s[i] = 38;
    }
    n->SetParam("bias", Tensor::FromInt32({o}, b));
    n->SetParam("multiplier", Tensor::FromInt32({o}, m));
    n->SetParam("shift", Tensor::FromInt32({o}, s));
    return n->outputs[0];
  };
  const int c1 = conv(x, 2, 3, 3, {3, 6, 6}, {{"pads", {1, 1, 1, 1}}, {"act_min", {0}}}, "conv1");
  Node* mp = add_node(OpKind::kMaxPool2d, "maxpool", {c1}, {3, 3, 3});
  mp->SetAttr("kernel", {3, 2});
  mp->SetAttr("strides", {2, 2});
  mp->SetAttr("pads", {1, 1, 0, 0});
  const int p1 = mp->outputs[0];
  const int c2 = conv(p1, 3, 3, 3, {3, 3, 3}, {{"pads", {1, 1, 1, 1}}}, "conv2");
  g.segments.push_back({0, 3});
  Node* add = add_node(OpKind::kAdd, "add", {c2, p1}, {3, 3, 3});
  add->SetAttr("act_min", {0});
  add->SetParam("multiplier_a", Tensor::FromInt32({1}, {(1 << 30) + 12345}));
  add->SetParam("multiplier_b", Tensor::FromInt32({1}, {(1 << 29) + 777}));
  add->SetParam("shift", Tensor::FromInt32({1}, {31}));
  const int a1 = add->outputs[0];
  Node* avg = add_node(OpKind::kAvgPool2d, "avgpool", {a1}, {3, 3, 3});
  avg->SetAttr("kernel", {2, 2});
  avg->SetAttr("strides", {1, 1});
  avg->SetAttr("pads", {0, 0, 1, 1});
  avg->SetAttr("count_include_pad", {0});
  const int av = avg->outputs[0];
  const int c3 =
      conv(av, 3, 4, 2, {4, 2, 2},
           {{"pads", {2, 1, 1, 2}}, {"strides", {2, 2}}, {"dilations", {2, 2}}}, "conv3");
  Node* mean = add_node(OpKind::kReduceMean, "mean", {c3}, {4, 1, 1});
  mean->SetAttr("axes", {1, 2});
  mean->SetAttr("keepdims", {1});
  const int mv = mean->outputs[0];
  Node* flat = add_node(OpKind::kReshape, "flatten", {mv}, {4});
  flat->SetAttr("shape", {4});
  const int fv = flat->outputs[0];
  Node* fc = add_node(OpKind::kLinear, "fc", {fv}, {3});
  fc->SetParam("weight", Tensor::FromInt8({3, 4}, RandomI8(rng, 12)));
  fc->SetParam("bias", Tensor::FromInt32({3}, {100, -50, 7}));
  fc->SetParam("multiplier", Tensor::FromInt32({1}, {1 << 30}));
  fc->SetParam("shift", Tensor::FromInt32({1}, {36}));
  g.outputs = {fc->outputs[0]};
  g.segments.push_back({3, static_cast<int>(g.nodes.size())});
  EXPECT_TRUE(ValidateGraph(g).ok()) << ValidateGraph(g).ToString();
  return g;
}

#ifndef VEIL_ZK_SHIPPED_CNN

const Proved& Small() {
  static const Proved* p = [] {
    auto* q = new Proved;
    q->graph = SmallCnn(11);
    std::mt19937_64 rng(4);
    q->input = Tensor::FromInt8({2, 2, 6, 6}, RandomI8(rng, 2 * 72));
    ProveAll(q, 1);
    return q;
  }();
  return *p;
}

TEST(CnnProof, SmallCnnSegmentsProveVerifyAndMatchTheSession) {
  const Proved& p = Small();
  ASSERT_EQ(p.proofs.size(), 2u);
  EXPECT_EQ(p.proofs[0].outputs.size(), 2u);
  EXPECT_EQ(p.proofs[1].inputs.size(), 2u);
  for (const SegmentProof& proof : p.proofs)
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, proof).ok());
  EXPECT_TRUE(VerifyChain(p.graph, p.commitment, p.proofs).ok());
  ExpectOutputsMatchSession(p);
}

TEST(CnnProof, SmallCnnRejectsTampering) {
  const Proved& p = Small();
  for (const SegmentProof& proof : p.proofs)
    ExpectChangedOutputsRejected(p.graph, p.commitment, proof);
  // A changed input (either of segment 1's two inputs): the chain and the proof fail.
  for (size_t k = 0; k < 2; ++k) {
    std::vector<SegmentProof> chain = p.proofs;
    chain[1].inputs[k].rows[0] = chain[1].inputs[k].rows[0] + Point::Generator();
    EXPECT_FALSE(VerifyChain(p.graph, p.commitment, chain).ok()) << k;
    EXPECT_FALSE(VerifySegment(p.graph, p.commitment, chain[1]).ok()) << k;
  }
  // The two inputs swapped.
  std::vector<SegmentProof> chain = p.proofs;
  std::swap(chain[1].inputs[0], chain[1].inputs[1]);
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, chain).ok());
  // Segment 0's proof as segment 1, another model commitment.
  SegmentProof q = p.proofs[0];
  q.segment = 1;
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, q).ok());
  const ModelCommitment other = *CommitModel(p.graph, Seed(9));
  EXPECT_FALSE(VerifySegment(p.graph, other, p.proofs[0]).ok());
  q = p.proofs[0];
  q.model_commitment = other.digest;
  EXPECT_FALSE(VerifySegment(p.graph, other, q).ok());
  for (const SegmentProof& proof : p.proofs)
    ExpectFlipsAndTruncationsRejected(p.graph, p.commitment, proof, 40);
}

TEST(CnnProof, SmallCnnRejectsAChangedConvWeight) {
  const Proved& p = Small();
  for (int node : {0, 2}) {
    Graph changed = p.graph;
    Tensor* w = nullptr;
    for (Param& q : changed.nodes[static_cast<size_t>(node)].params)
      if (q.name == "weight") w = &q.tensor;
    ASSERT_NE(w, nullptr);
    w->i8()[5] = static_cast<int8_t>(w->i8()[5] == 127 ? 126 : w->i8()[5] + 1);
    const CommitmentKey key = SegmentProofKey(p.graph, p.commitment);
    const ActivationOpening in = *CommitActivation(key, p.input);
    auto out = ProveSegment(changed, p.commitment, Seed(1), 0, in);
    ASSERT_TRUE(out.ok()) << out.status().ToString();  // the commitment hides the weights
    EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out->proof).ok()) << node;
  }
}

// MaxPool: an output that is >= every window element but equals none (max + 1) has
// non-negative differences, so only the product argument can catch it.
TEST(CnnProof, MaxPoolRejectsAnUpperBoundThatIsNotTheMaximum) {
  std::mt19937_64 rng(2);
  const PoolWindows w = Pool2dWindows(2, 5, 5, 2, 3, 2, 2, 1, 1, 3, 3, true, false);
  ASSERT_TRUE(CheckPoolWindows(w, true).ok());
  const size_t B = 2;
  const std::vector<int8_t> x = RandomI8(rng, B * w.in_cols, 120);
  const CommitmentKey key = CommitmentKey::Derive(256);
  const ActivationOpening xa = *CommitActivation(key, Tensor::FromInt8({2, 50}, x));
  auto prove_verify = [&](std::vector<int8_t> y) -> bool {
    const ActivationOpening ya = *CommitActivation(key, Tensor::FromInt8({2, 18}, y));
    PoolStatement st{static_cast<uint32_t>(B), &w, xa.commitment, ya.commitment};
    PoolWitness pw{x, y, xa.blinds, ya.blinds};
    Transcript tp("test"), tv("test");
    auto proof = ProveMax(key, st, pw, &tp);
    if (!proof.ok()) return false;
    return VerifyMax(key, st, *proof, &tv).ok();
  };
  const std::vector<int8_t> y = MaxReference(w, x, B);
  EXPECT_TRUE(prove_verify(y));
  std::vector<int8_t> bumped = y;
  bumped[7] = static_cast<int8_t>(bumped[7] + 1);
  EXPECT_FALSE(prove_verify(bumped));
  std::vector<int8_t> all_up = y;
  for (int8_t& v : all_up) v = static_cast<int8_t>(v + 1);
  EXPECT_FALSE(prove_verify(all_up));
  std::vector<int8_t> lower = y;
  lower[3] = static_cast<int8_t>(lower[3] - 1);
  EXPECT_FALSE(prove_verify(lower));
}

// Mean: every output off by one (the prover refuses; a proof of the honest output does not
// verify against it).
TEST(CnnProof, MeanRejectsAnOutputOffByOne) {
  std::mt19937_64 rng(3);
  const PoolWindows w = Pool2dWindows(2, 4, 5, 3, 2, 1, 2, 1, 0, 4, 2, false, false);
  ASSERT_TRUE(CheckPoolWindows(w, false).ok());
  const size_t B = 1, J = w.out_cols;
  const std::vector<int8_t> x = RandomI8(rng, B * w.in_cols);
  const CommitmentKey key = CommitmentKey::Derive(256);
  const ActivationOpening xa = *CommitActivation(key, Tensor::FromInt8({1, 40}, x));
  const std::vector<int8_t> y = MeanReference(w, x, B);
  const ActivationOpening ya =
      *CommitActivation(key, Tensor::FromInt8({1, static_cast<int64_t>(J)}, y));
  PoolStatement st{1, &w, xa.commitment, ya.commitment};
  PoolWitness pw{x, y, xa.blinds, ya.blinds};
  Transcript tp("t"), tv("t");
  auto proof = ProveMean(key, st, pw, &tp);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifyMean(key, st, *proof, &tv).ok());
  for (size_t j = 0; j < J; j += 3) {
    std::vector<int8_t> z = y;
    z[j] = static_cast<int8_t>(z[j] + (j % 2 == 0 ? 1 : -1));
    const ActivationOpening za =
        *CommitActivation(key, Tensor::FromInt8({1, static_cast<int64_t>(J)}, z));
    PoolStatement bad{1, &w, xa.commitment, za.commitment};
    PoolWitness bw{x, z, xa.blinds, za.blinds};
    Transcript t1("t"), t2("t");
    EXPECT_FALSE(ProveMean(key, bad, bw, &t1).ok()) << j;
    EXPECT_FALSE(VerifyMean(key, bad, *proof, &t2).ok()) << j;
  }
}

TEST(CnnProof, UnsupportedFormsAreRefusedByName) {
  Graph g = SmallCnn(11);
  g.nodes[2].SetAttr("group", {3});  // conv2 as depthwise-ish group 3: weight [3,1,...]
  Status s = CheckSegmentProvable(g, 0);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("conv2"), std::string::npos) << s.ToString();
  Graph h = SmallCnn(11);
  h.nodes[1].SetAttr("kernel", {3, 3});  // 9 taps
  s = CheckSegmentProvable(h, 0);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("maxpool"), std::string::npos) << s.ToString();
}

#else  // VEIL_ZK_SHIPPED_CNN: the same source built as a separate (slow) test binary

// ---- The shipped CNN (models/cnn, imported as out/cnn.veil: 3 segments) ----------------

const Proved& Shipped() {
  static const Proved* p = [] {
    auto* q = new Proved;
    auto g = testing::ImportShipped("cnn");
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    q->graph = std::move(g).value();
    EXPECT_TRUE(SplitIntoSegments(&q->graph, 3).ok());
    std::mt19937_64 rng(8);
    q->input = Tensor::FromInt8({1, 1, 28, 28}, RandomI8(rng, 784));
    ProveAll(q, 3);
    return q;
  }();
  return *p;
}

TEST(CnnProofShipped, EverySegmentAndTheChainVerify) {
  const Proved& p = Shipped();
  const std::vector<Segment> segs = p.graph.EffectiveSegments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].end, 3);
  EXPECT_EQ(segs[1].end, 5);
  ASSERT_EQ(p.proofs.size(), 3u);
  for (const SegmentProof& proof : p.proofs)
    EXPECT_TRUE(VerifySegment(p.graph, p.commitment, proof).ok());
  EXPECT_TRUE(VerifyChain(p.graph, p.commitment, p.proofs).ok());
  ExpectOutputsMatchSession(p);
}

TEST(CnnProofShipped, RejectsTampering) {
  const Proved& p = Shipped();
  for (const SegmentProof& proof : p.proofs)
    ExpectChangedOutputsRejected(p.graph, p.commitment, proof);
  std::vector<SegmentProof> chain = p.proofs;
  chain[2].inputs[1].rows[0] = chain[2].inputs[1].rows[0] + Point::Generator();
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, chain).ok());
  SegmentProof q = p.proofs[1];
  q.segment = 2;
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, q).ok());
  const std::vector<SegmentProof> swapped{p.proofs[0], p.proofs[2], p.proofs[1]};
  EXPECT_FALSE(VerifyChain(p.graph, p.commitment, swapped).ok());
  const ModelCommitment other = *CommitModel(p.graph, Seed(4));
  EXPECT_FALSE(VerifySegment(p.graph, other, p.proofs[0]).ok());
  // A Conv2d weight changed by 1 (node 4, segment 1).
  Graph changed = p.graph;
  for (Param& w : changed.nodes[4].params)
    if (w.name == "weight")
      w.tensor.i8()[10] =
          static_cast<int8_t>(w.tensor.i8()[10] == 127 ? 126 : w.tensor.i8()[10] + 1);
  std::vector<ActivationOpening> in;
  for (int v : p.graph.SegmentInputs(p.graph.EffectiveSegments()[1]))
    for (const ActivationOpening& a : p.outputs[0])
      if (a.value == v) in.push_back(a);
  auto out = ProveSegment(changed, p.commitment, Seed(3), 1, in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(VerifySegment(p.graph, p.commitment, out->proof).ok());
  ExpectFlipsAndTruncationsRejected(p.graph, p.commitment, p.proofs[2], 12);
}

#endif  // VEIL_ZK_SHIPPED_CNN

}  // namespace
}  // namespace veil::zk
