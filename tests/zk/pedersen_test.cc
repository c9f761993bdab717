// Pedersen vector commitments: transparent generators, opening, binding sanity, homomorphism.
#include <gtest/gtest.h>

#include <set>

#include "veil/zk/pedersen.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

using testing::RandomScalar;

TEST(PedersenTest, GeneratorsAreDeterministicDistinctAndDomainSeparated) {
  ThreadPool pool(2);
  const PedersenGenerators a = PedersenGenerators::Derive("test", 64);
  const PedersenGenerators b = PedersenGenerators::Derive("test", 64, &pool);
  const PedersenGenerators c = PedersenGenerators::Derive("other", 64);
  std::set<std::string> seen;
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(a.g()[i], b.g()[i]);
    EXPECT_EQ(a.g()[i], PedersenGenerators::DeriveG("test", i));
    EXPECT_NE(a.g()[i], c.g()[i]);
    EXPECT_FALSE(a.g()[i].IsIdentity());
    seen.insert(a.g()[i].ToHex());
  }
  seen.insert(a.h().ToHex());
  EXPECT_EQ(seen.size(), 65u);
  EXPECT_EQ(a.h(), PedersenGenerators::DeriveH("test"));
  EXPECT_NE(a.h(), c.h());
  // The prefix property: more generators extend, never change, the earlier ones.
  const PedersenGenerators longer = PedersenGenerators::Derive("test", 100);
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(longer.g()[i], a.g()[i]);
}

TEST(PedersenTest, OpenAndBind) {
  const PedersenGenerators gens = PedersenGenerators::Derive("test", 32);
  std::vector<Scalar> m;
  for (int i = 0; i < 32; ++i) m.push_back(RandomScalar());
  const Scalar r = Scalar::Random();
  Result<Point> c = PedersenCommit(gens, m, r);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(PedersenVerifyOpening(gens, *c, m, r));
  EXPECT_FALSE(PedersenVerifyOpening(gens, *c, m, r + Scalar::One()));
  for (size_t i = 0; i < m.size(); ++i) {
    std::vector<Scalar> m2 = m;
    m2[i] += Scalar::One();
    EXPECT_FALSE(PedersenVerifyOpening(gens, *c, m2, r)) << i;
    EXPECT_NE(*PedersenCommit(gens, m2, r), *c);
  }
  // Swapping two entries changes the commitment.
  std::vector<Scalar> swapped = m;
  std::swap(swapped[0], swapped[1]);
  EXPECT_NE(*PedersenCommit(gens, swapped, r), *c);
  // Hiding randomness: the same message commits differently with fresh r.
  EXPECT_NE(*PedersenCommit(gens, m, Scalar::Random()), *c);
  // Too long a message is an error.
  std::vector<Scalar> too_long(33);
  Result<Point> bad = PedersenCommit(gens, too_long, r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(PedersenTest, Homomorphism) {
  const PedersenGenerators gens = PedersenGenerators::Derive("test", 40);
  std::vector<Scalar> a, b, sum;
  for (int i = 0; i < 40; ++i) {
    a.push_back(RandomScalar());
    b.push_back(RandomScalar());
    sum.push_back(a.back() + b.back());
  }
  const Scalar ra = Scalar::Random(), rb = Scalar::Random();
  EXPECT_EQ(*PedersenCommit(gens, a, ra) + *PedersenCommit(gens, b, rb),
            *PedersenCommit(gens, sum, ra + rb));
  const Scalar k = RandomScalar();
  std::vector<Scalar> ka;
  for (const Scalar& x : a) ka.push_back(k * x);
  EXPECT_EQ(PedersenCommit(gens, a, ra)->MulVartime(k), *PedersenCommit(gens, ka, k * ra));
}

TEST(PedersenTest, SmallIntegerPathsAgree) {
  ThreadPool pool(2);
  const size_t n = 1000;
  const PedersenGenerators gens = PedersenGenerators::Derive("test", n, &pool);
  std::vector<int8_t> m8(n);
  std::vector<int32_t> m32(n);
  std::vector<Scalar> s8, s32;
  for (size_t i = 0; i < n; ++i) {
    m8[i] = static_cast<int8_t>(testing::Rng()());
    m32[i] = static_cast<int32_t>(testing::Rng()());
    s8.push_back(Scalar::FromInt64(m8[i]));
    s32.push_back(Scalar::FromInt64(m32[i]));
  }
  const Scalar r = Scalar::Random();
  const Point c8 = *PedersenCommitInt8(gens, m8, r, &pool);
  EXPECT_EQ(c8, *PedersenCommit(gens, s8, r));
  EXPECT_TRUE(PedersenVerifyOpening(gens, c8, s8, r));
  EXPECT_EQ(*PedersenCommitInt32(gens, m32, r), *PedersenCommit(gens, s32, r, &pool));
  // A shorter vector uses a prefix of the generators.
  EXPECT_EQ(*PedersenCommitInt8(gens, std::span<const int8_t>(m8).first(10), r),
            *PedersenCommit(gens, std::span<const Scalar>(s8).first(10), r));
  // Changing one int8 value by one changes the commitment.
  std::vector<int8_t> m8b = m8;
  m8b[500] = static_cast<int8_t>(m8b[500] ^ 1);
  EXPECT_NE(*PedersenCommitInt8(gens, m8b, r), c8);
}

}  // namespace
}  // namespace veil::zk
