#include "veil/zk/transpose_proof.h"

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
  TransposeStatement statement;
  TransposeWitness witness;
  std::vector<int8_t> x, y;

  Case(uint32_t batch, std::vector<uint32_t> shape, std::vector<uint32_t> perm) {
    statement.batch = batch;
    statement.shape = std::move(shape);
    statement.perm = std::move(perm);
    size_t n = 1;
    for (uint32_t d : statement.shape) n *= d;
    x = RandomInt8(batch * n);
    witness.input_blinds = Blinds(batch);
    witness.output_blinds = Blinds(batch);
    y = TransposeReference(statement, x);
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

Status ProveAndVerify(const TransposeStatement& ps, const TransposeWitness& w,
                      const TransposeStatement& vs) {
  Transcript tp("transpose-test");
  auto proof = ProveTranspose(VitKey(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("transpose-test");
  return VerifyTranspose(VitKey(), vs, *proof, &tv);
}

TEST(TransposeProof, SourcesFollowOnnxSemantics) {
  const std::vector<uint32_t> shape{2, 3}, perm{1, 0};
  EXPECT_EQ(TransposeSources(shape, perm), (std::vector<uint32_t>{0, 3, 1, 4, 2, 5}));
  // [2,3,4] with perm (2,0,1): out[k,i,j] = in[i,j,k].
  const std::vector<uint32_t> s3{2, 3, 4}, p3{2, 0, 1};
  const std::vector<uint32_t> src = TransposeSources(s3, p3);
  for (uint32_t k = 0; k < 4; ++k)
    for (uint32_t i = 0; i < 2; ++i)
      for (uint32_t j = 0; j < 3; ++j) EXPECT_EQ(src[(k * 2 + i) * 3 + j], (i * 3 + j) * 4 + k);
}

TEST(TransposeProof, CompletenessOverShapes) {
  for (const auto& [b, shape, perm] :
       std::vector<std::tuple<uint32_t, std::vector<uint32_t>, std::vector<uint32_t>>>{
           {1, {64, 16}, {1, 0}},
           {2, {3, 5}, {1, 0}},
           {3, {2, 3, 4}, {2, 0, 1}},
           {1, {7}, {0}},
           {2, {2, 1, 3, 2}, {3, 1, 0, 2}}}) {
    Case c(b, shape, perm);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
}

TEST(TransposeProof, RejectsChangedEntriesPermAndCommitments) {
  Case base(2, {4, 6}, {1, 0});
  for (size_t e = 0; e < base.y.size(); e += 5) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    EXPECT_EQ(ProveAndVerify(c.statement, c.witness, c.statement).code(), StatusCode::kCorrupt)
        << "entry " << e;
  }
  // Two swapped output entries (a different permutation of the same multiset).
  Case swapped = base;
  std::swap(swapped.y[0], swapped.y[1]);
  if (swapped.y != base.y) {
    swapped.Commit();
    EXPECT_FALSE(ProveAndVerify(swapped.statement, swapped.witness, swapped.statement).ok());
  }
  Case other = base;
  other.x[3] = static_cast<int8_t>(other.x[3] ^ 2);
  other.Commit();
  TransposeStatement v = base.statement;
  v.input = other.statement.input;
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  std::swap(v.input, v.output);
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.shape = {6, 4};  // same element count, another permutation of the columns
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.perm = {0, 1};
  EXPECT_FALSE(ProveAndVerify(base.statement, base.witness, v).ok());
  v = base.statement;
  v.perm = {0, 0};
  EXPECT_EQ(CheckTransposeStatement(VitKey(), v).code(), StatusCode::kCorrupt);
  v = base.statement;
  v.shape = {4, 9};  // 36 columns: another column-variable count
  EXPECT_EQ(CheckTransposeStatement(VitKey(), v).code(), StatusCode::kCorrupt);
}

TEST(TransposeProof, WireFormatTruncationAndFlips) {
  Case c(1, {64, 16}, {1, 0});
  Transcript tp("transpose-test");
  const TransposeProof proof = *ProveTranspose(VitKey(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteTransposeProof(&bytes, proof);
  testing::ExpectTamperRejected(
      bytes,
      [&](std::span<const uint8_t> b) -> Status {
        ZkReader in(b);
        auto p = ReadTransposeProof(&in, c.statement);
        if (!p.ok()) return p.status();
        VEIL_RETURN_IF_ERROR(in.ExpectEnd());
        Transcript tv("transpose-test");
        return VerifyTranspose(VitKey(), c.statement, *p, &tv);
      },
      150);
}

TEST(TransposeProof, VitShapeTimings) {
  Case c(1, {64, 16}, {1, 0});
  auto t0 = std::chrono::steady_clock::now();
  double c0 = testing::CpuSeconds();
  Transcript tp("transpose-test");
  auto proof = ProveTranspose(VitKey(), c.statement, c.witness, &tp);
  const double prove = testing::SecondsSince(t0), prove_cpu = testing::CpuSeconds() - c0;
  ASSERT_TRUE(proof.ok());
  std::vector<uint8_t> bytes;
  WriteTransposeProof(&bytes, *proof);
  t0 = std::chrono::steady_clock::now();
  c0 = testing::CpuSeconds();
  Transcript tv("transpose-test");
  ASSERT_TRUE(VerifyTranspose(VitKey(), c.statement, *proof, &tv).ok());
  const double verify = testing::SecondsSince(t0), verify_cpu = testing::CpuSeconds() - c0;
  std::printf(
      "[vit-bench] transpose [64,16]->[16,64]: prove %.3f s (cpu %.3f), verify %.3f s (cpu %.3f), "
      "proof %zu B\n",
      prove, prove_cpu, verify, verify_cpu, bytes.size());
}

TEST(TransposeProof, TwoProofsOfOneStatementShareNothing) {
  Case c(2, {4, 6}, {1, 0});
  std::vector<uint8_t> b1, b2;
  Transcript t1("zk"), t2("zk");
  WriteTransposeProof(&b1, *ProveTranspose(VitKey(), c.statement, c.witness, &t1));
  WriteTransposeProof(&b2, *ProveTranspose(VitKey(), c.statement, c.witness, &t2));
  ASSERT_EQ(b1.size(), b2.size());
  EXPECT_EQ(testing::SharedWords(b1, b2), 0u);
}

}  // namespace
}  // namespace veil::zk
