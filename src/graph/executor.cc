#include "executor.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <utility>

#include "ops/common.h"
#include "veil/digest.h"

namespace veil::graph_internal {
namespace {

// Per-node evidence (RunTrace): SHA-256 of the concatenated TensorDigests of the node's
// outputs (every op has exactly one).
Digest NodeDigest(const Tensor& output) {
  const Digest d = TensorDigest(output);
  return Sha256(d);
}

// A run-time shape (batch dim excluded) agrees with the declared one: same rank, equal
// static dims; a dynamic dim takes any size.
bool MatchesDeclared(const Shape& declared, const Shape& actual) {
  if (declared.size() != actual.size()) return false;
  for (size_t i = 0; i < declared.size(); ++i)
    if (declared[i] != kDynamicDim && declared[i] != actual[i]) return false;
  return true;
}

// Runs nodes [begin, end) on the calling thread and `pool` (null: single-threaded
// kernels), without splitting the batch: Executor::Execute's contract.
Result<std::vector<Tensor>> ExecuteRange(const Graph& graph, std::span<const ops::OpDef* const> defs,
                                         std::span<const ops::PreparedNode> prepared,
                                         KernelPath path, ThreadPool* pool, int begin, int end,
                                         std::span<const int> input_ids,
                                         std::span<const Tensor> inputs,
                                         std::span<const int> output_ids, AttentionKvSource* kv,
                                         RunTrace* trace) {
  const size_t num_values = graph.values.size();
  // env[v]: the tensor of value v while it is live (an input or owned[v]), else null.
  std::vector<const Tensor*> env(num_values, nullptr);
  std::vector<Tensor> owned(num_values);
  for (size_t i = 0; i < input_ids.size(); ++i) env[static_cast<size_t>(input_ids[i])] = &inputs[i];
  // A value is freed after the last node of the range that reads it, unless returned.
  std::vector<int> last_use(num_values, -1);
  for (int n = begin; n < end; ++n)
    for (int v : graph.nodes[static_cast<size_t>(n)].inputs) last_use[static_cast<size_t>(v)] = n;
  std::vector<int> times_returned(num_values, 0);
  for (int v : output_ids) ++times_returned[static_cast<size_t>(v)];

  const ops::OpContext ctx{path, pool};
  std::vector<const Tensor*> args;
  std::vector<Shape> shapes;
  for (int n = begin; n < end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    auto fail = [&](const Status& status) { return status.WithContext(ops::NodeLabel(n, node)); };
    args.clear();
    for (int v : node.inputs) {
      if (env[static_cast<size_t>(v)] == nullptr)
        return fail(Status::Internal("input value " + std::to_string(v) + " is not available"));
      args.push_back(env[static_cast<size_t>(v)]);
    }
    if (kv != nullptr && node.kind == OpKind::kAttention) {
      const Status status = kv->Extend(n, *args[1], *args[2], &args[1], &args[2]);
      if (!status.ok()) return fail(status);
    }
    shapes.clear();
    for (const Tensor* t : args) shapes.push_back(ops::SampleShape(*t));
    Shape out_shape;
    Status status = defs[static_cast<size_t>(n)]->infer(node, shapes, &out_shape);
    if (!status.ok()) return fail(status);
    const int out = node.outputs[0];
    const Shape& declared = graph.values[static_cast<size_t>(out)].shape;
    if (!MatchesDeclared(declared, out_shape))
      return fail(Status::Internal("run-time output shape " + ShapeToString(out_shape) +
                                   " contradicts the declared " + ShapeToString(declared)));
    out_shape.insert(out_shape.begin(), args[0]->dim(0));  // batch
    Tensor result(DType::kInt8, std::move(out_shape));
    status = defs[static_cast<size_t>(n)]->run(ctx, node, prepared[static_cast<size_t>(n)], args,
                                                &result);
    if (!status.ok()) return fail(status);
    if (trace != nullptr) {
      trace->node_indices.push_back(n);
      trace->node_digests.push_back(NodeDigest(result));
    }
    owned[static_cast<size_t>(out)] = std::move(result);
    env[static_cast<size_t>(out)] = &owned[static_cast<size_t>(out)];
    for (int v : node.inputs) {
      const size_t u = static_cast<size_t>(v);
      if (last_use[u] == n && times_returned[u] == 0) {
        env[u] = nullptr;
        owned[u] = Tensor();
      }
    }
    const size_t u = static_cast<size_t>(out);
    if (last_use[u] <= n && times_returned[u] == 0) {  // never read: digest only
      env[u] = nullptr;
      owned[u] = Tensor();
    }
  }

  std::vector<Tensor> results;
  results.reserve(output_ids.size());
  for (int v : output_ids) {
    const size_t u = static_cast<size_t>(v);
    if (env[u] == nullptr)
      return Status::Internal("output value " + std::to_string(v) + " was not computed");
    // The last request for an owned value takes it; earlier ones (and inputs) copy.
    if (--times_returned[u] == 0 && env[u] == &owned[u]) {
      results.push_back(std::move(owned[u]));
    } else {
      results.push_back(*env[u]);
    }
  }
  return results;
}

}  // namespace

Result<std::unique_ptr<Executor>> Executor::Create(Graph graph, KernelPath path, int threads) {
  std::unique_ptr<Executor> e(new Executor());
  e->graph_ = std::move(graph);
  e->path_ = path;
  e->pool_ = std::make_unique<ThreadPool>(threads);
  const size_t n = e->graph_.nodes.size();
  e->defs_.resize(n);
  e->prepared_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = e->graph_.nodes[i];
    e->defs_[i] = ops::FindOpDef(node.kind);
    if (e->defs_[i] == nullptr)
      return Status::Internal(ops::NodeLabel(static_cast<int>(i), node) + ": unknown op kind");
    if (e->defs_[i]->prepare != nullptr) {
      const Status status = e->defs_[i]->prepare(node, path, &e->prepared_[i]);
      if (!status.ok()) return status.WithContext(ops::NodeLabel(static_cast<int>(i), node));
    }
  }
  return e;
}

