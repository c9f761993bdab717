// Proofs of whole segments, chained through activation commitments (issue 5).
//
// Activation layout: an int8 activation with batch B and per-sample shape S is committed as
// a Hyrax matrix with B rows of NumElements(S) columns (per-sample row-major order, so NCHW
// images are [B, C·H·W] with column c·H·W + i·W + j). Reshape keeps that order, so it is the
// identity on commitments.
//
// Segments are DAGs: the prover and verifier keep a map value id -> committed activation
// (prover: ActivationOpening, verifier: HyraxCommitment) seeded with the segment's inputs
// (Graph::SegmentInputs order); each node reads its inputs from the map and adds its output,
// so internal fan-out (a residual Add) and several inputs/outputs (Graph::SegmentOutputs)
// need nothing special. Provable ops (each with its own sub-proof, see docs/zk.md):
//   Reshape      identity on commitments
//   Linear       LinearProof + RequantizeProof (linear_proof.h); a per-sample input [T, K] of
//                rank > 1 (tokens) is proven over the B·T tokens (LinearStatement::group;
//                K and N powers of two, else refused)
//   Conv2d       group 1: ConvProof + RequantizeProof with per-column parameters
//                (conv_proof.h); other groups are refused with kUnsupported naming the node
//   Lookup       LookupProof against the node's public table (lookup_proof.h)
//   Requantize   RequantizeProof with the int8 input commitment as accumulator
//   Add          two int8 inputs of one shape: the accumulator commitment a·Ma + b·Mb is
//                formed homomorphically by both sides, then RequantizeProof (multiplier 1,
//                the node's shift; |acc| < 2^39); with the committed int8 param `constant`
//                (a suffix of a's shape, e.g. a position embedding) the prover commits its
//                broadcast [B, width] and ties it to the model commitment's tensor by two
//                tensor openings and an equality proof (src/zk/ops/elementwise_op.cc); a
//                broadcast second input is refused
//   MaxPool2d    MaxProof (pool_proof.h), kernels of at most 7 taps
//   AvgPool2d, ReduceMean   MeanProof (pool_proof.h), any divisor per output
//   Transpose    TransposeProof (transpose_proof.h), perm from the node
//   LayerNorm    LayerNormProof (layernorm_proof.h) over rows of the last axis, public gamma,
//                beta, eps, shift (bound by the segment's public digest)
//   Attention    fused q, k, v [T, H·D]: AttentionProof (attention_proof.h: product cores,
//                requantizations, Softmax with causal prefixes)
//   MatMul       per-sample [M, K] × [K, N] (or transpose_b): MatMulProof (matmul_proof.h);
//                batched leading dims are refused
//   Softmax      SoftmaxProof (softmax_proof.h) over the last axis
// RmsNorm, Embedding, Mul and anything else are refused with kUnsupported naming the node and op. Each op is one
// OpHandler in src/zk/ops/ (check / prove / verify / write / read).
//
// A segment proof binds (via its transcript, domain "veil/zk/segment/v3", which absorbs all
// of it before any challenge) the model commitment digest, the segment index, the segment's
// public digest, the batch size and every input commitment; per proven node it absorbs the
// node index and the accumulator and output commitments before that node's sub-proofs draw
// challenges. The output commitments of segment i are the input commitments of the segments
// that read those values, which VerifyChain checks by value id.
//
// Proof file (version 3): "VEILZKP\0" | u32 version = 3 | 32-byte model commitment digest |
//   u32 segment | u32 batch | u32 #inputs | input commitments | u32 #layers | per proven node:
//   u32 node, then by op (fixed by the graph, not by the bytes):
//     Linear:      accumulator | output | LinearProof | RequantizeProof
//     Conv2d:      accumulator | output | ConvProof | RequantizeProof
//     Lookup:      output | LookupProof
//     Requantize:  output | RequantizeProof
//     Add:         output | RequantizeProof (two inputs), or output | broadcast commitment |
//                  broadcast opening | constant opening | EqualityProof | RequantizeProof
//                  (a `constant` param)
//     MaxPool2d:   output | MaxProof
//     AvgPool2d, ReduceMean: output | MeanProof
//     Transpose:   output | TransposeProof
//     LayerNorm:   output | LayerNormProof
//     Attention:   output | AttentionProof
//     MatMul:      output | MatMulProof
//     Softmax:     output | SoftmaxProof
// (Layers of the ops above that existed before the ViT ops keep their bytes: the version
// stays 3; the new layouts are new op kinds and the Add constant form, formerly refused.)
// Version 2 (single-chain, one input) and 1 are no longer read (error naming the version).
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
#include "veil/zk/attention_proof.h"
#include "veil/zk/conv_proof.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/layernorm_proof.h"
#include "veil/zk/linear_proof.h"
#include "veil/zk/lookup_proof.h"
#include "veil/zk/matmul_proof.h"
#include "veil/zk/model_commitment.h"
#include "veil/zk/pool_proof.h"
#include "veil/zk/requantize_proof.h"
#include "veil/zk/softmax_proof.h"
#include "veil/zk/transpose_proof.h"

