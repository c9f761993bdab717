// Pooling and reduction (docs/arithmetic.md §3): MaxPool2d, AvgPool2d and ReduceMean.
//
// Pool windows are clipped to the image: padding never contributes to a maximum or a
// sum, only (count_include_pad) to AvgPool's divisor. Validation guarantees that every
// window holds at least one in-bounds element.
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/arith.h"

namespace veil::ops {
namespace {

// ------------------------------------------------------------------------- Pool2d

struct PoolGeometry {
  int64_t c, h, w;
  int64_t kh, kw, sh, sw, pt, pl, pb, pr;
  int64_t oh, ow;
};

PoolGeometry GetPoolGeometry(const Node& node, const Shape& x) {
  const auto kernel = AttrOr(node, "kernel", {1, 1});
  const auto strides = AttrOr(node, "strides", {1, 1});
  const auto pads = AttrOr(node, "pads", {0, 0, 0, 0});
  PoolGeometry g;
  g.c = x[0], g.h = x[1], g.w = x[2];
  g.kh = kernel[0], g.kw = kernel[1];
  g.sh = strides[0], g.sw = strides[1];
  g.pt = pads[0], g.pl = pads[1], g.pb = pads[2], g.pr = pads[3];
  g.oh = WindowOutDim(g.h, g.kh, g.sh, g.pt, g.pb, 1);
  g.ow = WindowOutDim(g.w, g.kw, g.sw, g.pl, g.pr, 1);
  return g;
}

// Windows along one axis start at i·stride − pad_begin for i < out; all of them meet
// [0, in) iff the first ends after 0 and the last starts before `in`.
bool AllWindowsMeetInput(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                         int64_t out) {
  return kernel > pad_begin && (out - 1) * stride - pad_begin < in;
}

Status CheckPool(const Node& node, std::span<const Shape> in) {
  const Shape& x = in[0];
  if (x.size() != 3 || x[0] < 1 || x[1] < 1 || x[2] < 1)
    return Invalid("input x has shape " + ShapeToString(x) + ", expected static [C, H, W]");
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "kernel", 2, true, 1, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "strides", 2, false, 1, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "pads", 4, false, 0, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "count_include_pad", 1, false, 0, 1));
  const PoolGeometry g = GetPoolGeometry(node, x);
  if (g.oh < 1 || g.ow < 1)
    return Invalid("the window does not fit in the padded input " + ShapeToString(x));
  if (!AllWindowsMeetInput(g.h, g.kh, g.sh, g.pt, g.oh) ||
      !AllWindowsMeetInput(g.w, g.kw, g.sw, g.pl, g.ow))
    return Invalid("some pooling window lies entirely in the padding (input " + ShapeToString(x) +
                   ")");
  return Status::Ok();
}

Status InferPool(const Node& node, std::span<const Shape> in, Shape* out) {
  const PoolGeometry g = GetPoolGeometry(node, in[0]);
  *out = {g.c, g.oh, g.ow};
  return Status::Ok();
}

// One axis of the pooling windows: output index o covers input [begin[o], end[o]),
// clipped to the input (never empty, by validation).
struct WindowBounds {
  std::vector<int64_t> begin, end;
};

WindowBounds AxisWindows(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad) {
  WindowBounds b;
  for (int64_t o = 0; o < out; ++o) {
    b.begin.push_back(std::max<int64_t>(0, o * stride - pad));
    b.end.push_back(std::min(in, o * stride - pad + kernel));
  }
  return b;
}

// The window geometry PoolPlanes needs, as plain values.
struct PlaneGeometry {
  int64_t h, w, oh, ow;
  int64_t kw, sw, pl;
  int64_t j0, j1;  // output columns whose windows lie wholly inside the row
  const int64_t* row_begin;
  const int64_t* row_end;
  const int64_t* col_begin;
  const int64_t* col_end;
  int64_t window;  // AvgPool divisor when count_include_pad, else 0
};

