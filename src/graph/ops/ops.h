// Internal interface between the graph executor (validate.cc, session.cc) and the op
// implementations in this folder. Not installed; not part of veil's public API.
//
// Each OpKind has one OpDef describing its arity, the attribute and parameter names it
// accepts, and four functions:
//   check   — validates attrs and params against the input shapes (untrusted data, run
//             once by ValidateGraph);
//   infer   — computes the output shape from the input shapes (run by ValidateGraph on
//             declared shapes, where dim 0 may be kDynamicDim, and by the Session on the
//             concrete shapes of every run);
//   prepare — optional one-time work at Session::Create (packing weights);
//   run     — computes the output.
// Invariants: infer may assume check passed; run may assume infer passed on the shapes
// of its inputs and that `output` is allocated with the inferred shape. All shapes seen
// by check/infer are per sample; tensors seen by run carry the leading batch dimension.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "veil/graph.h"
#include "veil/kernels.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/thread_pool.h"

namespace veil::ops {

// What an op may use while running.
struct OpContext {
  KernelPath path = KernelPath::kScalar;  // resolved: never kAuto
  // Never null. An op passes it to the kernels or calls ParallelFor itself, but never
  // from inside a ParallelFor job (ThreadPool::ParallelFor is not reentrant).
  ThreadPool* pool = nullptr;
};

// What Session::Create precomputes for one node.
struct PreparedNode {
  // Linear: one entry, weight [N, K]. Conv2d: one per group, weight rows of that group
  // (none for depthwise convolutions, which run without GEMM).
  std::vector<std::unique_ptr<PackedWeights>> packed;
  // Requantization parameters of Linear, Conv2d and Requantize, expanded so that both
  // have the same length: 1 (per tensor) or the channel count (per channel).
  std::vector<int32_t> multiplier;
  std::vector<int32_t> shift;
  bool per_channel() const { return multiplier.size() > 1; }
};

struct OpDef {
  int min_inputs = 1;
  int max_inputs = 1;                    // kUnbounded: any number >= min_inputs
  DType input_dtype = DType::kInt8;      // every input has this dtype; the output is int8
  std::vector<std::string_view> attrs;   // accepted attribute names (others are rejected)
  std::vector<std::string_view> params;  // accepted parameter names (others are rejected)
  Status (*check)(const Node& node, std::span<const Shape> inputs) = nullptr;
  Status (*infer)(const Node& node, std::span<const Shape> inputs, Shape* output) = nullptr;
  Status (*prepare)(const Node& node, KernelPath path, PreparedNode* prepared) = nullptr;
  Status (*run)(const OpContext& ctx, const Node& node, const PreparedNode& prepared,
                std::span<const Tensor* const> inputs, Tensor* output) = nullptr;
};

inline constexpr int kUnbounded = -1;

// The definition of `kind`, or nullptr for a value outside the OpKind enumeration.
const OpDef* FindOpDef(OpKind kind);

// Per-family definitions, assembled by FindOpDef (registry.cc).
const OpDef& LinearDef();  // linear_conv.cc
const OpDef& Conv2dDef();
const OpDef& MatMulDef();  // matmul_attention.cc
const OpDef& AttentionDef();
const OpDef& RequantizeDef();  // elementwise.cc
const OpDef& AddDef();
const OpDef& MulDef();
const OpDef& LookupDef();
const OpDef& SoftmaxDef();    // softmax.cc
const OpDef& LayerNormDef();  // norm.cc
const OpDef& RmsNormDef();
const OpDef& MaxPool2dDef();  // pool.cc
const OpDef& AvgPool2dDef();
const OpDef& ReduceMeanDef();
const OpDef& EmbeddingDef();  // data_movement.cc
const OpDef& ReshapeDef();
const OpDef& TransposeDef();
const OpDef& ConcatDef();
const OpDef& SliceDef();

}  // namespace veil::ops
