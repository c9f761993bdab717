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
// THIS SUMCHECK IS NOT ZERO-KNOWLEDGE: the round polynomials reveal linear combinations of
// the witness. zk_sumcheck.h is the hiding version used inside proofs; this one is the
// reference and the plain building block.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/status.h"
#include "veil/zk/scalar.h"
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

// The sum prod_j f_j over the hypercube (what an honest claim is).
Result<Scalar> SumOfProducts(const std::vector<std::vector<Scalar>>& factors);

}  // namespace veil::zk
