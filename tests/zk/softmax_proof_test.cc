#include "veil/zk/softmax_proof.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "zk/vit_test_util.h"

namespace veil::zk {
namespace {

using testing::Blinds;
using testing::CommitI8;
using testing::RandomInt8;
using testing::VitKey;

std::vector<int32_t> ExpTable(double scale) {
  std::vector<int32_t> t(kExpTableSize);
  for (int d = 0; d < 255; ++d)
    t[static_cast<size_t>(d)] = static_cast<int32_t>(std::lround(65536.0 * std::exp(-d * scale)));
  t[255] = 0;
  return t;
}

struct Case {
  SoftmaxStatement statement;
  SoftmaxWitness witness;
  std::vector<int8_t> x, y;

  Case(uint32_t batch, uint32_t rows, uint32_t cols, bool causal = false, int lo = -127,
       int hi = 127) {
    statement.batch = batch;
    statement.rows = rows;
    statement.cols = cols;
    statement.exp_table = ExpTable(0.05);
    if (causal)
      for (uint32_t r = 0; r < rows; ++r) statement.allowed.push_back(r % cols + 1);
    x = RandomInt8(size_t{batch} * rows * cols, lo, hi);
    witness.input_blinds = Blinds(batch);
    witness.output_blinds = Blinds(batch);
    y = SoftmaxReference(statement, x);
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

Status ProveAndVerify(const SoftmaxStatement& ps, const SoftmaxWitness& w,
                      const SoftmaxStatement& vs) {
  Transcript tp("softmax-test");
  auto proof = ProveSoftmax(VitKey(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("softmax-test");
  return VerifySoftmax(VitKey(), vs, *proof, &tv);
}

TEST(SoftmaxProof, ReferenceMatchesDefinition) {
  SoftmaxStatement s;
  s.batch = 1;
  s.rows = 2;
  s.cols = 4;
  s.exp_table = ExpTable(0.05);
  s.allowed = {4, 2};
  const std::vector<int8_t> x{5, 5, 5, 5, 0, 10, 99, -99};
  const std::vector<int8_t> y = SoftmaxReference(s, x);
  // Row 0: four equal entries -> RoundDiv(127, 4) = 32. Row 1 over 2 allowed keys: the max
  // (10) gets 2^16 and 0 gets table[10]; disallowed entries are 0.
  EXPECT_EQ(y[0], 32);
  EXPECT_EQ(y[3], 32);
  const int64_t e0 = s.exp_table[10], sum = 65536 + e0;
  EXPECT_EQ(y[4], static_cast<int8_t>((2 * 127 * e0 + sum) / (2 * sum)));
  EXPECT_EQ(y[5], static_cast<int8_t>((2 * 127 * 65536 + sum) / (2 * sum)));
  EXPECT_EQ(y[6], 0);
  EXPECT_EQ(y[7], 0);
}

TEST(SoftmaxProof, CompletenessOverShapes) {
  struct Shape {
    uint32_t b, r, c;
    bool causal;
    int lo, hi;
  };
  for (const Shape& sh : {Shape{1, 1, 1, false, -127, 127}, Shape{2, 3, 5, false, -127, 127},
                          Shape{1, 16, 16, false, -127, 127}, Shape{1, 16, 16, true, -127, 127},
                          Shape{2, 4, 7, true, -3, 3}, Shape{1, 2, 64, false, -127, 127}}) {
    Case c(sh.b, sh.r, sh.c, sh.causal, sh.lo, sh.hi);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << sh.b << "x" << sh.r << "x" << sh.c << " causal=" << sh.causal << ": "
                        << s.ToString();
  }
  // The extremes: m − x = 254 (the table's last used entry), and rows of equal entries.
  Case edge(1, 2, 4);
  edge.x = {127, -127, -127, 127, 7, 7, 7, 7};
  edge.y = SoftmaxReference(edge.statement, edge.x);
  edge.Commit();
  EXPECT_TRUE(ProveAndVerify(edge.statement, edge.witness, edge.statement).ok());
}

TEST(SoftmaxProof, RejectsChangedOutputs) {
  Case base(1, 3, 5, true);
  for (size_t e = 0; e < base.y.size(); ++e) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    EXPECT_EQ(ProveAndVerify(c.statement, c.witness, c.statement).code(), StatusCode::kCorrupt)
        << "entry " << e;
  }
}

TEST(SoftmaxProof, RejectsAMaxThatIsNotAWindowElement) {
  Case c(1, 4, 6);
  std::vector<int64_t> maxima;
  for (uint32_t r = 0; r < 4; ++r) {
    int64_t m = -128;
    for (uint32_t j = 0; j < 6; ++j) m = std::max<int64_t>(m, c.x[r * 6 + j]);
    maxima.push_back(m);
  }
  // max + 1: every m − x is a valid table index, only the one-hot check can object. The
  // output is the honest softmax for that (wrong) max.
  for (int delta : {+1, +3, -1}) {
    Case lying = c;
    lying.witness.row_max_override = maxima;
    lying.witness.row_max_override[2] += delta;
    const Status s = ProveAndVerify(lying.statement, lying.witness, lying.statement);
    EXPECT_EQ(s.code(), StatusCode::kCorrupt) << "delta " << delta << ": " << s.ToString();
  }
  // The honest maxima given explicitly verify.
  Case honest = c;
  honest.witness.row_max_override = maxima;
  EXPECT_TRUE(ProveAndVerify(honest.statement, honest.witness, honest.statement).ok());
}

TEST(SoftmaxProof, RejectsChangedInputTableAndStatement) {
  Case c(1, 4, 8);
  Case other = c;
  other.x[3] = static_cast<int8_t>(other.x[3] == 127 ? 120 : other.x[3] + 1);
  other.Commit();
  SoftmaxStatement v = c.statement;
  v.input = other.statement.input;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.output = other.statement.input;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.exp_table[1] -= 1;  // still a valid table
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.exp_table = ExpTable(0.06);
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  v = c.statement;
  v.allowed = {8, 8, 8, 7};
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, v).ok());
  // Input changed by a dishonest prover that keeps the old output.
  Case lying = c;
  lying.x = other.x;
  lying.Commit();
  lying.y = c.y;
  lying.statement.output = c.statement.output;
  lying.witness.output = lying.y;
  lying.witness.output_blinds = c.witness.output_blinds;
  if (SoftmaxReference(c.statement, lying.x) != c.y) {
    EXPECT_FALSE(ProveAndVerify(lying.statement, lying.witness, lying.statement).ok());
  }
  // Malformed statements.
  v = c.statement;
  v.exp_table[0] = 65535;
  EXPECT_EQ(CheckSoftmaxStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.exp_table[5] = v.exp_table[4] + 1;
  EXPECT_EQ(CheckSoftmaxStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.allowed = {1, 2, 0, 3};
  EXPECT_EQ(CheckSoftmaxStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.allowed = {1, 2};
  EXPECT_EQ(CheckSoftmaxStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = c.statement;
  v.rows = 5;
  EXPECT_EQ(CheckSoftmaxStatement(VitKey(), v).code(), StatusCode::kCorrupt);
}

TEST(SoftmaxProof, WireFormatTruncationAndFlips) {
  Case c(1, 4, 4, true);
  Transcript tp("softmax-test");
  const SoftmaxProof proof = *ProveSoftmax(VitKey(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteSoftmaxProof(&bytes, proof);
  testing::ExpectTamperRejected(
      bytes,
      [&](std::span<const uint8_t> b) -> Status {
        ZkReader in(b);
        auto p = ReadSoftmaxProof(&in, c.statement);
        if (!p.ok()) return p.status();
        VEIL_RETURN_IF_ERROR(in.ExpectEnd());
        Transcript tv("softmax-test");
        return VerifySoftmax(VitKey(), c.statement, *p, &tv);
      },
      80);
}

TEST(SoftmaxProof, VitShapeTimings) {
  // The ViT's attention probabilities: 4 heads × 16 queries, rows of 16 keys.
  Case c(1, 64, 16);
  auto t0 = std::chrono::steady_clock::now();
  double c0 = testing::CpuSeconds();
  Transcript tp("softmax-test");
  auto proof = ProveSoftmax(VitKey(), c.statement, c.witness, &tp);
  const double prove = testing::SecondsSince(t0), prove_cpu = testing::CpuSeconds() - c0;
  ASSERT_TRUE(proof.ok());
  std::vector<uint8_t> bytes;
  WriteSoftmaxProof(&bytes, *proof);
  t0 = std::chrono::steady_clock::now();
  c0 = testing::CpuSeconds();
  Transcript tv("softmax-test");
  ASSERT_TRUE(VerifySoftmax(VitKey(), c.statement, *proof, &tv).ok());
  const double verify = testing::SecondsSince(t0), verify_cpu = testing::CpuSeconds() - c0;
  std::printf(
      "[vit-bench] softmax [64 rows x 16]: prove %.3f s (cpu %.3f), verify %.3f s (cpu %.3f), "
      "proof %zu B\n",
      prove, prove_cpu, verify, verify_cpu, bytes.size());
}

TEST(SoftmaxProof, TwoProofsOfOneStatementShareNothing) {
  Case c(1, 4, 4, true);
  std::vector<uint8_t> b1, b2;
  Transcript t1("zk"), t2("zk");
  WriteSoftmaxProof(&b1, *ProveSoftmax(VitKey(), c.statement, c.witness, &t1));
  WriteSoftmaxProof(&b2, *ProveSoftmax(VitKey(), c.statement, c.witness, &t2));
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_EQ(testing::SharedWords(b1, b2), 0u);
}

}  // namespace
}  // namespace veil::zk
