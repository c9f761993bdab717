// TensorDigest: the name of a tensor's exact contents (docs/arithmetic.md §4).
#include <cstdint>

#include "veil/digest.h"
#include "veil/session.h"

namespace veil {

// SHA-256 over the ASCII tag "veil.tensor.v1" (no terminator), then as u64
// little-endian: the dtype code (DType's value), the rank and each dim; then the raw
// little-endian element bytes in row-major order.
Digest TensorDigest(const Tensor& tensor) {
  static constexpr char kTag[] = "veil.tensor.v1";
  Sha256Hasher hasher;
  hasher.Update({reinterpret_cast<const uint8_t*>(kTag), sizeof(kTag) - 1});
  hasher.UpdateU64(static_cast<uint64_t>(tensor.dtype()));
  hasher.UpdateU64(tensor.rank());
  for (int64_t d : tensor.shape()) hasher.UpdateU64(static_cast<uint64_t>(d));
  hasher.Update({tensor.raw(), tensor.byte_size()});
  return hasher.Finish();
}

}  // namespace veil
