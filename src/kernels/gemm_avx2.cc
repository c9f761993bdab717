// AVX2 GEMM tiles. Compiled with -mavx2 -mfma: follow the isolation rule in kernel_ops.h.
//
// Sign trick: vpmaddubsw multiplies unsigned by signed bytes, so each product a * b is
// formed as |a| * (b * sign(a)). The factors lie in [0, 127] and [-127, 127] (-128 never
// occurs), so a pair sum is at most 2 * 127 * 127 = 32258 < 2^15: vpmaddubsw never
// saturates. vpmaddwd with ones then adds the two pairs of a quad into one int32 lane per
// column; those int32 sums are exact by the K * 127^2 + |bias| < 2^31 precondition.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

constexpr int kBlockCols = 8;  // int32 lanes of a ymm register
constexpr int kPanelBlocks = 4;
constexpr int kMaxRows = 3;

// A[r, 4q .. 4q + 3] as one int32 lane pattern (memcpy: no alignment or aliasing needs).
int32_t LoadQuad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The last n < 4 bytes of an A row, zero-filled: never reads past the row. The zero
// bytes meet B's zero padding, so they add nothing.
int32_t LoadPartialQuad(const int8_t* p, int64_t n) {
  uint32_t v = 0;
  for (int64_t i = 0; i < n; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return static_cast<int32_t>(v);  // little-endian byte order, as LoadQuad
}

// acc[r][j] += the quad's products of row r and block j (8 columns).
template <int R, int NB>
void AccumulateQuad(__m256i (&acc)[R][NB], const int8_t* b, int64_t block_stride,
                    const int32_t (&a_quad)[R]) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i bv[NB];
  VEIL_UNROLL
  for (int j = 0; j < NB; ++j) {
    bv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j * block_stride));
  }
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m256i av = _mm256_set1_epi32(a_quad[r]);
    const __m256i a_abs = _mm256_abs_epi8(av);
    VEIL_UNROLL
    for (int j = 0; j < NB; ++j) {
      const __m256i b_signed = _mm256_sign_epi8(bv[j], av);  // b * sign(a), 0 where a == 0
      const __m256i pairs = _mm256_maddubs_epi16(a_abs, b_signed);
      acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(pairs, ones));
    }
  }
}

// C = acc + bias for the tile's valid columns; lanes past t.cols are neither read
// (bias) nor written (C).
template <int R, int NB>
void StoreTile(const __m256i (&acc)[R][NB], const GemmTile& t) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  VEIL_UNROLL
  for (int j = 0; j < NB; ++j) {
    const int64_t col = int64_t{j} * kBlockCols;
    const int64_t valid = t.cols - col;  // >= 1: the tile has ceil(cols / 8) blocks
    if (valid >= kBlockCols) {
      const __m256i bias = t.bias != nullptr
                               ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.bias + col))
                               : _mm256_setzero_si256();
      VEIL_UNROLL
      for (int r = 0; r < R; ++r) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(t.c + r * t.ldc + col),
                            _mm256_add_epi32(acc[r][j], bias));
      }
    } else {
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(valid)), lane);
      const __m256i bias =
          t.bias != nullptr ? _mm256_maskload_epi32(t.bias + col, mask) : _mm256_setzero_si256();
      VEIL_UNROLL
      for (int r = 0; r < R; ++r) {
        _mm256_maskstore_epi32(t.c + r * t.ldc + col, mask, _mm256_add_epi32(acc[r][j], bias));
      }
    }
  }
}

template <int R, int NB>
void Tile(const GemmTile& t) {
  __m256i acc[R][NB];
  VEIL_UNROLL
  for (int r = 0; r < R; ++r) {
    VEIL_UNROLL
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm256_setzero_si256();
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

// kTiles[rows - 1][blocks - 1]; null entries exceed acc_budget and are never selected.
constexpr TileFn kTiles[kMaxRows][kPanelBlocks] = {
    {&Tile<1, 1>, &Tile<1, 2>, &Tile<1, 3>, &Tile<1, 4>},
    {&Tile<2, 1>, &Tile<2, 2>, nullptr, nullptr},
    {&Tile<3, 1>, &Tile<3, 2>, nullptr, nullptr},
};

void Avx2Tile(const GemmTile& t) {
  const int64_t blocks = (t.cols + kBlockCols - 1) / kBlockCols;
  kTiles[t.rows - 1][blocks - 1](t);
}

}  // namespace

constinit const GemmKernel kAvx2Gemm = {
    .block_cols = kBlockCols,
    .panel_blocks = kPanelBlocks,
    .tile_blocks = kPanelBlocks,
    .max_rows = kMaxRows,
    // With more than 6 accumulators GCC spills some of the 16 ymm registers in the loop.
    .acc_budget = 6,
    .offset_b = false,
    .tile = &Avx2Tile,
    .row_offsets = nullptr,
};

}  // namespace veil::kernels_internal
