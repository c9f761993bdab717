// Encrypted evaluation of dense + polynomial-activation networks on CKKS ciphertexts
// (include/veil/he/ckks_network.h, docs/he.md "CKKS network").
//
// Dense layer [out, in] on a block of `width` elements, input periodic with period
// in_pad = pow2(in), output periodic with period out_pad = pow2(out) (Juvekar et al.'s hybrid
// diagonal method, GAZELLE): with D = min(in_pad, out_pad) diagonals
//   diag_d[j] = W[j mod out_pad][(j + d) mod in_pad]   (0 outside W),
// z = Σ_d diag_d ⊙ rot_d(x) holds, at j, the partial sums of row j mod out_pad over the
// columns ≡ j + d; when in_pad > out_pad, adding rot_{in_pad/2}, rot_{in_pad/4}, …,
// rot_{out_pad} of z completes every row. The sum over d is baby-step/giant-step:
// Σ_g rot_{g·B}(Σ_b rot_{−g·B}(diag_{g·B+b}) ⊙ rot_b(x)), baby steps hoisted (one digit
// decomposition of x), giant steps and folds rotated before the rescale (scale Δ·q, so the
// key-switching noise is negligible), then one rescale and the bias.
#include "veil/he/ckks_network.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "veil/he/modarith.h"
#include "veil/he/rns.h"

