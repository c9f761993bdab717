// Internal interface between the ISA-neutral kernel drivers (gemm.cc, requantize.cc) and
// the per-ISA kernels (gemm_*.cc, requantize_*.cc).
//
// ISA isolation rule. Files compiled with -mavx2 / -mavx512* flags may include only this
// header, <cstdint>, <cstring> and <immintrin.h>, and must give everything they define
// internal linkage except the symbols declared here. An inline function or template
// instantiated from a shared header (the standard library, veil/*.h) would be emitted as
// a COMDAT symbol compiled for that ISA; the linker may keep that copy for the whole
// program, and then scalar code would execute AVX-512 instructions on a CPU without them.
// This header therefore holds only plain data, function pointers and declarations.
#pragma once

#include <cstdint>

// Fully unrolls the following loop over a tile's rows or blocks. Without it GCC keeps
// arrays of vector accumulators in memory instead of registers.
#define VEIL_UNROLL _Pragma("GCC unroll 32")

namespace veil::kernels_internal {

// ---------------------------------------------------------------------------------------
// Packed weight layout, shared by every path (parameters from GemmKernel).
//
// B [N, K] is split into column blocks of `block_cols` columns (zero columns pad the last
// one) and K is zero-padded to k_quads = ceil(K / 4) groups of four ("quads"). Blocks are
// grouped into panels of `panel_blocks` blocks (zero blocks pad the last panel). Within a
// panel bytes are ordered [quad][block][column][4 k-values], so one quad of a whole panel
// is contiguous:
//
//   offset(n, kk) = panel * panel_bytes + (kk / 4) * quad_stride
//                 + (block % panel_blocks) * block_cols * 4 + (n % block_cols) * 4 + kk % 4
//   block = n / block_cols, panel = block / panel_blocks,
//   quad_stride = panel_blocks * block_cols * 4, panel_bytes = k_quads * quad_stride.
//
// With block_cols = panel_blocks = 1 (the scalar path) this is B row-major with the row
// length padded to 4 * k_quads. A path with `offset_b` stores b + 128 (as a byte, i.e.
// b ^ 0x80) instead of b, padding included.
// ---------------------------------------------------------------------------------------

// One output tile: C[m0 + r, n0 + j] for r < rows, j < cols. The tile's packed blocks
// lie in one panel (or panel_blocks == 1), so block j of the tile, quad q, starts at
// b + q * quad_stride + j * block_stride.
struct GemmTile {
  const int8_t* a;  // &A[m0, 0]; each row holds exactly k readable bytes
  int64_t lda;
  const int8_t* b;            // packed bytes of the tile's first block, quad 0
  int64_t quad_stride;        // bytes from quad q to quad q + 1 of one block
  int64_t block_stride;       // bytes from block j to block j + 1 at the same quad
  int64_t k;                  // true K; quads past ceil(k / 4) are never read
  int64_t rows;               // 1 <= rows <= GemmKernel::max_rows
  int64_t cols;               // 1 <= cols <= tile blocks * block_cols; only these are written
  const int32_t* bias;        // &bias[n0] or null (no bias)
  const int32_t* row_offset;  // offset_b paths: &row_offset[m0] (see GemmKernel); else null
  int32_t* c;                 // &C[m0, n0]
  int64_t ldc;
};

// A GEMM path: its packed layout, tile geometry and kernels.
struct GemmKernel {
  int block_cols;    // columns per packed block (one SIMD register of int32 results)
  int panel_blocks;  // blocks per packed panel (1 = blocks stored one after another)
  int tile_blocks;   // most blocks per tile; a power of two dividing panel_blocks if > 1
  int max_rows;      // most rows per tile
  int acc_budget;    // most rows * blocks per tile (accumulator registers)
  bool offset_b;     // B stored as b + 128; tiles then need row offsets
  // Computes one tile: C = bias + A * B^T (bias 0 if null). Exact int32 results.
  void (*tile)(const GemmTile& tile);
  // offset_b only: row_offset[i] = -128 * sum_k A[i, k] mod 2^32, for i < m. The tile adds
  // it to undo the +128 of B: sum_k A * (B + 128) - 128 * sum_k A = sum_k A * B.
  void (*row_offsets)(const int8_t* a, int64_t lda, int64_t m, int64_t k, int32_t* row_offset);
};

// Defined in gemm_<path>.cc. Reading these is always safe; calling their functions is
// allowed only when the CPU supports the path (dispatch.cc checks).
extern const GemmKernel kScalarGemm;
extern const GemmKernel kAvx2Gemm;
extern const GemmKernel kAvx512Gemm;
extern const GemmKernel kAvx512VnniGemm;

// Rows of RequantizeRows: for i < rows and j < n,
//   out[i * ldo + j] = Requantize(c[i * ldc + j], mult[j or 0], shift[j or 0], lo, hi).
// Preconditions as in veil/arith.h, plus -128 <= lo <= hi <= 127, rows >= 1.
struct RequantRow {
  int64_t n;
  const int32_t* c;
  const int32_t* mult;
  const int32_t* shift;
  bool per_channel;
  int32_t lo;
  int32_t hi;
  int8_t* out;
  int64_t rows;
  int64_t ldc;
  int64_t ldo;
};

using RequantRowFn = void (*)(const RequantRow& row);

// AddRequantize on n elements: out[i] = Clamp(RoundShift(a[i] * ma + b[i] * mb, shift),
// lo, hi). Domain as in veil/kernels.h.
struct AddRow {
  int64_t n;
  const int8_t* a;
  const int8_t* b;
  int32_t ma;
  int32_t mb;
  int32_t shift;
  int32_t lo;
  int32_t hi;
  int8_t* out;
};

using AddRowFn = void (*)(const AddRow& row);

void AddRowScalar(const AddRow& row);  // requantize_scalar.cc (the reference)
void AddRowAvx512(const AddRow& row);  // requantize_avx512.cc

// MaxPool2x2 on planes [0, planes) (parameters as in veil/kernels.h).
struct MaxPoolPlanes {
  int64_t planes;
  int64_t h;
  int64_t w;
  const int8_t* x;
  int8_t* y;
};

using MaxPoolFn = void (*)(const MaxPoolPlanes& job);

void MaxPool2x2Scalar(const MaxPoolPlanes& job);  // requantize_scalar.cc (the reference)
void MaxPool2x2Avx512(const MaxPoolPlanes& job);  // requantize_avx512.cc

void RequantRowScalar(const RequantRow& row);  // requantize_scalar.cc (the reference)
void RequantRowAvx2(const RequantRow& row);    // requantize_avx2.cc
void RequantRowAvx512(const RequantRow& row);  // requantize_avx512.cc (F, BW, VL, DQ)

}  // namespace veil::kernels_internal
