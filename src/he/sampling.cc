#include "sampling.h"

#include <sodium.h>

#include <cstring>

namespace veil::he::internal {

bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Seed RandomSeed() {
  Seed s;
  randombytes_buf(s.data(), s.size());
  return s;
}

Prng::Prng(const Seed& seed, uint64_t domain) : key_(seed) {
  for (int i = 0; i < 8; ++i) nonce_[i] = static_cast<uint8_t>(domain >> (8 * i));
}

Prng::~Prng() {
  sodium_memzero(key_.data(), key_.size());
  sodium_memzero(buf_.data(), buf_.size());
}

void Prng::Refill() {
  std::memset(buf_.data(), 0, buf_.size());
  crypto_stream_chacha20_ietf_xor_ic(buf_.data(), buf_.data(), buf_.size(), nonce_.data(),
                                     block_counter_, key_.data());
  block_counter_ += static_cast<uint32_t>(buf_.size() / 64);
  pos_ = 0;
}

uint64_t Prng::NextU64() {
  if (pos_ + 8 > buf_.size()) Refill();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(buf_[pos_ + i]) << (8 * i);
  pos_ += 8;
  return v;
}

void SampleUniform(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out) {
  const size_t n = out.n();
  for (size_t l = 0; l < out.limbs(); ++l) {
    const uint64_t q = moduli[l].value();
    const uint64_t mask = moduli[l].bit_count() >= 64 ? ~uint64_t{0}
                                                      : (uint64_t{1} << moduli[l].bit_count()) - 1;
    uint64_t* dst = out.limb(l);
    for (size_t i = 0; i < n; ++i) {
      uint64_t v;
      do {
        v = prng.NextU64() & mask;
      } while (v >= q);  // public data: rejection reveals nothing secret
      dst[i] = v;
    }
  }
}

void SampleTernary(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out) {
  const size_t n = out.n();
  for (size_t i = 0; i < n; ++i) {
    // r mod 3 for a 64-bit uniform r: bias 2^-64; division by a constant compiles to a
    // multiplication (no data-dependent timing).
    const int64_t v = static_cast<int64_t>(prng.NextU64() % 3) - 1;
    for (size_t l = 0; l < out.limbs(); ++l) out.limb(l)[i] = SignedToResidue(v, moduli[l].value());
  }
}

namespace {
// Portable branch-free population count (avoids libgcc's table-based fallback).
inline uint64_t PopCount(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return (x * 0x0101010101010101ULL) >> 56;
}
}  // namespace

void SampleError(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out) {
  const size_t n = out.n();
  constexpr uint64_t kMask21 = (uint64_t{1} << 21) - 1;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = prng.NextU64();
    const int64_t v =
        static_cast<int64_t>(PopCount(r & kMask21)) - static_cast<int64_t>(PopCount((r >> 21) & kMask21));
    for (size_t l = 0; l < out.limbs(); ++l) out.limb(l)[i] = SignedToResidue(v, moduli[l].value());
  }
}

}  // namespace veil::he::internal
