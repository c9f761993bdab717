#include "veil/npy.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "io/file_util.h"
#include "npy_header.h"

namespace veil {

// Element bytes are copied as-is between .npy data (little-endian) and host values.
static_assert(std::endian::native == std::endian::little, "veil requires a little-endian host");

namespace {

constexpr uint8_t kNpyMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMaxHeaderBytes = 1 << 16;  // numpy itself refuses more than 10000 by default
constexpr uint64_t kMaxNpyFileBytes = uint64_t{16} << 30;

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Calls fn(element) for each element of `a`, loaded as its stored C++ type.
template <typename Fn>
Status ForEachElement(const NpyArray& a, Fn fn) {
  const size_t n = a.data.size() / NpyDTypeSize(a.dtype);
  const uint8_t* p = a.data.data();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* e = p + i * NpyDTypeSize(a.dtype);
    Status s;
    switch (a.dtype) {
      case NpyDType::kFloat32:
        s = fn(Load<float>(e));
        break;
      case NpyDType::kFloat64:
        s = fn(Load<double>(e));
        break;
      case NpyDType::kInt8:
        s = fn(Load<int8_t>(e));
        break;
      case NpyDType::kUint8:
        s = fn(Load<uint8_t>(e));
        break;
      case NpyDType::kInt32:
        s = fn(Load<int32_t>(e));
        break;
      case NpyDType::kInt64:
        s = fn(Load<int64_t>(e));
        break;
    }
    VEIL_RETURN_IF_ERROR(s);
  }
  return Status::Ok();
}

std::string ShapeTuple(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

template <typename T>
Status WriteTyped(const std::string& path, NpyDType dtype, const Shape& shape,
                  std::span<const T> values) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = shape;
  array.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(array.data.data(), values.data(), values.size_bytes());
  return WriteNpy(path, array);
}

}  // namespace

const char* NpyDTypeDescr(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat32:
      return "<f4";
    case NpyDType::kFloat64:
      return "<f8";
    case NpyDType::kInt8:
      return "|i1";
    case NpyDType::kUint8:
      return "|u1";
    case NpyDType::kInt32:
      return "<i4";
    case NpyDType::kInt64:
      return "<i8";
  }
  return "?";
}

size_t NpyDTypeSize(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat32:
      return 4;
    case NpyDType::kFloat64:
      return 8;
    case NpyDType::kInt8:
      return 1;
    case NpyDType::kUint8:
      return 1;
    case NpyDType::kInt32:
      return 4;
    case NpyDType::kInt64:
      return 8;
  }
  return 1;
}

