#include "segment_layout.h"

#include <string>

namespace veil::format {
namespace {

bool IdsInRange(const std::vector<int>& ids, size_t num_values) {
  for (int id : ids)
    if (id < 0 || static_cast<size_t>(id) >= num_values) return false;
  return true;
}

}  // namespace

Result<SegmentLayout> ComputeSegmentLayout(const Graph& graph, int segment_index) {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  if (segment_index < 0 || static_cast<size_t>(segment_index) >= segments.size()) {
    return Status::InvalidArgument("segment index " + std::to_string(segment_index) +
                                   " out of range [0, " + std::to_string(segments.size()) + ")");
  }
  SegmentLayout layout;
  layout.segment = segments[segment_index];
  const Segment& seg = layout.segment;
  if (seg.begin < 0 || seg.begin > seg.end || static_cast<size_t>(seg.end) > graph.nodes.size()) {
    return Status::InvalidArgument("segment " + std::to_string(segment_index) +
                                   " is outside the node list");
  }
  // Graph::SegmentInputs/Outputs index by value id without checking, over all nodes.
  const size_t num_values = graph.values.size();
  for (const Node& node : graph.nodes)
    if (!IdsInRange(node.inputs, num_values) || !IdsInRange(node.outputs, num_values))
      return Status::InvalidArgument("node '" + node.name + "' has a value id out of range");
  if (!IdsInRange(graph.outputs, num_values))
    return Status::InvalidArgument("a graph output value id is out of range");

  layout.inputs = graph.SegmentInputs(seg);
  layout.outputs = graph.SegmentOutputs(seg);
  layout.global_to_local.assign(num_values, -1);
  auto map = [&](int id) {
    if (layout.global_to_local[id] >= 0) return;
    layout.global_to_local[id] = static_cast<int>(layout.local_to_global.size());
    layout.local_to_global.push_back(id);
  };
  for (int id : layout.inputs) map(id);
  for (int i = seg.begin; i < seg.end; ++i)
    for (int id : graph.nodes[i].outputs) map(id);
  // Every node input is a boundary input or produced earlier in the segment; a graph
  // that breaks this (reads a value before producing it) is not single-assignment.
  for (int i = seg.begin; i < seg.end; ++i)
    for (int id : graph.nodes[i].inputs)
      if (layout.global_to_local[id] < 0)
        return Status::Internal("segment input " + std::to_string(id) + " was not mapped");
  return layout;
}

}  // namespace veil::format
