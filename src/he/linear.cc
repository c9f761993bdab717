// Encrypted int8 Linear layers: diagonal method with baby-step/giant-step rotations.
//
// With d diagonals of length len (see LinearLayout), block-local slot i of the product
// before folding is
//   z[i] = sum_{j<d} diag_j[i] * x_ext[i + j],
//   diag_j[i] = W[i mod out_pad][(i + j) mod chunk_in],  x_ext[s] = x[s mod chunk_in].
// Writing j = g*B + b:  z = sum_g rot_{gB}( sum_b rot_{-gB}(diag_j) * rot_b(x) ), so only
// B - 1 baby rotations of the input (hoisted: one shared digit decomposition) and G - 1
// giant rotations of partial sums are needed.
// When out_pad < chunk_in, z holds chunk_in / out_pad partial sums of each output, summed
// by log2(chunk_in / out_pad) rotate-and-add folds. The baby-step products are accumulated
// in the NTT domain (128-bit lazy sums, one reduction per giant step), so each giant step
// costs one inverse NTT per polynomial.
#include "veil/he/linear.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "keyswitch.h"
#include "veil/he/modarith.h"
#include "veil/he/rns.h"

namespace veil::he {
namespace {

size_t NextPow2(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

size_t StrideFor(size_t out_pad, size_t chunk_in) {
  const size_t d = std::min(out_pad, chunk_in), len = std::max(out_pad, chunk_in);
  return len + d - 1;
}

}  // namespace

Result<EncryptedLinearLayer> EncryptedLinearLayer::Create(std::shared_ptr<const Context> context,
                                                          size_t out_features, size_t in_features,
                                                          std::span<const int8_t> weight,
                                                          std::span<const int32_t> bias) {
  if (!context) return Status::InvalidArgument("EncryptedLinearLayer: null context");
  if (!context->batching_enabled()) {
    return Status::InvalidArgument(
        "EncryptedLinearLayer: the plain modulus does not support batching (needs t prime, "
        "t = 1 mod 2N)");
  }
  if (out_features == 0 || in_features == 0) {
    return Status::InvalidArgument("EncryptedLinearLayer: empty weight matrix");
  }
  if (weight.size() != out_features * in_features || bias.size() != out_features) {
    return Status::InvalidArgument(
        "EncryptedLinearLayer: weight must be [" + std::to_string(out_features) + ", " +
        std::to_string(in_features) + "] and bias [" + std::to_string(out_features) + "], got " +
        std::to_string(weight.size()) + " and " + std::to_string(bias.size()) + " elements");
  }
  const uint64_t t = context->plain_modulus().value();
  int64_t max_acc = 0;
  for (size_t n = 0; n < out_features; ++n) {
    int64_t s = std::llabs(static_cast<int64_t>(bias[n]));
    for (size_t k = 0; k < in_features; ++k) {
      s += 128 * std::llabs(static_cast<int64_t>(weight[n * in_features + k]));
    }
    max_acc = std::max(max_acc, s);
  }
  if (static_cast<uint64_t>(max_acc) > (t - 1) / 2) {
    return Status::InvalidArgument(
        "EncryptedLinearLayer: worst-case |accumulator| " + std::to_string(max_acc) +
        " does not fit the plain modulus t = " + std::to_string(t) +
        " (needs |acc| <= (t-1)/2; use a larger t such as kLinearPlainModulus)");
  }

  const size_t n = context->n(), row = n / 2;
  LinearLayout lay;
  lay.in_features = in_features;
  lay.out_features = out_features;
  lay.out_pad = NextPow2(out_features);
  lay.chunk_in = NextPow2(in_features);
  while (lay.chunk_in > 1 && StrideFor(lay.out_pad, lay.chunk_in) > row) lay.chunk_in >>= 1;
  if (StrideFor(lay.out_pad, lay.chunk_in) > row) {
    return Status::Unsupported("EncryptedLinearLayer: " + std::to_string(out_features) +
                               " outputs do not fit a row of " + std::to_string(row) +
                               " slots (output splitting is not implemented)");
  }
  lay.chunks = (in_features + lay.chunk_in - 1) / lay.chunk_in;
  lay.diagonals = std::min(lay.out_pad, lay.chunk_in);
  lay.len = std::max(lay.out_pad, lay.chunk_in);
  lay.stride = lay.len + lay.diagonals - 1;
  int log_d = 0;
  while ((size_t{1} << log_d) < lay.diagonals) ++log_d;
  lay.baby = size_t{1} << ((log_d + 1) / 2);
  lay.giant = lay.diagonals / lay.baby;
  lay.blocks_per_row = row / lay.stride;
  lay.capacity = 2 * lay.blocks_per_row;

  EncryptedLinearLayer layer;
  layer.ctx_ = context;
  layer.layout_ = lay;
  layer.max_abs_acc_ = max_acc;
  VEIL_ASSIGN_OR_RETURN(BatchEncoder encoder, BatchEncoder::Create(context));
  VEIL_ASSIGN_OR_RETURN(Evaluator evaluator, Evaluator::Create(context));

  const size_t total = lay.chunks * lay.giant * lay.baby;
  layer.diag_.resize(total);
  layer.present_.assign(total, 0);
  std::vector<int64_t> slots(n);
  for (size_t c = 0; c < lay.chunks; ++c) {
    for (size_t g = 0; g < lay.giant; ++g) {
      for (size_t b = 0; b < lay.baby; ++b) {
        const size_t j = g * lay.baby + b;
        std::fill(slots.begin(), slots.end(), 0);
        bool nonzero = false;
        for (size_t blk = 0; blk < lay.capacity; ++blk) {
          const size_t o =
              (blk / lay.blocks_per_row) * row + (blk % lay.blocks_per_row) * lay.stride;
          for (size_t i = 0; i < lay.len; ++i) {
            const size_t r = i % lay.out_pad;
            const size_t col = c * lay.chunk_in + (i + j) % lay.chunk_in;
            if (r >= out_features || col >= in_features) continue;
            const int8_t w = weight[r * in_features + col];
            slots[o + g * lay.baby + i] = w;
            nonzero = nonzero || w != 0;
          }
        }
        if (!nonzero) continue;
        const size_t idx = (c * lay.giant + g) * lay.baby + b;
        VEIL_ASSIGN_OR_RETURN(Plaintext p, encoder.EncodeSigned(slots));
        VEIL_ASSIGN_OR_RETURN(layer.diag_[idx], evaluator.TransformPlain(p));
        layer.present_[idx] = 1;
        ++layer.products_;
      }
    }
  }
  std::fill(slots.begin(), slots.end(), 0);
  for (size_t blk = 0; blk < lay.capacity; ++blk) {
    const size_t o = (blk / lay.blocks_per_row) * row + (blk % lay.blocks_per_row) * lay.stride;
    for (size_t r = 0; r < out_features; ++r) slots[o + r] = bias[r];
  }
  VEIL_ASSIGN_OR_RETURN(layer.bias_, encoder.EncodeSigned(slots));
  return layer;
}

std::vector<int> EncryptedLinearLayer::FoldSteps() const {
  std::vector<int> steps;
  for (size_t s = layout_.len / 2; s >= layout_.out_pad && layout_.len > layout_.out_pad; s /= 2) {
    steps.push_back(static_cast<int>(s));
  }
  return steps;
}

std::vector<int> EncryptedLinearLayer::RequiredGaloisSteps() const {
  std::vector<int> steps;
  for (size_t b = 1; b < layout_.baby; ++b) steps.push_back(static_cast<int>(b));
  for (size_t g = 1; g < layout_.giant; ++g) steps.push_back(static_cast<int>(g * layout_.baby));
  for (int s : FoldSteps()) steps.push_back(s);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

size_t EncryptedLinearLayer::rotations_per_evaluation() const {
  return layout_.chunks * (layout_.baby - 1) + (layout_.giant - 1) + FoldSteps().size();
}

Result<std::vector<Plaintext>> EncryptedLinearLayer::EncodeInputs(
    const BatchEncoder& encoder, const std::vector<std::vector<int8_t>>& xs) const {
  if (xs.empty() || xs.size() > layout_.capacity) {
    return Status::InvalidArgument("EncryptedLinearLayer: batch of " + std::to_string(xs.size()) +
                                   " vectors; this layer packs 1.." +
                                   std::to_string(layout_.capacity) + " per ciphertext");
  }
  for (const auto& x : xs) {
    if (x.size() != layout_.in_features) {
      return Status::InvalidArgument("EncryptedLinearLayer: input of " + std::to_string(x.size()) +
                                     " values, expected " + std::to_string(layout_.in_features));
    }
  }
  const size_t row = ctx_->n() / 2;
  std::vector<Plaintext> out;
  std::vector<int64_t> slots(ctx_->n());
  for (size_t c = 0; c < layout_.chunks; ++c) {
    std::fill(slots.begin(), slots.end(), 0);
    for (size_t v = 0; v < xs.size(); ++v) {
      const size_t o =
          (v / layout_.blocks_per_row) * row + (v % layout_.blocks_per_row) * layout_.stride;
      for (size_t s = 0; s < layout_.stride; ++s) {
        const size_t k = c * layout_.chunk_in + s % layout_.chunk_in;
        if (k < layout_.in_features) slots[o + s] = xs[v][k];
      }
    }
    VEIL_ASSIGN_OR_RETURN(Plaintext p, encoder.EncodeSigned(slots));
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<std::vector<int64_t>>> EncryptedLinearLayer::DecodeOutputs(
    const BatchEncoder& encoder, const Plaintext& plain, size_t batch) const {
  if (batch == 0 || batch > layout_.capacity) {
    return Status::InvalidArgument("EncryptedLinearLayer: batch " + std::to_string(batch) +
                                   " out of range 1.." + std::to_string(layout_.capacity));
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<int64_t> slots, encoder.DecodeSigned(plain));
  const size_t row = ctx_->n() / 2;
  std::vector<std::vector<int64_t>> out(batch);
  for (size_t v = 0; v < batch; ++v) {
    const size_t o =
        (v / layout_.blocks_per_row) * row + (v % layout_.blocks_per_row) * layout_.stride;
    out[v].assign(slots.begin() + static_cast<std::ptrdiff_t>(o),
                  slots.begin() + static_cast<std::ptrdiff_t>(o + layout_.out_features));
  }
  return out;
}

Result<Ciphertext> EncryptedLinearLayer::Evaluate(const Evaluator& evaluator,
                                                  const std::vector<Ciphertext>& inputs,
                                                  const GaloisKeys& gk) const {
  if (inputs.size() != layout_.chunks) {
    return Status::InvalidArgument("EncryptedLinearLayer: expected " +
                                   std::to_string(layout_.chunks) + " input ciphertexts, got " +
                                   std::to_string(inputs.size()));
  }
  const size_t n = ctx_->n(), L = ctx_->data_limbs();
  const std::span<const NttTables> ntt = std::span<const NttTables>(ctx_->key_ntt()).first(L);
  const std::vector<Modulus>& mod = ctx_->data_moduli();
  for (const Ciphertext& in : inputs) {
    VEIL_RETURN_IF_ERROR(ValidateCiphertext(*ctx_, in));
    if (in.size() != 2) {
      return Status::InvalidArgument("EncryptedLinearLayer: inputs must be size-2 ciphertexts");
    }
  }
  if (inputs[0].polys[0].limbs() != L) {
    return Status::InvalidArgument("EncryptedLinearLayer: inputs must be at the top level (" +
                                   std::to_string(L) + " limbs)");
  }
  if (gk.params_id != ctx_->params_id()) {
    return Status::InvalidArgument(
        "EncryptedLinearLayer: Galois keys were made for different "
        "parameters");
  }
  auto key_for = [&](int step) -> Result<const KSwitchKey*> {
    VEIL_ASSIGN_OR_RETURN(uint32_t elt, GaloisEltForRowRotation(n, step));
    auto it = gk.keys.find(elt);
    if (it == gk.keys.end()) {
      return Status::NotFound("EncryptedLinearLayer: no Galois key for a row rotation by " +
                              std::to_string(step));
    }
    VEIL_RETURN_IF_ERROR(internal::CheckKeyShape(*ctx_, it->second));
    return &it->second;
  };
  const size_t B = layout_.baby, G = layout_.giant;
  // Everything below stays in the NTT domain: rotations of NTT-form pairs are a slot
  // permutation plus a key switch whose mod-down ends in NTT form, so the only transforms
  // are the digit decompositions, one forward NTT of each input and one inverse NTT of
  // the result.
  // Baby steps: rot_b(x_c) as NTT pairs, [c * B + b] -> (c0, c1); one digit decomposition
  // of each input's c1 serves all its baby steps (hoisting).
  std::vector<RnsPoly> baby(2 * layout_.chunks * B);
  for (size_t c = 0; c < layout_.chunks; ++c) {
    RnsPoly c0 = inputs[c].polys[0];
    PolyToNtt(c0, ntt);
    const internal::KeySwitchDigits& digits =
        internal::DecomposeForKeySwitch(*ctx_, inputs[c].polys[1]);
    for (size_t b = 0; b < B; ++b) {
      bool used = false;
      for (size_t g = 0; g < G; ++g) used = used || present_[(c * G + g) * B + b] != 0;
      if (!used) continue;
      RnsPoly& r0 = baby[2 * (c * B + b)];
      RnsPoly& r1 = baby[2 * (c * B + b) + 1];
      if (b == 0) {
        r0 = c0;
        r1 = inputs[c].polys[1];
        PolyToNtt(r1, ntt);
        continue;
      }
      VEIL_ASSIGN_OR_RETURN(const KSwitchKey* key, key_for(static_cast<int>(b)));
      VEIL_ASSIGN_OR_RETURN(uint32_t elt, GaloisEltForRowRotation(n, static_cast<int>(b)));
      internal::ApplyGaloisNtt(*ctx_, digits, c0, elt, *key, r0, r1);
    }
  }
  // Giant-step partial sums sum_b diag * rot_b(x), NTT form. The loop runs over tiles of
  // coefficients so that a tile of every baby step stays in cache while all G giant steps
  // read it (the diagonals are streamed once); 128-bit lazy sums, one reduction per tile.
  std::vector<uint8_t> giant_used(G, 0);
  for (size_t g = 0; g < G; ++g) {
    for (size_t c = 0; c < layout_.chunks; ++c) {
      for (size_t b = 0; b < B; ++b) giant_used[g] |= present_[(c * G + g) * B + b];
    }
  }
  std::vector<RnsPoly> part(2 * G);
  for (size_t g = 0; g < G; ++g) {
    if (giant_used[g] == 0) continue;
    part[2 * g] = RnsPoly(n, L, true);
    part[2 * g + 1] = RnsPoly(n, L, true);
  }
  constexpr size_t kTile = 256;
  const size_t tile = std::min(n, kTile);
  std::vector<u128> acc0(tile), acc1(tile);
  for (size_t l = 0; l < L; ++l) {
    // Each product is < q^2; reduce the 128-bit sums before they could overflow.
    const int room = 127 - 2 * mod[l].bit_count();
    const size_t max_terms = room >= 20 ? (size_t{1} << 20) : (size_t{1} << std::max(room, 0));
    for (size_t i0 = 0; i0 < n; i0 += tile) {
      for (size_t g = 0; g < G; ++g) {
        if (giant_used[g] == 0) continue;
        size_t terms = 0;
        std::fill(acc0.begin(), acc0.end(), 0);
        std::fill(acc1.begin(), acc1.end(), 0);
        for (size_t c = 0; c < layout_.chunks; ++c) {
          for (size_t b = 0; b < B; ++b) {
            const size_t idx = (c * G + g) * B + b;
            if (present_[idx] == 0) continue;
            if (terms == max_terms) {
              for (size_t i = 0; i < tile; ++i) {
                acc0[i] = BarrettReduce128(acc0[i], mod[l]);
                acc1[i] = BarrettReduce128(acc1[i], mod[l]);
              }
              terms = 1;
            }
            ++terms;
            const uint64_t* pt = diag_[idx].poly.limb(l) + i0;
            const uint64_t* x0 = baby[2 * (c * B + b)].limb(l) + i0;
            const uint64_t* x1 = baby[2 * (c * B + b) + 1].limb(l) + i0;
            for (size_t i = 0; i < tile; ++i) {
              acc0[i] += static_cast<u128>(pt[i]) * x0[i];
              acc1[i] += static_cast<u128>(pt[i]) * x1[i];
            }
          }
        }
        uint64_t* o0 = part[2 * g].limb(l) + i0;
        uint64_t* o1 = part[2 * g + 1].limb(l) + i0;
        for (size_t i = 0; i < tile; ++i) {
          o0[i] = BarrettReduce128(acc0[i], mod[l]);
          o1[i] = BarrettReduce128(acc1[i], mod[l]);
        }
      }
    }
  }
  baby.clear();
  // Giant rotations of the partial sums (NTT form), summed; then one inverse NTT.
  std::optional<Ciphertext> total;
  RnsPoly sum0, sum1;
  bool have_sum = false;
  for (size_t g = 0; g < G; ++g) {
    if (giant_used[g] == 0) continue;
    RnsPoly r0 = std::move(part[2 * g]), r1 = std::move(part[2 * g + 1]);
    if (g != 0) {
      VEIL_ASSIGN_OR_RETURN(const KSwitchKey* key, key_for(static_cast<int>(g * B)));
      VEIL_ASSIGN_OR_RETURN(uint32_t elt, GaloisEltForRowRotation(n, static_cast<int>(g * B)));
      RnsPoly d = r1;
      PolyFromNtt(d, ntt);
      const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(*ctx_, d, &r1);
      RnsPoly s0, s1;
      internal::ApplyGaloisNtt(*ctx_, digits, r0, elt, *key, s0, s1);
      r0 = std::move(s0);
      r1 = std::move(s1);
    }
    if (!have_sum) {
      sum0 = std::move(r0);
      sum1 = std::move(r1);
      have_sum = true;
    } else {
      PolyAddInPlace(sum0, r0, mod);
      PolyAddInPlace(sum1, r1, mod);
    }
  }
  if (have_sum) {
    PolyFromNtt(sum0, ntt);
    PolyFromNtt(sum1, ntt);
    total.emplace();
    total->params_id = ctx_->params_id();
    total->polys.push_back(std::move(sum0));
    total->polys.push_back(std::move(sum1));
  }
  if (!total) {
    // All-zero weights: the product is an encryption of zero; reuse the input's shape.
    total = inputs[0];
    VEIL_RETURN_IF_ERROR(evaluator.SubInPlace(*total, inputs[0]));
  }
  for (int s : FoldSteps()) {
    Ciphertext r = *total;
    VEIL_RETURN_IF_ERROR(evaluator.RotateRowsInPlace(r, s, gk));
    VEIL_RETURN_IF_ERROR(evaluator.AddInPlace(*total, r));
  }
  VEIL_RETURN_IF_ERROR(evaluator.AddPlainInPlace(*total, bias_));
  return std::move(*total);
}

// ---------------------------------------------------------------- Conv2d

Result<EncryptedConv2dLayer> EncryptedConv2dLayer::Create(std::shared_ptr<const Context> context,
                                                          const Conv2dShape& shape,
                                                          std::span<const int8_t> weight,
                                                          std::span<const int32_t> bias) {
  const Conv2dShape& s = shape;
  constexpr size_t kMaxDim = 1 << 16;  // keeps every product below in range
  for (size_t v : {s.channels, s.height, s.width, s.out_channels, s.kernel_h, s.kernel_w,
                   s.stride_h, s.stride_w}) {
    if (v == 0 || v > kMaxDim) {
      return Status::InvalidArgument("EncryptedConv2dLayer: sizes and strides must be in [1, " +
                                     std::to_string(kMaxDim) + "]");
    }
  }
  if (s.pad_top >= s.kernel_h || s.pad_bottom >= s.kernel_h || s.pad_left >= s.kernel_w ||
      s.pad_right >= s.kernel_w) {
    return Status::InvalidArgument("EncryptedConv2dLayer: pads must be smaller than the kernel");
  }
  if (s.height + s.pad_top + s.pad_bottom < s.kernel_h ||
      s.width + s.pad_left + s.pad_right < s.kernel_w) {
    return Status::InvalidArgument("EncryptedConv2dLayer: kernel larger than the padded input");
  }
  const size_t k = s.channels * s.kernel_h * s.kernel_w;
  if (weight.size() != s.out_channels * k || bias.size() != s.out_channels) {
    return Status::InvalidArgument("EncryptedConv2dLayer: weight must be [O, C, KH, KW] = " +
                                   std::to_string(s.out_channels * k) + " values and bias [O]");
  }
  EncryptedConv2dLayer layer;
  layer.shape_ = s;
  layer.out_h_ = (s.height + s.pad_top + s.pad_bottom - s.kernel_h) / s.stride_h + 1;
  layer.out_w_ = (s.width + s.pad_left + s.pad_right - s.kernel_w) / s.stride_w + 1;
  // [O, C, KH, KW] flattened per output channel is the [O, C·KH·KW] matrix of the patches.
  VEIL_ASSIGN_OR_RETURN(
      EncryptedLinearLayer linear,
      EncryptedLinearLayer::Create(std::move(context), s.out_channels, k, weight, bias));
  layer.linear_.emplace(std::move(linear));
  return layer;
}

size_t EncryptedConv2dLayer::groups() const {
  const size_t positions = out_h_ * out_w_, cap = linear_->batch_capacity();
  return (positions + cap - 1) / cap;
}

Result<std::vector<Plaintext>> EncryptedConv2dLayer::EncodeInput(const BatchEncoder& encoder,
                                                                 std::span<const int8_t> x) const {
  const Conv2dShape& s = shape_;
  if (x.size() != s.channels * s.height * s.width) {
    return Status::InvalidArgument("EncryptedConv2dLayer: input must be [C, H, W] = " +
                                   std::to_string(s.channels * s.height * s.width) + " values");
  }
  const size_t k = s.channels * s.kernel_h * s.kernel_w, cap = linear_->batch_capacity();
  std::vector<Plaintext> out;
  std::vector<std::vector<int8_t>> patches;
  for (size_t pos = 0; pos < out_h_ * out_w_; ++pos) {
    const size_t i = pos / out_w_, j = pos % out_w_;
    std::vector<int8_t> patch(k, 0);
    for (size_t c = 0; c < s.channels; ++c) {
      for (size_t u = 0; u < s.kernel_h; ++u) {
        // Row in the unpadded input; out of range (padding) stays zero.
        const size_t row = i * s.stride_h + u;
        if (row < s.pad_top || row - s.pad_top >= s.height) continue;
        for (size_t v = 0; v < s.kernel_w; ++v) {
          const size_t col = j * s.stride_w + v;
          if (col < s.pad_left || col - s.pad_left >= s.width) continue;
          patch[(c * s.kernel_h + u) * s.kernel_w + v] =
              x[(c * s.height + (row - s.pad_top)) * s.width + (col - s.pad_left)];
        }
      }
    }
    patches.push_back(std::move(patch));
    if (patches.size() == cap || pos + 1 == out_h_ * out_w_) {
      VEIL_ASSIGN_OR_RETURN(std::vector<Plaintext> plains, linear_->EncodeInputs(encoder, patches));
      for (Plaintext& p : plains) out.push_back(std::move(p));
      patches.clear();
    }
  }
  return out;
}

Result<std::vector<Ciphertext>> EncryptedConv2dLayer::Evaluate(
    const Evaluator& evaluator, const std::vector<Ciphertext>& inputs, const GaloisKeys& gk) const {
  if (inputs.size() != input_ciphertexts()) {
    return Status::InvalidArgument("EncryptedConv2dLayer: expected " +
                                   std::to_string(input_ciphertexts()) +
                                   " input ciphertexts, got " + std::to_string(inputs.size()));
  }
  const size_t per = linear_->input_ciphertexts();
  std::vector<Ciphertext> out;
  for (size_t g = 0; g < groups(); ++g) {
    const std::vector<Ciphertext> group(inputs.begin() + static_cast<long>(g * per),
                                        inputs.begin() + static_cast<long>((g + 1) * per));
    VEIL_ASSIGN_OR_RETURN(Ciphertext r, linear_->Evaluate(evaluator, group, gk));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<int64_t>> EncryptedConv2dLayer::DecodeOutput(
    const BatchEncoder& encoder, const std::vector<Plaintext>& outputs) const {
  if (outputs.size() != groups()) {
    return Status::InvalidArgument("EncryptedConv2dLayer: expected " + std::to_string(groups()) +
                                   " results, got " + std::to_string(outputs.size()));
  }
  const size_t positions = out_h_ * out_w_, cap = linear_->batch_capacity();
  const size_t o_count = shape_.out_channels;
  std::vector<int64_t> acc(o_count * positions);
  for (size_t g = 0; g < outputs.size(); ++g) {
    const size_t first = g * cap, count = std::min(cap, positions - first);
    VEIL_ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> rows,
                          linear_->DecodeOutputs(encoder, outputs[g], count));
    for (size_t p = 0; p < count; ++p) {
      for (size_t o = 0; o < o_count; ++o) acc[o * positions + first + p] = rows[p][o];
    }
  }
  return acc;
}

}  // namespace veil::he
