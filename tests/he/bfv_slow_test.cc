// The large parameter sets: N = 32768 round trips and operations, and pushing N = 16384 to
// the edge of its noise budget.
#include <gtest/gtest.h>

#include "he_test_util.h"

namespace veil::he {
namespace {

using testing::DecryptSlots;
using testing::EncryptSlots;
using testing::Keys;
using testing::Must;
using testing::RandomSlots;

constexpr uint64_t kT = kDefaultPlainModulus;

TEST(BfvSlow, N32768Operations) {
  const auto& k = Keys(ParamSet::kN32768);
  const size_t n = k.ctx->n();
  const auto x = RandomSlots(n, kT, 1), y = RandomSlots(n, kT, 2);
  const Ciphertext cx = EncryptSlots(k, x, false), cy = EncryptSlots(k, y, true);
  EXPECT_EQ(DecryptSlots(k, cx), x);
  EXPECT_EQ(DecryptSlots(k, cy), y);
  Ciphertext p = Must(k.eval->MultiplyRelin(cx, cy, k.rk));
  ASSERT_TRUE(k.eval->RotateRowsInPlace(p, 1, k.gk).ok());
  std::vector<uint64_t> expect(n);
  const size_t row = n / 2;
  for (size_t r = 0; r < 2; ++r) {
    for (size_t i = 0; i < row; ++i) {
      const size_t s = r * row + (i + 1) % row;
      expect[r * row + i] = static_cast<uint64_t>(static_cast<u128>(x[s]) * y[s] % kT);
    }
  }
  EXPECT_EQ(DecryptSlots(k, p), expect);
  EXPECT_GT(Must(k.dec->InvariantNoiseBudget(p)), 0);
}

void PushToTheEdge(ParamSet set, int min_rounds) {
  const auto& k = Keys(set);
  std::vector<uint64_t> plain = RandomSlots(k.ctx->n(), kT, 3);
  Ciphertext c = EncryptSlots(k, plain, true);
  int budget = Must(k.dec->InvariantNoiseBudget(c));
  int rounds = 0;
  while (budget > 0) {
    ASSERT_EQ(DecryptSlots(k, c), plain) << "after " << rounds << " squarings, budget " << budget;
    c = Must(k.eval->MultiplyRelin(c, c, k.rk));
    for (auto& v : plain) v = static_cast<uint64_t>(static_cast<u128>(v) * v % kT);
    budget = Must(k.dec->InvariantNoiseBudget(c));
    ++rounds;
  }
  EXPECT_GE(rounds, min_rounds);
}

TEST(BfvSlow, N16384NoiseEdge) { PushToTheEdge(ParamSet::kN16384, 8); }

}  // namespace
}  // namespace veil::he
