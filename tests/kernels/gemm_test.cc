#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "veil/kernels.h"
#include "veil/thread_pool.h"

namespace veil {
namespace {

using kernel_test::AllPaths;
using kernel_test::NaiveGemm;
using kernel_test::PathTest;
using kernel_test::PathTestName;
using kernel_test::RandomInt32;
using kernel_test::RandomInt8;

constexpr int32_t kSentinel = 0x5A5A5A5A;
constexpr int64_t kProductMax = 127 * 127;

// Runs GemmS8 into a C buffer of exactly (m - 1) * ldc + n elements pre-filled with a
// sentinel; returns the dense [m, n] result and checks the stride gaps were not written.
std::vector<int32_t> RunGemm(const PackedWeights& w, int64_t m, const std::vector<int8_t>& a,
                             int64_t lda, const int32_t* bias, int64_t ldc, ThreadPool* pool) {
  const int64_t n = w.n();
  std::vector<int32_t> c(static_cast<size_t>((m - 1) * ldc + n), kSentinel);
  GemmS8(w, m, a.data(), lda, bias, c.data(), ldc, pool);
  std::vector<int32_t> dense(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc && i * ldc + j < static_cast<int64_t>(c.size()); ++j) {
      const int32_t v = c[static_cast<size_t>(i * ldc + j)];
      if (j < n) {
        dense[static_cast<size_t>(i * n + j)] = v;
      } else {
        EXPECT_EQ(v, kSentinel) << "GemmS8 wrote into the stride gap at row " << i << " col " << j;
      }
    }
  }
  return dense;
}

::testing::AssertionResult SameResult(const std::vector<int32_t>& got,
                                      const std::vector<int32_t>& want, int64_t n) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size differs";
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      return ::testing::AssertionFailure()
             << "first mismatch at [" << static_cast<int64_t>(i) / n << ", "
             << static_cast<int64_t>(i) % n << "]: got " << got[i] << ", want " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

class GemmTest : public PathTest {};

TEST_P(GemmTest, PackRecordsShapeAndResolvedPath) {
  const std::vector<int8_t> b(5 * 7, 1);
  const auto packed = PackWeights(path(), 5, 7, b.data(), 7);
  ASSERT_NE(packed, nullptr);
  EXPECT_EQ(packed->path(), ResolveKernelPath(path()));
  EXPECT_NE(packed->path(), KernelPath::kAuto);
  EXPECT_EQ(packed->n(), 5);
  EXPECT_EQ(packed->k(), 7);
}

// Every path, every thread count, bias or not, strided or not, equals the scalar path,
// and the scalar path equals the naive definition.
TEST_P(GemmTest, MatchesScalarOnManyShapes) {
  ThreadPool pool1(1);
  ThreadPool pool2(2);
  ThreadPool pool3(3);
  ThreadPool* const pools[] = {nullptr, &pool1, &pool2, &pool3};
  std::mt19937 rng(20240611);
  int variant = 0;
  for (int64_t m : {1, 2, 3, 7, 64, 65}) {
    for (int64_t n : {1, 5, 16, 17, 64, 100, 256}) {
      for (int64_t k : {1, 3, 4, 9, 12, 15, 16, 17, 31, 32, 33, 64, 100, 784, 1000}) {
        ++variant;
        const int64_t lda = k + (variant % 3 == 0 ? 7 : 0);
        const int64_t ldb = k + (variant % 2 == 0 ? 3 : 0);
        const int64_t ldc = n + (variant % 5 == 0 ? 2 : 0);
        std::ostringstream shape;
        shape << "m=" << m << " n=" << n << " k=" << k << " lda=" << lda << " ldb=" << ldb
              << " ldc=" << ldc;
        SCOPED_TRACE(shape.str());
        // Exactly sized buffers: any read past the last row is caught by ASan.
        const std::vector<int8_t> a = RandomInt8(rng, static_cast<size_t>((m - 1) * lda + k));
        const std::vector<int8_t> b = RandomInt8(rng, static_cast<size_t>((n - 1) * ldb + k));
        const int32_t bias_bound = static_cast<int32_t>(std::min<int64_t>(
            int64_t{1} << 30, std::numeric_limits<int32_t>::max() - k * kProductMax));
        const std::vector<int32_t> bias =
            RandomInt32(rng, static_cast<size_t>(n), -bias_bound, bias_bound);
        const auto scalar = PackWeights(KernelPath::kScalar, n, k, b.data(), ldb);
        const auto packed = PackWeights(path(), n, k, b.data(), ldb);
        for (const int32_t* bias_ptr : {static_cast<const int32_t*>(nullptr), bias.data()}) {
          const std::vector<int32_t> want =
              RunGemm(*scalar, m, a, lda, bias_ptr, ldc, /*pool=*/nullptr);
          ASSERT_TRUE(
              SameResult(want, NaiveGemm(m, n, k, a.data(), lda, b.data(), ldb, bias_ptr), n))
              << "scalar path vs naive definition";
          for (ThreadPool* pool : pools) {
            ASSERT_TRUE(SameResult(RunGemm(*packed, m, a, lda, bias_ptr, ldc, pool), want, n))
                << "threads=" << (pool != nullptr ? pool->threads() : 0)
                << " bias=" << (bias_ptr != nullptr);
          }
        }
      }
    }
  }
}

// All-±127 operands at the largest K the precondition allows, with a bias that puts the
// result on the int32 limit: nothing saturates (vpmaddubsw) or loses a wrapped carry
// (the VNNI path's B + 128 offset overflows int32 in the middle of such a sum).
TEST_P(GemmTest, ExtremeValuesAreExact) {
  ThreadPool pool2(2);
  constexpr int64_t kMaxK = std::numeric_limits<int32_t>::max() / kProductMax;  // 133143
  struct Pattern {
    int8_t a;
    int8_t b;
    bool alternate;  // flip the sign of both operands at odd k: products unchanged
  };
  const Pattern patterns[] = {{127, 127, false},   {127, -127, false}, {-127, 127, false},
                              {-127, -127, false}, {127, 127, true},   {-127, 127, true}};
  for (int64_t k : {int64_t{1000}, int64_t{4093}, kMaxK}) {
    for (const Pattern& p : patterns) {
      const int64_t m = 3;
      const int64_t n = 17;
      std::vector<int8_t> a(static_cast<size_t>(m * k));
      std::vector<int8_t> b(static_cast<size_t>(n * k));
      for (int64_t kk = 0; kk < k; ++kk) {
        const int sign = p.alternate && kk % 2 == 1 ? -1 : 1;
        for (int64_t i = 0; i < m; ++i)
          a[static_cast<size_t>(i * k + kk)] = static_cast<int8_t>(sign * p.a);
        for (int64_t j = 0; j < n; ++j)
          b[static_cast<size_t>(j * k + kk)] = static_cast<int8_t>(sign * p.b);
      }
      const int64_t dot = k * p.a * p.b;
      const int64_t limit = std::numeric_limits<int32_t>::max();
      const int32_t bias_value = static_cast<int32_t>(dot > 0 ? limit - dot : -(limit + dot));
      const std::vector<int32_t> bias(static_cast<size_t>(n), bias_value);
      const int32_t expected = static_cast<int32_t>(dot + bias_value);  // +-(2^31 - 1)
      ASSERT_EQ(expected, dot > 0 ? limit : -limit);
      const auto packed = PackWeights(path(), n, k, b.data(), k);
      for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
        for (const int32_t* bias_ptr : {static_cast<const int32_t*>(nullptr), bias.data()}) {
          const std::vector<int32_t> c = RunGemm(*packed, m, a, k, bias_ptr, n, pool);
          const int32_t want = bias_ptr != nullptr ? expected : static_cast<int32_t>(dot);
          for (size_t i = 0; i < c.size(); ++i) {
            ASSERT_EQ(c[i], want) << "k=" << k << " a=" << int{p.a} << " b=" << int{p.b}
                                  << " alternate=" << p.alternate << " element " << i;
          }
        }
      }
    }
  }
}

