#include "veil/zk/ristretto.h"

#include <sodium.h>

#include "constants.h"

namespace veil::zk {
namespace {

// 1 if a == b for small non-negative ints, constant time.
inline uint8_t CtEqInt(uint32_t a, uint32_t b) {
  const uint32_t x = a ^ b;
  return static_cast<uint8_t>(((x | (0u - x)) >> 31) ^ 1u);
}

inline void CachedSelect(CachedPoint* r, const CachedPoint& a, uint8_t choice) {
  r->y_plus_x = FeSelect(r->y_plus_x, a.y_plus_x, choice);
  r->y_minus_x = FeSelect(r->y_minus_x, a.y_minus_x, choice);
  r->z = FeSelect(r->z, a.z, choice);
  r->t2d = FeSelect(r->t2d, a.t2d, choice);
}

// Signed radix-16 digits e[0..63] in [-8, 8) (e[63] in [-8, 8]) with s = sum e[i] 16^i.
// Branch-free.
void SignedRadix16(const Scalar& s, int8_t e[64]) {
  const std::array<uint8_t, 32> b = s.ToBytes();
  for (int i = 0; i < 32; ++i) {
    e[2 * i] = static_cast<int8_t>(b[i] & 15);
    e[2 * i + 1] = static_cast<int8_t>(b[i] >> 4);
  }
  int carry = 0;
  for (int i = 0; i < 63; ++i) {
    int v = e[i] + carry;
    carry = (v + 8) >> 4;
    v -= carry * 16;
    e[i] = static_cast<int8_t>(v);
  }
  e[63] = static_cast<int8_t>(e[63] + carry);
}

const CachedPoint kIdentityCached{Fe::One(), Fe::One(), Fe::One(), Fe::Zero()};

}  // namespace

Point Point::Generator() { return FromExtended(kBaseX, kBaseY, Fe::One(), kBaseT); }

CachedPoint Point::ToCached() const {
  return CachedPoint{FeAdd(y_, x_), FeSub(y_, x_), z_, FeMul(t_, kD2)};
}

Point Point::Add(const CachedPoint& q) const {
  const Fe a = FeMul(FeSub(y_, x_), q.y_minus_x);
  const Fe b = FeMul(FeAdd(y_, x_), q.y_plus_x);
  const Fe c = FeMul(t_, q.t2d);
  const Fe d = FeMul(z_, q.z);
  const Fe d2 = FeAdd(d, d);
  const Fe e = FeSub(b, a), f = FeSub(d2, c), g = FeAdd(d2, c), h = FeAdd(b, a);
  return FromExtended(FeMul(e, f), FeMul(g, h), FeMul(f, g), FeMul(e, h));
}

Point Point::Sub(const CachedPoint& q) const {
  const Fe a = FeMul(FeSub(y_, x_), q.y_plus_x);
  const Fe b = FeMul(FeAdd(y_, x_), q.y_minus_x);
  const Fe c = FeMul(t_, q.t2d);
  const Fe d = FeMul(z_, q.z);
  const Fe d2 = FeAdd(d, d);
  const Fe e = FeSub(b, a), f = FeAdd(d2, c), g = FeSub(d2, c), h = FeAdd(b, a);
  return FromExtended(FeMul(e, f), FeMul(g, h), FeMul(f, g), FeMul(e, h));
}

Point Point::Add(const AffineNielsPoint& q) const {
  const Fe a = FeMul(FeSub(y_, x_), q.y_minus_x);
  const Fe b = FeMul(FeAdd(y_, x_), q.y_plus_x);
  const Fe c = FeMul(t_, q.xy2d);
  const Fe d2 = FeAdd(z_, z_);
  const Fe e = FeSub(b, a), f = FeSub(d2, c), g = FeAdd(d2, c), h = FeAdd(b, a);
  return FromExtended(FeMul(e, f), FeMul(g, h), FeMul(f, g), FeMul(e, h));
}

Point Point::Sub(const AffineNielsPoint& q) const {
  const Fe a = FeMul(FeSub(y_, x_), q.y_plus_x);
  const Fe b = FeMul(FeAdd(y_, x_), q.y_minus_x);
  const Fe c = FeMul(t_, q.xy2d);
  const Fe d2 = FeAdd(z_, z_);
  const Fe e = FeSub(b, a), f = FeAdd(d2, c), g = FeSub(d2, c), h = FeAdd(b, a);
  return FromExtended(FeMul(e, f), FeMul(g, h), FeMul(f, g), FeMul(e, h));
}

Point Point::operator+(const Point& o) const { return Add(o.ToCached()); }
Point Point::operator-(const Point& o) const { return Sub(o.ToCached()); }
Point Point::operator-() const { return FromExtended(FeNeg(x_), y_, z_, FeNeg(t_)); }

Point Point::Double() const {
  // dbl-2008-hwcd with a = -1.
  const Fe a = FeSquare(x_);
  const Fe b = FeSquare(y_);
  const Fe zz = FeSquare(z_);
  const Fe c = FeAdd(zz, zz);
  const Fe e = FeSub(FeSub(FeSquare(FeAdd(x_, y_)), a), b);
  const Fe g = FeSub(b, a);
  const Fe f = FeSub(g, c);
  const Fe h = FeNeg(FeAdd(a, b));
  return FromExtended(FeMul(e, f), FeMul(g, h), FeMul(f, g), FeMul(e, h));
}

Point Point::MulCt(const Scalar& s) const {
  int8_t e[64];
  SignedRadix16(s, e);
  CachedPoint table[8];
  table[0] = ToCached();
  Point multiple = *this;
  for (int i = 1; i < 8; ++i) {
    multiple = multiple.Add(table[0]);
    table[i] = multiple.ToCached();
  }
  Point acc;
  for (int i = 63; i >= 0; --i) {
    acc = acc.Double().Double().Double().Double();
    const int d = e[i];
    const uint32_t neg = static_cast<uint32_t>(d) >> 31;  // 1 if d < 0
    const uint32_t mag =
        static_cast<uint32_t>((d ^ -static_cast<int>(neg)) + static_cast<int>(neg));
    CachedPoint sel = kIdentityCached;
    for (uint32_t j = 0; j < 8; ++j) CachedSelect(&sel, table[j], CtEqInt(mag, j + 1));
    // Negation of a cached point: swap Y+X and Y-X, negate 2dT.
    CachedPoint negated{sel.y_minus_x, sel.y_plus_x, sel.z, FeNeg(sel.t2d)};
    CachedSelect(&sel, negated, static_cast<uint8_t>(neg));
    acc = acc.Add(sel);
  }
  for (int i = 0; i < 64; ++i) e[i] = 0;  // the digits are secret
  return acc;
}

Point Point::MulVartime(const Scalar& s) const {
  int8_t e[64];
  SignedRadix16(s, e);
  CachedPoint table[8];
  table[0] = ToCached();
  Point multiple = *this;
  for (int i = 1; i < 8; ++i) {
    multiple = multiple.Add(table[0]);
    table[i] = multiple.ToCached();
  }
  int top = 63;
  while (top >= 0 && e[top] == 0) --top;
  Point acc;
  for (int i = top; i >= 0; --i) {
    if (i != top) acc = acc.Double().Double().Double().Double();
    if (e[i] > 0) acc = acc.Add(table[e[i] - 1]);
    if (e[i] < 0) acc = acc.Sub(table[-e[i] - 1]);
  }
  return acc;
}

Point MulBase(const Scalar& s) { return Point::Generator().MulCt(s); }

FixedBaseTable::FixedBaseTable(const Point& base) {
  table_.resize(64 * 8);
  Point row = base;  // 16^i·P
  for (int i = 0; i < 64; ++i) {
    const CachedPoint row_cached = row.ToCached();
    Point multiple = row;
    for (int j = 0; j < 8; ++j) {
      table_[static_cast<size_t>(8 * i + j)] = multiple.ToCached();
      if (j < 7) multiple = multiple.Add(row_cached);
    }
    row = row.Double().Double().Double().Double();
  }
}

Point FixedBaseTable::Mul(const Scalar& s) const {
  int8_t e[64];
  SignedRadix16(s, e);
  Point acc;
  for (int i = 0; i < 64; ++i) {
    const int d = e[i];
    const uint32_t neg = static_cast<uint32_t>(d) >> 31;  // 1 if d < 0
    const uint32_t mag =
        static_cast<uint32_t>((d ^ -static_cast<int>(neg)) + static_cast<int>(neg));
    CachedPoint sel = kIdentityCached;
    const CachedPoint* row = table_.data() + 8 * i;
    for (uint32_t j = 0; j < 8; ++j) CachedSelect(&sel, row[j], CtEqInt(mag, j + 1));
    CachedPoint negated{sel.y_minus_x, sel.y_plus_x, sel.z, FeNeg(sel.t2d)};
    CachedSelect(&sel, negated, static_cast<uint8_t>(neg));
    acc = acc.Add(sel);
  }
  for (int i = 0; i < 64; ++i) e[i] = 0;  // the digits are secret
  return acc;
}

bool Point::operator==(const Point& o) const {
  const uint8_t a = FeEqual(FeMul(x_, o.y_), FeMul(y_, o.x_));
  const uint8_t b = FeEqual(FeMul(y_, o.y_), FeMul(x_, o.x_));
  return (a | b) != 0;
}

Result<Point> Point::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != 32)
    return Status::Corrupt("ristretto255 encoding must be 32 bytes, got " +
                           std::to_string(bytes.size()));
  std::array<uint8_t, 32> in;
  for (int i = 0; i < 32; ++i) in[i] = bytes[i];
  const Fe s = Fe::FromBytes(in);
  std::array<uint8_t, 32> canonical;
  s.ToBytes(canonical);
  uint8_t diff = 0;
  for (int i = 0; i < 32; ++i) diff |= canonical[i] ^ in[i];
  // Also rejects a set top bit (FromBytes drops it, so the re-encoding differs).
  if (diff != 0) return Status::Corrupt("ristretto255 encoding is not canonical");
  if (s.IsNegative()) return Status::Corrupt("ristretto255 encoding is negative");

  const Fe ss = FeSquare(s);
  const Fe u1 = FeSub(Fe::One(), ss);
  const Fe u2 = FeAdd(Fe::One(), ss);
  const Fe u2_sqr = FeSquare(u2);
  const Fe v = FeSub(FeNeg(FeMul(kD, FeSquare(u1))), u2_sqr);
  Fe invsqrt;
  const uint8_t was_square = FeSqrtRatioM1(Fe::One(), FeMul(v, u2_sqr), &invsqrt);
  const Fe den_x = FeMul(invsqrt, u2);
  const Fe den_y = FeMul(FeMul(invsqrt, den_x), v);
  const Fe s2 = FeAdd(s, s);
  const Fe x = FeAbs(FeMul(s2, den_x));
  const Fe y = FeMul(u1, den_y);
  const Fe t = FeMul(x, y);
  if ((was_square ^ 1) | t.IsNegative() | y.IsZero())
    return Status::Corrupt("ristretto255 encoding is not a valid group element");
  return FromExtended(x, y, Fe::One(), t);
}

