// Framer: unambiguous byte strings for hashing and signing. A NUL-terminated domain tag, then
// fixed-width little-endian integers and length-prefixed variable fields, so that no two
// different field sequences produce the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace veil::consensus {

class Framer {
 public:
  explicit Framer(std::string_view tag) {
    bytes_.assign(tag.begin(), tag.end());
    bytes_.push_back(0);
  }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  template <size_t N>
  void Bytes(const std::array<uint8_t, N>& a) {
    bytes_.insert(bytes_.end(), a.begin(), a.end());
  }
  void String(std::string_view s) {
    U64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace veil::consensus
