#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "veil/arith.h"
#include "veil/kernels.h"
#include "veil/thread_pool.h"

namespace veil {
namespace {

using kernel_test::AllPaths;
using kernel_test::PathTest;
using kernel_test::PathTestName;
using kernel_test::RandomInt32;

constexpr int8_t kSentinel = 0x55;
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kMultMax = kInt32Max;  // 2^31 - 1

struct RequantCase {
  int64_t m = 1;
  int64_t n = 1;
  int64_t ldc = 1;
  int64_t ldo = 1;
  std::vector<int32_t> c;  // (m - 1) * ldc + n elements
  std::vector<int32_t> mult;
  std::vector<int32_t> shift;
  bool per_channel = false;
  int32_t lo = -127;
  int32_t hi = 127;
};

// arith.h's Requantize, element by element: the definition.
std::vector<int8_t> Definition(const RequantCase& rc) {
  std::vector<int8_t> out(static_cast<size_t>(rc.m * rc.n));
  for (int64_t i = 0; i < rc.m; ++i) {
    for (int64_t j = 0; j < rc.n; ++j) {
      const size_t p = rc.per_channel ? static_cast<size_t>(j) : 0;
      out[static_cast<size_t>(i * rc.n + j)] = static_cast<int8_t>(Requantize(
          rc.c[static_cast<size_t>(i * rc.ldc + j)], rc.mult[p], rc.shift[p], rc.lo, rc.hi));
    }
  }
  return out;
}

// Runs RequantizeRows into an exactly sized, sentinel-filled output; returns it dense and
// checks the stride gaps were not written.
std::vector<int8_t> RunRequantize(KernelPath path, const RequantCase& rc, ThreadPool* pool) {
  std::vector<int8_t> out(static_cast<size_t>((rc.m - 1) * rc.ldo + rc.n), kSentinel);
  RequantizeRows(path, rc.m, rc.n, rc.c.data(), rc.ldc, rc.mult.data(), rc.shift.data(),
                 rc.per_channel, rc.lo, rc.hi, out.data(), rc.ldo, pool);
  std::vector<int8_t> dense(static_cast<size_t>(rc.m * rc.n));
  for (int64_t i = 0; i < rc.m; ++i) {
    for (int64_t j = 0; j < rc.ldo && i * rc.ldo + j < static_cast<int64_t>(out.size()); ++j) {
      const int8_t v = out[static_cast<size_t>(i * rc.ldo + j)];
      if (j < rc.n) {
        dense[static_cast<size_t>(i * rc.n + j)] = v;
      } else {
        EXPECT_EQ(v, kSentinel) << "wrote into the stride gap at row " << i << " col " << j;
      }
    }
  }
  return dense;
}

::testing::AssertionResult Same(const std::vector<int8_t>& got, const std::vector<int8_t>& want,
                                const RequantCase& rc) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      const int64_t row = static_cast<int64_t>(i) / rc.n;
      const int64_t col = static_cast<int64_t>(i) % rc.n;
      const size_t p = rc.per_channel ? static_cast<size_t>(col) : 0;
      return ::testing::AssertionFailure()
             << "at [" << row << ", " << col
             << "]: acc=" << rc.c[static_cast<size_t>(row * rc.ldc + col)] << " mult=" << rc.mult[p]
             << " shift=" << rc.shift[p] << " lo=" << rc.lo << " hi=" << rc.hi << ": got "
             << int{got[i]} << ", want " << int{want[i]};
    }
  }
  return ::testing::AssertionSuccess();
}

class RequantizeTest : public PathTest {
 protected:
  void ExpectMatches(const RequantCase& rc, ThreadPool* pool = nullptr) {
    const std::vector<int8_t> want = Definition(rc);
    EXPECT_TRUE(Same(RunRequantize(KernelPath::kScalar, rc, nullptr), want, rc)) << "scalar path";
    EXPECT_TRUE(Same(RunRequantize(path(), rc, pool), want, rc));
  }
};

