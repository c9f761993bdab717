#include "veil/zk/serialize.h"

#include <string>

namespace veil::zk {

void WriteU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void WriteU64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void WriteScalar(std::vector<uint8_t>* out, const Scalar& s) {
  const std::array<uint8_t, 32> b = s.ToBytes();
  out->insert(out->end(), b.begin(), b.end());
}

void WritePoint(std::vector<uint8_t>* out, const Point& p) {
  const std::array<uint8_t, 32> b = p.Encode();
  out->insert(out->end(), b.begin(), b.end());
}

void WriteScalars(std::vector<uint8_t>* out, std::span<const Scalar> s) {
  WriteU32(out, static_cast<uint32_t>(s.size()));
  for (const Scalar& x : s) WriteScalar(out, x);
}

void WritePoints(std::vector<uint8_t>* out, std::span<const Point> p) {
  WriteU32(out, static_cast<uint32_t>(p.size()));
  for (const Point& x : p) WritePoint(out, x);
}

Result<std::span<const uint8_t>> ZkReader::Take(size_t n, const char* what) {
  if (remaining() < n)
    return Status::Corrupt(std::string("truncated ") + what + " at offset " + std::to_string(pos_) +
                           ": need " + std::to_string(n) + " bytes, have " +
                           std::to_string(remaining()));
  std::span<const uint8_t> s = bytes_.subspan(pos_, n);
  pos_ += n;
  return s;
}

Result<uint32_t> ZkReader::ReadU32() {
  VEIL_ASSIGN_OR_RETURN(auto b, Take(4, "u32"));
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[i]) << (8 * i);
  return v;
}

Result<uint64_t> ZkReader::ReadU64() {
  VEIL_ASSIGN_OR_RETURN(auto b, Take(8, "u64"));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
  return v;
}

Result<Scalar> ZkReader::ReadScalar() {
  const size_t at = pos_;
  VEIL_ASSIGN_OR_RETURN(auto b, Take(32, "scalar"));
  Result<Scalar> s = Scalar::FromBytes(b);
  if (!s.ok()) return s.status().WithContext("scalar at offset " + std::to_string(at));
  return s;
}

Result<Point> ZkReader::ReadPoint() {
  const size_t at = pos_;
  VEIL_ASSIGN_OR_RETURN(auto b, Take(32, "point"));
  Result<Point> p = Point::Decode(b);
  if (!p.ok()) return p.status().WithContext("point at offset " + std::to_string(at));
  return p;
}

Result<std::vector<Scalar>> ZkReader::ReadScalars(uint32_t max_count) {
  VEIL_ASSIGN_OR_RETURN(uint32_t n, ReadU32());
  if (n > max_count || static_cast<uint64_t>(n) * 32 > remaining())
    return Status::Corrupt("scalar vector count " + std::to_string(n) + " exceeds the limit " +
                           std::to_string(max_count) + " or the bytes left");
  std::vector<Scalar> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    VEIL_ASSIGN_OR_RETURN(Scalar s, ReadScalar());
    v.push_back(s);
  }
  return v;
}

Result<std::vector<Point>> ZkReader::ReadPoints(uint32_t max_count) {
  VEIL_ASSIGN_OR_RETURN(uint32_t n, ReadU32());
  if (n > max_count || static_cast<uint64_t>(n) * 32 > remaining())
    return Status::Corrupt("point vector count " + std::to_string(n) + " exceeds the limit " +
                           std::to_string(max_count) + " or the bytes left");
  std::vector<Point> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    VEIL_ASSIGN_OR_RETURN(Point p, ReadPoint());
    v.push_back(p);
  }
  return v;
}

Status ZkReader::ExpectEnd() const {
  if (remaining() != 0)
    return Status::Corrupt(std::to_string(remaining()) + " trailing bytes after offset " +
                           std::to_string(pos_));
  return Status::Ok();
}

}  // namespace veil::zk
