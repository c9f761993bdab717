#include "veil/zk/scalar.h"

#include <sodium.h>

#include <cstdio>
#include <vector>

namespace veil::zk {
namespace {

using Limbs = std::array<uint64_t, 4>;
__extension__ typedef unsigned __int128 u128;

constexpr Limbs kL{0x5812631a5cf5d3edULL, 0x14def9dea2f79cd6ULL, 0x0000000000000000ULL,
                   0x1000000000000000ULL};
constexpr Limbs kR1{0xd6ec31748d98951dULL, 0xc6ef5bf4737dcf70ULL, 0xfffffffffffffffeULL,
                    0x0fffffffffffffffULL};  // 2^256 mod l (Montgomery one)
constexpr Limbs kR2{0xa40611e3449c0f01ULL, 0xd00e1ba768859347ULL, 0xceec73d217f5be65ULL,
                    0x0399411b7c309a3dULL};  // 2^512 mod l
constexpr Limbs kR3{0x2a9e49687b83a2dbULL, 0x278324e6aef7f3ecULL, 0x8065dc6c04ec5b65ULL,
                    0x0e530b773599cec7ULL};  // 2^768 mod l
constexpr uint64_t kLInv = 0xd2b51da312547e1bULL;  // -1/l mod 2^64
// l - 2, the Fermat inversion exponent.
constexpr Limbs kLMinus2{0x5812631a5cf5d3ebULL, 0x14def9dea2f79cd6ULL, 0, 0x1000000000000000ULL};

// r = t - l if t >= l else t, for t < 2^256 with the carry-out `hi` (t + hi*2^256 < 2l).
inline Limbs CondSubL(const Limbs& t, uint64_t hi) {
  Limbs r;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 d = (u128)t[i] - kL[i] - borrow;
    r[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1;
  }
  // Keep t if the subtraction borrowed out of the full (hi:t) value.
  const uint64_t keep = 0 - (borrow & (hi ^ 1));
  for (int i = 0; i < 4; ++i) r[i] = (t[i] & keep) | (r[i] & ~keep);
  return r;
}

// Montgomery product a*b/2^256 mod l (CIOS). Requires a < 2^256, b < l; returns < l.
inline Limbs MontMul(const Limbs& a, const Limbs& b) {
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t bi = b[i];
    u128 c = (u128)a[0] * bi + t0;
    t0 = (uint64_t)c;
    c = (u128)a[1] * bi + t1 + (uint64_t)(c >> 64);
    t1 = (uint64_t)c;
    c = (u128)a[2] * bi + t2 + (uint64_t)(c >> 64);
    t2 = (uint64_t)c;
    c = (u128)a[3] * bi + t3 + (uint64_t)(c >> 64);
    t3 = (uint64_t)c;
    c = (u128)t4 + (uint64_t)(c >> 64);
    t4 = (uint64_t)c;
    const uint64_t t5 = (uint64_t)(c >> 64);

    const uint64_t m = t0 * kLInv;
    c = (u128)m * kL[0] + t0;
    c = (u128)m * kL[1] + t1 + (uint64_t)(c >> 64);
    t0 = (uint64_t)c;
    c = (u128)t2 + (uint64_t)(c >> 64);  // kL[2] == 0
    t1 = (uint64_t)c;
    c = (u128)m * kL[3] + t3 + (uint64_t)(c >> 64);
    t2 = (uint64_t)c;
    c = (u128)t4 + (uint64_t)(c >> 64);
    t3 = (uint64_t)c;
    t4 = t5 + (uint64_t)(c >> 64);
  }
  return CondSubL(Limbs{t0, t1, t2, t3}, t4);
}

inline Limbs AddMod(const Limbs& a, const Limbs& b) {
  Limbs s;
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 t = (u128)a[i] + b[i] + carry;
    s[i] = (uint64_t)t;
    carry = (uint64_t)(t >> 64);
  }
  return CondSubL(s, carry);  // a + b < 2l < 2^254, so carry is 0
}

inline Limbs SubMod(const Limbs& a, const Limbs& b) {
  Limbs d;
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 t = (u128)a[i] - b[i] - borrow;
    d[i] = (uint64_t)t;
    borrow = (uint64_t)(t >> 64) & 1;
  }
  const uint64_t mask = 0 - borrow;  // add l back if a < b
  uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 t = (u128)d[i] + (kL[i] & mask) + carry;
    d[i] = (uint64_t)t;
    carry = (uint64_t)(t >> 64);
  }
  return d;
}

Limbs LoadLe(std::span<const uint8_t> bytes) {
  Limbs r{0, 0, 0, 0};
  for (int i = 0; i < 32; ++i) r[i / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (i % 8));
  return r;
}

}  // namespace

Scalar Scalar::One() { return FromMontgomery(kR1); }

Scalar Scalar::FromUint64(uint64_t v) { return FromMontgomery(MontMul(Limbs{v, 0, 0, 0}, kR2)); }

