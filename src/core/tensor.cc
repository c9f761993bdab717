#include "veil/tensor.h"

#include <cassert>
#include <cstring>

namespace veil {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
  }
  return "unknown";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
  }
  return 1;
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? std::string("T") : std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)),
      bytes_(static_cast<size_t>(NumElements(shape_)) * DTypeSize(dtype)) {}

namespace {
template <typename T>
Tensor FromValues(DType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t(dtype, std::move(shape));
  assert(static_cast<int64_t>(values.size()) == t.size());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor Tensor::FromInt8(Shape shape, std::vector<int8_t> values) {
  return FromValues(DType::kInt8, std::move(shape), values);
}
Tensor Tensor::FromInt32(Shape shape, std::vector<int32_t> values) {
  return FromValues(DType::kInt32, std::move(shape), values);
}
Tensor Tensor::FromInt64(Shape shape, std::vector<int64_t> values) {
  return FromValues(DType::kInt64, std::move(shape), values);
}

std::span<int8_t> Tensor::i8() {
  assert(dtype_ == DType::kInt8);
  return {reinterpret_cast<int8_t*>(bytes_.data()), bytes_.size()};
}
std::span<const int8_t> Tensor::i8() const {
  assert(dtype_ == DType::kInt8);
  return {reinterpret_cast<const int8_t*>(bytes_.data()), bytes_.size()};
}
std::span<int32_t> Tensor::i32() {
  assert(dtype_ == DType::kInt32);
  return {reinterpret_cast<int32_t*>(bytes_.data()), bytes_.size() / 4};
}
std::span<const int32_t> Tensor::i32() const {
  assert(dtype_ == DType::kInt32);
  return {reinterpret_cast<const int32_t*>(bytes_.data()), bytes_.size() / 4};
}
std::span<int64_t> Tensor::i64() {
  assert(dtype_ == DType::kInt64);
  return {reinterpret_cast<int64_t*>(bytes_.data()), bytes_.size() / 8};
}
std::span<const int64_t> Tensor::i64() const {
  assert(dtype_ == DType::kInt64);
  return {reinterpret_cast<const int64_t*>(bytes_.data()), bytes_.size() / 8};
}

void Tensor::Reshape(Shape shape) {
  assert(NumElements(shape) == size());
  shape_ = std::move(shape);
}

}  // namespace veil
