#include "veil/zk/range_proof.h"

#include <gtest/gtest.h>

#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(32));
  return *key;
}

struct Committed {
  std::vector<uint64_t> values;
  HyraxCommitment commitment;
  HyraxWitness witness;
};

Committed Commit(std::vector<uint64_t> values, size_t rows, size_t cols) {
  Committed c;
  c.values = std::move(values);
  std::vector<Scalar> blinds(rows);
  for (auto& b : blinds) b = Scalar::Random();
  std::vector<Scalar> s(c.values.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = Scalar::FromUint64(c.values[i]);
  c.commitment = *HyraxCommitScalars(Key(), s, rows, cols, blinds);
  c.witness.rows = rows;
  c.witness.cols = cols;
  c.witness.row_vars = c.commitment.row_vars;
  c.witness.col_vars = c.commitment.col_vars;
  c.witness.values = std::move(s);
  c.witness.blinds = std::move(blinds);
  return c;
}

std::vector<uint64_t> RandomBelow(size_t n, uint32_t bits) {
  std::vector<uint64_t> v(n);
  for (auto& x : v)
    x = bits == 64 ? testing::Rng()() : testing::Rng()() & ((uint64_t{1} << bits) - 1);
  return v;
}

Status ProveAndVerify(const Committed& c, uint32_t bits) {
  Transcript tp("range-test");
  auto proof = ProveRange(Key(), c.commitment, c.witness, c.values, bits, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("range-test");
  return VerifyRange(Key(), c.commitment, bits, *proof, &tv);
}

TEST(RangeProof, CompletenessAcrossShapesAndWidths) {
  for (auto [rows, cols, bits] : std::vector<std::tuple<size_t, size_t, uint32_t>>{
           {1, 1, 1}, {3, 5, 8}, {4, 16, 9}, {2, 3, 33}, {1, 4, 64}}) {
    Committed c = Commit(RandomBelow(rows * cols, bits), rows, cols);
    c.values[0] = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;  // the top of the range
    c = Commit(c.values, rows, cols);
    const Status s = ProveAndVerify(c, bits);
    EXPECT_TRUE(s.ok()) << rows << "x" << cols << " bits " << bits << ": " << s.ToString();
  }
}

TEST(RangeProof, RejectsValuesOutOfRange) {
  // 2^8 with 8 bits; and a "negative" value l - 1 (i.e. -1 in the field).
  Committed c = Commit(RandomBelow(12, 8), 3, 4);
  c.values[7] = 256;
  c = Commit(c.values, 3, 4);
  const Status s = ProveAndVerify(c, 8);
  EXPECT_EQ(s.code(), StatusCode::kCorrupt);
  EXPECT_NE(s.message().find("recomposition"), std::string::npos) << s.ToString();

  Committed neg = Commit(RandomBelow(12, 8), 3, 4);
  neg.witness.values[2] = -Scalar::One();
  neg.commitment = *HyraxCommitScalars(Key(), neg.witness.values, 3, 4, neg.witness.blinds);
  neg.values[2] = ~uint64_t{0};  // the prover's best decomposition: all ones
  EXPECT_FALSE(ProveAndVerify(neg, 8).ok());
}

TEST(RangeProof, RejectsTamperedProofsAndOtherStatements) {
  const Committed c = Commit(RandomBelow(8, 10), 2, 4);
  Transcript tp("range-test");
  const RangeProof proof = *ProveRange(Key(), c.commitment, c.witness, c.values, 10, &tp);
  auto verify = [&](const RangeProof& p, const HyraxCommitment& com, uint32_t bits) {
    Transcript tv("range-test");
    return VerifyRange(Key(), com, bits, p, &tv);
  };
  ASSERT_TRUE(verify(proof, c.commitment, 10).ok());
  EXPECT_FALSE(verify(proof, c.commitment, 11).ok());
  const Committed other = Commit(RandomBelow(8, 10), 2, 4);
  EXPECT_FALSE(verify(proof, other.commitment, 10).ok());
  RangeProof p = proof;
  p.bits.rows[1] = p.bits.rows[1] + Key().g();
  EXPECT_FALSE(verify(p, c.commitment, 10).ok());
  p = proof;
  p.bit_product = p.bit_product + Key().h();
  EXPECT_FALSE(verify(p, c.commitment, 10).ok());
  p = proof;
  p.recomposition_equal.response += Scalar::One();
  EXPECT_FALSE(verify(p, c.commitment, 10).ok());

  std::vector<uint8_t> bytes;
  WriteRangeProof(&bytes, proof);
  auto decode_verify = [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto q = ReadRangeProof(&in, c.commitment, 10);
    if (!q.ok()) return q.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    return verify(*q, c.commitment, 10);
  };
  ASSERT_TRUE(decode_verify(bytes).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 150) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x04;
    EXPECT_FALSE(decode_verify(flipped).ok()) << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << pos;
  }
}

TEST(RangeProof, BadParametersAreErrors) {
  const Committed c = Commit(RandomBelow(4, 4), 2, 2);
  Transcript t("range-test");
  EXPECT_EQ(ProveRange(Key(), c.commitment, c.witness, c.values, 0, &t).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ProveRange(Key(), c.commitment, c.witness, c.values, 65, &t).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      ProveRange(Key(), c.commitment, c.witness, std::span(c.values).first(3), 4, &t).ok());
}

}  // namespace
}  // namespace veil::zk
