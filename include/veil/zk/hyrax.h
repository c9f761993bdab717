// Hyrax polynomial commitment (Wahby et al., S&P 2018, §6) for multilinear polynomials:
// transparent, hiding, with zero-knowledge evaluation proofs.
//
// A matrix M with `rows` rows of `cols` entries (rows <= 2^row_vars, cols <= 2^col_vars;
// missing entries are zero) is the multilinear polynomial over row_vars + col_vars
// variables described in multilinear.h. Its commitment is one Pedersen vector commitment per
// row, T_i = Σ_j M[i][j]·G_j + r_i·h (key from sigma.h). To open at (r_row, r_col) with
// L = eq(r_row) and R = eq(r_col), both sides compute T' = Σ_i L_i·T_i, a commitment to
// v⃗ = Lᵀ·M with blind Σ L_i r_i; the prover commits y = <v⃗, R> = M̃(r_row, r_col) as
// Y = Com(y; r_y) and proves <v⃗, R> = y with a DotProductProof. The evaluation itself is
// never revealed: it stays inside Y for further Σ-protocols.
//
// Costs: commitment = rows MSMs of cols points (int8 entries: one mixed addition each);
// proof = one point + 2^col_vars + 2 scalars + 2 points; verification = an MSM over the rows
// plus an MSM over 2^col_vars generators.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"
#include "veil/zk/serialize.h"
#include "veil/zk/sigma.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

// Hard limits that bound allocations when decoding untrusted commitments and proofs.
inline constexpr uint32_t kHyraxMaxVars = 24;  // per side: 16M rows or columns

struct HyraxCommitment {
  uint32_t row_vars = 0;
  uint32_t col_vars = 0;
  std::vector<Point> rows;  // rows.size() <= 2^row_vars; absent rows commit to zero

  bool operator==(const HyraxCommitment& o) const {
    return row_vars == o.row_vars && col_vars == o.col_vars && rows == o.rows;
  }
};

// The prover's view of a committed matrix: entries as field elements (rows × cols, row-major,
// unpadded) and the row blinds.
struct HyraxWitness {
  uint32_t row_vars = 0;
  uint32_t col_vars = 0;
  size_t rows = 0;
  size_t cols = 0;
  std::vector<Scalar> values;
  std::vector<Scalar> blinds;
};

// Blind number `index` for the commitment named `label`, derived from a 32-byte secret seed:
// FromBytesWide(SHA-512("veil/zk/blind/v1" || seed || LE64(|label|) || label || LE64(index))).
// A model owner keeps only the seed; the blinds are uniform to anyone without it (ROM).
Scalar DeriveBlind(std::span<const uint8_t, 32> seed, std::string_view label, uint64_t index);

// Commits to int8 / int32 / field matrices (rows × cols, row-major). `blinds` has one entry per
// row. Requires cols <= key.max_vector_length(). Rows are committed in parallel on `pool`.
Result<HyraxCommitment> HyraxCommitInt8(const CommitmentKey& key, std::span<const int8_t> values,
                                        size_t rows, size_t cols, std::span<const Scalar> blinds,
                                        ThreadPool* pool = nullptr);
Result<HyraxCommitment> HyraxCommitInt32(const CommitmentKey& key, std::span<const int32_t> values,
                                         size_t rows, size_t cols, std::span<const Scalar> blinds,
                                         ThreadPool* pool = nullptr);
Result<HyraxCommitment> HyraxCommitScalars(const CommitmentKey& key, std::span<const Scalar> values,
                                           size_t rows, size_t cols, std::span<const Scalar> blinds,
                                           ThreadPool* pool = nullptr);

// Ok if `c` commits a rows × cols matrix (row count and both variable counts); else
// kCorrupt naming `what`.
Status CheckHyraxShape(const HyraxCommitment& c, size_t rows, size_t cols, const std::string& what);

// Builds the witness of a field matrix (rows × cols, row-major, unpadded).
HyraxWitness MakeWitnessScalars(std::vector<Scalar> values, size_t rows, size_t cols,
                                std::vector<Scalar> blinds);
HyraxWitness MakeWitnessInt64(std::span<const int64_t> values, size_t rows, size_t cols,
                              std::vector<Scalar> blinds);
// n fresh row blinds from the OS CSPRNG.
std::vector<Scalar> FreshBlinds(size_t n);
// Builds the witness of an int8/int32 matrix (values converted to field elements).
HyraxWitness MakeWitnessInt8(std::span<const int8_t> values, size_t rows, size_t cols,
                             std::vector<Scalar> blinds);
HyraxWitness MakeWitnessInt32(std::span<const int32_t> values, size_t rows, size_t cols,
                              std::vector<Scalar> blinds);

struct HyraxEvaluationProof {
  Point evaluation;  // Com(M̃(point); r_y)
  DotProductProof proof;
};

// Proves the evaluation of the committed matrix at point = (r_row || r_col). Returns the
// proof and, for the prover, the committed evaluation (value and blind).
struct HyraxOpening {
  HyraxEvaluationProof proof;
  CommittedValue evaluation;
};
Result<HyraxOpening> HyraxProveEvaluation(const CommitmentKey& key,
                                          const HyraxCommitment& commitment,
                                          const HyraxWitness& witness,
                                          std::span<const Scalar> point, Transcript* transcript);
// Checks the proof; on success proof.evaluation is a binding commitment to M̃(point).
// With `batch`, the generator MSM is deferred into it (see BatchVerifier).
Status HyraxVerifyEvaluation(const CommitmentKey& key, const HyraxCommitment& commitment,
                             std::span<const Scalar> point, const HyraxEvaluationProof& proof,
                             Transcript* transcript, BatchVerifier* batch = nullptr);

// The general form: proves Y commits to Σ_ij left_i·M_ij·right_j for public vectors with
// left.size() == 2^row_vars and right.size() == 2^col_vars (an evaluation is the case
// left = eq(r_row), right = eq(r_col)). The transcript absorbs both vectors.
Result<HyraxOpening> HyraxProveTensor(const CommitmentKey& key, const HyraxCommitment& commitment,
                                      const HyraxWitness& witness, std::span<const Scalar> left,
                                      std::span<const Scalar> right, Transcript* transcript);
Status HyraxVerifyTensor(const CommitmentKey& key, const HyraxCommitment& commitment,
                         std::span<const Scalar> left, std::span<const Scalar> right,
                         const HyraxEvaluationProof& proof, Transcript* transcript,
                         BatchVerifier* batch = nullptr);

void WriteHyraxCommitment(std::vector<uint8_t>* out, const HyraxCommitment& c);
Result<HyraxCommitment> ReadHyraxCommitment(ZkReader* in);
void WriteHyraxEvaluationProof(std::vector<uint8_t>* out, const HyraxEvaluationProof& p);
Result<HyraxEvaluationProof> ReadHyraxEvaluationProof(ZkReader* in);

}  // namespace veil::zk
