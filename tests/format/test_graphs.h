// Hand-built graphs shared by the tests and the fuzz targets (no gtest dependency; the
// gtest helper ExpectGraphsEqual lives in graph_expect.cc).
#pragma once

#include <cstdint>
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

// x int8 [width] -> `stages` Lookup nodes (stage i maps k to clamp((k - 128) / 2 + i)),
// one segment per node: the small valid graph the net tests and fuzzers serve.
Graph MakeLookupChain(int stages, int64_t width);

// Expects every field of two graphs to be equal (gtest assertions, names the field).
void ExpectGraphsEqual(const Graph& a, const Graph& b);

}  // namespace veil::testing
