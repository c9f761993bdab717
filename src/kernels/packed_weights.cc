#include "packed_weights.h"

#include <cstring>
#include <new>

namespace veil::kernels_internal {
namespace {

constexpr std::align_val_t kAlignment{64};

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

void PackedS8::AlignedDelete::operator()(int8_t* p) const { ::operator delete[](p, kAlignment); }

PackedS8::PackedS8(KernelPath path, const GemmKernel& kernel, int64_t n, int64_t k, const int8_t* b,
                   int64_t ldb)
    : path_(path), kernel_(kernel), n_(n), k_(k) {
  const int64_t block_cols = kernel.block_cols;
  const int64_t panel_blocks = kernel.panel_blocks;
  const int64_t k_quads = CeilDiv(k, 4);
  const int64_t panels = CeilDiv(CeilDiv(n, block_cols), panel_blocks);
  quad_stride_ = panel_blocks * block_cols * 4;
  panel_bytes_ = k_quads * quad_stride_;
  // At least one byte so the pointer is valid even for an empty matrix (never read then).
  const int64_t bytes = panels * panel_bytes_ > 0 ? panels * panel_bytes_ : 1;
  data_.reset(static_cast<int8_t*>(::operator new[](static_cast<size_t>(bytes), kAlignment)));

  // Padding is the encoding of 0; with offset_b every byte is stored as b ^ 0x80 = b + 128.
  const uint8_t flip = kernel.offset_b ? 0x80 : 0x00;
  std::memset(data_.get(), flip, static_cast<size_t>(bytes));
  for (int64_t col = 0; col < n; ++col) {
    const int64_t block = col / block_cols;
    int8_t* dst = data_.get() + (block / panel_blocks) * panel_bytes_ +
                  (block % panel_blocks) * block_cols * 4 + (col % block_cols) * 4;
    const int8_t* src = b + col * ldb;
    for (int64_t kk = 0; kk < k; ++kk) {
      dst[(kk / 4) * quad_stride_ + kk % 4] =
          static_cast<int8_t>(static_cast<uint8_t>(src[kk]) ^ flip);
    }
  }
}

const int8_t* PackedS8::BlockStart(int64_t block) const {
  const int64_t panel_blocks = kernel_.panel_blocks;
  return data_.get() + (block / panel_blocks) * panel_bytes_ +
         (block % panel_blocks) * kernel_.block_cols * 4;
}

}  // namespace veil::kernels_internal
