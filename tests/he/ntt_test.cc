#include "veil/he/ntt.h"

#include <gtest/gtest.h>

#include <random>

#include "veil/he/rns.h"

namespace veil::he {
namespace {

__extension__ typedef __int128 i128;

std::vector<uint64_t> Schoolbook(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b,
                                 const Modulus& m) {
  const size_t n = a.size();
  std::vector<uint64_t> c(n, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const uint64_t p = MulMod(a[i], b[j], m);
      const size_t k = i + j;
      if (k < n) {
        c[k] = AddMod(c[k], p, m);
      } else {
        c[k - n] = SubMod(c[k - n], p, m);  // X^N = -1
      }
    }
  }
  return c;
}

TEST(Ntt, MatchesSchoolbookNegacyclic) {
  std::mt19937_64 rng(3);
  for (size_t n : {2u, 8u, 64u, 1024u, 2048u}) {
    for (int bits : {20, 45, 61}) {
      Result<std::vector<uint64_t>> primes = GenerateNttPrimes(bits, n, 1);
      ASSERT_TRUE(primes.ok());
      const Modulus m((*primes)[0]);
      Result<NttTables> t = NttTables::Create(n, m);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      std::vector<uint64_t> a(n), b(n);
      for (size_t i = 0; i < n; ++i) {
        a[i] = rng() % m.value();
        b[i] = i == 0 ? m.value() - 1 : rng() % m.value();  // include the largest residue
      }
      const std::vector<uint64_t> expect = Schoolbook(a, b, m);
      std::vector<uint64_t> fa = a, fb = b;
      t->Forward(fa.data());
      t->Forward(fb.data());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_LT(fa[i], m.value());
        fa[i] = MulMod(fa[i], fb[i], m);
      }
      t->Inverse(fa.data());
      EXPECT_EQ(fa, expect) << "n=" << n << " bits=" << bits;
    }
  }
}

TEST(Ntt, RoundTripUpTo32768) {
  std::mt19937_64 rng(4);
  for (size_t n = 1024; n <= kMaxDegree; n <<= 1) {
    Result<std::vector<uint64_t>> primes = GenerateNttPrimes(61, n, 1);
    ASSERT_TRUE(primes.ok());
    const Modulus m((*primes)[0]);
    Result<NttTables> t = NttTables::Create(n, m);
    ASSERT_TRUE(t.ok());
    std::vector<uint64_t> a(n);
    for (auto& v : a) v = rng() % m.value();
    a[0] = m.value() - 1;
    std::vector<uint64_t> f = a;
    t->Forward(f.data());
    // Evaluation at psi^(2 bitrev(j) + 1): check one point directly.
    uint64_t point = PowMod(t->psi(), 2 * ReverseBits(1, __builtin_ctzll(n)) + 1, m), acc = 0,
             power = 1;
    for (size_t i = 0; i < n; ++i) {
      acc = AddMod(acc, MulMod(a[i], power, m), m);
      power = MulMod(power, point, m);
    }
    EXPECT_EQ(f[1], acc);
    t->Inverse(f.data());
    EXPECT_EQ(f, a) << n;
  }
}

TEST(Ntt, RejectsBadParameters) {
  EXPECT_FALSE(NttTables::Create(1000, Modulus(786433)).ok());   // not a power of two
  EXPECT_FALSE(NttTables::Create(65536, Modulus(786433)).ok());  // too large
  EXPECT_FALSE(NttTables::Create(1024, Modulus(786435)).ok());   // not prime
  EXPECT_FALSE(NttTables::Create(8192, Modulus(12289)).ok());    // 12289 != 1 mod 16384
  EXPECT_FALSE(NttTables::Create(1024, Modulus(2)).ok());
  EXPECT_TRUE(NttTables::Create(16384, Modulus(786433)).ok());
}

TEST(BaseConverter, ExactCentredConversion) {
  std::mt19937_64 rng(5);
  const size_t n = 64;
  Result<std::vector<uint64_t>> a = GenerateNttPrimes(50, n, 3);
  Result<std::vector<uint64_t>> b = GenerateNttPrimes(40, n, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<Modulus> ma, mb;
  for (uint64_t q : *a) ma.emplace_back(q);
  for (uint64_t q : *b) mb.emplace_back(q);
  Result<BaseConverter> c = BaseConverter::Create(ma, mb);
  ASSERT_TRUE(c.ok());
  // Values x with |x| < 2^100 (well inside A/2 ~ 2^149): residues in A -> residues in B.
  std::vector<uint64_t> in(3 * n), out(2 * n);
  std::vector<i128> xs(n);
  for (size_t i = 0; i < n; ++i) {
    i128 x = static_cast<i128>((static_cast<u128>(rng()) << 36) ^ rng());
    if (i & 1) x = -x;
    if (i == 0) x = 0;
    if (i == 2) x = -1;
    xs[i] = x;
    for (size_t l = 0; l < 3; ++l) {
      i128 r = x % static_cast<i128>((*a)[l]);
      if (r < 0) r += (*a)[l];
      in[l * n + i] = static_cast<uint64_t>(r);
    }
  }
  c->Convert(in.data(), out.data(), n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t l = 0; l < 2; ++l) {
      i128 r = xs[i] % static_cast<i128>((*b)[l]);
      if (r < 0) r += (*b)[l];
      EXPECT_EQ(out[l * n + i], static_cast<uint64_t>(r)) << i;
    }
  }
}

}  // namespace
}  // namespace veil::he
