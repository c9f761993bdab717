// Proofs of whole segments, chained through activation commitments (issue 5, first slice).
//
// Activation layout: an int8 activation with batch B and per-sample shape S is committed as
// a Hyrax matrix with B rows of NumElements(S) columns (per-sample row-major order). Reshape
// keeps that order, so it is the identity on commitments; a Linear whose per-sample input
// is one-dimensional [K] reads exactly this matrix (T = B tokens).
//
// Provable today: segments with one input and one output value whose nodes are Reshape,
// Linear (per-sample input of rank 1, with its fused Requantize/clamp), Lookup (any
// per-sample shape, against the node's public table; lookup_proof.h) and Requantize (any
// per-sample shape; per-channel parameters along the last axis; requantize_proof.h with
// the input commitment as the accumulator). Any other op, or a Linear over a rank > 1
// input, is refused with kUnsupported naming the node and op.
//
// A segment proof binds (via its transcript, which absorbs all of it before any challenge)
// the model commitment digest, the segment index, the segment's public digest, the batch
// size and the input commitment; per Linear it carries the accumulator and output
// commitments, a LinearProof (against the committed weight and bias of the model
// commitment) and a RequantizeProof; per Lookup the output commitment and a LookupProof.
// The output commitment of segment i is the input commitment that segment i + 1's proof
// must carry, which VerifyChain checks.
//
// Proof file: "VEILZKP\0" | u32 version = 2 | 32-byte model commitment digest |
//   u32 segment | u32 batch | input commitment | u32 #layers | per layer: u32 node, then
//   for a Linear node: accumulator commitment | output commitment | LinearProof |
//   RequantizeProof; for a Lookup node: output commitment | LookupProof; for a Requantize
//   node: output commitment | RequantizeProof. (Which one is
//   fixed by the graph, not by the bytes. Version 1, Linear-only, is no longer read.)
// Decoding is strict (bounded counts, exact shapes from the statement, no trailing bytes).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/linear_proof.h"
#include "veil/zk/lookup_proof.h"
#include "veil/zk/model_commitment.h"
#include "veil/zk/requantize_proof.h"

namespace veil::zk {

// A committed activation and its opening (what a prover hands to the next segment's prover;
// the client keeps the opening of the first input and receives that of the last output).
struct ActivationOpening {
  Tensor values;  // int8 [B, ...]
  std::vector<Scalar> blinds;
  HyraxCommitment commitment;
};

// One proven node. Linear nodes use accumulator, output, linear and requantize; Lookup
// nodes output and lookup; Requantize nodes output and requantize (the other members stay
// empty).
struct SegmentLayerProof {
  uint32_t node = 0;
  OpKind kind = OpKind::kLinear;  // kLinear, kLookup or kRequantize; not serialized (the
                                  // graph fixes it)
  HyraxCommitment accumulator;
  HyraxCommitment output;
  LinearProof linear;
  RequantizeProof requantize;
  LookupProof lookup;
};

struct SegmentProof {
  Digest model_commitment{};
  uint32_t segment = 0;
  uint32_t batch = 0;
  HyraxCommitment input;
  std::vector<SegmentLayerProof> layers;

  // The commitment to the segment's output (the input's when the segment has only
  // Reshapes).
  const HyraxCommitment& output() const { return layers.empty() ? input : layers.back().output; }
};

// Ok if every node of the segment is provable; else kUnsupported naming the first node that
// is not.
Status CheckSegmentProvable(const Graph& graph, int segment);

// The commitment key proofs of `graph` under `commitment` use (deterministic).
CommitmentKey SegmentProofKey(const Graph& graph, const ModelCommitment& commitment);

// Commits to an int8 activation [B, ...] with fresh blinds.
Result<ActivationOpening> CommitActivation(const CommitmentKey& key, const Tensor& values);

struct SegmentProverOutput {
  SegmentProof proof;
  ActivationOpening output;
};

// Progress of a segment proof: called before each proven node (done = nodes proven so far,
// total = nodes to prove, label names the node and op) and once at the end (done == total).
using ProveProgress = std::function<void(size_t done, size_t total, const std::string& label)>;

// Runs the segment on `input` (veil's exact arithmetic) and proves it. `seed` is the model
// owner's commitment secret (model_commitment.h). `progress` may be empty; `pool` (optional)
// parallelises the prover's commitments (the proof's validity does not depend on it).
Result<SegmentProverOutput> ProveSegment(const Graph& graph, const ModelCommitment& commitment,
                                         const CommitmentSeed& seed, int segment,
                                         const ActivationOpening& input,
                                         const ProveProgress& progress = {},
                                         ThreadPool* pool = nullptr);

// Checks a proof for `segment` of `graph` under `commitment`. The graph supplies the public
// parameters; it must match the commitment (CheckCommitmentMatchesGraph).
Status VerifySegment(const Graph& graph, const ModelCommitment& commitment,
                     const SegmentProof& proof);

// Checks proofs[0..n) as a chain: proof i is for segment first + i, and each proof's input
// commitment is the previous proof's output commitment. Errors name the first failing
// segment.
Status VerifyChain(const Graph& graph, const ModelCommitment& commitment,
                   std::span<const SegmentProof> proofs);

// Opening file (private: it reveals the activation): "VEILZKO\0" | u32 version = 1 |
// u32 rank | u64 dims... | int8 values | blinds (counted scalars) | Hyrax commitment.
// Parsing checks that the commitment opens to the values with the blinds.
std::vector<uint8_t> SerializeActivationOpening(const ActivationOpening& opening);
Result<ActivationOpening> ParseActivationOpening(std::span<const uint8_t> bytes,
                                                 const CommitmentKey& key);

std::vector<uint8_t> SerializeSegmentProof(const SegmentProof& proof);
// Shapes come from the graph (public), so decoding needs it.
Result<SegmentProof> ParseSegmentProof(std::span<const uint8_t> bytes, const Graph& graph);

}  // namespace veil::zk
