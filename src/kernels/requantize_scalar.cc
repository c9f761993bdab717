// The scalar requantization rows and Add: the reference, a direct use of arith.h.
#include "kernel_ops.h"
#include "veil/arith.h"

namespace veil::kernels_internal {

void RequantRowScalar(const RequantRow& row) {
  for (int64_t i = 0; i < row.rows; ++i) {
    const int32_t* c = row.c + i * row.ldc;
    int8_t* out = row.out + i * row.ldo;
    for (int64_t j = 0; j < row.n; ++j) {
      const int64_t p = row.per_channel ? j : 0;
      // lo <= result <= hi lie in [-128, 127], so the narrowing is exact.
      out[j] = static_cast<int8_t>(Requantize(c[j], row.mult[p], row.shift[p], row.lo, row.hi));
    }
  }
}

void AddRowScalar(const AddRow& row) {
  for (int64_t i = 0; i < row.n; ++i) {
    // |a·Ma + b·Mb| <= 2 · 128 · (2^31 − 1) < 2^39: exact, and within RoundShift's domain.
    const int64_t v = int64_t{row.a[i]} * row.ma + int64_t{row.b[i]} * row.mb;
    row.out[i] = static_cast<int8_t>(Clamp(RoundShift(v, row.shift), row.lo, row.hi));
  }
}

void MaxPool2x2Scalar(const MaxPoolPlanes& job) {
  const int64_t oh = job.h / 2, ow = job.w / 2;
  for (int64_t p = 0; p < job.planes; ++p) {
    const int8_t* plane = job.x + p * job.h * job.w;
    int8_t* out = job.y + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const int8_t* r0 = plane + 2 * i * job.w;
      const int8_t* r1 = r0 + job.w;
      for (int64_t j = 0; j < ow; ++j) {
        const int8_t a = r0[2 * j] > r0[2 * j + 1] ? r0[2 * j] : r0[2 * j + 1];
        const int8_t b = r1[2 * j] > r1[2 * j + 1] ? r1[2 * j] : r1[2 * j + 1];
        out[i * ow + j] = a > b ? a : b;
      }
    }
  }
}

}  // namespace veil::kernels_internal