Scalar Scalar::FromInt64(int64_t v) {
  // Branch-free in the sign: |v| = (v ^ s) - s with s = 0 or all ones.
  const uint64_t s = 0 - (static_cast<uint64_t>(v) >> 63);
  const Scalar m = FromUint64((static_cast<uint64_t>(v) ^ s) - s);
  return ScalarSelect(m, -m, static_cast<uint8_t>(s & 1));
}

Scalar Scalar::FromLimbs(const std::array<uint64_t, 4>& limbs) {
  // MontMul accepts a < 2^256: limbs * R^2 / R = limbs * R, the Montgomery form of limbs.
  return FromMontgomery(MontMul(limbs, kR2));
}

Result<Scalar> Scalar::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != 32)
    return Status::Corrupt("scalar encoding must be 32 bytes, got " + std::to_string(bytes.size()));
  const Limbs v = LoadLe(bytes);
  // Canonical iff v < l: compute v - l and require a borrow.
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 t = (u128)v[i] - kL[i] - borrow;
    borrow = (uint64_t)(t >> 64) & 1;
  }
  if (borrow == 0) return Status::Corrupt("scalar encoding is not canonical (value >= l)");
  return FromMontgomery(MontMul(v, kR2));
}

Scalar Scalar::FromBytesWide(std::span<const uint8_t, 64> bytes) {
  const Limbs lo = LoadLe(bytes.subspan(0, 32));
  const Limbs hi = LoadLe(bytes.subspan(32, 32));
  // lo + hi * 2^256: Montgomery forms are lo*R and hi*R^2 = MontMul(hi, R^3).
  return FromMontgomery(AddMod(MontMul(lo, kR2), MontMul(hi, kR3)));
}

Scalar Scalar::Random() {
  std::array<uint8_t, 64> buf;
  randombytes_buf(buf.data(), buf.size());
  const Scalar s = FromBytesWide(buf);
  sodium_memzero(buf.data(), buf.size());
  return s;
}

std::array<uint64_t, 4> Scalar::ToLimbs() const { return MontMul(m_, Limbs{1, 0, 0, 0}); }

std::array<uint8_t, 32> Scalar::ToBytes() const {
  const Limbs v = ToLimbs();
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(v[i / 8] >> (8 * (i % 8)));
  return out;
}

std::string Scalar::ToHex() const {
  const Limbs v = ToLimbs();
  char buf[65];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx", (unsigned long long)v[3],
                (unsigned long long)v[2], (unsigned long long)v[1], (unsigned long long)v[0]);
  return buf;
}

Scalar Scalar::operator+(const Scalar& o) const { return FromMontgomery(AddMod(m_, o.m_)); }
Scalar Scalar::operator-(const Scalar& o) const { return FromMontgomery(SubMod(m_, o.m_)); }
Scalar Scalar::operator*(const Scalar& o) const { return FromMontgomery(MontMul(m_, o.m_)); }

Scalar Scalar::Invert() const {
  // Left-to-right square and multiply over the public exponent l - 2.
  Limbs acc = kR1;
  for (int bit = 252; bit >= 0; --bit) {
    acc = MontMul(acc, acc);
    if ((kLMinus2[bit / 64] >> (bit % 64)) & 1) acc = MontMul(acc, m_);
  }
  return FromMontgomery(acc);
}

bool Scalar::IsZero() const {
  const uint64_t x = m_[0] | m_[1] | m_[2] | m_[3];
  return ((x | (0 - x)) >> 63) == 0;
}

bool Scalar::operator==(const Scalar& o) const {
  uint64_t x = 0;
  for (int i = 0; i < 4; ++i) x |= m_[i] ^ o.m_[i];
  return ((x | (0 - x)) >> 63) == 0;
}

Scalar ScalarSelect(const Scalar& a, const Scalar& b, uint8_t choice) {
  const uint64_t mask = 0 - static_cast<uint64_t>(choice);
  const Limbs& x = a.montgomery_limbs();
  const Limbs& y = b.montgomery_limbs();
  Limbs r;
  for (int i = 0; i < 4; ++i) r[i] = x[i] ^ ((x[i] ^ y[i]) & mask);
  return Scalar::FromMontgomery(r);
}

void BatchInvert(std::span<Scalar> elements) {
  const size_t n = elements.size();
  if (n == 0) return;
  std::vector<Scalar> prefix(n);
  Scalar acc = Scalar::One();
  for (size_t i = 0; i < n; ++i) {
    prefix[i] = acc;
    if (!elements[i].IsZero()) acc *= elements[i];
  }
  Scalar inv = acc.Invert();
  for (size_t i = n; i-- > 0;) {
    if (elements[i].IsZero()) continue;
    const Scalar e = elements[i];
    elements[i] = inv * prefix[i];
    inv *= e;
  }
}

}  // namespace veil::zk
