// Helpers shared by the zk tests: deterministic randomness and libsodium conversions.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <random>

#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"

namespace veil::zk::testing {

inline std::mt19937_64& Rng() {
  static std::mt19937_64 rng(0x5eed5eedULL);
  return rng;
}

template <size_t N>
std::array<uint8_t, N> RandomBytes() {
  std::array<uint8_t, N> b;
  for (auto& x : b) x = static_cast<uint8_t>(Rng()());
  return b;
}

inline Scalar RandomScalar() { return Scalar::FromBytesWide(RandomBytes<64>()); }
inline Point RandomPoint() { return Point::FromUniformBytes(RandomBytes<64>()); }

inline std::string Hex(std::span<const uint8_t> b) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(k[x >> 4]);
    s.push_back(k[x & 15]);
  }
  return s;
}

inline std::array<uint8_t, 32> FromHex(const char* hex) {
  std::array<uint8_t, 32> out{};
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(nib(hex[2 * i]) * 16 + nib(hex[2 * i + 1]));
  return out;
}

inline void InitSodium() {
  static const int r = sodium_init();
  (void)r;
}

}  // namespace veil::zk::testing
