// Zero-knowledge proof of the Lookup op (docs/arithmetic.md, "Lookup") with a LogUp lookup
// argument (Haböck, "Multivariate lookups based on logarithmic derivatives", 2022):
// for a committed int8 input X [T, N], a committed int8 output Y [T, N] and the PUBLIC table
// (256 int8 entries, part of the model's public parameters),
//
//     Y[t][n] = table[X[t][n] + 128]   for every t < T, n < N.
//
// Protocol (transcript domain chosen by the caller; everything below is absorbed in order):
//   1. statement: shapes, the 256 table entries, Com(X), Com(Y);
//   2. the prover commits to the multiplicities m_j = #{e : X_e = j − 128} (Hyrax, one row of
//      256 int32 entries);
//   3. challenges α, β. Each real entry e is folded to f_e = X_e + β·Y_e, each table row j to
//      t_j = (j − 128) + β·table[j];
//   4. the prover commits (Hyrax, [T, N]) to the inverses h_e = 1/(α + f_e) (zero on the
//      padding of the 2^tv × 2^nv hypercube);
//   5. challenge τ; a committed zero-check sumcheck proves
//          Σ_x eq(τ, x)·h(x)·(α + X̃(x) + β·Ỹ(x)) = Σ_x eq(τ, x)·sel(x)
//      (sel = 1 on the T×N real entries, 0 on padding; the right side is public), closed by
//      Hyrax openings of H, X, Y at the sumcheck point, a ProductProof and an equality with
//      eq(τ, r)·Z. With τ random this forces h_e·(α + f_e) = 1 on real entries and
//      h = 0 on padding (up to probability 1/l per entry, α being drawn after X and Y);
//   6. Com(Σ_x h(x)) by a Hyrax tensor opening of H with all-ones vectors, Com(Σ_j m_j·c_j)
//      with c_j = 1/(α + t_j) by a tensor opening of the multiplicities, and an
//      EqualityProof between the two.
// Soundness: by the LogUp lemma (the field characteristic l exceeds the number of lookups),
// Σ_e 1/(α + f_e) = Σ_j m_j/(α + t_j) at a random α implies, except with probability
// about (TN + 256)/l, that every f_e is some t_j; β drawn after X and Y are committed makes
// f_e = t_j imply (X_e, Y_e) = (j − 128, table[j]) except with probability 256·TN/l.
// Hence every real X_e is an int8 key and Y_e is its table value. Zero-knowledge: the
// verifier sees only commitments (m, h, round polynomials, openings) and Σ-protocol
// responses. Revealed: T, N and the table (public anyway).
//
// Costs: committing h is an MSM with full-size scalars (T·N of them); the sumcheck is over
// 2^(tv+nv) entries with degree 3. The key must commit vectors of 256 entries.
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

inline constexpr uint32_t kLookupTableSize = 256;

struct LookupStatement {
  uint32_t rows = 0;          // T
  uint32_t cols = 0;          // N
  std::vector<int8_t> table;  // 256 entries; entry j is the output for input j − 128
  HyraxCommitment input;      // [T, N], int8
  HyraxCommitment output;     // [T, N], int8
};

struct LookupWitness {
  std::span<const int8_t> input;
  std::span<const int8_t> output;
  std::vector<Scalar> input_blinds, output_blinds;
};

struct LookupProof {
  HyraxCommitment multiplicities;  // 1 × 256
  HyraxCommitment inverses;        // T × N
  ZkSumcheckProof sumcheck;
  HyraxEvaluationProof inverse_opening, input_opening, output_opening;
  Point product_commitment;
  ProductProof product;
  EqualityProof final_equal;
  HyraxEvaluationProof inverse_sum, table_sum;
  EqualityProof sums_equal;
};

// Y as Lookup defines it.
std::vector<int8_t> LookupReference(std::span<const int8_t> input, std::span<const int8_t> table);

Status CheckLookupStatement(const CommitmentKey& key, const LookupStatement& statement);
Result<LookupProof> ProveLookup(const CommitmentKey& key, const LookupStatement& statement,
                                const LookupWitness& witness, Transcript* transcript,
                                ThreadPool* pool = nullptr);  // pool: commitments only
// `batch`: as for VerifyLinear (nullptr checks everything here).
Status VerifyLookup(const CommitmentKey& key, const LookupStatement& statement,
                    const LookupProof& proof, Transcript* transcript,
                    BatchVerifier* batch = nullptr);

void WriteLookupProof(std::vector<uint8_t>* out, const LookupProof& proof);
Result<LookupProof> ReadLookupProof(ZkReader* in, const LookupStatement& statement);

}  // namespace veil::zk
