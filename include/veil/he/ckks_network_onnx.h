// Reads a CkksNetworkSpec from an ONNX file (library veil_he_onnx).
//
// Accepted graphs: one float input [batch, ...] flattened to a vector (Flatten with axis 1,
// Identity), then a chain of Gemm layers with constant weights (transA = 0; transB either
// way; alpha and beta are folded in) and, between two Gemms, elementwise regions built from
// Add, Sub, Mul, Div, Pow, Neg and Identity of the activation and scalar constants (how
// PyTorch exports a*x*x + b*x). Each region is evaluated with veil's float ONNX evaluator
// on probe points and must be a polynomial of degree <= 2 (checked at 9 points, relative
// tolerance 1e-4); it becomes a Poly layer. The graph output must be the last Gemm's output.
// Anything else is an Unsupported error naming the node.
#pragma once

#include <string>

#include "veil/he/ckks_network.h"
#include "veil/status.h"

namespace veil::he {

Result<CkksNetworkSpec> LoadCkksNetworkSpecFromOnnx(const std::string& path);

}  // namespace veil::he
