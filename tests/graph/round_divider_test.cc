// RoundDivider (src/graph/ops/common.h), the division-free RoundDiv of the norms, against
// arith.h's RoundDiv: exhaustively on small ranges, at every quotient boundary for
// LayerNorm-sized divisors, and at random over the whole domain |a| < 2^61.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "ops/common.h"
#include "veil/arith.h"

namespace veil {
namespace {

TEST(RoundDividerTest, ExhaustiveSmallRanges) {
  for (int64_t b = 1; b <= 1500; ++b) {
    const ops::RoundDivider divide(b);
    for (int64_t a = -20000; a <= 20000; ++a)
      ASSERT_EQ(divide(a), RoundDiv(a, b)) << "a=" << a << " b=" << b;
  }
}

// The norms divide d · 2^12 (|d| <= 254 · 8192) by a root r < 2^21: around every value
// where the quotient changes (2a + b = k · 2b, ± 2) for sampled divisors of that range.
TEST(RoundDividerTest, QuotientBoundariesOfNormRange) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> root(1, (int64_t{1} << 21) - 1);
  const int64_t max_a = int64_t{254} * 8192 * 4096;
  for (int i = 0; i < 2000; ++i) {
    const int64_t b = i < 64 ? (int64_t{1} << (i % 21)) + (i / 21) - 1 : root(rng);
    if (b < 1) continue;
    const ops::RoundDivider divide(b);
    std::uniform_int_distribution<int64_t> quotient(-max_a / b - 1, max_a / b + 1);
    for (int j = 0; j < 200; ++j) {
      // RoundDiv steps where 2a + b is a multiple of 2b, i.e. a = k·b − b/2 (b even) and
      // around it for b odd.
      const int64_t center = quotient(rng) * b - b / 2;
      for (int64_t a = center - 2; a <= center + 2; ++a)
        ASSERT_EQ(divide(a), RoundDiv(a, b)) << "a=" << a << " b=" << b;
    }
  }
}

TEST(RoundDividerTest, RandomOverTheDomain) {
  std::mt19937_64 rng(8);
  const int64_t limit = (int64_t{1} << 61) - 1;
  std::uniform_int_distribution<int64_t> any_a(-limit, limit);
  std::uniform_int_distribution<int> bits(0, 60);
  for (int i = 0; i < 20000; ++i) {
    const int64_t b = std::max<int64_t>(1, static_cast<int64_t>(rng() >> (3 + bits(rng))));
    const ops::RoundDivider divide(b);
    for (int j = 0; j < 50; ++j) {
      const int64_t a = j % 2 == 0 ? any_a(rng) : any_a(rng) >> bits(rng);
      ASSERT_EQ(divide(a), RoundDiv(a, b)) << "a=" << a << " b=" << b;
    }
    for (int64_t a : {-limit, limit, int64_t{0}, int64_t{-1}, b, -b, limit - b, -limit + b})
      ASSERT_EQ(divide(a), RoundDiv(a, b)) << "a=" << a << " b=" << b;
  }
}

}  // namespace
}  // namespace veil
