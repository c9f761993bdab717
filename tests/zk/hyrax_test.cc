#include "veil/zk/hyrax.h"

#include <gtest/gtest.h>

#include "veil/zk/multilinear.h"
#include "veil/zk/sigma.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

using testing::RandomScalar;

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(256));
  return *key;
}

std::vector<Scalar> RandomVector(size_t n) {
  std::vector<Scalar> v(n);
  for (auto& x : v) x = RandomScalar();
  return v;
}

TEST(Sigma, EqualityProof) {
  const Scalar v = RandomScalar(), r1 = RandomScalar(), r2 = RandomScalar();
  const Point c1 = Key().CommitValue(v, r1), c2 = Key().CommitValue(v, r2);
  Transcript tp("t");
  const EqualityProof p = ProveEquality(Key(), c1, r1, c2, r2, &tp);
  Transcript tv("t");
  EXPECT_TRUE(VerifyEquality(Key(), c1, c2, p, &tv).ok());
  // Different values: an honest-looking proof with the blinds does not verify.
  const Point c3 = Key().CommitValue(v + Scalar::One(), r2);
  Transcript tp2("t");
  const EqualityProof bad = ProveEquality(Key(), c1, r1, c3, r2, &tp2);
  Transcript tv2("t");
  EXPECT_EQ(VerifyEquality(Key(), c1, c3, bad, &tv2).code(), StatusCode::kCorrupt);
}

TEST(Sigma, ProductProof) {
  const CommittedValue x = CommitFresh(Key(), RandomScalar());
  const CommittedValue y = CommitFresh(Key(), RandomScalar());
  const CommittedValue z = CommitFresh(Key(), x.value * y.value);
  Transcript tp("t");
  const ProductProof p = ProveProduct(Key(), x, y, z, &tp);
  Transcript tv("t");
  EXPECT_TRUE(VerifyProduct(Key(), x.commitment, y.commitment, z.commitment, p, &tv).ok());
  // A commitment to x·y + 1 with the same protocol is rejected.
  const CommittedValue wrong = CommitFresh(Key(), x.value * y.value + Scalar::One());
  Transcript tp2("t");
  const ProductProof bad = ProveProduct(Key(), x, y, wrong, &tp2);
  Transcript tv2("t");
  EXPECT_FALSE(VerifyProduct(Key(), x.commitment, y.commitment, wrong.commitment, bad, &tv2).ok());
  // Tampered response.
  ProductProof tampered = p;
  tampered.z5 += Scalar::One();
  Transcript tv3("t");
  EXPECT_FALSE(VerifyProduct(Key(), x.commitment, y.commitment, z.commitment, tampered, &tv3).ok());
}

TEST(Sigma, DotProductProofAndSerialization) {
  const std::vector<Scalar> v = RandomVector(16), a = RandomVector(16);
  const Scalar r = RandomScalar();
  const Point c = *Key().CommitVector(v, r);
  Scalar dot;
  for (size_t i = 0; i < 16; ++i) dot += v[i] * a[i];
  const CommittedValue y = CommitFresh(Key(), dot);
  Transcript tp("t");
  const DotProductProof p = *ProveDotProduct(Key(), c, v, r, y, a, &tp);
  Transcript tv("t");
  EXPECT_TRUE(VerifyDotProduct(Key(), c, y.commitment, a, p, &tv).ok());

  std::vector<uint8_t> bytes;
  WriteDotProductProof(&bytes, p);
  ZkReader reader(bytes);
  const auto back = ReadDotProductProof(&reader, 16);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(reader.ExpectEnd().ok());
  EXPECT_EQ(back->z, p.z);
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    ZkReader r2(std::span<const uint8_t>(bytes).first(cut));
    EXPECT_FALSE(ReadDotProductProof(&r2, 16).ok()) << cut;
  }
  ZkReader r3(bytes);
  EXPECT_FALSE(ReadDotProductProof(&r3, 15).ok());  // count above the caller's limit

  const CommittedValue wrong = CommitFresh(Key(), dot + Scalar::One());
  Transcript tp2("t");
  const DotProductProof bad = *ProveDotProduct(Key(), c, v, r, wrong, a, &tp2);
  Transcript tv2("t");
  EXPECT_FALSE(VerifyDotProduct(Key(), c, wrong.commitment, a, bad, &tv2).ok());
}

