// Linear and Conv2d (docs/arithmetic.md §3): int8 GEMMs against packed weights.
//
// Linear multiplies the rows of x [rows, K] by the packed weight [N, K]. Conv2d lowers
// each group to a GEMM: chunks of samples are made channel-last, im2col builds
// A [pixels, KH·KW·C/g] from them with one copy per window row (zero where the window
// leaves the image, K padded to whole quads with zeros), GemmS8 multiplies it by the
// group's packed weights (reordered to the same (u, v, c) order), and the result,
// requantized, is transposed into the channel-major output. Single-channel inputs skip
// the channel-last step. Depthwise convolutions are computed directly.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/arith.h"

namespace veil::ops {
namespace {

// ---------------------------------------------------------------------------- Linear

Status CheckLinear(const Node& node, std::span<const Shape> in) {
  const Shape& x = in[0];
  if (x.empty() || x.back() < 1)
    return Invalid("input x has shape " + ShapeToString(x) + ", expected [..., K] with a static K");
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  VEIL_RETURN_IF_ERROR(GetParamRank(node, "weight", DType::kInt8, 2, &weight));
  const int64_t n = weight->dim(0);
  const int64_t k = weight->dim(1);
  if (k != x.back())
    return Invalid("param 'weight' has shape " + ShapeToString(weight->shape()) +
                   " but input x has K = " + std::to_string(x.back()));
  VEIL_RETURN_IF_ERROR(CheckInt8Range(*weight, "weight"));
  VEIL_RETURN_IF_ERROR(GetParam(node, "bias", DType::kInt32, {n}, &bias));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", n));
  VEIL_RETURN_IF_ERROR(CheckActRange(node));
  return CheckAccumulatorBound(k, bias);
}

Status InferLinear(const Node& node, std::span<const Shape> in, Shape* out) {
  const Tensor& weight = *node.FindParam("weight");
  if (in[0].empty() || in[0].back() != weight.dim(1))
    return Invalid("input x has shape " + ShapeToString(in[0]) + ", expected [..., " +
                   std::to_string(weight.dim(1)) + "]");
  *out = in[0];
  out->back() = weight.dim(0);
  return Status::Ok();
}

Status PrepareLinear(const Node& node, KernelPath path, PreparedNode* prepared) {
  const Tensor& weight = *node.FindParam("weight");
  const int64_t n = weight.dim(0), k = weight.dim(1);
  prepared->packed.push_back(PackWeights(path, n, k, weight.i8().data(), k));
  ExpandRequantParams(node, "multiplier", "shift", prepared);
  return Status::Ok();
}

Status RunLinear(const OpContext& ctx, const Node& node, const PreparedNode& prepared,
                 std::span<const Tensor* const> in, Tensor* out) {
  const PackedWeights& weight = *prepared.packed[0];
  const int64_t n = weight.n(), k = weight.k();
  const int64_t rows = in[0]->size() / k;
  const int32_t* bias = node.FindParam("bias")->i32().data();
  const int8_t* x = in[0]->i8().data();
  int8_t* y = out->i8().data();
  const int64_t block = std::min(rows, std::max<int64_t>(16, kScratchBytes / (4 * n)));
  const auto acc = Scratch<int32_t>(block * n);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t m = std::min(block, rows - r0);
    GemmS8(weight, m, x + r0 * k, k, bias, acc.get(), n, ctx.pool);
    RequantizeRows(ctx.path, m, n, acc.get(), n, prepared.multiplier.data(), prepared.shift.data(),
                   prepared.per_channel(), ActMin(node), ActMax(node), y + r0 * n, n, ctx.pool);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------- Conv2d

// Geometry of a validated Conv2d node; attributes fall back to ONNX's defaults.
struct ConvGeometry {
  int64_t c, h, w;            // input
  int64_t o, cg, og, kh, kw;  // weight [O, C/g, KH, KW], og = O/g
  int64_t group;
  int64_t sh, sw, pt, pl, pb, pr, dh, dw;
  int64_t oh, ow;  // output

  int64_t k() const { return cg * kh * kw; }
  // The GEMM's K: k() rounded up to whole quads (the kernels' unit of K) with zero
  // columns in im2col and weights, which add nothing to the sums.
  int64_t k_padded() const { return (k() + 3) / 4 * 4; }
};

ConvGeometry GetConvGeometry(const Node& node, const Shape& x) {
  const Tensor& weight = *node.FindParam("weight");
  const auto strides = AttrOr(node, "strides", {1, 1});
  const auto pads = AttrOr(node, "pads", {0, 0, 0, 0});
  const auto dilations = AttrOr(node, "dilations", {1, 1});
  ConvGeometry g;
  g.c = x[0], g.h = x[1], g.w = x[2];
  g.o = weight.dim(0), g.cg = weight.dim(1), g.kh = weight.dim(2), g.kw = weight.dim(3);
  g.group = node.AttrInt("group", 1);
  g.og = g.o / g.group;
  g.sh = strides[0], g.sw = strides[1];
  g.pt = pads[0], g.pl = pads[1], g.pb = pads[2], g.pr = pads[3];
  g.dh = dilations[0], g.dw = dilations[1];
  g.oh = WindowOutDim(g.h, g.kh, g.sh, g.pt, g.pb, g.dh);
  g.ow = WindowOutDim(g.w, g.kw, g.sw, g.pl, g.pr, g.dw);
  return g;
}

Status CheckConv2d(const Node& node, std::span<const Shape> in) {
  const Shape& x = in[0];
  if (x.size() != 3 || x[0] < 1 || x[1] < 1 || x[2] < 1)
    return Invalid("input x has shape " + ShapeToString(x) + ", expected static [C, H, W]");
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "group", 1, false, 1, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "strides", 2, false, 1, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "pads", 4, false, 0, kMaxGeometry));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "dilations", 2, false, 1, kMaxGeometry));
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  VEIL_RETURN_IF_ERROR(GetParamRank(node, "weight", DType::kInt8, 4, &weight));
  const int64_t group = node.AttrInt("group", 1);
  const int64_t o = weight->dim(0);
  if (x[0] % group != 0 || o % group != 0 || weight->dim(1) != x[0] / group)
    return Invalid("param 'weight' has shape " + ShapeToString(weight->shape()) +
                   ", inconsistent with input channels " + std::to_string(x[0]) + " and group " +
                   std::to_string(group) +
                   " (expected [O, C/group, KH, KW] with C and O divisible by group)");
  if (weight->dim(2) > kMaxGeometry || weight->dim(3) > kMaxGeometry)
    return Invalid("param 'weight' has an oversized kernel " + ShapeToString(weight->shape()));
  VEIL_RETURN_IF_ERROR(CheckInt8Range(*weight, "weight"));
  VEIL_RETURN_IF_ERROR(GetParam(node, "bias", DType::kInt32, {o}, &bias));
  VEIL_RETURN_IF_ERROR(CheckRequantParams(node, "multiplier", "shift", o));
  VEIL_RETURN_IF_ERROR(CheckActRange(node));
  const ConvGeometry g = GetConvGeometry(node, x);
  if (g.oh < 1 || g.ow < 1)
    return Invalid("the kernel (dilated) does not fit in the padded input " + ShapeToString(x));
  return CheckAccumulatorBound(g.k(), bias);
}

