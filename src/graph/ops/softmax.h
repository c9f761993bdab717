// The softmax row kernel shared by the Softmax and Attention ops.
#pragma once

#include <cstdint>

namespace veil::ops {

// Softmax of docs/arithmetic.md over x[0, allowed) with a validated exp table:
//   m = max x, e[c] = exp_table[m - x[c]], S = Σ e, y[c] = RoundDiv(e[c] · 127, S),
// and y[c] = 0 for c in [allowed, total). Requires 1 <= allowed <= total <= 2^24.
void SoftmaxRow(const int8_t* x, int64_t allowed, int64_t total, const int32_t* exp_table,
                int8_t* y);

}  // namespace veil::ops
