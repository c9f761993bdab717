// Neural-network ops: Conv (im2col + blocked GEMM), MaxPool/AveragePool, global pools,
// BatchNormalization (inference), Gemm and MatMul.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "float_eval_internal.h"

namespace veil::onnx_import::internal {

// Blocked, register-tiled (4 rows) kernel. C's 4 x kNb tile stays in L1 and the
// kKb x kNb panel of B in L2; the inner loop is contiguous so the compiler vectorises it.
void Sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc) {
  constexpr int64_t kNb = 256;
  constexpr int64_t kKb = 128;
  for (int64_t j0 = 0; j0 < n; j0 += kNb) {
    const int64_t nb = std::min(kNb, n - j0);
    for (int64_t k0 = 0; k0 < k; k0 += kKb) {
      const int64_t kb = std::min(kKb, k - k0);
      int64_t i = 0;
      for (; i + 4 <= m; i += 4) {
        float* __restrict c0 = c + (i + 0) * ldc + j0;
        float* __restrict c1 = c + (i + 1) * ldc + j0;
        float* __restrict c2 = c + (i + 2) * ldc + j0;
        float* __restrict c3 = c + (i + 3) * ldc + j0;
        for (int64_t kk = k0; kk < k0 + kb; ++kk) {
          const float a0 = a[(i + 0) * lda + kk];
          const float a1 = a[(i + 1) * lda + kk];
          const float a2 = a[(i + 2) * lda + kk];
          const float a3 = a[(i + 3) * lda + kk];
          const float* __restrict brow = b + kk * ldb + j0;
          for (int64_t j = 0; j < nb; ++j) {
            const float bv = brow[j];
            c0[j] += a0 * bv;
            c1[j] += a1 * bv;
            c2[j] += a2 * bv;
            c3[j] += a3 * bv;
          }
        }
      }
      for (; i < m; ++i) {
        float* __restrict c0 = c + i * ldc + j0;
        for (int64_t kk = k0; kk < k0 + kb; ++kk) {
          const float a0 = a[i * lda + kk];
          const float* __restrict brow = b + kk * ldb + j0;
          for (int64_t j = 0; j < nb; ++j) c0[j] += a0 * brow[j];
        }
      }
    }
  }
}

