#include "veil/zk/matmul_proof.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "zk/vit_test_util.h"

namespace veil::zk {
namespace {

using testing::Blinds;
using testing::CommitI8;
using testing::RandomInt8;
using testing::VitKey;

struct Case {
  MatMulStatement statement;
  MatMulWitness witness;
  std::vector<int8_t> a, b, y;

  Case(uint32_t batch, uint32_t m, uint32_t k, uint32_t n, bool transpose_b) {
    statement.batch = batch;
    statement.m = m;
    statement.k = k;
    statement.n = n;
    statement.transpose_b = transpose_b;
    // acc / 2^(s−30) with s chosen so that some outputs clamp.
    statement.multiplier = int64_t{1} << 30;
    statement.shift = 30 + (k >= 32 ? 9 : 7);
    a = RandomInt8(size_t{batch} * m * k);
    b = RandomInt8(size_t{batch} * k * n);
    witness.a_blinds = Blinds(batch);
    witness.b_blinds = Blinds(batch);
    witness.output_blinds = Blinds(batch);
    y = MatMulReference(statement, a, b);
    Commit();
  }
  void Commit() {
    const uint32_t B = statement.batch;
    statement.a = CommitI8(a, B, a.size() / B, witness.a_blinds);
    statement.b = CommitI8(b, B, b.size() / B, witness.b_blinds);
    statement.output = CommitI8(y, B, y.size() / B, witness.output_blinds);
    witness.a = a;
    witness.b = b;
    witness.output = y;
  }
};

Status ProveAndVerify(const MatMulStatement& ps, const MatMulWitness& w,
                      const MatMulStatement& vs) {
  Transcript tp("matmul-test");
  auto proof = ProveMatMul(VitKey(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("matmul-test");
  return VerifyMatMul(VitKey(), vs, *proof, &tv);
}

TEST(MatMulProof, ReferenceMatchesDefinition) {
  MatMulStatement s;
  s.batch = 1;
  s.m = 2;
  s.k = 2;
  s.n = 2;
  s.multiplier = 1;
  s.shift = 1;
  const std::vector<int8_t> a{1, 2, 3, 4}, b{5, 6, 7, 8};
  // a·b = [[19, 22], [43, 50]]; RoundShift(·, 1) = [[10, 11], [22, 25]].
  EXPECT_EQ(MatMulReference(s, a, b), (std::vector<int8_t>{10, 11, 22, 25}));
  s.transpose_b = true;  // b' = bᵀ: a·bᵀ = [[17, 23], [39, 53]] -> [[9, 12], [20, 27]]
  EXPECT_EQ(MatMulReference(s, a, b), (std::vector<int8_t>{9, 12, 20, 27}));
}

TEST(MatMulProof, CompletenessOverShapes) {
  struct Shape {
    uint32_t batch, m, k, n;
    bool tb;
  };
  for (const Shape& sh :
       {Shape{1, 1, 1, 1, false}, Shape{2, 3, 5, 7, false}, Shape{2, 3, 5, 7, true},
        Shape{1, 16, 16, 16, false}, Shape{1, 16, 64, 16, true}, Shape{3, 4, 8, 2, true}}) {
    Case c(sh.batch, sh.m, sh.k, sh.n, sh.tb);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << sh.batch << "x" << sh.m << "x" << sh.k << "x" << sh.n << " tb=" << sh.tb
                        << ": " << s.ToString();
  }
}

TEST(MatMulProof, RejectsChangedOutputsInputsAndParams) {
  Case base(2, 3, 4, 5, true);
  for (size_t e = 0; e < base.y.size(); e += 3) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    EXPECT_EQ(ProveAndVerify(c.statement, c.witness, c.statement).code(), StatusCode::kCorrupt)
        << "entry " << e;
  }
  // An honest proof against another a, another b, swapped operands, another multiplier,
  // shift, bounds or transpose flag.
  Case other_input = base;
  other_input.a[1] = static_cast<int8_t>(other_input.a[1] ^ 1);
  other_input.b[2] = static_cast<int8_t>(other_input.b[2] ^ 1);
  other_input.Commit();
  MatMulStatement v = base.statement;
  v.a = other_input.statement.a;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.b = other_input.statement.b;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.multiplier += 1 << 20;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.shift -= 1;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.act_min = -100;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  Case square(1, 4, 4, 4, false);
  v = square.statement;
  v.transpose_b = true;
  EXPECT_FALSE(ProveAndVerify(square.statement, square.witness, v).ok());
  // A prover whose a differs from the committed one (it computes with the other a).
  Case lying = base;
  lying.witness.a = other_input.a;
  lying.y = MatMulReference(base.statement, other_input.a, base.b);
  lying.statement.output = CommitI8(lying.y, 2, lying.y.size() / 2, lying.witness.output_blinds);
  lying.witness.output = lying.y;
  EXPECT_FALSE(ProveAndVerify(lying.statement, lying.witness, lying.statement).ok());
  // Malformed statements are refused.
  v = base.statement;
  v.k = 200000;
  EXPECT_EQ(CheckMatMulStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = base.statement;
  v.m = 4;
  EXPECT_EQ(CheckMatMulStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = base.statement;
  v.multiplier = -1;
  EXPECT_EQ(CheckMatMulStatement(VitKey(), v).code(), StatusCode::kCorrupt);
}

TEST(MatMulProof, CoreRejectsAWrongAccumulator) {
  // The product core alone, with an accumulator that is off by one in one entry.
  const ProductLayout l = ProductLayout::AttentionScores(4, 4, 2, 3);
  const std::vector<int8_t> q = RandomInt8(4 * 6), k = RandomInt8(4 * 6);
  std::vector<int32_t> acc = ProductReference(l, q, k, 1);
  const auto qb = Blinds(1), kb = Blinds(1), cb = Blinds(1);
  const HyraxCommitment qc = CommitI8(q, 1, 24, qb), kc = CommitI8(k, 1, 24, kb);
  for (int lie = 0; lie < 2; ++lie) {
    if (lie == 1) acc[5] += 1;
    const HyraxCommitment cc = *HyraxCommitInt32(VitKey(), acc, 1, l.c_cols, cb);
    const HyraxWitness qw = MakeWitnessInt8(q, 1, 24, qb), kw = MakeWitnessInt8(k, 1, 24, kb);
    const HyraxWitness cw = MakeWitnessInt32(acc, 1, l.c_cols, cb);
    Transcript tp("core"), tv("core");
    auto proof = ProveProductCore(VitKey(), 1, l, {&qc, &kc, &cc, &qw, &kw, &cw}, &tp);
    ASSERT_TRUE(proof.ok());
    const Status s = VerifyProductCore(VitKey(), 1, l, {&qc, &kc, &cc, nullptr, nullptr, nullptr},
                                       *proof, &tv, nullptr);
    EXPECT_EQ(s.ok(), lie == 0) << s.ToString();
  }
}

TEST(MatMulProof, WireFormatTruncationAndFlips) {
  Case c(1, 4, 8, 4, true);
  Transcript tp("matmul-test");
  const MatMulProof proof = *ProveMatMul(VitKey(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteMatMulProof(&bytes, proof);
  testing::ExpectTamperRejected(bytes, [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto p = ReadMatMulProof(&in, c.statement);
    if (!p.ok()) return p.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    Transcript tv("matmul-test");
    return VerifyMatMul(VitKey(), c.statement, *p, &tv);
  });
}

TEST(MatMulProof, VitShapeTimings) {
  // The ViT's attention-sized product: q·kᵀ for one head-sized slice, T = 16, width 64.
  Case c(1, 16, 64, 16, true);
  auto t0 = std::chrono::steady_clock::now();
  double c0 = testing::CpuSeconds();
  Transcript tp("matmul-test");
  auto proof = ProveMatMul(VitKey(), c.statement, c.witness, &tp);
  const double prove = testing::SecondsSince(t0), prove_cpu = testing::CpuSeconds() - c0;
  ASSERT_TRUE(proof.ok());
  std::vector<uint8_t> bytes;
  WriteMatMulProof(&bytes, *proof);
  t0 = std::chrono::steady_clock::now();
  c0 = testing::CpuSeconds();
  Transcript tv("matmul-test");
  ASSERT_TRUE(VerifyMatMul(VitKey(), c.statement, *proof, &tv).ok());
  const double verify = testing::SecondsSince(t0), verify_cpu = testing::CpuSeconds() - c0;
  std::printf(
      "[vit-bench] matmul [16,64]x[16,64]^T: prove %.3f s (cpu %.3f), verify %.3f s (cpu %.3f), "
      "proof %zu B\n",
      prove, prove_cpu, verify, verify_cpu, bytes.size());
}

TEST(MatMulProof, TwoProofsOfOneStatementShareNothing) {
  Case c(1, 4, 8, 4, true);
  std::vector<uint8_t> b1, b2;
  Transcript t1("zk"), t2("zk");
  WriteMatMulProof(&b1, *ProveMatMul(VitKey(), c.statement, c.witness, &t1));
  WriteMatMulProof(&b2, *ProveMatMul(VitKey(), c.statement, c.witness, &t2));
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_EQ(testing::SharedWords(b1, b2), 0u);
}

}  // namespace
}  // namespace veil::zk
