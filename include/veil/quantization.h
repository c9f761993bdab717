// The client-side boundary between real numbers and the integer graph
// (docs/arithmetic.md §1.1): quantizing float inputs and dequantizing int8 outputs.
// This is the only floating-point step of a request, and it happens before anything is
// hashed, proved or encrypted.
#pragma once

#include <span>
#include <vector>

#include "veil/graph.h"
#include "veil/tensor.h"

namespace veil {

// q = clamp(round_half_away(x / scale), -127, 127) with binary32 arithmetic, for a batch of
// `value`'s inputs laid out as `batch_shape`. floats.size() must equal its element count.
Tensor QuantizeInput(const Value& value, const Shape& batch_shape, std::span<const float> floats);

// q * scale as float32.
std::vector<float> Dequantize(const Tensor& t, double scale);

}  // namespace veil
