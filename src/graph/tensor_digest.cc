// TensorDigest: the name of a tensor's exact contents (docs/arithmetic.md §4).
#include <cstdint>

#include "veil/digest.h"
#include "veil/session.h"

namespace veil {

// SHA-256 over the 14 ASCII bytes "veil.tensor.v1" and one zero byte (the domain
// separation of docs/format.md's digests), then as u64 little-endian: the dtype code
// (DType's value: 1 int8, 2 int32, 3 int64), the rank and each dim (the batch dim
// included); then the element bytes, little-endian, row-major.
Digest TensorDigest(const Tensor& tensor) {
  static constexpr char kTag[] = "veil.tensor.v1";  // sizeof includes the zero byte
  Sha256Hasher hasher;
  hasher.Update({reinterpret_cast<const uint8_t*>(kTag), sizeof(kTag)});
  hasher.UpdateU64(static_cast<uint64_t>(tensor.dtype()));
  hasher.UpdateU64(tensor.rank());
  for (int64_t d : tensor.shape()) hasher.UpdateU64(static_cast<uint64_t>(d));
  hasher.Update({tensor.raw(), tensor.byte_size()});
  return hasher.Finish();
}

}  // namespace veil
