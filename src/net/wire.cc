#include "wire.h"

#include <cstring>
#include <limits>

namespace veil::net {

v1::DType ToWire(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
      return v1::DTYPE_INT8;
    case DType::kInt32:
      return v1::DTYPE_INT32;
    case DType::kInt64:
      return v1::DTYPE_INT64;
  }
  return v1::DTYPE_UNSPECIFIED;
}

void EncodeTensor(const Tensor& tensor, v1::Tensor* out) {
  out->set_dtype(ToWire(tensor.dtype()));
  out->clear_dims();
  for (int64_t d : tensor.shape()) out->add_dims(d);
  out->set_data(reinterpret_cast<const char*>(tensor.raw()), tensor.byte_size());
}

Result<Tensor> DecodeTensor(const v1::Tensor& wire, int64_t* byte_budget, const std::string& what) {
  DType dtype;
  switch (wire.dtype()) {
    case v1::DTYPE_INT8:
      dtype = DType::kInt8;
      break;
    case v1::DTYPE_INT32:
      dtype = DType::kInt32;
      break;
    case v1::DTYPE_INT64:
      dtype = DType::kInt64;
      break;
    default:
      return Status::InvalidArgument(what + ": unknown dtype " +
                                     std::to_string(static_cast<int>(wire.dtype())));
  }
  if (wire.dims_size() < 1 || wire.dims_size() > kMaxWireRank)
    return Status::InvalidArgument(what + ": rank " + std::to_string(wire.dims_size()) +
                                   " outside 1.." + std::to_string(kMaxWireRank));
  const int64_t elem = static_cast<int64_t>(DTypeSize(dtype));
  const int64_t budget = *byte_budget;
  int64_t elements = 1;
  Shape shape;
  for (int i = 0; i < wire.dims_size(); ++i) {
    const int64_t d = wire.dims(i);
    if (d < 1)
      return Status::InvalidArgument(what + ": dim " + std::to_string(i) + " is " +
                                     std::to_string(d));
    // elements * d * elem must stay within the budget (checked without overflow).
    if (d > budget / elem / elements)
      return Status::InvalidArgument(what + ": shape exceeds the request's tensor byte limit of " +
                                     std::to_string(budget) + " remaining bytes");
    elements *= d;
    shape.push_back(d);
  }
  const int64_t bytes = elements * elem;
  if (static_cast<int64_t>(wire.data().size()) != bytes)
    return Status::InvalidArgument(what + ": data holds " + std::to_string(wire.data().size()) +
                                   " bytes but dims " + ShapeToString(shape) + " of " +
                                   DTypeName(dtype) + " need " + std::to_string(bytes));
  Tensor t(dtype, shape);
  if (bytes > 0) std::memcpy(t.raw(), wire.data().data(), static_cast<size_t>(bytes));
  if (dtype == DType::kInt8) {
    const auto v = t.i8();
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == std::numeric_limits<int8_t>::min())
        return Status::InvalidArgument(what + ": int8 element " + std::to_string(i) +
                                       " is -128 (activations lie in [-127, 127])");
  }
  *byte_budget -= bytes;
  return t;
}

bool DigestFromBytes(const std::string& bytes, Digest* out) {
  if (bytes.size() != out->size()) return false;
  std::memcpy(out->data(), bytes.data(), out->size());
  return true;
}

std::string DigestToBytes(const Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace veil::net
