// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the exchange format for test
// vectors, calibration data and reference outputs.
//
// Supported element types: <f4, <f8, |i1, |u1, <i4, <i8 ('=' is accepted as little-endian
// and, for one-byte types, any byte-order mark). Arrays must be C-ordered. Parsing is
// safe on hostile input: every malformed header is an error, never a crash.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/status.h"
#include "veil/tensor.h"

namespace veil {

enum class NpyDType : uint8_t { kFloat32, kFloat64, kInt8, kUint8, kInt32, kInt64 };

const char* NpyDTypeDescr(NpyDType dtype);  // canonical descr, e.g. "<f4", "|u1"
size_t NpyDTypeSize(NpyDType dtype);

struct NpyArray {
  NpyDType dtype = NpyDType::kFloat32;
  Shape shape;                // every dimension >= 0; empty for a 0-d array
  std::vector<uint8_t> data;  // C order, little-endian; size = num_elements() * item size

  int64_t num_elements() const { return NumElements(shape); }

  // All elements converted to float32. Fails if a float64 value is finite but outside
  // float32's range; int values convert with rounding (exact below 2^24).
  Result<std::vector<float>> ToFloat32() const;
  // All elements converted to int64. Fails if a floating-point value is not an integer
  // in int64's range (NaN, infinity, 0.5, 1e19).
  Result<std::vector<int64_t>> ToInt64() const;
};

// Parses a complete .npy file image.
Result<NpyArray> ParseNpy(std::span<const uint8_t> bytes);
Result<NpyArray> ReadNpy(const std::string& path);

// Encodes as format version 1.0 (2.0 if the header would not fit), header padded so the
// data starts at a multiple of 64 bytes. InvalidArgument if data.size() != shape size.
Result<std::vector<uint8_t>> SerializeNpy(const NpyArray& array);
// Writes atomically (temporary file + rename).
Status WriteNpy(const std::string& path, const NpyArray& array);

// Typed writers: `values.size()` must equal NumElements(shape).
Status WriteNpyFloat32(const std::string& path, const Shape& shape, std::span<const float> values);
Status WriteNpyInt8(const std::string& path, const Shape& shape, std::span<const int8_t> values);
Status WriteNpyUint8(const std::string& path, const Shape& shape, std::span<const uint8_t> values);
Status WriteNpyInt32(const std::string& path, const Shape& shape, std::span<const int32_t> values);
Status WriteNpyInt64(const std::string& path, const Shape& shape, std::span<const int64_t> values);

}  // namespace veil
