// MatMul and Attention (docs/arithmetic.md §3): activation × activation products.
//
// Both run every product through GemmS8 so the vectorised paths are used: the right
// operand is laid out as [N, K] (transposing it when needed) and packed on the fly.
// Independent products (leading indices of MatMul, (batch, head) pairs of Attention) are
// spread over the pool when there are enough of them; otherwise each product uses the
// pool inside the kernels. Every output element is computed by the same integer
// operations either way, so results do not depend on the thread count.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/ops.h"
#include "ops/softmax.h"
#include "veil/arith.h"

namespace veil::ops {
namespace {

// Runs fn(task, pool_for_kernels) for every task in [0, tasks): across the pool when
// there are at least as many tasks as threads (the kernels then run single-threaded),
// else one task at a time with the pool handed to the kernels.
void ForEachProduct(ThreadPool* pool, int64_t tasks, int64_t work_per_task,
                    const std::function<void(int64_t, ThreadPool*)>& fn) {
  if (pool != nullptr && pool->threads() > 1 && tasks >= pool->threads()) {
    ParallelRows(pool, tasks, work_per_task, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) fn(t, nullptr);
    });
  } else {
    for (int64_t t = 0; t < tasks; ++t) fn(t, pool);
  }
}

// dst[n, k] = src[k, n] for a [rows, cols] block with row stride ld_src.
void TransposeInto(const int8_t* src, int64_t rows, int64_t cols, int64_t ld_src, int8_t* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * ld_src + c];
}

// ---------------------------------------------------------------------------- MatMul

Status CheckMatMul(const Node& node, std::span<const Shape>) {
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "transpose_b", 1, false, 0, 1));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", 1));
  return CheckActRange(node);
}

Status InferMatMul(const Node& node, std::span<const Shape> in, Shape* out) {
  const Shape& a = in[0];
  const Shape& b = in[1];
  const bool transpose_b = node.AttrInt("transpose_b", 0) == 1;
  if (a.size() < 2 || b.size() != a.size())
    return Invalid("inputs have shapes " + ShapeToString(a) + " and " + ShapeToString(b) +
                   ", expected [..., M, K] and " + (transpose_b ? "[..., N, K]" : "[..., K, N]") +
                   " of equal rank >= 2");
  const size_t r = a.size();
  for (size_t i = 0; i + 2 < r; ++i)
    if (a[i] != b[i])
      return Invalid("leading dims differ: " + ShapeToString(a) + " vs " + ShapeToString(b));
  const int64_t k = a[r - 1];
  const int64_t kb = transpose_b ? b[r - 1] : b[r - 2];
  const int64_t n = transpose_b ? b[r - 2] : b[r - 1];
  if (k != kb)
    return Invalid("inner dims differ: a " + ShapeToString(a) + ", b " + ShapeToString(b) +
                   (transpose_b ? " (transpose_b)" : ""));
  if (n < 1)
    return Invalid("b " + ShapeToString(b) + " would give the output a dynamic non-leading dim");
  VEIL_RETURN_IF_ERROR(CheckAccumulatorBound(k, nullptr));
  *out = a;
  out->back() = n;
  return Status::Ok();
}

Status RunMatMul(const OpContext& ctx, const Node& node, const PreparedNode&,
                 std::span<const Tensor* const> in, Tensor* out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  const bool transpose_b = node.AttrInt("transpose_b", 0) == 1;
  const size_t r = a.rank();
  const int64_t m = a.dim(r - 2), k = a.dim(r - 1);
  const int64_t n = out->dim(r - 1);
  const int64_t products = a.size() / (m * k);
  const int32_t multiplier = ScalarParam(node, "multiplier");
  const int32_t shift = ScalarParam(node, "shift");
  const int32_t lo = ActMin(node), hi = ActMax(node);
  ForEachProduct(ctx.pool, products, m * n * k, [&](int64_t t, ThreadPool* pool) {
    const int8_t* bt = b.i8().data() + t * k * n;
    std::vector<int8_t> b_nk;  // b laid out as [N, K]
    if (!transpose_b) {
      b_nk.resize(static_cast<size_t>(n * k));
      TransposeInto(bt, k, n, n, b_nk.data());
      bt = b_nk.data();
    }
    const auto packed = PackWeights(ctx.path, n, k, bt, k);
    const auto acc = Scratch<int32_t>(m * n);
    GemmS8(*packed, m, a.i8().data() + t * m * k, k, nullptr, acc.get(), n, pool);
    RequantizeRows(ctx.path, m, n, acc.get(), n, &multiplier, &shift, false, lo, hi,
                   out->i8().data() + t * m * n, n, pool);
  });
  return Status::Ok();
}

// ------------------------------------------------------------------------- Attention

Status CheckAttention(const Node& node, std::span<const Shape> in) {
  const Shape& q = in[0];
  if (q.size() != 2 || q[1] < 1)
    return Invalid("input q has shape " + ShapeToString(q) + ", expected [Tq, H*D]");
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "heads", 1, true, 1, q[1]));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "causal", 1, false, 0, 1));
  const int64_t heads = node.AttrInt("heads", 1);
  if (q[1] % heads != 0)
    return Invalid("q width " + std::to_string(q[1]) + " is not divisible by heads " +
                   std::to_string(heads));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "score_multiplier", "score_shift", 1));
  VEIL_RETURN_IF_ERROR(CheckExpTable(node, "exp_table"));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", 1));
  VEIL_RETURN_IF_ERROR(CheckActRange(node));
  return CheckAccumulatorBound(q[1] / heads, nullptr).WithContext("q·k");
}

