// Encrypted int8 Linear layers on BFV: acc = bias + W·x computed on batch-encoded
// ciphertexts with the diagonal method and baby-step/giant-step rotations (docs/he.md,
// "Encrypted linear layers"). The result decrypts to exactly docs/arithmetic.md's int32
// accumulators, provided every |acc| < t/2 (checked when the layer is created).
//
// Roles: the key holder packs and encrypts inputs (EncodeInputs) and decodes results
// (DecodeOutputs); an evaluating node holds only the layer (plaintext weights), an
// Evaluator and the Galois keys for RequiredGaloisSteps().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/context.h"
#include "veil/status.h"

namespace veil::he {

// Batching plaintext modulus for int8 layers: 1073479681 = 16380·2^16 + 1 (prime, 30 bits,
// = 1 mod 2N for every N <= 32768). Exact for |acc| <= (t-1)/2 = 536739840, i.e. K up to
// ~33000 int8·int8 products at full range (784 needs 12.6M). Use it with
// StandardParameters(ParamSet::kN8192 or larger, kLinearPlainModulus).
inline constexpr uint64_t kLinearPlainModulus = 1073479681;

// How vectors are laid out in the slots (all sizes in slots). The input dimension is cut
// into `chunks` chunks of `chunk_in` (a power of two) columns, one ciphertext each; the
// output dimension is padded to `out_pad` (a power of two). There are d = min(out_pad,
// chunk_in) diagonals of length len = max(out_pad, chunk_in); each batch vector occupies a
// block of `stride` = len + d - 1 consecutive slots of a row, holding its chunk repeated
// cyclically, so every rotation the product needs stays inside the block.
struct LinearLayout {
  size_t in_features = 0, out_features = 0;
  size_t chunk_in = 0, chunks = 0, out_pad = 0;
  size_t diagonals = 0, len = 0, stride = 0;
  size_t baby = 0, giant = 0;  // baby * giant >= diagonals
  size_t blocks_per_row = 0;   // floor((N/2) / stride)
  size_t capacity = 0;         // batch vectors per ciphertext = 2 * blocks_per_row
};

class EncryptedLinearLayer {
 public:
  // weight: [out, in] row-major int8; bias: [out] int32. Precomputes every diagonal as an
  // NTT-form plaintext. Refuses layers whose worst-case |acc| = max_n(|b_n| + 128·Σ_k
  // |w_nk|) is not below t/2, contexts without batching, and output sizes whose block does
  // not fit a row.
  static Result<EncryptedLinearLayer> Create(std::shared_ptr<const Context> context,
                                             size_t out_features, size_t in_features,
                                             std::span<const int8_t> weight,
                                             std::span<const int32_t> bias);

  const LinearLayout& layout() const { return layout_; }
  size_t batch_capacity() const { return layout_.capacity; }
  size_t input_ciphertexts() const { return layout_.chunks; }
  // Row-rotation steps (all positive, ascending) Evaluate uses; generate exactly these
  // with KeyGenerator::CreateGaloisKeysForSteps(steps, false).
  std::vector<int> RequiredGaloisSteps() const;
  // Work per Evaluate: key-switching rotations and plaintext products (non-zero diagonals).
  size_t rotations_per_evaluation() const;
  size_t plain_products() const { return products_; }
  // Worst-case |acc| over the outputs (for the t margin).
  int64_t max_abs_accumulator() const { return max_abs_acc_; }

  // Key holder: packs 1..capacity int8 vectors (each of in_features) into input_ciphertexts()
  // plaintexts, to be encrypted and sent.
  Result<std::vector<Plaintext>> EncodeInputs(const BatchEncoder& encoder,
                                              const std::vector<std::vector<int8_t>>& xs) const;
  // Key holder: the int32-valued accumulators [batch][out_features] of a decrypted output.
  Result<std::vector<std::vector<int64_t>>> DecodeOutputs(const BatchEncoder& encoder,
                                                          const Plaintext& plain,
                                                          size_t batch) const;
  // Node: acc = bias + W·x for every packed vector. `inputs` = input_ciphertexts() size-2
  // ciphertexts; gk must hold RequiredGaloisSteps().
  Result<Ciphertext> Evaluate(const Evaluator& evaluator, const std::vector<Ciphertext>& inputs,
                              const GaloisKeys& gk) const;

