// Helpers shared by the op implementations: attribute and parameter checks for
// validation, requantization parameter expansion, shape utilities and row-parallel
// loops. Internal to src/graph.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "veil/graph.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/thread_pool.h"

namespace veil::ops {

// Bounds on geometry attributes (kernel sizes, strides, dilations, pads) and on any
// index-like attribute, so that every product formed from them fits in int64.
inline constexpr int64_t kMaxGeometry = int64_t{1} << 20;
inline constexpr int64_t kMaxIndex = int64_t{1} << 40;
// Largest |product| of two activations.
inline constexpr int64_t kMaxProduct = 127 * 127;
inline constexpr int64_t kInt32Limit = int64_t{1} << 31;

Status Invalid(std::string message);

// "node 3 'fc1' (Linear)": how every message names a node.
std::string NodeLabel(int index, const Node& node);

// ---- Attributes (validation) ----

// Attr `name` must hold exactly `count` values, each in [lo, hi]; when absent it is an
// error if `required`, else fine (the op uses its documented default).
Status CheckAttr(const Node& node, const char* name, size_t count, bool required, int64_t lo,
                 int64_t hi);
// Attr `name` is required and holds any number of values (at most kMaxIndex), each in
// [lo, hi].
Status CheckAttrList(const Node& node, const char* name, int64_t lo, int64_t hi);
// The values of attr `name`, or `fallback` when it is absent.
std::vector<int64_t> AttrOr(const Node& node, const char* name, std::vector<int64_t> fallback);

// The common attrs act_min/act_max: optional (default -127/127), within [-127, 127] and
// act_min <= act_max.
Status CheckActRange(const Node& node);
int32_t ActMin(const Node& node);
int32_t ActMax(const Node& node);

// ---- Parameters (validation) ----

// Param `name` with `dtype` and exactly `shape`, or an error naming it.
Status GetParam(const Node& node, const char* name, DType dtype, const Shape& shape,
                const Tensor** out);
// Param `name` with `dtype` and `rank` (the caller checks the dims).
Status GetParamRank(const Node& node, const char* name, DType dtype, size_t rank,
                    const Tensor** out);
// Every element of an int8 tensor is in [-127, 127].
Status CheckInt8Range(const Tensor& tensor, const char* name);
// A requantization pair: multiplier and shift are int32 of shape [1] or [channels] (each
// independently), multiplier values in [0, 2^31), shift values in [0, 62].
Status CheckRequantParams(const Node& node, const char* multiplier, const char* shift,
                          int64_t channels);
// K * 127^2 + max|bias| < 2^31 (bias may be null), so an int32 accumulator is exact.
Status CheckAccumulatorBound(int64_t k, const Tensor* bias);
// An exp table: int32 [256], table[0] = 2^16, entries in [0, 2^16], non-increasing.
Status CheckExpTable(const Node& node, const char* name);

// ---- Parameters (after validation) ----

// The single value of a validated [1]-shaped int32 parameter.
int32_t ScalarParam(const Node& node, const char* name);
// Fills prepared->multiplier/shift from a validated requantization pair, expanding a
// per-tensor value to the channel count when the other one is per channel.
void ExpandRequantParams(const Node& node, const char* multiplier, const char* shift,
                         PreparedNode* prepared);

// ---- Shapes ----

// The per-sample shape of a run-time tensor: its shape without the batch dimension.
Shape SampleShape(const Tensor& tensor);
// Product of dims[begin, end).
int64_t Product(const Shape& shape, size_t begin, size_t end);

// Output length of a sliding window along one axis (docs/arithmetic.md, Conv2d):
// floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1, or 0
// when not even one window fits. Arguments are at most kMaxGeometry (in: kMaxIndex).
int64_t WindowOutDim(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                     int64_t dilation);

// ---- Division by a run-time constant ----

// RoundDiv(a, b) (veil/arith.h) for one divisor b > 0 and many a (|a| < 2^61, b < 2^61),
// without a hardware division per call. With den = 2b and u < 2^63 (below), the estimate
// q = floor(u · inv / 2^64), inv = floor((2^64 − 1) / den), satisfies
//   u/den − 0.75 < u · inv / 2^64 <= u/den
// (the error is at most u · (1 + den) / (den · 2^64) <= 1.5 · u / 2^64 < 0.75), so q is
// floor(u / den) or one less, and one branch-free correction makes it exact. Equal to
// RoundDiv bit for bit (tests/graph/round_divider_test.cc checks it exhaustively on small
// ranges and at random over the domain).
class RoundDivider {
  using Uint128 = __uint128_t;  // GCC and clang builtin; -Wpedantic-clean

 public:
  explicit RoundDivider(int64_t b)
      : b_(b), den_(2 * static_cast<uint64_t>(b)), inv_(~uint64_t{0} / den_) {}

  int64_t operator()(int64_t a) const {
    const int64_t num = 2 * a + b_;  // RoundDiv(a, b) = floor(num / den)
    // floor(num / den) = q(num) for num >= 0, and -1 - q(-num - 1) for num < 0, with
    // q(u) = floor(u / den).
    const uint64_t u = num >= 0 ? static_cast<uint64_t>(num) : ~static_cast<uint64_t>(num);
    uint64_t q = static_cast<uint64_t>((static_cast<Uint128>(u) * inv_) >> 64);
    q += static_cast<uint64_t>((q + 1) * den_ <= u);  // (q + 1) · den <= u + den < 2^64
    return num >= 0 ? static_cast<int64_t>(q) : -1 - static_cast<int64_t>(q);
  }

 private:
  int64_t b_;
  uint64_t den_;
  uint64_t inv_;
};

// ---- Scratch memory ----

// Each per-call scratch buffer is bounded by about this (larger inputs are processed in
// blocks of rows): small enough for L2 and below malloc's mmap threshold (128 KiB), so
// repeated runs do not pay page faults.
inline constexpr int64_t kScratchBytes = int64_t{96} << 10;

// A buffer the caller overwrites entirely before reading it: not zero-filled.
template <typename T>
std::unique_ptr<T[]> Scratch(int64_t n) {
  return std::make_unique_for_overwrite<T[]>(static_cast<size_t>(n));
}

// ---- Parallel loops ----

// Calls fn(begin, end) over disjoint ranges covering [0, rows). Rows must be
// independent; `work_per_row` (a rough element count) decides whether splitting the
// loop across `pool` is worth it. Results cannot depend on the split.
void ParallelRows(ThreadPool* pool, int64_t rows, int64_t work_per_row,
                  const std::function<void(int64_t, int64_t)>& fn);

}  // namespace veil::ops
