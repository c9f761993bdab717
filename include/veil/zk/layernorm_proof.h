// Zero-knowledge proof of the integer LayerNorm (docs/arithmetic.md, "LayerNorm").
//
// Statement: committed int8 input x and output y, both [B, R·C] (per sample R rows of C),
// public gamma [C] (int32), beta [C] (int64), eps, shift, act_min, act_max. Per row:
//     S = Σ x,  d = C·x − S,  V = Σ d²,  r = ISqrt(RoundDiv(V, C) + eps),
//     n = r = 0 ? 0 : RoundDiv(d·2^12, r),  y = Clamp(RoundShift(n·gamma + beta, shift), lo, hi).
// d and S are public linear maps of x (relation_proof.h column maps), never committed.
//
// Witness commitments, per row ([B, R]): V, q = RoundDiv(V, C) with remainder
// ρ1 = 2V + C − 2C·q and complement ρ1' = 2C − 1 − ρ1, r, σ1 = q + eps − r², σ2 = 2r − σ1,
// z = [r = 0], r' = r − 1 + z; per element ([B, R·C]): n, ρ2 = 2^13·d + r − 2r·n,
// ρ2' = 2r − 1 + z − ρ2, and the clamp slacks Lo, Hi of requantize_proof.h with
// u = n·gamma + beta + R (R = 2^(shift−1), or 0). Relations (γ_i drawn after every commitment):
//   SQ  Σ_c d[r, c]² = V[r]             weighted sumcheck over (b, r, c) with eq(τ, (b, r))
//   N1  q + eps − r·r − σ1 + γ1(2V + C − 2C·q − ρ1) + γ2(ρ1 + ρ1' − 2C + 1)
//         + γ3(σ1 + σ2 − 2r) + γ4(r' − r + 1 − z) = 0
//   N2  z·(1 − z + γ5·r) = 0             (z boolean, z·r = 0)
//   W1  (−2r + γ6·z)·n + 2^13·d + r − ρ2 + γ7(ρ2 + ρ2' − 2r + 1 − z) = 0   (r, z broadcast)
//   W2  (Lo − u + y·2^s)·(y − lo) = 0,  W3  (Hi − (y + 1)·2^s + 1 + u)·(hi − y) = 0
//   ranges (digit_range_proof.h): q < 2^64, ρ1, ρ1' < 2^(⌈log2 C⌉+1), r, r' < 2^32,
//   σ1, σ2 < 2^33; n + 2^20 < 2^21, ρ2, ρ2' < 2^33, Lo, Hi < 2^64, y − lo, hi − y < 2^8.
// Soundness: x is an int8 activation range-checked by its producer, so |d| ≤ 254·C and
// V = Σ d² < 2^56 is an integer. With the ranges every relation is an equation of integers
// below 2^80 ≪ l: q = RoundDiv(V, C); r² ≤ q + eps ≤ r² + 2r, so r = ISqrt(q + eps); z = [r = 0]
// (z = 0 forces r' = r − 1 ≥ 0); for r > 0, 2r·n ≤ 2^13·d + r < 2r·(n + 1), i.e.
// n = RoundDiv(d·2^12, r); for r = 0, n = 0 (and ρ2 = ρ2' = 0 forces d = 0, which holds for
// every honest row with r = 0); W2/W3 with the slack and output ranges are the clamp argument
// of requantize_proof.h. Revealed: shapes and the public parameters.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/digit_range_proof.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/relation_proof.h"
#include "veil/zk/sigma.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

struct LayerNormStatement {
  uint32_t batch = 0, rows = 0, cols = 0;  // B, R, C
  std::vector<int32_t> gamma;              // C
  std::vector<int64_t> beta;               // C
  int64_t eps = 0, shift = 0;
  int32_t act_min = -127, act_max = 127;
  HyraxCommitment input, output;  // [B, R·C] int8
};

struct LayerNormWitness {
  std::span<const int8_t> input, output;
  std::vector<Scalar> input_blinds, output_blinds;
};

struct LayerNormProof {
  // [B, R]: V, q, ρ1, ρ1', r, σ1, σ2, z, r'; [B, R·C]: n, ρ2, ρ2', Lo, Hi.
  std::vector<HyraxCommitment> row_values, element_values;
  RelationProof squares, root, flag, normalize, clamp_low, clamp_high;
  DigitRangeProof row_ranges, element_ranges;
};

std::vector<int8_t> LayerNormReference(const LayerNormStatement& s, std::span<const int8_t> input);

Status CheckLayerNormStatement(const CommitmentKey& key, const LayerNormStatement& statement);
Result<LayerNormProof> ProveLayerNorm(const CommitmentKey& key, const LayerNormStatement& statement,
                                      const LayerNormWitness& witness, Transcript* transcript,
                                      ThreadPool* pool = nullptr);
Status VerifyLayerNorm(const CommitmentKey& key, const LayerNormStatement& statement,
                       const LayerNormProof& proof, Transcript* transcript,
                       BatchVerifier* batch = nullptr);

void WriteLayerNormProof(std::vector<uint8_t>* out, const LayerNormProof& proof);
Result<LayerNormProof> ReadLayerNormProof(ZkReader* in, const LayerNormStatement& statement);

}  // namespace veil::zk