namespace veil::zk {

// A committed activation and its opening (what a prover hands to the next segment's prover;
// the client keeps the opening of the first input and receives those of the last outputs).
struct ActivationOpening {
  Tensor values;  // int8 [B, ...]
  std::vector<Scalar> blinds;
  HyraxCommitment commitment;
  int value = -1;  // the graph value it commits to (-1: not named; segment outputs are named)
};

// One proven node. Which members are used depends on the op (see the file comment); the
// others stay empty.
struct SegmentLayerProof {
  uint32_t node = 0;
  OpKind kind = OpKind::kLinear;  // not serialized (the graph fixes it)
  HyraxCommitment accumulator;    // Linear, Conv2d (Linear over tokens: [B, T·N])
  HyraxCommitment output;
  LinearProof linear;
  ConvProof conv;
  RequantizeProof requantize;  // Linear, Conv2d, Requantize, Add
  LookupProof lookup;
  MaxProof max;    // MaxPool2d
  MeanProof mean;  // AvgPool2d, ReduceMean
  // Add of a committed `constant` param: the constant broadcast to [B, width] (fresh blinds),
  // its tensor opening and the constant's (model commitment) opening, and their equality.
  HyraxCommitment broadcast;
  HyraxEvaluationProof broadcast_opening, constant_opening;
  EqualityProof broadcast_equal;
  TransposeProof transpose;
  LayerNormProof layernorm;
  AttentionProof attention;
  MatMulProof matmul;
  SoftmaxProof softmax;
};

struct SegmentProof {
  Digest model_commitment{};
  uint32_t segment = 0;
  uint32_t batch = 0;
  std::vector<HyraxCommitment> inputs;  // Graph::SegmentInputs order
  std::vector<SegmentLayerProof> layers;
  // Graph::SegmentOutputs order. Not serialized: ProveSegment and ParseSegmentProof derive it
  // from the layers, and VerifySegment checks that it matches them.
  std::vector<HyraxCommitment> outputs;

  const HyraxCommitment& input() const { return inputs.front(); }
  // The commitment to the segment's first output.
  const HyraxCommitment& output() const { return outputs.front(); }
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
  ActivationOpening output;                // the first output (outputs[0])
  std::vector<ActivationOpening> outputs;  // Graph::SegmentOutputs order, values named
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
// The general form: one opening per Graph::SegmentInputs value, in that order.
Result<SegmentProverOutput> ProveSegment(const Graph& graph, const ModelCommitment& commitment,
                                         const CommitmentSeed& seed, int segment,
                                         std::span<const ActivationOpening> inputs,
                                         const ProveProgress& progress = {},
                                         ThreadPool* pool = nullptr);

// Checks a proof for `segment` of `graph` under `commitment`. The graph supplies the public
// parameters; it must match the commitment (CheckCommitmentMatchesGraph).
Status VerifySegment(const Graph& graph, const ModelCommitment& commitment,
                     const SegmentProof& proof);

// Checks proofs[0..n) as a chain: proof i is for segment first + i, and every input
// commitment of a proof whose value an earlier proof of the chain produced equals that
// proof's output commitment (matched by value id). Errors name the first failing segment.
Status VerifyChain(const Graph& graph, const ModelCommitment& commitment,
                   std::span<const SegmentProof> proofs);

// Opening file (private: it reveals the activations): "VEILZKO\0" | u32 version = 2 |
// u32 count (1..64) | per activation: i32 value id (-1: unnamed) | u32 rank | u64 dims... |
// int8 values | blinds (counted scalars) | Hyrax commitment. Version 1 files (one unnamed
// activation, no count and id) are still read. Parsing checks that every commitment opens to
// its values with its blinds.
std::vector<uint8_t> SerializeActivationOpening(const ActivationOpening& opening);
std::vector<uint8_t> SerializeActivationOpenings(std::span<const ActivationOpening> openings);
// Exactly one activation.
Result<ActivationOpening> ParseActivationOpening(std::span<const uint8_t> bytes,
                                                 const CommitmentKey& key);
Result<std::vector<ActivationOpening>> ParseActivationOpenings(std::span<const uint8_t> bytes,
                                                               const CommitmentKey& key);

std::vector<uint8_t> SerializeSegmentProof(const SegmentProof& proof);
// Shapes come from the graph (public), so decoding needs it.
Result<SegmentProof> ParseSegmentProof(std::span<const uint8_t> bytes, const Graph& graph);

}  // namespace veil::zk
