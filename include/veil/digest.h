// SHA-256 digests: how veil names models, segments and tensors.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace veil {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::span<const uint8_t> bytes);
std::string DigestToHex(const Digest& digest);
// Parses 64 lowercase or uppercase hex digits; false on anything else.
bool DigestFromHex(const std::string& hex, Digest* out);

// Incremental SHA-256 for data that arrives in pieces.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::span<const uint8_t> bytes);
  void UpdateU64(uint64_t v);  // little-endian, for unambiguous framing
  Digest Finish();

 private:
  void* ctx_;
};

}  // namespace veil
