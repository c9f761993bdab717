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

// Requantizes up to 8 int32 at c (lanes where `mask` is clear are neither read nor
// written), given the lanes' multipliers, shifts and rounding terms 2^(s-1) (0 for s = 0).
void Requant8(__mmask8 mask, const int32_t* c, __m512i mult, __m512i shift, __m512i round,
              __m512i lo, __m512i hi, int8_t* out) {
  __m512i p = _mm512_mul_epi32(LoadSigned(mask, c), mult);
  p = _mm512_add_epi64(p, round);
  p = _mm512_srav_epi64(p, shift);
  p = _mm512_min_epi64(_mm512_max_epi64(p, lo), hi);
  _mm512_mask_cvtepi64_storeu_epi8(out, mask, p);
}

__m512i Round(__m512i shift) {
  const __m512i one = _mm512_set1_epi64(1);
  return _mm512_sllv_epi64(one, _mm512_sub_epi64(shift, one));
}

__mmask8 TailMask(int64_t valid) {
  return valid >= 8 ? __mmask8{0xFF} : static_cast<__mmask8>((1u << valid) - 1);
}

}  // namespace

void RequantRowAvx512(const RequantRow& row) {
  const __m512i lo = _mm512_set1_epi64(row.lo);
  const __m512i hi = _mm512_set1_epi64(row.hi);
  if (row.n <= 16) {
    // Short rows (e.g. a convolution's output channels): the two 8-lane halves'
    // parameters stay in registers across rows.
    const __mmask8 mask0 = TailMask(row.n);
    const __mmask8 mask1 = row.n > 8 ? TailMask(row.n - 8) : __mmask8{0};
    const __m512i mult0 = row.per_channel ? LoadUnsigned(mask0, row.mult)
                                          : _mm512_set1_epi64(row.mult[0]);
    const __m512i shift0 = row.per_channel ? LoadUnsigned(mask0, row.shift)
                                           : _mm512_set1_epi64(row.shift[0]);
    const __m512i mult1 = row.per_channel ? LoadUnsigned(mask1, row.mult + 8) : mult0;
    const __m512i shift1 = row.per_channel ? LoadUnsigned(mask1, row.shift + 8) : shift0;
    const __m512i round0 = Round(shift0), round1 = Round(shift1);
    for (int64_t i = 0; i < row.rows; ++i) {
      const int32_t* c = row.c + i * row.ldc;
      int8_t* out = row.out + i * row.ldo;
      Requant8(mask0, c, mult0, shift0, round0, lo, hi, out);
      if (mask1 != 0) Requant8(mask1, c + 8, mult1, shift1, round1, lo, hi, out + 8);
    }
    return;
  }
  __m512i mult = _mm512_set1_epi64(row.mult[0]);
  __m512i shift = _mm512_set1_epi64(row.shift[0]);
  __m512i round = Round(shift);
  for (int64_t i = 0; i < row.rows; ++i) {
    const int32_t* c = row.c + i * row.ldc;
    int8_t* out = row.out + i * row.ldo;
    for (int64_t j = 0; j < row.n; j += 8) {
      const __mmask8 mask = TailMask(row.n - j);
      if (row.per_channel) {
        mult = LoadUnsigned(mask, row.mult + j);
        shift = LoadUnsigned(mask, row.shift + j);
        round = Round(shift);
      }
      Requant8(mask, c + j, mult, shift, round, lo, hi, out + j);
    }
  }
}

// Add, 8 lanes of int64 at a time: vpmovsxbq widens a and b, vpmuldq forms a * Ma and
// b * Mb exactly (|.| <= 2^38), then the same rounding shift and clamp as above. The
// tail uses masked loads and stores: nothing past n is read or written.
void AddRowAvx512(const AddRow& row) {
  const __m512i ma = _mm512_set1_epi64(row.ma);
  const __m512i mb = _mm512_set1_epi64(row.mb);
  const __m512i shift = _mm512_set1_epi64(row.shift);
  const __m512i round = _mm512_set1_epi64(row.shift > 0 ? int64_t{1} << (row.shift - 1) : 0);
  const __m512i lo = _mm512_set1_epi64(row.lo);
  const __m512i hi = _mm512_set1_epi64(row.hi);
  for (int64_t i = 0; i < row.n; i += 8) {
    const __mmask8 mask = TailMask(row.n - i);
    const __m512i a = _mm512_cvtepi8_epi64(_mm_maskz_loadu_epi8(mask, row.a + i));
    const __m512i b = _mm512_cvtepi8_epi64(_mm_maskz_loadu_epi8(mask, row.b + i));
    __m512i p = _mm512_add_epi64(_mm512_mul_epi32(a, ma), _mm512_mul_epi32(b, mb));
    p = _mm512_srav_epi64(_mm512_add_epi64(p, round), shift);
    p = _mm512_min_epi64(_mm512_max_epi64(p, lo), hi);
    _mm512_mask_cvtepi64_storeu_epi8(row.out + i, mask, p);
  }
}

// 2×2 max pooling, 32 outputs at a time: vpmaxsb of the two input rows (64 bytes), then
// the max of each byte pair as int16 lanes (even byte: sign-extended by shifting left 8
// and arithmetically right 8; odd byte: arithmetic shift right 8), narrowed by vpmovwb
// (the values are int8, so exactly). Masked loads read only the 2·ow bytes of each row
// that windows cover.
void MaxPool2x2Avx512(const MaxPoolPlanes& job) {
  const int64_t h = job.h, w = job.w, oh = h / 2, ow = w / 2;
  for (int64_t p = 0; p < job.planes; ++p) {
    const int8_t* plane = job.x + p * h * w;
    int8_t* out = job.y + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const int8_t* r0 = plane + 2 * i * w;
      const int8_t* r1 = r0 + w;
      for (int64_t j = 0; j < ow; j += 32) {
        const int64_t n = ow - j < 32 ? ow - j : 32;
        const __mmask64 in_mask = n == 32 ? ~__mmask64{0} : (__mmask64{1} << (2 * n)) - 1;
        const __mmask32 out_mask = n == 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
        const __m512i m = _mm512_max_epi8(_mm512_maskz_loadu_epi8(in_mask, r0 + 2 * j),
                                          _mm512_maskz_loadu_epi8(in_mask, r1 + 2 * j));
        const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(m, 8), 8);
        const __m512i odd = _mm512_srai_epi16(m, 8);
        _mm256_mask_storeu_epi8(out + i * ow + j, out_mask,
                                _mm512_cvtepi16_epi8(_mm512_max_epi16(even, odd)));
      }
    }
  }
}

}  // namespace veil::kernels_internal