// Random signs at full magnitude: every product is +-127^2.
TEST_P(GemmTest, RandomFullMagnitudeMatchesScalar) {
  std::mt19937 rng(7);
  std::bernoulli_distribution coin(0.5);
  const int64_t m = 65;
  const int64_t n = 100;
  const int64_t k = 1001;
  std::vector<int8_t> a(static_cast<size_t>(m * k));
  std::vector<int8_t> b(static_cast<size_t>(n * k));
  for (int8_t& x : a) x = coin(rng) ? 127 : -127;
  for (int8_t& x : b) x = coin(rng) ? 127 : -127;
  const auto scalar = PackWeights(KernelPath::kScalar, n, k, b.data(), k);
  const auto packed = PackWeights(path(), n, k, b.data(), k);
  ThreadPool pool3(3);
  const std::vector<int32_t> want = RunGemm(*scalar, m, a, k, nullptr, n, nullptr);
  EXPECT_TRUE(SameResult(want, NaiveGemm(m, n, k, a.data(), k, b.data(), k, nullptr), n));
  EXPECT_TRUE(SameResult(RunGemm(*packed, m, a, k, nullptr, n, &pool3), want, n));
}

TEST_P(GemmTest, EmptyShapes) {
  const std::vector<int32_t> bias = {5, -6, 7};
  // K = 0: C = bias (or 0).
  {
    const auto packed = PackWeights(path(), 3, 0, nullptr, 0);
    const std::vector<int8_t> a(1, 0);  // not read
    EXPECT_EQ(RunGemm(*packed, 2, a, 0, bias.data(), 3, nullptr),
              (std::vector<int32_t>{5, -6, 7, 5, -6, 7}));
    EXPECT_EQ(RunGemm(*packed, 1, a, 0, nullptr, 3, nullptr), (std::vector<int32_t>{0, 0, 0}));
    std::vector<int32_t> c(4 + 3, kSentinel);
    GemmS8(*packed, 2, /*a=*/nullptr, /*lda=*/5, bias.data(), c.data(), /*ldc=*/4, nullptr);
    EXPECT_EQ(c, (std::vector<int32_t>{5, -6, 7, kSentinel, 5, -6, 7}));
  }
  // N = 0 or M = 0: nothing is written.
  {
    const std::vector<int8_t> b(4, 1);
    const auto empty_n = PackWeights(path(), 0, 4, b.data(), 4);
    const std::vector<int8_t> a(8, 1);
    int32_t c[2] = {kSentinel, kSentinel};
    GemmS8(*empty_n, 2, a.data(), 4, nullptr, c, 0, nullptr);
    const auto one_n = PackWeights(path(), 1, 4, b.data(), 4);
    GemmS8(*one_n, 0, a.data(), 4, nullptr, c, 1, nullptr);
    EXPECT_EQ(c[0], kSentinel);
    EXPECT_EQ(c[1], kSentinel);
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, GemmTest, ::testing::ValuesIn(AllPaths()), PathTestName);

}  // namespace
}  // namespace veil
