// LayerNorm and RmsNorm (docs/arithmetic.md §3): integer normalisation over the last
// axis with an integer square root.
//
// Bounds (validated): C <= 8192, |gamma| < 2^31, |beta| < 2^61, 0 <= eps < 2^40. Then
// |d| <= 254·C < 2^21, V < 2^62, |n| < 2^20, |n·gamma| < 2^51 and every step is exact in
// int64 and within the domains of RoundDiv, ISqrt and RoundShift.
#include <string>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/arith.h"

namespace veil::ops {
namespace {

constexpr int64_t kMaxNormWidth = 8192;
constexpr int kFractionBits = 12;  // F in docs/arithmetic.md
constexpr int64_t kMaxBeta = int64_t{1} << 61;
constexpr int64_t kMaxEps = int64_t{1} << 40;

Status CheckNorm(const Node& node, std::span<const Shape> in, bool layer_norm) {
  const Shape& x = in[0];
  if (x.empty() || x.back() < 1)
    return Invalid("input x has shape " + ShapeToString(x) + ", expected [..., C] with a static C");
  const int64_t c = x.back();
  if (c > kMaxNormWidth)
    return Invalid("normalised width C = " + std::to_string(c) + " exceeds 8192");
  const Tensor* gamma = nullptr;
  const Tensor* beta = nullptr;
  const Tensor* eps = nullptr;
  const Tensor* shift = nullptr;
  VEIL_RETURN_IF_ERROR(GetParam(node, "gamma", DType::kInt32, {c}, &gamma));
  for (int32_t g : gamma->i32())
    if (g == INT32_MIN) return Invalid("param 'gamma' holds -2^31; |gamma| must be < 2^31");
  if (layer_norm || node.FindParam("beta") != nullptr) {
    VEIL_RETURN_IF_ERROR(GetParam(node, "beta", DType::kInt64, {c}, &beta));
    for (int64_t b : beta->i64()) {
      if (b <= -kMaxBeta || b >= kMaxBeta)
        return Invalid("param 'beta' holds " + std::to_string(b) + "; |beta| must be < 2^61");
      if (!layer_norm && b != 0)
        return Invalid("param 'beta' holds " + std::to_string(b) + "; RmsNorm's beta must be 0");
    }
  }
  VEIL_RETURN_IF_ERROR(GetParam(node, "eps", DType::kInt64, {1}, &eps));
  if (eps->i64()[0] < 0 || eps->i64()[0] >= kMaxEps)
    return Invalid("param 'eps' is " + std::to_string(eps->i64()[0]) + ", outside [0, 2^40)");
  VEIL_RETURN_IF_ERROR(GetParam(node, "shift", DType::kInt32, {1}, &shift));
  if (shift->i32()[0] < 0 || shift->i32()[0] > 62)
    return Invalid("param 'shift' is " + std::to_string(shift->i32()[0]) + ", outside [0, 62]");
  return CheckActRange(node);
}

Status CheckLayerNorm(const Node& node, std::span<const Shape> in) {
  return CheckNorm(node, in, true);
}

Status CheckRmsNorm(const Node& node, std::span<const Shape> in) {
  return CheckNorm(node, in, false);
}

Status InferNorm(const Node&, std::span<const Shape> in, Shape* out) {
  *out = in[0];
  return Status::Ok();
}

// Normalises rows [r0, r1) of C elements. For LayerNorm the centred values are
// d[c] = C·x[c] − Σx; for RmsNorm d[c] = x[c]. Parameters are taken by value: int8
// stores may alias any memory, so references would be reloaded after every store.
//
// Same integers as the definition, computed faster: Σx and Σx² are int32 sums
// (|Σx| <= 127·8192, Σx² <= 127²·8192), and V = Σ d² = C²·Σx² − C·(Σx)² for LayerNorm
// (expand (C·x − S)² and use Σx = S), Σx² for RmsNorm; every RoundDiv by the row's
// root goes through a RoundDivider.
template <bool kLayerNorm>
void NormRows(const int8_t* x, int64_t r0, int64_t r1, int64_t c, const int32_t* gamma,
              const int64_t* beta, int64_t eps, int shift, int32_t lo, int32_t hi, int8_t* y) {
  const int64_t half = shift > 0 ? int64_t{1} << (shift - 1) : 0;  // RoundShift's rounding
  for (int64_t r = r0; r < r1; ++r) {
    const int8_t* xr = x + r * c;
    int32_t sum = 0, squares = 0;
    for (int64_t i = 0; i < c; ++i) {
      sum += xr[i];
      squares += int32_t{xr[i]} * xr[i];
    }
    const int64_t s = kLayerNorm ? sum : 0;
    const int64_t scale = kLayerNorm ? c : 1;
    const int64_t v = kLayerNorm ? c * c * int64_t{squares} - c * s * s : int64_t{squares};
    const int64_t root = ISqrt(RoundDiv(v, c) + eps);
    int8_t* yr = y + r * c;
    if (root == 0) {  // n = 0 for every element
      for (int64_t i = 0; i < c; ++i) {
        const int64_t b = beta ? beta[i] : 0;
        yr[i] = static_cast<int8_t>(Clamp((b + half) >> shift, lo, hi));
      }
      continue;
    }
    const RoundDivider divide(root);
    for (int64_t i = 0; i < c; ++i) {
      const int64_t d = scale * xr[i] - s;
      const int64_t n = divide(d * (int64_t{1} << kFractionBits));
      const int64_t b = beta ? beta[i] : 0;  // RmsNorm: beta absent or all zero
      // RoundShift(v, s) = (v + 2^(s-1)) >> s, an arithmetic (flooring) shift.
      yr[i] = static_cast<int8_t>(Clamp((n * gamma[i] + b + half) >> shift, lo, hi));
    }
  }
}

template <bool kLayerNorm>
Status RunNorm(const OpContext& ctx, const Node& node, const PreparedNode&,
               std::span<const Tensor* const> in, Tensor* out) {
  const int64_t c = in[0]->shape().back();
  const Tensor* beta = node.FindParam("beta");
  ParallelRows(ctx.pool, in[0]->size() / c, c, [&](int64_t r0, int64_t r1) {
    NormRows<kLayerNorm>(in[0]->i8().data(), r0, r1, c, node.FindParam("gamma")->i32().data(),
                         beta ? beta->i64().data() : nullptr, node.FindParam("eps")->i64()[0],
                         ScalarParam(node, "shift"), ActMin(node), ActMax(node), out->i8().data());
  });
  return Status::Ok();
}

}  // namespace

const OpDef& LayerNormDef() {
  static const OpDef def = {
      .attrs = {"act_min", "act_max"},
      .params = {"gamma", "beta", "eps", "shift"},
      .check = CheckLayerNorm,
      .infer = InferNorm,
      .run = RunNorm<true>,
  };
  return def;
}

const OpDef& RmsNormDef() {
  static const OpDef def = {
      .attrs = {"act_min", "act_max"},
      .params = {"gamma", "beta", "eps", "shift"},
      .check = CheckRmsNorm,
      .infer = InferNorm,
      .run = RunNorm<false>,
  };
  return def;
}

}  // namespace veil::ops