TEST_P(RequantizeTest, RandomMatchesDefinition) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int32_t> any_mult(0, kMultMax);
  std::uniform_int_distribution<int32_t> any_shift(0, 62);
  std::uniform_int_distribution<int32_t> typical_shift(28, 40);
  const std::pair<int32_t, int32_t> ranges[] = {
      {-127, 127}, {0, 127}, {-128, 127}, {-5, 9}, {3, 3}};
  int variant = 0;
  for (int64_t m : {1, 2, 5, 23}) {
    for (int64_t n : {1, 3, 4, 7, 8, 9, 15, 16, 17, 33, 100}) {
      for (bool per_channel : {false, true}) {
        for (const auto& [lo, hi] : ranges) {
          ++variant;
          RequantCase rc;
          rc.m = m;
          rc.n = n;
          rc.ldc = n + (variant % 3 == 0 ? 5 : 0);
          rc.ldo = n + (variant % 4 == 0 ? 3 : 0);
          rc.per_channel = per_channel;
          rc.lo = lo;
          rc.hi = hi;
          const size_t channels = per_channel ? static_cast<size_t>(n) : 1;
          // Half the cases with realistic accumulators and shifts (results mostly in
          // range), half with anything in the domain (results mostly clamped).
          const bool wild = variant % 2 == 0;
          rc.c = RandomInt32(rng, static_cast<size_t>((m - 1) * rc.ldc + n),
                             wild ? kInt32Min : -(1 << 20), wild ? kInt32Max : (1 << 20));
          for (size_t i = 0; i < channels; ++i) {
            rc.mult.push_back(wild ? any_mult(rng) : (1 << 30) + any_mult(rng) / 2);
            rc.shift.push_back(wild ? any_shift(rng) : typical_shift(rng));
          }
          std::ostringstream trace;
          trace << "m=" << m << " n=" << n << " per_channel=" << per_channel;
          SCOPED_TRACE(trace.str());
          ExpectMatches(rc);
        }
      }
    }
  }
}

