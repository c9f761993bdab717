// AVX-512 (F, BW, VL, DQ) GEMM tiles, without VNNI. Compiled with -mavx512*: follow the
// isolation rule in kernel_ops.h.
//
// The sign trick of gemm_avx2.cc at 512 bits. AVX-512 has no vpsignb, so b * sign(a) is
// a masked negation (0 - b where a < 0); where a == 0, |a| == 0 zeroes the product.
// Pair sums stay within 2 * 127 * 127 < 2^15, so vpmaddubsw never saturates.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

constexpr int kBlockCols = 16;  // int32 lanes of a zmm register
constexpr int kPanelBlocks = 4;
constexpr int kMaxRows = 3;

// A[r, 4q .. 4q + 3] as one int32 lane pattern (memcpy: no alignment or aliasing needs).
int32_t LoadQuad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The last n < 4 bytes of an A row, zero-filled: never reads past the row.
int32_t LoadPartialQuad(const int8_t* p, int64_t n) {
  uint32_t v = 0;
  for (int64_t i = 0; i < n; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return static_cast<int32_t>(v);  // little-endian byte order, as LoadQuad
}

// acc[r][j] += the quad's products of row r and block j (16 columns).
template <int R, int NB>
void AccumulateQuad(__m512i (&acc)[R][NB], const int8_t* b, int64_t block_stride,
                    const int32_t (&a_quad)[R]) {
  const __m512i ones = _mm512_set1_epi16(1);
  const __m512i zero = _mm512_setzero_si512();
  __m512i bv[NB];
  VEIL_UNROLL
  for (int j = 0; j < NB; ++j) bv[j] = _mm512_loadu_si512(b + j * block_stride);
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512i av = _mm512_set1_epi32(a_quad[r]);
    const __m512i a_abs = _mm512_abs_epi8(av);
    const __mmask64 a_negative = _mm512_movepi8_mask(av);
    VEIL_UNROLL
    for (int j = 0; j < NB; ++j) {
      const __m512i b_signed = _mm512_mask_sub_epi8(bv[j], a_negative, zero, bv[j]);
      const __m512i pairs = _mm512_maddubs_epi16(a_abs, b_signed);
      acc[r][j] = _mm512_add_epi32(acc[r][j], _mm512_madd_epi16(pairs, ones));
    }
  }
}

// C = acc + bias for the tile's valid columns; masked lanes are neither read nor written.
template <int R, int NB>
void StoreTile(const __m512i (&acc)[R][NB], const GemmTile& t) {
  VEIL_UNROLL
  for (int j = 0; j < NB; ++j) {
    const int64_t col = int64_t{j} * kBlockCols;
    const int64_t valid = t.cols - col;  // >= 1: the tile has ceil(cols / 16) blocks
    const __mmask16 mask =
        valid >= kBlockCols ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << valid) - 1);
    const __m512i bias =
        t.bias != nullptr ? _mm512_maskz_loadu_epi32(mask, t.bias + col) : _mm512_setzero_si512();
    VEIL_UNROLL
    for (int r = 0; r < R; ++r) {
      _mm512_mask_storeu_epi32(t.c + r * t.ldc + col, mask, _mm512_add_epi32(acc[r][j], bias));
    }
  }
}

template <int R, int NB>
void Tile(const GemmTile& t) {
  __m512i acc[R][NB];
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) {
    VEIL_UNROLL
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_setzero_si512();
  }
  int32_t a_quad[R];
  const int64_t full_quads = t.k / 4;
  // The partial quad (K % 4 != 0) goes first: accumulated after the main loop, it makes
  // GCC keep the accumulators in memory instead of registers.
  if (const int64_t rem = t.k - 4 * full_quads; rem != 0) {
    VEIL_UNROLL
    for (int r = 0; r < R; ++r) a_quad[r] = LoadPartialQuad(t.a + r * t.lda + 4 * full_quads, rem);
    AccumulateQuad<R, NB>(acc, t.b + full_quads * t.quad_stride, t.block_stride, a_quad);
  }
  const int8_t* b = t.b;
  for (int64_t q = 0; q < full_quads; ++q, b += t.quad_stride) {
    VEIL_UNROLL
    for (int r = 0; r < R; ++r) a_quad[r] = LoadQuad(t.a + r * t.lda + 4 * q);
    AccumulateQuad<R, NB>(acc, b, t.block_stride, a_quad);
  }
  StoreTile<R, NB>(acc, t);
}

using TileFn = void (*)(const GemmTile&);

// kTiles[rows - 1][blocks - 1].
constexpr TileFn kTiles[kMaxRows][kPanelBlocks] = {
    {&Tile<1, 1>, &Tile<1, 2>, &Tile<1, 3>, &Tile<1, 4>},
    {&Tile<2, 1>, &Tile<2, 2>, &Tile<2, 3>, &Tile<2, 4>},
    {&Tile<3, 1>, &Tile<3, 2>, &Tile<3, 3>, &Tile<3, 4>},
};

void Avx512Tile(const GemmTile& t) {
  const int64_t blocks = (t.cols + kBlockCols - 1) / kBlockCols;
  kTiles[t.rows - 1][blocks - 1](t);
}

}  // namespace

constinit const GemmKernel kAvx512Gemm = {
    .block_cols = kBlockCols,
    .panel_blocks = kPanelBlocks,
    .tile_blocks = kPanelBlocks,
    .max_rows = kMaxRows,
    // With 16 accumulators GCC spills some of the 32 zmm registers in the loop.
    .acc_budget = 12,
    .offset_b = false,
    .tile = &Avx512Tile,
    .row_offsets = nullptr,
};

}  // namespace veil::kernels_internal
