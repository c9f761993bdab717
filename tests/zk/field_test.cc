// Scalar field F_l and base field F_p: algebra, encodings, and bit-exact agreement with
// libsodium's crypto_core_ristretto255_scalar_* functions.
#include <gtest/gtest.h>

#include <vector>

#include "../../src/zk/constants.h"
#include "veil/zk/fe25519.h"
#include "veil/zk/scalar.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

using testing::FromHex;
using testing::Hex;
using testing::RandomBytes;
using testing::RandomScalar;

constexpr const char* kLHex = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

std::array<uint8_t, 32> Bytes(const Scalar& s) { return s.ToBytes(); }

TEST(ScalarTest, MatchesLibsodiumArithmetic) {
  testing::InitSodium();
  for (int iter = 0; iter < 2000; ++iter) {
    const Scalar a = RandomScalar(), b = RandomScalar();
    const auto ab = Bytes(a), bb = Bytes(b);
    std::array<uint8_t, 32> want;
    crypto_core_ristretto255_scalar_add(want.data(), ab.data(), bb.data());
    ASSERT_EQ(Hex(Bytes(a + b)), Hex(want));
    crypto_core_ristretto255_scalar_sub(want.data(), ab.data(), bb.data());
    ASSERT_EQ(Hex(Bytes(a - b)), Hex(want));
    crypto_core_ristretto255_scalar_mul(want.data(), ab.data(), bb.data());
    ASSERT_EQ(Hex(Bytes(a * b)), Hex(want));
    crypto_core_ristretto255_scalar_negate(want.data(), ab.data());
    ASSERT_EQ(Hex(Bytes(-a)), Hex(want));
    if (iter % 10 == 0) {
      ASSERT_EQ(crypto_core_ristretto255_scalar_invert(want.data(), ab.data()), 0);
      ASSERT_EQ(Hex(Bytes(a.Invert())), Hex(want));
      ASSERT_EQ(a * a.Invert(), Scalar::One());
    }
  }
}

TEST(ScalarTest, WideReductionMatchesLibsodium) {
  for (int iter = 0; iter < 2000; ++iter) {
    std::array<uint8_t, 64> wide = RandomBytes<64>();
    if (iter == 0) wide.fill(0xff);
    std::array<uint8_t, 32> want;
    crypto_core_ristretto255_scalar_reduce(want.data(), wide.data());
    ASSERT_EQ(Hex(Bytes(Scalar::FromBytesWide(wide))), Hex(want));
  }
}

TEST(ScalarTest, StrictDecoding) {
  // Accept exactly the values < l: compare with libsodium's reduction of the zero-padded value.
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::array<uint8_t, 32> b = RandomBytes<32>();
    b[31] &= (iter % 2 == 0) ? 0x1f : 0xff;  // half of them near the range of l
    std::array<uint8_t, 64> wide{};
    std::copy(b.begin(), b.end(), wide.begin());
    std::array<uint8_t, 32> reduced;
    crypto_core_ristretto255_scalar_reduce(reduced.data(), wide.data());
    const bool canonical = reduced == b;
    Result<Scalar> s = Scalar::FromBytes(b);
    ASSERT_EQ(s.ok(), canonical) << Hex(b);
    if (s.ok()) {
      ++accepted;
      ASSERT_EQ(s->ToBytes(), b);
    } else {
      EXPECT_EQ(s.status().code(), StatusCode::kCorrupt);
    }
  }
  EXPECT_GT(accepted, 1000);

  std::array<uint8_t, 32> l = FromHex(kLHex);
  EXPECT_FALSE(Scalar::FromBytes(l).ok());
  l[0] -= 1;  // l - 1
  Result<Scalar> lm1 = Scalar::FromBytes(l);
  ASSERT_TRUE(lm1.ok());
  EXPECT_EQ(*lm1 + Scalar::One(), Scalar::Zero());
  l[0] += 2;  // l + 1
  EXPECT_FALSE(Scalar::FromBytes(l).ok());
  std::array<uint8_t, 32> all_ones;
  all_ones.fill(0xff);
  EXPECT_FALSE(Scalar::FromBytes(all_ones).ok());
  EXPECT_FALSE(Scalar::FromBytes(std::vector<uint8_t>(31, 0)).ok());
  EXPECT_FALSE(Scalar::FromBytes(std::vector<uint8_t>(33, 0)).ok());
}

