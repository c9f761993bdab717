// Elementwise ops (docs/arithmetic.md §3): Requantize, Add, Mul and Lookup.
//
// Add and Mul take b as a second input or as the int8 param `constant`; b's per-sample
// shape is a suffix of a's, so element i of a sample of a pairs with element i mod |b|
// of the same sample of b (of the constant, shared by all samples).
#include <algorithm>
#include <string>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/arith.h"

namespace veil::ops {
namespace {

// ------------------------------------------------------------------------ Requantize

Status CheckRequantize(const Node& node, std::span<const Shape> in) {
  // Per channel means along the last axis, which must then be static.
  const int64_t channels = in[0].empty() ? 1 : in[0].back();
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", channels));
  return CheckActRange(node);
}

Status InferRequantize(const Node&, std::span<const Shape> in, Shape* out) {
  *out = in[0];
  return Status::Ok();
}

Status PrepareRequantize(const Node& node, KernelPath, PreparedNode* prepared) {
  ExpandRequantParams(node, "multiplier", "shift", prepared);
  return Status::Ok();
}

// Rows [r0, r1) of `channels` elements. The hot loops of this file take everything by
// value: int8 stores may alias any memory, so values read through references or
// captures would be reloaded after every store.
void RequantizeRowsOf(const int8_t* x, int64_t r0, int64_t r1, int64_t channels,
                      const int32_t* mult, const int32_t* shift, int32_t lo, int32_t hi,
                      int8_t* y) {
  if (channels == 1) {
    const int32_t m = mult[0], s = shift[0];
    for (int64_t i = r0; i < r1; ++i) y[i] = static_cast<int8_t>(Requantize(x[i], m, s, lo, hi));
    return;
  }
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = 0; c < channels; ++c)
      y[r * channels + c] =
          static_cast<int8_t>(Requantize(x[r * channels + c], mult[c], shift[c], lo, hi));
}

Status RunRequantize(const OpContext& ctx, const Node& node, const PreparedNode& prepared,
                     std::span<const Tensor* const> in, Tensor* out) {
  const int64_t channels = static_cast<int64_t>(prepared.multiplier.size());
  const int8_t* x = in[0]->i8().data();
  int8_t* y = out->i8().data();
  ParallelRows(ctx.pool, in[0]->size() / channels, channels, [&](int64_t r0, int64_t r1) {
    RequantizeRowsOf(x, r0, r1, channels, prepared.multiplier.data(), prepared.shift.data(),
                     ActMin(node), ActMax(node), y);
  });
  return Status::Ok();
}

// ------------------------------------------------------------------------ Add and Mul

// The b operand's per-sample shape: the second input's, or the constant's.
const Shape& BShape(const Node& node, std::span<const Shape> in) {
  return in.size() == 2 ? in[1] : node.FindParam("constant")->shape();
}

Status CheckBinaryOperand(const Node& node, std::span<const Shape> in) {
  const Tensor* constant = node.FindParam("constant");
  if (in.size() == 2) {
    if (constant != nullptr) return Invalid("has both a second input and param 'constant'");
    return Status::Ok();
  }
  if (constant == nullptr) return Invalid("needs a second input or param 'constant'");
  VEIL_RETURN_IF_ERROR(GetParam(node, "constant", DType::kInt8, constant->shape(), &constant));
  return CheckInt8Range(*constant, "constant");
}

Status InferBinary(const Node& node, std::span<const Shape> in, Shape* out) {
  const Shape& a = in[0];
  const Shape& b = BShape(node, in);
  if (b.size() > a.size() || !std::equal(b.begin(), b.end(), a.end() - b.size()))
    return Invalid("b has shape " + ShapeToString(b) + ", which is not a suffix of a's " +
                   ShapeToString(a));
  *out = a;
  return Status::Ok();
}

Status CheckAdd(const Node& node, std::span<const Shape> in) {
  VEIL_RETURN_IF_ERROR(CheckBinaryOperand(node, in));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier_a", "shift", 1));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier_b", "shift", 1));
  return CheckActRange(node);
}

Status CheckMul(const Node& node, std::span<const Shape> in) {
  VEIL_RETURN_IF_ERROR(CheckBinaryOperand(node, in));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", 1));
  return CheckActRange(node);
}

// Rows [r0, r1) of |b| = row elements: y = f(a, b), where row r of a pairs with b's
// row r / rows_per_sample (input b, one row per sample) or with the only row (constant).
template <typename F>
void BroadcastRows(F f, const int8_t* a, const int8_t* b, bool b_per_sample, int64_t r0, int64_t r1,
                   int64_t row, int64_t rows_per_sample, int8_t* y) {
  for (int64_t r = r0; r < r1; ++r) {
    const int8_t* br = b + (b_per_sample ? (r / rows_per_sample) * row : 0);
    for (int64_t i = 0; i < row; ++i)
      y[r * row + i] = static_cast<int8_t>(f(a[r * row + i], br[i]));
  }
}