Result<std::vector<float>> NpyArray::ToFloat32() const {
  std::vector<float> out;
  out.reserve(data.size() / NpyDTypeSize(dtype));
  VEIL_RETURN_IF_ERROR(ForEachElement(*this, [&](auto v) {
    if constexpr (std::is_same_v<decltype(v), double>) {
      if (std::isfinite(v) && std::fabs(v) > FLT_MAX) {
        return Status::InvalidArgument("npy: float64 element " + std::to_string(v) +
                                       " is outside float32's range");
      }
    }
    out.push_back(static_cast<float>(v));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<int64_t>> NpyArray::ToInt64() const {
  std::vector<int64_t> out;
  out.reserve(data.size() / NpyDTypeSize(dtype));
  VEIL_RETURN_IF_ERROR(ForEachElement(*this, [&](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      // 2^63 is exactly representable; every integral double in [-2^63, 2^63) fits.
      constexpr double kLimit = 9223372036854775808.0;
      if (!std::isfinite(v) || std::trunc(v) != v || v < -kLimit || v >= kLimit) {
        return Status::InvalidArgument("npy: element " + std::to_string(v) +
                                       " is not an integer in int64's range");
      }
    }
    out.push_back(static_cast<int64_t>(v));
    return Status::Ok();
  }));
  return out;
}

Result<NpyArray> ParseNpy(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kNpyMagic, sizeof(kNpyMagic)) != 0)
    return Status::Corrupt("npy: not a .npy file (bad magic)");
  const uint8_t major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0) {
    return Status::Unsupported("npy: format version " + std::to_string(major) + "." +
                               std::to_string(minor) + " is not supported (1.0, 2.0, 3.0 are)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) return Status::Corrupt("npy: truncated header length");
  uint64_t header_len = 0;
  for (size_t i = 0; i < length_bytes; ++i) header_len |= uint64_t{bytes[8 + i]} << (8 * i);
  const size_t header_begin = 8 + length_bytes;
  if (header_len > kMaxHeaderBytes) {
    return Status::Corrupt("npy: header of " + std::to_string(header_len) +
                           " bytes exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  }
  if (header_len > bytes.size() - header_begin) {
    return Status::Corrupt("npy: truncated header (" + std::to_string(header_len) +
                           " bytes declared, " + std::to_string(bytes.size() - header_begin) +
                           " present)");
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + header_begin),
                              static_cast<size_t>(header_len));
  VEIL_ASSIGN_OR_RETURN(io::NpyHeader header, io::ParseNpyHeader(text));

  // ParseNpyHeader bounds the element count by kMaxNpyElements (< 2^56), so the byte
  // count cannot overflow.
  const uint64_t expected =
      static_cast<uint64_t>(NumElements(header.shape)) * NpyDTypeSize(header.dtype);
  const size_t data_begin = header_begin + static_cast<size_t>(header_len);
  const uint64_t present = bytes.size() - data_begin;
  if (present != expected) {
    return Status::Corrupt("npy: shape " + ShapeToString(header.shape) + " of " +
                           NpyDTypeDescr(header.dtype) + " needs " + std::to_string(expected) +
                           " data bytes, file has " + std::to_string(present));
  }
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = std::move(header.shape);
  array.data.assign(bytes.begin() + static_cast<ptrdiff_t>(data_begin), bytes.end());
  return array;
}

Result<NpyArray> ReadNpy(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, io::ReadFileBytes(path, kMaxNpyFileBytes));
  Result<NpyArray> array = ParseNpy(bytes);
  if (!array.ok()) return array.status().WithContext(path);
  return array;
}

Result<std::vector<uint8_t>> SerializeNpy(const NpyArray& array) {
  if (array.shape.size() > io::kMaxNpyRank)
    return Status::InvalidArgument("npy: rank " + std::to_string(array.shape.size()) + " too high");
  int64_t product = 1;
  for (int64_t d : array.shape) {
    if (d < 0)
      return Status::InvalidArgument("npy: negative dimension in " + ShapeToString(array.shape));
    if (d > 1 && product > io::kMaxNpyElements / d)
      return Status::InvalidArgument("npy: shape " + ShapeToString(array.shape) + " is too large");
    if (d > 1) product *= d;
  }
  const uint64_t expected =
      static_cast<uint64_t>(NumElements(array.shape)) * NpyDTypeSize(array.dtype);
  if (array.data.size() != expected) {
    return Status::InvalidArgument("npy: shape " + ShapeToString(array.shape) + " needs " +
                                   std::to_string(expected) + " bytes of data, got " +
                                   std::to_string(array.data.size()));
  }
  std::string header = std::string("{'descr': '") + NpyDTypeDescr(array.dtype) +
                       "', 'fortran_order': False, 'shape': " + ShapeTuple(array.shape) + ", }";
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  uint8_t major = 1;
  size_t preamble = 10;
  if (header.size() + 1 + 63 > 0xffff) {
    major = 2;
    preamble = 12;
  }
  const size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
  header.append(total - preamble - header.size() - 1, ' ');
  header.push_back('\n');

  std::vector<uint8_t> out(kNpyMagic, kNpyMagic + sizeof(kNpyMagic));
  out.push_back(major);
  out.push_back(0);
  const size_t len = header.size();
  for (size_t i = 0; i < preamble - 8; ++i) out.push_back(static_cast<uint8_t>(len >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

Status WriteNpy(const std::string& path, const NpyArray& array) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializeNpy(array));
  return io::WriteFileAtomically(path, bytes);
}

Status WriteNpyFloat32(const std::string& path, const Shape& shape, std::span<const float> values) {
  return WriteTyped(path, NpyDType::kFloat32, shape, values);
}
Status WriteNpyInt8(const std::string& path, const Shape& shape, std::span<const int8_t> values) {
  return WriteTyped(path, NpyDType::kInt8, shape, values);
}
Status WriteNpyUint8(const std::string& path, const Shape& shape, std::span<const uint8_t> values) {
  return WriteTyped(path, NpyDType::kUint8, shape, values);
}
Status WriteNpyInt32(const std::string& path, const Shape& shape, std::span<const int32_t> values) {
  return WriteTyped(path, NpyDType::kInt32, shape, values);
}
Status WriteNpyInt64(const std::string& path, const Shape& shape, std::span<const int64_t> values) {
  return WriteTyped(path, NpyDType::kInt64, shape, values);
}

}  // namespace veil
