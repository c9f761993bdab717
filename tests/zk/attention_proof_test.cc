#include "veil/zk/attention_proof.h"

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
  AttentionStatement statement;
  AttentionWitness witness;
  std::vector<int8_t> q, k, v, y;

  Case(uint32_t batch, uint32_t tq, uint32_t tk, uint32_t heads, uint32_t dim, bool causal) {
    AttentionStatement& s = statement;
    s.batch = batch;
    s.tq = tq;
    s.tk = tk;
    s.heads = heads;
    s.dim = dim;
    s.causal = causal;
    s.score_multiplier = int64_t{1} << 30;
    s.score_shift = 30 + 8;
    s.multiplier = int64_t{1} << 30;
    s.shift = 30 + 7;
    s.exp_table = ExpTable(0.08);
    const size_t hd = size_t{heads} * dim;
    q = RandomInt8(batch * tq * hd);
    k = RandomInt8(batch * tk * hd);
    v = RandomInt8(batch * tk * hd);
    witness.q_blinds = Blinds(batch);
    witness.k_blinds = Blinds(batch);
    witness.v_blinds = Blinds(batch);
    witness.output_blinds = Blinds(batch);
    y = AttentionReference(s, q, k, v);
    Commit();
  }
  void Commit() {
    const uint32_t B = statement.batch;
    statement.q = CommitI8(q, B, q.size() / B, witness.q_blinds);
    statement.k = CommitI8(k, B, k.size() / B, witness.k_blinds);
    statement.v = CommitI8(v, B, v.size() / B, witness.v_blinds);
    statement.output = CommitI8(y, B, y.size() / B, witness.output_blinds);
    witness.q = q;
    witness.k = k;
    witness.v = v;
    witness.output = y;
  }
};

