#include "veil/net/split_inference.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "veil/model_file.h"

namespace veil::net {

Result<Route> ParseRoute(const std::string& spec) {
  Route route;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) {
      if (comma == spec.size()) break;
      return Status::InvalidArgument("route: empty entry in '" + spec + "'");
    }
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      return Status::InvalidArgument("route: '" + item + "' is not segN=host:port");
    std::string key = item.substr(0, eq);
    const std::string address = item.substr(eq + 1);
    if (key.rfind("seg", 0) == 0) key = key.substr(3);
    if (key.empty() || key.size() > 6 ||
        !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Status::InvalidArgument("route: bad segment index in '" + item + "'");
    if (address.find(':') == std::string::npos || address.size() < 3)
      return Status::InvalidArgument("route: '" + address + "' is not host:port");
    const int index = std::stoi(key);
    if (!route.emplace(index, address).second)
      return Status::InvalidArgument("route: segment " + std::to_string(index) + " given twice");
  }
  if (route.empty()) return Status::InvalidArgument("route is empty");
  return route;
}

struct SplitRunner::Impl {
  Graph graph;
  std::vector<Segment> segments;
  Digest model_digest{};
  std::vector<Digest> segment_digests;
  std::unique_ptr<Session> local;
  std::unordered_map<std::string, std::unique_ptr<NodeClient>> clients;
  std::vector<NodeClient*> remote;  // per segment; nullptr = local
  std::atomic<uint64_t> counter{0};
};

SplitRunner::SplitRunner() : impl_(std::make_unique<Impl>()) {}
SplitRunner::~SplitRunner() = default;

Result<std::unique_ptr<SplitRunner>> SplitRunner::Create(const Graph& graph, const Route& route,
                                                         SessionOptions session,
                                                         NodeClientOptions client) {
  std::unique_ptr<SplitRunner> runner(new SplitRunner());
  Impl& impl = *runner->impl_;
  impl.graph = graph;
  impl.segments = graph.EffectiveSegments();
  const int count = static_cast<int>(impl.segments.size());
  if (count < 3)
    return Status::InvalidArgument(
        "U-shaped split needs at least 3 segments (first and last stay local); the model has " +
        std::to_string(count));
  for (const auto& [index, address] : route)
    if (index <= 0 || index >= count - 1)
      return Status::InvalidArgument("route names segment " + std::to_string(index) +
                                     ": only the middle segments 1.." + std::to_string(count - 2) +
                                     " run remotely (the first and last stay with the client)");
  VEIL_ASSIGN_OR_RETURN(impl.local, Session::Create(graph, session));
  impl.model_digest = ModelDigest(graph);
  impl.remote.assign(static_cast<size_t>(count), nullptr);
  for (int s = 0; s < count; ++s) {
    impl.segment_digests.push_back(SegmentDigest(graph, s));
    if (s == 0 || s == count - 1) continue;
    const auto it = route.find(s);
    if (it == route.end())
      return Status::InvalidArgument("route names no node for segment " + std::to_string(s));
    // U-shape: raw inputs and final outputs never leave the client.
    for (int v : graph.SegmentInputs(impl.segments[static_cast<size_t>(s)]))
      if (std::find(graph.inputs.begin(), graph.inputs.end(), v) != graph.inputs.end())
        return Status::Unsupported("segment " + std::to_string(s) +
                                   " reads a graph input; it cannot run remotely");
    for (int v : graph.SegmentOutputs(impl.segments[static_cast<size_t>(s)]))
      if (std::find(graph.outputs.begin(), graph.outputs.end(), v) != graph.outputs.end())
        return Status::Unsupported("segment " + std::to_string(s) +
                                   " produces a graph output; it cannot run remotely");
    auto& c = impl.clients[it->second];
    if (c == nullptr) {
      VEIL_ASSIGN_OR_RETURN(c, NodeClient::Connect(it->second, client));
    }
    impl.remote[static_cast<size_t>(s)] = c.get();
  }
  return runner;
}

Result<SplitResult> SplitRunner::Run(const std::vector<Tensor>& inputs) {
  Impl& impl = *impl_;
  const Graph& g = impl.graph;
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("model takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  std::unordered_map<int, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[g.inputs[i]] = inputs[i];
  const uint64_t request = impl.counter.fetch_add(1);
  SplitResult result;
  for (size_t s = 0; s < impl.segments.size(); ++s) {
    const std::vector<int> in_ids = g.SegmentInputs(impl.segments[s]);
    const std::vector<int> out_ids = g.SegmentOutputs(impl.segments[s]);
    std::vector<Tensor> seg_inputs;
    for (int id : in_ids) {
      const auto it = values.find(id);
      if (it == values.end())
        return Status::Internal("segment input value " + std::to_string(id) + " not computed");
      seg_inputs.push_back(it->second);
    }
    SplitStage stage;
    stage.segment_index = static_cast<int>(s);
    std::vector<Tensor> seg_outputs;
    if (impl.remote[s] == nullptr) {
      RunTrace trace;
      VEIL_ASSIGN_OR_RETURN(seg_outputs,
                            impl.local->RunSegment(static_cast<int>(s), seg_inputs, &trace));
      stage.served_by = "local";
      stage.trace_digests = trace.node_digests;
    } else {
      NodeClient* node = impl.remote[s];
      const std::string id = "split-" + std::to_string(request) + "-seg" + std::to_string(s);
      VEIL_ASSIGN_OR_RETURN(SegmentReply reply,
                            node->RunSegment(id, impl.model_digest, static_cast<int>(s),
                                             impl.segment_digests[s], seg_inputs));
      seg_outputs = std::move(reply.outputs);
      stage.served_by = node->address();
      stage.trace_digests = std::move(reply.trace_digests);
      // A node's outputs are untrusted: check them against the segment's output values.
      if (seg_outputs.size() != out_ids.size())
        return Status::Corrupt("node " + node->address() + " returned " +
                               std::to_string(seg_outputs.size()) + " outputs for segment " +
                               std::to_string(s) + ", expected " + std::to_string(out_ids.size()));
      const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 0 : inputs[0].dim(0);
      for (size_t i = 0; i < out_ids.size(); ++i) {
        const Value& v = g.values[static_cast<size_t>(out_ids[i])];
        const Tensor& t = seg_outputs[i];
        bool ok = t.dtype() == v.dtype && t.rank() == v.shape.size() + 1 && t.dim(0) == batch;
        for (size_t j = 0; ok && j < v.shape.size(); ++j)
          ok = v.shape[j] == kDynamicDim || v.shape[j] == t.dim(j + 1);
        if (!ok)
          return Status::Corrupt("node " + node->address() + " returned output " +
                                 std::to_string(i) + " of segment " + std::to_string(s) +
                                 " with dtype " + DTypeName(t.dtype()) + " dims " +
                                 ShapeToString(t.shape()) + ", expected " + DTypeName(v.dtype) +
                                 " [B] + " + ShapeToString(v.shape));
      }
    }
    if (seg_outputs.size() != out_ids.size())
      return Status::Internal("segment output count mismatch");
    for (size_t i = 0; i < out_ids.size(); ++i) values[out_ids[i]] = std::move(seg_outputs[i]);
    result.stages.push_back(std::move(stage));
  }
  for (int id : g.outputs) {
    const auto it = values.find(id);
    if (it == values.end())
      return Status::Internal("graph output " + std::to_string(id) + " not computed");
    result.outputs.push_back(it->second);
  }
  return result;
}

}  // namespace veil::net
