// The ViT op proofs against the graph runtime: each proof module's reference equals what a
// Session computes for a one-node graph (docs/arithmetic.md is implemented once in
// src/graph/ops), and a proof of the Session's own output verifies.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/graph_test_util.h"
#include "veil/zk/attention_proof.h"
#include "veil/zk/layernorm_proof.h"
#include "veil/zk/matmul_proof.h"
#include "veil/zk/softmax_proof.h"
#include "veil/zk/transpose_proof.h"
#include "zk/vit_test_util.h"

namespace veil::zk {
namespace {

using gt::I32;
using gt::I64;
using gt::I8;
using gt::Scalar32;
using testing::Blinds;
using testing::CommitI8;
using testing::VitKey;

constexpr uint32_t kBatch = 2;

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(0x71717171);
  return rng;
}

std::vector<int32_t> ExpTable() {
  std::vector<int32_t> t(256);
  for (int d = 0; d < 255; ++d)
    t[static_cast<size_t>(d)] = static_cast<int32_t>(std::lround(65536.0 * std::exp(-d * 0.07)));
  t[255] = 0;
  return t;
}

std::vector<int8_t> RunGraph(OpKind kind, std::vector<Shape> shapes, Shape out,
                             std::vector<Attr> attrs, std::vector<Param> params,
                             const std::vector<std::vector<int8_t>>& inputs) {
  const Graph g = gt::SingleOp(kind, shapes, std::move(out), std::move(attrs), std::move(params));
  std::vector<Tensor> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape s{kBatch};
    s.insert(s.end(), shapes[i].begin(), shapes[i].end());
    in.push_back(I8(s, inputs[i]));
  }
  const std::vector<Tensor> y = gt::MustRun(g, in);
  return y.empty() ? std::vector<int8_t>{} : gt::Values8(y[0]);
}

TEST(VitOpsAgainstSession, MatMul) {
  for (bool tb : {false, true}) {
    MatMulStatement s;
    s.batch = kBatch;
    s.m = 5;
    s.k = 16;
    s.n = 3;
    s.transpose_b = tb;
    s.multiplier = 1518500250;
    s.shift = 38;
    s.act_min = -100;
    const std::vector<int8_t> a = gt::RandomI8(Rng(), kBatch * 80),
                              b = gt::RandomI8(Rng(), kBatch * 48);
    const std::vector<int8_t> y =
        RunGraph(OpKind::kMatMul, {{5, 16}, tb ? Shape{3, 16} : Shape{16, 3}}, {5, 3},
                 {{"transpose_b", {tb ? 1 : 0}}, {"act_min", {-100}}},
                 {{"multiplier", Scalar32(1518500250)}, {"shift", Scalar32(38)}}, {a, b});
    ASSERT_EQ(y, MatMulReference(s, a, b));
    MatMulWitness w{a, b, y, Blinds(kBatch), Blinds(kBatch), Blinds(kBatch)};
    s.a = CommitI8(a, kBatch, 80, w.a_blinds);
    s.b = CommitI8(b, kBatch, 48, w.b_blinds);
    s.output = CommitI8(y, kBatch, 15, w.output_blinds);
    Transcript tp("session"), tv("session");
    auto proof = ProveMatMul(VitKey(), s, w, &tp);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(VerifyMatMul(VitKey(), s, *proof, &tv).ok());
  }
}

TEST(VitOpsAgainstSession, Softmax) {
  SoftmaxStatement s;
  s.batch = kBatch;
  s.rows = 4;
  s.cols = 9;
  s.exp_table = ExpTable();
  const std::vector<int8_t> x = gt::RandomI8(Rng(), kBatch * 36);
  const std::vector<int8_t> y = RunGraph(OpKind::kSoftmax, {{4, 9}}, {4, 9}, {},
                                         {{"exp_table", I32({256}, s.exp_table)}}, {x});
  ASSERT_EQ(y, SoftmaxReference(s, x));
  SoftmaxWitness w{x, y, Blinds(kBatch), Blinds(kBatch), {}};
  s.input = CommitI8(x, kBatch, 36, w.input_blinds);
  s.output = CommitI8(y, kBatch, 36, w.output_blinds);
  Transcript tp("session"), tv("session");
  auto proof = ProveSoftmax(VitKey(), s, w, &tp);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifySoftmax(VitKey(), s, *proof, &tv).ok());
}

