// Incremental decoding support: which graphs may be decoded token by token, and the
// key/value source that prepends cached tokens to each Attention node's new ones.
// Internal to src/graph.
#pragma once

#include <vector>

#include "executor.h"
#include "veil/graph.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::graph_internal {

// OK if every op other than Attention acts on each token independently, so that a run
// over new tokens with cached keys/values equals the tail of a full run: every value
// has a leading dynamic (token) dim; ops are Linear, LayerNorm, RmsNorm (reducing a
// non-token axis), Lookup, Requantize, Embedding, Add/Mul with an equal-shaped input or
// a per-channel/scalar constant, and causal Attention. Unsupported, naming the first
// offending input, output or node, otherwise.
Status CheckIncrementalSupport(const Graph& graph);

// The Attention nodes of `graph` in order: KvCache slot s belongs to node result[s].
std::vector<int> AttentionNodes(const Graph& graph);

// Serves Attention nodes during RunIncremental: each attends to its cached tokens
// followed by the new ones, concatenated per batch row. The extended tensors are kept
// here and handed back by TakeKeys/TakeValues, so the caller updates its cache only
// when the whole run succeeds.
class CachedKv : public AttentionKvSource {
 public:
  // `slot_of_node[n]` is node n's cache slot (or -1). `keys`/`values` hold one
  // [B, Tcached, H*D] tensor per slot, or are empty when nothing is cached yet.
  CachedKv(std::vector<int> slot_of_node, const std::vector<Tensor>& keys,
           const std::vector<Tensor>& values);

  Status Extend(int node_index, const Tensor& new_keys, const Tensor& new_values,
                const Tensor** keys, const Tensor** values) override;

  std::vector<Tensor> TakeKeys() { return std::move(keys_); }
  std::vector<Tensor> TakeValues() { return std::move(values_); }

 private:
  std::vector<int> slot_of_node_;
  const std::vector<Tensor>& cached_keys_;
  const std::vector<Tensor>& cached_values_;
  std::vector<Tensor> keys_;    // per slot, after Extend
  std::vector<Tensor> values_;  // per slot, after Extend
};

}  // namespace veil::graph_internal
