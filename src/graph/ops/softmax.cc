// Softmax (docs/arithmetic.md §3): integer softmax over the last axis through a
// validated exp table.
#include "ops/softmax.h"

#include <algorithm>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/arith.h"

namespace veil::ops {

// Softmax's class bound C <= 2^24 keeps S = Σ e <= 2^40 and e · 127 < 2^23: both exact.
inline constexpr int64_t kMaxSoftmaxWidth = int64_t{1} << 24;

void SoftmaxRow(const int8_t* x, int64_t allowed, int64_t total, const int32_t* exp_table,
                int8_t* y) {
  int32_t m = x[0];
  for (int64_t c = 1; c < allowed; ++c) m = std::max<int32_t>(m, x[c]);
  // m - x[c] is in [0, 254] for activations in [-127, 127] (and <= 255 for any int8).
  int64_t sum = 0;
  for (int64_t c = 0; c < allowed; ++c) sum += exp_table[m - x[c]];
  for (int64_t c = 0; c < allowed; ++c)
    y[c] = static_cast<int8_t>(RoundDiv(int64_t{exp_table[m - x[c]]} * 127, sum));
  std::fill(y + allowed, y + total, int8_t{0});
}

namespace {

Status CheckSoftmax(const Node& node, std::span<const Shape> in) {
  const Shape& x = in[0];
  if (x.empty() || x.back() < 1)
    return Invalid("input x has shape " + ShapeToString(x) + ", expected [..., C] with a static C");
  if (x.back() > kMaxSoftmaxWidth)
    return Invalid("softmax width C = " + std::to_string(x.back()) + " exceeds 2^24");
  return CheckExpTable(node, "exp_table");
}

Status InferSoftmax(const Node&, std::span<const Shape> in, Shape* out) {
  if (in[0].empty() || in[0].back() < 1)
    return Invalid("input x has shape " + ShapeToString(in[0]) + ", expected [..., C]");
  *out = in[0];
  return Status::Ok();
}

Status RunSoftmax(const OpContext& ctx, const Node& node, const PreparedNode&,
                  std::span<const Tensor* const> in, Tensor* out) {
  const int64_t c = in[0]->shape().back();
  const int64_t rows = in[0]->size() / c;
  const int32_t* table = node.FindParam("exp_table")->i32().data();
  const int8_t* x = in[0]->i8().data();
  int8_t* y = out->i8().data();
  ParallelRows(ctx.pool, rows, c, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) SoftmaxRow(x + r * c, c, c, table, y + r * c);
  });
  return Status::Ok();
}

}  // namespace

const OpDef& SoftmaxDef() {
  static const OpDef def = {
      .attrs = {},
      .params = {"exp_table"},
      .check = CheckSoftmax,
      .infer = InferSoftmax,
      .run = RunSoftmax,
  };
  return def;
}

}  // namespace veil::ops
