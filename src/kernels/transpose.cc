// TransposeS8: a byte-matrix transpose for the graph ops' layout changes (channel-major <->
// channel-last). ISA-neutral: x86-64's baseline SSE2 (no run-time dispatch needed), with a
// portable fallback elsewhere. Pure data movement, so every path gives the same bytes.
#include <cstring>

#include "veil/kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace veil {
namespace {

// The 8×8 block at (r0, c0) with 64-bit words: three rounds of swapping the 1-, 2- and
// 4-byte halves of word pairs.
void Block8(const int8_t* src, int64_t ld_src, int8_t* dst, int64_t ld_dst) {
  const auto swap = [](uint64_t& a, uint64_t& b, int bits, uint64_t low) {
    const uint64_t x = (a & low) | ((b << bits) & ~low);
    b = ((a >> bits) & low) | (b & ~low);
    a = x;
  };
  uint64_t w[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&w[i], src + i * ld_src, 8);
  for (int i = 0; i < 8; i += 2) swap(w[i], w[i + 1], 8, 0x00FF00FF00FF00FFull);
  for (int i : {0, 1, 4, 5}) swap(w[i], w[i + 2], 16, 0x0000FFFF0000FFFFull);
  for (int i = 0; i < 4; ++i) swap(w[i], w[i + 4], 32, 0x00000000FFFFFFFFull);
  // Little-endian words: byte i of w[j] is now src[i, j].
  for (int j = 0; j < 8; ++j) std::memcpy(dst + j * ld_dst, &w[j], 8);
}

#if defined(__SSE2__)
// The 16×16 block: four rounds of interleaving (bytes, words, dwords, qwords).
void Block16(const int8_t* src, int64_t ld_src, int8_t* dst, int64_t ld_dst) {
  __m128i a[16], b[16];
  for (int i = 0; i < 16; ++i)
    a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * ld_src));
  for (int i = 0; i < 8; ++i) {
    b[2 * i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[2 * i + 1] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      a[4 * i + 2 * j] = _mm_unpacklo_epi16(b[4 * i + j], b[4 * i + j + 2]);
      a[4 * i + 2 * j + 1] = _mm_unpackhi_epi16(b[4 * i + j], b[4 * i + j + 2]);
    }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      b[8 * i + 2 * j] = _mm_unpacklo_epi32(a[8 * i + j], a[8 * i + j + 4]);
      b[8 * i + 2 * j + 1] = _mm_unpackhi_epi32(a[8 * i + j], a[8 * i + j + 4]);
    }
  for (int j = 0; j < 8; ++j) {
    a[2 * j] = _mm_unpacklo_epi64(b[j], b[j + 8]);
    a[2 * j + 1] = _mm_unpackhi_epi64(b[j], b[j + 8]);
  }
  for (int i = 0; i < 16; ++i)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * ld_dst), a[i]);
}
#endif

}  // namespace

void TransposeS8(int64_t rows, int64_t cols, const int8_t* src, int64_t ld_src, int8_t* dst,
                 int64_t ld_dst) {
  int64_t r0 = 0;
#if defined(__SSE2__)
  for (; r0 + 16 <= rows; r0 += 16) {
    int64_t c0 = 0;
    for (; c0 + 16 <= cols; c0 += 16)
      Block16(src + r0 * ld_src + c0, ld_src, dst + c0 * ld_dst + r0, ld_dst);
    for (; c0 + 8 <= cols; c0 += 8)
      for (int64_t h = 0; h < 16; h += 8)
        Block8(src + (r0 + h) * ld_src + c0, ld_src, dst + c0 * ld_dst + r0 + h, ld_dst);
    for (; c0 < cols; ++c0)
      for (int64_t r = r0; r < r0 + 16; ++r) dst[c0 * ld_dst + r] = src[r * ld_src + c0];
  }
#endif
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t c0 = 0;
    for (; c0 + 8 <= cols; c0 += 8)
      Block8(src + r0 * ld_src + c0, ld_src, dst + c0 * ld_dst + r0, ld_dst);
    for (; c0 < cols; ++c0)
      for (int64_t r = r0; r < r0 + 8; ++r) dst[c0 * ld_dst + r] = src[r * ld_src + c0];
  }
  for (; r0 < rows; ++r0)
    for (int64_t c = 0; c < cols; ++c) dst[c * ld_dst + r0] = src[r0 * ld_src + c];
}

}  // namespace veil
