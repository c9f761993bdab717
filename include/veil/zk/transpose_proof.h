// Zero-knowledge proof of Transpose (docs/arithmetic.md, "Reshape, Transpose, ..."): a pure
// permutation of the per-sample columns of an activation.
//
// Statement: committed input x [B, N] and output y [B, N] (N = Π shape), the per-sample input
// shape and perm (ONNX semantics: output dim i is input dim perm[i]). With π(j) the input
// column that output column j reads, the claim is y[b, j] = x[b, π(j)] for all b, j.
// Protocol (relation_proof.h, a linear zero relation): challenge τ = (τ_b, τ_c); the prover
// opens y at τ and x with the public right vector (Σ_j eq(τ_c, j)·[π(j) = i])_i (a Hyrax
// tensor opening), and an equality proof shows the two committed values are equal. The
// matrix y − x∘π has a zero multilinear extension at a random point, so it is zero (error
// (log B + log N)/l). No range check is needed (y's entries equal x's). Revealed: B, shape,
// perm. Entries in y's padding columns (≥ N) are not constrained; consumers never read them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/relation_proof.h"
#include "veil/zk/sigma.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

struct TransposeStatement {
  uint32_t batch = 0;
  std::vector<uint32_t> shape;    // per-sample input shape (rank 1..8)
  std::vector<uint32_t> perm;     // a permutation of 0..rank−1
  HyraxCommitment input, output;  // [B, N] int8
};

struct TransposeWitness {
  std::span<const int8_t> input, output;
  std::vector<Scalar> input_blinds, output_blinds;
};

struct TransposeProof {
  RelationProof relation;
};

// For each output column j, the input column it reads (row-major, ONNX perm semantics).
std::vector<uint32_t> TransposeSources(std::span<const uint32_t> shape,
                                       std::span<const uint32_t> perm);
std::vector<int8_t> TransposeReference(const TransposeStatement& s, std::span<const int8_t> input);

Status CheckTransposeStatement(const CommitmentKey& key, const TransposeStatement& statement);
Result<TransposeProof> ProveTranspose(const CommitmentKey& key, const TransposeStatement& statement,
                                      const TransposeWitness& witness, Transcript* transcript);
Status VerifyTranspose(const CommitmentKey& key, const TransposeStatement& statement,
                       const TransposeProof& proof, Transcript* transcript,
                       BatchVerifier* batch = nullptr);

void WriteTransposeProof(std::vector<uint8_t>* out, const TransposeProof& proof);
Result<TransposeProof> ReadTransposeProof(ZkReader* in, const TransposeStatement& statement);

}  // namespace veil::zk