Status InferConv2d(const Node& node, std::span<const Shape> in, Shape* out) {
  const ConvGeometry g = GetConvGeometry(node, in[0]);
  *out = {g.o, g.oh, g.ow};
  return Status::Ok();
}

Status PrepareConv2d(const Node& node, KernelPath path, PreparedNode* prepared) {
  const Tensor& weight = *node.FindParam("weight");
  const int64_t group = node.AttrInt("group", 1);
  const int64_t og = weight.dim(0) / group;
  const int64_t k = weight.dim(1) * weight.dim(2) * weight.dim(3);
  const bool depthwise = weight.dim(1) == 1 && og == 1;  // run directly, no GEMM
  // The GEMM reads im2col rows in (u, v, c) order (channel-last windows, see
  // Im2colNhwc), so the weights are reordered from [O, C/g, KH, KW] to [O, KH, KW, C/g].
  // The accumulator is an exact integer sum, so the order of its terms is free.
  // Rows are zero-padded to kp = ConvGeometry::k_padded() columns.
  const int64_t cg = weight.dim(1), taps = weight.dim(2) * weight.dim(3);
  const int64_t kp = (k + 3) / 4 * 4;
  std::vector<int8_t> reordered(depthwise ? 0 : static_cast<size_t>(weight.dim(0) * kp), 0);
  for (int64_t o = 0; o < weight.dim(0) && !depthwise; ++o)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t t = 0; t < taps; ++t)
        reordered[static_cast<size_t>(o * kp + t * cg + c)] =
            weight.i8()[static_cast<size_t>(o * k + c * taps + t)];
  for (int64_t gi = 0; gi < group && !depthwise; ++gi)
    prepared->packed.push_back(PackWeights(path, og, kp, reordered.data() + gi * og * kp, kp));
  ExpandRequantParams(node, "multiplier", "shift", prepared);
  return Status::Ok();
}