TEST(VitOpsAgainstSession, Attention) {
  for (bool causal : {false, true}) {
    AttentionStatement s;
    s.batch = kBatch;
    s.tq = 6;
    s.tk = 6;
    s.heads = 2;
    s.dim = 4;
    s.causal = causal;
    s.score_multiplier = 1200000000;
    s.score_shift = 36;
    s.multiplier = 1900000000;
    s.shift = 38;
    s.exp_table = ExpTable();
    s.act_min = 0;
    const std::vector<int8_t> q = gt::RandomI8(Rng(), kBatch * 48),
                              k = gt::RandomI8(Rng(), kBatch * 48),
                              v = gt::RandomI8(Rng(), kBatch * 48);
    const std::vector<int8_t> y =
        RunGraph(OpKind::kAttention, {{6, 8}, {6, 8}, {6, 8}}, {6, 8},
                 {{"heads", {2}}, {"causal", {causal ? 1 : 0}}, {"act_min", {0}}},
                 {{"score_multiplier", Scalar32(1200000000)},
                  {"score_shift", Scalar32(36)},
                  {"exp_table", I32({256}, s.exp_table)},
                  {"multiplier", Scalar32(1900000000)},
                  {"shift", Scalar32(38)}},
                 {q, k, v});
    ASSERT_EQ(y, AttentionReference(s, q, k, v)) << "causal " << causal;
    AttentionWitness w{q, k, v, y, Blinds(kBatch), Blinds(kBatch), Blinds(kBatch), Blinds(kBatch)};
    s.q = CommitI8(q, kBatch, 48, w.q_blinds);
    s.k = CommitI8(k, kBatch, 48, w.k_blinds);
    s.v = CommitI8(v, kBatch, 48, w.v_blinds);
    s.output = CommitI8(y, kBatch, 48, w.output_blinds);
    Transcript tp("session"), tv("session");
    auto proof = ProveAttention(VitKey(), s, w, &tp);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(VerifyAttention(VitKey(), s, *proof, &tv).ok());
  }
}

TEST(VitOpsAgainstSession, LayerNorm) {
  for (int64_t eps : {0, 7}) {
    LayerNormStatement s;
    s.batch = kBatch;
    s.rows = 3;
    s.cols = 12;
    s.eps = eps;
    s.shift = 21;
    s.act_min = -120;
    for (uint32_t c = 0; c < 12; ++c) {
      s.gamma.push_back(static_cast<int32_t>(Rng()() % 20000) - 10000);
      s.beta.push_back(static_cast<int64_t>(Rng()() % (1 << 24)) - (1 << 23));
    }
    std::vector<int8_t> x = gt::RandomI8(Rng(), kBatch * 36);
    std::fill(x.begin(), x.begin() + 12, int8_t{4});  // a constant row: V = 0
    const std::vector<int8_t> y =
        RunGraph(OpKind::kLayerNorm, {{3, 12}}, {3, 12}, {{"act_min", {-120}}},
                 {{"gamma", I32({12}, s.gamma)},
                  {"beta", I64({12}, s.beta)},
                  {"eps", I64({1}, {eps})},
                  {"shift", Scalar32(21)}},
                 {x});
    ASSERT_EQ(y, LayerNormReference(s, x)) << "eps " << eps;
    LayerNormWitness w{x, y, Blinds(kBatch), Blinds(kBatch)};
    s.input = CommitI8(x, kBatch, 36, w.input_blinds);
    s.output = CommitI8(y, kBatch, 36, w.output_blinds);
    Transcript tp("session"), tv("session");
    auto proof = ProveLayerNorm(VitKey(), s, w, &tp);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_TRUE(VerifyLayerNorm(VitKey(), s, *proof, &tv).ok());
  }
}

TEST(VitOpsAgainstSession, Transpose) {
  TransposeStatement s;
  s.batch = kBatch;
  s.shape = {4, 3, 5};
  s.perm = {1, 2, 0};
  const std::vector<int8_t> x = gt::RandomI8(Rng(), kBatch * 60);
  const std::vector<int8_t> y =
      RunGraph(OpKind::kTranspose, {{4, 3, 5}}, {3, 5, 4}, {{"perm", {1, 2, 0}}}, {}, {x});
  ASSERT_EQ(y, TransposeReference(s, x));
  TransposeWitness w{x, y, Blinds(kBatch), Blinds(kBatch)};
  s.input = CommitI8(x, kBatch, 60, w.input_blinds);
  s.output = CommitI8(y, kBatch, 60, w.output_blinds);
  Transcript tp("session"), tv("session");
  auto proof = ProveTranspose(VitKey(), s, w, &tp);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(VerifyTranspose(VitKey(), s, *proof, &tv).ok());
}

}  // namespace
}  // namespace veil::zk
