#include "veil/segmenter.h"

#include <algorithm>

namespace veil {

int64_t NodeCost(const Graph& graph, const Node& node) {
  auto elements = [&](int value) {
    int64_t n = 1;
    for (int64_t d : graph.values[value].shape) n *= d == kDynamicDim ? 64 : d;
    return n;
  };
  const int64_t out = node.outputs.empty() ? 1 : elements(node.outputs[0]);
  switch (node.kind) {
    case OpKind::kLinear:
    case OpKind::kConv2d: {
      const Tensor* w = node.FindParam("weight");
      return out * (w ? w->size() / std::max<int64_t>(1, w->dim(0)) : 1);
    }
    case OpKind::kAttention: {
      const Shape& q = graph.values[node.inputs[0]].shape;
      const int64_t t = q.empty() || q[0] == kDynamicDim ? 64 : q[0];
      return 2 * out * t;
    }
    case OpKind::kMatMul: {
      const Shape& a = graph.values[node.inputs[0]].shape;
      return out * (a.empty() ? 1 : a.back());
    }
    default:
      return out;
  }
}

Status SplitIntoSegments(Graph* graph, int count) {
  const int n = static_cast<int>(graph->nodes.size());
  if (count < 1 || count > n)
    return Status::InvalidArgument("cannot cut " + std::to_string(n) + " nodes into " + std::to_string(count) +
                                   " segments");
  std::vector<int64_t> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + std::max<int64_t>(1, NodeCost(*graph, graph->nodes[i]));
  std::vector<Segment> segments;
  int begin = 0;
  for (int s = 0; s < count; ++s) {
    int end = n;
    if (s + 1 < count) {
      // The cut whose prefix cost is closest to the ideal, leaving a node for each later segment.
      const int64_t target = prefix[n] * (s + 1) / count;
      end = begin + 1;
      while (end < n - (count - s - 1) && prefix[end + 1] <= target) ++end;
      if (end < n - (count - s - 1) && target - prefix[end] > prefix[end + 1] - target) ++end;
    }
    segments.push_back({begin, end});
    begin = end;
  }
  graph->segments = std::move(segments);
  return Status::Ok();
}

}  // namespace veil
