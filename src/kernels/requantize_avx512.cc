// AVX-512 (F, BW, VL, DQ) requantization row. Compiled with -mavx512*: follow the
// isolation rule in kernel_ops.h.
//
// Exactly arith.h's Requantize, 8 lanes of int64 at a time:
//   p = acc * M                 vpmuldq: signed 32 x 32 -> 64, |p| < 2^62
//   p += 2^(s-1)                vpsllvq(1, s - 1); for s = 0 the count is 2^64 - 1 > 63,
//                               which vpsllvq turns into 0, matching RoundShift(v, 0) = v
//   p >> s                      vpsravq (arithmetic, i.e. floor), s <= 62
//   clamp to [lo, hi]           vpmaxsq / vpminsq
// The clamped values lie in [-128, 127], so vpmovqb's truncation to bytes is exact. The
// row tail uses masked loads and stores: no element past n is read or written.
#include <immintrin.h>

#include <cstdint>

#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

// Eight int32 (lanes where `mask` is clear read as 0) widened to int64.
__m512i LoadSigned(__mmask8 mask, const int32_t* p) {
  return _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, p));
}
__m512i LoadUnsigned(__mmask8 mask, const int32_t* p) {  // values in [0, 2^31)
  return _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(mask, p));
}

}  // namespace

void RequantRowAvx512(const RequantRow& row) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i lo = _mm512_set1_epi64(row.lo);
  const __m512i hi = _mm512_set1_epi64(row.hi);
  __m512i mult = _mm512_set1_epi64(row.mult[0]);
  __m512i shift = _mm512_set1_epi64(row.shift[0]);
  for (int64_t j = 0; j < row.n; j += 8) {
    const int64_t valid = row.n - j;
    const __mmask8 mask = valid >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << valid) - 1);
    if (row.per_channel) {
      mult = LoadUnsigned(mask, row.mult + j);
      shift = LoadUnsigned(mask, row.shift + j);
    }
    __m512i p = _mm512_mul_epi32(LoadSigned(mask, row.c + j), mult);
    p = _mm512_add_epi64(p, _mm512_sllv_epi64(one, _mm512_sub_epi64(shift, one)));
    p = _mm512_srav_epi64(p, shift);
    p = _mm512_min_epi64(_mm512_max_epi64(p, lo), hi);
    _mm512_mask_cvtepi64_storeu_epi8(row.out + j, mask, p);
  }
}

}  // namespace veil::kernels_internal
