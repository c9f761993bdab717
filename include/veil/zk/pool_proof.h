// Zero-knowledge proofs of the pooling ops (docs/arithmetic.md, "AvgPool2d", "ReduceMean",
// "MaxPool2d") over committed int8 activations X [B, I] and Y [B, J] (per-sample row-major).
// The geometry is public: a `PoolWindows` lists, for every output column j, the input columns
// its window reads (in-bounds elements only) and, for the means, the divisor n_j.
//
// Mean (AvgPool2d, ReduceMean; protocol "veil/zk/mean/v1"): y = RoundDiv(S, n) with
// S = Σ_{i ∈ win(j)} x_i, i.e. y = floor((2S + n) / 2n). The prover commits the remainder
// R = 2S + n − 2n·y (honestly in [0, 2n)) and proves
//   * one digit range proof (digit_range_proof.h) over R, (2n − 1) − R and Y + 128, all
//     derived from Com(R) and Com(Y) homomorphically except R itself: R and 2n − 1 − R in
//     [0, 2^w) with 2^w ≥ 2n (their sum is 2n − 1, so 0 ≤ R ≤ 2n − 1) and Y ∈ [−128, 128);
//   * the linear identity R + 2n∘Y − n = 2·S(X) at a random point (r_b, r_c) drawn after
//     Com(R): Hyrax openings of R at r, Y as a tensor with (eq(r_b), 2n∘eq(r_c)), X as a
//     tensor with (eq(r_b), w), w_i = 2·Σ_{j: i ∈ win(j)} eq(r_c, j), and an EqualityProof
//     that Com(R̃) + Com(Y') − (e_B·Σ_j eq(r_c, j)·n_j)·g − Com(X') commits to 0.
//   All values are integers far below l/2, so the field identity is the integer one and, with
//   the ranges, forces y = floor((2S + n)/2n) (error: Schwartz–Zippel (log B + log J)/l plus
//   the digit range proof's).
//
// Max (MaxPool2d; protocol "veil/zk/max/v1"): the window of output j has E = KH·KW taps;
// tap e reads input column tap(j, e) (a tap in the padding reads the window's first in-bounds
// element instead, which changes no maximum). The prover commits D_e = Y − X∘tap_e for every
// e (E matrices [B, J]) and proves
//   * D_e ∈ [0, 2^8) (digit range proofs, up to 8 matrices each);
//   * Σ_e γ_e·D_e = (Σ_e γ_e)·Y − Σ_e γ_e·X∘tap_e at a random point (γ, r after the D_e are
//     committed): the verifier forms Com(Σ γ_e D_e − Γ·Y) row by row, the prover opens it at
//     r and X as a tensor, and an EqualityProof shows the two openings sum to 0;
//   * Π_e D_e = 0 entrywise: a committed zero-check sumcheck Σ_x eq(τ, x)·Π_e D̃_e(x) = 0
//     (degree E + 1 ≤ 8) closed by openings of every D_e at the sumcheck point, a chain of
//     E − 1 ProductProofs and an equality with eq(τ, r)·Z.
//   Hence y − x_e ≥ 0 for every tap (y ≥ max) and y = x_e for some tap (y ≤ max): y is the
//   window's maximum, an integer in [−127, 127]. Kernels with more than 7 taps are refused.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/digit_range_proof.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "veil/zk/sumcheck.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

inline constexpr uint32_t kMaxPoolTaps = 7;

// Public window structure: output column j reads index[begin[j] .. begin[j+1]).
struct PoolWindows {
  uint32_t in_cols = 0, out_cols = 0;
  std::vector<uint32_t> begin;    // out_cols + 1 entries
  std::vector<uint32_t> index;    // input columns
  std::vector<uint32_t> divisor;  // means: n_j per output column
  uint32_t taps = 0;              // max: every window has exactly `taps` entries
};

// 2-D windows over [C, H, W] (kernel, strides, pads as the pooling ops take them). For max
// pooling (`fixed_taps`), each window lists all KH·KW taps with padding taps replaced by the
// window's first in-bounds element. `count_include_pad` picks the mean divisor.
PoolWindows Pool2dWindows(uint32_t c, uint32_t h, uint32_t w, uint32_t kh, uint32_t kw, uint32_t sh,
                          uint32_t sw, uint32_t pt, uint32_t pl, uint32_t oh, uint32_t ow,
                          bool fixed_taps, bool count_include_pad);
// ReduceMean over the given per-sample axes of `shape` (row-major), divisor = reduced count.
PoolWindows ReduceWindows(std::span<const int64_t> shape, std::span<const int64_t> axes);
Status CheckPoolWindows(const PoolWindows& w, bool max);

struct PoolStatement {
  uint32_t rows = 0;  // B
  const PoolWindows* windows = nullptr;
  HyraxCommitment input;   // [B, I]
  HyraxCommitment output;  // [B, J]
};

struct PoolWitness {
  std::span<const int8_t> input, output;
  std::vector<Scalar> input_blinds, output_blinds;
};

struct MeanProof {
  HyraxCommitment remainder;
  DigitRangeProof ranges;
  HyraxEvaluationProof remainder_opening, output_opening, input_opening;
  EqualityProof identity;
};

struct MaxProof {
  std::vector<HyraxCommitment> diffs;   // E
  std::vector<DigitRangeProof> ranges;  // ceil(E / 8)
  HyraxEvaluationProof combined_opening, input_opening;
  EqualityProof identity;
  ZkSumcheckProof zero_check;
  std::vector<HyraxEvaluationProof> diff_openings;  // E
  std::vector<Point> partial_products;              // E − 1
  std::vector<ProductProof> products;               // E − 1
  EqualityProof final_equal;
};

// The honest outputs.
std::vector<int8_t> MeanReference(const PoolWindows& w, std::span<const int8_t> input, size_t rows);
std::vector<int8_t> MaxReference(const PoolWindows& w, std::span<const int8_t> input, size_t rows);

Result<MeanProof> ProveMean(const CommitmentKey& key, const PoolStatement& statement,
                            const PoolWitness& witness, Transcript* transcript,
                            ThreadPool* pool = nullptr);
Status VerifyMean(const CommitmentKey& key, const PoolStatement& statement, const MeanProof& proof,
                  Transcript* transcript, BatchVerifier* batch = nullptr);
void WriteMeanProof(std::vector<uint8_t>* out, const MeanProof& proof);
Result<MeanProof> ReadMeanProof(ZkReader* in, const PoolStatement& statement);

Result<MaxProof> ProveMax(const CommitmentKey& key, const PoolStatement& statement,
                          const PoolWitness& witness, Transcript* transcript,
                          ThreadPool* pool = nullptr);
Status VerifyMax(const CommitmentKey& key, const PoolStatement& statement, const MaxProof& proof,
                 Transcript* transcript, BatchVerifier* batch = nullptr);
void WriteMaxProof(std::vector<uint8_t>* out, const MaxProof& proof);
Result<MaxProof> ReadMaxProof(ZkReader* in, const PoolStatement& statement);

}  // namespace veil::zk
