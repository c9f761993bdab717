// Session: the public face of the executor. Checks requests (input count, dtypes,
// shapes, value ranges, cache consistency) so that the executor and the ops only ever
// see well-formed tensors, and serialises runs (the thread pool runs one job at a time).
#include "veil/session.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "executor.h"
#include "incremental.h"

namespace veil {

namespace {

constexpr int kMaxThreads = 256;

// Checks one request tensor against value `id`: dtype, rank, dims (a dynamic dim takes
// any size >= 1), a batch equal to *batch (set by the first tensor), and the activation
// range for int8. `label` names the tensor in messages, e.g. "input 0 'x'".
Status CheckRequestTensor(const Graph& graph, int id, const Tensor& tensor,
                          const std::string& label, int64_t* batch) {
  const Value& value = graph.values[static_cast<size_t>(id)];
  if (tensor.dtype() != value.dtype)
    return Status::InvalidArgument(label + " has dtype " + DTypeName(tensor.dtype()) +
                                   ", expected " + DTypeName(value.dtype));
  Shape expected{kDynamicDim};  // batch
  expected.insert(expected.end(), value.shape.begin(), value.shape.end());
  bool ok = tensor.rank() == expected.size();
  for (size_t i = 0; ok && i < expected.size(); ++i)
    ok = tensor.dim(i) >= 1 && (expected[i] == kDynamicDim || tensor.dim(i) == expected[i]);
  if (!ok) {
    std::string want = "[B";
    for (int64_t d : value.shape) want += "," + (d == kDynamicDim ? "T" : std::to_string(d));
    return Status::InvalidArgument(label + " has shape " + ShapeToString(tensor.shape()) +
                                   ", expected " + want + "] (T: any size >= 1)");
  }
  if (*batch < 0) *batch = tensor.dim(0);
  if (tensor.dim(0) != *batch)
    return Status::InvalidArgument(label + " has batch " + std::to_string(tensor.dim(0)) +
                                   ", but an earlier input has batch " + std::to_string(*batch));
  if (tensor.dtype() == DType::kInt8) {
    const auto v = tensor.i8();
    int8_t lowest = 0;  // a branch-free minimum vectorises; search only on failure
    for (int8_t e : v) lowest = std::min(lowest, e);
    if (lowest < kActMin) {
      const size_t i = static_cast<size_t>(std::find(v.begin(), v.end(), lowest) - v.begin());
      return Status::InvalidArgument(label + " element " + std::to_string(i) + " is " +
                                     std::to_string(v[i]) + ", outside [-127, 127]");
    }
  }
  return Status::Ok();
}

std::string ValueName(const Graph& graph, int id) {
  return "'" + graph.values[static_cast<size_t>(id)].name + "'";
}

}  // namespace

struct Session::Impl {
  std::unique_ptr<graph_internal::Executor> executor;
  std::vector<Segment> segments;
  std::vector<std::vector<int>> segment_inputs;   // Graph::SegmentInputs, per segment
  std::vector<std::vector<int>> segment_outputs;  // Graph::SegmentOutputs, per segment
  Status incremental;                             // OK iff the graph supports RunIncremental
  std::vector<int> attention_nodes;  // KvCache slot s belongs to node attention_nodes[s]
  std::mutex mu;                     // held for the whole of every run

  const Graph& graph() const { return executor->graph(); }

  Status CheckLayer(int layer) const {
    if (layer < 0 || static_cast<size_t>(layer) >= graph().nodes.size())
      return Status::InvalidArgument("layer " + std::to_string(layer) +
                                     " does not exist (the graph has " +
                                     std::to_string(graph().nodes.size()) + ")");
    return Status::Ok();
  }

