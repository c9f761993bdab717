// Shared helpers for the kernel tests: the path parameter, seeded random data and the
// naive GEMM definition (int64 sums, no packing) that the scalar path is checked against.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "veil/kernels.h"

namespace veil {

// gtest prints parameters with this (found by ADL): "avx2" instead of a raw byte.
inline void PrintTo(KernelPath path, std::ostream* os) { *os << KernelPathName(path); }

}  // namespace veil

namespace veil::kernel_test {

inline const std::vector<KernelPath>& AllPaths() {
  static const std::vector<KernelPath> paths = {KernelPath::kAuto, KernelPath::kScalar,
                                                KernelPath::kAvx2, KernelPath::kAvx512,
                                                KernelPath::kAvx512Vnni};
  return paths;
}

// gtest parameter names: "avx512-vnni" -> "avx512_vnni".
inline std::string PathTestName(const ::testing::TestParamInfo<KernelPath>& info) {
  std::string name = KernelPathName(info.param);
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

// Fixture base: skips the test when the CPU cannot run the path.
class PathTest : public ::testing::TestWithParam<KernelPath> {
 protected:
  void SetUp() override {
    if (!KernelPathAvailable(GetParam())) {
      GTEST_SKIP() << "this CPU lacks the " << KernelPathName(GetParam())
                   << " kernel path; its tests are skipped";
    }
  }
  KernelPath path() const { return GetParam(); }
};

inline std::vector<int8_t> RandomInt8(std::mt19937& rng, size_t size) {
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<int8_t> v(size);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

inline std::vector<int32_t> RandomInt32(std::mt19937& rng, size_t size, int32_t lo, int32_t hi) {
  std::uniform_int_distribution<int32_t> dist(lo, hi);
  std::vector<int32_t> v(size);
  for (int32_t& x : v) x = dist(rng);
  return v;
}

// C[m, n] = bias[n] + sum_k A[m, k] * B[n, k], dense [M, N], computed in int64 and checked
// to fit in int32 (the kernels' precondition).
inline std::vector<int32_t> NaiveGemm(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda,
                                      const int8_t* b, int64_t ldb, const int32_t* bias) {
  std::vector<int32_t> c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t sum = bias != nullptr ? bias[j] : 0;
      for (int64_t kk = 0; kk < k; ++kk) sum += int64_t{a[i * lda + kk]} * b[j * ldb + kk];
      EXPECT_GE(sum, INT32_MIN);
      EXPECT_LE(sum, INT32_MAX);
      c[static_cast<size_t>(i * n + j)] = static_cast<int32_t>(sum);
    }
  }
  return c;
}

}  // namespace veil::kernel_test