TEST(Sigma, BatchVerifierDefersTheVectorCheck) {
  // Two honest dot-product proofs batched pass; a tampered response passes the immediate
  // inner-product check only if it is the vector part, and the batch then fails.
  auto make = [](std::vector<Scalar>* v, std::vector<Scalar>* a, Point* c, CommittedValue* y,
                 DotProductProof* p) {
    *v = RandomVector(8);
    *a = RandomVector(8);
    const Scalar r = RandomScalar();
    *c = *Key().CommitVector(*v, r);
    Scalar dot;
    for (size_t i = 0; i < 8; ++i) dot += (*v)[i] * (*a)[i];
    *y = CommitFresh(Key(), dot);
    Transcript t("batch");
    *p = *ProveDotProduct(Key(), *c, *v, r, *y, *a, &t);
  };
  std::vector<Scalar> v1, a1, v2, a2;
  Point c1, c2;
  CommittedValue y1, y2;
  DotProductProof p1, p2;
  make(&v1, &a1, &c1, &y1, &p1);
  make(&v2, &a2, &c2, &y2, &p2);
  BatchVerifier empty;
  EXPECT_TRUE(empty.Check(Key()).ok());
  BatchVerifier batch;
  Transcript t1("batch"), t2("batch");
  ASSERT_TRUE(VerifyDotProduct(Key(), c1, y1.commitment, a1, p1, &t1, &batch).ok());
  ASSERT_TRUE(VerifyDotProduct(Key(), c2, y2.commitment, a2, p2, &t2, &batch).ok());
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_TRUE(batch.Check(Key()).ok());
  // Tamper z_delta (only the vector check reads it).
  DotProductProof bad = p2;
  bad.z_delta += Scalar::One();
  BatchVerifier batch2;
  Transcript t3("batch"), t4("batch");
  ASSERT_TRUE(VerifyDotProduct(Key(), c1, y1.commitment, a1, p1, &t3, &batch2).ok());
  ASSERT_TRUE(VerifyDotProduct(Key(), c2, y2.commitment, a2, bad, &t4, &batch2).ok());
  EXPECT_EQ(batch2.Check(Key()).code(), StatusCode::kCorrupt);
  Transcript t5("batch");
  EXPECT_FALSE(VerifyDotProduct(Key(), c2, y2.commitment, a2, bad, &t5).ok());
}

struct Committed {
  std::vector<int8_t> values;
  HyraxCommitment commitment;
  HyraxWitness witness;
};

Committed CommitRandomInt8(size_t rows, size_t cols) {
  Committed c;
  c.values.resize(rows * cols);
  for (auto& x : c.values) x = static_cast<int8_t>(static_cast<int>(testing::Rng()() % 255) - 127);
  std::vector<Scalar> blinds = RandomVector(rows);
  c.commitment = *HyraxCommitInt8(Key(), c.values, rows, cols, blinds);
  c.witness = MakeWitnessInt8(c.values, rows, cols, std::move(blinds));
  return c;
}

// The extension of the zero-padded matrix at point, computed directly.
Scalar DirectEvaluation(const Committed& c, std::span<const Scalar> point) {
  const size_t padded_cols = size_t{1} << c.commitment.col_vars;
  std::vector<Scalar> padded((size_t{1} << c.commitment.row_vars) * padded_cols);
  for (size_t i = 0; i < c.witness.rows; ++i)
    for (size_t j = 0; j < c.witness.cols; ++j)
      padded[i * padded_cols + j] = Scalar::FromInt64(c.values[i * c.witness.cols + j]);
  return *EvaluateMle(padded, point);
}

TEST(Hyrax, CommitmentMatchesRowPedersen) {
  const Committed c = CommitRandomInt8(3, 5);
  ASSERT_EQ(c.commitment.rows.size(), 3u);
  EXPECT_EQ(c.commitment.row_vars, 2u);
  EXPECT_EQ(c.commitment.col_vars, 3u);
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<Scalar> row(c.witness.values.begin() + i * 5,
                                  c.witness.values.begin() + (i + 1) * 5);
    EXPECT_EQ(*Key().CommitVector(row, c.witness.blinds[i]), c.commitment.rows[i]);
  }
  // Scalar and int32 paths agree with the int8 path.
  EXPECT_EQ(*HyraxCommitScalars(Key(), c.witness.values, 3, 5, c.witness.blinds), c.commitment);
  std::vector<int32_t> wide(c.values.begin(), c.values.end());
  ThreadPool pool(2);
  EXPECT_EQ(*HyraxCommitInt32(Key(), wide, 3, 5, c.witness.blinds, &pool), c.commitment);
  EXPECT_FALSE(HyraxCommitInt8(Key(), c.values, 3, 4, c.witness.blinds).ok());
  EXPECT_FALSE(HyraxCommitInt8(Key(), c.values, 3, 5, std::span(c.witness.blinds).first(2)).ok());
}

TEST(Hyrax, EvaluationProofCompletenessAcrossShapes) {
  for (auto [rows, cols] :
       std::vector<std::pair<size_t, size_t>>{{1, 1}, {1, 7}, {4, 4}, {5, 9}, {16, 32}}) {
    const Committed c = CommitRandomInt8(rows, cols);
    const std::vector<Scalar> point = RandomVector(c.commitment.row_vars + c.commitment.col_vars);
    Transcript tp("hyrax");
    const auto opening = HyraxProveEvaluation(Key(), c.commitment, c.witness, point, &tp);
    ASSERT_TRUE(opening.ok()) << opening.status().ToString();
    EXPECT_EQ(opening->evaluation.value, DirectEvaluation(c, point));
    Transcript tv("hyrax");
    EXPECT_TRUE(HyraxVerifyEvaluation(Key(), c.commitment, point, opening->proof, &tv).ok())
        << rows << "x" << cols;
  }
}

