// Zero-knowledge proof of MatMul between two committed activations (docs/arithmetic.md,
// "MatMul"), and the batched product core that Attention reuses.
//
// Layout (docs/zk.md): a [B, M·K] commitment holds per sample b the row-major [M, K] matrix a,
// b is [B, K·N] ([B, N·K] with transpose_b), the output y is [B, M·N]:
//
//     acc[b, m, n] = Σ_k a[b, m, k] · b'[b, k, n],   y = Requantize(acc, M, s, act_min, act_max)
//
// Product core (any ProductLayout: G groups of [M,K]×[K,N] products per sample, each operand
// and the result addressed through public column indices — MatMul is G = 1, attention's
// q·kᵀ and p·v are G = heads):
//   1. the caller has absorbed the statement and the accumulator commitment C;
//   2. challenge r = (r_b, r_g, r_m, r_n); the prover opens C at r (a tensor opening of C with
//      right vector eq(r_g, g)·eq(r_m, m)·eq(r_n, n) at column c_index(g, m, n));
//   3. a weighted committed sumcheck (relation_proof.h) over (b, g, k) proves
//          Σ_{b,g,k} eq((r_b, r_g), (b, g)) · Ã_m(b, g, k) · B̃_n(b, g, k) = C̃(r)
//      with Ã_m(b, g, k) = Σ_m eq(r_m, m)·a[b, a_index(g, m, k)] (likewise B̃_n), closed by
//      tensor openings of a and b at the sumcheck point and a ProductProof.
//   The difference C − Σ_k A·B, as a multilinear polynomial in (b, g, m, n), vanishes at a
//   random point, so it is zero (error (vars)/l). No range check is needed: a and b are int8
//   activations range-checked by their producers (as for Linear), C is bound to Σ a·b exactly
//   in the field, and |C| ≤ K·127² < 2^31 (checked on the statement) makes the
//   requantization's integer argument valid.
// MatMul then proves y = Requantize(acc) with requantize_proof.h (per-tensor M, s repeated
// over the M·N columns). Revealed: shapes, transpose_b, M, s, bounds; everything else hidden.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/relation_proof.h"
#include "veil/zk/requantize_proof.h"
#include "veil/zk/sigma.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

// C[c_index(g,m,n)] = Σ_k A[a_index(g,m,k)]·B[b_index(g,k,n)] within each row (sample).
struct ProductLayout {
  uint32_t groups = 0, m = 0, k = 0, n = 0;
  uint32_t a_cols = 0, b_cols = 0, c_cols = 0;
  std::vector<uint32_t> a_index, b_index, c_index;  // G·M·K, G·K·N, G·M·N (row-major)

  // a [M,K], b [K,N] (or [N,K] with transpose_b), c [M,N].
  static ProductLayout MatMul(uint32_t m, uint32_t k, uint32_t n, bool transpose_b);
  // Attention scores: q [Tq, H·D], k [Tk, H·D] -> s [H, Tq, Tk], s[h,i,j] = Σ_d q_h[i,d]·k_h[j,d].
  static ProductLayout AttentionScores(uint32_t tq, uint32_t tk, uint32_t heads, uint32_t dim);
  // Attention values: p [H, Tq, Tk], v [Tk, H·D] -> o [Tq, H·D], o[i, h·D+d] = Σ_j
  // p[h,i,j]·v_h[j,d].
  static ProductLayout AttentionValues(uint32_t tq, uint32_t tk, uint32_t heads, uint32_t dim);
};

// Checks index ranges and injectivity of c_index; kCorrupt otherwise.
Status CheckProductLayout(const ProductLayout& layout);

struct ProductCoreProof {
  std::vector<HyraxEvaluationProof> accumulator_opening;
  RelationProof product;
};

// The operands' and accumulator's commitments all have `batch` rows; witnesses prover only.
struct ProductCoreInputs {
  const HyraxCommitment *a = nullptr, *b = nullptr, *c = nullptr;
  const HyraxWitness *a_w = nullptr, *b_w = nullptr, *c_w = nullptr;
};
Result<ProductCoreProof> ProveProductCore(const CommitmentKey& key, uint32_t batch,
                                          const ProductLayout& layout, const ProductCoreInputs& in,
                                          Transcript* transcript);
Status VerifyProductCore(const CommitmentKey& key, uint32_t batch, const ProductLayout& layout,
                         const ProductCoreInputs& in, const ProductCoreProof& proof,
                         Transcript* transcript, BatchVerifier* batch_verifier);
void WriteProductCoreProof(std::vector<uint8_t>* out, const ProductCoreProof& p);
Result<ProductCoreProof> ReadProductCoreProof(ZkReader* in);
// acc[c_index] = Σ_k a·b per row (int32; exact under the statement's bound).
std::vector<int32_t> ProductReference(const ProductLayout& layout, std::span<const int8_t> a,
                                      std::span<const int8_t> b, uint32_t batch);

struct MatMulStatement {
  uint32_t batch = 0;  // B
  uint32_t m = 0, k = 0, n = 0;
  bool transpose_b = false;
  int64_t multiplier = 0, shift = 0;
  int32_t act_min = -127, act_max = 127;
  HyraxCommitment a;       // [B, M·K] int8
  HyraxCommitment b;       // [B, K·N] int8 ([B, N·K] with transpose_b)
  HyraxCommitment output;  // [B, M·N] int8
};

struct MatMulWitness {
  std::span<const int8_t> a, b, output;
  std::vector<Scalar> a_blinds, b_blinds, output_blinds;
};

struct MatMulProof {
  HyraxCommitment accumulator;  // [B, M·N] int32
  ProductCoreProof core;
  RequantizeProof requantize;
};

// y as MatMul defines it.
std::vector<int8_t> MatMulReference(const MatMulStatement& s, std::span<const int8_t> a,
                                    std::span<const int8_t> b);

Status CheckMatMulStatement(const CommitmentKey& key, const MatMulStatement& statement);
Result<MatMulProof> ProveMatMul(const CommitmentKey& key, const MatMulStatement& statement,
                                const MatMulWitness& witness, Transcript* transcript,
                                ThreadPool* pool = nullptr);
Status VerifyMatMul(const CommitmentKey& key, const MatMulStatement& statement,
                    const MatMulProof& proof, Transcript* transcript,
                    BatchVerifier* batch = nullptr);

void WriteMatMulProof(std::vector<uint8_t>* out, const MatMulProof& proof);
Result<MatMulProof> ReadMatMulProof(ZkReader* in, const MatMulStatement& statement);

}  // namespace veil::zk
