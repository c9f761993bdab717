// Zero-knowledge proof of the integer Softmax (docs/arithmetic.md, "Softmax"), optionally over
// a prefix of allowed columns per row (causal attention: the rest must be 0).
//
// Statement: committed int8 input x and output y, both [B, R·C] (per sample R rows of C), the
// public exp_table (256 int32, the graph's validation rules), per-row allowed counts a_r
// (1 <= a_r <= C; all C when empty). Per row, over its allowed columns c < a_r:
//     m = max x,  e[c] = exp_table[m − x[c]],  S = Σ e,  y[c] = RoundDiv(127·e[c], S),
// and y[c] = 0 for c >= a_r.
//
// Witness commitments (Hyrax, B rows): m [B, R], a one-hot s [B, R·C] marking one maximal
// entry per row, e [B, R·C], the division remainder ρ = 254·e + S − 2·S·y and its complement
// ρ' = 2S − 1 − ρ ([B, R·C]), the table multiplicities [1, 256]; after challenges α, β, γ the
// LogUp inverses h = 1/(α + (m − x) + β·e) on the allowed entries. Relations
// (relation_proof.h; "bc(m)" broadcasts m over its row, "rs(e)" is the row sum S broadcast,
// all restricted to allowed entries, sel = 1 on allowed entries):
//   R1  h·(α·sel + bc(m) − x + β·e) − sel = 0                 (LogUp: inverses well formed)
//       Σ h = Σ_j mult_j / (α + j + β·exp_table[j])            (LogUp: table side)
//   R2  s·(sel − s + γ·(bc(m) − x)) = 0                        (s boolean, s·(m − x) = 0)
//   R3  Σ_c s[r, c] − 1 = 0 per row                            (exactly one marked entry)
//   R4  −2·rs(e)·y + 254·e + rs(e) − ρ + γ'·(ρ + ρ' − 2·rs(e) + sel) + y·[not allowed] = 0
//   ranges: y ∈ [0, 2^8), ρ, ρ' ∈ [0, 2^(17 + ⌈log2 C⌉)) (digit_range_proof.h; rounded up to
//   whole digits).
// Soundness: LogUp (β drawn after m, x, e are committed) makes every allowed (m − x, e) a table
// pair: m − x ∈ [0, 255] and e = exp_table[m − x]. R2 and R3 make s one-hot with m = x at the
// marked entry, so m is an element of the row and ≥ every other: m = max. e ∈ [0, 2^16], so
// S = Σ e < 2^41 (S ≥ exp_table[0] = 2^16 > 0 at the maximum); with y < 2^16 and ρ, ρ' in
// range R4 holds over the integers (every term < 2^58 ≪ l): 2S·y ≤ 254e + S < 2S·(y + 1),
// i.e. y = RoundDiv(127·e, S); y = 0 off the allowed prefix. The input x is an int8
// activation, range-checked by its producer (as for Linear and MatMul).
// Revealed: shapes, allowed counts, the table. Everything else stays committed.
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

inline constexpr uint32_t kExpTableSize = 256;

struct SoftmaxStatement {
  uint32_t batch = 0, rows = 0, cols = 0;  // B, R, C
  std::vector<int32_t> exp_table;          // 256 entries
  std::vector<uint32_t> allowed;           // R entries in [1, C], or empty (all C)
  HyraxCommitment input;                   // [B, R·C] int8
  HyraxCommitment output;                  // [B, R·C] int8
};

struct SoftmaxWitness {
  std::span<const int8_t> input, output;
  std::vector<Scalar> input_blinds, output_blinds;
  // Testing only (soundness tests of a dishonest prover): per-row maxima to use instead of
  // the true ones ([B·R]; empty = honest). The proof then fails to verify.
  std::vector<int64_t> row_max_override;
};

struct SoftmaxProof {
  HyraxCommitment max, onehot, exps, remainder, complement, multiplicities;
  HyraxCommitment inverses;
  RelationProof lookup, onehot_check, onehot_sum, division;
  HyraxEvaluationProof inverse_sum, table_sum;
  EqualityProof sums_equal;
  DigitRangeProof ranges;  // y, ρ, ρ'
};

// y as Softmax (with the allowed prefixes) defines it.
std::vector<int8_t> SoftmaxReference(const SoftmaxStatement& s, std::span<const int8_t> input);

Status CheckSoftmaxStatement(const CommitmentKey& key, const SoftmaxStatement& statement);
Result<SoftmaxProof> ProveSoftmax(const CommitmentKey& key, const SoftmaxStatement& statement,
                                  const SoftmaxWitness& witness, Transcript* transcript,
                                  ThreadPool* pool = nullptr);
Status VerifySoftmax(const CommitmentKey& key, const SoftmaxStatement& statement,
                     const SoftmaxProof& proof, Transcript* transcript,
                     BatchVerifier* batch = nullptr);

void WriteSoftmaxProof(std::vector<uint8_t>* out, const SoftmaxProof& proof);
Result<SoftmaxProof> ReadSoftmaxProof(ZkReader* in, const SoftmaxStatement& statement);

}  // namespace veil::zk
