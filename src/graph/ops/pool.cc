// Pooling and reduction (docs/arithmetic.md §3): MaxPool2d, AvgPool2d and ReduceMean.
//
// Pool windows are clipped to the image: padding never contributes to a maximum or a
// sum, only (count_include_pad) to AvgPool's divisor. Validation guarantees that every
// window holds at least one in-bounds element.
#include <algorithm>
#include <string>
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
    return Invalid("some pooling window lies entirely in the padding (input " +
                   ShapeToString(x) + ")");
  return Status::Ok();
}

Status InferPool(const Node& node, std::span<const Shape> in, Shape* out) {
  const PoolGeometry g = GetPoolGeometry(node, in[0]);
  *out = {g.c, g.oh, g.ow};
  return Status::Ok();
}

// Calls reduce(plane, h0, h1, w0, w1) for the clipped window of every output element of
// every (sample, channel) plane and stores its result.
template <typename Reduce>
void ForEachWindow(const OpContext& ctx, const PoolGeometry& g, const Tensor& x, Tensor* out,
                   Reduce reduce) {
  const int64_t planes = x.dim(0) * g.c;
  ParallelRows(ctx.pool, planes, g.h * g.w, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int8_t* plane = x.i8().data() + p * g.h * g.w;
      int8_t* y = out->i8().data() + p * g.oh * g.ow;
      for (int64_t i = 0; i < g.oh; ++i) {
        const int64_t h0 = std::max<int64_t>(0, i * g.sh - g.pt);
        const int64_t h1 = std::min(g.h, i * g.sh - g.pt + g.kh);
        for (int64_t j = 0; j < g.ow; ++j) {
          const int64_t w0 = std::max<int64_t>(0, j * g.sw - g.pl);
          const int64_t w1 = std::min(g.w, j * g.sw - g.pl + g.kw);
          y[i * g.ow + j] = static_cast<int8_t>(reduce(plane, h0, h1, w0, w1));
        }
      }
    }
  });
}

Status RunMaxPool(const OpContext& ctx, const Node& node, const PreparedNode&,
                  std::span<const Tensor* const> in, Tensor* out) {
  const PoolGeometry g = GetPoolGeometry(node, SampleShape(*in[0]));
  ForEachWindow(ctx, g, *in[0], out,
                [&](const int8_t* plane, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                  int32_t m = plane[h0 * g.w + w0];
                  for (int64_t h = h0; h < h1; ++h)
                    for (int64_t w = w0; w < w1; ++w) m = std::max<int32_t>(m, plane[h * g.w + w]);
                  return m;
                });
  return Status::Ok();
}

Status RunAvgPool(const OpContext& ctx, const Node& node, const PreparedNode&,
                  std::span<const Tensor* const> in, Tensor* out) {
  const PoolGeometry g = GetPoolGeometry(node, SampleShape(*in[0]));
  const bool include_pad = node.AttrInt("count_include_pad", 0) == 1;
  ForEachWindow(ctx, g, *in[0], out,
                [&](const int8_t* plane, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                  int64_t sum = 0;
                  for (int64_t h = h0; h < h1; ++h)
                    for (int64_t w = w0; w < w1; ++w) sum += plane[h * g.w + w];
                  const int64_t n = include_pad ? g.kh * g.kw : (h1 - h0) * (w1 - w0);
                  return RoundDiv(sum, n);
                });
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