namespace {

using Kind = FTensor::Kind;

Status RequireFloat(const FTensor& t, const char* what) {
  if (t.kind != Kind::kFloat) {
    return Status::InvalidArgument(std::string(what) + " must be float, got " + KindName(t.kind));
  }
  return Status::Ok();
}

// Product of non-negative factors, refusing totals above `limit` (no overflow).
Status CheckWork(std::initializer_list<int64_t> factors, int64_t limit, const char* what) {
  double total = 1.0;
  for (int64_t f : factors) total *= static_cast<double>(f);
  if (total > static_cast<double>(limit)) {
    return Status::InvalidArgument(std::string(what) + " is too large (" + std::to_string(total) +
                                   " operations)");
  }
  return Status::Ok();
}

// Window geometry shared by Conv and the pools, padded to three spatial dimensions
// (leading dimensions of size 1) so one loop nest serves 1-D, 2-D and 3-D.
struct Window {
  std::array<int64_t, 3> in{1, 1, 1};
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0};
  std::array<int64_t, 3> out{1, 1, 1};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

constexpr int64_t kMaxAttr = int64_t{1} << 31;

// Reads strides/dilations/pads/auto_pad for a window over `spatial_in` with
// `kernel` (already validated >= 1) and fills `w`.
Status ReadWindow(const NodeContext& ctx, const Shape& spatial_in, const Shape& kernel, Window* w) {
  const size_t r = spatial_in.size();
  if (r < 1 || r > 3) {
    return Status::Unsupported(std::to_string(r) + "-D spatial windows are not supported");
  }
  std::string auto_pad;
  VEIL_RETURN_IF_ERROR(ctx.String("auto_pad", "NOTSET", &auto_pad));
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    return Status::Unsupported("auto_pad " + auto_pad + " is not supported");
  }
  if (auto_pad != "NOTSET" && auto_pad != "VALID") {
    return Status::InvalidArgument("unknown auto_pad '" + auto_pad + "'");
  }
  std::vector<int64_t> strides, dilations, pads;
  VEIL_RETURN_IF_ERROR(ctx.Ints("strides", &strides));
  VEIL_RETURN_IF_ERROR(ctx.Ints("dilations", &dilations));
  if (auto_pad == "NOTSET") VEIL_RETURN_IF_ERROR(ctx.Ints("pads", &pads));
  if (strides.empty()) strides.assign(r, 1);
  if (dilations.empty()) dilations.assign(r, 1);
  if (pads.empty()) pads.assign(2 * r, 0);
  if (strides.size() != r || dilations.size() != r || pads.size() != 2 * r) {
    return Status::InvalidArgument("strides/dilations/pads do not match " + std::to_string(r) +
                                   " spatial dimensions");
  }
  const size_t off = 3 - r;
  for (size_t d = 0; d < r; ++d) {
    if (strides[d] < 1 || strides[d] > kMaxAttr) {
      return Status::InvalidArgument("stride " + std::to_string(strides[d]) + " is invalid");
    }
    if (dilations[d] < 1 || dilations[d] > kMaxAttr) {
      return Status::InvalidArgument("dilation " + std::to_string(dilations[d]) + " is invalid");
    }
    const int64_t pb = pads[d];
    const int64_t pe = pads[d + r];
    if (pb < 0 || pe < 0 || pb > kMaxAttr || pe > kMaxAttr) {
      return Status::InvalidArgument("pads must be in [0, 2^31]");
    }
    const int64_t extent = dilations[d] * (kernel[d] - 1) + 1;
    const int64_t padded = spatial_in[d] + pb + pe;
    if (padded < extent) {
      return Status::InvalidArgument("kernel extent " + std::to_string(extent) +
                                     " exceeds padded input size " + std::to_string(padded));
    }
    w->in[off + d] = spatial_in[d];
    w->kernel[off + d] = kernel[d];
    w->stride[off + d] = strides[d];
    w->dilation[off + d] = dilations[d];
    w->pad_begin[off + d] = pb;
    w->out[off + d] = (padded - extent) / strides[d] + 1;
  }
  return Status::Ok();
}

// Writes rows [c, kd, kh, kw] x columns [p0, p0 + pc) of the im2col matrix of one image
// group `x` (channels x in_size) into `col` (row-major, pc columns).
void Im2Col(const float* x, int64_t channels, const Window& w, int64_t p0, int64_t pc, float* col) {
  const int64_t in_size = w.in_size();
  float* dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = x + c * in_size;
    for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
      for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
        for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
          const int64_t dz = kd * w.dilation[0] - w.pad_begin[0];
          const int64_t dy = kh * w.dilation[1] - w.pad_begin[1];
          const int64_t dx = kw * w.dilation[2] - w.pad_begin[2];
          int64_t ow = p0 % w.out[2];
          int64_t oh = (p0 / w.out[2]) % w.out[1];
          int64_t od = p0 / (w.out[2] * w.out[1]);
          for (int64_t j = 0; j < pc; ++j) {
            const int64_t iz = od * w.stride[0] + dz;
            const int64_t iy = oh * w.stride[1] + dy;
            const int64_t ix = ow * w.stride[2] + dx;
            const bool inside =
                iz >= 0 && iz < w.in[0] && iy >= 0 && iy < w.in[1] && ix >= 0 && ix < w.in[2];
            dst[j] = inside ? src[(iz * w.in[1] + iy) * w.in[2] + ix] : 0.0f;
            if (++ow == w.out[2]) {
              ow = 0;
              if (++oh == w.out[1]) {
                oh = 0;
                ++od;
              }
            }
          }
          dst += pc;
        }
      }
    }
  }
}

