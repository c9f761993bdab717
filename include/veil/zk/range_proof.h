// Zero-knowledge range proof by bit decomposition: every entry of a Hyrax-committed integer
// matrix V (rows × cols) lies in [0, 2^bits). The building block for requantization and
// clamping proofs (not yet wired into a layer proof; docs/zk.md).
//
// Protocol (after the caller absorbed its own statement):
//   1. The transcript absorbs Com(V) and `bits`. The prover commits (Hyrax) to the bit
//      tensor Bits[j][t][c] (bit j of V[t][c]) as a matrix whose row j·2^tv + t holds
//      bits of row t (tv = ceil(log2 rows); padding rows are zero).
//   2. Booleanity: with τ from the transcript, a committed sumcheck of
//      Σ_x eq(τ, x)·B(x)·(1 − B(x)) = 0 (degree 3) ends at a point r with a commitment F
//      to eq(τ, r)·B̃(r)·(1 − B̃(r)). The prover opens B at r (C_b), forms Com(1 − B̃(r)) =
//      g − C_b, proves Z = Com(B̃(r)(1 − B̃(r))) with a ProductProof, and proves F and
//      eq(τ, r)·Z commit to the same value (eq(τ, r) is public). By Schwartz–Zippel every
//      entry of B is then 0 or 1.
//   3. Recomposition: with ρ from the transcript, the prover opens V at ρ and B with the
//      tensor vectors ((2^j)_j ⊗ eq(ρ_rows), eq(ρ_cols)), and proves both openings commit to
//      the same value, so V = Σ_j 2^j·Bits[j] (again by Schwartz–Zippel).
// Since 2^bits < l/2 and every bit is 0 or 1, V's entries are integers in [0, 2^bits).
// Proof size: one Hyrax commitment (bits·2^tv points) + a degree-3 sumcheck + three
// openings + small Σ-proofs. Prover cost is dominated by the sumcheck over
// 2^(log bits + tv + cv) entries.
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

inline constexpr uint32_t kMaxRangeBits = 64;

struct RangeProof {
  HyraxCommitment bits;
  ZkSumcheckProof booleanity;
  HyraxEvaluationProof bit_opening;
  Point bit_product;  // Z = Com(B̃(r)·(1 − B̃(r)))
  ProductProof product;
  EqualityProof booleanity_final;
  HyraxEvaluationProof value_opening;
  HyraxEvaluationProof recomposition;
  EqualityProof recomposition_equal;
};

// `values` are V's entries (row-major, witness.rows × witness.cols) and `witness` its
// commitment witness. The prover does not check the range: out-of-range values are
// decomposed modulo 2^bits and the proof then fails verification.
Result<RangeProof> ProveRange(const CommitmentKey& key, const HyraxCommitment& commitment,
                              const HyraxWitness& witness, std::span<const uint64_t> values,
                              uint32_t bits, Transcript* transcript);
// `batch`: as for VerifyLinear.
Status VerifyRange(const CommitmentKey& key, const HyraxCommitment& commitment, uint32_t bits,
                   const RangeProof& proof, Transcript* transcript, BatchVerifier* batch = nullptr);

void WriteRangeProof(std::vector<uint8_t>* out, const RangeProof& proof);
Result<RangeProof> ReadRangeProof(ZkReader* in, const HyraxCommitment& commitment, uint32_t bits);

}  // namespace veil::zk