// Copies n bytes; inlined for the short runs of im2col (a library memcpy call per
// window row would cost more than the copy).
inline void CopyBytes(int8_t* dst, const int8_t* src, int64_t n) {
  for (; n >= 16; n -= 16, dst += 16, src += 16) std::memcpy(dst, src, 16);
  for (; n >= 4; n -= 4, dst += 4, src += 4) std::memcpy(dst, src, 4);
  for (; n > 0; --n) *dst++ = *src++;
}

inline void ZeroBytes(int8_t* dst, int64_t n) {
  for (; n >= 16; n -= 16, dst += 16) std::memset(dst, 0, 16);
  for (; n >= 4; n -= 4, dst += 4) std::memset(dst, 0, 4);
  if (n > 0) dst[0] = 0;
  if (n > 1) dst[1] = 0;
  if (n > 2) dst[2] = 0;
}

// x [B, C, H, W] (a chunk of samples) as channel-last xt [B, H, W, C].
void ToChannelLast(const int8_t* x, int64_t samples, int64_t c, int64_t plane, int8_t* xt) {
  for (int64_t b = 0; b < samples; ++b)
    TransposeS8(c, plane, x + b * c * plane, plane, xt + b * c * plane, c);
}

// Rows [r0, r1) of the im2col matrix of one group over a chunk of channel-last samples
// xt [B, H, W, C]: row r is output pixel (i, j) = r mod OH·OW of sample r / OH·OW;
// column (u, v, c) holds x̃[c0 + c, i·sh − pt + u·dh, j·sw − pl + v·dw], zero outside the
// image. Rows are `ld` >= K bytes apart, zero after column K. The weights are reordered
// to match (PrepareConv2d).
void Im2colNhwc(const ConvGeometry& g, const int8_t* xt, int64_t c0, int64_t r0, int64_t r1,
                int64_t ld, int8_t* col) {
  // Locals, not g's fields: the int8 stores below may alias anything.
  const int64_t h = g.h, w = g.w, kh = g.kh, kw = g.kw, sh = g.sh, sw = g.sw, dh = g.dh,
                dw = g.dw, pt = g.pt, pl = g.pl, oh = g.oh, ow = g.ow, cg = g.cg, channels = g.c;
  const int64_t k = cg * kh * kw, pixels = oh * ow;
  // A whole window row is one contiguous run when it takes every channel at unit dilation.
  const bool contiguous_taps = cg == channels && dw == 1;
  int64_t b = r0 / pixels, i = (r0 % pixels) / ow, j = r0 % ow;  // advanced per row
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t h0 = i * sh - pt, w0 = j * sw - pl;
    const bool row_inside = w0 >= 0 && w0 + (kw - 1) * dw < w;
    int8_t* dst = col + (r - r0) * ld;
    ZeroBytes(dst + k, ld - k);
    const int8_t* sample = xt + b * h * w * channels + c0;
    for (int64_t u = 0; u < kh; ++u) {
      const int64_t ih = h0 + u * dh;
      if (ih < 0 || ih >= h) {
        ZeroBytes(dst, kw * cg);
        dst += kw * cg;
        continue;
      }
      const int8_t* src = sample + ih * w * channels;  // pixel (ih, 0), channel c0
      if (row_inside && contiguous_taps) {
        CopyBytes(dst, src + w0 * channels, kw * cg);
        dst += kw * cg;
        continue;
      }
      for (int64_t v = 0; v < kw; ++v, dst += cg) {
        const int64_t iw = w0 + v * dw;
        if (iw >= 0 && iw < w) {
          CopyBytes(dst, src + iw * channels, cg);
        } else {
          ZeroBytes(dst, cg);
        }
      }
    }
    if (++j == ow) {
      j = 0;
      if (++i == oh) i = 0, ++b;
    }
  }
}

