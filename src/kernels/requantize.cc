// RequantizeRows: argument checks and threading around the per-path row kernels. Rows
// are independent, so results do not depend on the thread count.
#include <algorithm>

#include "dispatch.h"

namespace veil {
namespace {

// Elements below which requantization stays on the calling thread, and the least work
// handed to one ParallelFor chunk.
constexpr int64_t kMinParallelElements = int64_t{1} << 16;
constexpr int64_t kMinChunkElements = int64_t{1} << 14;

}  // namespace

void RequantizeRows(KernelPath path, int64_t m, int64_t n, const int32_t* c, int64_t ldc,
                    const int32_t* mult, const int32_t* shift, bool per_channel, int32_t lo,
                    int32_t hi, int8_t* out, int64_t ldo, ThreadPool* pool) {
  const kernels_internal::RequantRowFn row_fn =
      kernels_internal::RequantRowFor(ResolveKernelPath(path));
  VEIL_KERNEL_CHECK(m >= 0 && n >= 0, "RequantizeRows: negative dimension");
  if (m == 0 || n == 0) return;
  VEIL_KERNEL_CHECK(ldc >= n && ldo >= n, "RequantizeRows: ldc < n or ldo < n");
  VEIL_KERNEL_CHECK(c != nullptr && out != nullptr && mult != nullptr && shift != nullptr,
                    "RequantizeRows: null operand");
  VEIL_KERNEL_CHECK(-128 <= lo && lo <= hi && hi <= 127,
                    "RequantizeRows: need -128 <= lo <= hi <= 127");

  const kernels_internal::RequantRow first_row = {.n = n,
                                                  .c = c,
                                                  .mult = mult,
                                                  .shift = shift,
                                                  .per_channel = per_channel,
                                                  .lo = lo,
                                                  .hi = hi,
                                                  .out = out};
  auto run_rows = [&](int64_t begin, int64_t end) {
    kernels_internal::RequantRow row = first_row;
    for (int64_t i = begin; i < end; ++i) {
      row.c = c + i * ldc;
      row.out = out + i * ldo;
      row_fn(row);
    }
  };
  if (pool == nullptr || pool->threads() <= 1 || m == 1 || m * n < kMinParallelElements) {
    run_rows(0, m);
    return;
  }
  pool->ParallelFor(m, std::max<int64_t>(1, kMinChunkElements / n), run_rows);
}

}  // namespace veil
