#include "executor.h"

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

Result<std::vector<Tensor>> Executor::Execute(int begin, int end, std::span<const int> input_ids,
                                              std::span<const Tensor> inputs,
                                              std::span<const int> output_ids,
                                              AttentionKvSource* kv, RunTrace* trace) {
  const size_t num_values = graph_.values.size();
  // env[v]: the tensor of value v while it is live (an input or owned[v]), else null.
  std::vector<const Tensor*> env(num_values, nullptr);
  std::vector<Tensor> owned(num_values);
  for (size_t i = 0; i < input_ids.size(); ++i) env[static_cast<size_t>(input_ids[i])] = &inputs[i];
  // A value is freed after the last node of the range that reads it, unless returned.
  std::vector<int> last_use(num_values, -1);
  for (int n = begin; n < end; ++n)
    for (int v : graph_.nodes[static_cast<size_t>(n)].inputs) last_use[static_cast<size_t>(v)] = n;
  std::vector<int> times_returned(num_values, 0);
  for (int v : output_ids) ++times_returned[static_cast<size_t>(v)];

  const ops::OpContext ctx{path_, pool_.get()};
  std::vector<const Tensor*> args;
  std::vector<Shape> shapes;
  for (int n = begin; n < end; ++n) {
    const Node& node = graph_.nodes[static_cast<size_t>(n)];
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
    Status status = defs_[static_cast<size_t>(n)]->infer(node, shapes, &out_shape);
    if (!status.ok()) return fail(status);
    const int out = node.outputs[0];
    const Shape& declared = graph_.values[static_cast<size_t>(out)].shape;
    if (!MatchesDeclared(declared, out_shape))
      return fail(Status::Internal("run-time output shape " + ShapeToString(out_shape) +
                                   " contradicts the declared " + ShapeToString(declared)));
    out_shape.insert(out_shape.begin(), args[0]->dim(0));  // batch
    Tensor result(DType::kInt8, std::move(out_shape));
    status = defs_[static_cast<size_t>(n)]->run(ctx, node, prepared_[static_cast<size_t>(n)], args,
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

}  // namespace veil::graph_internal
