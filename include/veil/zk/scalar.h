// The scalar field of ristretto255: F_l with l = 2^252 + 27742317777372353535851937790883648493.
//
// Elements are kept in Montgomery form (a * 2^256 mod l) in four 64-bit limbs, always fully
// reduced (< l). Add, Sub, Mul, Neg and Invert are branch-free with no secret-dependent
// memory access, so they may handle secret values (blinding factors, witnesses).
//
// Encoding: 32 bytes, little-endian, canonical. FromBytes rejects any value >= l
// (StatusCode::kCorrupt), so every scalar has exactly one encoding.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "veil/status.h"

namespace veil::zk {

class Scalar {
 public:
  // Zero.
  constexpr Scalar() : m_{0, 0, 0, 0} {}

  static Scalar Zero() { return Scalar(); }
  static Scalar One();
  static Scalar FromUint64(uint64_t v);
  // Negative values map to l - |v|.
  static Scalar FromInt64(int64_t v);
  // Strict decoding of a canonical 32-byte little-endian encoding.
  static Result<Scalar> FromBytes(std::span<const uint8_t> bytes);
  // Reduces 64 little-endian bytes mod l (the bias is about 2^-260: use for challenges and
  // for random scalars from 64 uniform bytes).
  static Scalar FromBytesWide(std::span<const uint8_t, 64> bytes);
  // Reduces a 256-bit little-endian integer given as four limbs mod l.
  static Scalar FromLimbs(const std::array<uint64_t, 4>& limbs);
  // A uniformly random scalar from the operating system's CSPRNG (libsodium randombytes).
  static Scalar Random();

  std::array<uint8_t, 32> ToBytes() const;
  // The canonical integer value (< l) as four little-endian 64-bit limbs.
  std::array<uint64_t, 4> ToLimbs() const;
  std::string ToHex() const;  // big-endian hex, for test messages

  Scalar operator+(const Scalar& o) const;
  Scalar operator-(const Scalar& o) const;
  Scalar operator*(const Scalar& o) const;
  Scalar operator-() const { return Scalar() - *this; }
  Scalar& operator+=(const Scalar& o) { return *this = *this + o; }
  Scalar& operator-=(const Scalar& o) { return *this = *this - o; }
  Scalar& operator*=(const Scalar& o) { return *this = *this * o; }
  Scalar Square() const { return *this * *this; }

  // 1/x by Fermat (x^(l-2)); the inverse of zero is zero. Constant time.
  Scalar Invert() const;
  // Constant-time comparisons.
  bool IsZero() const;
  bool operator==(const Scalar& o) const;
  bool operator!=(const Scalar& o) const { return !(*this == o); }

  // Raw Montgomery limbs (for hashing into tables; not an encoding).
  const std::array<uint64_t, 4>& montgomery_limbs() const { return m_; }

 private:
  friend Scalar ScalarSelect(const Scalar& a, const Scalar& b, uint8_t choice);
  static Scalar FromMontgomery(const std::array<uint64_t, 4>& m) {
    Scalar s;
    s.m_ = m;
    return s;
  }
  std::array<uint64_t, 4> m_;  // Montgomery form, < l
};

// Inverts every element in place with one field inversion (Montgomery's trick). Zero
// elements stay zero; which elements are zero may be visible in timing.
void BatchInvert(std::span<Scalar> elements);

// Constant-time select: b if choice == 1, else a.
Scalar ScalarSelect(const Scalar& a, const Scalar& b, uint8_t choice);

}  // namespace veil::zk
