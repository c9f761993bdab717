#include "veil/zk/digit_range_proof.h"

#include <gtest/gtest.h>

#include "veil/thread_pool.h"
#include "veil/zk/multilinear.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(256));
  return *key;
}

// A committed T × N matrix of field elements given as uint64 values (or any scalars).
struct Matrix {
  std::vector<uint64_t> values;
  HyraxWitness witness;
  HyraxCommitment commitment;

  Matrix(size_t T, size_t N, std::vector<uint64_t> v, std::vector<Scalar> scalars = {})
      : values(std::move(v)) {
    if (scalars.empty())
      for (uint64_t x : values) scalars.push_back(Scalar::FromUint64(x));
    witness.rows = T;
    witness.cols = N;
    witness.row_vars = static_cast<uint32_t>(CeilLog2(T));
    witness.col_vars = static_cast<uint32_t>(CeilLog2(N));
    witness.values = std::move(scalars);
    for (size_t t = 0; t < T; ++t) witness.blinds.push_back(Scalar::Random());
    commitment = *HyraxCommitScalars(Key(), witness.values, T, N, witness.blinds);
  }
  DigitRangeTarget Target(uint32_t digits) const { return {&commitment, digits, &witness, values}; }
};

std::vector<uint64_t> RandomValues(size_t n, uint32_t bits) {
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = bits == 64 ? testing::Rng()() : testing::Rng()() % (uint64_t{1} << bits);
  return v;
}

Status ProveAndVerify(size_t T, size_t N, std::span<const DigitRangeTarget> targets,
                      std::span<const DigitRangeTarget> verifier_targets) {
  Transcript tp("digit-range-test");
  auto proof = ProveDigitRange(Key(), T, N, targets, &tp);
  if (!proof.ok()) return proof.status();
  std::vector<uint8_t> bytes;
  WriteDigitRangeProof(&bytes, *proof);
  ZkReader in(bytes);
  auto decoded = ReadDigitRangeProof(&in, T, N, verifier_targets);
  if (!decoded.ok()) return decoded.status();
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  Transcript tv("digit-range-test");
  return VerifyDigitRange(Key(), T, N, verifier_targets, *decoded, &tv);
}

TEST(DigitRangeProof, CompletenessForSeveralMatricesAndWidths) {
  // 8-bit digits below 8192 entries, 16-bit digits from there (64 × 128).
  EXPECT_EQ(DigitBitsFor(4, 16), 8u);
  EXPECT_EQ(DigitBitsFor(64, 128), 16u);
  for (auto [T, N] : {std::pair<size_t, size_t>{1, 1}, {3, 5}, {4, 16}, {64, 128}}) {
    std::vector<uint64_t> top(T * N, ~uint64_t{0});
    top[0] = 0;
    const Matrix a(T, N, RandomValues(T * N, 64)), b(T, N, top), c(T, N, RandomValues(T * N, 16)),
        d(T, N, RandomValues(T * N, 40));
    const DigitRangeTarget targets[] = {a.Target(64), b.Target(64), c.Target(16), d.Target(40)};
    const Status s = ProveAndVerify(T, N, targets, targets);
    EXPECT_TRUE(s.ok()) << T << "x" << N << ": " << s.ToString();
  }
}

TEST(DigitRangeProof, ProverWithAThreadPoolVerifies) {
  ThreadPool pool(2);
  const Matrix a(8, 20, RandomValues(160, 64)), c(8, 20, RandomValues(160, 8));
  const DigitRangeTarget targets[] = {a.Target(64), c.Target(8)};
  Transcript tp("digit-range-test");
  auto proof = ProveDigitRange(Key(), 8, 20, targets, &tp, &pool);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  Transcript tv("digit-range-test");
  EXPECT_TRUE(VerifyDigitRange(Key(), 8, 20, targets, *proof, &tv).ok());
}

