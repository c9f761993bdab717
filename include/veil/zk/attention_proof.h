// Zero-knowledge proof of the fused Attention op (docs/arithmetic.md, "Attention"), composed
// from the MatMul product core (matmul_proof.h), requantization (requantize_proof.h) and
// Softmax (softmax_proof.h).
//
// Statement: committed int8 q [B, Tq·H·D], k, v [B, Tk·H·D] and output y [B, Tq·H·D]; public
// heads H, causal, score_multiplier/score_shift, exp_table, multiplier/shift, act_min/act_max.
// The prover commits the score accumulators Z_acc [B, H·Tq·Tk] (int32), the scores z and the
// probabilities p [B, H·Tq·Tk] (int8, per sample [H, Tq, Tk]) and the output accumulators
// O_acc [B, Tq·H·D] (int32); the transcript absorbs all of them before any challenge. Then:
//   1. product core: Z_acc[h, i, j] = Σ_d q[i, h·D + d]·k[j, h·D + d]   (G = H groups);
//   2. z = Requantize(Z_acc, score_multiplier, score_shift, −127, 127);
//   3. p = Softmax of each row (h, i) of z over its allowed keys j < i + Tk − Tq + 1 (all Tk
//      when not causal), p = 0 elsewhere (the Softmax proof's allowed prefixes);
//   4. product core: O_acc[i, h·D + d] = Σ_j p[h, i, j]·v[j, h·D + d];
//   5. y = Requantize(O_acc, multiplier, shift, act_min, act_max).
// Each step is sound on its own (see the sub-proofs); the chaining is by shared commitments.
// The requantization proofs range-check z and y, the Softmax proof p ∈ [0, 2^8), and
// |Z_acc| ≤ D·127², |O_acc| ≤ Tk·127·127 < 2^31 (checked on the statement), which is what the
// requantization's integer argument needs. Revealed: shapes, H, causal and the public
// parameters; scores, probabilities and accumulators stay committed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/matmul_proof.h"
#include "veil/zk/requantize_proof.h"
#include "veil/zk/sigma.h"
#include "veil/zk/softmax_proof.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

struct AttentionStatement {
  uint32_t batch = 0, tq = 0, tk = 0, heads = 0, dim = 0;  // B, Tq, Tk, H, D
  bool causal = false;
  int64_t score_multiplier = 0, score_shift = 0, multiplier = 0, shift = 0;
  std::vector<int32_t> exp_table;  // 256 entries (Softmax's rules)
  int32_t act_min = -127, act_max = 127;
  HyraxCommitment q, k, v;  // [B, Tq·H·D], [B, Tk·H·D], [B, Tk·H·D] int8
  HyraxCommitment output;   // [B, Tq·H·D] int8
};

struct AttentionWitness {
  std::span<const int8_t> q, k, v, output;
  std::vector<Scalar> q_blinds, k_blinds, v_blinds, output_blinds;
};

struct AttentionProof {
  HyraxCommitment score_accumulator, scores, probabilities, output_accumulator;
  ProductCoreProof score_product;
  RequantizeProof score_requantize;
  SoftmaxProof softmax;
  ProductCoreProof value_product;
  RequantizeProof output_requantize;
};

// y as Attention defines it.
std::vector<int8_t> AttentionReference(const AttentionStatement& s, std::span<const int8_t> q,
                                       std::span<const int8_t> k, std::span<const int8_t> v);

Status CheckAttentionStatement(const CommitmentKey& key, const AttentionStatement& statement);
Result<AttentionProof> ProveAttention(const CommitmentKey& key, const AttentionStatement& statement,
                                      const AttentionWitness& witness, Transcript* transcript,
                                      ThreadPool* pool = nullptr);
Status VerifyAttention(const CommitmentKey& key, const AttentionStatement& statement,
                       const AttentionProof& proof, Transcript* transcript,
                       BatchVerifier* batch = nullptr);

void WriteAttentionProof(std::vector<uint8_t>* out, const AttentionProof& proof);
Result<AttentionProof> ReadAttentionProof(ZkReader* in, const AttentionStatement& statement);

}  // namespace veil::zk