// Im2col over channel-major samples, for one input channel (where (c, u, v) and (u, v, c)
// orders agree and channel-last copies would be single bytes). Rows [r0, r1) of the
// im2col matrix: row r is output pixel (i, j) = r mod OH·OW of sample r / OH·OW;
// column (c, u, v) holds
// x̃[c0 + c, i·sh − pt + u·dh, j·sw − pl + v·dw], zero outside the image.
// kKw: the kernel width, or 0 for any (read from g); kUnitDw: dilation along W is 1.
template <int kKw, bool kUnitDw>
void Im2colImpl(const ConvGeometry& g, const int8_t* x, int64_t c0, int64_t r0, int64_t r1,
                int64_t ld, int8_t* col) {
  // Locals, not g's fields: the int8 stores below may alias anything, so the compiler
  // would reload every field after each store.
  const int64_t h = g.h, w = g.w, kh = g.kh, kw = kKw > 0 ? kKw : g.kw, sh = g.sh, sw = g.sw,
                dh = g.dh, dw = kUnitDw ? 1 : g.dw, pt = g.pt, pl = g.pl, oh = g.oh, ow = g.ow,
                cg = g.cg, channels = g.c;
  const int64_t k = cg * kh * kw, pixels = oh * ow, plane = h * w;
  int64_t b = r0 / pixels, i = (r0 % pixels) / ow, j = r0 % ow;  // advanced per row
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t h0 = i * sh - pt, w0 = j * sw - pl;
    // Whether the kernel row stays inside [0, W) as a whole (no per-element test).
    const bool row_inside = w0 >= 0 && w0 + (kw - 1) * dw < w;
    int8_t* dst = col + (r - r0) * ld;
    for (int64_t t = k; t < ld; ++t) dst[t] = 0;
    const int8_t* sample = x + (b * channels + c0) * plane;
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t u = 0; u < kh; ++u, dst += kw) {
        const int64_t ih = h0 + u * dh;
        if (ih < 0 || ih >= h) {
          for (int64_t v = 0; v < kw; ++v) dst[v] = 0;
          continue;
        }
        const int8_t* src = sample + c * plane + ih * w;  // input row ih
        if (row_inside) {
          for (int64_t v = 0; v < kw; ++v) dst[v] = src[w0 + v * dw];
        } else {
          for (int64_t v = 0; v < kw; ++v) {
            const int64_t iw = w0 + v * dw;
            dst[v] = (iw >= 0 && iw < w) ? src[iw] : int8_t{0};
          }
        }
      }
    }
    if (++j == ow) {
      j = 0;
      if (++i == oh) i = 0, ++b;
    }
  }
}

void Im2col(const ConvGeometry& g, const int8_t* x, int64_t c0, int64_t r0, int64_t r1, int64_t ld,
            int8_t* col) {
  if (g.dw == 1) {
    switch (g.kw) {  // common widths get unrolled copies
      case 1:
        return Im2colImpl<1, true>(g, x, c0, r0, r1, ld, col);
      case 2:
        return Im2colImpl<2, true>(g, x, c0, r0, r1, ld, col);
      case 3:
        return Im2colImpl<3, true>(g, x, c0, r0, r1, ld, col);
      case 5:
        return Im2colImpl<5, true>(g, x, c0, r0, r1, ld, col);
      case 7:
        return Im2colImpl<7, true>(g, x, c0, r0, r1, ld, col);
      default:
        return Im2colImpl<0, true>(g, x, c0, r0, r1, ld, col);
    }
  }
  return Im2colImpl<0, false>(g, x, c0, r0, r1, ld, col);
}

// Single-channel im2col (C = 1, unit dilation along W) through a zero-padded copy of each
// sample's plane, padded [H + pt + pb, W + pl + pr] plus 4 slack bytes: window row u of
// output pixel (i, j) is then the kw bytes at padded (i·sh + u·dh, j·sw), copied as one
// 4-byte word (kw <= 4) whose extra byte the next copy, or the final zeroing of columns
// [K, ld), overwrites. Needs (kh − 1)·kw + 4 <= ld (see UsePaddedIm2col). Same rows as
// Im2col.
bool UsePaddedIm2col(const ConvGeometry& g, int64_t ld) {
  const int64_t padded = (g.h + g.pt + g.pb) * (g.w + g.pl + g.pr);
  return g.c == 1 && g.dw == 1 && g.kw <= 4 && (g.kh - 1) * g.kw + 4 <= ld &&
         padded <= (int64_t{1} << 16);
}