std::array<uint8_t, 32> Point::Encode() const {
  const Fe u1 = FeMul(FeAdd(z_, y_), FeSub(z_, y_));
  const Fe u2 = FeMul(x_, y_);
  Fe invsqrt;
  (void)FeSqrtRatioM1(Fe::One(), FeMul(u1, FeSquare(u2)), &invsqrt);
  const Fe den1 = FeMul(invsqrt, u1);
  const Fe den2 = FeMul(invsqrt, u2);
  const Fe z_inv = FeMul(FeMul(den1, den2), t_);
  const Fe ix0 = FeMul(x_, kSqrtM1);
  const Fe iy0 = FeMul(y_, kSqrtM1);
  const Fe enchanted = FeMul(den1, kInvSqrtAMinusD);
  const uint8_t rotate = FeMul(t_, z_inv).IsNegative();
  const Fe x = FeSelect(x_, iy0, rotate);
  Fe y = FeSelect(y_, ix0, rotate);
  const Fe den_inv = FeSelect(den2, enchanted, rotate);
  y = FeCondNeg(y, FeMul(x, z_inv).IsNegative());
  const Fe s = FeAbs(FeMul(den_inv, FeSub(z_, y)));
  std::array<uint8_t, 32> out;
  s.ToBytes(out);
  return out;
}

