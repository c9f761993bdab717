// How one segment of a graph maps onto a standalone graph (docs/format.md, "Segments").
#pragma once

#include <vector>

#include "veil/graph.h"
#include "veil/status.h"

namespace veil::format {

// Invariants: local_to_global lists every value the segment reads or writes, boundary
// inputs first (in Graph::SegmentInputs order), then the values its nodes produce in
// node and output order; global_to_local is its inverse (-1 for untouched values).
struct SegmentLayout {
  Segment segment;
  std::vector<int> local_to_global;
  std::vector<int> global_to_local;
  std::vector<int> inputs;   // graph value ids, Graph::SegmentInputs(segment)
  std::vector<int> outputs;  // graph value ids, Graph::SegmentOutputs(segment)
};

// InvalidArgument if the index is not one of graph.EffectiveSegments(), the segment is
// not within the node list, or any value id in the graph is out of range.
Result<SegmentLayout> ComputeSegmentLayout(const Graph& graph, int segment_index);

}  // namespace veil::format
