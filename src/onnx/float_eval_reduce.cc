// Reductions (ReduceMean/Sum/Max/Min), Softmax/LogSoftmax and LayerNormalization.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "float_eval_internal.h"

namespace veil::onnx_import::internal {
namespace {

using Kind = FTensor::Kind;

// Splits `shape` around `axis` into outer (before), the axis itself, and inner (after).
void SplitAt(const Shape& shape, int64_t axis, int64_t* outer, int64_t* mid, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < axis; ++d) *outer *= shape[static_cast<size_t>(d)];
  *mid = shape[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) *inner *= shape[d];
}

}  // namespace

Status EvalReduce(const NodeContext& ctx, std::vector<FTensor>* out) {
  const std::string& op = ctx.node().op_type();
  const FTensor& x = *ctx.input(0);
  if (x.kind == Kind::kBool) {
    return Status::InvalidArgument("bool inputs are not supported");
  }
  bool attr_axes = false;
  std::vector<int64_t> axes;
  VEIL_RETURN_IF_ERROR(ctx.Ints("axes", &axes, &attr_axes));
  if (ctx.input(1) != nullptr) {
    if (attr_axes) return Status::InvalidArgument("axes given both as attribute and input");
    VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(1), "axes", &axes));
  }
  int64_t keepdims = 1;
  int64_t noop_with_empty_axes = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("keepdims", 1, &keepdims));
  VEIL_RETURN_IF_ERROR(ctx.Int("noop_with_empty_axes", 0, &noop_with_empty_axes));
  if (axes.empty() && noop_with_empty_axes != 0) {
    (*out)[0] = x;
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<bool> reduced(x.shape.size(), axes.empty());
  if (!axes.empty()) {
    std::vector<int64_t> norm;
    VEIL_RETURN_IF_ERROR(NormalizeAxes(axes, rank, "axis", &norm));
    for (int64_t a : norm) reduced[static_cast<size_t>(a)] = true;
  }
  Shape kept;  // output shape with reduced axes kept as 1
  Shape out_shape;
  int64_t count = 1;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    kept.push_back(reduced[d] ? 1 : x.shape[d]);
    if (reduced[d]) count *= x.shape[d];
    if (!reduced[d] || keepdims != 0) out_shape.push_back(kept.back());
  }
  const int64_t n_out = NumElements(kept);
  if (count == 0 && n_out > 0 && op != "ReduceSum") {
    return Status::InvalidArgument(op + " over an empty set of elements");
  }
  // Input element i accumulates into output idx[0]; reduced axes have stride 0.
  std::vector<int64_t> kept_strides = Strides(kept);
  for (size_t d = 0; d < kept.size(); ++d) {
    if (reduced[d]) kept_strides[d] = 0;
  }
  const std::array<std::vector<int64_t>, 1> strides = {kept_strides};
  FTensor y = MakeTensor(x.kind, out_shape);
  if (x.kind == Kind::kFloat) {
    if (op == "ReduceMax" || op == "ReduceMin") {
      const bool is_max = op == "ReduceMax";
      std::fill(y.f.begin(), y.f.end(),
                is_max ? -std::numeric_limits<float>::infinity()
                       : std::numeric_limits<float>::infinity());
      ForEachBroadcast<1>(x.shape, strides, [&](int64_t i, const std::array<int64_t, 1>& idx) {
        float& r = y.f[static_cast<size_t>(idx[0])];
        const float v = x.f[static_cast<size_t>(i)];
        if (std::isnan(v) || (is_max ? v > r : v < r)) r = v;
      });
    } else {
      std::vector<double> acc(static_cast<size_t>(n_out), 0.0);
      ForEachBroadcast<1>(x.shape, strides, [&](int64_t i, const std::array<int64_t, 1>& idx) {
        acc[static_cast<size_t>(idx[0])] += static_cast<double>(x.f[static_cast<size_t>(i)]);
      });
      const double scale = op == "ReduceMean" ? 1.0 / static_cast<double>(count) : 1.0;
      for (size_t k = 0; k < acc.size(); ++k) y.f[k] = static_cast<float>(acc[k] * scale);
    }
  } else {
    if (op == "ReduceMax" || op == "ReduceMin") {
      const bool is_max = op == "ReduceMax";
      std::fill(y.i.begin(), y.i.end(),
                is_max ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max());
      ForEachBroadcast<1>(x.shape, strides, [&](int64_t i, const std::array<int64_t, 1>& idx) {
        int64_t& r = y.i[static_cast<size_t>(idx[0])];
        const int64_t v = x.i[static_cast<size_t>(i)];
        r = is_max ? std::max(r, v) : std::min(r, v);
      });
    } else {
      ForEachBroadcast<1>(x.shape, strides, [&](int64_t i, const std::array<int64_t, 1>& idx) {
        int64_t& r = y.i[static_cast<size_t>(idx[0])];
        r = static_cast<int64_t>(static_cast<uint64_t>(r) +
                                 static_cast<uint64_t>(x.i[static_cast<size_t>(i)]));
      });
      if (op == "ReduceMean") {
        for (int64_t& v : y.i) v /= count;
      }
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalSoftmax(const NodeContext& ctx, std::vector<FTensor>* out) {
  const bool log = ctx.node().op_type() == "LogSoftmax";
  const FTensor& x = *ctx.input(0);
  if (x.kind != Kind::kFloat) {
    return Status::InvalidArgument(std::string("input must be float, got ") + KindName(x.kind));
  }
  // Opset-13 semantics: normalise along one axis (default: the last).
  int64_t axis_attr = -1;
  int64_t axis = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", -1, &axis_attr));
  VEIL_RETURN_IF_ERROR(
      NormalizeAxis(axis_attr, static_cast<int64_t>(x.shape.size()), "axis", &axis));
  int64_t outer = 0;
  int64_t n = 0;
  int64_t inner = 0;
  SplitAt(x.shape, axis, &outer, &n, &inner);
  FTensor y = x;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      float* v = y.f.data() + o * n * inner + in;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < n; ++k) mx = std::max(mx, v[k * inner]);
      double sum = 0.0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(v[k * inner] - mx));
      if (log) {
        const float lse = static_cast<float>(std::log(sum));
        for (int64_t k = 0; k < n; ++k) v[k * inner] = v[k * inner] - mx - lse;
      } else {
        for (int64_t k = 0; k < n; ++k) {
          v[k * inner] = static_cast<float>(std::exp(static_cast<double>(v[k * inner] - mx)) / sum);
        }
      }
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalLayerNormalization(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const FTensor& scale = *ctx.input(1);
  const FTensor* bias = ctx.input(2);
  for (const FTensor* t : {&x, &scale, bias}) {
    if (t != nullptr && t->kind != Kind::kFloat) {
      return Status::InvalidArgument(std::string("inputs must be float, got ") + KindName(t->kind));
    }
  }
  int64_t axis_attr = -1;
  int64_t axis = 0;
  float epsilon = 0.0f;
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", -1, &axis_attr));
  VEIL_RETURN_IF_ERROR(ctx.Float("epsilon", 1e-5f, &epsilon));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  VEIL_RETURN_IF_ERROR(NormalizeAxis(axis_attr, rank, "axis", &axis));
  const Shape norm_shape(x.shape.begin() + axis, x.shape.end());
  const int64_t n = NumElements(norm_shape);
  // Expands Scale / B to the normalised shape (unidirectional broadcast).
  auto expand = [&](const FTensor& p, const char* what, std::vector<float>* v) -> Status {
    Shape b;
    if (p.shape.size() > norm_shape.size() || !BroadcastShapes(p.shape, norm_shape, &b).ok() ||
        b != norm_shape) {
      return Status::InvalidArgument(std::string(what) + " shape " + ShapeToString(p.shape) +
                                     " does not broadcast to " + ShapeToString(norm_shape));
    }
    v->assign(static_cast<size_t>(n), 0.0f);
    ForEachBroadcast<1>(norm_shape, {BroadcastStrides(p.shape, norm_shape)},
                        [&](int64_t o, const std::array<int64_t, 1>& idx) {
                          (*v)[static_cast<size_t>(o)] = p.f[static_cast<size_t>(idx[0])];
                        });
    return Status::Ok();
  };
  std::vector<float> gamma;
  std::vector<float> beta(static_cast<size_t>(n), 0.0f);
  VEIL_RETURN_IF_ERROR(expand(scale, "Scale", &gamma));
  if (bias != nullptr) VEIL_RETURN_IF_ERROR(expand(*bias, "B", &beta));

  Shape stat_shape(x.shape.begin(), x.shape.begin() + axis);
  stat_shape.resize(x.shape.size(), 1);
  FTensor y = MakeTensor(Kind::kFloat, x.shape);
  FTensor mean_t = MakeTensor(Kind::kFloat, stat_shape);
  FTensor inv_t = MakeTensor(Kind::kFloat, stat_shape);
  const int64_t outer = NumElements(stat_shape);
  if (n == 0 && outer > 0) {
    return Status::InvalidArgument("normalised shape " + ShapeToString(norm_shape) + " is empty");
  }
  for (int64_t o = 0; o < outer; ++o) {
    const float* src = x.f.data() + o * n;
    float* dst = y.f.data() + o * n;
    double sum = 0.0;
    for (int64_t k = 0; k < n; ++k) sum += static_cast<double>(src[k]);
    const double mean = sum / static_cast<double>(n);
    double sq = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      const double d = static_cast<double>(src[k]) - mean;
      sq += d * d;
    }
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + static_cast<double>(epsilon));
    for (int64_t k = 0; k < n; ++k) {
      const size_t ki = static_cast<size_t>(k);
      dst[k] = static_cast<float>((static_cast<double>(src[k]) - mean) * inv *
                                      static_cast<double>(gamma[ki]) +
                                  static_cast<double>(beta[ki]));
    }
    mean_t.f[static_cast<size_t>(o)] = static_cast<float>(mean);
    inv_t.f[static_cast<size_t>(o)] = static_cast<float>(inv);
  }
  (*out)[0] = std::move(y);
  if (out->size() > 1) (*out)[1] = std::move(mean_t);
  if (out->size() > 2) (*out)[2] = std::move(inv_t);
  return Status::Ok();
}

}  // namespace veil::onnx_import::internal
