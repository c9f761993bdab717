// AVX-512 VNNI GEMM tiles. Compiled with -mavx512* -mavx512vnni: follow the isolation
// rule in kernel_ops.h.
//
// Offset trick: vpdpbusd multiplies unsigned by signed bytes, so B is packed as
// b + 128 in [1, 255] (offset_b) and A is used as is:
//   sum_k (b + 128) * a = sum_k a * b + 128 * sum_k a,
// and the tile adds row_offset = -128 * sum_k a. vpdpbusd (not the saturating
// vpdpbusds) and vpaddd wrap modulo 2^32, so every step is exact modulo 2^32, and the
// final value, being in int32 by the K * 127^2 + |bias| < 2^31 precondition, is exact
// even when the intermediate 128 * sum_k a does not fit in int32.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

constexpr int kBlockCols = 16;  // int32 lanes of a zmm register
constexpr int kPanelBlocks = 4;
constexpr int kMaxRows = 6;

// A[r, 4q .. 4q + 3] as one int32 lane pattern (memcpy: no alignment or aliasing needs).
int32_t LoadQuad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The last n < 4 bytes of an A row, zero-filled: never reads past the row. A zero byte
// contributes 0 * (b + 128) = 0 and is not part of the row sum either.
int32_t LoadPartialQuad(const int8_t* p, int64_t n) {
  uint32_t v = 0;
  for (int64_t i = 0; i < n; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return static_cast<int32_t>(v);  // little-endian byte order, as LoadQuad
}

// acc[r][j] += the quad's products of row r and block j (16 columns).
template <int R, int NB>
void AccumulateQuad(__m512i (&acc)[R][NB], const int8_t* b, int64_t block_stride,
                    const int32_t (&a_quad)[R]) {
  __m512i bv[NB];
  VEIL_UNROLL
  for (int j = 0; j < NB; ++j) bv[j] = _mm512_loadu_si512(b + j * block_stride);
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512i av = _mm512_set1_epi32(a_quad[r]);
    VEIL_UNROLL
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], bv[j], av);
  }
}

// C = acc + row_offset + bias for the tile's valid columns; masked lanes are neither read
// nor written.
template <int R, int NB>
void StoreTile(const __m512i (&acc)[R][NB], const GemmTile& t) {
  __m512i offset[R];
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) offset[r] = _mm512_set1_epi32(t.row_offset[r]);
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
      const __m512i v = _mm512_add_epi32(_mm512_add_epi32(acc[r][j], offset[r]), bias);
      _mm512_mask_storeu_epi32(t.c + r * t.ldc + col, mask, v);
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
    {&Tile<4, 1>, &Tile<4, 2>, &Tile<4, 3>, &Tile<4, 4>},
    {&Tile<5, 1>, &Tile<5, 2>, &Tile<5, 3>, &Tile<5, 4>},
    {&Tile<6, 1>, &Tile<6, 2>, &Tile<6, 3>, &Tile<6, 4>},
};

void VnniTile(const GemmTile& t) {
  const int64_t blocks = (t.cols + kBlockCols - 1) / kBlockCols;
  kTiles[t.rows - 1][blocks - 1](t);
}

// row_offset[i] = -128 * sum_k A[i, k] mod 2^32. The byte sums use vpdpbusd with
// all-ones unsigned bytes; the tail is a masked load, so no byte past a row is read.
void VnniRowOffsets(const int8_t* a, int64_t lda, int64_t m, int64_t k, int32_t* row_offset) {
  if (k <= 16) {  // short rows (e.g. a small convolution's im2col): one xmm per row
    const __m128i ones16 = _mm_set1_epi8(1);
    const __mmask16 tail = static_cast<__mmask16>((uint32_t{1} << k) - 1);
    for (int64_t i = 0; i < m; ++i) {
      __m128i sum = _mm_dpbusd_epi32(_mm_setzero_si128(), ones16, _mm_maskz_loadu_epi8(tail, a + i * lda));
      sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4E));  // lanes + lanes 2 apart
      sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xB1));  // + the neighbour
      const uint32_t row_sum = static_cast<uint32_t>(_mm_cvtsi128_si32(sum));
      row_offset[i] = static_cast<int32_t>(0u - 128u * row_sum);
    }
    return;
  }
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t i = 0; i < m; ++i) {
    const int8_t* row = a + i * lda;
    __m512i sum = _mm512_setzero_si512();
    int64_t kk = 0;
    for (; kk + 64 <= k; kk += 64) {
      sum = _mm512_dpbusd_epi32(sum, ones, _mm512_loadu_si512(row + kk));
    }
    if (kk < k) {
      const __mmask64 tail = (uint64_t{1} << (k - kk)) - 1;
      sum = _mm512_dpbusd_epi32(sum, ones, _mm512_maskz_loadu_epi8(tail, row + kk));
    }
    // |sum| <= 127 * K < 2^31; the product is formed in uint32 to wrap, not overflow.
    const uint32_t row_sum = static_cast<uint32_t>(_mm512_reduce_add_epi32(sum));
    row_offset[i] = static_cast<int32_t>(0u - 128u * row_sum);
  }
}

}  // namespace

constinit const GemmKernel kAvx512VnniGemm = {
    .block_cols = kBlockCols,
    .panel_blocks = kPanelBlocks,
    .tile_blocks = kPanelBlocks,
    .max_rows = kMaxRows,
    .acc_budget = 24,  // 24 accumulators + 4 B + 1 A broadcast fit the 32 zmm registers
    .offset_b = true,
    .tile = &VnniTile,
    .row_offsets = &VnniRowOffsets,
};

}  // namespace veil::kernels_internal
