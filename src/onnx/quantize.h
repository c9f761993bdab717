// Quantization arithmetic used by the importer (float -> integer parameters). This is
// the only place floating point meets the integer graph: it runs once, at import.
#pragma once

#include <cstdint>
#include <vector>

#include "veil/status.h"

namespace veil::onnx_import {

struct FixedMultiplier {
  int32_t multiplier = 0;  // in [2^30, 2^31) unless the ratio is tiny or zero
  int32_t shift = 0;       // in [0, 62]
};

// Finds (M, s) with M / 2^s ~= real, real >= 0. Errors if real >= 2^31 (not representable
// with a non-negative shift) or is not finite.
Result<FixedMultiplier> QuantizeMultiplier(double real);

// Two multipliers sharing one shift (for Add): a/2^s ~= real_a, b/2^s ~= real_b.
Result<std::vector<int32_t>> QuantizeMultiplierPair(double real_a, double real_b, int32_t* shift);

// round half away from zero, as docs/arithmetic.md §1.1 and Lookup tables use.
int64_t RoundHalfAway(double v);

// The scale that maps max_abs to 127 (a tiny positive scale if max_abs is 0).
double ScaleForMaxAbs(double max_abs);

// Symmetric int8 quantization of rows of a [rows, cols] matrix, one scale per row.
void QuantizeRowsSymmetric(const std::vector<float>& w, int64_t rows, int64_t cols,
                           std::vector<int8_t>* q, std::vector<double>* scales);

// Softmax exponent table for logits of scale s: round(2^16 exp(-d s)), d < 255; [255] = 0.
std::vector<int32_t> ExpTable(double logit_scale);

}  // namespace veil::onnx_import
