// Hand-built graphs shared by the format tests and the fuzz seed generator.
#pragma once

#include <string>

#include "veil/graph.h"

namespace veil::testing {

// A small model meant to pass ValidateGraph: tokens int32 [4] -> Embedding -> Linear ->
// LayerNorm -> Linear (per-channel requantization, ReLU) -> int8 [4, 3]. Its params use
// every DType; it has metadata and three segments: [0,1), [1,3), [3,4).
Graph MakeTinyModel();

// A graph exercising every structural feature of the format with no regard to op
// semantics (it does NOT pass ValidateGraph): every OpKind, every DType for values and
// params, a dynamic first dimension, rank-0 and zero-element params, negative attr
// values, empty and binary names, a large metadata value, and segments.
Graph MakeStructuralGraph();

// Expects every field of two graphs to be equal (gtest assertions, names the field).
void ExpectGraphsEqual(const Graph& a, const Graph& b);

}  // namespace veil::testing
