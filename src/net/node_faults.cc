// Test-only (see node_faults.h): compiled into veil_net_faulty only.
#include "node_faults.h"

#include <algorithm>

#ifndef VEIL_FAULT_INJECTION
#error "node_faults.cc is test-only: build it only with VEIL_FAULT_INJECTION (veil_net_faulty)"
#endif

namespace veil::net {

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kFlipBits:
      return "flip-bits";
    case FaultKind::kPerturbWeights:
      return "perturb-weights";
    case FaultKind::kSkipLayer:
      return "skip-layer";
    case FaultKind::kStale:
      return "stale";
    case FaultKind::kEquivocate:
      return "equivocate";
    case FaultKind::kCopy:
      return "copy";
    case FaultKind::kStall:
      return "stall";
    case FaultKind::kCrash:
      return "crash";
  }
  return "?";
}

namespace {

int64_t Elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

Status PrepareNodeFaults(const Graph& segment_graph, NodeFaults* faults) {
  if (faults->kind != FaultKind::kPerturbWeights && faults->kind != FaultKind::kSkipLayer)
    return Status::Ok();
  Graph g = segment_graph;
  if (faults->kind == FaultKind::kPerturbWeights) {
    for (size_t n = 0; n < g.nodes.size() && faults->altered_layer < 0; ++n) {
      Node& node = g.nodes[n];
      if (node.kind != OpKind::kLinear && node.kind != OpKind::kConv2d) continue;
      for (Param& p : node.params) {
        if (p.name != "weight" || p.tensor.rank() < 1 || p.tensor.dim(0) < 1) continue;
        // Every weight of output channel 0 moves by one: enough to change the layer's
        // output on ordinary inputs (a single weight may vanish in the requantization).
        const int64_t row = p.tensor.size() / p.tensor.dim(0);
        for (int64_t i = 0; i < row; ++i) {
          int8_t& w = p.tensor.i8()[static_cast<size_t>(i)];
          w = static_cast<int8_t>(w == 127 ? 126 : w + 1);
        }
        faults->altered_layer = static_cast<int>(n);
      }
    }
    if (faults->altered_layer < 0)
      return Status::InvalidArgument("perturb-weights: the segment has no Linear or Conv2d layer");
  } else {
    for (size_t n = g.nodes.size(); n-- > 0;) {
      Node& node = g.nodes[n];
      const Value& in = g.values[static_cast<size_t>(node.inputs[0])];
      const Value& out = g.values[static_cast<size_t>(node.outputs[0])];
      if (node.kind == OpKind::kReshape || in.dtype != DType::kInt8 ||
          Elements(in.shape) != Elements(out.shape) || Elements(in.shape) <= 0)
        continue;
      Node skip;
      skip.kind = OpKind::kReshape;
      skip.name = node.name + "(skipped)";
      skip.inputs = {node.inputs[0]};
      skip.outputs = node.outputs;
      skip.SetAttr("shape", out.shape);
      node = std::move(skip);
      faults->altered_layer = static_cast<int>(n);
      break;
    }
    if (faults->altered_layer < 0) {  // no size-preserving layer: emit zeros instead
      for (size_t n = g.nodes.size(); n-- > 0 && faults->altered_layer < 0;) {
        Node& node = g.nodes[n];
        if (node.kind != OpKind::kLinear && node.kind != OpKind::kConv2d) continue;
        for (Param& p : node.params)
          if (p.name == "weight" || p.name == "bias")
            std::fill(p.tensor.raw(), p.tensor.raw() + p.tensor.byte_size(), uint8_t{0});
        faults->altered_layer = static_cast<int>(n);
      }
    }
    if (faults->altered_layer < 0)
      return Status::InvalidArgument("skip-layer: no layer of the segment can be skipped");
  }
  VEIL_ASSIGN_OR_RETURN(faults->altered, Session::Create(g));
  faults->altered_graph = std::move(g);
  return Status::Ok();
}

}  // namespace veil::net