 private:
  EncryptedLinearLayer() = default;
  std::vector<int> FoldSteps() const;

  std::shared_ptr<const Context> ctx_;
  LinearLayout layout_;
  // diag_[(c * giant + g) * baby + b]: diagonal g*baby+b of chunk c, pre-rotated right by
  // g*baby; present_ marks the non-zero ones.
  std::vector<PlaintextNtt> diag_;
  std::vector<uint8_t> present_;
  Plaintext bias_;
  size_t products_ = 0;
  int64_t max_abs_acc_ = 0;
};

// Conv2d (docs/arithmetic.md; group 1, dilation 1) as packed products. The key holder lowers
// its input to im2col patches — one int8 vector of C·KH·KW values per output position,
// zeros where the window covers padding — and packs them EncryptedLinearLayer-style, many
// patches per ciphertext; the node evaluates the [O, C·KH·KW] weight matrix on every patch.
// acc[o, i, j] = bias[o] + Σ x̃[c, i·sh − pt + u, j·sw − pl + v] · weight[o, c, u, v],
// exactly. The patches repeat each input value up to KH·KW times, so the upload is that much
// larger than the raw input (e.g. 3 ciphertexts instead of 1 for the shipped CNN's first
// layer, 1×28×28 → 16 channels, 3×3, pad 1).
struct Conv2dShape {
  size_t channels = 0, height = 0, width = 0;  // input [C, H, W]
  size_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  size_t stride_h = 1, stride_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

class EncryptedConv2dLayer {
 public:
  // weight: [O, C, KH, KW] row-major int8; bias: [O] int32. Refuses empty or inconsistent
  // shapes, zero strides, pads >= the kernel, kernels larger than the padded input, and
  // layers whose accumulators could reach t/2 (as EncryptedLinearLayer).
  static Result<EncryptedConv2dLayer> Create(std::shared_ptr<const Context> context,
                                             const Conv2dShape& shape,
                                             std::span<const int8_t> weight,
                                             std::span<const int32_t> bias);

  const Conv2dShape& shape() const { return shape_; }
  size_t out_height() const { return out_h_; }
  size_t out_width() const { return out_w_; }
  // Patch groups: each is evaluated as one packed linear product and yields one ciphertext.
  size_t groups() const;
  size_t input_ciphertexts() const { return groups() * linear_->input_ciphertexts(); }
  std::vector<int> RequiredGaloisSteps() const { return linear_->RequiredGaloisSteps(); }
  const EncryptedLinearLayer& linear() const { return *linear_; }

  // Key holder: x [C, H, W] int8 -> input_ciphertexts() plaintexts to encrypt and send.
  Result<std::vector<Plaintext>> EncodeInput(const BatchEncoder& encoder,
                                             std::span<const int8_t> x) const;
  // Node: one result ciphertext per group.
  Result<std::vector<Ciphertext>> Evaluate(const Evaluator& evaluator,
                                           const std::vector<Ciphertext>& inputs,
                                           const GaloisKeys& gk) const;
  // Key holder: the decrypted results (one per group) -> acc [O, OH, OW].
  Result<std::vector<int64_t>> DecodeOutput(const BatchEncoder& encoder,
                                            const std::vector<Plaintext>& outputs) const;

 private:
  EncryptedConv2dLayer() = default;
  Conv2dShape shape_;
  size_t out_h_ = 0, out_w_ = 0;
  std::optional<EncryptedLinearLayer> linear_;
};

}  // namespace veil::he
