// Wire format for zk objects. Every field is fixed-size little-endian:
//   scalar: 32 bytes, canonical (< l)         point: 32 bytes, canonical ristretto255
//   u32/u64: little-endian                    vectors: LE32 count, then the elements
// ZkReader decodes without trusting its input: every read is length-checked, scalars and
// points are validated strictly, vector counts are bounded by the caller and by the bytes
// actually present, and ExpectEnd() rejects trailing bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

void WriteU32(std::vector<uint8_t>* out, uint32_t v);
void WriteU64(std::vector<uint8_t>* out, uint64_t v);
void WriteScalar(std::vector<uint8_t>* out, const Scalar& s);
void WritePoint(std::vector<uint8_t>* out, const Point& p);
void WriteScalars(std::vector<uint8_t>* out, std::span<const Scalar> s);
void WritePoints(std::vector<uint8_t>* out, std::span<const Point> p);

class ZkReader {
 public:
  explicit ZkReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  Result<uint32_t> ReadU32();
  Result<uint64_t> ReadU64();
  Result<Scalar> ReadScalar();
  Result<Point> ReadPoint();
  // n raw bytes (a view into the input).
  Result<std::span<const uint8_t>> ReadBytes(size_t n) { return Take(n, "bytes"); }
  // Vectors whose count exceeds max_count (or the bytes left) are rejected before allocating.
  Result<std::vector<Scalar>> ReadScalars(uint32_t max_count);
  Result<std::vector<Point>> ReadPoints(uint32_t max_count);
  // Corrupt if any bytes are left.
  Status ExpectEnd() const;

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  Result<std::span<const uint8_t>> Take(size_t n, const char* what);
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace veil::zk