TEST(Hyrax, RejectsForgedAndTamperedOpenings) {
  const Committed c = CommitRandomInt8(8, 16);
  const std::vector<Scalar> point = RandomVector(7);
  Transcript tp("hyrax");
  const HyraxOpening honest = *HyraxProveEvaluation(Key(), c.commitment, c.witness, point, &tp);
  auto verify = [&](const HyraxCommitment& com, std::span<const Scalar> pt,
                    const HyraxEvaluationProof& proof) {
    Transcript tv("hyrax");
    return HyraxVerifyEvaluation(Key(), com, pt, proof, &tv);
  };
  ASSERT_TRUE(verify(c.commitment, point, honest.proof).ok());

  // A prover whose matrix differs in one entry (weight changed by 1) cannot open the
  // published commitment: its proof is for another matrix.
  Committed changed = c;
  changed.values[37] =
      static_cast<int8_t>(changed.values[37] == 127 ? 126 : changed.values[37] + 1);
  changed.witness = MakeWitnessInt8(changed.values, 8, 16, c.witness.blinds);
  Transcript tp2("hyrax");
  const HyraxOpening forged =
      *HyraxProveEvaluation(Key(), c.commitment, changed.witness, point, &tp2);
  EXPECT_NE(forged.evaluation.value, honest.evaluation.value);
  EXPECT_FALSE(verify(c.commitment, point, forged.proof).ok());

  // Another point, a changed row commitment, a swapped evaluation commitment, a changed
  // response: all rejected.
  std::vector<Scalar> other_point = point;
  other_point[3] += Scalar::One();
  EXPECT_FALSE(verify(c.commitment, other_point, honest.proof).ok());
  HyraxCommitment other = c.commitment;
  other.rows[2] = other.rows[2] + Key().g();
  EXPECT_FALSE(verify(other, point, honest.proof).ok());
  HyraxEvaluationProof p = honest.proof;
  p.evaluation = p.evaluation + Key().g();
  EXPECT_FALSE(verify(c.commitment, point, p).ok());
  p = honest.proof;
  p.proof.z[5] += Scalar::One();
  EXPECT_FALSE(verify(c.commitment, point, p).ok());
  p = honest.proof;
  p.proof.z.pop_back();
  EXPECT_FALSE(verify(c.commitment, point, p).ok());
  EXPECT_FALSE(verify(c.commitment, std::span(point).first(6), honest.proof).ok());
}

TEST(Hyrax, OpeningsRevealNoWitnessValues) {
  // Two openings of the same matrix at the same point share no proof element: the
  // evaluation is re-committed with fresh randomness and every response is re-randomised.
  const Committed c = CommitRandomInt8(4, 8);
  const std::vector<Scalar> point = RandomVector(5);
  Transcript t1("hyrax"), t2("hyrax");
  const HyraxOpening a = *HyraxProveEvaluation(Key(), c.commitment, c.witness, point, &t1);
  const HyraxOpening b = *HyraxProveEvaluation(Key(), c.commitment, c.witness, point, &t2);
  EXPECT_NE(a.proof.evaluation, b.proof.evaluation);
  for (size_t i = 0; i < a.proof.proof.z.size(); ++i)
    EXPECT_NE(a.proof.proof.z[i], b.proof.proof.z[i]);
  // No response equals a witness entry of the combined row vector.
  for (const Scalar& z : a.proof.proof.z)
    for (const Scalar& w : c.witness.values) EXPECT_NE(z, w);
}

TEST(Hyrax, WireFormatRoundTripAndStrictDecoding) {
  const Committed c = CommitRandomInt8(5, 6);
  std::vector<uint8_t> bytes;
  WriteHyraxCommitment(&bytes, c.commitment);
  ZkReader reader(bytes);
  const auto back = ReadHyraxCommitment(&reader);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c.commitment);
  EXPECT_TRUE(reader.ExpectEnd().ok());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    ZkReader r(std::span<const uint8_t>(bytes).first(cut));
    EXPECT_FALSE(ReadHyraxCommitment(&r).ok()) << cut;
  }
  std::vector<uint8_t> huge = bytes;
  huge[0] = 40;  // row_vars beyond the limit
  ZkReader r2(huge);
  EXPECT_FALSE(ReadHyraxCommitment(&r2).ok());
  std::vector<uint8_t> too_many = bytes;
  too_many[0] = 2;  // 5 rows do not fit in 2^2
  ZkReader r3(too_many);
  EXPECT_FALSE(ReadHyraxCommitment(&r3).ok());
}

TEST(Hyrax, DeriveBlindIsDeterministicAndSeparated) {
  std::array<uint8_t, 32> seed{};
  seed[0] = 1;
  EXPECT_EQ(DeriveBlind(seed, "a", 0), DeriveBlind(seed, "a", 0));
  EXPECT_NE(DeriveBlind(seed, "a", 0), DeriveBlind(seed, "a", 1));
  EXPECT_NE(DeriveBlind(seed, "a", 0), DeriveBlind(seed, "b", 0));
  std::array<uint8_t, 32> other = seed;
  other[31] = 1;
  EXPECT_NE(DeriveBlind(seed, "a", 0), DeriveBlind(other, "a", 0));
}

}  // namespace
}  // namespace veil::zk
