// Range proofs by b-bit digits and a LogUp lookup into the table [0, 2^b) (replaces the
// bit decompositions of range_proof.h where many wide values are checked at once).
//
// Statement: k committed matrices V_0..V_{k-1}, all of one shape [T, N] (Hyrax, same row and
// column variables), and bit widths w_i in [1, 64]. The digit width b = DigitBitsFor(T, N)
// (16 for large matrices, where the 2^16-entry table is amortised, else 8) is public, and
// d_i = ceil(w_i / b). Proven: every entry of V_i lies in [0, 2^(b·d_i)) — the width rounded
// up to whole digits (callers choose widths for which that is what they need).
//
// Protocol (all absorbed in order before each challenge):
//   1. the statement (shapes, digit counts, the k commitments);
//   2. the prover commits to the digit tensor G (Hyrax, int32 entries) whose row s·2^tv + t
//      holds digit j of row t of V_i for the slot s = (Σ_{i'<i} d_i') + j, and to the
//      multiplicities m_v = #{real digits equal to v}, v < 2^b (Hyrax, 2^(b−8) × 256);
//   3. challenge α; the prover commits (same layout as G) to the inverses
//      h = 1/(α + G) on the real digits (slot < Σ d_i, t < T, n < N) and 0 elsewhere;
//   4. challenge τ; a committed zero-check sumcheck (degree 3) proves
//          Σ_x eq(τ, x)·h(x)·(α + G̃(x)) = Σ_x eq(τ, x)·sel(x)
//      (sel = 1 on the real digits, a public product of three prefix masses), closed by Hyrax
//      openings of h and G, a ProductProof and an equality with eq(τ, r)·Z. Hence
//      h·(α + G) = sel everywhere (error (vars)/l), and h = 0 off the real digits unless
//      α = −G(x) there (probability 1/l per position, G being committed before α);
//   5. Com(Σ_x h(x)) by a tensor opening of h with all-ones vectors; a committed sumcheck
//      (degree 2, b rounds) reduces Σ_v m_v·c_v, c_v = 1/(α + v), to m̃(r')·c̃(r'), where the
//      claim IS that commitment; a Hyrax opening of m at r' and the public c̃(r') (the
//      verifier evaluates the 2^b-entry extension itself) close it with an EqualityProof;
//   6. challenge ρ; per matrix i, a Hyrax opening of V_i at ρ and a tensor opening of G with
//      left = (2^(b·j) on slot s_i + j) ⊗ eq(ρ_rows), right = eq(ρ_cols), and an equality:
//      Ṽ_i(ρ) = Σ_j 2^(b·j)·G̃_{s_i+j}(ρ), so V_i = Σ_j 2^(b·j)·G_{s_i+j} as matrices
//      (error 1/l).
// Soundness: LogUp (the characteristic exceeds the number of digits) makes every real digit
// an element of [0, 2^b) except with probability about (#digits + 2^b)/l; with the
// recomposition, every V_i entry is Σ_j 2^(b·j)·digit_j ∈ [0, 2^(b·d_i)). Zero-knowledge:
// commitments and Σ-protocol responses only (as range_proof.h).
//
// Costs: the digits are small integers (cheap to commit); the inverses are full field
// elements, one MSM term each — the dominant cost (for a 64-bit range and b = 16, 4 terms
// where range_proof.h commits 64 bits and runs its sumcheck over them); plus a fixed
// 2^b-entry table: the multiplicity commitment, a b-round sumcheck and 2^b inversions for
// the verifier. The key must commit vectors of 256 entries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "veil/zk/sumcheck.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

inline constexpr uint32_t kMaxDigitRangeMatrices = 8;

// The digit width for [rows, cols] matrices: 16 bits once rows·cols >= 8192 (there the
// 2^16-entry table costs less than the extra digits of 8-bit ones), else 8 bits.
inline uint32_t DigitBitsFor(size_t rows, size_t cols) { return rows * cols >= 8192 ? 16 : 8; }

// One matrix to check: its commitment, bit width and (prover only) witness and values.
struct DigitRangeTarget {
  const HyraxCommitment* commitment = nullptr;
  uint32_t bits = 0;                      // 1..64, rounded up to whole digits
  const HyraxWitness* witness = nullptr;  // prover only
  std::span<const uint64_t> values;       // prover only: rows × cols
};

struct DigitRangeProof {
  HyraxCommitment digits, multiplicities, inverses;
  ZkSumcheckProof zero_check;
  HyraxEvaluationProof inverse_opening, digit_opening;
  Point product_commitment;
  ProductProof product;
  EqualityProof zero_final;
  HyraxEvaluationProof inverse_sum;
  ZkSumcheckProof table_sum;
  HyraxEvaluationProof multiplicity_opening;
  EqualityProof table_final;
  std::vector<HyraxEvaluationProof> value_openings, recompositions;  // one per matrix
  std::vector<EqualityProof> recomposition_equal;
};

// `rows`, `cols`: the true (unpadded) shape shared by every target. `pool` (optional)
// parallelises the commitments over rows; the proof does not depend on it.
Result<DigitRangeProof> ProveDigitRange(const CommitmentKey& key, size_t rows, size_t cols,
                                        std::span<const DigitRangeTarget> targets,
                                        Transcript* transcript, ThreadPool* pool = nullptr);
Status VerifyDigitRange(const CommitmentKey& key, size_t rows, size_t cols,
                        std::span<const DigitRangeTarget> targets, const DigitRangeProof& proof,
                        Transcript* transcript, BatchVerifier* batch = nullptr);

void WriteDigitRangeProof(std::vector<uint8_t>* out, const DigitRangeProof& proof);
Result<DigitRangeProof> ReadDigitRangeProof(ZkReader* in, size_t rows, size_t cols,
                                            std::span<const DigitRangeTarget> targets);

}  // namespace veil::zk