Status ReadKernelShape(const NodeContext& ctx, Shape* kernel, bool required) {
  bool present = false;
  std::vector<int64_t> ks;
  VEIL_RETURN_IF_ERROR(ctx.Ints("kernel_shape", &ks, &present));
  if (!present) {
    if (required) return Status::InvalidArgument("attribute 'kernel_shape' is required");
    return Status::Ok();
  }
  for (int64_t k : ks) {
    if (k < 1 || k > kMaxAttr) {
      return Status::InvalidArgument("kernel_shape entry " + std::to_string(k) + " is invalid");
    }
  }
  *kernel = std::move(ks);
  return Status::Ok();
}

}  // namespace

Status EvalConv(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const FTensor& wt = *ctx.input(1);
  const FTensor* bias = ctx.input(2);
  VEIL_RETURN_IF_ERROR(RequireFloat(x, "X"));
  VEIL_RETURN_IF_ERROR(RequireFloat(wt, "W"));
  if (bias != nullptr) VEIL_RETURN_IF_ERROR(RequireFloat(*bias, "B"));
  const size_t rank = x.shape.size();
  if (rank < 3) {
    return Status::InvalidArgument("X must have rank >= 3, got shape " + ShapeToString(x.shape));
  }
  if (wt.shape.size() != rank) {
    return Status::InvalidArgument("W shape " + ShapeToString(wt.shape) +
                                   " does not match X shape " + ShapeToString(x.shape));
  }
  int64_t group = 1;
  VEIL_RETURN_IF_ERROR(ctx.Int("group", 1, &group));
  const int64_t batch = x.shape[0];
  const int64_t channels = x.shape[1];
  const int64_t maps = wt.shape[0];
  if (group < 1 || channels % group != 0 || maps % group != 0) {
    return Status::InvalidArgument("group " + std::to_string(group) + " must divide " +
                                   std::to_string(channels) + " input and " + std::to_string(maps) +
                                   " output channels");
  }
  if (wt.shape[1] != channels / group) {
    return Status::InvalidArgument("W shape " + ShapeToString(wt.shape) + " expects " +
                                   std::to_string(wt.shape[1] * group) + " input channels, X has " +
                                   std::to_string(channels));
  }
  const Shape spatial_in(x.shape.begin() + 2, x.shape.end());
  const Shape kernel(wt.shape.begin() + 2, wt.shape.end());
  for (int64_t k : kernel) {
    if (k < 1) return Status::InvalidArgument("W has an empty kernel " + ShapeToString(kernel));
  }
  Shape attr_kernel;
  VEIL_RETURN_IF_ERROR(ReadKernelShape(ctx, &attr_kernel, false));
  if (!attr_kernel.empty() && attr_kernel != kernel) {
    return Status::InvalidArgument("kernel_shape " + ShapeToString(attr_kernel) +
                                   " does not match W shape " + ShapeToString(wt.shape));
  }
  if (bias != nullptr && (bias->shape.size() != 1 || bias->shape[0] != maps)) {
    return Status::InvalidArgument("B shape " + ShapeToString(bias->shape) + " must be [" +
                                   std::to_string(maps) + "]");
  }
  Window w;
  VEIL_RETURN_IF_ERROR(ReadWindow(ctx, spatial_in, kernel, &w));
  Shape out_shape = {batch, maps};
  for (size_t d = 3 - spatial_in.size(); d < 3; ++d) out_shape.push_back(w.out[d]);
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  const int64_t cg = channels / group;
  const int64_t mg = maps / group;
  const int64_t kdim = cg * w.kernel_size();  // GEMM depth
  const int64_t p = w.out_size();
  VEIL_RETURN_IF_ERROR(CheckWork({batch, maps, p, kdim}, kMaxMacs, "convolution"));

  FTensor y = MakeTensor(Kind::kFloat, out_shape);
  if (bias != nullptr) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t m = 0; m < maps; ++m) {
        float* row = y.f.data() + (b * maps + m) * p;
        std::fill(row, row + p, bias->f[static_cast<size_t>(m)]);
      }
    }
  }
  const bool pointwise = w.kernel_size() == 1 && w.stride == std::array<int64_t, 3>{1, 1, 1} &&
                         w.pad_begin == std::array<int64_t, 3>{0, 0, 0} && w.out == w.in;
  // Column chunks keep the im2col buffer around 1 MiB whatever the layer size.
  constexpr int64_t kColBudget = int64_t{1} << 18;
  const int64_t chunk = std::max<int64_t>(1, std::min(p, kColBudget / std::max<int64_t>(kdim, 1)));
  std::vector<float> col(pointwise || p == 0 ? 0 : static_cast<size_t>(kdim * chunk));
  const int64_t in_size = w.in_size();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < group; ++g) {
      const float* xg = x.f.data() + (b * channels + g * cg) * in_size;
      const float* wg = wt.f.data() + g * mg * kdim;
      float* yg = y.f.data() + (b * maps + g * mg) * p;
      for (int64_t p0 = 0; p0 < p; p0 += chunk) {
        const int64_t pc = std::min(chunk, p - p0);
        if (pointwise) {
          Sgemm(mg, pc, kdim, wg, kdim, xg + p0, in_size, yg + p0, p);
        } else {
          Im2Col(xg, cg, w, p0, pc, col.data());
          Sgemm(mg, pc, kdim, wg, kdim, col.data(), pc, yg + p0, p);
        }
      }
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalPool(const NodeContext& ctx, std::vector<FTensor>* out) {
  const bool is_max = ctx.node().op_type() == "MaxPool";
  const FTensor& x = *ctx.input(0);
  VEIL_RETURN_IF_ERROR(RequireFloat(x, "X"));
  const size_t rank = x.shape.size();
  if (rank < 3) {
    return Status::InvalidArgument("X must have rank >= 3, got shape " + ShapeToString(x.shape));
  }
  int64_t ceil_mode = 0;
  int64_t count_include_pad = 0;
  int64_t storage_order = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("ceil_mode", 0, &ceil_mode));
  VEIL_RETURN_IF_ERROR(ctx.Int("count_include_pad", 0, &count_include_pad));
  VEIL_RETURN_IF_ERROR(ctx.Int("storage_order", 0, &storage_order));
  if (ceil_mode != 0) return Status::Unsupported("ceil_mode=1 is not supported");
  const bool want_indices = is_max && ctx.num_outputs() > 1 && !ctx.node().output(1).empty();
  if (want_indices && storage_order != 0) {
    return Status::Unsupported("Indices output with storage_order=1 is not supported");
  }
  Shape kernel;
  VEIL_RETURN_IF_ERROR(ReadKernelShape(ctx, &kernel, true));
  const Shape spatial_in(x.shape.begin() + 2, x.shape.end());
  if (kernel.size() != spatial_in.size()) {
    return Status::InvalidArgument("kernel_shape " + ShapeToString(kernel) +
                                   " does not match X shape " + ShapeToString(x.shape));
  }
  Window w;
  VEIL_RETURN_IF_ERROR(ReadWindow(ctx, spatial_in, kernel, &w));
  const int64_t planes = x.shape[0] * x.shape[1];
  Shape out_shape = {x.shape[0], x.shape[1]};
  for (size_t d = 3 - spatial_in.size(); d < 3; ++d) out_shape.push_back(w.out[d]);
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  // Kernel dimensions come from attributes: pass them separately so nothing overflows.
  VEIL_RETURN_IF_ERROR(CheckWork({planes, w.out_size(), w.kernel[0], w.kernel[1], w.kernel[2]},
                                 kMaxMacs, "pooling"));

  FTensor y = MakeTensor(Kind::kFloat, out_shape);
  FTensor indices = MakeTensor(Kind::kInt64, want_indices ? out_shape : Shape{0});
  const int64_t in_size = w.in_size();
  int64_t o = 0;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* src = x.f.data() + pl * in_size;
    for (int64_t od = 0; od < w.out[0]; ++od) {
      for (int64_t oh = 0; oh < w.out[1]; ++oh) {
        for (int64_t ow = 0; ow < w.out[2]; ++ow, ++o) {
          float best = std::numeric_limits<float>::lowest();
          int64_t best_index = 0;
          double sum = 0.0;
          int64_t count = 0;
          for (int64_t kd = 0; kd < w.kernel[0]; ++kd) {
            const int64_t iz = od * w.stride[0] - w.pad_begin[0] + kd * w.dilation[0];
            if (iz < 0 || iz >= w.in[0]) continue;
            for (int64_t kh = 0; kh < w.kernel[1]; ++kh) {
              const int64_t iy = oh * w.stride[1] - w.pad_begin[1] + kh * w.dilation[1];
              if (iy < 0 || iy >= w.in[1]) continue;
              for (int64_t kw = 0; kw < w.kernel[2]; ++kw) {
                const int64_t ix = ow * w.stride[2] - w.pad_begin[2] + kw * w.dilation[2];
                if (ix < 0 || ix >= w.in[2]) continue;
                const int64_t at = (iz * w.in[1] + iy) * w.in[2] + ix;
                const float v = src[at];
                if (count == 0 || v > best) {
                  best = v;
                  best_index = pl * in_size + at;
                }
                sum += static_cast<double>(v);
                ++count;
              }
            }
          }
          if (is_max) {
            y.f[static_cast<size_t>(o)] = best;
            if (want_indices) indices.i[static_cast<size_t>(o)] = best_index;
          } else {
            // With ceil_mode=0 every window lies inside the padded input.
            const int64_t divisor = count_include_pad != 0 ? w.kernel_size() : count;
            y.f[static_cast<size_t>(o)] =
                divisor > 0 ? static_cast<float>(sum / static_cast<double>(divisor)) : 0.0f;
          }
        }
      }
    }
  }
  (*out)[0] = std::move(y);
  if (want_indices) (*out)[1] = std::move(indices);
  return Status::Ok();
}

