#include "veil/zk/msm.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

namespace veil::zk {
namespace {

constexpr int kMaxWindow = 16;

int WindowsFor(int bits, int c) { return (bits + 1 + c - 1) / c; }  // c * W >= bits + 1

// One chunk of Pippenger. `raw(i, w)` returns the unsigned c-bit window w of the magnitude of
// value i; `negative(i)` says whether value i is negative (its digits are negated). Digits are
// recoded to (-2^(c-1), 2^(c-1)] with a carry per point, so 2^(c-1) buckets suffice.
template <typename Raw, typename Neg>
Point Pippenger(size_t begin, size_t end, int bits, const AffineNielsPoint* points, Raw raw,
                Neg negative) {
  const size_t n = end - begin;
  if (n == 0) return Point();
  const int c = MsmWindowBits(n, bits);
  const int windows = WindowsFor(bits, c);
  const int32_t half = int32_t{1} << (c - 1);
  std::vector<uint8_t> carry(n, 0);
  std::vector<Point> buckets(static_cast<size_t>(half));
  std::vector<Point> window_sums(static_cast<size_t>(windows));
  for (int w = 0; w < windows; ++w) {
    std::fill(buckets.begin(), buckets.end(), Point());
    for (size_t k = 0; k < n; ++k) {
      const size_t i = begin + k;
      int32_t v = static_cast<int32_t>(raw(i, w)) + carry[k];
      carry[k] = v > half;
      v -= carry[k] ? (half << 1) : 0;
      if (v == 0) continue;
      if (negative(i)) v = -v;
      if (v > 0)
        buckets[v - 1] = buckets[v - 1].Add(points[i]);
      else
        buckets[-v - 1] = buckets[-v - 1].Sub(points[i]);
    }
    // sum_j (j+1) * bucket[j] by running sums from the top.
    Point running, sum;
    for (int32_t j = half - 1; j >= 0; --j) {
      running += buckets[j];
      sum += running;
    }
    window_sums[w] = sum;
  }
  Point total = window_sums[windows - 1];
  for (int w = windows - 2; w >= 0; --w) {
    for (int k = 0; k < c; ++k) total = total.Double();
    total += window_sums[w];
  }
  return total;
}

// Splits [0, n) over the pool's threads and sums the chunk results.
template <typename Chunk>
Point Split(size_t n, ThreadPool* pool, Chunk chunk) {
  const int threads = pool == nullptr ? 1 : pool->threads();
  if (threads <= 1 || n < 256) return chunk(0, n);
  const int64_t grain = static_cast<int64_t>((n + threads - 1) / threads);
  std::vector<Point> partial(static_cast<size_t>(threads));
  pool->ParallelFor(static_cast<int64_t>(n), grain, [&](int64_t b, int64_t e) {
    partial[static_cast<size_t>(b / grain)] = chunk(static_cast<size_t>(b), static_cast<size_t>(e));
  });
  Point total;
  for (const Point& p : partial) total += p;
  return total;
}

void CheckSizes(size_t a, size_t b) {
  if (a != b) throw std::invalid_argument("MSM: scalars and points differ in length");
}

template <typename T>
Point MsmSmallInts(std::span<const T> values, std::span<const AffineNielsPoint> points,
                   ThreadPool* pool) {
  CheckSizes(values.size(), points.size());
  uint64_t max_mag = 0;
  for (T v : values) {
    const int64_t x = v;
    max_mag = std::max(max_mag, x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x));
  }
  int bits = 1;
  while (bits < 64 && (max_mag >> bits) != 0) ++bits;
  return Split(values.size(), pool, [&](size_t b, size_t e) {
    const int c = MsmWindowBits(e - b, bits);
    const uint64_t mask = (uint64_t{1} << c) - 1;
    return Pippenger(
        b, e, bits, points.data(),
        [&](size_t i, int w) -> uint32_t {
          const int64_t x = values[i];
          const uint64_t mag = x < 0 ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
          const int shift = w * c;
          return shift >= 64 ? 0 : static_cast<uint32_t>((mag >> shift) & mask);
        },
        [&](size_t i) { return values[i] < 0; });
  });
}

}  // namespace

int MsmWindowBits(size_t n, int scalar_bits) {
  int best = 1;
  double best_cost = 1e300;
  for (int c = 1; c <= kMaxWindow; ++c) {
    // Per window: n bucket additions plus 2 * 2^(c-1) for the running sums.
    const double cost = static_cast<double>(WindowsFor(scalar_bits, c)) *
                        (static_cast<double>(n) + static_cast<double>(uint64_t{1} << c));
    if (cost < best_cost) {
      best_cost = cost;
      best = c;
    }
  }
  return best;
}

Point MsmAffine(std::span<const Scalar> scalars, std::span<const AffineNielsPoint> points,
                ThreadPool* pool) {
  CheckSizes(scalars.size(), points.size());
  constexpr int kBits = 253;  // l < 2^253
  std::vector<std::array<uint64_t, 4>> limbs(scalars.size());
  for (size_t i = 0; i < scalars.size(); ++i) limbs[i] = scalars[i].ToLimbs();
  return Split(scalars.size(), pool, [&](size_t b, size_t e) {
    const int c = MsmWindowBits(e - b, kBits);
    const uint64_t mask = (uint64_t{1} << c) - 1;
    return Pippenger(
        b, e, kBits, points.data(),
        [&](size_t i, int w) -> uint32_t {
          const int bit = w * c;
          if (bit >= 256) return 0;
          const int limb = bit / 64, off = bit % 64;
          uint64_t v = limbs[i][limb] >> off;
          if (off + c > 64 && limb < 3) v |= limbs[i][limb + 1] << (64 - off);
          return static_cast<uint32_t>(v & mask);
        },
        [](size_t) { return false; });
  });
}

Point Msm(std::span<const Scalar> scalars, std::span<const Point> points, ThreadPool* pool) {
  CheckSizes(scalars.size(), points.size());
  const std::vector<AffineNielsPoint> affine = BatchToAffineNiels(points);
  return MsmAffine(scalars, affine, pool);
}

Point MsmInt8(std::span<const int8_t> values, std::span<const AffineNielsPoint> points,
              ThreadPool* pool) {
  return MsmSmallInts(values, points, pool);
}
Point MsmInt32(std::span<const int32_t> values, std::span<const AffineNielsPoint> points,
               ThreadPool* pool) {
  return MsmSmallInts(values, points, pool);
}
Point MsmInt64(std::span<const int64_t> values, std::span<const AffineNielsPoint> points,
               ThreadPool* pool) {
  return MsmSmallInts(values, points, pool);
}

Point MsmNaive(std::span<const Scalar> scalars, std::span<const Point> points) {
  CheckSizes(scalars.size(), points.size());
  Point acc;
  for (size_t i = 0; i < scalars.size(); ++i) acc += points[i].MulVartime(scalars[i]);
  return acc;
}

}  // namespace veil::zk
