#include "veil/he/modarith.h"

#include <gtest/gtest.h>

#include <random>

#include "veil/he/rns.h"

namespace veil::he {
namespace {

const uint64_t kModuli[] = {2, 3, 5, 65537, 786433, (uint64_t{1} << 32) - 5,
                            1152921504606830593ULL /* 60-bit NTT prime */,
                            (uint64_t{1} << 61) - 1, (uint64_t{1} << 40), 1000000007};

TEST(ModArith, BarrettMatchesDivision) {
  std::mt19937_64 rng(1);  // test vectors only; the library never uses mt19937
  for (uint64_t q : kModuli) {
    const Modulus m(q);
    const u128 edges[] = {0, 1, q - 1, q, static_cast<u128>(q) * q - 1,
                          static_cast<u128>(q - 1) * (q - 1), ~static_cast<u128>(0),
                          static_cast<u128>(~uint64_t{0}) << 64};
    for (u128 x : edges) EXPECT_EQ(BarrettReduce128(x, m), static_cast<uint64_t>(x % q)) << q;
    for (int i = 0; i < 20000; ++i) {
      const u128 x = (static_cast<u128>(rng()) << 64) | rng();
      ASSERT_EQ(BarrettReduce128(x, m), static_cast<uint64_t>(x % q)) << q;
      const uint64_t y = rng();
      ASSERT_EQ(BarrettReduce64(y, m), y % q) << q;
      const uint64_t a = rng() % q, b = rng() % q;
      ASSERT_EQ(MulMod(a, b, m), static_cast<uint64_t>(static_cast<u128>(a) * b % q));
      ASSERT_EQ(AddMod(a, b, m), static_cast<uint64_t>((static_cast<u128>(a) + b) % q));
      ASSERT_EQ(SubMod(a, b, m), static_cast<uint64_t>((static_cast<u128>(a) + q - b) % q));
      ASSERT_EQ(NegateMod(a, m), (q - a) % q);
    }
    EXPECT_EQ(BarrettReduce64(~uint64_t{0}, m), ~uint64_t{0} % q);
  }
}

TEST(ModArith, ShoupMatchesDivision) {
  std::mt19937_64 rng(2);
  for (uint64_t q : kModuli) {
    if (q < 3) continue;
    const Modulus m(q);
    for (int i = 0; i < 20000; ++i) {
      const uint64_t w = i == 0 ? q - 1 : rng() % q;
      const ShoupOperand op = MakeShoup(w, m);
      const uint64_t x = i == 1 ? ~uint64_t{0} : rng();
      const uint64_t lazy = MulShoupLazy(x, op, q);
      ASSERT_LT(lazy, 2 * q);
      ASSERT_EQ(MulShoup(x, op, m), static_cast<uint64_t>(static_cast<u128>(x) * w % q));
    }
  }
}

TEST(ModArith, PowInverse) {
  const Modulus m(786433);
  EXPECT_EQ(PowMod(3, 0, m), 1u);
  EXPECT_EQ(PowMod(0, 5, m), 0u);
  for (uint64_t a : {1ULL, 2ULL, 12345ULL, 786432ULL}) {
    EXPECT_EQ(MulMod(a, InvModPrime(a, m), m), 1u);
    Result<uint64_t> inv = InvMod(a, 786433);
    ASSERT_TRUE(inv.ok());
    EXPECT_EQ(*inv, InvModPrime(a, m));
  }
  EXPECT_FALSE(InvMod(6, 9).ok());
  EXPECT_FALSE(InvMod(0, 7).ok());
  EXPECT_FALSE(InvMod(3, 1).ok());
}

TEST(ModArith, Primality) {
  EXPECT_FALSE(IsPrime(0));
  EXPECT_FALSE(IsPrime(1));
  EXPECT_TRUE(IsPrime(2));
  EXPECT_TRUE(IsPrime(786433));
  EXPECT_FALSE(IsPrime(561));                        // Carmichael
  EXPECT_FALSE(IsPrime(3215031751ULL));              // strong pseudoprime to 2, 3, 5, 7
  EXPECT_TRUE(IsPrime((uint64_t{1} << 61) - 1));     // Mersenne
  EXPECT_FALSE(IsPrime((uint64_t{1} << 61) + 1));
  EXPECT_TRUE(IsPrime(18446744073709551557ULL));     // largest 64-bit prime
  EXPECT_FALSE(IsPrime(4611686014132420609ULL));     // (2^31 - 1)^2
}

TEST(ModArith, NttPrimes) {
  for (size_t n : {1024u, 8192u, 32768u}) {
    Result<std::vector<uint64_t>> p = GenerateNttPrimes(50, n, 5);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_EQ(p->size(), 5u);
    for (size_t i = 0; i < p->size(); ++i) {
      EXPECT_TRUE(IsPrime((*p)[i]));
      EXPECT_EQ((*p)[i] % (2 * n), 1u);
      EXPECT_EQ(64 - __builtin_clzll((*p)[i]), 50);
      if (i > 0) {
        EXPECT_LT((*p)[i], (*p)[i - 1]);
      }
    }
    Result<std::vector<uint64_t>> q = GenerateNttPrimes(50, n, 2, {(*p)[0]});
    ASSERT_TRUE(q.ok());
    EXPECT_EQ((*q)[0], (*p)[1]);
  }
  EXPECT_FALSE(GenerateNttPrimes(62, 1024, 1).ok());
  EXPECT_FALSE(GenerateNttPrimes(10, 1024, 1).ok());
  EXPECT_FALSE(GenerateNttPrimes(40, 1000, 1).ok());
  EXPECT_FALSE(GenerateNttPrimes(14, 4096, 100).ok());  // not enough of them
}

TEST(ModArith, BigIntegers) {
  const uint64_t f[] = {~uint64_t{0}, ~uint64_t{0}};
  const std::vector<uint64_t> p = BigProduct(f);  // (2^64 - 1)^2 = 2^128 - 2^65 + 1
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], 1u);
  EXPECT_EQ(p[1], ~uint64_t{0} - 1);
  EXPECT_EQ(BigBitCount(p), 128);
  EXPECT_EQ(BigBitCount(std::vector<uint64_t>{0, 0}), 0);
}

}  // namespace
}  // namespace veil::he
