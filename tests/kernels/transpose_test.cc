// TransposeS8 against the definition, for every shape up to 40×40 (all combinations of
// 16×16 blocks, 8×8 blocks and byte edges) with padded strides, writing nothing else.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "veil/kernels.h"

namespace veil {
namespace {

TEST(TransposeTest, MatchesDefinitionOnAllSmallShapes) {
  std::mt19937 rng(3);
  constexpr int8_t kSentinel = 0x55;
  for (int64_t rows = 1; rows <= 40; ++rows)
    for (int64_t cols = 1; cols <= 40; ++cols) {
      const int64_t ld_src = cols + (rows + cols) % 3, ld_dst = rows + (rows * cols) % 5;
      std::vector<int8_t> src(static_cast<size_t>(rows * ld_src));
      for (int8_t& v : src) v = static_cast<int8_t>(rng());
      std::vector<int8_t> dst(static_cast<size_t>(cols * ld_dst), kSentinel);
      TransposeS8(rows, cols, src.data(), ld_src, dst.data(), ld_dst);
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = 0; r < ld_dst; ++r) {
          const int8_t want = r < rows ? src[static_cast<size_t>(r * ld_src + c)] : kSentinel;
          ASSERT_EQ(dst[static_cast<size_t>(c * ld_dst + r)], want)
              << "rows=" << rows << " cols=" << cols << " r=" << r << " c=" << c;
        }
    }
}

TEST(TransposeTest, LargeMatrixRoundTrips) {
  std::mt19937 rng(4);
  const int64_t rows = 784, cols = 48;
  std::vector<int8_t> src(static_cast<size_t>(rows * cols));
  for (int8_t& v : src) v = static_cast<int8_t>(rng());
  std::vector<int8_t> t(src.size()), back(src.size());
  TransposeS8(rows, cols, src.data(), cols, t.data(), rows);
  TransposeS8(cols, rows, t.data(), rows, back.data(), cols);
  EXPECT_EQ(back, src);
}

}  // namespace
}  // namespace veil