// Pools planes [p0, p1) of H×W into OH×OW through the scratch t [H, OW] (row pass) and
// acc [OW] (column pass); the inner loops run along contiguous rows so they vectorise.
// |row pass sums| <= KW·127 < 2^28 fit int32; column sums (Acc) use int64.
template <bool kMax, typename Acc = std::conditional_t<kMax, int32_t, int64_t>>
void PoolPlanes(const int8_t* x, int64_t p0, int64_t p1, const PlaneGeometry& geometry, int32_t* t,
                Acc* acc, int8_t* y) {
  // A local copy: int8 stores may alias any memory, so fields read through a reference
  // would be reloaded after every store.
  const PlaneGeometry g = geometry;
  const auto combine = [](auto a, auto b) { return kMax ? std::max(a, b) : a + b; };
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* plane = x + p * g.h * g.w;
    for (int64_t r = 0; r < g.h; ++r) {  // row pass: reduce each window's columns
      const int8_t* in = plane + r * g.w;
      int32_t* tr = t + r * g.ow;
      for (int64_t j = g.j0; j < g.j1; ++j) tr[j] = in[j * g.sw - g.pl];
      for (int64_t v = 1; v < g.kw; ++v)  // inside windows, tap by tap
        for (int64_t j = g.j0; j < g.j1; ++j)
          tr[j] = combine(tr[j], int32_t{in[j * g.sw - g.pl + v]});
      const auto clipped = [&](int64_t j) {
        int32_t v = in[g.col_begin[j]];
        for (int64_t c = g.col_begin[j] + 1; c < g.col_end[j]; ++c) v = combine(v, int32_t{in[c]});
        tr[j] = v;
      };
      for (int64_t j = 0; j < g.j0; ++j) clipped(j);
      for (int64_t j = g.j1; j < g.ow; ++j) clipped(j);
    }
    int8_t* out = y + p * g.oh * g.ow;
    for (int64_t i = 0; i < g.oh; ++i) {  // column pass: reduce each window's rows
      const int32_t* first = t + g.row_begin[i] * g.ow;
      for (int64_t j = 0; j < g.ow; ++j) acc[j] = first[j];
      for (int64_t r = g.row_begin[i] + 1; r < g.row_end[i]; ++r) {
        const int32_t* tr = t + r * g.ow;
        for (int64_t j = 0; j < g.ow; ++j) acc[j] = combine(acc[j], Acc{tr[j]});
      }
      for (int64_t j = 0; j < g.ow; ++j) {
        int64_t v = acc[j];
        if constexpr (!kMax) {
          const int64_t n = g.window > 0
                                ? g.window
                                : (g.row_end[i] - g.row_begin[i]) * (g.col_end[j] - g.col_begin[j]);
          v = RoundDiv(v, n);
        }
        out[i * g.ow + j] = static_cast<int8_t>(v);
      }
    }
  }
}

// Max or average pooling of every (sample, channel) plane. Windows are rectangles, so
// the reduction is separable: a row pass reduces each window's columns, a column pass
// the rows. Max and integer sums are exact in any order, so this equals the direct
// definition bit for bit. count_include_pad: AvgPool divides by KH·KW.
template <bool kMax>
void Pool2d(const OpContext& ctx, const PoolGeometry& g, bool count_include_pad, const Tensor& x,
            Tensor* out) {
  if (kMax && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.pt == 0 && g.pl == 0 &&
      g.pb == 0 && g.pr == 0) {  // oh = floor(h / 2), ow = floor(w / 2): the kernels' 2×2 pool
    const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
    ParallelRows(ctx.pool, x.dim(0) * g.c, in_plane, [&](int64_t p0, int64_t p1) {
      MaxPool2x2(ctx.path, p1 - p0, g.h, g.w, x.i8().data() + p0 * in_plane,
                 out->i8().data() + p0 * out_plane);
    });
    return;
  }
  const WindowBounds rows = AxisWindows(g.h, g.oh, g.kh, g.sh, g.pt);
  const WindowBounds cols = AxisWindows(g.w, g.ow, g.kw, g.sw, g.pl);
  PlaneGeometry plane{g.h,
                      g.w,
                      g.oh,
                      g.ow,
                      g.kw,
                      g.sw,
                      g.pl,
                      0,
                      0,
                      rows.begin.data(),
                      rows.end.data(),
                      cols.begin.data(),
                      cols.end.data(),
                      count_include_pad ? g.kh * g.kw : 0};
  // Inside windows: j·sw − pl >= 0 and j·sw − pl + kw <= W.
  plane.j0 = std::min(g.ow, (g.pl + g.sw - 1) / g.sw);
  plane.j1 = g.w - g.kw + g.pl < 0 ? 0 : std::min(g.ow, (g.w - g.kw + g.pl) / g.sw + 1);
  plane.j1 = std::max(plane.j1, plane.j0);
  ParallelRows(ctx.pool, x.dim(0) * g.c, g.h * g.w, [&](int64_t p0, int64_t p1) {
    const auto t = Scratch<int32_t>(g.h * g.ow);
    const auto acc = Scratch<std::conditional_t<kMax, int32_t, int64_t>>(g.ow);
    PoolPlanes<kMax>(x.i8().data(), p0, p1, plane, t.get(), acc.get(), out->i8().data());
  });
}

Status RunMaxPool(const OpContext& ctx, const Node& node, const PreparedNode&,
                  std::span<const Tensor* const> in, Tensor* out) {
  Pool2d<true>(ctx, GetPoolGeometry(node, SampleShape(*in[0])), false, *in[0], out);
  return Status::Ok();
}

