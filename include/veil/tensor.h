// Tensor: a dense, row-major array of integers. The only numeric container in veil's
// inference path: activations are int8, accumulators/biases/multipliers int32, a few
// normalisation constants int64. No floating point is ever stored in a Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace veil {

enum class DType : uint8_t { kInt8 = 1, kInt32 = 2, kInt64 = 3 };

const char* DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

using Shape = std::vector<int64_t>;

// Number of elements of a shape; 1 for a scalar (empty shape). Dimensions must be >= 0.
int64_t NumElements(const Shape& shape);
std::string ShapeToString(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled

  static Tensor FromInt8(Shape shape, std::vector<int8_t> values);
  static Tensor FromInt32(Shape shape, std::vector<int32_t> values);
  static Tensor FromInt64(Shape shape, std::vector<int64_t> values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_[i]; }
  size_t rank() const { return shape_.size(); }
  int64_t size() const { return static_cast<int64_t>(bytes_.size() / DTypeSize(dtype_)); }
  size_t byte_size() const { return bytes_.size(); }

  // Typed views. The caller must ask for the tensor's own dtype (checked in debug builds).
  std::span<int8_t> i8();
  std::span<const int8_t> i8() const;
  std::span<int32_t> i32();
  std::span<const int32_t> i32() const;
  std::span<int64_t> i64();
  std::span<const int64_t> i64() const;

  const uint8_t* raw() const { return bytes_.data(); }
  uint8_t* raw() { return bytes_.data(); }

  // Reinterprets the same elements under another shape with the same element count.
  void Reshape(Shape shape);

  bool operator==(const Tensor& other) const {
    return dtype_ == other.dtype_ && shape_ == other.shape_ && bytes_ == other.bytes_;
  }

 private:
  DType dtype_ = DType::kInt8;
  Shape shape_;
  std::vector<uint8_t> bytes_;  // little-endian element storage
};

}  // namespace veil