Status ProveAndVerify(const AttentionStatement& ps, const AttentionWitness& w,
                      const AttentionStatement& vs) {
  Transcript tp("attention-test");
  auto proof = ProveAttention(VitKey(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("attention-test");
  return VerifyAttention(VitKey(), vs, *proof, &tv);
}

TEST(AttentionProof, ReferenceOnAHandExample) {
  // One head, D = 1, two tokens: scores q_i·k_j, softmax, p·v.
  Case c(1, 2, 2, 1, 1, false);
  c.statement.score_multiplier = 1;
  c.statement.score_shift = 0;
  c.statement.multiplier = 1;
  c.statement.shift = 7;
  const std::vector<int8_t> q{1, 2}, k{3, -3}, v{100, -50};
  const std::vector<int8_t> y = AttentionReference(c.statement, q, k, v);
  // Row 0: z = (3, −3), row 1: z = (6, −6). p = RoundDiv(127·e, S) with e = table[m − z].
  auto row = [&](int z0, int z1) {
    const int64_t e0 = c.statement.exp_table[static_cast<size_t>(std::max(z0, z1) - z0)];
    const int64_t e1 = c.statement.exp_table[static_cast<size_t>(std::max(z0, z1) - z1)];
    const int64_t s = e0 + e1;
    const int64_t p0 = (254 * e0 + s) / (2 * s), p1 = (254 * e1 + s) / (2 * s);
    const int64_t acc = p0 * 100 + p1 * -50;
    return static_cast<int8_t>(std::clamp<int64_t>((acc + 64) >> 7, -127, 127));
  };
  EXPECT_EQ(y, (std::vector<int8_t>{row(3, -3), row(6, -6)}));
  // Causal: query 0 sees only key 0 (p = 127), query 1 both.
  c.statement.causal = true;
  const std::vector<int8_t> yc = AttentionReference(c.statement, q, k, v);
  EXPECT_EQ(yc[0], static_cast<int8_t>((127 * 100 + 64) >> 7));
  EXPECT_EQ(yc[1], y[1]);
}

TEST(AttentionProof, CompletenessVitShapesAndCausal) {
  struct Shape {
    uint32_t b, tq, tk, h, d;
    bool causal;
  };
  for (const Shape& sh :
       {Shape{1, 16, 16, 4, 16, false}, Shape{1, 16, 16, 4, 16, true}, Shape{2, 3, 5, 2, 3, true},
        Shape{2, 3, 5, 2, 3, false}, Shape{1, 1, 1, 1, 1, false}}) {
    Case c(sh.b, sh.tq, sh.tk, sh.h, sh.d, sh.causal);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << sh.b << "/" << sh.tq << "/" << sh.tk << "/" << sh.h << "/" << sh.d
                        << " causal=" << sh.causal << ": " << s.ToString();
  }
}

TEST(AttentionProof, RejectsChangedOutputsInputsAndParams) {
  Case base(1, 4, 4, 2, 4, false);
  for (size_t e = 0; e < base.y.size(); e += 5) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    EXPECT_EQ(ProveAndVerify(c.statement, c.witness, c.statement).code(), StatusCode::kCorrupt)
        << "entry " << e;
  }
  Case other = base;
  other.q[0] = static_cast<int8_t>(other.q[0] ^ 1);
  other.k[1] = static_cast<int8_t>(other.k[1] ^ 1);
  other.v[2] = static_cast<int8_t>(other.v[2] ^ 1);
  other.Commit();
  AttentionStatement v = base.statement;
  v.q = other.statement.q;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.k = other.statement.k;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.v = other.statement.v;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  std::swap(v.q, v.k);
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.score_multiplier += 1 << 24;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.shift += 1;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.exp_table[3] -= 1;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.causal = true;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  // Malformed statements are refused.
  v = base.statement;
  v.causal = true;
  v.tq = 5;
  EXPECT_EQ(CheckAttentionStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = base.statement;
  v.heads = 3;
  EXPECT_EQ(CheckAttentionStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = base.statement;
  v.exp_table.pop_back();
  EXPECT_EQ(CheckAttentionStatement(VitKey(), v).code(), StatusCode::kCorrupt);
}

TEST(AttentionProof, WireFormatTruncationAndFlips) {
  Case c(1, 2, 3, 2, 2, true);
  Transcript tp("attention-test");
  const AttentionProof proof = *ProveAttention(VitKey(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteAttentionProof(&bytes, proof);
  testing::ExpectTamperRejected(
      bytes,
      [&](std::span<const uint8_t> b) -> Status {
        ZkReader in(b);
        auto p = ReadAttentionProof(&in, c.statement);
        if (!p.ok()) return p.status();
        VEIL_RETURN_IF_ERROR(in.ExpectEnd());
        Transcript tv("attention-test");
        return VerifyAttention(VitKey(), c.statement, *p, &tv);
      },
      80);
}

TEST(AttentionProof, VitShapeTimings) {
  Case c(1, 16, 16, 4, 16, false);
  auto t0 = std::chrono::steady_clock::now();
  double c0 = testing::CpuSeconds();
  Transcript tp("attention-test");
  auto proof = ProveAttention(VitKey(), c.statement, c.witness, &tp);
  const double prove = testing::SecondsSince(t0), prove_cpu = testing::CpuSeconds() - c0;
  ASSERT_TRUE(proof.ok());
  std::vector<uint8_t> bytes;
  WriteAttentionProof(&bytes, *proof);
  t0 = std::chrono::steady_clock::now();
  c0 = testing::CpuSeconds();
  Transcript tv("attention-test");
  ASSERT_TRUE(VerifyAttention(VitKey(), c.statement, *proof, &tv).ok());
  const double verify = testing::SecondsSince(t0), verify_cpu = testing::CpuSeconds() - c0;
  std::printf(
      "[vit-bench] attention T=16 H=4 D=16: prove %.3f s (cpu %.3f), verify %.3f s (cpu %.3f), "
      "proof %zu B\n",
      prove, prove_cpu, verify, verify_cpu, bytes.size());
}

TEST(AttentionProof, TwoProofsOfOneStatementShareNothing) {
  Case c(1, 2, 3, 2, 2, true);
  std::vector<uint8_t> b1, b2;
  Transcript t1("zk"), t2("zk");
  WriteAttentionProof(&b1, *ProveAttention(VitKey(), c.statement, c.witness, &t1));
  WriteAttentionProof(&b2, *ProveAttention(VitKey(), c.statement, c.witness, &t2));
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_EQ(testing::SharedWords(b1, b2), 0u);
}

}  // namespace
}  // namespace veil::zk
