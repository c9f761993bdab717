// Randomness for the HE library (internal). Seeds come from the OS CSPRNG (libsodium
// randombytes_buf = getrandom(2)); a seed is expanded with ChaCha20-IETF keyed by the seed,
// the 96-bit nonce carrying a domain tag so that one seed never yields the same stream for
// two purposes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/modarith.h"
#include "veil/he/rns.h"

namespace veil::he::internal {

// Domain tags (nonce contents) for seed expansion.
inline constexpr uint64_t kDomainCiphertextA = 1;  // the "a" of a seeded ciphertext
inline constexpr uint64_t kDomainPublicKeyA = 2;
inline constexpr uint64_t kDomainKSwitchA = 3;     // | (index << 8)
inline constexpr uint64_t kDomainSecret = 4;       // private streams from a fresh OS seed

// Initializes libsodium (idempotent, thread-safe); false if it cannot.
bool InitSodium();
Seed RandomSeed();

class Prng {
 public:
  Prng(const Seed& seed, uint64_t domain);
  ~Prng();
  Prng(const Prng&) = delete;
  Prng& operator=(const Prng&) = delete;
  uint64_t NextU64();

 private:
  void Refill();
  Seed key_;
  std::array<uint8_t, 12> nonce_{};
  uint32_t block_counter_ = 0;
  std::array<uint8_t, 1024> buf_{};
  size_t pos_ = sizeof(buf_);
};

// Uniform residues in every limb (rejection sampling, no modulo bias).
void SampleUniform(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out);
// Uniform ternary {-1, 0, 1} coefficients (same integer in every limb); constant time.
void SampleTernary(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out);
// Centred binomial error, eta = 21 (sigma = sqrt(10.5) = 3.24); constant time.
void SampleError(Prng& prng, std::span<const Modulus> moduli, RnsPoly& out);

// Small signed integer (|v| < q) to its residue mod q, branch-free.
inline uint64_t SignedToResidue(int64_t v, uint64_t q) {
  const uint64_t u = static_cast<uint64_t>(v);
  return u + (q & (uint64_t{0} - (u >> 63)));
}

}  // namespace veil::he::internal