// Hand-checked values at the edges of the domain.
TEST_P(RequantizeTest, EdgeCases) {
  struct Edge {
    int32_t acc;
    int32_t mult;
    int32_t shift;
    int32_t lo;
    int32_t hi;
    int8_t want;
  };
  const Edge edges[] = {
      // shift 0: no rounding, just the product, clamped.
      {5, 1, 0, -127, 127, 5},
      {-7, 3, 0, -127, 127, -21},
      {kInt32Max, kMultMax, 0, -127, 127, 127},
      {kInt32Min, kMultMax, 0, -127, 127, -127},
      // mult 0: always 0 (then clamped).
      {kInt32Max, 0, 0, -127, 127, 0},
      {kInt32Min, 0, 62, -127, 127, 0},
      {12345, 0, 17, 1, 127, 1},
      // Negative halves round up (toward +inf); positive halves too.
      {-1, 1, 1, -127, 127, 0},   // -0.5 -> 0
      {-3, 1, 1, -127, 127, -1},  // -1.5 -> -1
      {-5, 1, 1, -127, 127, -2},  // -2.5 -> -2
      {-6, 1, 2, -127, 127, -1},  // -1.5 -> -1
      {-7, 1, 2, -127, 127, -2},  // -1.75 -> -2
      {1, 1, 1, -127, 127, 1},    // 0.5 -> 1
      {3, 1, 1, -127, 127, 2},    // 1.5 -> 2
      {-254, 1, 1, -127, 127, -127},
      {-256, 1, 1, -128, 127, -128},
      // shift 62 with the largest products: |acc * M| < 2^62, so results are in [-1, 1].
      {kInt32Max, kMultMax, 62, -127, 127, 1},     // (2^31-1)^2 / 2^62 ~ 0.99999 -> 1
      {kInt32Min, kMultMax, 62, -127, 127, -1},    // -2^31 (2^31-1) / 2^62 ~ -0.5 - tiny -> -1
      {kInt32Min, 1 << 30, 62, -127, 127, 0},      // exactly -0.5 -> 0
      {kInt32Min, kMultMax, 61, -127, 127, -2},    // ~ -2 + tiny -> -2
      {kInt32Max, kMultMax, 55, -127, 127, 127},   // ~ 128 -> clamped
      {kInt32Min, kMultMax, 54, -128, 127, -128},  // ~ -256 -> clamped
      // Typical: 1000 * 1.5 / 16 = 93.75 -> 94
      {1000, 3 << 29, 34, -127, 127, 94},
  };
  for (const Edge& e : edges) {
    ASSERT_EQ(Requantize(e.acc, e.mult, e.shift, e.lo, e.hi), e.want)
        << "test table vs arith.h: acc=" << e.acc << " mult=" << e.mult << " shift=" << e.shift;
  }
  // Each edge alone (per tensor), and all of them as the channels of one long row so the
  // vector lanes (and the row tail) see every case.
  for (const Edge& e : edges) {
    RequantCase rc;
    rc.c = {e.acc};
    rc.mult = {e.mult};
    rc.shift = {e.shift};
    rc.lo = e.lo;
    rc.hi = e.hi;
    EXPECT_EQ(RunRequantize(path(), rc, nullptr), std::vector<int8_t>{e.want})
        << "acc=" << e.acc << " mult=" << e.mult << " shift=" << e.shift;
  }
  for (int32_t lo : {-128, -127}) {
    RequantCase rc;
    rc.per_channel = true;
    rc.lo = lo;
    rc.hi = 127;
    for (int rep = 0; rep < 3; ++rep) {
      for (const Edge& e : edges) {
        rc.c.push_back(e.acc);
        rc.mult.push_back(e.mult);
        rc.shift.push_back(e.shift);
      }
    }
    rc.n = static_cast<int64_t>(rc.c.size());
    rc.ldc = rc.ldo = rc.n;
    ExpectMatches(rc);
  }
}

TEST_P(RequantizeTest, ThreadCountsAgree) {
  std::mt19937 rng(5);
  RequantCase rc;
  rc.m = 96;
  rc.n = 1031;
  rc.ldc = rc.n + 1;
  rc.ldo = rc.n + 2;
  rc.per_channel = true;
  rc.c = RandomInt32(rng, static_cast<size_t>((rc.m - 1) * rc.ldc + rc.n), -(1 << 22), 1 << 22);
  rc.mult = RandomInt32(rng, static_cast<size_t>(rc.n), 1 << 30, kMultMax);
  rc.shift = RandomInt32(rng, static_cast<size_t>(rc.n), 30, 40);
  const std::vector<int8_t> want = Definition(rc);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_TRUE(Same(RunRequantize(path(), rc, &pool), want, rc)) << "threads=" << threads;
  }
}

TEST_P(RequantizeTest, EmptyShapesWriteNothing) {
  const int32_t c = 1;
  const int32_t mult = 1;
  const int32_t shift = 0;
  int8_t out = kSentinel;
  RequantizeRows(path(), 0, 1, &c, 1, &mult, &shift, false, -127, 127, &out, 1, nullptr);
  RequantizeRows(path(), 1, 0, &c, 0, &mult, &shift, false, -127, 127, &out, 0, nullptr);
  EXPECT_EQ(out, kSentinel);
}

