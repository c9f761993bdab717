// The scalar GEMM: the reference every SIMD path is tested against. Plain loops over
// the row-major packed B (block_cols = panel_blocks = 1, see kernel_ops.h).
#include "kernel_ops.h"

namespace veil::kernels_internal {
namespace {

void ScalarTile(const GemmTile& t) {
  for (int64_t r = 0; r < t.rows; ++r) {
    const int8_t* a_row = t.a + r * t.lda;
    for (int64_t j = 0; j < t.cols; ++j) {
      // With one column per block, a block is one row of B: K bytes, then zero padding.
      const int8_t* b_row = t.b + j * t.block_stride;
      // No partial sum overflows: |bias| + K * 127 * 127 < 2^31 (kernels.h precondition).
      int32_t acc = t.bias != nullptr ? t.bias[j] : 0;
      for (int64_t kk = 0; kk < t.k; ++kk) {
        acc += int32_t{a_row[kk]} * int32_t{b_row[kk]};
      }
      t.c[r * t.ldc + j] = acc;
    }
  }
}

}  // namespace

constinit const GemmKernel kScalarGemm = {
    .block_cols = 1,
    .panel_blocks = 1,
    .tile_blocks = 16,
    .max_rows = 4,
    .acc_budget = 64,
    .offset_b = false,
    .tile = &ScalarTile,
    .row_offsets = nullptr,
};

}  // namespace veil::kernels_internal
