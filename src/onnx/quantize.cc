#include "quantize.h"

#include <algorithm>
#include <cmath>

namespace veil::onnx_import {

int64_t RoundHalfAway(double v) { return static_cast<int64_t>(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5)); }

double ScaleForMaxAbs(double max_abs) { return max_abs > 0 ? max_abs / 127.0 : 1.0 / 127.0; }

Result<FixedMultiplier> QuantizeMultiplier(double real) {
  if (!std::isfinite(real) || real < 0) return Status::InvalidArgument("multiplier is not a finite non-negative number");
  if (real == 0) return FixedMultiplier{0, 0};
  int exp = 0;
  const double frac = std::frexp(real, &exp);  // real = frac * 2^exp, frac in [0.5, 1)
  int64_t m = static_cast<int64_t>(std::llround(frac * 2147483648.0));  // [2^30, 2^31]
  int shift = 31 - exp;
  if (m == (int64_t{1} << 31)) {
    m >>= 1;
    --shift;
  }
  if (shift < 0) return Status::Unsupported("scale ratio " + std::to_string(real) + " is too large for a requantization multiplier");
  if (shift > 62) {  // tiny ratio: keep the largest shift, losing leading bits
    m = static_cast<int64_t>(std::llround(real * std::ldexp(1.0, 62)));
    shift = 62;
  }
  return FixedMultiplier{static_cast<int32_t>(m), shift};
}

Result<std::vector<int32_t>> QuantizeMultiplierPair(double real_a, double real_b, int32_t* shift) {
  VEIL_ASSIGN_OR_RETURN(FixedMultiplier big, QuantizeMultiplier(std::max(real_a, real_b)));
  *shift = big.shift;
  std::vector<int32_t> out;
  for (double r : {real_a, real_b}) {
    const int64_t m = std::llround(r * std::ldexp(1.0, big.shift));
    if (m < 0 || m >= (int64_t{1} << 31)) return Status::Internal("paired multiplier out of range");
    out.push_back(static_cast<int32_t>(m));
  }
  return out;
}

void QuantizeRowsSymmetric(const std::vector<float>& w, int64_t rows, int64_t cols,
                           std::vector<int8_t>* q, std::vector<double>* scales) {
  q->assign(static_cast<size_t>(rows * cols), 0);
  scales->assign(static_cast<size_t>(rows), 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    double max_abs = 0;
    for (int64_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(double{w[r * cols + c]}));
    const double s = ScaleForMaxAbs(max_abs);
    (*scales)[r] = s;
    for (int64_t c = 0; c < cols; ++c)
      (*q)[r * cols + c] = static_cast<int8_t>(std::clamp<int64_t>(RoundHalfAway(w[r * cols + c] / s), -127, 127));
  }
}

std::vector<int32_t> ExpTable(double logit_scale) {
  std::vector<int32_t> t(256, 0);
  for (int d = 0; d < 255; ++d) t[d] = static_cast<int32_t>(std::llround(65536.0 * std::exp(-d * logit_scale)));
  t[0] = 65536;
  return t;
}

}  // namespace veil::onnx_import
