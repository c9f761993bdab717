// int8 compute kernels: GEMM and requantization, with a scalar reference and AVX2,
// AVX-512 and AVX-512 VNNI paths chosen at run time. Every path produces exactly the
// same bits as the scalar reference (tests assert it), for every thread count.
//
// Preconditions shared by all kernels: int8 operands are in [-127, 127] (veil never
// produces -128), and K * 127 * 127 + |bias| < 2^31 so int32 accumulators are exact.
// Broken caller contracts (a negative dimension, a stride shorter than the row, an
// explicit path KernelPathAvailable rejects) abort with a message; they never reach an
// instruction the CPU lacks. `pool` may be null (run on the calling thread); it must not
// be a pool whose ParallelFor is currently running the caller (ParallelFor is not
// reentrant).
#pragma once

#include <cstdint>
#include <memory>

#include "veil/thread_pool.h"

namespace veil {

enum class KernelPath : uint8_t { kAuto = 0, kScalar, kAvx2, kAvx512, kAvx512Vnni };

const char* KernelPathName(KernelPath path);
// Whether this CPU (and this build) can run `path`. kAuto and kScalar are always true.
bool KernelPathAvailable(KernelPath path);
// kAuto resolves to the fastest available path; others are returned unchanged.
KernelPath ResolveKernelPath(KernelPath path);

// Weights B (int8 [N, K], row-major) laid out once for a given path. Immutable, so one
// PackedWeights may serve concurrent GemmS8 calls.
class PackedWeights {
 public:
  virtual ~PackedWeights() = default;
  virtual KernelPath path() const = 0;
  virtual int64_t n() const = 0;
  virtual int64_t k() const = 0;
};

std::unique_ptr<PackedWeights> PackWeights(KernelPath path, int64_t n, int64_t k,
                                           const int8_t* b, int64_t ldb);

// C[m, n] = bias[n] + sum_k A[m, k] * B[n, k]   (bias may be null: treated as 0).
// A is int8 [M, K] with row stride lda; C is int32 [M, N] with row stride ldc.
void GemmS8(const PackedWeights& b, int64_t m, const int8_t* a, int64_t lda,
            const int32_t* bias, int32_t* c, int64_t ldc, ThreadPool* pool);

// out[m, n] = Requantize(C[m, n], mult[n or 0], shift[n or 0], lo, hi) as int8;
// per_channel selects mult[n] / shift[n] over mult[0] / shift[0]. Domain as arith.h's
// Requantize (0 <= mult < 2^31, 0 <= shift <= 62), and -128 <= lo <= hi <= 127.
void RequantizeRows(KernelPath path, int64_t m, int64_t n, const int32_t* c, int64_t ldc,
                    const int32_t* mult, const int32_t* shift, bool per_channel, int32_t lo,
                    int32_t hi, int8_t* out, int64_t ldo, ThreadPool* pool);

// out[i] = Clamp(RoundShift(a[i] * ma + b[i] * mb, shift), lo, hi) as int8, for i < n:
// the Add op of docs/arithmetic.md on flat arrays. Domain: int8 a and b (any value),
// 0 <= ma, mb < 2^31, 0 <= shift <= 62, -128 <= lo <= hi <= 127. Single-threaded (callers
// split large arrays); `out` may alias `a` or `b` exactly.
void AddRequantize(KernelPath path, int64_t n, const int8_t* a, int32_t ma, const int8_t* b,
                   int32_t mb, int32_t shift, int32_t lo, int32_t hi, int8_t* out);

// Max pooling with 2×2 windows and stride 2 over `planes` planes x [planes, h, w] into
// y [planes, h / 2, w / 2] (floor; an odd last row or column is not read):
//   y[p, i, j] = max(x[p, 2i + di, 2j + dj]) over di, dj in {0, 1}.
// h, w >= 2. Single-threaded (callers split the planes).
void MaxPool2x2(KernelPath path, int64_t planes, int64_t h, int64_t w, const int8_t* x, int8_t* y);

// dst[c * ld_dst + r] = src[r * ld_src + c] for r < rows, c < cols: a byte-matrix
// transpose (ld_src >= cols, ld_dst >= rows; the two must not overlap). Pure data
// movement, the same on every CPU; single-threaded.
void TransposeS8(int64_t rows, int64_t cols, const int8_t* src, int64_t ld_src, int8_t* dst,
                 int64_t ld_dst);

}  // namespace veil