TEST(ScalarTest, SmallIntegers) {
  EXPECT_EQ(Scalar::FromInt64(-1) + Scalar::One(), Scalar::Zero());
  EXPECT_EQ(Scalar::FromInt64(-128), -Scalar::FromUint64(128));
  EXPECT_EQ(Scalar::FromInt64(INT64_MIN), -Scalar::FromUint64(uint64_t{1} << 63));
  EXPECT_EQ(Scalar::FromInt64(7) * Scalar::FromInt64(-6), Scalar::FromInt64(-42));
  EXPECT_EQ(Scalar::FromUint64(UINT64_MAX).ToLimbs(), (std::array<uint64_t, 4>{UINT64_MAX, 0, 0, 0}));
  // l - 1 is the encoding of -1.
  std::array<uint8_t, 32> lm1 = FromHex(kLHex);
  lm1[0] -= 1;
  EXPECT_EQ(Scalar::FromInt64(-1).ToBytes(), lm1);
  EXPECT_TRUE(Scalar::Zero().IsZero());
  EXPECT_FALSE(Scalar::One().IsZero());
  EXPECT_EQ(Scalar::Zero().Invert(), Scalar::Zero());
  EXPECT_EQ(ScalarSelect(Scalar::One(), Scalar::Zero(), 1), Scalar::Zero());
  EXPECT_EQ(ScalarSelect(Scalar::One(), Scalar::Zero(), 0), Scalar::One());
  // FromLimbs reduces 256-bit values.
  EXPECT_EQ(Scalar::FromLimbs({UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}) + Scalar::One(),
            Scalar::FromLimbs({0, 0, 0, 0}) + Scalar::FromBytesWide([] {
              std::array<uint8_t, 64> w{};
              w[32] = 1;  // 2^256
              return w;
            }()));
}

TEST(ScalarTest, BatchInvert) {
  std::vector<Scalar> v;
  for (int i = 0; i < 50; ++i) v.push_back(i % 7 == 3 ? Scalar::Zero() : RandomScalar());
  std::vector<Scalar> inv = v;
  BatchInvert(inv);
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].IsZero())
      EXPECT_TRUE(inv[i].IsZero());
    else
      EXPECT_EQ(inv[i], v[i].Invert());
  }
  std::vector<Scalar> empty;
  BatchInvert(empty);
}

Fe RandomFe() { return Fe::FromBytes(RandomBytes<32>()); }

std::array<uint8_t, 32> FeBytes(const Fe& f) {
  std::array<uint8_t, 32> b;
  f.ToBytes(b);
  return b;
}

TEST(FieldTest, ConstantsSatisfyTheirDefinitions) {
  const Fe one = Fe::One();
  EXPECT_TRUE(FeEqual(FeSquare(kSqrtM1), FeNeg(one)));
  // d * 121666 = -121665
  EXPECT_TRUE(FeEqual(FeMul(kD, Fe{{121666, 0, 0, 0, 0}}), FeNeg(Fe{{121665, 0, 0, 0, 0}})));
  EXPECT_TRUE(FeEqual(kD2, FeAdd(kD, kD)));
  EXPECT_TRUE(FeEqual(FeSquare(kSqrtAdMinusOne), FeSub(FeNeg(kD), one)));
  EXPECT_TRUE(FeEqual(FeMul(FeSquare(kInvSqrtAMinusD), FeSub(FeNeg(one), kD)), one));
  EXPECT_TRUE(FeEqual(kOneMinusDSq, FeSub(one, FeSquare(kD))));
  EXPECT_TRUE(FeEqual(kDMinusOneSq, FeSquare(FeSub(kD, one))));
  // The base point is on the curve: -x^2 + y^2 = 1 + d x^2 y^2, and t = xy.
  const Fe xx = FeSquare(kBaseX), yy = FeSquare(kBaseY);
  EXPECT_TRUE(FeEqual(FeSub(yy, xx), FeAdd(one, FeMul(kD, FeMul(xx, yy)))));
  EXPECT_TRUE(FeEqual(kBaseT, FeMul(kBaseX, kBaseY)));
}

