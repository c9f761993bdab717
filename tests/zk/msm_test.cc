// Pippenger MSM against the naive sum, for general scalars and the small-integer paths.
#include <gtest/gtest.h>

#include <climits>

#include "veil/zk/msm.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

using testing::RandomPoint;
using testing::RandomScalar;

std::vector<Point> RandomPoints(size_t n) {
  std::vector<Point> v;
  for (size_t i = 0; i < n; ++i) v.push_back(RandomPoint());
  return v;
}

TEST(MsmTest, MatchesNaiveSum) {
  ThreadPool pool(2);
  for (size_t n : {0, 1, 2, 3, 17, 64, 300, 700}) {
    const std::vector<Point> points = RandomPoints(n);
    std::vector<Scalar> scalars;
    for (size_t i = 0; i < n; ++i) {
      // Mix full-size, small, zero, one and minus one.
      switch (i % 5) {
        case 0: scalars.push_back(RandomScalar()); break;
        case 1: scalars.push_back(Scalar::FromUint64(i)); break;
        case 2: scalars.push_back(Scalar::Zero()); break;
        case 3: scalars.push_back(Scalar::FromInt64(-1)); break;
        default: scalars.push_back(RandomScalar()); break;
      }
    }
    const Point want = MsmNaive(scalars, points);
    EXPECT_EQ(Msm(scalars, points), want) << n;
    EXPECT_EQ(Msm(scalars, points, &pool), want) << n;
  }
}

TEST(MsmTest, AllWindowWidthsAgree) {
  // Exercise every window width through the chooser's range by varying n.
  EXPECT_GE(MsmWindowBits(1, 253), 1);
  EXPECT_LE(MsmWindowBits(size_t{1} << 24, 253), 16);
  EXPECT_LT(MsmWindowBits(1 << 10, 253), MsmWindowBits(1 << 20, 253));
  EXPECT_EQ(MsmWindowBits(1 << 20, 8), 9);  // int8 data: one window
}

TEST(MsmTest, SmallIntegerPaths) {
  ThreadPool pool(2);
  const size_t n = 600;
  const std::vector<Point> points = RandomPoints(n);
  const std::vector<AffineNielsPoint> affine = BatchToAffineNiels(points);
  std::vector<int8_t> v8(n);
  std::vector<int32_t> v32(n);
  std::vector<int64_t> v64(n);
  auto& rng = testing::Rng();
  for (size_t i = 0; i < n; ++i) {
    v8[i] = static_cast<int8_t>(rng());
    v32[i] = static_cast<int32_t>(rng());
    v64[i] = static_cast<int64_t>(rng());
  }
  v8[0] = INT8_MIN, v8[1] = INT8_MAX, v8[2] = 0, v8[3] = -1;
  v32[0] = INT32_MIN, v32[1] = INT32_MAX, v32[2] = 0;
  v64[0] = INT64_MIN, v64[1] = INT64_MAX, v64[2] = 0;
  auto scalars = [](const auto& v) {
    std::vector<Scalar> s;
    for (auto x : v) s.push_back(Scalar::FromInt64(x));
    return s;
  };
  const Point want8 = MsmNaive(scalars(v8), points);
  EXPECT_EQ(MsmInt8(v8, affine), want8);
  EXPECT_EQ(MsmInt8(v8, affine, &pool), want8);
  const Point want32 = MsmNaive(scalars(v32), points);
  EXPECT_EQ(MsmInt32(v32, affine), want32);
  EXPECT_EQ(MsmInt32(v32, affine, &pool), want32);
  const Point want64 = MsmNaive(scalars(v64), points);
  EXPECT_EQ(MsmInt64(v64, affine), want64);
  // Narrow ranges pick narrow windows; all zeros give the identity.
  std::vector<int8_t> tiny(n);
  for (size_t i = 0; i < n; ++i) tiny[i] = static_cast<int8_t>(static_cast<int>(i % 3) - 1);
  EXPECT_EQ(MsmInt8(tiny, affine), MsmNaive(scalars(tiny), points));
  EXPECT_TRUE(MsmInt8(std::vector<int8_t>(n, 0), affine).IsIdentity());
}

TEST(MsmTest, LengthMismatchThrows) {
  const std::vector<Point> points = RandomPoints(2);
  const std::vector<Scalar> scalars(3);
  EXPECT_THROW((void)Msm(scalars, points), std::invalid_argument);
}

}  // namespace
}  // namespace veil::zk
