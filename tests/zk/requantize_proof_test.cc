#include "veil/zk/requantize_proof.h"

#include <gtest/gtest.h>

#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(256));
  return *key;
}

std::vector<Scalar> Blinds(size_t n) {
  std::vector<Scalar> b(n);
  for (auto& x : b) x = Scalar::Random();
  return b;
}

// Accumulators spread so that some outputs clamp low, some high and most do not.
struct Case {
  size_t T, N;
  std::vector<int32_t> acc;
  std::vector<int8_t> y;
  RequantizeStatement statement;
  RequantizeWitness witness;

  Case(size_t t, size_t n, int32_t act_min = -127, int32_t act_max = 127, int64_t shift = 45)
      : T(t), N(n) {
    for (size_t i = 0; i < T * N; ++i)
      acc.push_back(
          static_cast<int32_t>(static_cast<int64_t>(testing::Rng()() % 4000001) - 2000000));
    statement.rows = static_cast<uint32_t>(T);
    statement.cols = static_cast<uint32_t>(N);
    for (size_t c = 0; c < N; ++c) {
      statement.multiplier.push_back((int64_t{1} << 30) +
                                     static_cast<int64_t>(testing::Rng()() % (1 << 30)));
      statement.shift.push_back(c == 0 ? 0 : shift + static_cast<int64_t>(c % 3));
    }
    statement.act_min = act_min;
    statement.act_max = act_max;
    witness.accumulator_blinds = Blinds(T);
    witness.output_blinds = Blinds(T);
    y = RequantizeReference(acc, T, N, statement.multiplier, statement.shift, act_min, act_max);
    Commit();
  }

  void Commit() {
    statement.accumulator = *HyraxCommitInt32(Key(), acc, T, N, witness.accumulator_blinds);
    statement.output = *HyraxCommitInt8(Key(), y, T, N, witness.output_blinds);
    witness.accumulator = acc;
    witness.output = y;
  }
};

Status ProveAndVerify(const RequantizeStatement& ps, const RequantizeWitness& w,
                      const RequantizeStatement& vs) {
  Transcript tp("requantize-test");
  auto proof = ProveRequantize(Key(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("requantize-test");
  return VerifyRequantize(Key(), vs, *proof, &tv);
}

TEST(RequantizeProof, ReferenceRoundsHalfUpAndClamps) {
  // RoundShift(v, s) = floor((v + 2^(s-1)) / 2^s): 5/2 -> 3, -5/2 -> -2, and clamping.
  const std::vector<int32_t> acc{5, -5, 1000, -1000, 3};
  const std::vector<int64_t> m{1, 1, 1, 1, 1}, s{1, 1, 1, 1, 0};
  EXPECT_EQ(RequantizeReference(acc, 1, 5, m, s, -127, 127),
            (std::vector<int8_t>{3, -2, 127, -127, 3}));
  EXPECT_EQ(RequantizeReference(acc, 1, 5, m, s, 0, 127), (std::vector<int8_t>{3, 0, 127, 0, 3}));
}

TEST(RequantizeProof, CompletenessWithClampingOnBothSides) {
  Case c(3, 5);
  int low = 0, high = 0, inside = 0;
  for (int8_t v : c.y) (v == -127 ? low : v == 127 ? high : inside)++;
  EXPECT_GT(low, 0);
  EXPECT_GT(high, 0);
  EXPECT_GT(inside, 0);
  const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
  EXPECT_TRUE(s.ok()) << s.ToString();
  Case relu(2, 3, 0, 127, 45);  // fused ReLU
  EXPECT_TRUE(ProveAndVerify(relu.statement, relu.witness, relu.statement).ok());
}

TEST(RequantizeProof, RejectsAnyChangedOutput) {
  // Changing any single output by ±1 (committed consistently) is rejected: inside values,
  // clamped values moved inward, and values pushed past the bounds.
  Case base(1, 4);
  for (size_t e = 0; e < base.y.size(); ++e) {
    for (int delta : {-1, 1}) {
      Case c = base;
      const int v = c.y[e] + delta;
      if (v < -128 || v > 127) continue;
      c.y[e] = static_cast<int8_t>(v);
      c.Commit();
      const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
      EXPECT_EQ(s.code(), StatusCode::kCorrupt) << "entry " << e << " delta " << delta;
    }
  }
}

TEST(RequantizeProof, RejectsChangedAccumulatorAndStatement) {
  Case c(2, 4);
  // The prover holds other accumulators than the committed ones.
  Case other = c;
  other.acc[1] += 1 << 20;
  other.y = RequantizeReference(other.acc, 2, 4, other.statement.multiplier, other.statement.shift,
                                -127, 127);
  other.witness.accumulator = other.acc;
  other.statement.output = *HyraxCommitInt8(Key(), other.y, 2, 4, other.witness.output_blinds);
  other.witness.output = other.y;
  EXPECT_FALSE(ProveAndVerify(other.statement, other.witness, other.statement).ok());
  // An honest proof checked against another shift or bounds.
  RequantizeStatement changed = c.statement;
  changed.shift[2] += 1;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, changed).ok());
  changed = c.statement;
  changed.act_min = -100;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, changed).ok());
  changed = c.statement;
  changed.multiplier[0] = int64_t{1} << 31;
  EXPECT_EQ(CheckRequantizeStatement(Key(), changed).code(), StatusCode::kCorrupt);
}

TEST(RequantizeProof, WireFormatTruncationAndFlips) {
  Case c(2, 3);
  Transcript tp("requantize-test");
  const RequantizeProof proof = *ProveRequantize(Key(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteRequantizeProof(&bytes, proof);
  auto decode_verify = [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto p = ReadRequantizeProof(&in, c.statement);
    if (!p.ok()) return p.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    Transcript tv("requantize-test");
    return VerifyRequantize(Key(), c.statement, *p, &tv);
  };
  ASSERT_TRUE(decode_verify(bytes).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 30) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x10;
    EXPECT_FALSE(decode_verify(flipped).ok()) << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << pos;
  }
}

}  // namespace
}  // namespace veil::zk
