// Per-op pieces of segment proofs (segment_proof.cc): one OpHandler per provable op kind,
// each in its own file under src/zk/ops/, found through FindOp. Adding an op to segment
// proofs means one handler (check / prove / verify / write / read), one SegmentLayerProof
// member for its sub-proof, and one line in FindOp (common.cc).
//
// Conventions every handler follows:
//   * prove: reads its inputs from ctx.values (value id -> opening), computes and commits its
//     output with ctx.Output (fresh blinds), sets layer->output (and layer->accumulator if
//     the op has one), calls AbsorbLayer before drawing any challenge, then runs its
//     sub-proofs on ctx.t;
//   * verify: called after the segment code checked the output commitment's shape and
//     absorbed the layer (AbsorbLayer); reads its input commitments from ctx.values;
//   * write / read: the payload after `u32 node | [accumulator] | output` (the segment code
//     writes and reads those); shapes come from the graph, never from the bytes.
// Internal to src/zk.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/zk/segment_proof.h"

namespace veil::zk::ops {

const Shape& ValueShape(const Graph& g, int v);
size_t ValueWidth(const Graph& g, int v);  // elements per sample
std::string NodeLabel(const Graph& g, int n);
int64_t AttrAt(const Node& node, const char* name, size_t i, int64_t fallback);
std::vector<int64_t> PerChannel(const Tensor* t, size_t n);

struct ProverContext {
  const Graph& graph;
  const SegmentCommitment& sc;
  const CommitmentSeed& seed;
  int segment;
  size_t B;
  const CommitmentKey& key;
  Transcript* t;
  ThreadPool* pool;
  std::map<int, ActivationOpening> values;

  const ActivationOpening& In(const Node& node, size_t i) const {
    return values.at(node.inputs[i]);
  }
  size_t Width(int value) const { return ValueWidth(graph, value); }
  // Commits y (int8 [B, width of the node's output]) with fresh blinds as the node's output
  // and records it under the output's value id.
  Result<ActivationOpening*> Output(const Node& node, std::vector<int8_t> y);
};

struct VerifierContext {
  const Graph& graph;
  const SegmentCommitment& sc;
  size_t B;
  const CommitmentKey& key;
  Transcript* t;
  BatchVerifier* batch;
  std::map<int, const HyraxCommitment*> values;

  const HyraxCommitment& In(const Node& node, size_t i) const { return *values.at(node.inputs[i]); }
  size_t Width(int value) const { return ValueWidth(graph, value); }
};

// Absorbs node index, accumulator and output commitments (before the node's challenges).
void AbsorbLayer(Transcript* t, const SegmentLayerProof& l);

// The requantization statement of a node whose output is [B, width] (accumulator and output
// commitments left empty): Linear per-channel along the row (channel j mod N: repeating
// per token for a [T, K] input), Conv2d channel j / (OH·OW),
// Requantize per-channel along the last axis, Add multiplier 1 and the node's shift.
RequantizeStatement DescribeRequantize(const Graph& g, const Node& node, size_t B, size_t width);
// The common first step of a node whose int32 accumulators `acc` ([B, width]) are
// requantized to its output (Linear, Conv2d): commits the accumulators with `acc_blinds`
// into layer->accumulator, computes and commits the output (ctx.Output) into
// layer->output, and absorbs the layer. Returns the output opening.
Result<ActivationOpening*> CommitAccumulatedLayer(ProverContext& ctx, const Node& node,
                                                  std::span<const int32_t> acc, size_t B,
                                                  size_t width,
                                                  const std::vector<Scalar>& acc_blinds,
                                                  SegmentLayerProof* layer);
// Proves / verifies / reads the node's requantization from `acc` to the output.
Result<RequantizeProof> ProveNodeRequantize(ProverContext& ctx, const Node& node,
                                            const HyraxCommitment& acc,
                                            std::span<const int32_t> acc32,
                                            std::span<const int64_t> acc64,
                                            const std::vector<Scalar>& acc_blinds,
                                            const ActivationOpening& out);
Status VerifyNodeRequantize(VerifierContext& ctx, const Node& node, const HyraxCommitment& acc,
                            const SegmentLayerProof& l);
Result<RequantizeProof> ReadNodeRequantize(ZkReader* in, const Graph& g, const Node& node, size_t B,
                                           const SegmentLayerProof& l);

struct OpHandler {
  bool has_accumulator = false;  // Linear, Conv2d: an accumulator commitment precedes output
  // Op-specific provability beyond the op kind (kUnsupported naming the node), may be null.
  Status (*check)(const Graph& g, int n) = nullptr;
  Status (*prove)(ProverContext& ctx, int n, SegmentLayerProof* layer) = nullptr;
  Status (*verify)(VerifierContext& ctx, int n, const SegmentLayerProof& layer) = nullptr;
  void (*write)(std::vector<uint8_t>* out, const SegmentLayerProof& layer) = nullptr;
  Status (*read)(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* layer) = nullptr;
};

// The handler of a provable op (Reshape, the identity on commitments, has none: nullptr, as
// for every op that is not provable).
const OpHandler* FindOp(OpKind kind);

extern const OpHandler kLinearOp, kConv2dOp, kLookupOp, kRequantizeOp, kAddOp, kMaxPoolOp, kMeanOp,
    kTransposeOp, kLayerNormOp, kAttentionOp, kMatMulOp, kSoftmaxOp;

}  // namespace veil::zk::ops
