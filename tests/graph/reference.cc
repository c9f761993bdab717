#include "reference.h"

#include <algorithm>

namespace veil::reference {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

int64_t RoundShift(int64_t v, int s) {
  if (s == 0) return v;
  const int64_t p = int64_t{1} << s;
  return FloorDiv(v + p / 2, p);
}

int64_t RoundDiv(int64_t a, int64_t b) { return FloorDiv(2 * a + b, 2 * b); }

int64_t Requantize(int64_t acc, int64_t m, int s, int lo, int hi) {
  return std::clamp<int64_t>(RoundShift(acc * m, s), lo, hi);
}

int64_t ISqrtRef(int64_t v) {
  int64_t lo = 0, hi = int64_t{1} << 31;  // hi*hi > v for v < 2^62
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    (mid * mid <= v ? lo : hi) = mid;
  }
  return lo;
}

Tensor Linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Requant& rq) {
  const int64_t n = weight.dim(0), k = weight.dim(1);
  Shape out_shape = x.shape();
  out_shape.back() = n;
  Tensor y(DType::kInt8, out_shape);
  const int64_t rows = x.size() / k;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < n; ++o) {
      int64_t acc = bias.i32()[o];
      for (int64_t i = 0; i < k; ++i) acc += int64_t{x.i8()[r * k + i]} * weight.i8()[o * k + i];
      y.i8()[r * n + o] = static_cast<int8_t>(Requantize(acc, rq.m(o), rq.s(o), rq.lo, rq.hi));
    }
  return y;
}

Tensor Conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Requant& rq,
              std::vector<int64_t> st, std::vector<int64_t> pd, std::vector<int64_t> dl,
              int64_t g) {
  const int64_t batch = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t o_count = weight.dim(0), kh = weight.dim(2), kw = weight.dim(3);
  const int64_t cg = c / g, og = o_count / g;
  const int64_t oh = FloorDiv(h + pd[0] + pd[2] - dl[0] * (kh - 1) - 1, st[0]) + 1;
  const int64_t ow = FloorDiv(w + pd[1] + pd[3] - dl[1] * (kw - 1) - 1, st[1]) + 1;
  Tensor y(DType::kInt8, {batch, o_count, oh, ow});
  auto xt = [&](int64_t b, int64_t ch, int64_t hh, int64_t ww) -> int64_t {
    if (hh < 0 || hh >= h || ww < 0 || ww >= w) return 0;  // x̃: zero outside
    return x.i8()[((b * c + ch) * h + hh) * w + ww];
  };
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < o_count; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t acc = bias.i32()[o];
          for (int64_t cc = 0; cc < cg; ++cc)
            for (int64_t u = 0; u < kh; ++u)
              for (int64_t v = 0; v < kw; ++v)
                acc += xt(b, (o / og) * cg + cc, i * st[0] - pd[0] + u * dl[0],
                          j * st[1] - pd[1] + v * dl[1]) *
                       weight.i8()[((o * cg + cc) * kh + u) * kw + v];
          y.i8()[((b * o_count + o) * oh + i) * ow + j] =
              static_cast<int8_t>(Requantize(acc, rq.m(o), rq.s(o), rq.lo, rq.hi));
        }
  return y;
}

Tensor MatMul(const Tensor& a, const Tensor& b, bool transpose_b, const Requant& rq) {
  const size_t r = a.rank();
  const int64_t m = a.dim(r - 2), k = a.dim(r - 1);
  const int64_t n = transpose_b ? b.dim(r - 2) : b.dim(r - 1);
  Shape out_shape = a.shape();
  out_shape.back() = n;
  Tensor y(DType::kInt8, out_shape);
  const int64_t lead = a.size() / (m * k);
  for (int64_t t = 0; t < lead; ++t)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t q = 0; q < k; ++q) {
          const int64_t bv =
              transpose_b ? b.i8()[t * n * k + j * k + q] : b.i8()[t * k * n + q * n + j];
          acc += int64_t{a.i8()[t * m * k + i * k + q]} * bv;
        }
        y.i8()[t * m * n + i * n + j] =
            static_cast<int8_t>(Requantize(acc, rq.m(0), rq.s(0), rq.lo, rq.hi));
      }
  return y;
}

std::vector<int8_t> SoftmaxRow(const std::vector<int8_t>& x, size_t allowed,
                               const std::vector<int32_t>& exp_table) {
  int64_t mx = -1000;
  for (size_t c = 0; c < allowed; ++c) mx = std::max<int64_t>(mx, x[c]);
  int64_t sum = 0;
  for (size_t c = 0; c < allowed; ++c) sum += exp_table[static_cast<size_t>(mx - x[c])];
  std::vector<int8_t> y(x.size(), 0);
  for (size_t c = 0; c < allowed; ++c)
    y[c] = static_cast<int8_t>(
        RoundDiv(int64_t{exp_table[static_cast<size_t>(mx - x[c])]} * 127, sum));
  return y;
}

