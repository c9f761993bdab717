// The base field of Curve25519, F_p with p = 2^255 - 19, in radix 2^51 (5 x 51-bit limbs).
//
// Every operation is branch-free and uses no secret-dependent memory index, so field
// arithmetic is constant time whatever the values. Limb bounds (the invariant that keeps
// the 128-bit products from overflowing):
//   - Mul/Square accept limbs < 2^54 and return "reduced" limbs (< 2^51 + 2^13);
//   - Add does not reduce: the sum of two reduced elements has limbs < 2^52 and may be fed
//     to Mul, to Sub (as either operand) or to one more Add;
//   - Sub and Neg accept a subtrahend with limbs < 2^55 and return reduced limbs.
// ToBytes always produces the unique canonical encoding (value < p).
#pragma once

#include <cstdint>
#include <span>

namespace veil::zk {

namespace detail {
__extension__ typedef unsigned __int128 u128;
}  // namespace detail

struct Fe {
  uint64_t v[5];

  static constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

  static constexpr Fe Zero() { return Fe{{0, 0, 0, 0, 0}}; }
  static constexpr Fe One() { return Fe{{1, 0, 0, 0, 0}}; }

  // Loads 32 little-endian bytes, ignoring the top bit (bit 255). Values in [p, 2^255) are
  // accepted and reduced; callers that need canonical input compare ToBytes with the input.
  static Fe FromBytes(std::span<const uint8_t, 32> bytes);
  // Canonical 32-byte little-endian encoding of the value mod p.
  void ToBytes(std::span<uint8_t, 32> out) const;

  // Low bit of the canonical encoding (RFC 9496 IS_NEGATIVE).
  uint8_t IsNegative() const;
  // 1 if the value is 0 mod p, else 0.
  uint8_t IsZero() const;
};

inline Fe FeAdd(const Fe& a, const Fe& b) {
  return Fe{{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3], a.v[4] + b.v[4]}};
}

// Carries so that every limb is < 2^51 + 2^13 (weakly reduced; value unchanged mod p).
inline Fe FeReduce(const Fe& a) {
  uint64_t l0 = a.v[0], l1 = a.v[1], l2 = a.v[2], l3 = a.v[3], l4 = a.v[4];
  const uint64_t c0 = l0 >> 51, c1 = l1 >> 51, c2 = l2 >> 51, c3 = l3 >> 51, c4 = l4 >> 51;
  l0 &= Fe::kMask51;
  l1 &= Fe::kMask51;
  l2 &= Fe::kMask51;
  l3 &= Fe::kMask51;
  l4 &= Fe::kMask51;
  l0 += c4 * 19;
  l1 += c0;
  l2 += c1;
  l3 += c2;
  l4 += c3;
  return Fe{{l0, l1, l2, l3, l4}};
}

inline Fe FeSub(const Fe& a, const Fe& b) {
  // a + 16p - b: 16p has limbs of about 2^55, enough to absorb any b with limbs < 2^55.
  return FeReduce(Fe{{(a.v[0] + 36028797018963664ULL) - b.v[0],
                      (a.v[1] + 36028797018963952ULL) - b.v[1],
                      (a.v[2] + 36028797018963952ULL) - b.v[2],
                      (a.v[3] + 36028797018963952ULL) - b.v[3],
                      (a.v[4] + 36028797018963952ULL) - b.v[4]}});
}

inline Fe FeNeg(const Fe& a) { return FeSub(Fe::Zero(), a); }