// kKh: the kernel height, or 0 for any (read from g).
template <int kKh>
void Im2colPaddedImpl(const ConvGeometry& g, const int8_t* x, int64_t r0, int64_t r1, int64_t ld,
                      int8_t* col) {
  const int64_t h = g.h, w = g.w, kh = kKh > 0 ? kKh : g.kh, kw = g.kw, sh = g.sh, sw = g.sw, dh = g.dh,
                pt = g.pt, pl = g.pl, oh = g.oh, ow = g.ow;
  const int64_t pw = w + g.pl + g.pr, ph = h + g.pt + g.pb, k = kh * kw, pixels = oh * ow;
  const auto padded = Scratch<int8_t>(ph * pw + 4);
  std::memset(padded.get(), 0, static_cast<size_t>(ph * pw + 4));
  int64_t b = r0 / pixels, i = (r0 % pixels) / ow, j = r0 % ow;  // advanced per row
  int64_t loaded = -1;  // the sample whose plane `padded` holds
  for (int64_t r = r0; r < r1; ++r) {
    if (b != loaded) {  // the padding stays zero; only the interior changes
      for (int64_t row = 0; row < h; ++row)
        std::memcpy(padded.get() + (row + pt) * pw + pl, x + (b * h + row) * w,
                    static_cast<size_t>(w));
      loaded = b;
    }
    const int8_t* base = padded.get() + i * sh * pw + j * sw;
    int8_t* dst = col + (r - r0) * ld;
    for (int64_t u = 0; u < kh; ++u) std::memcpy(dst + u * kw, base + u * dh * pw, 4);
    // Zero columns [K, ld), at most 3 (explicit stores: a loop would become a memset call).
    if (ld > k) dst[k] = 0;
    if (ld > k + 1) dst[k + 1] = 0;
    if (ld > k + 2) dst[k + 2] = 0;
    if (++j == ow) {
      j = 0;
      if (++i == oh) i = 0, ++b;
    }
  }
}

void Im2colPadded(const ConvGeometry& g, const int8_t* x, int64_t r0, int64_t r1, int64_t ld,
                  int8_t* col) {
  if (g.kh == 3) return Im2colPaddedImpl<3>(g, x, r0, r1, ld, col);
  return Im2colPaddedImpl<0>(g, x, r0, r1, ld, col);
}

// Writes the requantized GEMM rows tmp [m, og] (rows r0.. of one group) to their
// channel-major places y[b, n0 + n, p] (row r = b·OH·OW + p).
void ScatterChannelMajor(const ConvGeometry& g, const int8_t* tmp, int64_t r0, int64_t m,
                         int64_t n0, int8_t* y) {
  const int64_t pixels = g.oh * g.ow, og = g.og, o = g.o;
  for (int64_t r = r0; r < r0 + m;) {
    const int64_t b = r / pixels, p0 = r % pixels;
    const int64_t count = std::min(pixels - p0, r0 + m - r);  // this sample's rows
    TransposeS8(count, og, tmp + (r - r0) * og, og, y + (b * o + n0) * pixels + p0, pixels);
    r += count;
  }
}

// Depthwise convolution (one input and one output channel per group): a GEMM with
// N = 1 would waste the kernels, so each (sample, channel) plane is computed directly
// with the same integer operations (the accumulator sum is exact, so order is free).
void RunDepthwise(const OpContext& ctx, const Node& node, const PreparedNode& prepared,
                  const ConvGeometry& geometry, const Tensor& x, Tensor* out) {
  const int8_t* weight = node.FindParam("weight")->i8().data();
  const int32_t* bias = node.FindParam("bias")->i32().data();
  const bool per_channel = prepared.per_channel();
  const int32_t lo = ActMin(node), hi = ActMax(node);
  const int64_t taps = geometry.kh * geometry.kw, pixels = geometry.oh * geometry.ow;
  ParallelRows(ctx.pool, x.dim(0) * geometry.c, pixels * taps, [&](int64_t q0, int64_t q1) {
    const ConvGeometry g = geometry;  // a local: int8 stores could alias a reference
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t c = q % g.c;
      const int8_t* plane = x.i8().data() + q * g.h * g.w;
      const int8_t* w = weight + c * taps;
      const int32_t mult = prepared.multiplier[per_channel ? static_cast<size_t>(c) : 0];
      const int32_t shift = prepared.shift[per_channel ? static_cast<size_t>(c) : 0];
      int8_t* y = out->i8().data() + q * pixels;
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          int32_t acc = bias[c];
          for (int64_t u = 0; u < g.kh; ++u) {
            const int64_t ih = i * g.sh - g.pt + u * g.dh;
            if (ih < 0 || ih >= g.h) continue;
            for (int64_t v = 0; v < g.kw; ++v) {
              const int64_t iw = j * g.sw - g.pl + v * g.dw;
              if (iw >= 0 && iw < g.w) acc += int32_t{plane[ih * g.w + iw]} * w[u * g.kw + v];
            }
          }
          y[i * g.ow + j] = static_cast<int8_t>(Requantize(acc, mult, shift, lo, hi));
        }
    }
  });
}

