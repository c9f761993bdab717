// Elementwise ops: unary activations and math, broadcasting binary arithmetic,
// comparisons and logic, variadic Min/Max, Where, Cast and Clip.
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

// Two's-complement wrapping int64 arithmetic (signed overflow would be undefined).
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t WrapNeg(int64_t a) { return static_cast<int64_t>(0 - static_cast<uint64_t>(a)); }
// C-style truncating division; the divisor must be nonzero.
int64_t TruncDiv(int64_t a, int64_t b) { return b == -1 ? WrapNeg(a) : a / b; }

float Sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

// Applies r[o] = f(a[ia], b[ib]) over the broadcast of shapes sa and sb (already `out`).
template <typename R, typename A, typename B, typename F>
void Broadcast2(const Shape& out, const Shape& sa, const A* a, const Shape& sb, const B* b, R* r,
                F f) {
  const int64_t n = NumElements(out);
  const int64_t na = NumElements(sa);
  const int64_t nb = NumElements(sb);
  if (na == n && nb == n) {
    for (int64_t k = 0; k < n; ++k) r[k] = f(a[k], b[k]);
  } else if (na == n && nb == 1) {
    const B bv = b[0];
    for (int64_t k = 0; k < n; ++k) r[k] = f(a[k], bv);
  } else if (na == 1 && nb == n) {
    const A av = a[0];
    for (int64_t k = 0; k < n; ++k) r[k] = f(av, b[k]);
  } else {
    ForEachBroadcast<2>(
        out, {BroadcastStrides(sa, out), BroadcastStrides(sb, out)},
        [&](int64_t o, const std::array<int64_t, 2>& idx) { r[o] = f(a[idx[0]], b[idx[1]]); });
  }
}

// Result tensor of `kind` and `shape` filled by r[o] = f(a, b) (element types deduced).
template <typename F>
FTensor FloatBinary(const FTensor& a, const FTensor& b, const Shape& out, F f) {
  FTensor r = MakeTensor(Kind::kFloat, out);
  Broadcast2(out, a.shape, a.f.data(), b.shape, b.f.data(), r.f.data(), f);
  return r;
}
template <typename F>
FTensor IntBinary(Kind kind, const FTensor& a, const FTensor& b, const Shape& out, F f) {
  FTensor r = MakeTensor(kind, out);
  Broadcast2(out, a.shape, a.i.data(), b.shape, b.i.data(), r.i.data(), f);
  return r;
}
// Comparison of two same-kind tensors, result bool.
template <typename F>
FTensor Compare(const FTensor& a, const FTensor& b, const Shape& out, F f) {
  FTensor r = MakeTensor(Kind::kBool, out);
  if (a.kind == Kind::kFloat) {
    Broadcast2(out, a.shape, a.f.data(), b.shape, b.f.data(), r.i.data(),
               [&](float x, float y) -> int64_t { return f(x, y) ? 1 : 0; });
  } else {
    Broadcast2(out, a.shape, a.i.data(), b.shape, b.i.data(), r.i.data(),
               [&](int64_t x, int64_t y) -> int64_t { return f(x, y) ? 1 : 0; });
  }
  return r;
}

Status SameKind(const FTensor& a, const FTensor& b) {
  if (a.kind != b.kind) {
    return Status::InvalidArgument(std::string("input types differ (") + KindName(a.kind) + " vs " +
                                   KindName(b.kind) + ")");
  }
  return Status::Ok();
}

Status NotFor(Kind kind) {
  return Status::InvalidArgument(std::string("inputs of type ") + KindName(kind) +
                                 " are not supported");
}

Status Arithmetic(const std::string& op, const FTensor& a, const FTensor& b, const Shape& out,
                  FTensor* r) {
  VEIL_RETURN_IF_ERROR(SameKind(a, b));
  if (a.kind == Kind::kFloat) {
    if (op == "Add") *r = FloatBinary(a, b, out, [](float x, float y) { return x + y; });
    if (op == "Sub") *r = FloatBinary(a, b, out, [](float x, float y) { return x - y; });
    if (op == "Mul") *r = FloatBinary(a, b, out, [](float x, float y) { return x * y; });
    if (op == "Div") *r = FloatBinary(a, b, out, [](float x, float y) { return x / y; });
    return Status::Ok();
  }
  if (a.kind != Kind::kInt64) return NotFor(a.kind);
  if (op == "Add") *r = IntBinary(Kind::kInt64, a, b, out, WrapAdd);
  if (op == "Sub") *r = IntBinary(Kind::kInt64, a, b, out, WrapSub);
  if (op == "Mul") *r = IntBinary(Kind::kInt64, a, b, out, WrapMul);
  if (op == "Div") {
    if (NumElements(out) > 0 && std::find(b.i.begin(), b.i.end(), 0) != b.i.end()) {
      return Status::InvalidArgument("integer division by zero");
    }
    *r = IntBinary(Kind::kInt64, a, b, out, TruncDiv);
  }
  return Status::Ok();
}