TEST(FieldTest, Algebra) {
  for (int i = 0; i < 500; ++i) {
    const Fe a = RandomFe(), b = RandomFe(), c = RandomFe();
    EXPECT_TRUE(FeEqual(FeMul(a, FeAdd(b, c)), FeAdd(FeMul(a, b), FeMul(a, c))));
    EXPECT_TRUE(FeEqual(FeMul(FeMul(a, b), c), FeMul(a, FeMul(b, c))));
    EXPECT_TRUE(FeEqual(FeSquare(a), FeMul(a, a)));
    EXPECT_TRUE(FeEqual(FeAdd(FeSub(a, b), b), a));
    EXPECT_TRUE(FeEqual(FeMul(a, FeInvert(a)), Fe::One()));
    Fe r;
    const uint8_t square = FeSqrtRatioM1(a, b, &r);
    const Fe lhs = FeMul(FeSquare(r), b);
    if (square)
      EXPECT_TRUE(FeEqual(lhs, a));
    else
      EXPECT_TRUE(FeEqual(lhs, FeMul(kSqrtM1, a)));
    EXPECT_EQ(r.IsNegative(), 0);
  }
  std::vector<Fe> v;
  for (int i = 0; i < 20; ++i) v.push_back(i == 5 ? Fe::Zero() : RandomFe());
  std::vector<Fe> inv = v;
  FeBatchInvert(inv);
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_TRUE(FeEqual(inv[i], v[i].IsZero() ? Fe::Zero() : FeInvert(v[i])));
}

TEST(FieldTest, CanonicalEncoding) {
  // p = 2^255 - 19 encodes as 0, p + 1 as 1, 2^255 - 1 (= p + 18) as 18.
  std::array<uint8_t, 32> p;
  p.fill(0xff);
  p[31] = 0x7f;
  p[0] = 0xed;
  EXPECT_EQ(FeBytes(Fe::FromBytes(p)), (std::array<uint8_t, 32>{}));
  EXPECT_TRUE(Fe::FromBytes(p).IsZero());
  p[0] = 0xee;
  std::array<uint8_t, 32> one{};
  one[0] = 1;
  EXPECT_EQ(FeBytes(Fe::FromBytes(p)), one);
  p[0] = 0xff;
  std::array<uint8_t, 32> eighteen{};
  eighteen[0] = 18;
  EXPECT_EQ(FeBytes(Fe::FromBytes(p)), eighteen);
  // Canonical values round-trip; the top bit is ignored.
  for (int i = 0; i < 1000; ++i) {
    std::array<uint8_t, 32> b = RandomBytes<32>();
    b[31] &= 0x3f;
    EXPECT_EQ(FeBytes(Fe::FromBytes(b)), b);
    std::array<uint8_t, 32> top = b;
    top[31] |= 0x80;
    EXPECT_EQ(FeBytes(Fe::FromBytes(top)), b);
  }
  // Negation of zero is canonical zero; -1 encodes as p - 1.
  EXPECT_EQ(FeBytes(FeNeg(Fe::Zero())), (std::array<uint8_t, 32>{}));
  std::array<uint8_t, 32> pm1;
  pm1.fill(0xff);
  pm1[31] = 0x7f;
  pm1[0] = 0xec;
  EXPECT_EQ(FeBytes(FeNeg(Fe::One())), pm1);
}

}  // namespace
}  // namespace veil::zk