namespace {

// Batch rows [b0, b1) of `t` (batch dim first) as a tensor of their own.
Tensor SliceBatch(const Tensor& t, int64_t b0, int64_t b1) {
  Shape shape = t.shape();
  const size_t row_bytes = t.byte_size() / static_cast<size_t>(shape[0]);
  shape[0] = b1 - b0;
  Tensor slice(t.dtype(), std::move(shape));
  if (slice.byte_size() > 0)
    std::memcpy(slice.raw(), t.raw() + static_cast<size_t>(b0) * row_bytes, slice.byte_size());
  return slice;
}

}  // namespace

Result<std::vector<Tensor>> Executor::Execute(int begin, int end, std::span<const int> input_ids,
                                              std::span<const Tensor> inputs,
                                              std::span<const int> output_ids,
                                              AttentionKvSource* kv, RunTrace* trace) {
  // Batch parallelism: every op acts on each sample independently (docs/arithmetic.md
  // §1), so running the range on disjoint slices of the batch, one per thread with
  // single-threaded kernels, and concatenating the outputs gives the same bits as one
  // run over the whole batch. Traces (per-node digests of whole tensors) and
  // incremental decoding (a shared KV cache) always take the single run.
  const int threads = pool_->threads();
  int64_t batch = -1;
  bool uniform = !inputs.empty();
  for (const Tensor& t : inputs) {
    if (t.rank() == 0 || (batch >= 0 && t.dim(0) != batch)) uniform = false;
    if (t.rank() > 0 && batch < 0) batch = t.dim(0);
  }
  if (trace == nullptr && kv == nullptr && threads > 1 && uniform && batch >= 2 * threads) {
    // Slices are claimed dynamically, several per thread, so a thread that starts late
    // (the machine's other work holding its core) takes fewer of them.
    const int64_t parts = std::min<int64_t>(batch, int64_t{4} * threads);
    std::vector<std::optional<Result<std::vector<Tensor>>>> results(static_cast<size_t>(parts));
    std::atomic<int64_t> next_part{0};
    pool_->ParallelFor(threads, 1, [&](int64_t, int64_t) {
      for (int64_t p = next_part++; p < parts; p = next_part++) {
        const int64_t b0 = p * batch / parts, b1 = (p + 1) * batch / parts;
        std::vector<Tensor> slices;
        slices.reserve(inputs.size());
        for (const Tensor& t : inputs) slices.push_back(SliceBatch(t, b0, b1));
        results[static_cast<size_t>(p)].emplace(
            ExecuteRange(graph_, defs_, prepared_, path_, nullptr, begin, end, input_ids, slices,
                         output_ids, nullptr, nullptr));
      }
    });
    bool all_ok = true;
    for (const auto& r : results) all_ok = all_ok && r->ok();
    // On failure, rerun whole so the error (e.g. an embedding id) names the full batch.
    if (all_ok) {
      std::vector<Tensor> outputs;
      outputs.reserve(output_ids.size());
      for (size_t o = 0; o < output_ids.size(); ++o) {
        const Tensor& first = (*results[0]).value()[o];
        Shape shape = first.shape();
        shape[0] = batch;
        Tensor joined(first.dtype(), std::move(shape));
        size_t offset = 0;
        for (const auto& r : results) {
          const Tensor& part = (**r)[o];
          if (part.byte_size() > 0) std::memcpy(joined.raw() + offset, part.raw(), part.byte_size());
          offset += part.byte_size();
        }
        outputs.push_back(std::move(joined));
      }
      return outputs;
    }
  }
  return ExecuteRange(graph_, defs_, prepared_, path_, pool_.get(), begin, end, input_ids, inputs,
                      output_ids, kv, trace);
}

}  // namespace veil::graph_internal