Status Power(const FTensor& a, const FTensor& b, const Shape& out, FTensor* r) {
  if (a.kind == Kind::kBool || b.kind == Kind::kBool) return NotFor(Kind::kBool);
  if (a.kind == Kind::kFloat) {
    *r = MakeTensor(Kind::kFloat, out);
    if (b.kind == Kind::kFloat) {
      Broadcast2(out, a.shape, a.f.data(), b.shape, b.f.data(), r->f.data(),
                 [](float x, float y) { return std::pow(x, y); });
    } else {
      Broadcast2(
          out, a.shape, a.f.data(), b.shape, b.i.data(), r->f.data(), [](float x, int64_t y) {
            return static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)));
          });
    }
    return Status::Ok();
  }
  *r = MakeTensor(Kind::kInt64, out);
  if (b.kind == Kind::kFloat) {
    Broadcast2(out, a.shape, a.i.data(), b.shape, b.f.data(), r->i.data(), [](int64_t x, float y) {
      return SaturatingToInt64(std::pow(static_cast<double>(x), static_cast<double>(y)));
    });
  } else {
    Broadcast2(out, a.shape, a.i.data(), b.shape, b.i.data(), r->i.data(),
               [](int64_t x, int64_t y) {
                 return SaturatingToInt64(std::pow(static_cast<double>(x), static_cast<double>(y)));
               });
  }
  return Status::Ok();
}

}  // namespace

Status EvalUnary(const NodeContext& ctx, std::vector<FTensor>* out) {
  const std::string& op = ctx.node().op_type();
  const FTensor& x = *ctx.input(0);
  FTensor& y = (*out)[0];
  y = x;
  if (x.kind == Kind::kInt64) {
    if (op == "Relu") {
      for (int64_t& v : y.i) v = std::max<int64_t>(v, 0);
    } else if (op == "Neg") {
      for (int64_t& v : y.i) v = WrapNeg(v);
    } else if (op == "Abs") {
      for (int64_t& v : y.i) v = v < 0 ? WrapNeg(v) : v;
    } else {
      return NotFor(x.kind);
    }
    return Status::Ok();
  }
  if (x.kind != Kind::kFloat) return NotFor(x.kind);
  std::vector<float>& v = y.f;
  if (op == "Relu") {
    for (float& e : v) e = e > 0.0f ? e : 0.0f;
  } else if (op == "LeakyRelu") {
    float alpha = 0.0f;
    VEIL_RETURN_IF_ERROR(ctx.Float("alpha", 0.01f, &alpha));
    for (float& e : v) e = e >= 0.0f ? e : alpha * e;
  } else if (op == "Sigmoid") {
    for (float& e : v) e = Sigmoid(e);
  } else if (op == "Tanh") {
    for (float& e : v) e = std::tanh(e);
  } else if (op == "Erf") {
    for (float& e : v) e = std::erf(e);
  } else if (op == "Exp") {
    for (float& e : v) e = std::exp(e);
  } else if (op == "Log") {
    for (float& e : v) e = std::log(e);
  } else if (op == "Sqrt") {
    for (float& e : v) e = std::sqrt(e);
  } else if (op == "Neg") {
    for (float& e : v) e = -e;
  } else if (op == "Abs") {
    for (float& e : v) e = std::fabs(e);
  } else if (op == "Reciprocal") {
    for (float& e : v) e = 1.0f / e;
  } else if (op == "Floor") {
    for (float& e : v) e = std::floor(e);
  } else if (op == "Ceil") {
    for (float& e : v) e = std::ceil(e);
  } else {
    return Status::Internal("EvalUnary called for " + op);
  }
  return Status::Ok();
}

