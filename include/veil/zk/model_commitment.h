// Weight commitments for a whole model (`veil commit`): hiding, binding, transparent.
//
// Committed tensors, in canonical order: for each segment of graph.EffectiveSegments(), for
// each node of the segment in order, for each param of the node in its stored order, every
// int8 param except Lookup's `table` (weights, conv kernels, embedding tables) and every
// int32 param named `bias`. Everything else (multipliers, shifts, Lookup/Softmax tables,
// normalisation constants, attributes, shapes) is public: it is the architecture and
// quantization, which proofs reveal anyway, and it is bound by the segment's public digest.
//
// Each committed tensor is a Hyrax matrix (hyrax.h): rows = dim 0, columns = the product of
// the other dims (rank 1: one row; rank 0: 1×1). Row i of tensor `label` has the blind
// DeriveBlind(seed, label, i) with label "segment/<s>/node/<n>/<param>" and the owner's
// 32-byte secret seed, so the owner (and the nodes it entrusts with the weights) keep 32 bytes
// instead of one blind per row.
//
// Digests (SHA-256):
//   segment commitment digest = H("veil/zk/segment-commitment/v1" || encoded segment record)
//   model commitment digest   = H("veil/zk/model-commitment/v2" || LE64(#segments) ||
//                                 segment digests in order || SHA-256(description))
// The public digest of a segment covers op kinds, attributes and public params, and for
// committed params only their name, dtype and shape (not their values, which stay hidden).
//
// File (`MODEL.commit`), little-endian, decoded without trusting it:
//   "VEILZKC\0" (8) | u32 version = 2 | u32 max_row_length | u32 #segments |
//   per segment: u32 index | u32 node_begin | u32 node_end | 32-byte public digest |
//                u32 #tensors | per tensor: u32 node | u32 |name| | name | u8 dtype |
//                u32 rank | i64 dims... | Hyrax commitment (hyrax.h wire format)
//   | u64 |description| | description | 32-byte model commitment digest (checked on load).
// The description is the model's public part: the .veil encoding (docs/format.md) of the
// graph with every committed param replaced by a one-element zero placeholder of its dtype
// (its real shape is the committed tensor's). It lets anyone verify proofs from the
// commitment file alone, without the weights (PublicModel). Version 1 files (no
// description) are refused: re-run `veil commit`.
// Secret file (`MODEL.commit.secret`): "VEILZKS\0" | u32 version = 1 | 32-byte seed |
//   32-byte model commitment digest it belongs to.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"

namespace veil::zk {

inline constexpr uint32_t kModelCommitmentVersion = 2;
// Longest committed row (columns of one tensor); bounds the generator count a verifier
// derives for an untrusted file.
inline constexpr uint32_t kMaxCommittedRowLength = uint32_t{1} << 16;

struct CommittedTensor {
  uint32_t node = 0;
  std::string param;
  DType dtype = DType::kInt8;
  Shape shape;
  HyraxCommitment commitment;
};

struct SegmentCommitment {
  uint32_t index = 0;
  uint32_t node_begin = 0;
  uint32_t node_end = 0;
  Digest public_digest{};
  std::vector<CommittedTensor> tensors;

  const CommittedTensor* Find(uint32_t node, const std::string& param) const;
};

struct ModelCommitment {
  uint32_t max_row_length = 1;  // a power of two: the commitment key's generator count
  std::vector<SegmentCommitment> segments;
  std::vector<uint8_t> description;  // the public model description (see the file comment)
  Digest digest{};                   // model commitment digest
};

using CommitmentSeed = std::array<uint8_t, 32>;

// True if the canonical layout commits this param (see the file comment).
bool IsCommittedParam(const Node& node, const Param& param);
// The Hyrax matrix shape of a tensor: {rows, cols}.
std::pair<size_t, size_t> MatrixShape(const Shape& shape);
std::string BlindLabel(int segment, int node, const std::string& param);
// Row blinds of a committed tensor.
std::vector<Scalar> TensorBlinds(const CommitmentSeed& seed, int segment, int node,
                                 const std::string& param, size_t rows);
Digest SegmentPublicDigest(const Graph& graph, const Segment& segment);
Digest SegmentCommitmentDigest(const SegmentCommitment& segment);
Digest ComputeModelCommitmentDigest(std::span<const SegmentCommitment> segments,
                                    std::span<const uint8_t> description);

// The description of `graph` (committed params replaced by placeholders; see the file
// comment).
Result<std::vector<uint8_t>> DescribePublicModel(const Graph& graph);

// The graph a verifier uses: the commitment's description with every committed param
// restored as zeros of its committed shape, validated (ValidateGraph) and checked against
// the commitment (CheckCommitmentMatchesGraph). It carries every public param a proof
// needs and no weight; running it computes nothing meaningful, so its metadata marks it
// ("veil.zk.public_description" = "1"). kCorrupt if the description is malformed or does
// not match the segments.
Result<Graph> PublicModel(const ModelCommitment& commitment);

// The commitment key for a model commitment (derived from max_row_length).
CommitmentKey ModelCommitmentKey(const ModelCommitment& commitment, ThreadPool* pool = nullptr);

// Commits every segment. `progress(done_params, total_params)` is called after each tensor.
Result<ModelCommitment> CommitModel(
    const Graph& graph, const CommitmentSeed& seed, ThreadPool* pool = nullptr,
    const std::function<void(int64_t, int64_t)>& progress = nullptr);

std::vector<uint8_t> SerializeModelCommitment(const ModelCommitment& commitment);
Result<ModelCommitment> ParseModelCommitment(std::span<const uint8_t> bytes);

std::vector<uint8_t> SerializeCommitmentSecret(const CommitmentSeed& seed, const Digest& model);
// Returns the seed; kCorrupt if the file is malformed, kInvalidArgument if it belongs to
// another model commitment.
Result<CommitmentSeed> ParseCommitmentSecret(std::span<const uint8_t> bytes,
                                             const Digest& expected_model);

// Checks that `commitment` names exactly the committed tensors of `graph` (segments, nodes,
// params, shapes, public digests). Does not open anything.
Status CheckCommitmentMatchesGraph(const ModelCommitment& commitment, const Graph& graph);

}  // namespace veil::zk
