#include "veil/zk/sumcheck.h"

#include <gtest/gtest.h>

#include "veil/zk/multilinear.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

using testing::RandomScalar;

std::vector<Scalar> RandomVector(size_t n) {
  std::vector<Scalar> v(n);
  for (auto& x : v) x = RandomScalar();
  return v;
}

TEST(Multilinear, EqTableMatchesDefinition) {
  const std::vector<Scalar> r = RandomVector(3);
  const std::vector<Scalar> table = EqTable(r);
  ASSERT_EQ(table.size(), 8u);
  for (size_t x = 0; x < 8; ++x) {
    Scalar e = Scalar::One();
    for (int i = 0; i < 3; ++i) {
      const bool bit = (x >> (2 - i)) & 1;  // variable 0 is the most significant bit
      e *= bit ? r[i] : Scalar::One() - r[i];
    }
    EXPECT_EQ(table[x], e) << x;
  }
}

TEST(Multilinear, ExtensionAgreesOnHypercubeAndWithEqSum) {
  const std::vector<Scalar> f = RandomVector(16);
  for (size_t x = 0; x < 16; ++x) {
    std::vector<Scalar> point;
    for (int i = 0; i < 4; ++i) point.push_back(Scalar::FromUint64((x >> (3 - i)) & 1));
    EXPECT_EQ(*EvaluateMle(f, point), f[x]);
  }
  const std::vector<Scalar> r = RandomVector(4);
  const std::vector<Scalar> eq = EqTable(r);
  Scalar sum;
  for (size_t x = 0; x < 16; ++x) sum += eq[x] * f[x];
  EXPECT_EQ(*EvaluateMle(f, r), sum);
  EXPECT_FALSE(EvaluateMle(f, std::span<const Scalar>(r).first(3)).ok());
}

TEST(Multilinear, InterpolationRecoversPolynomial) {
  // p(x) = 3 + 5x - 2x^2 + 7x^3.
  auto p = [](const Scalar& x) {
    return Scalar::FromInt64(3) + Scalar::FromInt64(5) * x - Scalar::FromInt64(2) * x * x +
           Scalar::FromInt64(7) * x * x * x;
  };
  std::vector<Scalar> values;
  for (int i = 0; i < 4; ++i) values.push_back(p(Scalar::FromUint64(i)));
  const Scalar x = RandomScalar();
  EXPECT_EQ(InterpolateAtSmallPoints(values, x), p(x));
}

TEST(Multilinear, CeilLog2) {
  EXPECT_EQ(CeilLog2(0), 0);
  EXPECT_EQ(CeilLog2(1), 0);
  EXPECT_EQ(CeilLog2(2), 1);
  EXPECT_EQ(CeilLog2(3), 2);
  EXPECT_EQ(CeilLog2(768), 10);
  EXPECT_EQ(CeilLog2(1024), 10);
}

struct SumcheckRun {
  std::vector<std::vector<Scalar>> factors;
  Scalar claim;
  SumcheckProverOutput prover;
};

SumcheckRun Prove(int n, int d) {
  SumcheckRun run;
  for (int j = 0; j < d; ++j) run.factors.push_back(RandomVector(size_t{1} << n));
  run.claim = *SumOfProducts(run.factors);
  Transcript t("sumcheck-test");
  run.prover = *ProveSumcheck(run.factors, run.claim, &t);
  return run;
}

Result<SumcheckVerifierOutput> Verify(const SumcheckProof& proof, const Scalar& claim, int n,
                                      int d) {
  Transcript t("sumcheck-test");
  return VerifySumcheck(proof, claim, n, d, &t);
}

TEST(Sumcheck, CompletenessForSeveralShapes) {
  for (int n : {0, 1, 2, 5, 9}) {
    for (int d : {1, 2, 3}) {
      const SumcheckRun run = Prove(n, d);
      const auto v = Verify(run.prover.proof, run.claim, n, d);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(v->point, run.prover.point);
      // The final claim equals the product of the factors' extensions at the point.
      Scalar product = Scalar::One();
      for (int j = 0; j < d; ++j) {
        const Scalar e = *EvaluateMle(run.factors[j], v->point);
        EXPECT_EQ(e, run.prover.factor_evals[j]);
        product *= e;
      }
      EXPECT_EQ(v->final_claim, product) << "n=" << n << " d=" << d;
    }
  }
}