// AddRequantize against arith.h's definition: every (a, b) pair of int8 values (-128
// included), every length up to 70 for the tails, multipliers and shifts at the edges of
// the domain, and writes exactly n bytes.
TEST_P(RequantizeTest, AddMatchesDefinition) {
  std::mt19937 rng(11);
  std::vector<int8_t> a, b;
  for (int x = -128; x < 128; ++x)
    for (int y = -128; y < 128; ++y) {
      a.push_back(static_cast<int8_t>(x));
      b.push_back(static_cast<int8_t>(y));
    }
  const int64_t n = static_cast<int64_t>(a.size());
  struct Params {
    int32_t ma, mb, shift, lo, hi;
  };
  std::vector<Params> cases = {{kMultMax, kMultMax, 0, -128, 127},  {kMultMax, kMultMax, 62, -127, 127},
                               {0, 0, 5, -127, 127},               {1, 1, 0, -127, 127},
                               {1, 1, 1, -127, 127},               {kMultMax, 1 << 30, 31, 0, 127},
                               {1 << 30, kMultMax, 38, -5, 9},     {12345, 678, 3, 3, 3}};
  for (int i = 0; i < 24; ++i)
    cases.push_back({static_cast<int32_t>(rng() & 0x7FFFFFFF), static_cast<int32_t>(rng() & 0x7FFFFFFF),
                     static_cast<int32_t>(rng() % 63), -127, 127});
  for (const Params& p : cases) {
    std::vector<int8_t> want(static_cast<size_t>(n));
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = static_cast<int8_t>(
          Clamp(RoundShift(int64_t{a[i]} * p.ma + int64_t{b[i]} * p.mb, p.shift), p.lo, p.hi));
    std::vector<int8_t> got(static_cast<size_t>(n) + 1, kSentinel);
    AddRequantize(path(), n, a.data(), p.ma, b.data(), p.mb, p.shift, p.lo, p.hi, got.data());
    EXPECT_EQ(got.back(), kSentinel);
    got.pop_back();
    ASSERT_EQ(got, want) << "ma=" << p.ma << " mb=" << p.mb << " shift=" << p.shift;
    for (int64_t len = 0; len <= 70; ++len) {  // tails, at an odd offset
      std::vector<int8_t> part(static_cast<size_t>(len) + 1, kSentinel);
      AddRequantize(path(), len, a.data() + 1001, p.ma, b.data() + 1001, p.mb, p.shift, p.lo, p.hi,
                    part.data());
      ASSERT_EQ(part.back(), kSentinel) << "len=" << len;
      for (int64_t i = 0; i < len; ++i)
        ASSERT_EQ(part[static_cast<size_t>(i)], want[static_cast<size_t>(1001 + i)]) << "len=" << len;
    }
  }
}

// MaxPool2x2 against its definition: random planes (-128 included) of every size up to
// 70×70 in steps that cover odd sizes and the 32-output chunks of the SIMD path, writing
// exactly the output bytes.
TEST_P(RequantizeTest, MaxPool2x2MatchesDefinition) {
  std::mt19937 rng(12);
  for (int64_t h = 2; h <= 70; h += 3)
    for (int64_t w = 2; w <= 70; w += (w < 10 ? 1 : 7)) {
      const int64_t planes = 1 + (h + w) % 3, oh = h / 2, ow = w / 2;
      std::vector<int8_t> x(static_cast<size_t>(planes * h * w));
      for (int8_t& v : x) v = static_cast<int8_t>(rng());
      std::vector<int8_t> want(static_cast<size_t>(planes * oh * ow));
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            int m = -128;
            for (int64_t di = 0; di < 2; ++di)
              for (int64_t dj = 0; dj < 2; ++dj)
                m = std::max<int>(m, x[static_cast<size_t>((p * h + 2 * i + di) * w + 2 * j + dj)]);
            want[static_cast<size_t>((p * oh + i) * ow + j)] = static_cast<int8_t>(m);
          }
      std::vector<int8_t> got(want.size() + 1, kSentinel);
      MaxPool2x2(path(), planes, h, w, x.data(), got.data());
      EXPECT_EQ(got.back(), kSentinel);
      got.pop_back();
      ASSERT_EQ(got, want) << "h=" << h << " w=" << w;
    }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, RequantizeTest, ::testing::ValuesIn(AllPaths()), PathTestName);

}  // namespace
}  // namespace veil
