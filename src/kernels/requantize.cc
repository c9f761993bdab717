// RequantizeRows, AddRequantize and MaxPool2x2: argument checks (and for RequantizeRows
// threading) around the per-path kernels. Rows are independent, so results do not depend
// on the thread count.
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
                                                  .out = out,
                                                  .rows = 1,
                                                  .ldc = ldc,
                                                  .ldo = ldo};
  auto run_rows = [&](int64_t begin, int64_t end) {
    kernels_internal::RequantRow rows = first_row;
    rows.c = c + begin * ldc;
    rows.out = out + begin * ldo;
    rows.rows = end - begin;
    row_fn(rows);
  };
  if (pool == nullptr || pool->threads() <= 1 || m == 1 || m * n < kMinParallelElements) {
    run_rows(0, m);
    return;
  }
  pool->ParallelFor(m, std::max<int64_t>(1, kMinChunkElements / n), run_rows);
}

void AddRequantize(KernelPath path, int64_t n, const int8_t* a, int32_t ma, const int8_t* b,
                   int32_t mb, int32_t shift, int32_t lo, int32_t hi, int8_t* out) {
  const kernels_internal::AddRowFn add_fn = kernels_internal::AddRowFor(ResolveKernelPath(path));
  VEIL_KERNEL_CHECK(n >= 0, "AddRequantize: negative n");
  if (n == 0) return;
  VEIL_KERNEL_CHECK(a != nullptr && b != nullptr && out != nullptr, "AddRequantize: null operand");
  VEIL_KERNEL_CHECK(ma >= 0 && mb >= 0 && 0 <= shift && shift <= 62,
                    "AddRequantize: need 0 <= ma, mb and 0 <= shift <= 62");
  VEIL_KERNEL_CHECK(-128 <= lo && lo <= hi && hi <= 127,
                    "AddRequantize: need -128 <= lo <= hi <= 127");
  add_fn({.n = n, .a = a, .b = b, .ma = ma, .mb = mb, .shift = shift, .lo = lo, .hi = hi, .out = out});
}

void MaxPool2x2(KernelPath path, int64_t planes, int64_t h, int64_t w, const int8_t* x, int8_t* y) {
  const kernels_internal::MaxPoolFn pool_fn = kernels_internal::MaxPoolFor(ResolveKernelPath(path));
  VEIL_KERNEL_CHECK(planes >= 0 && h >= 2 && w >= 2, "MaxPool2x2: need planes >= 0, h, w >= 2");
  if (planes == 0) return;
  VEIL_KERNEL_CHECK(x != nullptr && y != nullptr, "MaxPool2x2: null operand");
  pool_fn({.planes = planes, .h = h, .w = w, .x = x, .y = y});
}

}  // namespace veil
