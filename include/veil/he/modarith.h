// Modular arithmetic on primes below 2^61: Barrett reduction, Shoup (precomputed
// quotient) multiplication, and NTT-friendly prime generation.
//
// Every routine here is branch-free on its operands (conditional subtractions are done
// with masks), so that it can be used on secret data without timing leaks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "veil/status.h"

namespace veil::he {

__extension__ typedef unsigned __int128 u128;

// Largest modulus the library accepts: 4q must fit in 64 bits for lazy NTT butterflies.
inline constexpr uint64_t kMaxModulus = (uint64_t{1} << 61) - 1;

// A modulus 2 <= q < 2^61 with its Barrett constant floor(2^128 / q).
class Modulus {
 public:
  Modulus() = default;
  explicit Modulus(uint64_t q);

  uint64_t value() const { return q_; }
  int bit_count() const { return bits_; }
  // floor(2^128 / q) as (high, low) 64-bit words.
  uint64_t ratio_hi() const { return ratio_hi_; }
  uint64_t ratio_lo() const { return ratio_lo_; }

 private:
  uint64_t q_ = 0;
  int bits_ = 0;
  uint64_t ratio_hi_ = 0;
  uint64_t ratio_lo_ = 0;
};

// x - q if x >= q else x, without a branch.
inline uint64_t CondSub(uint64_t x, uint64_t q) {
  const uint64_t d = x - q;
  const uint64_t mask = uint64_t{0} - (d >> 63);  // all ones when x < q (q < 2^63)
  return d + (q & mask);
}

inline uint64_t AddMod(uint64_t a, uint64_t b, const Modulus& m) {
  return CondSub(a + b, m.value());
}
inline uint64_t SubMod(uint64_t a, uint64_t b, const Modulus& m) {
  const uint64_t d = a - b;
  const uint64_t mask = uint64_t{0} - (d >> 63);
  return d + (m.value() & mask);
}
inline uint64_t NegateMod(uint64_t a, const Modulus& m) {
  const uint64_t nonzero = uint64_t{0} - static_cast<uint64_t>(a != 0);
  return (m.value() - a) & nonzero;
}

// x mod q for a full 128-bit x (Barrett; exact result in [0, q)).
inline uint64_t BarrettReduce128(u128 x, const Modulus& m) {
  const uint64_t lo = static_cast<uint64_t>(x);
  const uint64_t hi = static_cast<uint64_t>(x >> 64);
  // Estimate floor(x * ratio / 2^128), dropping the lowest partial product's carry.
  const u128 lo_r1 = static_cast<u128>(lo) * m.ratio_hi();
  const u128 hi_r0 = static_cast<u128>(hi) * m.ratio_lo();
  const uint64_t carry0 = static_cast<uint64_t>((static_cast<u128>(lo) * m.ratio_lo()) >> 64);
  const u128 mid = static_cast<u128>(carry0) + static_cast<uint64_t>(lo_r1) + static_cast<uint64_t>(hi_r0);
  const uint64_t qhat = hi * m.ratio_hi() + static_cast<uint64_t>(lo_r1 >> 64) +
                        static_cast<uint64_t>(hi_r0 >> 64) + static_cast<uint64_t>(mid >> 64);
  const uint64_t r = lo - qhat * m.value();  // in [0, 2q) (estimate is short by at most one)
  return CondSub(r, m.value());
}

// x mod q for a 64-bit x.
inline uint64_t BarrettReduce64(uint64_t x, const Modulus& m) {
  const uint64_t qhat = static_cast<uint64_t>((static_cast<u128>(x) * m.ratio_hi()) >> 64);
  return CondSub(x - qhat * m.value(), m.value());
}

inline uint64_t MulMod(uint64_t a, uint64_t b, const Modulus& m) {
  return BarrettReduce128(static_cast<u128>(a) * b, m);
}

// A multiplicand w < q with its Shoup quotient floor(w * 2^64 / q).
struct ShoupOperand {
  uint64_t value = 0;
  uint64_t quotient = 0;
};

inline ShoupOperand MakeShoup(uint64_t w, const Modulus& m) {
  return {w, static_cast<uint64_t>((static_cast<u128>(w) << 64) / m.value())};
}

// x * w mod q in [0, 2q) for any 64-bit x (Harvey's lazy variant).
inline uint64_t MulShoupLazy(uint64_t x, const ShoupOperand& w, uint64_t q) {
  const uint64_t hi = static_cast<uint64_t>((static_cast<u128>(x) * w.quotient) >> 64);
  return x * w.value - hi * q;
}
inline uint64_t MulShoup(uint64_t x, const ShoupOperand& w, const Modulus& m) {
  return CondSub(MulShoupLazy(x, w, m.value()), m.value());
}

uint64_t PowMod(uint64_t base, uint64_t exponent, const Modulus& m);
// Inverse of a modulo a prime q (a != 0 mod q); 0 if a == 0 mod q.
uint64_t InvModPrime(uint64_t a, const Modulus& m);
// Inverse modulo any modulus via extended Euclid; error if gcd(a, m) != 1.
Result<uint64_t> InvMod(uint64_t a, uint64_t m);

// Deterministic Miller-Rabin, exact for every 64-bit n.
bool IsPrime(uint64_t n);

// The `count` largest primes p < 2^bits with p = 1 (mod 2n), skipping any in `exclude`.
// Error if bits is outside [ceil(log2(2n)) + 2, 61] or not enough primes exist.
Result<std::vector<uint64_t>> GenerateNttPrimes(int bits, size_t n, size_t count,
                                                const std::vector<uint64_t>& exclude = {});

// A primitive 2n-th root of unity modulo prime q (q = 1 mod 2n), the smallest one; error
// if none exists.
Result<uint64_t> FindPrimitiveRoot(uint64_t two_n, const Modulus& m);

}  // namespace veil::he