// Applies y[i] = f(a[i], b[i mod |b|]) sample by sample.
template <typename F>
void RunBroadcast(const OpContext& ctx, const Node& node, std::span<const Tensor* const> in,
                  Tensor* out, F f) {
  const Tensor& a = *in[0];
  const bool has_input_b = in.size() == 2;
  const Tensor& b = has_input_b ? *in[1] : *node.FindParam("constant");
  const int64_t batch = a.dim(0);
  const int64_t row = has_input_b ? b.size() / batch : b.size();  // |b| per sample
  const int64_t rows_per_sample = a.size() / batch / row;
  ParallelRows(ctx.pool, batch * rows_per_sample, row, [&](int64_t r0, int64_t r1) {
    BroadcastRows(f, a.i8().data(), b.i8().data(), has_input_b, r0, r1, row, rows_per_sample,
                  out->i8().data());
  });
}

Status RunAdd(const OpContext& ctx, const Node& node, const PreparedNode&,
              std::span<const Tensor* const> in, Tensor* out) {
  const int32_t ma = ScalarParam(node, "multiplier_a");
  const int32_t mb = ScalarParam(node, "multiplier_b");
  const int32_t shift = ScalarParam(node, "shift");
  const int32_t lo = ActMin(node), hi = ActMax(node);
  // Row by row (rows of |b| elements, as RunBroadcast) through the kernels' AddRequantize,
  // which computes exactly Clamp(RoundShift(a·Ma + b·Mb, s), lo, hi).
  const Tensor& a = *in[0];
  const bool has_input_b = in.size() == 2;
  const Tensor& b = has_input_b ? *in[1] : *node.FindParam("constant");
  const int64_t batch = a.dim(0);
  const int64_t row = has_input_b ? b.size() / batch : b.size();
  const int64_t rows_per_sample = a.size() / batch / row;
  const KernelPath path = ctx.path;
  ParallelRows(ctx.pool, batch * rows_per_sample, row, [&](int64_t r0, int64_t r1) {
    const int8_t* pa = a.i8().data();
    const int8_t* pb = b.i8().data();
    int8_t* py = out->i8().data();
    for (int64_t r = r0; r < r1; ++r) {
      const int8_t* br = pb + (has_input_b ? (r / rows_per_sample) * row : 0);
      AddRequantize(path, row, pa + r * row, ma, br, mb, shift, lo, hi, py + r * row);
    }
  });
  return Status::Ok();
}

Status RunMul(const OpContext& ctx, const Node& node, const PreparedNode&,
              std::span<const Tensor* const> in, Tensor* out) {
  const int32_t m = ScalarParam(node, "multiplier");
  const int32_t shift = ScalarParam(node, "shift");
  const int32_t lo = ActMin(node), hi = ActMax(node);
  RunBroadcast(ctx, node, in, out,
               [=](int32_t a, int32_t b) { return Requantize(a * b, m, shift, lo, hi); });
  return Status::Ok();
}

// ---------------------------------------------------------------------------- Lookup

Status CheckLookup(const Node& node, std::span<const Shape>) {
  const Tensor* table = nullptr;
  VEIL_RETURN_IF_ERROR(GetParam(node, "table", DType::kInt8, {256}, &table));
  return CheckInt8Range(*table, "table");
}

void LookupSpan(const int8_t* table, const int8_t* x, int64_t i0, int64_t i1, int8_t* y) {
  for (int64_t i = i0; i < i1; ++i) y[i] = table[x[i] + 128];
}

Status RunLookup(const OpContext& ctx, const Node& node, const PreparedNode&,
                 std::span<const Tensor* const> in, Tensor* out) {
  const int8_t* table = node.FindParam("table")->i8().data();
  ParallelRows(ctx.pool, in[0]->size(), 1, [&](int64_t i0, int64_t i1) {
    LookupSpan(table, in[0]->i8().data(), i0, i1, out->i8().data());
  });
  return Status::Ok();
}

}  // namespace

const OpDef& RequantizeDef() {
  static const OpDef def = {
      .attrs = {"act_min", "act_max"},
      .params = {"multiplier", "shift"},
      .check = CheckRequantize,
      .infer = InferRequantize,
      .prepare = PrepareRequantize,
      .run = RunRequantize,
  };
  return def;
}

const OpDef& AddDef() {
  static const OpDef def = {
      .min_inputs = 1,
      .max_inputs = 2,
      .attrs = {"act_min", "act_max"},
      .params = {"constant", "multiplier_a", "multiplier_b", "shift"},
      .check = CheckAdd,
      .infer = InferBinary,
      .run = RunAdd,
  };
  return def;
}

const OpDef& MulDef() {
  static const OpDef def = {
      .min_inputs = 1,
      .max_inputs = 2,
      .attrs = {"act_min", "act_max"},
      .params = {"constant", "multiplier", "shift"},
      .check = CheckMul,
      .infer = InferBinary,
      .run = RunMul,
  };
  return def;
}

const OpDef& LookupDef() {
  static const OpDef def = {
      .attrs = {},
      .params = {"table"},
      .check = CheckLookup,
      .infer = InferRequantize,  // output shape = input shape
      .run = RunLookup,
  };
  return def;
}

}  // namespace veil::ops
