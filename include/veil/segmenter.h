// Cutting a graph into segments: the units nodes host, consensus compares and proofs cover.
#pragma once

#include "veil/graph.h"
#include "veil/status.h"

namespace veil {

// An estimate of a node's work (multiply-accumulates, or elements touched), used to
// balance segments.
int64_t NodeCost(const Graph& graph, const Node& node);

// Replaces graph->segments with `count` contiguous segments of roughly equal total
// NodeCost (each at least one node). InvalidArgument if count < 1 or > nodes.
Status SplitIntoSegments(Graph* graph, int count);

}  // namespace veil
