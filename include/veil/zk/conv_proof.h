// Zero-knowledge proof of a Conv2d layer's accumulators (docs/arithmetic.md, "Conv2d",
// group 1): for a committed int8 input X [B, C·H·W] (per-sample row-major [C, H, W]), the
// committed weight W [O, K] (K = C·KH·KW, row-major [C, KH, KW]) and bias b [1, O] of the
// model commitment, and a committed accumulator A [B, O·P] (P = OH·OW, column j = o·P + p),
//
//     A[b][o·P + p] = bias[o] + Σ_k X'[b][p][k] · W[o][k]
//
// where X' is the implicit im2col matrix: X'[b][p][k] = x̃[c, i·sh − pt + u·dh,
// j·sw − pl + v·dw] for p = (i, j), k = (c, u, v), zero outside the image.
//
// Protocol (transcript: protocol tag "veil/zk/conv/v1", geometry and all four commitments
// first; every challenge is drawn after everything it depends on is absorbed):
//   1. challenges r_b (log B), r_j (log O·P coordinates); the prover opens A at (r_b, r_j).
//   2. Layout sumcheck (degree 2) over (o, p) ∈ {0,1}^(lo + lp), o padded to 2^lo ≥ O and p to
//      2^lp ≥ P: Ã(r_b, r_j) = Σ_{o,p} E(o,p)·G(o,p) with the public E(o,p) = eq(r_j, o·P + p)
//      for o < O, p < P (else 0) and G(o,p) = Σ_b eq(r_b, b)·A[b][o·P + p]. It ends at
//      ρ = (ρ_o, ρ_p) with a commitment Z1 to Ẽ(ρ)·G̃(ρ); the verifier evaluates Ẽ(ρ) itself
//      (O(O·P)) and takes C_v = Ẽ(ρ)^(−1)·Z1 as the claim G̃(ρ) = F̃(r_b, ρ_o, ρ_p), where F
//      is the true accumulator tensor [B, O', P'], zero outside b < B, o < O, p < P.
//   3. With the bias opened at ρ_o and s_P = Σ_{p<P} eq(ρ_p, p), e_B = Σ_{b<B} eq(r_b, b):
//      C_v − e_B·s_P·C_bias commits to Σ_k X̃'(r_b, ρ_p, k)·W̃(ρ_o, k); a sumcheck over k
//      (degree 2, lk rounds) reduces it to a commitment Z2 to X̃'(r_b, ρ_p, r_k)·W̃(ρ_o, r_k).
//   4. X̃'(r_b, ρ_p, r_k) = Σ_b eq(r_b, b) Σ_i X[b][i]·w_i with the public
//      w_i = Σ_{(p,k): idx(p,k) = i} eq(ρ_p, p)·eq(r_k, k): a Hyrax tensor opening of X with
//      (eq(r_b), w). W̃(ρ_o, r_k) is a Hyrax opening of the weight; a ProductProof ties both
//      to Z2.
// Soundness: if A differs from F anywhere, Ã(r_b, r_j) differs from F's flat extension at the
// random point except with probability (log B + log OP)/l; the layout sumcheck then ends on a
// false claim about F̃(r_b, ρ) except with probability 2(lo + lp)/l, which the sumcheck over
// k catches except with probability 2·lk/l (plus the binding of the commitments, DL). X's
// int8 range is its producer's obligation, as for Linear (linear_proof.h).
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

struct ConvShape {
  uint32_t c = 0, h = 0, w = 0;    // input [C, H, W]
  uint32_t o = 0, kh = 0, kw = 0;  // weight [O, C, KH, KW]
  uint32_t sh = 1, sw = 1, pt = 0, pl = 0, dh = 1, dw = 1;
  uint32_t oh = 0, ow = 0;  // output [O, OH, OW]

  size_t in_cols() const { return size_t{c} * h * w; }
  size_t k() const { return size_t{c} * kh * kw; }
  size_t p() const { return size_t{oh} * ow; }
  size_t out_cols() const { return size_t{o} * p(); }
  // Input column read by output pixel p for kernel tap k, or -1 in the padding.
  int64_t Index(size_t p, size_t k) const;
};

struct ConvStatement {
  uint32_t batch = 0;
  ConvShape shape;
  HyraxCommitment weight;       // [O, K]
  HyraxCommitment bias;         // [1, O]
  HyraxCommitment input;        // [B, C·H·W]
  HyraxCommitment accumulator;  // [B, O·P]
};

struct ConvWitness {
  std::span<const int8_t> input;
  std::span<const int8_t> weight;
  std::span<const int32_t> bias;
  std::span<const int32_t> accumulator;
  std::vector<Scalar> input_blinds, weight_blinds, bias_blinds, accumulator_blinds;
};

struct ConvProof {
  HyraxEvaluationProof accumulator_opening;
  ZkSumcheckProof layout;
  HyraxEvaluationProof bias_opening;
  ZkSumcheckProof sumcheck;
  HyraxEvaluationProof input_opening, weight_opening;
  ProductProof product;
};

std::vector<int32_t> ConvAccumulators(const ConvShape& s, std::span<const int8_t> input,
                                      std::span<const int8_t> weight, std::span<const int32_t> bias,
                                      size_t batch);

Status CheckConvStatement(const CommitmentKey& key, const ConvStatement& statement);
Result<ConvProof> ProveConv(const CommitmentKey& key, const ConvStatement& statement,
                            const ConvWitness& witness, Transcript* transcript);
Status VerifyConv(const CommitmentKey& key, const ConvStatement& statement, const ConvProof& proof,
                  Transcript* transcript, BatchVerifier* batch = nullptr);

void WriteConvProof(std::vector<uint8_t>* out, const ConvProof& proof);
Result<ConvProof> ReadConvProof(ZkReader* in, const ConvShape& shape);

}  // namespace veil::zk
