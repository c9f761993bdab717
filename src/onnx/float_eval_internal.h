// Private helpers shared by the float_eval_*.cc files: attribute access, checked shape
// arithmetic, broadcasting, and the declarations of the per-op evaluators. Not part of
// the importer's interface; include only from src/onnx/float_*.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "float_tensor.h"
#include "onnx/onnx_pb.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::onnx_import::internal {

// No tensor handled here may hold more elements than this (untrusted input).
inline constexpr int64_t kMaxElements = int64_t{1} << 31;
// No tensor handled here may have a higher rank.
inline constexpr int64_t kMaxRank = 64;
// Refuse single ops that would take more multiply-adds than this (about minutes of work).
inline constexpr int64_t kMaxMacs = int64_t{1} << 40;

// Read-only view of one node and its inputs, with typed attribute accessors. Every
// accessor returns InvalidArgument when the attribute exists with the wrong type.
class NodeContext {
 public:
  NodeContext(const onnx::NodeProto& node, const std::vector<const FTensor*>& inputs)
      : node_(node), inputs_(inputs) {}

  const onnx::NodeProto& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // The i-th input, or nullptr when it is absent (empty name or beyond the input list).
  const FTensor* input(int i) const {
    return i >= 0 && i < num_inputs() ? inputs_[static_cast<size_t>(i)] : nullptr;
  }
  int num_outputs() const { return node_.output_size(); }

  const onnx::AttributeProto* FindAttr(const char* name) const;
  bool HasAttr(const char* name) const { return FindAttr(name) != nullptr; }
  Status Int(const char* name, int64_t default_value, int64_t* out) const;
  Status Float(const char* name, float default_value, float* out) const;
  Status String(const char* name, const std::string& default_value, std::string* out) const;
  // Leaves `out` empty when absent; `present` (optional) reports whether it exists.
  Status Ints(const char* name, std::vector<int64_t>* out, bool* present = nullptr) const;
  Status Floats(const char* name, std::vector<float>* out, bool* present = nullptr) const;

 private:
  const onnx::NodeProto& node_;
  const std::vector<const FTensor*>& inputs_;
};

// ---- Shapes ------------------------------------------------------------------------

// OK when every dimension is >= 0, the rank is at most kMaxRank and the product of the
// dimensions (zeros counted as ones, so strides cannot overflow) is at most kMaxElements.
Status CheckShape(const Shape& shape);
// Checks that `t` is internally consistent: valid shape and a value vector of that size.
Status CheckTensor(const FTensor& t, const std::string& what);

// Row-major strides of `shape`. The shape must have passed CheckShape.
std::vector<int64_t> Strides(const Shape& shape);

// Maps `axis` in [-rank, rank) to [0, rank); InvalidArgument (naming `what`) otherwise.
Status NormalizeAxis(int64_t axis, int64_t rank, const char* what, int64_t* out);
// Normalises a list of axes and rejects duplicates.
Status NormalizeAxes(const std::vector<int64_t>& axes, int64_t rank, const char* what,
                     std::vector<int64_t>* out);

// Multidirectional (numpy) broadcast of two shapes.
Status BroadcastShapes(const Shape& a, const Shape& b, Shape* out);
// Strides to read a tensor of shape `in` as if broadcast to `out` (0 on broadcast axes).
// `in` must be broadcastable to `out` (rank(in) <= rank(out)).
std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out);

// Calls f(out_index, std::array<int64_t, K> in_index) for every element of `out`,
// reading input k with strides[k] (as returned by BroadcastStrides).
template <size_t K, typename F>
void ForEachBroadcast(const Shape& out, const std::array<std::vector<int64_t>, K>& strides, F&& f) {
  const int64_t n = NumElements(out);
  if (n == 0) return;
  const size_t rank = out.size();
  std::array<int64_t, K> base{};
  if (rank == 0) {
    f(int64_t{0}, base);
    return;
  }
  const int64_t inner = out[rank - 1];
  std::array<int64_t, K> inner_stride{};
  for (size_t k = 0; k < K; ++k) inner_stride[k] = strides[k][rank - 1];
  std::vector<int64_t> counter(rank, 0);
  for (int64_t o = 0; o < n; o += inner) {
    std::array<int64_t, K> idx = base;
    for (int64_t j = 0; j < inner; ++j) {
      f(o + j, idx);
      for (size_t k = 0; k < K; ++k) idx[k] += inner_stride[k];
    }
    // Advance the odometer over the outer dimensions.
    for (size_t d = rank - 1; d-- > 0;) {
      for (size_t k = 0; k < K; ++k) base[k] += strides[k][d];
      if (++counter[d] < out[d]) break;
      for (size_t k = 0; k < K; ++k) base[k] -= strides[k][d] * out[d];
      counter[d] = 0;
    }
  }
}

// Reads a tensor holding integers (kInt64) as a 1-D list. `what` names it in errors.
Status ReadInts(const FTensor& t, const char* what, std::vector<int64_t>* out);
// Reads a one-element tensor as a double (any kind). `what` names it in errors.
Status ReadScalar(const FTensor& t, const char* what, double* out);

// Converts a double to int64 with C truncation, saturating out-of-range values and
// mapping NaN to 0 (a plain cast would be undefined behaviour).
int64_t SaturatingToInt64(double v);

const char* KindName(FTensor::Kind kind);

// Copies `t` and sets its shape (element count must match).
FTensor WithShape(const FTensor& t, Shape shape);
// An empty tensor of `kind` with `shape`, zero-filled. The shape must be valid.
FTensor MakeTensor(FTensor::Kind kind, Shape shape);

// Row-major single-precision C[M,N] += A[M,K] * B[K,N] with leading dimensions.
void Sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc);

// ---- Per-op evaluators. `out` is pre-sized to the node's output count. ----------------

using OpFn = Status (*)(const NodeContext& ctx, std::vector<FTensor>* out);

// float_eval_elementwise.cc
Status EvalUnary(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalBinary(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalVariadicMinMax(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalNot(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalWhere(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalCast(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalClip(const NodeContext& ctx, std::vector<FTensor>* out);

// float_eval_nn.cc
Status EvalConv(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalPool(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalGlobalPool(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalBatchNormalization(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalGemm(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalMatMul(const NodeContext& ctx, std::vector<FTensor>* out);

// float_eval_reduce.cc
Status EvalReduce(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalSoftmax(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalLayerNormalization(const NodeContext& ctx, std::vector<FTensor>* out);

// float_eval_shape.cc
Status EvalIdentity(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalDropout(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalFlatten(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalTranspose(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalReshape(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalSqueeze(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalUnsqueeze(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalSlice(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalGather(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalConcat(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalSplit(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalShape(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalSize(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalConstant(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalConstantOfShape(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalExpand(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalRange(const NodeContext& ctx, std::vector<FTensor>* out);
Status EvalTile(const NodeContext& ctx, std::vector<FTensor>* out);

}  // namespace veil::onnx_import::internal