TEST(DigitRangeProof, RejectsOutOfRangeValues) {
  // 2^w in a w-bit range (w a whole number of digits: 8 and 16 bits with 8-bit digits, 16
  // and 32 with 16-bit digits), and −1 (l − 1) in a 64-bit range: the honest digits cannot
  // recompose them.
  for (auto [T, N, bits] :
       {std::tuple<size_t, size_t, uint32_t>{2, 3, 8}, {2, 3, 16}, {64, 128, 16}, {64, 128, 32}}) {
    std::vector<uint64_t> v = RandomValues(T * N, bits);
    v[4] = uint64_t{1} << bits;
    const Matrix m(T, N, v);
    const DigitRangeTarget t[] = {m.Target(bits)};
    EXPECT_EQ(ProveAndVerify(T, N, t, t).code(), StatusCode::kCorrupt) << T << " " << bits;
  }
  std::vector<uint64_t> v = RandomValues(6, 64);
  std::vector<Scalar> s;
  for (uint64_t x : v) s.push_back(Scalar::FromUint64(x));
  s[2] = -Scalar::One();
  v[2] = ~uint64_t{0};
  const Matrix m(2, 3, v, s);
  const DigitRangeTarget t[] = {m.Target(64)};
  EXPECT_EQ(ProveAndVerify(2, 3, t, t).code(), StatusCode::kCorrupt);
}

TEST(DigitRangeProof, RejectsAnotherStatement) {
  const Matrix a(3, 5, RandomValues(15, 16)), b(3, 5, RandomValues(15, 16));
  const DigitRangeTarget targets[] = {a.Target(16), b.Target(16)};
  // Checked against another matrix, fewer bits, or the matrices swapped.
  const Matrix other(3, 5, RandomValues(15, 16));
  const DigitRangeTarget other_matrix[] = {a.Target(16), other.Target(16)};
  const DigitRangeTarget fewer[] = {a.Target(16), b.Target(8)};
  const DigitRangeTarget swapped[] = {b.Target(16), a.Target(16)};
  EXPECT_FALSE(ProveAndVerify(3, 5, targets, other_matrix).ok());
  EXPECT_FALSE(ProveAndVerify(3, 5, targets, fewer).ok());
  EXPECT_FALSE(ProveAndVerify(3, 5, targets, swapped).ok());
  EXPECT_TRUE(ProveAndVerify(3, 5, targets, targets).ok());
  // Refused statements: bits out of [1, 64], a short key, a wrong shape.
  const DigitRangeTarget wide[] = {a.Target(65)};
  EXPECT_FALSE(ProveAndVerify(3, 5, wide, wide).ok());
  Transcript t("x");
  EXPECT_FALSE(ProveDigitRange(CommitmentKey::Derive(128), 3, 5, targets, &t).ok());
  EXPECT_FALSE(ProveDigitRange(Key(), 4, 5, targets, &t).ok());
}

TEST(DigitRangeProof, WireFormatTruncationAndFlips) {
  const Matrix a(3, 5, RandomValues(15, 64)), c(3, 5, RandomValues(15, 8));
  const DigitRangeTarget targets[] = {a.Target(64), c.Target(8)};
  Transcript tp("digit-range-test");
  const DigitRangeProof proof = *ProveDigitRange(Key(), 3, 5, targets, &tp);
  std::vector<uint8_t> bytes;
  WriteDigitRangeProof(&bytes, proof);
  auto decode_verify = [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto p = ReadDigitRangeProof(&in, 3, 5, targets);
    if (!p.ok()) return p.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    Transcript tv("digit-range-test");
    return VerifyDigitRange(Key(), 3, 5, targets, *p, &tv);
  };
  ASSERT_TRUE(decode_verify(bytes).ok());
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_verify(longer).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 60) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x10;
    EXPECT_FALSE(decode_verify(flipped).ok()) << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << pos;
  }
}

}  // namespace
}  // namespace veil::zk