// Tk and Tq may be kDynamicDim during validation; concrete at run time.
Status InferAttention(const Node& node, std::span<const Shape> in, Shape* out) {
  const Shape& q = in[0];
  const Shape& k = in[1];
  const Shape& v = in[2];
  if (q.size() != 2 || k.size() != 2 || v.size() != 2 || k[1] != q[1] || v[1] != q[1] ||
      k[0] != v[0])
    return Invalid("inputs q, k, v have shapes " + ShapeToString(q) + ", " + ShapeToString(k) +
                   ", " + ShapeToString(v) + "; expected [Tq, H*D], [Tk, H*D], [Tk, H*D]");
  const int64_t tq = q[0], tk = k[0];
  if (tk > 0) VEIL_RETURN_IF_ERROR(CheckAccumulatorBound(tk, nullptr).WithContext("p·v"));
  if (node.AttrInt("causal", 0) == 1 && tq > 0 && tk > 0 && tq > tk)
    return Invalid("causal attention with more queries (" + std::to_string(tq) + ") than keys (" +
                   std::to_string(tk) + ")");
  *out = q;
  return Status::Ok();
}

Status RunAttention(const OpContext& ctx, const Node& node, const PreparedNode&,
                    std::span<const Tensor* const> in, Tensor* out) {
  const Tensor& q = *in[0];
  const Tensor& k = *in[1];
  const Tensor& v = *in[2];
  const int64_t batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), width = q.dim(2);
  const int64_t heads = node.AttrInt("heads", 1);
  const int64_t d = width / heads;
  const bool causal = node.AttrInt("causal", 0) == 1;
  const int32_t score_multiplier = ScalarParam(node, "score_multiplier");
  const int32_t score_shift = ScalarParam(node, "score_shift");
  const int32_t multiplier = ScalarParam(node, "multiplier");
  const int32_t shift = ScalarParam(node, "shift");
  const int32_t* exp_table = node.FindParam("exp_table")->i32().data();
  const int32_t lo = ActMin(node), hi = ActMax(node);
  // Queries are processed in blocks so the [block, Tk] score buffers stay bounded.
  const int64_t block = std::min(tq, std::max<int64_t>(16, kScratchBytes / (4 * tk)));
  ForEachProduct(ctx.pool, batch * heads, 2 * tq * tk * d, [&](int64_t t, ThreadPool* pool) {
    const int64_t b = t / heads, h = t % heads;
    const int64_t col = h * d;  // the head's first column in q, k, v and y
    const int8_t* qb = q.i8().data() + b * tq * width + col;
    const int8_t* kb = k.i8().data() + b * tk * width + col;
    const int8_t* vb = v.i8().data() + b * tk * width + col;
    int8_t* yb = out->i8().data() + b * tq * width + col;
    const auto packed_k = PackWeights(ctx.path, tk, d, kb, width);
    const auto v_t = Scratch<int8_t>(d * tk);  // v_h as [D, Tk]: the "weights" of p · v_h
    TransposeInto(vb, tk, d, width, v_t.get());
    const auto packed_v = PackWeights(ctx.path, d, tk, v_t.get(), tk);
    const auto acc = Scratch<int32_t>(block * std::max(tk, d));
    const auto z = Scratch<int8_t>(block * tk);
    const auto p = Scratch<int8_t>(block * tk);
    for (int64_t i0 = 0; i0 < tq; i0 += block) {
      const int64_t m = std::min(block, tq - i0);
      // z = Requantize(q_h · k_hᵀ, score_multiplier, score_shift, -127, 127)
      GemmS8(*packed_k, m, qb + i0 * width, width, nullptr, acc.get(), tk, pool);
      RequantizeRows(ctx.path, m, tk, acc.get(), tk, &score_multiplier, &score_shift, false,
                     kActMin, kActMax, z.get(), tk, pool);
      // p = softmax over the allowed keys j <= i + Tk - Tq (all keys when not causal).
      for (int64_t r = 0; r < m; ++r) {
        const int64_t allowed = causal ? i0 + r + tk - tq + 1 : tk;  // >= 1 as Tq <= Tk
        SoftmaxRow(z.get() + r * tk, allowed, tk, exp_table, p.get() + r * tk);
      }
      // y_h = Requantize(p · v_h, multiplier, shift, act_min, act_max)
      GemmS8(*packed_v, m, p.get(), tk, nullptr, acc.get(), d, pool);
      RequantizeRows(ctx.path, m, d, acc.get(), d, &multiplier, &shift, false, lo, hi,
                     yb + i0 * width, width, pool);
    }
  });
  return Status::Ok();
}

}  // namespace

const OpDef& MatMulDef() {
  static const OpDef def = {
      .min_inputs = 2,
      .max_inputs = 2,
      .attrs = {"act_min", "act_max", "transpose_b"},
      .params = {"multiplier", "shift"},
      .check = CheckMatMul,
      .infer = InferMatMul,
      .run = RunMatMul,
  };
  return def;
}

const OpDef& AttentionDef() {
  static const OpDef def = {
      .min_inputs = 3,
      .max_inputs = 3,
      .attrs = {"act_min", "act_max", "heads", "causal"},
      .params = {"score_multiplier", "score_shift", "exp_table", "multiplier", "shift"},
      .check = CheckAttention,
      .infer = InferAttention,
      .run = RunAttention,
  };
  return def;
}

}  // namespace veil::ops