Status RunAvgPool(const OpContext& ctx, const Node& node, const PreparedNode&,
                  std::span<const Tensor* const> in, Tensor* out) {
  Pool2d<false>(ctx, GetPoolGeometry(node, SampleShape(*in[0])),
                node.AttrInt("count_include_pad", 0) == 1, *in[0], out);
  return Status::Ok();
}

// --------------------------------------------------------------------- ReduceMean

Status CheckReduceMean(const Node& node, std::span<const Shape> in) {
  const int64_t rank = static_cast<int64_t>(in[0].size());
  if (rank == 0) return Invalid("input x is a scalar; nothing to reduce");
  VEIL_RETURN_IF_ERROR(CheckAttrList(node, "axes", 0, rank - 1));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "keepdims", 1, false, 0, 1));
  const auto axes = node.AttrInts("axes");
  if (axes.empty()) return Invalid("attr 'axes' is empty");
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] <= axes[i - 1]) return Invalid("attr 'axes' is not strictly ascending");
  return Status::Ok();
}

std::vector<bool> ReducedAxes(const Node& node, size_t rank) {
  std::vector<bool> reduced(rank, false);
  for (int64_t a : node.AttrInts("axes")) reduced[static_cast<size_t>(a)] = true;
  return reduced;
}

Status InferReduceMean(const Node& node, std::span<const Shape> in, Shape* out) {
  const std::vector<bool> reduced = ReducedAxes(node, in[0].size());
  const bool keepdims = node.AttrInt("keepdims", 1) == 1;
  out->clear();
  for (size_t i = 0; i < reduced.size(); ++i) {
    if (!reduced[i]) {
      out->push_back(in[0][i]);
    } else if (keepdims) {
      out->push_back(1);
    }
  }
  return Status::Ok();
}

Status RunReduceMean(const OpContext& ctx, const Node& node, const PreparedNode&,
                     std::span<const Tensor* const> in, Tensor* out) {
  const Tensor& x = *in[0];
  // Work on the full run-time shape, batch axis (never reduced) included.
  std::vector<bool> reduced = ReducedAxes(node, x.rank() - 1);
  reduced.insert(reduced.begin(), false);
  const Shape& shape = x.shape();
  const size_t rank = shape.size();
  int64_t n = 1;  // reduced elements per output element
  for (size_t i = 0; i < rank; ++i)
    if (reduced[i]) n *= shape[i];
  const int8_t* px = x.i8().data();
  int8_t* py = out->i8().data();
  const int64_t outputs = out->size();

  // Fast path: the reduced axes are a trailing suffix, so each output averages a
  // contiguous run of n inputs.
  size_t first_reduced = rank;
  while (first_reduced > 0 && reduced[first_reduced - 1]) --first_reduced;
  if (std::count(reduced.begin(), reduced.end(), true) ==
      static_cast<std::ptrdiff_t>(rank - first_reduced)) {
    ParallelRows(ctx.pool, outputs, n, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        int64_t sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += px[o * n + i];
        py[o] = static_cast<int8_t>(RoundDiv(sum, n));
      }
    });
    return Status::Ok();
  }

  // General case: walk the input in order, mapping each element to its output through
  // strides that are 0 along reduced axes.
  std::vector<int64_t> out_stride(rank, 0);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    if (reduced[i]) continue;
    out_stride[i] = stride;
    stride *= shape[i];
  }
  std::vector<int64_t> sums(static_cast<size_t>(outputs), 0);
  std::vector<int64_t> index(rank, 0);
  int64_t o = 0;  // output offset of `index`
  for (int64_t e = 0; e < x.size(); ++e) {
    sums[static_cast<size_t>(o)] += px[e];
    for (size_t i = rank; i-- > 0;) {  // odometer increment
      o += out_stride[i];
      if (++index[i] < shape[i]) break;
      o -= out_stride[i] * shape[i];
      index[i] = 0;
    }
  }
  for (int64_t k = 0; k < outputs; ++k)
    py[k] = static_cast<int8_t>(RoundDiv(sums[static_cast<size_t>(k)], n));
  return Status::Ok();
}

}  // namespace

const OpDef& MaxPool2dDef() {
  static const OpDef def = {
      .attrs = {"kernel", "strides", "pads"},
      .params = {},
      .check = CheckPool,
      .infer = InferPool,
      .run = RunMaxPool,
  };
  return def;
}

const OpDef& AvgPool2dDef() {
  static const OpDef def = {
      .attrs = {"kernel", "strides", "pads", "count_include_pad"},
      .params = {},
      .check = CheckPool,
      .infer = InferPool,
      .run = RunAvgPool,
  };
  return def;
}

const OpDef& ReduceMeanDef() {
  static const OpDef def = {
      .attrs = {"axes", "keepdims"},
      .params = {},
      .check = CheckReduceMean,
      .infer = InferReduceMean,
      .run = RunReduceMean,
  };
  return def;
}

}  // namespace veil::ops