std::string Point::ToHex() const {
  static const char* kHex = "0123456789abcdef";
  std::string r;
  for (uint8_t b : Encode()) {
    r.push_back(kHex[b >> 4]);
    r.push_back(kHex[b & 15]);
  }
  return r;
}

namespace {

// RFC 9496 §4.3.4 MAP.
Point Elligator(const Fe& t) {
  const Fe one = Fe::One();
  const Fe minus_one = FeNeg(one);
  const Fe r = FeMul(kSqrtM1, FeSquare(t));
  const Fe u = FeMul(FeAdd(r, one), kOneMinusDSq);
  const Fe v = FeMul(FeSub(minus_one, FeMul(r, kD)), FeAdd(r, kD));
  Fe s;
  const uint8_t was_square = FeSqrtRatioM1(u, v, &s);
  const Fe s_prime = FeNeg(FeAbs(FeMul(s, t)));
  s = FeSelect(s_prime, s, was_square);
  const Fe c = FeSelect(r, minus_one, was_square);
  const Fe n = FeSub(FeMul(FeMul(c, FeSub(r, one)), kDMinusOneSq), v);
  const Fe w0 = FeMul(FeAdd(s, s), v);
  const Fe w1 = FeMul(n, kSqrtAdMinusOne);
  const Fe ss = FeSquare(s);
  const Fe w2 = FeSub(one, ss);
  const Fe w3 = FeAdd(one, ss);
  return Point::FromExtended(FeMul(w0, w3), FeMul(w2, w1), FeMul(w1, w3), FeMul(w0, w2));
}

}  // namespace

Point Point::FromUniformBytes(std::span<const uint8_t, 64> bytes) {
  // Fe::FromBytes ignores bit 255, as the RFC's masking of the top bit requires.
  const Fe t1 = Fe::FromBytes(bytes.subspan<0, 32>());
  const Fe t2 = Fe::FromBytes(bytes.subspan<32, 32>());
  return Elligator(t1) + Elligator(t2);
}

Point Point::HashToGroup(std::span<const uint8_t> message) {
  std::array<uint8_t, 64> h;
  crypto_hash_sha512(h.data(), message.data(), message.size());
  return FromUniformBytes(h);
}

std::vector<AffineNielsPoint> BatchToAffineNiels(std::span<const Point> points) {
  std::vector<Fe> zinv(points.size());
  for (size_t i = 0; i < points.size(); ++i) zinv[i] = points[i].z();
  FeBatchInvert(zinv);
  std::vector<AffineNielsPoint> out(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const Fe x = FeMul(points[i].x(), zinv[i]);
    const Fe y = FeMul(points[i].y(), zinv[i]);
    out[i] = AffineNielsPoint{FeReduce(FeAdd(y, x)), FeSub(y, x), FeMul(FeMul(x, y), kD2)};
  }
  return out;
}

}  // namespace veil::zk
