// The ristretto255 prime-order group (RFC 9496) on top of Edwards25519 in extended
// coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z, curve -x^2 + y^2 = 1 + d x^2 y^2.
//
// A Point is any representative of its ristretto255 class: two Points are equal (operator==)
// when they encode to the same 32 bytes. Encode() always yields the canonical encoding;
// Decode() rejects every non-canonical or invalid string (StatusCode::kCorrupt), exactly
// as libsodium's crypto_core_ristretto255_is_valid_point does.
//
// Timing: Add/Double/Neg/Encode/Decode/FromUniformBytes and operator* (MulCt) are constant
// time. MulVartime is variable time and must only see public scalars.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veil/status.h"
#include "veil/zk/fe25519.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

// (Y+X, Y-X, Z, 2dT): a point prepared as the second operand of an addition.
struct CachedPoint {
  Fe y_plus_x, y_minus_x, z, t2d;
};

// (y+x, y-x, 2dxy) with Z = 1: a normalized point; mixed additions with it are cheapest.
struct AffineNielsPoint {
  Fe y_plus_x, y_minus_x, xy2d;
};

class Point {
 public:
  // The identity.
  Point() : x_(Fe::Zero()), y_(Fe::One()), z_(Fe::One()), t_(Fe::Zero()) {}

  static Point Identity() { return Point(); }
  // The ristretto255 generator (the Ed25519 base point), encoding e2f2ae0a...76.
  static Point Generator();

  // Strict RFC 9496 §4.3.1 decoding.
  static Result<Point> Decode(std::span<const uint8_t> bytes);
  // RFC 9496 §4.3.2 encoding.
  std::array<uint8_t, 32> Encode() const;
  std::string ToHex() const;

  // RFC 9496 §4.3.4 one-way map from 64 uniform bytes (= crypto_core_ristretto255_from_hash).
  static Point FromUniformBytes(std::span<const uint8_t, 64> bytes);
  // Hash to the group: FromUniformBytes(SHA-512(message)).
  static Point HashToGroup(std::span<const uint8_t> message);

  Point operator+(const Point& o) const;
  Point operator-(const Point& o) const;
  Point operator-() const;
  Point& operator+=(const Point& o) { return *this = *this + o; }
  Point& operator-=(const Point& o) { return *this = *this - o; }
  Point Double() const;
  // Constant-time scalar multiplication (fixed signed 4-bit windows, masked table lookup).
  Point operator*(const Scalar& s) const { return MulCt(s); }
  Point MulCt(const Scalar& s) const;
  // Variable-time scalar multiplication, for public scalars only.
  Point MulVartime(const Scalar& s) const;

  // Group equality (RFC 9496 §4.5), constant time.
  bool operator==(const Point& o) const;
  bool operator!=(const Point& o) const { return !(*this == o); }
  bool IsIdentity() const { return *this == Point(); }

  // Mixed-representation arithmetic, used by the MSM.
  CachedPoint ToCached() const;
  Point Add(const CachedPoint& q) const;
  Point Sub(const CachedPoint& q) const;
  Point Add(const AffineNielsPoint& q) const;
  Point Sub(const AffineNielsPoint& q) const;

  const Fe& x() const { return x_; }
  const Fe& y() const { return y_; }
  const Fe& z() const { return z_; }
  const Fe& t() const { return t_; }
  static Point FromExtended(const Fe& x, const Fe& y, const Fe& z, const Fe& t) {
    Point p;
    p.x_ = x;
    p.y_ = y;
    p.z_ = z;
    p.t_ = t;
    return p;
  }

 private:
  Fe x_, y_, z_, t_;
};

// Precomputed multiples (j+1)·16^i·P (i < 64, j < 8) of a fixed point P, for constant-time
// multiplication without doublings: 64 masked table lookups and 64 additions (about 2.5×
// faster than MulCt). 80 KB per point; build once per base (blinding generator h, value
// generator g).
class FixedBaseTable {
 public:
  FixedBaseTable() = default;
  explicit FixedBaseTable(const Point& base);
  // s·P, constant time in s (same digit recoding and masked selection as MulCt).
  Point Mul(const Scalar& s) const;
  bool empty() const { return table_.empty(); }

 private:
  std::vector<CachedPoint> table_;  // table_[8 i + j] = (j+1)·16^i·P
};

// Converts points to normalized (Z = 1) form with one shared field inversion.
std::vector<AffineNielsPoint> BatchToAffineNiels(std::span<const Point> points);
// Scalar multiple of the generator, constant time.
Point MulBase(const Scalar& s);

}  // namespace veil::zk
