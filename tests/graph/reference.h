// A naive reference of docs/arithmetic.md, written for the tests independently of
// src/graph: direct loops over the formulas, its own rounding helpers, no kernels.
// Tensors carry the batch dimension first, as at run time.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/tensor.h"

namespace veil::reference {

int64_t FloorDiv(int64_t a, int64_t b);  // b > 0
int64_t RoundShift(int64_t v, int s);    // floor((v + 2^(s-1)) / 2^s), v if s = 0
int64_t RoundDiv(int64_t a, int64_t b);  // floor((2a + b) / 2b)
int64_t Requantize(int64_t acc, int64_t m, int s, int lo, int hi);
int64_t ISqrtRef(int64_t v);  // by bisection

struct Requant {
  std::vector<int32_t> multiplier;  // size 1 or per channel
  std::vector<int32_t> shift;       // size 1 or per channel
  int lo = -127;
  int hi = 127;
  int32_t m(size_t c) const { return multiplier.size() == 1 ? multiplier[0] : multiplier[c]; }
  int32_t s(size_t c) const { return shift.size() == 1 ? shift[0] : shift[c]; }
};

// x [B, ..., K], weight [N, K], bias [N] -> [B, ..., N]
Tensor Linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Requant& rq);

// x [B, C, H, W], weight [O, C/g, KH, KW] -> [B, O, OH, OW]
Tensor Conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Requant& rq,
              std::vector<int64_t> strides, std::vector<int64_t> pads,
              std::vector<int64_t> dilations, int64_t group);

// a [B, ..., M, K], b [B, ..., K, N] (or [..., N, K] if transpose_b) -> [B, ..., M, N]
Tensor MatMul(const Tensor& a, const Tensor& b, bool transpose_b, const Requant& rq);

// Softmax over x[0, allowed) of one row; zeros after.
std::vector<int8_t> SoftmaxRow(const std::vector<int8_t>& x, size_t allowed,
                               const std::vector<int32_t>& exp_table);

// q [B, Tq, H*D], k/v [B, Tk, H*D] -> [B, Tq, H*D]
Tensor Attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads, bool causal,
                 int32_t score_multiplier, int32_t score_shift,
                 const std::vector<int32_t>& exp_table, const Requant& rq);

// x [B, ..., C]; beta empty for RmsNorm.
Tensor Norm(const Tensor& x, bool layer_norm, const std::vector<int32_t>& gamma,
            const std::vector<int64_t>& beta, int64_t eps, int shift, int lo, int hi);

// x [B, C, H, W] -> [B, C, OH, OW]: max (or RoundDiv of the sum) over each window's
// in-bounds elements.
Tensor Pool2d(const Tensor& x, bool max, std::vector<int64_t> kernel, std::vector<int64_t> strides,
              std::vector<int64_t> pads, bool count_include_pad);

// x [B, ...] with per-sample axes `axes` reduced (kept as 1 when keepdims).
Tensor ReduceMean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdims);

// x [B, ...] with per-sample axes permuted.
Tensor Transpose(const Tensor& x, const std::vector<int64_t>& perm);

}  // namespace veil::reference
