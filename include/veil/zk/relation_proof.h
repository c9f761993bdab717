// Shared machinery of the ViT op proofs (matmul, softmax, attention, layernorm, transpose):
// entrywise relations between committed matrices that share one batch of rows, proven with
// one committed sumcheck each.
//
// Every matrix here is a Hyrax commitment with B rows (the batch; docs/zk.md "activation
// layout"). A relation lives on a *base layout* [B, N]; each committed matrix enters it
// through a public ColumnMap, a sparse linear map from its columns to the N base columns
// (identity, per-column scaling, broadcast of a per-row value, row sums, a permutation,
// ...). An AffineForm is Σ_i c_i·map_i(M_i) + const (const per base column, on real entries
// only). Maps only reference real columns, so every form is zero on the padding of the
// 2^bv × 2^cv hypercube whatever a prover committed in padding columns.
//
// The multilinear extension of map(M) at (ρ_b, ρ_c) is <eq(ρ_b) ⊗ mapᵀ·eq(ρ_c), M>, a Hyrax
// tensor opening of M's commitment: the verifier never needs a mapped commitment. Terms of
// one form that share a commitment are merged into one opening.
//
//  * ProveWeightedProduct: Σ_x W(x)·P(x)·Q(x) = claim (a commitment), with
//    W(x) = eq(w, (row bits of x, the high cv − free column bits of x)). With free = 0 this
//    is the zero-check weight eq(τ, x); with free > 0 the low column bits are summed over
//    (matrix products, sums of squares). A committed sumcheck (degree 3), then openings of
//    P and Q at its point, a ProductProof and an equality with W̃(ρ)·Z close it.
//  * ProveZeroRelation: P(x)·Q(x) + L(x) = 0 on every entry of the base layout. Challenge τ;
//    the claim is −L̃(τ) (openings of L's terms at τ) and the weighted product above proves
//    Σ_x eq(τ,x)·P·Q = −L̃(τ); a nonzero entry survives with probability (vars)/l. Without
//    P and Q the relation is linear and an equality proof shows L̃(τ) = 0.
// Soundness is that of the sumcheck plus the binding of the commitments. Every message is a
// commitment or a Σ-protocol response (zero-knowledge as the other proofs). Callers make the
// relations integer relations by range-checking every committed quantity so that no side of
// the equation can wrap around l.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "veil/zk/sumcheck.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

// base[b][e.base] += e.weight · source[b][e.source] for every entry e, and for every block k
// base[b][j] += k.weight · Σ_{i in k's source range} source[b][i] for j in k's base range
// (row sums in O(N) instead of O(N·C) entries).
struct ColumnMap {
  struct Entry {
    uint32_t base = 0, source = 0;
    Scalar weight;
  };
  struct Block {
    uint32_t base_begin = 0, base_count = 0, source_begin = 0, source_count = 0;
    Scalar weight;
  };
  uint32_t base_cols = 0, source_cols = 0;
  std::vector<Entry> entries;
  std::vector<Block> blocks;

  static ColumnMap Identity(uint32_t cols);
  // base column j reads weight[j]·source[j].
  static ColumnMap Scaled(std::span<const Scalar> weights);
  // Base [R·C] from a per-row source [R]: base column r·C + c reads source r.
  static ColumnMap Broadcast(uint32_t rows, uint32_t cols);
  // Base [R·C] from source [R·C]: base column r·C + c reads Σ_{c'} source[r·C + c'].
  static ColumnMap RowSumBroadcast(uint32_t rows, uint32_t cols);
  // Base [R] from source [R·C]: base column r reads Σ_c source[r·C + c].
  static ColumnMap RowSum(uint32_t rows, uint32_t cols);
};

struct RelationTerm {
  const HyraxCommitment* commitment = nullptr;
  const HyraxWitness* witness = nullptr;  // prover only
  const ColumnMap* map = nullptr;         // owned by the caller
  Scalar coefficient = Scalar::One();
};