TEST(Sumcheck, RejectsWrongClaimedSum) {
  const SumcheckRun run = Prove(6, 2);
  EXPECT_EQ(Verify(run.prover.proof, run.claim + Scalar::One(), 6, 2).status().code(),
            StatusCode::kCorrupt);
}

TEST(Sumcheck, HonestProofOfWrongClaimFailsAtTheEnd) {
  // A prover that runs the honest algorithm on a false claim passes every round check
  // only if the claim is true; with a false claim round 0 already fails.
  SumcheckRun run = Prove(5, 2);
  Transcript t("sumcheck-test");
  const Scalar wrong = run.claim + Scalar::FromUint64(7);
  auto forged = *ProveSumcheck(run.factors, wrong, &t);
  EXPECT_FALSE(Verify(forged.proof, wrong, 5, 2).ok());
}

TEST(Sumcheck, RejectsTamperedRoundPolynomials) {
  const SumcheckRun run = Prove(6, 2);
  for (size_t round = 0; round < 6; ++round) {
    for (size_t k = 0; k < 3; ++k) {
      SumcheckProof bad = run.prover.proof;
      bad.round_polys[round][k] += Scalar::One();
      const auto v = Verify(bad, run.claim, 6, 2);
      // Either a round check fails, or the changed transcript moves the point so that
      // the final claim no longer matches the factors.
      if (v.ok()) {
        Scalar product =
            *EvaluateMle(run.factors[0], v->point) * *EvaluateMle(run.factors[1], v->point);
        EXPECT_NE(v->final_claim, product) << round << "," << k;
      }
    }
  }
}

TEST(Sumcheck, ConsistentlyTamperedLastRoundIsCaughtByFinalEvaluation) {
  // Changing g_last(0) and g_last(1) in opposite directions keeps the round sum; only the
  // final evaluation check exposes it.
  const SumcheckRun run = Prove(4, 2);
  SumcheckProof bad = run.prover.proof;
  bad.round_polys[3][0] += Scalar::One();
  bad.round_polys[3][1] -= Scalar::One();
  const auto v = Verify(bad, run.claim, 4, 2);
  ASSERT_TRUE(v.ok());
  const Scalar product =
      *EvaluateMle(run.factors[0], v->point) * *EvaluateMle(run.factors[1], v->point);
  EXPECT_NE(v->final_claim, product);
}

TEST(Sumcheck, RejectsWrongFinalEvaluation) {
  const SumcheckRun run = Prove(5, 2);
  const auto v = Verify(run.prover.proof, run.claim, 5, 2);
  ASSERT_TRUE(v.ok());
  const Scalar wrong = (run.prover.factor_evals[0] + Scalar::One()) * run.prover.factor_evals[1];
  EXPECT_NE(v->final_claim, wrong);
}

TEST(Sumcheck, RejectsWrongShape) {
  const SumcheckRun run = Prove(4, 2);
  EXPECT_FALSE(Verify(run.prover.proof, run.claim, 5, 2).ok());
  EXPECT_FALSE(Verify(run.prover.proof, run.claim, 4, 3).ok());
  SumcheckProof truncated = run.prover.proof;
  truncated.round_polys[2].pop_back();
  EXPECT_FALSE(Verify(truncated, run.claim, 4, 2).ok());
  EXPECT_FALSE(
      ProveSumcheck({{Scalar::One(), Scalar::One(), Scalar::One()}}, Scalar(), nullptr).ok());
}

TEST(Sumcheck, TranscriptBindsTheStatement) {
  // The same proof checked under another statement draws other challenges, so the round
  // after the first no longer sums to the (re-derived) claim: a replayed proof is rejected.
  const SumcheckRun run = Prove(4, 2);
  Transcript other("another-statement");
  EXPECT_EQ(VerifySumcheck(run.prover.proof, run.claim, 4, 2, &other).status().code(),
            StatusCode::kCorrupt);
}

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(16));
  return *key;
}

struct ZkRun {
  std::vector<std::vector<Scalar>> factors;
  CommittedValue claim;
  ZkSumcheckProverOutput prover;
};