namespace veil::he {
namespace {

size_t Pow2AtLeast(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

std::string LayerName(size_t k) { return "CKKS network layer " + std::to_string(k); }

bool AllFinite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

Status ValidateSpec(const CkksNetworkSpec& spec) {
  if (spec.input_size == 0) return Status::InvalidArgument("CKKS network: input size 0");
  if (spec.layers.empty()) return Status::InvalidArgument("CKKS network: no layers");
  size_t size = spec.input_size;
  for (size_t k = 0; k < spec.layers.size(); ++k) {
    const CkksLayerSpec& l = spec.layers[k];
    if (l.kind == CkksLayerSpec::Kind::kDense) {
      if (l.in != size)
        return Status::InvalidArgument(LayerName(k) + ": Dense input size " + std::to_string(l.in) +
                                       " does not match the previous size " + std::to_string(size));
      if (l.out == 0) return Status::InvalidArgument(LayerName(k) + ": Dense output size 0");
      if (l.weight.size() != l.in * l.out || l.bias.size() != l.out)
        return Status::InvalidArgument(LayerName(k) + ": weight must be [out, in] and bias [out]");
      if (!AllFinite(l.weight) || !AllFinite(l.bias))
        return Status::InvalidArgument(LayerName(k) + ": non-finite weight or bias");
      size = l.out;
    } else if (l.kind == CkksLayerSpec::Kind::kPoly) {
      if (!std::isfinite(l.c0) || !std::isfinite(l.c1) || !std::isfinite(l.c2))
        return Status::InvalidArgument(LayerName(k) + ": non-finite polynomial coefficient");
      if (l.c2 == 0)
        return Status::Unsupported(
            LayerName(k) +
            ": polynomial activation with c2 = 0 (fold an affine map into the "
            "neighbouring Dense layer instead)");
      if (k + 1 >= spec.layers.size() || spec.layers[k + 1].kind != CkksLayerSpec::Kind::kDense)
        return Status::Unsupported(LayerName(k) +
                                   ": a polynomial activation must be followed by a Dense layer");
    } else {
      return Status::InvalidArgument(LayerName(k) + ": unknown layer kind");
    }
  }
  if (spec.layers.back().kind != CkksLayerSpec::Kind::kDense)
    return Status::Unsupported("CKKS network: the last layer must be Dense");
  return Status::Ok();
}

Status CheckRange(size_t first, size_t last, size_t layers) {
  if (first >= last || last > layers)
    return Status::InvalidArgument("CKKS network: segment [" + std::to_string(first) + ", " +
                                   std::to_string(last) + ") is not a non-empty range of the " +
                                   std::to_string(layers) + " layers");
  return Status::Ok();
}

// Dense-stage geometry shared by the key list and the segment.
struct DenseGeometry {
  size_t in_pad, out_pad, diagonals, baby, giant;
};

DenseGeometry Geometry(const CkksLayerSpec& l) {
  DenseGeometry g{};
  g.in_pad = Pow2AtLeast(l.in);
  g.out_pad = Pow2AtLeast(l.out);
  g.diagonals = std::min(g.in_pad, g.out_pad);
  g.baby = 1;
  while (g.baby * g.baby < g.diagonals) g.baby <<= 1;
  g.giant = (g.diagonals + g.baby - 1) / g.baby;
  return g;
}

}  // namespace

Result<std::vector<double>> EvaluateSpecPlain(const CkksNetworkSpec& spec,
                                              std::span<const double> x, size_t first,
                                              size_t last) {
  VEIL_RETURN_IF_ERROR(ValidateSpec(spec));
  if (last == SIZE_MAX) last = spec.layers.size();
  VEIL_RETURN_IF_ERROR(CheckRange(first, last, spec.layers.size()));
  size_t expect = spec.input_size;
  for (size_t k = 0; k < first; ++k)
    if (spec.layers[k].kind == CkksLayerSpec::Kind::kDense) expect = spec.layers[k].out;
  if (x.size() != expect)
    return Status::InvalidArgument("CKKS network: plain input has " + std::to_string(x.size()) +
                                   " values, layer " + std::to_string(first) + " takes " +
                                   std::to_string(expect));
  std::vector<double> v(x.begin(), x.end());
  for (size_t k = first; k < last; ++k) {
    const CkksLayerSpec& l = spec.layers[k];
    if (l.kind == CkksLayerSpec::Kind::kDense) {
      std::vector<double> y(l.out);
      for (size_t o = 0; o < l.out; ++o) {
        double acc = l.bias[o];
        for (size_t i = 0; i < l.in; ++i) acc += l.weight[o * l.in + i] * v[i];
        y[o] = acc;
      }
      v = std::move(y);
    } else {
      for (double& e : v) e = l.c0 + l.c1 * e + l.c2 * e * e;
    }
  }
  return v;
}

Result<std::shared_ptr<const CkksNetwork>> CkksNetwork::Create(
    std::shared_ptr<const Context> context, const CkksNetworkSpec& spec) {
  if (context == nullptr || context->scheme() != Scheme::kCkks)
    return Status::InvalidArgument("CKKS network: needs a CKKS context");
  VEIL_RETURN_IF_ERROR(ValidateSpec(spec));
  std::shared_ptr<CkksNetwork> net(new CkksNetwork());
  net->ctx_ = context;
  net->spec_ = spec;
  size_t width = Pow2AtLeast(spec.input_size);
  for (const CkksLayerSpec& l : spec.layers)
    if (l.kind == CkksLayerSpec::Kind::kDense) width = std::max(width, Pow2AtLeast(l.out));
  const size_t slots = context->n() / 2;
  if (width > slots)
    return Status::Unsupported("CKKS network: a layer needs " + std::to_string(width) +
                               " slots, the context has " + std::to_string(slots));
  net->width_ = width;
  net->capacity_ = slots / width;
  // Levels: every layer consumes one limb.
  const size_t layers = spec.layers.size();
  if (context->data_limbs() < layers + 1)
    return Status::Unsupported("CKKS network: depth " + std::to_string(layers) + " needs " +
                               std::to_string(layers + 1) + " data primes, the context has " +
                               std::to_string(context->data_limbs()) +
                               " (use a larger parameter set)");
  for (size_t k = 0; k <= layers; ++k) net->limbs_.push_back(context->data_limbs() - k);
  // Folding: Poly(c0, c1, c2) followed by Dense(W, b) = Dense(c2·W, b + c0·W·1) ∘ x·(x + c1/c2).
  net->folded_.resize(layers);
  for (size_t k = 0; k < layers; ++k) {
    const CkksLayerSpec& l = spec.layers[k];
    Folded& f = net->folded_[k];
    if (l.kind == CkksLayerSpec::Kind::kPoly) {
      f.shift = l.c1 / l.c2;
      if (!std::isfinite(f.shift))
        return Status::InvalidArgument(LayerName(k) + ": c1/c2 is not finite");
      continue;
    }
    f.weight = l.weight;
    f.bias = l.bias;
    if (k > 0 && spec.layers[k - 1].kind == CkksLayerSpec::Kind::kPoly) {
      const CkksLayerSpec& p = spec.layers[k - 1];
      for (size_t o = 0; o < l.out; ++o) {
        double row = 0;
        for (size_t i = 0; i < l.in; ++i) {
          row += l.weight[o * l.in + i];
          f.weight[o * l.in + i] = p.c2 * l.weight[o * l.in + i];
        }
        f.bias[o] += p.c0 * row;
      }
    }
  }
  return std::shared_ptr<const CkksNetwork>(std::move(net));
}

Result<std::vector<int>> CkksNetwork::RequiredGaloisSteps(size_t first, size_t last) const {
  VEIL_RETURN_IF_ERROR(CheckRange(first, last, layer_count()));
  std::vector<int> steps;
  for (size_t k = first; k < last; ++k) {
    const CkksLayerSpec& l = spec_.layers[k];
    if (l.kind != CkksLayerSpec::Kind::kDense) continue;
    const DenseGeometry g = Geometry(l);
    for (size_t b = 1; b < g.baby; ++b) steps.push_back(static_cast<int>(b * capacity_));
    for (size_t j = 1; j < g.giant; ++j) steps.push_back(static_cast<int>(j * g.baby * capacity_));
    for (size_t s = g.in_pad / 2; s >= g.out_pad && s > 0; s /= 2)
      steps.push_back(static_cast<int>(s * capacity_));
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

Result<bool> CkksNetwork::NeedsRelinKeys(size_t first, size_t last) const {
  VEIL_RETURN_IF_ERROR(CheckRange(first, last, layer_count()));
  for (size_t k = first; k < last; ++k)
    if (spec_.layers[k].kind == CkksLayerSpec::Kind::kPoly) return true;
  return false;
}

Result<CkksPlaintext> CkksNetwork::EncodeInputs(const CkksEncoder& encoder,
                                                const std::vector<std::vector<double>>& inputs,
                                                double scale) const {
  if (encoder.slot_count() != ctx_->n() / 2)
    return Status::InvalidArgument("CKKS network: encoder for another ring degree");
  if (inputs.empty() || inputs.size() > capacity_)
    return Status::InvalidArgument("CKKS network: " + std::to_string(inputs.size()) +
                                   " inputs, a ciphertext holds 1.." + std::to_string(capacity_));
  if (scale == 0) scale = std::ldexp(1.0, kCkksDefaultScaleBits);
  std::vector<double> slots(ctx_->n() / 2, 0.0);
  for (size_t b = 0; b < inputs.size(); ++b) {
    if (inputs[b].size() != spec_.input_size)
      return Status::InvalidArgument("CKKS network: input " + std::to_string(b) + " has " +
                                     std::to_string(inputs[b].size()) + " values, expected " +
                                     std::to_string(spec_.input_size));
    // Repeated with period pow2(input_size) over the block, as every layer expects.
    const size_t period = Pow2AtLeast(spec_.input_size);
    for (size_t j = 0; j < width_; ++j) {
      const size_t e = j % period;
      if (e < spec_.input_size) slots[j * capacity_ + b] = inputs[b][e];
    }
  }
  return encoder.Encode(std::span<const double>(slots), scale, limbs_.front());
}

Result<std::vector<std::vector<double>>> CkksNetwork::DecodeOutputs(const CkksEncoder& encoder,
                                                                    const CkksPlaintext& plain,
                                                                    size_t batch) const {
  if (batch == 0 || batch > capacity_)
    return Status::InvalidArgument("CKKS network: batch " + std::to_string(batch) + " not in 1.." +
                                   std::to_string(capacity_));
  if (plain.limbs() != limbs_.back())
    return Status::InvalidArgument("CKKS network: the final result has " +
                                   std::to_string(limbs_.back()) + " limbs, this plaintext " +
                                   std::to_string(plain.limbs()));
  VEIL_ASSIGN_OR_RETURN(std::vector<Complex> slots, encoder.Decode(plain));
  std::vector<std::vector<double>> out(batch, std::vector<double>(output_size()));
  for (size_t b = 0; b < batch; ++b)
    for (size_t j = 0; j < output_size(); ++j) out[b][j] = slots[j * capacity_ + b].real();
  return out;
}

Result<CkksSegment> CkksSegment::Create(std::shared_ptr<const CkksNetwork> network, size_t first,
                                        size_t last) {
  if (network == nullptr) return Status::InvalidArgument("CKKS segment: no network");
  VEIL_RETURN_IF_ERROR(CheckRange(first, last, network->layer_count()));
  VEIL_ASSIGN_OR_RETURN(CkksEncoder encoder, CkksEncoder::Create(network->context()));
  CkksSegment seg;
  seg.net_ = network;
  seg.encoder_ = std::make_shared<const CkksEncoder>(std::move(encoder));
  seg.first_ = first;
  seg.last_ = last;
  const Context& ctx = *network->context();
  const size_t width = network->width(), cap = network->batch_capacity(), slots = ctx.n() / 2;
  for (size_t k = first; k < last; ++k) {
    const CkksLayerSpec& l = network->spec().layers[k];
    Stage st;
    if (l.kind == CkksLayerSpec::Kind::kPoly) {
      st.shift = network->folded_[k].shift;
      seg.stages_.push_back(std::move(st));
      continue;
    }
    st.dense = true;
    DenseStage& d = st.d;
    const DenseGeometry g = Geometry(l);
    d.in_pad = g.in_pad;
    d.out_pad = g.out_pad;
    d.diagonals = g.diagonals;
    d.baby = g.baby;
    d.giant = g.giant;
    const std::vector<double>& w = network->folded_[k].weight;
    const size_t limbs = network->input_limbs(k);
    // Encoded at the prime the rescale will divide by: the scale comes back unchanged.
    const double pscale = static_cast<double>(ctx.data_moduli()[limbs - 1].value());
    d.diag.resize(g.baby * g.giant);
    d.present.assign(g.baby * g.giant, 0);
    std::vector<double> block(width), pslots(slots);
    for (size_t gi = 0; gi < g.giant; ++gi) {
      for (size_t b = 0; b < g.baby; ++b) {
        const size_t dd = gi * g.baby + b;
        if (dd >= g.diagonals) continue;
        bool any = false;
        for (size_t j = 0; j < width; ++j) {
          const size_t row = j % g.out_pad, col = (j + dd) % g.in_pad;
          block[j] = (row < l.out && col < l.in) ? w[row * l.in + col] : 0.0;
          any = any || block[j] != 0.0;
        }
        if (!any) continue;
        // Pre-rotate right by gi·baby elements: p[j] = block[j - gi·baby].
        const size_t shift = gi * g.baby;
        for (size_t j = 0; j < width; ++j) {
          const double v = block[(j + width - shift % width) % width];
          for (size_t c = 0; c < cap; ++c) pslots[j * cap + c] = v;
        }
        VEIL_ASSIGN_OR_RETURN(d.diag[dd],
                              seg.encoder_->Encode(std::span<const double>(pslots), pscale, limbs));
        d.present[dd] = 1;
        ++seg.products_;
      }
    }
    d.bias_block.assign(width, 0.0);
    for (size_t j = 0; j < width; ++j) {
      const size_t row = j % g.out_pad;
      d.bias_block[j] = row < l.out ? network->folded_[k].bias[row] : 0.0;
    }
    size_t folds = 0;
    for (size_t s = g.in_pad / 2; s >= g.out_pad && s > 0; s /= 2) ++folds;
    seg.rotations_ += (g.baby - 1) + (g.giant - 1) + folds;
    seg.stages_.push_back(std::move(st));
  }
  return seg;
}

Status CkksSegment::EvaluateDense(const CkksEvaluator& ev, const DenseStage& d, CkksCiphertext& x,
                                  const GaloisKeys& gk) const {
  const Context& ctx = *net_->context();
  const size_t cap = net_->batch_capacity(), limbs = x.limbs();
  const std::span<const Modulus> moduli(ctx.data_moduli().data(), limbs);
  // Baby steps: rot_b(x) for b < baby, one digit decomposition.
  std::vector<int> steps;
  for (size_t b = 1; b < d.baby; ++b) steps.push_back(static_cast<int>(b * cap));
  std::vector<CkksCiphertext> baby;
  baby.push_back(x);
  if (!steps.empty()) {
    VEIL_ASSIGN_OR_RETURN(std::vector<CkksCiphertext> rots, ev.RotateHoisted(x, steps, gk));
    for (CkksCiphertext& r : rots) baby.push_back(std::move(r));
  }
  std::optional<CkksCiphertext> total;
  for (size_t gi = 0; gi < d.giant; ++gi) {
    std::optional<CkksCiphertext> inner;
    for (size_t b = 0; b < d.baby; ++b) {
      const size_t dd = gi * d.baby + b;
      if (dd >= d.diagonals || !d.present[dd]) continue;
      const CkksCiphertext& xb = baby[b];
      const CkksPlaintext& p = d.diag[dd];
      if (!inner) {
        // As CkksEvaluator::MultiplyPlainInPlace: the product's scale must fit below Q_l / 2.
        if (std::log2(xb.scale * p.scale) + 1 >= static_cast<double>(ctx.level_modulus_bits(limbs)))
          return Status::InvalidArgument(
              "CKKS segment: the product scale 2^" + std::to_string(std::log2(xb.scale * p.scale)) +
              " does not fit the modulus at " + std::to_string(limbs) + " limbs");
        inner = CkksCiphertext{xb.params_id, {}, xb.scale * p.scale, std::nullopt};
        for (size_t i = 0; i < xb.size(); ++i) inner->polys.emplace_back(ctx.n(), limbs, true);
      }
      for (size_t i = 0; i < xb.size(); ++i)
        PolyMulAddInPlace(inner->polys[i], xb.polys[i], p.poly, moduli);
    }
    if (!inner) continue;
    if (gi > 0)
      VEIL_RETURN_IF_ERROR(ev.RotateInPlace(*inner, static_cast<int>(gi * d.baby * cap), gk));
    if (!total) {
      total = std::move(*inner);
    } else {
      VEIL_RETURN_IF_ERROR(ev.AddInPlace(*total, *inner));
    }
  }
  if (!total) {  // an all-zero weight matrix: the result is the bias alone
    total = CkksCiphertext{
        x.params_id, {}, x.scale * static_cast<double>(moduli[limbs - 1].value()), std::nullopt};
    for (size_t i = 0; i < x.size(); ++i) total->polys.emplace_back(ctx.n(), limbs, true);
  }
  for (size_t s = d.in_pad / 2; s >= d.out_pad && s > 0; s /= 2) {
    CkksCiphertext r = *total;
    VEIL_RETURN_IF_ERROR(ev.RotateInPlace(r, static_cast<int>(s * cap), gk));
    VEIL_RETURN_IF_ERROR(ev.AddInPlace(*total, r));
  }
  VEIL_RETURN_IF_ERROR(ev.RescaleInPlace(*total));
  std::vector<double> bias_slots(ctx.n() / 2);
  for (size_t j = 0; j < net_->width(); ++j)
    for (size_t c = 0; c < cap; ++c) bias_slots[j * cap + c] = d.bias_block[j];
  VEIL_ASSIGN_OR_RETURN(CkksPlaintext bias, encoder_->Encode(std::span<const double>(bias_slots),
                                                             total->scale, total->limbs()));
  VEIL_RETURN_IF_ERROR(ev.AddPlainInPlace(*total, bias));
  x = std::move(*total);
  return Status::Ok();
}

Result<CkksCiphertext> CkksSegment::Evaluate(const CkksEvaluator& evaluator,
                                             const CkksCiphertext& input, const RelinKeys* relin,
                                             const GaloisKeys& gk) const {
  const Context& ctx = *net_->context();
  VEIL_RETURN_IF_ERROR(ValidateCkksCiphertext(ctx, input));
  if (input.size() != 2)
    return Status::InvalidArgument("CKKS segment: input must be a size-2 ciphertext, got size " +
                                   std::to_string(input.size()));
  if (input.limbs() != input_limbs())
    return Status::InvalidArgument("CKKS segment: layers [" + std::to_string(first_) + ", " +
                                   std::to_string(last_) + ") take a ciphertext with " +
                                   std::to_string(input_limbs()) + " limbs, got " +
                                   std::to_string(input.limbs()));
  CkksCiphertext x = input;
  x.seed.reset();
  for (const Stage& st : stages_) {
    if (st.dense) {
      VEIL_RETURN_IF_ERROR(EvaluateDense(evaluator, st.d, x, gk));
      continue;
    }
    if (relin == nullptr)
      return Status::InvalidArgument(
          "CKKS segment: a polynomial activation needs relinearization keys");
    std::vector<double> shift(ctx.n() / 2, st.shift);
    VEIL_ASSIGN_OR_RETURN(CkksPlaintext sp,
                          encoder_->Encode(std::span<const double>(shift), x.scale, x.limbs()));
    CkksCiphertext u = x;
    VEIL_RETURN_IF_ERROR(evaluator.AddPlainInPlace(u, sp));
    VEIL_ASSIGN_OR_RETURN(CkksCiphertext v, evaluator.MultiplyRelin(x, u, *relin));
    VEIL_RETURN_IF_ERROR(evaluator.RescaleInPlace(v));
    x = std::move(v);
  }
  return x;
}

}  // namespace veil::he
