#include "veil/zk/layernorm_proof.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "zk/vit_test_util.h"

namespace veil::zk {
namespace {

using testing::Blinds;
using testing::CommitI8;
using testing::RandomInt8;
using testing::Rng;
using testing::VitKey;

struct Case {
  LayerNormStatement statement;
  LayerNormWitness witness;
  std::vector<int8_t> x, y;

  Case(uint32_t batch, uint32_t rows, uint32_t cols, int64_t eps = 5) {
    LayerNormStatement& s = statement;
    s.batch = batch;
    s.rows = rows;
    s.cols = cols;
    s.eps = eps;
    s.shift = 20;
    for (uint32_t c = 0; c < cols; ++c) {
      const auto g = static_cast<int32_t>(1000 + Rng()() % 7000);
      s.gamma.push_back(c % 3 == 1 ? -g : g);
      s.beta.push_back(static_cast<int64_t>(Rng()() % (1 << 23)) - (1 << 22));
    }
    x = RandomInt8(size_t{batch} * rows * cols);
    witness.input_blinds = Blinds(batch);
    witness.output_blinds = Blinds(batch);
    y = LayerNormReference(s, x);
    Commit();
  }
  void Commit() {
    const size_t n = x.size() / statement.batch;
    statement.input = CommitI8(x, statement.batch, n, witness.input_blinds);
    statement.output = CommitI8(y, statement.batch, n, witness.output_blinds);
    witness.input = x;
    witness.output = y;
  }
};

Status ProveAndVerify(const LayerNormStatement& ps, const LayerNormWitness& w,
                      const LayerNormStatement& vs) {
  Transcript tp("layernorm-test");
  auto proof = ProveLayerNorm(VitKey(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("layernorm-test");
  return VerifyLayerNorm(VitKey(), vs, *proof, &tv);
}

TEST(LayerNormProof, ReferenceOnAHandExample) {
  LayerNormStatement s;
  s.batch = 1;
  s.rows = 1;
  s.cols = 2;
  s.gamma = {1, 1};
  s.beta = {0, 100};
  s.eps = 0;
  s.shift = 4;
  // x = (1, 3): S = 4, d = (−2, 2), V = 8, RoundDiv(8, 2) = 4, r = 2,
  // n = RoundDiv(∓2·4096, 2) = ∓4096, y = Clamp(RoundShift(n + beta, 4)) = (−127, 127).
  EXPECT_EQ(LayerNormReference(s, std::vector<int8_t>{1, 3}), (std::vector<int8_t>{-127, 127}));
  s.shift = 12;  // y = RoundShift(−4096, 12) = −1, RoundShift(4196, 12) = 1
  EXPECT_EQ(LayerNormReference(s, std::vector<int8_t>{1, 3}), (std::vector<int8_t>{-1, 1}));
  // A constant row with eps = 0: r = 0, n = 0, y = RoundShift(beta, shift).
  s.beta = {5000, -5000};
  EXPECT_EQ(LayerNormReference(s, std::vector<int8_t>{7, 7}), (std::vector<int8_t>{1, -1}));
}

TEST(LayerNormProof, CompletenessOverShapes) {
  struct Shape {
    uint32_t b, r, c;
    int64_t eps;
  };
  for (const Shape& sh : {Shape{1, 1, 1, 5}, Shape{2, 3, 5, 0}, Shape{1, 16, 64, 5},
                          Shape{1, 4, 7, 1000000}, Shape{2, 2, 16, 0}}) {
    Case c(sh.b, sh.r, sh.c, sh.eps);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << sh.b << "x" << sh.r << "x" << sh.c << " eps " << sh.eps << ": "
                        << s.ToString();
  }
  // Constant rows (V = 0): with eps = 0 the root is 0 and n = 0; with eps > 0 it is not.
  for (int64_t eps : {0, 3}) {
    Case c(1, 2, 8, eps);
    std::fill(c.x.begin(), c.x.begin() + 8, int8_t{-9});
    std::fill(c.x.begin() + 8, c.x.end(), int8_t{127});
    c.y = LayerNormReference(c.statement, c.x);
    c.Commit();
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << "eps " << eps << ": " << s.ToString();
  }
}

TEST(LayerNormProof, RejectsChangedOutputs) {
  Case base(1, 3, 6);
  for (size_t e = 0; e < base.y.size(); ++e) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    EXPECT_EQ(ProveAndVerify(c.statement, c.witness, c.statement).code(), StatusCode::kCorrupt)
        << "entry " << e;
  }
  // r = 0 rows: an output other than RoundShift(beta) is rejected too.
  Case flat(1, 1, 4, 0);
  std::fill(flat.x.begin(), flat.x.end(), int8_t{3});
  flat.y = LayerNormReference(flat.statement, flat.x);
  flat.y[1] = static_cast<int8_t>(flat.y[1] == 127 ? 126 : flat.y[1] + 1);
  flat.Commit();
  EXPECT_EQ(ProveAndVerify(flat.statement, flat.witness, flat.statement).code(),
            StatusCode::kCorrupt);
}

TEST(LayerNormProof, RejectsChangedInputAndParams) {
  Case c(1, 2, 8);
  Case other = c;
  other.x[5] = static_cast<int8_t>(other.x[5] == 127 ? 100 : other.x[5] + 1);
  other.Commit();
  LayerNormStatement v = c.statement;
  v.input = other.statement.input;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.gamma[3] += 1;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.beta[0] += 1 << 19;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.eps += 1000;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.shift += 1;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.act_max = 100;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  // A prover whose input differs from the committed one (keeps the other input's output).
  Case lying = c;
  lying.witness.input = other.x;
  lying.y = LayerNormReference(c.statement, other.x);
  lying.statement.output = CommitI8(lying.y, 1, lying.y.size(), lying.witness.output_blinds);
  lying.witness.output = lying.y;
  EXPECT_FALSE(ProveAndVerify(lying.statement, lying.witness, lying.statement).ok());
  // Malformed statements.
  v = c.statement;
  v.gamma.pop_back();
  EXPECT_EQ(CheckLayerNormStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.eps = -1;
  EXPECT_EQ(CheckLayerNormStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.shift = 63;
  EXPECT_EQ(CheckLayerNormStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.rows = 3;
  EXPECT_EQ(CheckLayerNormStatement(VitKey(), v).code(), StatusCode::kCorrupt);
}

TEST(LayerNormProof, WireFormatTruncationAndFlips) {
  Case c(1, 2, 4);
  Transcript tp("layernorm-test");
  const LayerNormProof proof = *ProveLayerNorm(VitKey(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteLayerNormProof(&bytes, proof);
  testing::ExpectTamperRejected(
      bytes,
      [&](std::span<const uint8_t> b) -> Status {
        ZkReader in(b);
        auto p = ReadLayerNormProof(&in, c.statement);
        if (!p.ok()) return p.status();
        VEIL_RETURN_IF_ERROR(in.ExpectEnd());
        Transcript tv("layernorm-test");
        return VerifyLayerNorm(VitKey(), c.statement, *p, &tv);
      },
      80);
}

TEST(LayerNormProof, VitShapeTimings) {
  Case c(1, 16, 64);
  auto t0 = std::chrono::steady_clock::now();
  double c0 = testing::CpuSeconds();
  Transcript tp("layernorm-test");
  auto proof = ProveLayerNorm(VitKey(), c.statement, c.witness, &tp);
  const double prove = testing::SecondsSince(t0), prove_cpu = testing::CpuSeconds() - c0;
  ASSERT_TRUE(proof.ok());
  std::vector<uint8_t> bytes;
  WriteLayerNormProof(&bytes, *proof);
  t0 = std::chrono::steady_clock::now();
  c0 = testing::CpuSeconds();
  Transcript tv("layernorm-test");
  ASSERT_TRUE(VerifyLayerNorm(VitKey(), c.statement, *proof, &tv).ok());
  const double verify = testing::SecondsSince(t0), verify_cpu = testing::CpuSeconds() - c0;
  std::printf(
      "[vit-bench] layernorm [16,64]: prove %.3f s (cpu %.3f), verify %.3f s (cpu %.3f), proof %zu "
      "B\n",
      prove, prove_cpu, verify, verify_cpu, bytes.size());
}

TEST(LayerNormProof, TwoProofsOfOneStatementShareNothing) {
  Case c(1, 2, 4);
  std::vector<uint8_t> b1, b2;
  Transcript t1("zk"), t2("zk");
  WriteLayerNormProof(&b1, *ProveLayerNorm(VitKey(), c.statement, c.witness, &t1));
  WriteLayerNormProof(&b2, *ProveLayerNorm(VitKey(), c.statement, c.witness, &t2));
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_EQ(testing::SharedWords(b1, b2), 0u);
}

}  // namespace
}  // namespace veil::zk
