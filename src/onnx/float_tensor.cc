#include "float_tensor.h"

#include <bit>
#include <cassert>
#include <cstring>
#include <utility>

#include "float_eval_internal.h"

namespace veil::onnx_import {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; big-endian hosts need byte swapping");

FTensor FTensor::Float(Shape shape, std::vector<float> values) {
  FTensor t;
  t.kind = Kind::kFloat;
  t.shape = std::move(shape);
  t.f = std::move(values);
  assert(static_cast<int64_t>(t.f.size()) == t.size());
  return t;
}

FTensor FTensor::Int64(Shape shape, std::vector<int64_t> values) {
  FTensor t;
  t.kind = Kind::kInt64;
  t.shape = std::move(shape);
  t.i = std::move(values);
  assert(static_cast<int64_t>(t.i.size()) == t.size());
  return t;
}

FTensor FTensor::Bool(Shape shape, std::vector<int64_t> values) {
  FTensor t;
  t.kind = Kind::kBool;
  t.shape = std::move(shape);
  t.i = std::move(values);
  for (int64_t& v : t.i) v = v != 0 ? 1 : 0;
  assert(static_cast<int64_t>(t.i.size()) == t.size());
  return t;
}

namespace {

using onnx::TensorProto;

// Decodes `n` little-endian elements of type T from raw bytes and converts each with `conv`.
template <typename T, typename Out, typename Conv>
Status DecodeRaw(const std::string& raw, int64_t n, std::vector<Out>* out, Conv conv) {
  if (raw.size() != static_cast<size_t>(n) * sizeof(T)) {
    return Status::InvalidArgument("raw_data holds " + std::to_string(raw.size()) +
                                   " bytes, expected " + std::to_string(n) + " x " +
                                   std::to_string(sizeof(T)));
  }
  out->resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    T v;
    std::memcpy(&v, raw.data() + static_cast<size_t>(k) * sizeof(T), sizeof(T));
    (*out)[static_cast<size_t>(k)] = conv(v);
  }
  return Status::Ok();
}

// Copies a repeated typed field after checking its length.
template <typename Field, typename Out, typename Conv>
Status DecodeField(const Field& field, const char* field_name, int64_t n, std::vector<Out>* out,
                   Conv conv) {
  if (field.size() != n) {
    return Status::InvalidArgument(std::string(field_name) + " holds " +
                                   std::to_string(field.size()) + " values, expected " +
                                   std::to_string(n));
  }
  out->resize(static_cast<size_t>(n));
  for (int k = 0; k < field.size(); ++k) (*out)[static_cast<size_t>(k)] = conv(field.Get(k));
  return Status::Ok();
}

Status Decode(const TensorProto& proto, int64_t n, FTensor* t) {
  const bool raw = proto.has_raw_data();
  const std::string& bytes = proto.raw_data();
  auto as_float = [](auto v) { return static_cast<float>(v); };
  auto as_i64 = [](auto v) { return static_cast<int64_t>(v); };
  switch (proto.data_type()) {
    case TensorProto::FLOAT:
      t->kind = FTensor::Kind::kFloat;
      return raw ? DecodeRaw<float>(bytes, n, &t->f, as_float)
                 : DecodeField(proto.float_data(), "float_data", n, &t->f, as_float);
    case TensorProto::DOUBLE:
      t->kind = FTensor::Kind::kFloat;
      return raw ? DecodeRaw<double>(bytes, n, &t->f, as_float)
                 : DecodeField(proto.double_data(), "double_data", n, &t->f, as_float);
    case TensorProto::INT64:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<int64_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int64_data(), "int64_data", n, &t->i, as_i64);
    case TensorProto::INT32:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<int32_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i, as_i64);
    // Narrow integer types live in int32_data, one value per entry.
    case TensorProto::INT8:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<int8_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i,
                               [](int32_t v) { return int64_t{static_cast<int8_t>(v)}; });
    case TensorProto::UINT8:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<uint8_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i,
                               [](int32_t v) { return int64_t{static_cast<uint8_t>(v)}; });
    case TensorProto::INT16:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<int16_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i,
                               [](int32_t v) { return int64_t{static_cast<int16_t>(v)}; });
    case TensorProto::UINT16:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<uint16_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i,
                               [](int32_t v) { return int64_t{static_cast<uint16_t>(v)}; });
    case TensorProto::UINT32:
      t->kind = FTensor::Kind::kInt64;
      return raw ? DecodeRaw<uint32_t>(bytes, n, &t->i, as_i64)
                 : DecodeField(proto.uint64_data(), "uint64_data", n, &t->i,
                               [](uint64_t v) { return int64_t{static_cast<uint32_t>(v)}; });
    case TensorProto::BOOL:
      t->kind = FTensor::Kind::kBool;
      return raw ? DecodeRaw<uint8_t>(bytes, n, &t->i,
                                      [](uint8_t v) { return int64_t{v != 0 ? 1 : 0}; })
                 : DecodeField(proto.int32_data(), "int32_data", n, &t->i,
                               [](int32_t v) { return int64_t{v != 0 ? 1 : 0}; });
    default:
      return Status::Unsupported("tensor data type " + std::to_string(proto.data_type()) + " (" +
                                 TensorProto::DataType_Name(proto.data_type()) +
                                 ") is not supported");
  }
}

}  // namespace

Result<FTensor> FromTensorProto(const onnx::TensorProto& proto) {
  const std::string label = "initializer '" + proto.name() + "'";
  if (proto.data_location() == TensorProto::EXTERNAL) {
    return Status::Unsupported(label + ": external data is not supported");
  }
  if (proto.has_segment()) {
    return Status::Unsupported(label + ": segmented tensors are not supported");
  }
  FTensor t;
  t.shape.assign(proto.dims().begin(), proto.dims().end());
  Status s = internal::CheckShape(t.shape);
  if (!s.ok()) return s.WithContext(label);
  s = Decode(proto, NumElements(t.shape), &t);
  if (!s.ok()) return s.WithContext(label);
  return t;
}

}  // namespace veil::onnx_import
