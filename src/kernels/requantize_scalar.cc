// The scalar requantization row: the reference, a direct use of arith.h's Requantize.
#include "kernel_ops.h"
#include "veil/arith.h"

namespace veil::kernels_internal {

void RequantRowScalar(const RequantRow& row) {
  for (int64_t j = 0; j < row.n; ++j) {
    const int64_t p = row.per_channel ? j : 0;
    // lo <= result <= hi lie in [-128, 127], so the narrowing is exact.
    row.out[j] =
        static_cast<int8_t>(Requantize(row.c[j], row.mult[p], row.shift[p], row.lo, row.hi));
  }
}

}  // namespace veil::kernels_internal
