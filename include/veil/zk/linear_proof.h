// Zero-knowledge proof of a quantized Linear layer's accumulators (docs/arithmetic.md,
// "Linear"): for committed input X [T, K] (int8), committed weights W [N, K] (int8) and
// bias b [N] (int32) from the model commitment, and a committed accumulator matrix
// A [T, N] (int32), the proof shows
//
//     A[t][n] = b[n] + Σ_k X[t][k] · W[n][k]      for every t < T, n < N.
//
// Protocol (all commitments Hyrax, hyrax.h; all messages hiding):
//   1. The transcript absorbs the statement: shapes and every commitment.
//   2. Challenges r_t (log T coordinates) and r_n (log N).
//   3. The prover opens A at (r_t, r_n) and b at (r_n), obtaining committed values C_A, C_b.
//      With e_T = Σ_{t<T} eq(r_t, t) (public), the claim commitment is C_A − e_T·C_b, a
//      commitment to Σ_k X̃(r_t, k) · W̃(r_n, k) (rows t >= T of A are zero padding, which is
//      why the bias enters with weight e_T rather than 1).
//   4. A committed (zero-knowledge) sumcheck over k (log K rounds, degree 2) reduces that to
//      a commitment F to X̃(r_t, r_k) · W̃(r_n, r_k).
//   5. The prover opens X at (r_t, r_k) and W at (r_n, r_k) and proves with a ProductProof
//      that F commits to the product of the two opened values.
// Soundness error ≈ (log T + log N + 2 log K)/l from Schwartz–Zippel, plus the binding of
// Pedersen commitments (discrete log) and Fiat–Shamir in the ROM.
//
// NOT YET PROVEN: the requantization y = Requantize(A, M, s, act_min, act_max) that turns A
// into the layer's int8 output (it needs a range/lookup argument). This proof binds the
// accumulators only; docs/zk.md lists the gap.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "veil/zk/sumcheck.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

// Tokens per commitment row (`group` = G > 1, a per-sample input [G, K] in a segment): the
// input is committed as [T, G·K] and the accumulator as [T, G·N] (row t holds tokens
// (t, 0..G)), K and N must be powers of two, and the proof runs over the T·G tokens: r_t gets
// log T + ⌈log G⌉ coordinates (token (t, g) is virtual row t·2^⌈log G⌉ + g, so the openings of
// the [T, G·K] and [T, G·N] commitments are at the same points as those of [T·G, K] and
// [T·G, N] would be) and e_T = PrefixEqSum(r_t's first log T, T)·PrefixEqSum(rest, G).
// G = 1 is the plain statement (same transcript and bytes).
struct LinearStatement {
  uint32_t tokens = 0;          // T
  uint32_t in_features = 0;     // K
  uint32_t out_features = 0;    // N
  uint32_t group = 1;           // G: tokens per row
  HyraxCommitment weight;       // [N, K]
  HyraxCommitment bias;         // [1, N]
  HyraxCommitment input;        // [T, G·K]
  HyraxCommitment accumulator;  // [T, G·N]
};

// The prover's secrets: the values behind each commitment and their row blinds.
struct LinearWitness {
  std::span<const int8_t> input;         // T·G·K
  std::span<const int8_t> weight;        // N·K
  std::span<const int32_t> bias;         // N
  std::span<const int32_t> accumulator;  // T·G·N
  std::vector<Scalar> input_blinds, weight_blinds, bias_blinds, accumulator_blinds;
};

struct LinearProof {
  HyraxEvaluationProof accumulator_opening;
  HyraxEvaluationProof bias_opening;
  ZkSumcheckProof sumcheck;
  HyraxEvaluationProof input_opening;
  HyraxEvaluationProof weight_opening;
  ProductProof product;
};

// A = X·Wᵀ + b in int32 (exact under the graph's accumulator bound).
std::vector<int32_t> LinearAccumulators(std::span<const int8_t> input,
                                        std::span<const int8_t> weight,
                                        std::span<const int32_t> bias, size_t tokens,
                                        size_t in_features, size_t out_features);

// Checks the statement's shapes against each other and the key. kCorrupt on mismatch.
Status CheckLinearStatement(const CommitmentKey& key, const LinearStatement& statement);

Result<LinearProof> ProveLinear(const CommitmentKey& key, const LinearStatement& statement,
                                const LinearWitness& witness, Transcript* transcript);
// With `batch`, the openings' generator MSMs are deferred into it and the caller checks it;
// without, the proof is checked completely here.
Status VerifyLinear(const CommitmentKey& key, const LinearStatement& statement,
                    const LinearProof& proof, Transcript* transcript,
                    BatchVerifier* batch = nullptr);

void WriteLinearProof(std::vector<uint8_t>* out, const LinearProof& proof);
// The statement fixes the sumcheck's round count.
Result<LinearProof> ReadLinearProof(ZkReader* in, const LinearStatement& statement);

}  // namespace veil::zk
