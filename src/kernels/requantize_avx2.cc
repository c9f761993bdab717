// AVX2 requantization row. Compiled with -mavx2 -mfma: follow the isolation rule in
// kernel_ops.h.
//
// Exactly arith.h's Requantize, 4 lanes of int64 at a time:
//   p = acc * M                 vpmuldq: signed 32 x 32 -> 64, |p| < 2^62
//   p += 2^(s-1)                vpsllvq(1, s - 1); for s = 0 the count is 2^64 - 1 > 63,
//                               which vpsllvq turns into 0, matching RoundShift(v, 0) = v
//   p >> s (arithmetic)         AVX2 has no vpsravq: with t = (p < 0 ? -1 : 0),
//                               p >> s == t ^ ((p ^ t) >>> s), since for p < 0,
//                               ~(~p >>> s) = floor(p / 2^s)
//   clamp to [lo, hi]           vpcmpgtq + vpblendvb (no 64-bit min/max in AVX2)
// The clamped values lie in [-128, 127], so the saturating packs that narrow them are exact.
#include <immintrin.h>

#include <cstdint>

#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

struct Bounds {  // lo and hi in every int64 lane
  __m256i lo;
  __m256i hi;
};

// Requantizes the four int32 of c4 (int64 lanes of the result hold the clamped values).
__m256i Requant4(__m128i c4, __m256i mult, __m256i shift, const Bounds& bounds) {
  const __m256i one = _mm256_set1_epi64x(1);
  __m256i p = _mm256_mul_epi32(_mm256_cvtepi32_epi64(c4), mult);
  p = _mm256_add_epi64(p, _mm256_sllv_epi64(one, _mm256_sub_epi64(shift, one)));
  const __m256i negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i q = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, negative), shift), negative);
  q = _mm256_blendv_epi8(q, bounds.lo, _mm256_cmpgt_epi64(bounds.lo, q));
  q = _mm256_blendv_epi8(q, bounds.hi, _mm256_cmpgt_epi64(q, bounds.hi));
  return q;
}

// The low 32 bits of each int64 lane, as four int32 in an xmm.
__m128i Low32(__m256i v) {
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, even));
}

__m256i Widen(const int32_t* p) {  // four uint32 in [0, 2^31) -> int64 lanes
  return _mm256_cvtepu32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// One row (row.rows and the strides are ignored).
void OneRowAvx2(const RequantRow& row) {
  const Bounds bounds = {_mm256_set1_epi64x(row.lo), _mm256_set1_epi64x(row.hi)};
  __m256i mult = _mm256_set1_epi64x(row.mult[0]);
  __m256i shift = _mm256_set1_epi64x(row.shift[0]);
  __m256i mult_hi = mult;
  __m256i shift_hi = shift;
  int64_t j = 0;
  for (; j + 8 <= row.n; j += 8) {
    if (row.per_channel) {
      mult = Widen(row.mult + j);
      mult_hi = Widen(row.mult + j + 4);
      shift = Widen(row.shift + j);
      shift_hi = Widen(row.shift + j + 4);
    }
    const __m128i c_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row.c + j));
    const __m128i c_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row.c + j + 4));
    const __m128i q32 = _mm_packs_epi32(Low32(Requant4(c_lo, mult, shift, bounds)),
                                        Low32(Requant4(c_hi, mult_hi, shift_hi, bounds)));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(row.out + j), _mm_packs_epi16(q32, q32));
  }
  if (j < row.n) {  // fewer than 8 left: the reference finishes the row
    RequantRow tail = row;
    tail.rows = 1;
    tail.n = row.n - j;
    tail.c = row.c + j;
    tail.out = row.out + j;
    if (row.per_channel) {
      tail.mult = row.mult + j;
      tail.shift = row.shift + j;
    }
    RequantRowScalar(tail);
  }
}

}  // namespace

void RequantRowAvx2(const RequantRow& row) {
  RequantRow one = row;
  for (int64_t i = 0; i < row.rows; ++i) {
    one.c = row.c + i * row.ldc;
    one.out = row.out + i * row.ldo;
    OneRowAvx2(one);
  }
}

}  // namespace veil::kernels_internal