  Status CheckInputs(std::span<const int> ids, const std::vector<Tensor>& inputs,
                     const char* what) const {
    if (inputs.size() != ids.size())
      return Status::InvalidArgument("expected " + std::to_string(ids.size()) + " " + what +
                                     "s, got " + std::to_string(inputs.size()));
    int64_t batch = -1;
    for (size_t i = 0; i < ids.size(); ++i)
      VEIL_RETURN_IF_ERROR(CheckRequestTensor(
          graph(), ids[i], inputs[i],
          std::string(what) + " " + std::to_string(i) + " " + ValueName(graph(), ids[i]), &batch));
    return Status::Ok();
  }
};

void KvCache::Clear() {
  tokens_ = 0;
  keys.clear();
  values.clear();
}

Session::Session() : impl_(std::make_unique<Impl>()) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Create(const Graph& graph, SessionOptions options) {
  VEIL_RETURN_IF_ERROR(ValidateGraph(graph));
  if (options.threads > kMaxThreads)
    return Status::InvalidArgument("threads = " + std::to_string(options.threads) + " exceeds " +
                                   std::to_string(kMaxThreads));
  const KernelPath path = ResolveKernelPath(options.kernel_path);
  if (!KernelPathAvailable(path))
    return Status::Unsupported(std::string("kernel path ") + KernelPathName(path) +
                               " is not available on this CPU or build");
  std::unique_ptr<Session> session(new Session());
  Impl& impl = *session->impl_;
  // threads <= 1 runs on the calling thread (ThreadPool's contract).
  VEIL_ASSIGN_OR_RETURN(impl.executor,
                        graph_internal::Executor::Create(graph, path, options.threads));
  impl.segments = graph.EffectiveSegments();
  for (const Segment& s : impl.segments) {
    impl.segment_inputs.push_back(graph.SegmentInputs(s));
    impl.segment_outputs.push_back(graph.SegmentOutputs(s));
  }
  impl.incremental = graph_internal::CheckIncrementalSupport(graph);
  impl.attention_nodes = graph_internal::AttentionNodes(graph);
  return session;
}

const Graph& Session::graph() const { return impl_->graph(); }

KernelPath Session::kernel_path() const { return impl_->executor->path(); }

Result<std::vector<Tensor>> Session::Run(const std::vector<Tensor>& inputs, RunTrace* trace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (trace != nullptr) *trace = RunTrace();
  const Graph& g = impl_->graph();
  VEIL_RETURN_IF_ERROR(impl_->CheckInputs(g.inputs, inputs, "input"));
  return impl_->executor->Execute(0, static_cast<int>(g.nodes.size()), g.inputs, inputs, g.outputs,
                                  nullptr, trace);
}

Result<std::vector<Tensor>> Session::RunSegment(int segment_index,
                                                const std::vector<Tensor>& inputs,
                                                RunTrace* trace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (trace != nullptr) *trace = RunTrace();
  if (segment_index < 0 || static_cast<size_t>(segment_index) >= impl_->segments.size())
    return Status::InvalidArgument("segment " + std::to_string(segment_index) +
                                   " does not exist (the graph has " +
                                   std::to_string(impl_->segments.size()) + ")");
  const size_t s = static_cast<size_t>(segment_index);
  VEIL_RETURN_IF_ERROR(impl_->CheckInputs(impl_->segment_inputs[s], inputs, "segment input"));
  return impl_->executor->Execute(impl_->segments[s].begin, impl_->segments[s].end,
                                  impl_->segment_inputs[s], inputs, impl_->segment_outputs[s],
                                  nullptr, trace);
}

Result<std::vector<Tensor>> Session::LayerInputs(const std::vector<Tensor>& inputs, int layer) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Graph& g = impl_->graph();
  VEIL_RETURN_IF_ERROR(impl_->CheckLayer(layer));
  VEIL_RETURN_IF_ERROR(impl_->CheckInputs(g.inputs, inputs, "input"));
  return impl_->executor->Execute(0, layer, g.inputs, inputs,
                                  g.nodes[static_cast<size_t>(layer)].inputs, nullptr, nullptr);
}

Result<Tensor> Session::RunLayer(int layer, const std::vector<Tensor>& layer_inputs,
                                 RunTrace* trace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Graph& g = impl_->graph();
  VEIL_RETURN_IF_ERROR(impl_->CheckLayer(layer));
  const Node& node = g.nodes[static_cast<size_t>(layer)];
  VEIL_RETURN_IF_ERROR(impl_->CheckInputs(node.inputs, layer_inputs, "layer input"));
  VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                        impl_->executor->Execute(layer, layer + 1, node.inputs, layer_inputs,
                                                 node.outputs, nullptr, trace));
  return std::move(out[0]);
}

Result<std::vector<Tensor>> Session::RunIncremental(const std::vector<Tensor>& inputs,
                                                    KvCache* cache, RunTrace* trace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (trace != nullptr) *trace = RunTrace();
  if (!impl_->incremental.ok()) return impl_->incremental;
  if (cache == nullptr) return Status::InvalidArgument("RunIncremental needs a KvCache");
  const Graph& g = impl_->graph();
  VEIL_RETURN_IF_ERROR(impl_->CheckInputs(g.inputs, inputs, "input"));
  // Every input has a leading token dim (CheckIncrementalSupport); all must agree.
  const int64_t batch = inputs[0].dim(0), tokens = inputs[0].dim(1);
  for (size_t i = 1; i < inputs.size(); ++i)
    if (inputs[i].dim(1) != tokens)
      return Status::InvalidArgument(
          "input " + std::to_string(i) + " " + ValueName(g, g.inputs[i]) + " has " +
          std::to_string(inputs[i].dim(1)) + " tokens, input 0 has " + std::to_string(tokens));
  const size_t slots = impl_->attention_nodes.size();
  std::vector<int> slot_of_node(g.nodes.size(), -1);
  for (size_t s = 0; s < slots; ++s)
    slot_of_node[static_cast<size_t>(impl_->attention_nodes[s])] = static_cast<int>(s);
  static const std::vector<Tensor> kEmpty;
  const bool cached = cache->tokens_ > 0;
  if (cached) {
    if (cache->keys.size() != slots || cache->values.size() != slots)
      return Status::InvalidArgument("the KvCache does not belong to this graph (" +
                                     std::to_string(cache->keys.size()) + " attention slots, " +
                                     "expected " + std::to_string(slots) + ")");
    for (size_t s = 0; s < slots; ++s) {
      const Node& node = g.nodes[static_cast<size_t>(impl_->attention_nodes[s])];
      const int64_t width = g.values[static_cast<size_t>(node.inputs[1])].shape[1];
      const Shape expected{batch, cache->tokens_, width};
      if (cache->keys[s].shape() != expected || cache->values[s].shape() != expected)
        return Status::InvalidArgument(
            "the KvCache holds keys of shape " + ShapeToString(cache->keys[s].shape()) +
            " for attention slot " + std::to_string(s) + ", expected " + ShapeToString(expected) +
            " (same graph and batch as the previous calls)");
    }
  }
  graph_internal::CachedKv kv(std::move(slot_of_node), cached ? cache->keys : kEmpty,
                              cached ? cache->values : kEmpty);
  auto outputs = impl_->executor->Execute(0, static_cast<int>(g.nodes.size()), g.inputs, inputs,
                                          g.outputs, &kv, trace);
  if (!outputs.ok()) return outputs.status();  // the cache is left as it was
  cache->keys = kv.TakeKeys();
  cache->values = kv.TakeValues();
  cache->tokens_ += tokens;
  return outputs;
}

}  // namespace veil
