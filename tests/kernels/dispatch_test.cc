#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "kernels/kernel_test_util.h"
#include "veil/kernels.h"

namespace veil {
namespace {

bool CpuHas(const char* feature) {
  // __builtin_cpu_supports needs a string literal, hence the explicit list.
  const std::string f = feature;
  if (f == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (f == "avx512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
  if (f == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
  return false;
}

TEST(KernelDispatchTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (KernelPath p : kernel_test::AllPaths()) names.insert(KernelPathName(p));
  EXPECT_EQ(names.size(), kernel_test::AllPaths().size());
  EXPECT_STREQ(KernelPathName(KernelPath::kScalar), "scalar");
  EXPECT_STREQ(KernelPathName(KernelPath::kAvx512Vnni), "avx512-vnni");
  EXPECT_STREQ(KernelPathName(static_cast<KernelPath>(200)), "unknown");
}

TEST(KernelDispatchTest, AvailabilityFollowsCpuFeatures) {
  EXPECT_TRUE(KernelPathAvailable(KernelPath::kAuto));
  EXPECT_TRUE(KernelPathAvailable(KernelPath::kScalar));
  EXPECT_EQ(KernelPathAvailable(KernelPath::kAvx2), CpuHas("avx2"));
  EXPECT_EQ(KernelPathAvailable(KernelPath::kAvx512), CpuHas("avx2") && CpuHas("avx512"));
  EXPECT_EQ(KernelPathAvailable(KernelPath::kAvx512Vnni),
            CpuHas("avx2") && CpuHas("avx512") && CpuHas("avx512vnni"));
  EXPECT_FALSE(KernelPathAvailable(static_cast<KernelPath>(200)));
  // Each level implies the one below it.
  if (KernelPathAvailable(KernelPath::kAvx512Vnni)) {
    EXPECT_TRUE(KernelPathAvailable(KernelPath::kAvx512));
  }
  if (KernelPathAvailable(KernelPath::kAvx512)) {
    EXPECT_TRUE(KernelPathAvailable(KernelPath::kAvx2));
  }
  for (KernelPath p : kernel_test::AllPaths()) {
    std::printf("[   INFO   ] %-12s %s\n", KernelPathName(p),
                KernelPathAvailable(p) ? "available" : "not available on this CPU");
  }
}

TEST(KernelDispatchTest, AutoResolvesToFastestAvailablePath) {
  const KernelPath best = ResolveKernelPath(KernelPath::kAuto);
  EXPECT_NE(best, KernelPath::kAuto);
  EXPECT_TRUE(KernelPathAvailable(best));
  KernelPath expected = KernelPath::kScalar;
  for (KernelPath p : {KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni}) {
    if (KernelPathAvailable(p)) expected = p;
  }
  EXPECT_EQ(best, expected);
  for (KernelPath p :
       {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni}) {
    EXPECT_EQ(ResolveKernelPath(p), p);
  }
}

TEST(KernelDispatchDeathTest, UnavailablePathAbortsInsteadOfFaulting) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::vector<int8_t> b(4, 1);
  EXPECT_DEATH((void)PackWeights(static_cast<KernelPath>(200), 1, 4, b.data(), 4),
               "not available on this CPU");
  int32_t c = 0;
  const int32_t mult = 1;
  const int32_t shift = 0;
  int8_t out = 0;
  EXPECT_DEATH(RequantizeRows(static_cast<KernelPath>(200), 1, 1, &c, 1, &mult, &shift, false, -127,
                              127, &out, 1, nullptr),
               "not available on this CPU");
  for (KernelPath p : {KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni}) {
    if (!KernelPathAvailable(p)) {
      EXPECT_DEATH((void)PackWeights(p, 1, 4, b.data(), 4), "not available on this CPU");
    }
  }
}

TEST(KernelDispatchDeathTest, BrokenContractsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::vector<int8_t> b(8, 1);
  const auto packed = PackWeights(KernelPath::kScalar, 2, 4, b.data(), 4);
  const std::vector<int8_t> a(4, 1);
  int32_t c[2] = {};
  EXPECT_DEATH(GemmS8(*packed, 1, a.data(), 4, nullptr, c, 1, nullptr), "ldc < n");
  EXPECT_DEATH((void)PackWeights(KernelPath::kScalar, 2, 4, b.data(), 3), "ldb < k");
  const int32_t mult = 1;
  const int32_t shift = 0;
  int8_t out[2] = {};
  EXPECT_DEATH(RequantizeRows(KernelPath::kScalar, 1, 2, c, 2, &mult, &shift, false, 0, 200, out, 2,
                              nullptr),
               "lo <= hi");
}

}  // namespace
}  // namespace veil
