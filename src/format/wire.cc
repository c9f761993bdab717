#include "wire.h"

#include <bit>

namespace veil::format {

void ByteSink::PutU16(uint16_t v) {
  uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
  Append(b);
}

void ByteSink::PutU32(uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  Append(b);
}

void ByteSink::PutU64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  Append(b);
}

void ByteSink::PutF64(double v) { PutU64(std::bit_cast<uint64_t>(v)); }

void ByteSink::PutString(const std::string& s) {
  PutU32(static_cast<uint32_t>(s.size()));
  Append({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void PatchU64(std::vector<uint8_t>* out, size_t pos, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*out)[pos + i] = static_cast<uint8_t>(v >> (8 * i));
}

Status ByteReader::ErrorAt(const std::string& message, uint64_t at) {
  return Status::Corrupt("model file: " + message + " at byte " + std::to_string(at));
}

Status ByteReader::Need(uint64_t n, const std::string& what) const {
  if (n <= remaining()) return Status::Ok();
  return Error("truncated " + what + " (needs " + std::to_string(n) + " bytes, " +
               std::to_string(remaining()) + " remain)");
}

Status ByteReader::ReadU8(uint8_t* v, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(1, what));
  *v = *Take(1);
  return Status::Ok();
}

Status ByteReader::ReadU16(uint16_t* v, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(2, what));
  const uint8_t* p = Take(2);
  *v = static_cast<uint16_t>(p[0] | (p[1] << 8));
  return Status::Ok();
}

Status ByteReader::ReadU32(uint32_t* v, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(4, what));
  const uint8_t* p = Take(4);
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>(p[i]) << (8 * i);
  *v = r;
  return Status::Ok();
}

Status ByteReader::ReadU64(uint64_t* v, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(8, what));
  const uint8_t* p = Take(8);
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(p[i]) << (8 * i);
  *v = r;
  return Status::Ok();
}

Status ByteReader::ReadI64(int64_t* v, const std::string& what) {
  uint64_t u = 0;
  VEIL_RETURN_IF_ERROR(ReadU64(&u, what));
  *v = static_cast<int64_t>(u);
  return Status::Ok();
}

Status ByteReader::ReadF64(double* v, const std::string& what) {
  uint64_t u = 0;
  VEIL_RETURN_IF_ERROR(ReadU64(&u, what));
  *v = std::bit_cast<double>(u);
  return Status::Ok();
}

Status ByteReader::ReadString(std::string* s, size_t max_len, const std::string& what) {
  uint64_t at = offset();
  uint32_t len = 0;
  VEIL_RETURN_IF_ERROR(ReadU32(&len, what + " length"));
  if (len > max_len) {
    return ErrorAt(what + " is " + std::to_string(len) + " bytes, over the limit of " +
                       std::to_string(max_len),
                   at);
  }
  VEIL_RETURN_IF_ERROR(Need(len, what));
  const uint8_t* p = Take(len);
  s->assign(reinterpret_cast<const char*>(p), len);
  return Status::Ok();
}

Status ByteReader::ReadBytes(uint64_t n, std::span<const uint8_t>* out, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(n, what));
  *out = {Take(static_cast<size_t>(n)), static_cast<size_t>(n)};
  return Status::Ok();
}

Status ByteReader::ReadCount(uint32_t* count, size_t min_record_bytes, const std::string& what) {
  uint64_t at = offset();
  VEIL_RETURN_IF_ERROR(ReadU32(count, what));
  // Both factors are below 2^32, so the product cannot overflow 64 bits.
  if (static_cast<uint64_t>(*count) * min_record_bytes > remaining()) {
    return ErrorAt(what + " " + std::to_string(*count) + " cannot fit in the " +
                       std::to_string(remaining()) + " bytes that remain",
                   at);
  }
  return Status::Ok();
}

Status ByteReader::ReadSub(uint64_t n, ByteReader* sub, const std::string& what) {
  VEIL_RETURN_IF_ERROR(Need(n, what));
  uint64_t at = offset();
  *sub = ByteReader(bytes_.subspan(pos_, static_cast<size_t>(n)), at);
  pos_ += static_cast<size_t>(n);
  return Status::Ok();
}

}  // namespace veil::format