struct AffineForm {
  std::vector<RelationTerm> terms;
  std::vector<Scalar> constant;  // one per base column, or empty (zero)
  bool empty() const { return terms.empty() && constant.empty(); }
  AffineForm& Add(const HyraxCommitment* c, const HyraxWitness* w, const ColumnMap* map,
                  const Scalar& coefficient = Scalar::One()) {
    terms.push_back({c, w, map, coefficient});
    return *this;
  }
  // Adds `value` to the constant of every base column (of `cols`).
  AffineForm& AddConstant(const Scalar& value, uint32_t cols);
  // Appends every term and constant of `other` scaled by `factor`.
  AffineForm& AddScaled(const AffineForm& other, const Scalar& factor);
};

struct RelationLayout {
  uint32_t rows = 0;       // B
  uint32_t cols = 0;       // N: base columns
  uint32_t free_vars = 0;  // low column variables not weighted by W (weighted products)
  uint32_t row_vars() const;
  uint32_t col_vars() const;
};

// A form opened at a point: one evaluation proof per distinct commitment.
struct FormOpening {
  std::vector<HyraxEvaluationProof> proofs;
  CommittedValue value;  // prover only
};

struct RelationProof {
  std::vector<HyraxEvaluationProof> claim_openings;  // L at τ (zero relations)
  uint32_t has_product = 0;
  ZkSumcheckProof sumcheck;
  std::vector<HyraxEvaluationProof> p_openings, q_openings;
  Point product_commitment;
  ProductProof product;
  EqualityProof final_equal;  // the sumcheck's end, or L̃(τ) = 0 without a product
};

// Opens form at point = (row vars, col vars) of the layout.
Result<FormOpening> ProveFormAt(const CommitmentKey& key, const RelationLayout& layout,
                                const AffineForm& form, std::span<const Scalar> point,
                                Transcript* transcript);
// On success, the commitment to the form's value at the point.
Result<Point> VerifyFormAt(const CommitmentKey& key, const RelationLayout& layout,
                           const AffineForm& form, std::span<const Scalar> point,
                           std::span<const HyraxEvaluationProof> proofs, Transcript* transcript,
                           BatchVerifier* batch);

// weight_point has row_vars + col_vars − free_vars coordinates.
Result<RelationProof> ProveWeightedProduct(const CommitmentKey& key, const RelationLayout& layout,
                                           std::span<const Scalar> weight_point,
                                           const AffineForm& p, const AffineForm& q,
                                           const CommittedValue& claim, Transcript* transcript);
Status VerifyWeightedProduct(const CommitmentKey& key, const RelationLayout& layout,
                             std::span<const Scalar> weight_point, const AffineForm& p,
                             const AffineForm& q, const Point& claim, const RelationProof& proof,
                             Transcript* transcript, BatchVerifier* batch);

// P·Q + L = 0 entrywise (layout.free_vars must be 0). P and Q both empty: L = 0.
Result<RelationProof> ProveZeroRelation(const CommitmentKey& key, const RelationLayout& layout,
                                        const AffineForm& p, const AffineForm& q,
                                        const AffineForm& l, Transcript* transcript);
Status VerifyZeroRelation(const CommitmentKey& key, const RelationLayout& layout,
                          const AffineForm& p, const AffineForm& q, const AffineForm& l,
                          const RelationProof& proof, Transcript* transcript, BatchVerifier* batch);

void WriteRelationProof(std::vector<uint8_t>* out, const RelationProof& p);
Result<RelationProof> ReadRelationProof(ZkReader* in);

// Small helpers shared by the op proofs.
// Com(M + offset) on the first `cols` columns of every row, from Com(M) (same blinds).
HyraxCommitment OffsetCommitment(const CommitmentKey& key, const HyraxCommitment& c, uint32_t cols,
                                 int64_t offset);
// Absorbs a protocol tag.
void AbsorbProtocol(Transcript* t, std::string_view tag);

}  // namespace veil::zk