Status RunConv2d(const OpContext& ctx, const Node& node, const PreparedNode& prepared,
                 std::span<const Tensor* const> in, Tensor* out) {
  const Tensor& x = *in[0];
  const ConvGeometry g = GetConvGeometry(node, SampleShape(x));
  if (g.cg == 1 && g.og == 1) {
    RunDepthwise(ctx, node, prepared, g, x, out);
    return Status::Ok();
  }
  // GEMM rows run over every output pixel of every sample, in tiles bounded by the
  // scratch budget; each tile is one GemmS8 call per group. Samples are processed in
  // chunks that are first made channel-last, so im2col copies runs of channels.
  const int64_t k = g.k_padded();
  const int64_t pixels = g.oh * g.ow;
  const int64_t batch = x.dim(0);
  const int64_t sample_bytes = g.c * g.h * g.w;
  const int64_t rows = batch * pixels;
  const int64_t tile = std::min(rows, std::max<int64_t>(16, kScratchBytes / std::max(k, 4 * g.og)));
  const int64_t chunk = std::clamp<int64_t>(tile / pixels, 1, batch);  // samples per chunk
  const auto col = Scratch<int8_t>(tile * k);
  const auto acc = Scratch<int32_t>(tile * g.og);
  const auto tmp = Scratch<int8_t>(tile * g.og);
  const auto xt = Scratch<int8_t>(g.c > 1 ? chunk * sample_bytes : 0);
  const int32_t* bias = node.FindParam("bias")->i32().data();
  const bool per_channel = prepared.per_channel();
  const int32_t lo = ActMin(node), hi = ActMax(node);
  const bool padded_im2col = UsePaddedIm2col(g, k);
  for (int64_t b0 = 0; b0 < batch; b0 += chunk) {
    const int64_t samples = std::min(chunk, batch - b0);
    const int8_t* src = x.i8().data() + b0 * sample_bytes;
    if (g.c > 1) {  // with one channel, [H, W, 1] is [1, H, W]
      ParallelRows(ctx.pool, samples, sample_bytes, [&](int64_t a, int64_t b) {
        ToChannelLast(src + a * sample_bytes, b - a, g.c, g.h * g.w, xt.get() + a * sample_bytes);
      });
      src = xt.get();
    }
    const int64_t chunk_rows = samples * pixels;
    for (int64_t gi = 0; gi < g.group; ++gi) {
      const int64_t n0 = gi * g.og;  // first output channel of the group
      const size_t q0 = per_channel ? static_cast<size_t>(n0) : 0;
      for (int64_t r0 = 0; r0 < chunk_rows; r0 += tile) {
        const int64_t m = std::min(tile, chunk_rows - r0);
        ParallelRows(ctx.pool, m, k, [&](int64_t a, int64_t b) {
          if (padded_im2col) {
            Im2colPadded(g, src, r0 + a, r0 + b, k, col.get() + a * k);
          } else if (g.c == 1) {
            Im2col(g, src, 0, r0 + a, r0 + b, k, col.get() + a * k);
          } else {
            Im2colNhwc(g, src, gi * g.cg, r0 + a, r0 + b, k, col.get() + a * k);
          }
        });
        GemmS8(*prepared.packed[static_cast<size_t>(gi)], m, col.get(), k, bias + n0, acc.get(),
               g.og, ctx.pool);
        RequantizeRows(ctx.path, m, g.og, acc.get(), g.og, prepared.multiplier.data() + q0,
                       prepared.shift.data() + q0, per_channel, lo, hi, tmp.get(), g.og, ctx.pool);
        ScatterChannelMajor(g, tmp.get(), b0 * pixels + r0, m, n0, out->i8().data());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const OpDef& LinearDef() {
  static const OpDef def = {
      .attrs = {"act_min", "act_max"},
      .params = {"weight", "bias", "multiplier", "shift"},
      .check = CheckLinear,
      .infer = InferLinear,
      .prepare = PrepareLinear,
      .run = RunLinear,
  };
  return def;
}

const OpDef& Conv2dDef() {
  static const OpDef def = {
      .attrs = {"act_min", "act_max", "strides", "pads", "dilations", "group"},
      .params = {"weight", "bias", "multiplier", "shift"},
      .check = CheckConv2d,
      .infer = InferConv2d,
      .prepare = PrepareConv2d,
      .run = RunConv2d,
  };
  return def;
}

}  // namespace veil::ops
