#include "veil/arith.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace veil {
namespace {

TEST(ArithTest, RoundShiftIsRoundHalfUp) {
  EXPECT_EQ(RoundShift(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundShift(-5, 1), -2);  // -2.5 -> -2 (half rounds toward +inf)
  EXPECT_EQ(RoundShift(-6, 1), -3);
  EXPECT_EQ(RoundShift(7, 2), 2);    // 1.75 -> 2
  EXPECT_EQ(RoundShift(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(RoundShift(123, 0), 123);
}

TEST(ArithTest, RoundShiftMatchesRationalDefinition) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const int s = 1 + static_cast<int>(rng() % 40);
    const int64_t v = static_cast<int64_t>(rng() % (int64_t{1} << 50)) - (int64_t{1} << 49);
    // floor(v / 2^s + 1/2) computed with long double on values exact in 64-bit mantissa.
    const long double exact = std::floor(static_cast<long double>(v) / std::ldexp(1.0L, s) + 0.5L);
    ASSERT_EQ(RoundShift(v, s), static_cast<int64_t>(exact)) << v << " >> " << s;
  }
}

TEST(ArithTest, RoundDivIsRoundHalfUp) {
  EXPECT_EQ(RoundDiv(5, 2), 3);
  EXPECT_EQ(RoundDiv(-5, 2), -2);
  EXPECT_EQ(RoundDiv(7, 3), 2);
  EXPECT_EQ(RoundDiv(-7, 3), -2);
  EXPECT_EQ(RoundDiv(-8, 3), -3);
  EXPECT_EQ(RoundDiv(0, 9), 0);
  for (int64_t a = -50; a <= 50; ++a)
    for (int64_t b = 1; b <= 12; ++b)
      ASSERT_EQ(RoundDiv(a, b), static_cast<int64_t>(std::floor(static_cast<double>(a) / b + 0.5)))
          << a << "/" << b;
}

TEST(ArithTest, ISqrtIsFloorSqrt) {
  for (int64_t v = 0; v < 100000; ++v) {
    const int64_t r = ISqrt(v);
    ASSERT_LE(r * r, v);
    ASSERT_GT((r + 1) * (r + 1), v);
  }
  const int64_t big = (int64_t{1} << 62) - 1;
  const int64_t r = ISqrt(big);
  EXPECT_LE(r * r, big);
  EXPECT_GT((r + 1) * (r + 1), big);
}

TEST(ArithTest, RequantizeClamps) {
  EXPECT_EQ(Requantize(1000, 1 << 30, 31, -127, 127), 127);  // 1000 * 0.5 = 500 -> 127
  EXPECT_EQ(Requantize(-101, 1 << 30, 31, -127, 127), -50);  // -50.5 -> -50
  EXPECT_EQ(Requantize(-101, 1 << 30, 31, 0, 127), 0);       // fused ReLU
}

}  // namespace
}  // namespace veil
