// Test-only fault injection for consensus nodes (issue 4, docs/consensus.md "Faults").
//
// A NodeServer built with VEIL_FAULT_INJECTION (the test suite's veil_net_faulty library)
// lets a test make one node lie in a chosen way. Every production library and binary is
// built without that definition: there the fault code does not exist, and NodeServer::Start
// refuses options that carry a NodeFaults object. No flag or environment variable of the
// `veil` binary reaches this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

enum class FaultKind {
  kFlipBits,        // flips a bit of the first output element after an honest run
  kPerturbWeights,  // runs the segment with one channel's weights changed by 1
  kSkipLayer,       // runs the segment with one layer's computation skipped
  kStale,           // answers with the previous round's output (honest the first time)
  kEquivocate,      // reveals under a second, different signed commitment
  kCopy,            // commits to another member's commitment hash instead of computing
  kStall,           // delays the commitment by stall_ms (past the commit deadline)
  kCrash,           // calls on_crash and fails every consensus call from then on
};
const char* FaultKindName(FaultKind kind);

struct NodeFaults {
  FaultKind kind = FaultKind::kFlipBits;
  int64_t stall_ms = 0;
  std::string copy_from;  // kCopy: address of the member whose commitment it copies
  std::function<void()> on_crash;

  // The segment graph the faulty node runs instead (kPerturbWeights, kSkipLayer); set by
  // PrepareNodeFaults from the hosted segment.
  std::unique_ptr<Session> altered;
  Graph altered_graph;     // the graph `altered` runs (ProveSegment proves with its params)
  int altered_layer = -1;  // the layer whose weights/computation were altered
  // kStale: the previous round's results.
  std::mutex mutex;
  bool has_previous = false;
  std::vector<Tensor> previous_outputs;
  std::vector<Digest> previous_trace;
  bool crashed = false;
};

// ProveSegment (proof mode): a kPerturbWeights node proves with the perturbed weights (the
// proof is well formed but does not verify under the owner's commitment); a kFlipBits node
// flips a byte in the middle of the serialized proof.
//
// Builds `faults->altered` for kPerturbWeights (every weight of output channel 0 of the
// first Linear or Conv2d layer + 1, or -1 at the clamp) and kSkipLayer (the last
// non-Reshape layer whose input and output have equal sizes becomes a Reshape of its input;
// otherwise the last Linear/Conv2d layer outputs zeros). No-op for the other kinds.
Status PrepareNodeFaults(const Graph& segment_graph, NodeFaults* faults);

}  // namespace veil::net
