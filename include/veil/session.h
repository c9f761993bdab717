// Session: executes a validated integer Graph (or one segment of it) on a batch.
//
// A Session owns the graph's prepared form (weights packed for the chosen kernel path)
// and a thread pool. Outputs are bit-identical for every kernel path and thread count.
#pragma once

#include <memory>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/kernels.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil {

struct SessionOptions {
  KernelPath kernel_path = KernelPath::kAuto;
  int threads = 1;
};

// Per-node evidence of a run, for consensus dispute localisation: the digest of each
// executed node's outputs (TensorDigest of each output, concatenated and hashed).
struct RunTrace {
  std::vector<int> node_indices;
  std::vector<Digest> node_digests;
};

// Key/value cache for incremental decoding of sequence models: per Attention node,
// the keys and values of every token seen so far, per batch row.
class KvCache {
 public:
  int64_t tokens() const { return tokens_; }
  void Clear();

 private:
  friend class Session;
  int64_t tokens_ = 0;
  std::vector<Tensor> keys;    // one per Attention node: int8 [B, tokens, H*D]
  std::vector<Tensor> values;  // same
};

// SHA-256 over "veil.tensor.v1", dtype, rank, dims (u64 LE) and the raw bytes.
Digest TensorDigest(const Tensor& tensor);

class Session {
 public:
  // Validates the graph (ValidateGraph) and prepares it. The graph is copied.
  static Result<std::unique_ptr<Session>> Create(const Graph& graph, SessionOptions options = {});
  ~Session();

  const Graph& graph() const;
  KernelPath kernel_path() const;

  // Runs the whole graph. `inputs` holds one tensor per graph input, each with a leading
  // batch dimension B (the same for all) followed by the value's per-sample shape
  // (a dynamic dim takes any size >= 1). Checks dtypes, shapes and value ranges.
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs, RunTrace* trace = nullptr);

  // Runs one segment: `inputs` are Graph::SegmentInputs(segment) in order; returns
  // Graph::SegmentOutputs(segment) in order.
  Result<std::vector<Tensor>> RunSegment(int segment_index, const std::vector<Tensor>& inputs,
                                         RunTrace* trace = nullptr);

  // Dispute resolution (docs/consensus.md "Disputes"). LayerInputs runs nodes [0, layer)
  // on the graph inputs (as Run takes them) and returns the values node `layer` reads, in
  // the order of its `inputs`. RunLayer runs node `layer` alone on such values and returns
  // its output, appending its one digest to `trace`: a referee recomputes one layer.
  Result<std::vector<Tensor>> LayerInputs(const std::vector<Tensor>& inputs, int layer);
  Result<Tensor> RunLayer(int layer, const std::vector<Tensor>& layer_inputs,
                          RunTrace* trace = nullptr);

  // Incremental decoding: like Run, but the inputs hold only the new tokens (dynamic dim
  // = number of new tokens) and Attention nodes attend to the cached tokens too. Only
  // for graphs where every op other than Attention acts on each token independently
  // (checked; an Unsupported error otherwise). Appends the new keys/values to `cache`.
  Result<std::vector<Tensor>> RunIncremental(const std::vector<Tensor>& inputs, KvCache* cache,
                                             RunTrace* trace = nullptr);

 private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil
