// The sumcheck protocol (Lund–Fortnow–Karloff–Nisan) for sums of products of multilinear
// polynomials, made non-interactive with the Fiat–Shamir transcript.
//
// Statement: claim = sum_{x in {0,1}^n} prod_{j<d} f_j(x) for d multilinear f_j given by
// their 2^n evaluations (variable order: docs in multilinear.h). Round i sends g_i, a
// univariate polynomial of degree <= d, as its values at 0, 1, ..., d. The verifier checks
// g_i(0) + g_i(1) = (previous claim), draws r_i from the transcript and continues with the
// claim g_i(r_i). After n rounds the verifier holds a point r and a claim that must equal
// prod_j f_j(r); checking that last equation (by opening commitments) is the caller's job.
//
// Soundness: a false claim survives with probability <= n·d/l (Schwartz–Zippel per round).
//
// ProveSumcheck/VerifySumcheck are NOT zero-knowledge: the round polynomials reveal linear
// combinations of the witness. They are the reference. Proofs use ProveZkSumcheck (below):
// Hyrax's committed sumcheck, in which every round polynomial is sent as Pedersen
// commitments to its coefficients and the round checks are Σ-protocols on commitments.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/status.h"
#include "veil/zk/scalar.h"
#include "veil/zk/serialize.h"
#include "veil/zk/sigma.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

struct SumcheckProof {
  // round_polys[i] holds g_i(0), ..., g_i(d).
  std::vector<std::vector<Scalar>> round_polys;
};

struct SumcheckProverOutput {
  SumcheckProof proof;
  std::vector<Scalar> point;         // r_0, ..., r_{n-1}
  std::vector<Scalar> factor_evals;  // f_j(r) for every factor j
};

struct SumcheckVerifierOutput {
  std::vector<Scalar> point;
  Scalar final_claim;  // must equal prod_j f_j(point)
};

// The factors all have length 2^n (n >= 0, n < 40). The transcript absorbs the claim, n and
// d before the first challenge; callers absorb the rest of their statement first.
Result<SumcheckProverOutput> ProveSumcheck(std::vector<std::vector<Scalar>> factors,
                                           const Scalar& claim, Transcript* transcript);

// Checks the rounds of a proof for `claim` with n variables and degree d. Rejects
// (kCorrupt) a proof of the wrong shape or one whose round sums do not match.
Result<SumcheckVerifierOutput> VerifySumcheck(const SumcheckProof& proof, const Scalar& claim,
                                              int num_vars, int degree, Transcript* transcript);

// --- Zero-knowledge (committed) sumcheck -------------------------------------------------
//
// The claim is a commitment. Round i: the prover commits to the coefficients c_0..c_d of
// g_i (C_k = Com(c_k; rho_k)); both sides form Com(g_i(0) + g_i(1)) = 2·C_0 + C_1 + ... + C_d
// homomorphically, and an EqualityProof shows it commits to the same value as the current
// claim. After the challenge r_i the new claim commitment is sum_k r_i^k·C_k. The verifier
// never sees a field value of the witness; it ends with a commitment to prod_j f_j(r), which
// the caller ties to commitments of the factors (Hyrax openings and a ProductProof).
// Soundness as above plus the binding of the commitments; zero-knowledge because every
// message is a hiding commitment or a Σ-protocol transcript.

struct ZkSumcheckRound {
  std::vector<Point> coefficients;  // Com(c_0), ..., Com(c_d)
  EqualityProof sum_proof;
};

struct ZkSumcheckProof {
  std::vector<ZkSumcheckRound> rounds;
};

struct ZkSumcheckProverOutput {
  ZkSumcheckProof proof;
  std::vector<Scalar> point;
  std::vector<Scalar> factor_evals;  // f_j(point), known to the prover only
  CommittedValue final_claim;        // commits to prod_j f_j(point)
};

struct ZkSumcheckVerifierOutput {
  std::vector<Scalar> point;
  Point final_claim;
};

Result<ZkSumcheckProverOutput> ProveZkSumcheck(const CommitmentKey& key,
                                               std::vector<std::vector<Scalar>> factors,
                                               const CommittedValue& claim, Transcript* transcript);
Result<ZkSumcheckVerifierOutput> VerifyZkSumcheck(const CommitmentKey& key,
                                                  const ZkSumcheckProof& proof, const Point& claim,
                                                  int num_vars, int degree, Transcript* transcript);

void WriteZkSumcheckProof(std::vector<uint8_t>* out, const ZkSumcheckProof& p);
Result<ZkSumcheckProof> ReadZkSumcheckProof(ZkReader* in, int num_vars, int degree);

// The sum prod_j f_j over the hypercube (what an honest claim is).
Result<Scalar> SumOfProducts(const std::vector<std::vector<Scalar>>& factors);

}  // namespace veil::zk
