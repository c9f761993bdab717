// Zero-knowledge proof of requantization and clamping (docs/arithmetic.md, "Requantize"):
// for a committed int32 accumulator matrix A [T, N] and a committed int8 output Y [T, N],
//
//     Y[t][n] = Clamp(RoundShift(A[t][n] · M[n], s[n]), lo, hi)
//
// with public per-channel multipliers M, shifts s and bounds lo <= hi.
//
// Relation. With u = A·M + R (R = 2^(s-1), or 0 when s = 0), D1 = u − Y·2^s and
// D2 = (Y + 1)·2^s − 1 − u, the prover commits to slack matrices L = (Y > lo ? D1 : 0) and
// H = (Y < hi ? D2 : 0) and proves, entry by entry,
//     L ∈ [0, 2^64),  H ∈ [0, 2^64),  Y − lo ∈ [0, 2^b),  hi − Y ∈ [0, 2^b)  (b = 8 or 16),
//     (L − D1)·(Y − lo) = 0,  (H − D2)·(hi − Y) = 0.
// These force Y = Clamp(floor(u / 2^s), lo, hi): strictly inside (lo, hi) both slacks are
// the true D1, D2 >= 0, i.e. Y·2^s <= u < (Y+1)·2^s; at Y = lo only u < (lo+1)·2^s is
// required, at Y = hi only u >= hi·2^s. Every quantity is an integer below 2^71 in
// magnitude (|A| < 2^31 is guaranteed by the graph's accumulator bound and the Linear proof
// that produced A), far below l/2, so the field equations are integer equations.
//
// (The two Y ranges sum to hi − lo, so each is at most hi − lo <= 254: lo <= Y <= hi.)
//
// Sub-proofs: one digit range proof (digit_range_proof.h: b-bit digits, b = 16 for
// T·N >= 8192 else 8, checked by a LogUp lookup into [0, 2^b); 64/b digits per slack and one
// per Y range, all four matrices in one lookup; the Y ranges use commitments derived
// homomorphically from Com(Y), rows T_i ∓ lo·Σ_{j<N} G_j), and two committed zero-check sumchecks
// Σ_x eq(τ, x)·P(x)·Q(x) = 0 whose final products are tied by ProductProofs to Hyrax
// openings of L or H, A (tensor with eq ∘ M), Y (tensor with eq ∘ 2^s) and Y.
// Costs are dominated by committing the (2·64/b + 2)·T·N digit inverses of the range proof.
// Protocol tag "veil/zk/requantize/v2" (v1 used 64-bit bit decompositions). The key must
// commit vectors of 256 entries (the digit multiplicities).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/digit_range_proof.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "veil/zk/sumcheck.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

struct RequantizeStatement {
  uint32_t rows = 0;                // T
  uint32_t cols = 0;                // N
  std::vector<int64_t> multiplier;  // N entries, each in [0, 2^31)
  std::vector<int64_t> shift;       // N entries, each in [0, 62]
  int32_t act_min = -127, act_max = 127;
  HyraxCommitment accumulator;  // [T, N], int32
  HyraxCommitment output;       // [T, N], int8
};

struct RequantizeWitness {
  std::span<const int32_t> accumulator;
  // Instead of `accumulator`: wider accumulators with |A| < 2^39 (Add's a·Ma + b·Mb, used with
  // multiplier 1). |A·M| stays below 2^62, so every quantity above stays below 2^71.
  std::span<const int64_t> accumulator64;
  std::span<const int8_t> output;
  std::vector<Scalar> accumulator_blinds, output_blinds;
};

struct ZeroCheckProof {
  ZkSumcheckProof sumcheck;
  HyraxEvaluationProof slack_opening, accumulator_opening, output_scaled_opening, output_opening;
  Point product_commitment;
  ProductProof product;
  EqualityProof final_equal;
};

struct RequantizeProof {
  HyraxCommitment low_slack, high_slack;
  DigitRangeProof ranges;  // L, H (4 digits each), Y − lo, hi − Y (1 digit each)
  ZeroCheckProof low_check, high_check;
};

// Y as Requantize defines it (the honest output).
std::vector<int8_t> RequantizeReference(std::span<const int32_t> accumulator, size_t rows,
                                        size_t cols, std::span<const int64_t> multiplier,
                                        std::span<const int64_t> shift, int32_t act_min,
                                        int32_t act_max);

Status CheckRequantizeStatement(const CommitmentKey& key, const RequantizeStatement& statement);
Result<RequantizeProof> ProveRequantize(const CommitmentKey& key,
                                        const RequantizeStatement& statement,
                                        const RequantizeWitness& witness, Transcript* transcript,
                                        ThreadPool* pool = nullptr);  // pool: commitments only
// `batch`: as for VerifyLinear.
Status VerifyRequantize(const CommitmentKey& key, const RequantizeStatement& statement,
                        const RequantizeProof& proof, Transcript* transcript,
                        BatchVerifier* batch = nullptr);

void WriteRequantizeProof(std::vector<uint8_t>* out, const RequantizeProof& proof);
Result<RequantizeProof> ReadRequantizeProof(ZkReader* in, const RequantizeStatement& statement);

}  // namespace veil::zk