Status EvalGlobalPool(const NodeContext& ctx, std::vector<FTensor>* out) {
  const bool is_max = ctx.node().op_type() == "GlobalMaxPool";
  const FTensor& x = *ctx.input(0);
  VEIL_RETURN_IF_ERROR(RequireFloat(x, "X"));
  if (x.shape.size() < 2) {
    return Status::InvalidArgument("X must have rank >= 2, got shape " + ShapeToString(x.shape));
  }
  const int64_t planes = x.shape[0] * x.shape[1];
  int64_t extent = 1;
  Shape out_shape = {x.shape[0], x.shape[1]};
  for (size_t d = 2; d < x.shape.size(); ++d) {
    extent *= x.shape[d];
    out_shape.push_back(1);
  }
  if (extent == 0 && planes > 0) return Status::InvalidArgument("empty spatial extent");
  FTensor y = MakeTensor(Kind::kFloat, out_shape);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* src = x.f.data() + pl * extent;
    if (is_max) {
      y.f[static_cast<size_t>(pl)] = *std::max_element(src, src + extent);
    } else {
      double sum = 0.0;
      for (int64_t k = 0; k < extent; ++k) sum += static_cast<double>(src[k]);
      y.f[static_cast<size_t>(pl)] = static_cast<float>(sum / static_cast<double>(extent));
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalBatchNormalization(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  VEIL_RETURN_IF_ERROR(RequireFloat(x, "X"));
  if (x.shape.size() < 2) {
    return Status::InvalidArgument("X must have rank >= 2, got shape " + ShapeToString(x.shape));
  }
  int64_t training_mode = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("training_mode", 0, &training_mode));
  if (training_mode != 0) return Status::Unsupported("training_mode=1 is not supported");
  float epsilon = 0.0f;
  VEIL_RETURN_IF_ERROR(ctx.Float("epsilon", 1e-5f, &epsilon));
  const int64_t channels = x.shape[1];
  static constexpr const char* kNames[] = {"scale", "B", "input_mean", "input_var"};
  for (int k = 1; k <= 4; ++k) {
    const FTensor& p = *ctx.input(k);
    VEIL_RETURN_IF_ERROR(RequireFloat(p, kNames[k - 1]));
    if (p.shape.size() != 1 || p.shape[0] != channels) {
      return Status::InvalidArgument(std::string(kNames[k - 1]) + " shape " +
                                     ShapeToString(p.shape) + " must be [" +
                                     std::to_string(channels) + "]");
    }
  }
  const std::vector<float>& scale = ctx.input(1)->f;
  const std::vector<float>& shift = ctx.input(2)->f;
  const std::vector<float>& mean = ctx.input(3)->f;
  const std::vector<float>& var = ctx.input(4)->f;
  int64_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) inner *= x.shape[d];
  FTensor y = x;
  for (int64_t b = 0; b < x.shape[0]; ++b) {
    for (int64_t c = 0; c < channels; ++c) {
      const size_t ci = static_cast<size_t>(c);
      const float a = static_cast<float>(
          static_cast<double>(scale[ci]) /
          std::sqrt(static_cast<double>(var[ci]) + static_cast<double>(epsilon)));
      const float m = mean[ci];
      const float s = shift[ci];
      float* v = y.f.data() + (b * channels + c) * inner;
      for (int64_t k = 0; k < inner; ++k) v[k] = (v[k] - m) * a + s;
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalGemm(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& a = *ctx.input(0);
  const FTensor& b = *ctx.input(1);
  const FTensor* c = ctx.input(2);
  VEIL_RETURN_IF_ERROR(RequireFloat(a, "A"));
  VEIL_RETURN_IF_ERROR(RequireFloat(b, "B"));
  if (c != nullptr) VEIL_RETURN_IF_ERROR(RequireFloat(*c, "C"));
  float alpha = 1.0f;
  float beta = 1.0f;
  int64_t trans_a = 0;
  int64_t trans_b = 0;
  VEIL_RETURN_IF_ERROR(ctx.Float("alpha", 1.0f, &alpha));
  VEIL_RETURN_IF_ERROR(ctx.Float("beta", 1.0f, &beta));
  VEIL_RETURN_IF_ERROR(ctx.Int("transA", 0, &trans_a));
  VEIL_RETURN_IF_ERROR(ctx.Int("transB", 0, &trans_b));
  if (a.shape.size() != 2 || b.shape.size() != 2) {
    return Status::InvalidArgument("A and B must be 2-D, got " + ShapeToString(a.shape) + " and " +
                                   ShapeToString(b.shape));
  }
  const int64_t m = trans_a ? a.shape[1] : a.shape[0];
  const int64_t k = trans_a ? a.shape[0] : a.shape[1];
  const int64_t kb = trans_b ? b.shape[1] : b.shape[0];
  const int64_t n = trans_b ? b.shape[0] : b.shape[1];
  if (k != kb) {
    return Status::InvalidArgument("inner dimensions differ: A " + ShapeToString(a.shape) +
                                   (trans_a ? " (transposed)" : "") + ", B " +
                                   ShapeToString(b.shape) + (trans_b ? " (transposed)" : ""));
  }
  const Shape out_shape = {m, n};
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  VEIL_RETURN_IF_ERROR(CheckWork({m, n, k}, kMaxMacs, "Gemm"));
  if (c != nullptr) {
    Shape bc;
    if (c->shape.size() > 2 || !BroadcastShapes(c->shape, out_shape, &bc).ok() || bc != out_shape) {
      return Status::InvalidArgument("C shape " + ShapeToString(c->shape) +
                                     " does not broadcast to " + ShapeToString(out_shape));
    }
  }
  auto transpose = [](const std::vector<float>& src, int64_t rows, int64_t cols) {
    std::vector<float> t(src.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t q = 0; q < cols; ++q) {
        t[static_cast<size_t>(q * rows + r)] = src[static_cast<size_t>(r * cols + q)];
      }
    }
    return t;
  };
  std::vector<float> at;
  std::vector<float> bt;
  if (trans_a) at = transpose(a.f, a.shape[0], a.shape[1]);
  if (trans_b) bt = transpose(b.f, b.shape[0], b.shape[1]);
  const float* pa = trans_a ? at.data() : a.f.data();
  const float* pb = trans_b ? bt.data() : b.f.data();
  FTensor y = MakeTensor(Kind::kFloat, out_shape);
  Sgemm(m, n, k, pa, k, pb, n, y.f.data(), n);
  if (alpha != 1.0f) {
    for (float& v : y.f) v *= alpha;
  }
  if (c != nullptr && beta != 0.0f) {
    const std::vector<float>& cf = c->f;
    ForEachBroadcast<1>(out_shape, {BroadcastStrides(c->shape, out_shape)},
                        [&](int64_t o, const std::array<int64_t, 1>& idx) {
                          y.f[static_cast<size_t>(o)] += beta * cf[static_cast<size_t>(idx[0])];
                        });
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalMatMul(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& a = *ctx.input(0);
  const FTensor& b = *ctx.input(1);
  VEIL_RETURN_IF_ERROR(RequireFloat(a, "A"));
  VEIL_RETURN_IF_ERROR(RequireFloat(b, "B"));
  if (a.shape.empty() || b.shape.empty()) {
    return Status::InvalidArgument("inputs must have rank >= 1, got " + ShapeToString(a.shape) +
                                   " and " + ShapeToString(b.shape));
  }
  // 1-D operands are promoted (A to a row, B to a column) and the axis removed afterwards.
  Shape sa = a.shape;
  Shape sb = b.shape;
  const bool a_vec = sa.size() == 1;
  const bool b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2];
  const int64_t k = sa[sa.size() - 1];
  const int64_t n = sb[sb.size() - 1];
  if (sb[sb.size() - 2] != k) {
    return Status::InvalidArgument("inner dimensions differ: " + ShapeToString(a.shape) + " x " +
                                   ShapeToString(b.shape));
  }
  const Shape batch_a(sa.begin(), sa.end() - 2);
  const Shape batch_b(sb.begin(), sb.end() - 2);
  Shape batch;
  Status s = BroadcastShapes(batch_a, batch_b, &batch);
  if (!s.ok()) return s.WithContext("batch dimensions");
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  const int64_t nbatch = NumElements(batch);
  VEIL_RETURN_IF_ERROR(CheckWork({nbatch, m, n, k}, kMaxMacs, "MatMul"));
  FTensor y = MakeTensor(Kind::kFloat, out_shape);
  if (NumElements(batch_b) == 1 && NumElements(batch_a) == nbatch) {
    // B is shared by every batch: one GEMM over all rows of A.
    Sgemm(nbatch * m, n, k, a.f.data(), k, b.f.data(), n, y.f.data(), n);
  } else {
    const int64_t a_step = m * k;
    const int64_t b_step = k * n;
    const int64_t y_step = m * n;
    ForEachBroadcast<2>(batch, {BroadcastStrides(batch_a, batch), BroadcastStrides(batch_b, batch)},
                        [&](int64_t o, const std::array<int64_t, 2>& idx) {
                          Sgemm(m, n, k, a.f.data() + idx[0] * a_step, k,
                                b.f.data() + idx[1] * b_step, n, y.f.data() + o * y_step, n);
                        });
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

}  // namespace veil::onnx_import::internal
