// Small random graphs exercising many ops, shared by the determinism, segment and
// incremental-decoding tests. Parameters are random but scaled so that activations
// stay spread over the int8 range (few all-zero or all-clamped tensors).
#pragma once

#include <cstdint>

#include "veil/graph.h"

// `gt`: graph-test helpers (not ::testing, which is gtest's).
namespace veil::gt {

// Image model: input int8 [3, 12, 12]; Conv2d (plain, depthwise, 1x1, strided and
// dilated), MaxPool2d, AvgPool2d, Add, Lookup, Transpose, Reshape, Concat, Slice,
// ReduceMean, LayerNorm, MatMul, Linear, Mul, Requantize, Softmax. Output [10].
// Three segments.
Graph MakeImageModel(uint64_t seed);

// Causal decoder: inputs tokens and positions (int32 [T]); embeddings, `layers` blocks
// of {RmsNorm, Linear q/k/v, Attention(heads 2, causal), Linear, Add, LayerNorm,
// Linear, Lookup, Linear, Add}, then RmsNorm, Linear logits, Mul by a per-channel
// constant and Requantize. Output [T, vocab]. Token-wise apart from Attention, so it
// supports incremental decoding. One segment per block plus head and tail.
inline constexpr int64_t kDecoderVocab = 40;
inline constexpr int64_t kDecoderPositions = 64;
Graph MakeDecoderModel(uint64_t seed, int layers = 2);

}  // namespace veil::gt