Status EvalBinary(const NodeContext& ctx, std::vector<FTensor>* out) {
  const std::string& op = ctx.node().op_type();
  const FTensor& a = *ctx.input(0);
  const FTensor& b = *ctx.input(1);
  Shape shape;
  VEIL_RETURN_IF_ERROR(BroadcastShapes(a.shape, b.shape, &shape));
  FTensor& r = (*out)[0];
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    return Arithmetic(op, a, b, shape, &r);
  }
  if (op == "Pow") return Power(a, b, shape, &r);
  VEIL_RETURN_IF_ERROR(SameKind(a, b));
  if (op == "Equal") {
    r = Compare(a, b, shape, [](auto x, auto y) { return x == y; });
    return Status::Ok();
  }
  if (op == "And" || op == "Or" || op == "Xor") {
    if (a.kind != Kind::kBool) return NotFor(a.kind);
    const int which = op == "And" ? 0 : op == "Or" ? 1 : 2;
    r = IntBinary(Kind::kBool, a, b, shape, [which](int64_t x, int64_t y) {
      return which == 0 ? (x & y) : which == 1 ? (x | y) : (x ^ y);
    });
    return Status::Ok();
  }
  if (a.kind == Kind::kBool) return NotFor(a.kind);
  if (op == "Less") r = Compare(a, b, shape, [](auto x, auto y) { return x < y; });
  if (op == "LessOrEqual") r = Compare(a, b, shape, [](auto x, auto y) { return x <= y; });
  if (op == "Greater") r = Compare(a, b, shape, [](auto x, auto y) { return x > y; });
  if (op == "GreaterOrEqual") r = Compare(a, b, shape, [](auto x, auto y) { return x >= y; });
  return Status::Ok();
}

Status EvalVariadicMinMax(const NodeContext& ctx, std::vector<FTensor>* out) {
  const bool is_max = ctx.node().op_type() == "Max";
  for (int k = 0; k < ctx.num_inputs(); ++k) {
    if (ctx.input(k) == nullptr) {
      return Status::InvalidArgument("input " + std::to_string(k) + " is missing");
    }
  }
  FTensor acc = *ctx.input(0);
  if (acc.kind == Kind::kBool) return NotFor(acc.kind);
  for (int k = 1; k < ctx.num_inputs(); ++k) {
    const FTensor& b = *ctx.input(k);
    VEIL_RETURN_IF_ERROR(SameKind(acc, b));
    Shape shape;
    VEIL_RETURN_IF_ERROR(BroadcastShapes(acc.shape, b.shape, &shape));
    if (acc.kind == Kind::kFloat) {
      acc = FloatBinary(acc, b, shape, [is_max](float x, float y) {
        if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<float>::quiet_NaN();
        return is_max ? std::max(x, y) : std::min(x, y);
      });
    } else {
      acc = IntBinary(Kind::kInt64, acc, b, shape, [is_max](int64_t x, int64_t y) {
        return is_max ? std::max(x, y) : std::min(x, y);
      });
    }
  }
  (*out)[0] = std::move(acc);
  return Status::Ok();
}

Status EvalNot(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  if (x.kind != Kind::kBool) return NotFor(x.kind);
  FTensor& y = (*out)[0];
  y = x;
  for (int64_t& v : y.i) v = v != 0 ? 0 : 1;
  return Status::Ok();
}

Status EvalWhere(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& c = *ctx.input(0);
  const FTensor& x = *ctx.input(1);
  const FTensor& y = *ctx.input(2);
  if (c.kind != Kind::kBool) {
    return Status::InvalidArgument(std::string("condition must be bool, got ") + KindName(c.kind));
  }
  VEIL_RETURN_IF_ERROR(SameKind(x, y));
  Shape xy;
  Shape shape;
  VEIL_RETURN_IF_ERROR(BroadcastShapes(x.shape, y.shape, &xy));
  VEIL_RETURN_IF_ERROR(BroadcastShapes(c.shape, xy, &shape));
  FTensor r = MakeTensor(x.kind, shape);
  const std::array<std::vector<int64_t>, 3> strides = {BroadcastStrides(c.shape, shape),
                                                       BroadcastStrides(x.shape, shape),
                                                       BroadcastStrides(y.shape, shape)};
  if (x.kind == Kind::kFloat) {
    ForEachBroadcast<3>(shape, strides, [&](int64_t o, const std::array<int64_t, 3>& idx) {
      r.f[static_cast<size_t>(o)] = c.i[static_cast<size_t>(idx[0])] != 0
                                        ? x.f[static_cast<size_t>(idx[1])]
                                        : y.f[static_cast<size_t>(idx[2])];
    });
  } else {
    ForEachBroadcast<3>(shape, strides, [&](int64_t o, const std::array<int64_t, 3>& idx) {
      r.i[static_cast<size_t>(o)] = c.i[static_cast<size_t>(idx[0])] != 0
                                        ? x.i[static_cast<size_t>(idx[1])]
                                        : y.i[static_cast<size_t>(idx[2])];
    });
  }
  (*out)[0] = std::move(r);
  return Status::Ok();
}

