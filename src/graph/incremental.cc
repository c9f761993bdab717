#include "incremental.h"

#include <cstring>
#include <string>
#include <utility>

#include "ops/common.h"

namespace veil::graph_internal {
namespace {

bool HasTokenDim(const Graph& graph, int v) {
  const Shape& shape = graph.values[static_cast<size_t>(v)].shape;
  return !shape.empty() && shape[0] == kDynamicDim;
}

Status NotTokenWise(const std::string& where, const std::string& why) {
  return Status::Unsupported("incremental decoding needs a token-wise graph: " + where + ": " +
                             why);
}

Status CheckNodeTokenWise(const Graph& graph, int index) {
  const Node& node = graph.nodes[static_cast<size_t>(index)];
  const std::string label = ops::NodeLabel(index, node);
  for (const auto* ids : {&node.inputs, &node.outputs})
    for (int v : *ids)
      if (!HasTokenDim(graph, v))
        return NotTokenWise(label, "value '" + graph.values[static_cast<size_t>(v)].name +
                                       "' has shape " +
                                       ShapeToString(graph.values[static_cast<size_t>(v)].shape) +
                                       " without a leading dynamic token dim");
  const size_t in_rank = graph.values[static_cast<size_t>(node.inputs[0])].shape.size();
  switch (node.kind) {
    case OpKind::kAttention:
      if (node.AttrInt("causal", 0) != 1) return NotTokenWise(label, "attention is not causal");
      return Status::Ok();
    case OpKind::kLinear:
    case OpKind::kLayerNorm:
    case OpKind::kRmsNorm:
      if (in_rank < 2) return NotTokenWise(label, "it reduces over the token axis");
      return Status::Ok();
    case OpKind::kLookup:
    case OpKind::kRequantize:
    case OpKind::kEmbedding:
      return Status::Ok();
    case OpKind::kAdd:
    case OpKind::kMul: {
      if (node.inputs.size() == 2) {
        if (graph.values[static_cast<size_t>(node.inputs[0])].shape !=
            graph.values[static_cast<size_t>(node.inputs[1])].shape)
          return NotTokenWise(label, "its inputs have different shapes");
        return Status::Ok();
      }
      const size_t constant_rank = node.FindParam("constant")->rank();
      if (constant_rank > 1 || constant_rank >= in_rank)
        return NotTokenWise(label, "its constant is not per channel");
      return Status::Ok();
    }
    default:
      return NotTokenWise(label, "the op is not token-wise");
  }
}

// [B, Ta, W] ++ [B, Tb, W] -> [B, Ta + Tb, W], row by row.
Tensor ConcatTokens(const Tensor& a, const Tensor& b) {
  const int64_t batch = b.dim(0), ta = a.dim(1), tb = b.dim(1), width = b.dim(2);
  Tensor out(DType::kInt8, {batch, ta + tb, width});
  for (int64_t r = 0; r < batch; ++r) {
    int8_t* dst = out.i8().data() + r * (ta + tb) * width;
    std::memcpy(dst, a.i8().data() + r * ta * width, static_cast<size_t>(ta * width));
    std::memcpy(dst + ta * width, b.i8().data() + r * tb * width, static_cast<size_t>(tb * width));
  }
  return out;
}

}  // namespace

Status CheckIncrementalSupport(const Graph& graph) {
  for (int v : graph.inputs)
    if (!HasTokenDim(graph, v))
      return NotTokenWise("graph input '" + graph.values[static_cast<size_t>(v)].name + "'",
                          "no leading dynamic token dim");
  for (int v : graph.outputs)
    if (!HasTokenDim(graph, v))
      return NotTokenWise("graph output '" + graph.values[static_cast<size_t>(v)].name + "'",
                          "no leading dynamic token dim");
  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n)
    VEIL_RETURN_IF_ERROR(CheckNodeTokenWise(graph, n));
  return Status::Ok();
}

std::vector<int> AttentionNodes(const Graph& graph) {
  std::vector<int> nodes;
  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n)
    if (graph.nodes[static_cast<size_t>(n)].kind == OpKind::kAttention) nodes.push_back(n);
  return nodes;
}

CachedKv::CachedKv(std::vector<int> slot_of_node, const std::vector<Tensor>& keys,
                   const std::vector<Tensor>& values)
    : slot_of_node_(std::move(slot_of_node)), cached_keys_(keys), cached_values_(values) {
  size_t slots = 0;
  for (int s : slot_of_node_) slots += s >= 0 ? 1 : 0;
  keys_.resize(slots);
  values_.resize(slots);
}

Status CachedKv::Extend(int node_index, const Tensor& new_keys, const Tensor& new_values,
                        const Tensor** keys, const Tensor** values) {
  const size_t slot = static_cast<size_t>(slot_of_node_[static_cast<size_t>(node_index)]);
  if (cached_keys_.empty()) {
    keys_[slot] = new_keys;
    values_[slot] = new_values;
  } else {
    // Session checked that the cache matches this graph and batch.
    keys_[slot] = ConcatTokens(cached_keys_[slot], new_keys);
    values_[slot] = ConcatTokens(cached_values_[slot], new_values);
  }
  *keys = &keys_[slot];
  *values = &values_[slot];
  return Status::Ok();
}

}  // namespace veil::graph_internal
