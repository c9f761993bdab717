// PackWeights and GemmS8: argument checks, tiling and threading around the per-path
// tile kernels. Every output element is computed by exactly one tile, with the same
// integer operations whichever thread runs it, so results do not depend on threads.
#include <algorithm>
#include <functional>
#include <vector>

#include "dispatch.h"
#include "packed_weights.h"

namespace veil {
namespace {

using kernels_internal::GemmKernel;
using kernels_internal::GemmTile;
using kernels_internal::PackedS8;

// Work (multiply-adds) below which a GEMM stays on the calling thread, and the least work
// handed to one ParallelFor chunk. Waking a worker costs several microseconds, about what
// the VNNI path needs for 2^20 multiply-adds.
constexpr int64_t kMinParallelMacs = int64_t{1} << 20;
constexpr int64_t kMinChunkMacs = int64_t{1} << 19;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The tile grid of one GemmS8 call. Tiles are numbered panel-major (all row tiles of
// column panel 0, then panel 1, ...) so a thread's consecutive tiles reuse one B panel.
struct TileGrid {
  int64_t rows_per_tile;
  int64_t blocks_per_tile;
  int64_t row_tiles;
  int64_t col_tiles;
};

TileGrid MakeGrid(const GemmKernel& kernel, int64_t m, int64_t n) {
  TileGrid g;
  g.rows_per_tile = std::min<int64_t>(m, kernel.max_rows);
  // Halving keeps blocks_per_tile a power of two dividing panel_blocks, so a tile never
  // straddles two panels.
  g.blocks_per_tile = kernel.tile_blocks;
  while (g.blocks_per_tile > 1 && g.blocks_per_tile * g.rows_per_tile > kernel.acc_budget) {
    g.blocks_per_tile /= 2;
  }
  g.row_tiles = CeilDiv(m, g.rows_per_tile);
  g.col_tiles = CeilDiv(n, g.blocks_per_tile * kernel.block_cols);
  return g;
}

}  // namespace

std::unique_ptr<PackedWeights> PackWeights(KernelPath path, int64_t n, int64_t k, const int8_t* b,
                                           int64_t ldb) {
  VEIL_KERNEL_CHECK(n >= 0 && k >= 0, "PackWeights: negative dimension");
  VEIL_KERNEL_CHECK(n == 0 || ldb >= k, "PackWeights: ldb < k");
  VEIL_KERNEL_CHECK(n * k == 0 || b != nullptr, "PackWeights: null weights");
  const KernelPath resolved = ResolveKernelPath(path);
  return std::make_unique<PackedS8>(resolved, kernels_internal::GemmKernelFor(resolved), n, k, b,
                                    ldb);
}

void GemmS8(const PackedWeights& weights, int64_t m, const int8_t* a, int64_t lda,
            const int32_t* bias, int32_t* c, int64_t ldc, ThreadPool* pool) {
  const auto* packed = dynamic_cast<const PackedS8*>(&weights);
  VEIL_KERNEL_CHECK(packed != nullptr, "GemmS8: weights not made by PackWeights");
  const int64_t n = packed->n();
  const int64_t k = packed->k();
  VEIL_KERNEL_CHECK(m >= 0, "GemmS8: negative m");
  if (m == 0 || n == 0) return;
  VEIL_KERNEL_CHECK(lda >= k && ldc >= n, "GemmS8: lda < k or ldc < n");
  VEIL_KERNEL_CHECK(c != nullptr && (k == 0 || a != nullptr), "GemmS8: null A or C");
  if (k == 0) {  // empty sums: C = bias; A is not touched (it may be null)
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = bias != nullptr ? bias[j] : 0;
    }
    return;
  }
  const GemmKernel& kernel = packed->kernel();

  // Row offsets for paths that store B + 128 (computed once, shared by all tiles).
  constexpr int64_t kStackRows = 64;
  int32_t stack_offsets[kStackRows];
  std::vector<int32_t> heap_offsets;
  int32_t* row_offset = nullptr;
  if (kernel.offset_b) {
    if (m <= kStackRows) {
      row_offset = stack_offsets;
    } else {
      heap_offsets.resize(static_cast<size_t>(m));
      row_offset = heap_offsets.data();
    }
    kernel.row_offsets(a, lda, m, k, row_offset);
  }

  const TileGrid grid = MakeGrid(kernel, m, n);
  const int64_t tile_cols = grid.blocks_per_tile * kernel.block_cols;
  auto run_tiles = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t m0 = (t % grid.row_tiles) * grid.rows_per_tile;
      const int64_t col_tile = t / grid.row_tiles;
      const int64_t n0 = col_tile * tile_cols;
      GemmTile tile;
      tile.a = a + m0 * lda;
      tile.lda = lda;
      tile.b = packed->BlockStart(col_tile * grid.blocks_per_tile);
      tile.quad_stride = packed->quad_stride();
      tile.block_stride = packed->block_stride();
      tile.k = k;
      tile.rows = std::min(grid.rows_per_tile, m - m0);
      tile.cols = std::min(tile_cols, n - n0);
      tile.bias = bias != nullptr ? bias + n0 : nullptr;
      tile.row_offset = row_offset != nullptr ? row_offset + m0 : nullptr;
      tile.c = c + m0 * ldc + n0;
      tile.ldc = ldc;
      kernel.tile(tile);
    }
  };

  const int64_t tiles = grid.row_tiles * grid.col_tiles;
  const int64_t macs = m * n * k;
  if (pool == nullptr || pool->threads() <= 1 || tiles == 1 || macs < kMinParallelMacs) {
    run_tiles(0, tiles);
    return;
  }
  const int64_t tile_macs = grid.rows_per_tile * tile_cols * k;
  pool->ParallelFor(tiles, std::max<int64_t>(1, kMinChunkMacs / tile_macs), run_tiles);
}

}  // namespace veil