Tensor Attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, bool causal,
                 int32_t score_multiplier, int32_t score_shift,
                 const std::vector<int32_t>& exp_table, const Requant& rq) {
  const int64_t batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), width = q.dim(2);
  const int64_t d = width / heads;
  Tensor y(DType::kInt8, q.shape());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < tq; ++i) {
        std::vector<int8_t> z(static_cast<size_t>(tk));
        size_t allowed = 0;
        for (int64_t j = 0; j < tk; ++j) {
          if (causal && !(j <= i + tk - tq)) continue;
          allowed = static_cast<size_t>(j) + 1;
          int64_t acc = 0;
          for (int64_t e = 0; e < d; ++e)
            acc += int64_t{q.i8()[(b * tq + i) * width + h * d + e]} *
                   k.i8()[(b * tk + j) * width + h * d + e];
          z[static_cast<size_t>(j)] =
              static_cast<int8_t>(Requantize(acc, score_multiplier, score_shift, -127, 127));
        }
        const std::vector<int8_t> p = SoftmaxRow(z, allowed, exp_table);
        for (int64_t e = 0; e < d; ++e) {
          int64_t acc = 0;
          for (int64_t j = 0; j < tk; ++j)
            acc += int64_t{p[static_cast<size_t>(j)]} * v.i8()[(b * tk + j) * width + h * d + e];
          y.i8()[(b * tq + i) * width + h * d + e] =
              static_cast<int8_t>(Requantize(acc, rq.m(0), rq.s(0), rq.lo, rq.hi));
        }
      }
  return y;
}

Tensor Norm(const Tensor& x, bool layer_norm, const std::vector<int32_t>& gamma,
            const std::vector<int64_t>& beta, int64_t eps, int shift, int lo, int hi) {
  const int64_t c = x.shape().back();
  Tensor y(DType::kInt8, x.shape());
  for (int64_t r = 0; r < x.size() / c; ++r) {
    int64_t s = 0;
    for (int64_t i = 0; i < c; ++i) s += x.i8()[r * c + i];
    std::vector<int64_t> d(static_cast<size_t>(c));
    int64_t var = 0;
    for (int64_t i = 0; i < c; ++i) {
      d[i] = layer_norm ? c * x.i8()[r * c + i] - s : x.i8()[r * c + i];
      var += d[i] * d[i];
    }
    const int64_t root = ISqrtRef(RoundDiv(var, c) + eps);
    for (int64_t i = 0; i < c; ++i) {
      const int64_t n = root == 0 ? 0 : RoundDiv(d[i] * 4096, root);
      const int64_t b = beta.empty() ? 0 : beta[i];
      y.i8()[r * c + i] =
          static_cast<int8_t>(std::clamp<int64_t>(RoundShift(n * gamma[i] + b, shift), lo, hi));
    }
  }
  return y;
}

Tensor Pool2d(const Tensor& x, bool max, std::vector<int64_t> k, std::vector<int64_t> st,
              std::vector<int64_t> pd, bool count_include_pad) {
  const int64_t batch = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = FloorDiv(h + pd[0] + pd[2] - k[0], st[0]) + 1;
  const int64_t ow = FloorDiv(w + pd[1] + pd[3] - k[1], st[1]) + 1;
  Tensor y(DType::kInt8, {batch, c, oh, ow});
  for (int64_t p = 0; p < batch * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        int64_t best = -1000, sum = 0, count = 0;
        for (int64_t u = 0; u < k[0]; ++u)
          for (int64_t v = 0; v < k[1]; ++v) {
            const int64_t hh = i * st[0] - pd[0] + u, ww = j * st[1] - pd[1] + v;
            if (hh < 0 || hh >= h || ww < 0 || ww >= w) continue;
            const int64_t e = x.i8()[(p * h + hh) * w + ww];
            best = std::max(best, e);
            sum += e;
            ++count;
          }
        y.i8()[(p * oh + i) * ow + j] = static_cast<int8_t>(
            max ? best : RoundDiv(sum, count_include_pad ? k[0] * k[1] : count));
      }
  return y;
}

namespace {
// Row-major strides of a shape.
std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}
// The multi-index of flat offset `e` in `shape`.
std::vector<int64_t> Unravel(int64_t e, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = e % shape[i];
    e /= shape[i];
  }
  return idx;
}
}  // namespace

Tensor ReduceMean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  std::vector<bool> reduced(x.rank(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a) + 1] = true;
  Shape kept;  // keepdims layout
  int64_t n = 1;
  for (size_t i = 0; i < x.rank(); ++i) {
    kept.push_back(reduced[i] ? 1 : x.dim(i));
    if (reduced[i]) n *= x.dim(i);
  }
  std::vector<int64_t> sums(static_cast<size_t>(NumElements(kept)), 0);
  const auto ks = Strides(kept);
  for (int64_t e = 0; e < x.size(); ++e) {
    const auto idx = Unravel(e, x.shape());
    int64_t o = 0;
    for (size_t i = 0; i < idx.size(); ++i) o += (reduced[i] ? 0 : idx[i]) * ks[i];
    sums[static_cast<size_t>(o)] += x.i8()[e];
  }
  Shape out_shape;
  for (size_t i = 0; i < x.rank(); ++i)
    if (!reduced[i] || keepdims) out_shape.push_back(kept[i]);
  Tensor y(DType::kInt8, out_shape);
  for (size_t o = 0; o < sums.size(); ++o) y.i8()[o] = static_cast<int8_t>(RoundDiv(sums[o], n));
  return y;
}

Tensor Transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape out_shape = {x.dim(0)};
  for (int64_t p : perm) out_shape.push_back(x.dim(static_cast<size_t>(p) + 1));
  Tensor y(DType::kInt8, out_shape);
  const auto xs = Strides(x.shape());
  for (int64_t e = 0; e < y.size(); ++e) {
    const auto idx = Unravel(e, out_shape);  // y[b, i0, i1, ...] = x[b, ..., i_k at perm[k], ...]
    int64_t src = idx[0] * xs[0];
    for (size_t k = 0; k < perm.size(); ++k)
      src += idx[k + 1] * xs[static_cast<size_t>(perm[k]) + 1];
    y.i8()[e] = x.i8()[src];
  }
  return y;
}

}  // namespace veil::reference
