// PackedS8: the one implementation of PackedWeights, in the layout of kernel_ops.h.
// ISA-neutral code only.
#pragma once

#include <cstdint>
#include <memory>

#include "kernel_ops.h"
#include "veil/kernels.h"

namespace veil::kernels_internal {

class PackedS8 final : public PackedWeights {
 public:
  // Packs B [n, k] (row stride ldb) for `kernel`. `path` is the resolved path it belongs to.
  PackedS8(KernelPath path, const GemmKernel& kernel, int64_t n, int64_t k, const int8_t* b,
           int64_t ldb);

  KernelPath path() const override { return path_; }
  int64_t n() const override { return n_; }
  int64_t k() const override { return k_; }

  const GemmKernel& kernel() const { return kernel_; }
  // Bytes from quad q to q + 1 of one block.
  int64_t quad_stride() const { return quad_stride_; }
  // Bytes from block j to block j + 1 at the same quad, for blocks in one panel.
  int64_t block_stride() const {
    return kernel_.panel_blocks == 1 ? panel_bytes_ : int64_t{kernel_.block_cols} * 4;
  }
  // Packed bytes of column block `block`, quad 0.
  const int8_t* BlockStart(int64_t block) const;

 private:
  struct AlignedDelete {
    void operator()(int8_t* p) const;
  };

  KernelPath path_;
  const GemmKernel& kernel_;
  int64_t n_;
  int64_t k_;
  int64_t quad_stride_;                            // panel_blocks * block_cols * 4
  int64_t panel_bytes_;                            // k_quads * quad_stride_
  std::unique_ptr<int8_t[], AlignedDelete> data_;  // 64-byte aligned
};

}  // namespace veil::kernels_internal