Status EvalCast(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  int64_t to = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("to", 0, &to));
  if (!ctx.HasAttr("to")) return Status::InvalidArgument("attribute 'to' is required");
  using onnx::TensorProto;
  FTensor& y = (*out)[0];
  switch (to) {
    case TensorProto::FLOAT:
    case TensorProto::DOUBLE: {
      y = MakeTensor(Kind::kFloat, x.shape);
      if (x.kind == Kind::kFloat) {
        y.f = x.f;
      } else {
        for (size_t k = 0; k < x.i.size(); ++k) y.f[k] = static_cast<float>(x.i[k]);
      }
      return Status::Ok();
    }
    case TensorProto::BOOL: {
      y = MakeTensor(Kind::kBool, x.shape);
      if (x.kind == Kind::kFloat) {
        for (size_t k = 0; k < x.f.size(); ++k) y.i[k] = x.f[k] != 0.0f ? 1 : 0;
      } else {
        for (size_t k = 0; k < x.i.size(); ++k) y.i[k] = x.i[k] != 0 ? 1 : 0;
      }
      return Status::Ok();
    }
    case TensorProto::INT64:
    case TensorProto::INT32:
    case TensorProto::INT16:
    case TensorProto::INT8:
    case TensorProto::UINT32:
    case TensorProto::UINT16:
    case TensorProto::UINT8: {
      y = MakeTensor(Kind::kInt64, x.shape);
      if (x.kind == Kind::kFloat) {
        for (size_t k = 0; k < x.f.size(); ++k) y.i[k] = SaturatingToInt64(x.f[k]);
      } else {
        y.i = x.i;
      }
      // Narrower targets wrap modulo 2^bits, as a two's-complement conversion does.
      for (int64_t& v : y.i) {
        switch (to) {
          case TensorProto::INT32: v = static_cast<int32_t>(v); break;
          case TensorProto::INT16: v = static_cast<int16_t>(v); break;
          case TensorProto::INT8: v = static_cast<int8_t>(v); break;
          case TensorProto::UINT32: v = static_cast<uint32_t>(v); break;
          case TensorProto::UINT16: v = static_cast<uint16_t>(v); break;
          case TensorProto::UINT8: v = static_cast<uint8_t>(v); break;
          default: break;
        }
      }
      return Status::Ok();
    }
    default:
      return Status::Unsupported("cast to data type " + std::to_string(to) + " is not supported");
  }
}

Status EvalClip(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const FTensor* lo = ctx.input(1);
  const FTensor* hi = ctx.input(2);
  for (const FTensor* bound : {lo, hi}) {
    if (bound == nullptr) continue;
    VEIL_RETURN_IF_ERROR(SameKind(x, *bound));
    if (bound->size() != 1) {
      return Status::InvalidArgument("min/max must be scalars, got shape " +
                                     ShapeToString(bound->shape));
    }
  }
  FTensor& y = (*out)[0];
  y = x;
  if (x.kind == Kind::kFloat) {
    // Opset < 11 carries the bounds as attributes.
    float flo = 0.0f;
    float fhi = 0.0f;
    VEIL_RETURN_IF_ERROR(ctx.Float("min", -std::numeric_limits<float>::infinity(), &flo));
    VEIL_RETURN_IF_ERROR(ctx.Float("max", std::numeric_limits<float>::infinity(), &fhi));
    if (lo != nullptr) flo = lo->f[0];
    if (hi != nullptr) fhi = hi->f[0];
    // min > max yields max everywhere, as the spec requires.
    for (float& v : y.f) v = std::min(std::max(v, flo), fhi);
    return Status::Ok();
  }
  if (x.kind != Kind::kInt64) return NotFor(x.kind);
  const int64_t ilo = lo != nullptr ? lo->i[0] : std::numeric_limits<int64_t>::min();
  const int64_t ihi = hi != nullptr ? hi->i[0] : std::numeric_limits<int64_t>::max();
  for (int64_t& v : y.i) v = std::min(std::max(v, ilo), ihi);
  return Status::Ok();
}

}  // namespace veil::onnx_import::internal
