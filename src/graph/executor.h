// Executor: runs a contiguous range of a validated graph's nodes on one batch. The
// engine behind Session::Run, RunSegment and RunIncremental. Internal to src/graph.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "ops/ops.h"
#include "veil/graph.h"
#include "veil/kernels.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/thread_pool.h"

namespace veil::graph_internal {

// Supplies the keys and values an Attention node attends to in incremental decoding.
class AttentionKvSource {
 public:
  virtual ~AttentionKvSource() = default;
  // Called before Attention node `node_index` runs, with the keys and values it computed
  // for the new tokens ([B, Tnew, H*D]); sets *keys / *values to the tensors to attend
  // to, which stay valid until the run ends.
  virtual Status Extend(int node_index, const Tensor& new_keys, const Tensor& new_values,
                        const Tensor** keys, const Tensor** values) = 0;
};

class Executor {
 public:
  // Prepares (packs the weights of) `graph`, which must have passed ValidateGraph, for
  // `path`, which must be resolved and available.
  static Result<std::unique_ptr<Executor>> Create(Graph graph, KernelPath path, int threads);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const Graph& graph() const { return graph_; }
  KernelPath path() const { return path_; }

  // Runs nodes [begin, end). `inputs[i]` is the run-time tensor (batch dim first) of
  // value `input_ids[i]`; together they must provide every value the range reads before
  // producing it, with shapes consistent with the graph (the caller checks them).
  // Returns the tensors of `output_ids`, in order. Intermediate tensors are freed after
  // their last use. Appends one digest per node to `trace` if non-null.
  Result<std::vector<Tensor>> Execute(int begin, int end, std::span<const int> input_ids,
                                      std::span<const Tensor> inputs,
                                      std::span<const int> output_ids, AttentionKvSource* kv,
                                      RunTrace* trace);

 private:
  Executor() = default;

  Graph graph_;
  KernelPath path_ = KernelPath::kScalar;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<const ops::OpDef*> defs_;      // per node
  std::vector<ops::PreparedNode> prepared_;  // per node
};

}  // namespace veil::graph_internal