inline Fe FeMul(const Fe& a, const Fe& b) {
  using detail::u128;
  const uint64_t b1_19 = b.v[1] * 19, b2_19 = b.v[2] * 19, b3_19 = b.v[3] * 19, b4_19 = b.v[4] * 19;
  const uint64_t a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3], a4 = a.v[4];
  const u128 c0 = (u128)a0 * b.v[0] + (u128)a4 * b1_19 + (u128)a3 * b2_19 + (u128)a2 * b3_19 +
                  (u128)a1 * b4_19;
  u128 c1 = (u128)a1 * b.v[0] + (u128)a0 * b.v[1] + (u128)a4 * b2_19 + (u128)a3 * b3_19 +
            (u128)a2 * b4_19;
  u128 c2 = (u128)a2 * b.v[0] + (u128)a1 * b.v[1] + (u128)a0 * b.v[2] + (u128)a4 * b3_19 +
            (u128)a3 * b4_19;
  u128 c3 = (u128)a3 * b.v[0] + (u128)a2 * b.v[1] + (u128)a1 * b.v[2] + (u128)a0 * b.v[3] +
            (u128)a4 * b4_19;
  u128 c4 = (u128)a4 * b.v[0] + (u128)a3 * b.v[1] + (u128)a2 * b.v[2] + (u128)a1 * b.v[3] +
            (u128)a0 * b.v[4];
  c1 += (uint64_t)(c0 >> 51);
  c2 += (uint64_t)(c1 >> 51);
  c3 += (uint64_t)(c2 >> 51);
  c4 += (uint64_t)(c3 >> 51);
  const uint64_t carry = (uint64_t)(c4 >> 51);
  uint64_t r0 = ((uint64_t)c0 & Fe::kMask51) + carry * 19;
  uint64_t r1 = (uint64_t)c1 & Fe::kMask51;
  r1 += r0 >> 51;
  r0 &= Fe::kMask51;
  return Fe{{r0, r1, (uint64_t)c2 & Fe::kMask51, (uint64_t)c3 & Fe::kMask51,
             (uint64_t)c4 & Fe::kMask51}};
}

inline Fe FeSquare(const Fe& a) {
  using detail::u128;
  const uint64_t a0 = a.v[0], a1 = a.v[1], a2 = a.v[2], a3 = a.v[3], a4 = a.v[4];
  const uint64_t a3_19 = a3 * 19, a4_19 = a4 * 19;
  const uint64_t a0_2 = a0 * 2, a1_2 = a1 * 2;
  const u128 c0 = (u128)a0 * a0 + (u128)(a1 * 2) * a4_19 + (u128)(a2 * 2) * a3_19;
  u128 c1 = (u128)a0_2 * a1 + (u128)(a2 * 2) * a4_19 + (u128)a3 * a3_19;
  u128 c2 = (u128)a0_2 * a2 + (u128)a1 * a1 + (u128)(a3 * 2) * a4_19;
  u128 c3 = (u128)a0_2 * a3 + (u128)a1_2 * a2 + (u128)a4 * a4_19;
  u128 c4 = (u128)a0_2 * a4 + (u128)a1_2 * a3 + (u128)a2 * a2;
  c1 += (uint64_t)(c0 >> 51);
  c2 += (uint64_t)(c1 >> 51);
  c3 += (uint64_t)(c2 >> 51);
  c4 += (uint64_t)(c3 >> 51);
  const uint64_t carry = (uint64_t)(c4 >> 51);
  uint64_t r0 = ((uint64_t)c0 & Fe::kMask51) + carry * 19;
  uint64_t r1 = (uint64_t)c1 & Fe::kMask51;
  r1 += r0 >> 51;
  r0 &= Fe::kMask51;
  return Fe{{r0, r1, (uint64_t)c2 & Fe::kMask51, (uint64_t)c3 & Fe::kMask51,
             (uint64_t)c4 & Fe::kMask51}};
}

// Constant-time select: returns b if choice == 1, a if choice == 0.
inline Fe FeSelect(const Fe& a, const Fe& b, uint8_t choice) {
  const uint64_t mask = 0 - static_cast<uint64_t>(choice);
  Fe r;
  for (int i = 0; i < 5; ++i) r.v[i] = a.v[i] ^ ((a.v[i] ^ b.v[i]) & mask);
  return r;
}

// Constant-time conditional negation (choice == 1 negates).
inline Fe FeCondNeg(const Fe& a, uint8_t choice) { return FeSelect(FeReduce(a), FeNeg(a), choice); }

// |a|: the non-negative one of a and -a (RFC 9496 CT_ABS).
inline Fe FeAbs(const Fe& a) { return FeCondNeg(a, a.IsNegative()); }

// 1 if a == b mod p (constant time).
uint8_t FeEqual(const Fe& a, const Fe& b);

// a^(2^k), k >= 1.
Fe FePow2k(const Fe& a, int k);
// a^(p-2), i.e. 1/a (0 maps to 0). Constant time.
Fe FeInvert(const Fe& a);
// Inverts every element in place with one inversion (Montgomery's trick). Zero elements
// stay zero; which elements are zero may be visible in timing (use for public data only).
void FeBatchInvert(std::span<Fe> elements);

// RFC 9496 SQRT_RATIO_M1: returns 1 and sqrt(u/v) if u/v is square, else 0 and
// sqrt(i*u/v); the root returned is non-negative. Constant time.
uint8_t FeSqrtRatioM1(const Fe& u, const Fe& v, Fe* root);

}  // namespace veil::zk
