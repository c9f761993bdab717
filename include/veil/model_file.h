// The .veil model file: veil's on-disk form of a Graph, and the digests that name
// models and segments. The byte layout and both digests are specified in
// docs/format.md precisely enough to re-implement.
//
// Loading is safe on hostile input: ParseModel/LoadModel check every length, count,
// enum and id before use, verify the trailing SHA-256, and then run ValidateGraph, so a
// Graph they return may be executed. Errors are Corrupt (or Unsupported for another
// format version) and name what was wrong and its byte offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/status.h"

namespace veil {

inline constexpr uint32_t kModelFormatVersion = 1;

// Encodes `graph` as a .veil file. Fails (InvalidArgument) if the graph breaks a
// structural limit of the format (see docs/format.md, "Limits"); it does not run
// ValidateGraph, so an invalid graph can be written but will not load.
Result<std::vector<uint8_t>> SerializeModel(const Graph& graph);

// Writes SerializeModel(graph) to a temporary file beside `path` and renames it into
// place: on any failure `path` is left untouched.
Status SaveModel(const Graph& graph, const std::string& path);

// Decodes and validates a .veil file image.
Result<Graph> ParseModel(std::span<const uint8_t> bytes);
Result<Graph> LoadModel(const std::string& path);

// Decodes a .veil file image with every structural check (lengths, counts, enums, ids,
// checksum) but without ValidateGraph. For descriptions whose hidden params are
// placeholders (zk/model_commitment.h): the caller completes the graph and must run
// ValidateGraph before anything reads its params.
Result<Graph> ParseModelStructure(std::span<const uint8_t> bytes);

// SHA-256 naming what the model computes: its values, nodes (with params) and graph
// inputs/outputs, but not its name, task, metadata or segment boundaries. Defined for
// graphs that pass the format's structural checks (every loaded graph does).
Digest ModelDigest(const Graph& graph);

// SHA-256 naming one segment (an index into graph.EffectiveSegments()): computed from
// ExtractSegment(graph, segment_index) and the index alone, so a host that only holds
// the extracted segment can check it with StandaloneSegmentDigest. Returns an all-zero
// digest if the index or the graph's value ids are out of range.
Digest SegmentDigest(const Graph& graph, int segment_index);

// The segment digest of a graph produced by ExtractSegment(original, segment_index):
// StandaloneSegmentDigest(ExtractSegment(g, i).value(), i) == SegmentDigest(g, i).
Digest StandaloneSegmentDigest(const Graph& segment_graph, int segment_index);

// One segment as a self-contained Graph: its inputs are graph.SegmentInputs(segment),
// its outputs graph.SegmentOutputs(segment), its nodes the segment's nodes with value
// ids renumbered (inputs first, then values in the order the nodes produce them). It
// has no segments and task kGeneric; metadata records the origin ("veil.segment.index",
// "veil.segment.count", "veil.segment.model_digest", which costs one pass over the
// whole model's params). InvalidArgument for a bad index or out-of-range value ids.
Result<Graph> ExtractSegment(const Graph& graph, int segment_index);

}  // namespace veil