ZkRun ProveZk(int n, const Scalar& claim_offset = Scalar::Zero()) {
  ZkRun run;
  for (int j = 0; j < 2; ++j) run.factors.push_back(RandomVector(size_t{1} << n));
  run.claim = CommitFresh(Key(), *SumOfProducts(run.factors) + claim_offset);
  Transcript t("zk-sumcheck-test");
  run.prover = *ProveZkSumcheck(Key(), run.factors, run.claim, &t);
  return run;
}

Result<ZkSumcheckVerifierOutput> VerifyZk(const ZkSumcheckProof& proof, const Point& claim, int n) {
  Transcript t("zk-sumcheck-test");
  return VerifyZkSumcheck(Key(), proof, claim, n, 2, &t);
}

TEST(ZkSumcheck, CompletenessAndFinalClaimCommitsToTheProduct) {
  for (int n : {0, 1, 4, 8}) {
    const ZkRun run = ProveZk(n);
    const auto v = VerifyZk(run.prover.proof, run.claim.commitment, n);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->point, run.prover.point);
    EXPECT_EQ(v->final_claim, run.prover.final_claim.commitment);
    const Scalar a = *EvaluateMle(run.factors[0], v->point);
    const Scalar b = *EvaluateMle(run.factors[1], v->point);
    EXPECT_EQ(run.prover.final_claim.value, a * b);
    EXPECT_EQ(Key().CommitValue(run.prover.final_claim.value, run.prover.final_claim.blind),
              v->final_claim);
  }
}

TEST(ZkSumcheck, RejectsWrongClaim) {
  // The honest algorithm run on a false committed claim fails the first equality proof.
  const ZkRun run = ProveZk(5, Scalar::One());
  EXPECT_EQ(VerifyZk(run.prover.proof, run.claim.commitment, 5).status().code(),
            StatusCode::kCorrupt);
  // And an honest proof presented for another claim commitment is rejected.
  const ZkRun honest = ProveZk(5);
  EXPECT_FALSE(VerifyZk(honest.prover.proof, honest.claim.commitment + Key().g(), 5).ok());
}

TEST(ZkSumcheck, RejectsTamperedRoundCommitments) {
  const ZkRun run = ProveZk(4);
  for (size_t round = 0; round < 4; ++round) {
    for (size_t k = 0; k < 3; ++k) {
      ZkSumcheckProof bad = run.prover.proof;
      bad.rounds[round].coefficients[k] += Key().g();
      EXPECT_FALSE(VerifyZk(bad, run.claim.commitment, 4).ok()) << round << "," << k;
    }
    ZkSumcheckProof bad = run.prover.proof;
    bad.rounds[round].sum_proof.response += Scalar::One();
    EXPECT_FALSE(VerifyZk(bad, run.claim.commitment, 4).ok()) << round;
  }
}

TEST(ZkSumcheck, WireFormatRoundTripAndTruncation) {
  const ZkRun run = ProveZk(3);
  std::vector<uint8_t> bytes;
  WriteZkSumcheckProof(&bytes, run.prover.proof);
  EXPECT_EQ(bytes.size(), 3u * (3 * 32 + 64));
  ZkReader reader(bytes);
  const auto back = ReadZkSumcheckProof(&reader, 3, 2);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(reader.ExpectEnd().ok());
  EXPECT_TRUE(VerifyZk(*back, run.claim.commitment, 3).ok());
  for (size_t cut = 0; cut < bytes.size(); cut += 5) {
    ZkReader r(std::span<const uint8_t>(bytes).first(cut));
    EXPECT_FALSE(ReadZkSumcheckProof(&r, 3, 2).ok()) << cut;
  }
}

TEST(ZkSumcheck, TwoProofsOfOneStatementShareNothing) {
  ZkRun a = ProveZk(4);
  Transcript t("zk-sumcheck-test");
  const ZkSumcheckProverOutput b = *ProveZkSumcheck(Key(), a.factors, a.claim, &t);
  for (size_t round = 0; round < 4; ++round)
    for (size_t k = 0; k < 3; ++k)
      EXPECT_NE(a.prover.proof.rounds[round].coefficients[k],
                b.proof.rounds[round].coefficients[k]);
}

}  // namespace
}  // namespace veil::zk
