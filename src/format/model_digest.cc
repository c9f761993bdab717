// Model and segment digests (docs/format.md, "Digests"). Both hash section payload
// encodings behind a domain-separation prefix; each payload is self-delimiting, so their
// concatenation is unambiguous without extra framing.
#include <string_view>

#include "encode.h"
#include "segment_layout.h"
#include "veil/model_file.h"
#include "wire.h"

namespace veil {
namespace {

// The trailing NUL is part of each prefix (std::string_view of a literal with an
// explicit size keeps it).
constexpr std::string_view kModelDomain{"veil.model.v1\0", 14};
constexpr std::string_view kSegmentDomain{"veil.segment.v1\0", 16};

void PutDomain(std::string_view domain, format::ByteSink* sink) {
  sink->Append({reinterpret_cast<const uint8_t*>(domain.data()), domain.size()});
}

}  // namespace

Digest ModelDigest(const Graph& graph) {
  Sha256Hasher hasher;
  format::HashSink sink(&hasher);
  PutDomain(kModelDomain, &sink);
  format::EncodeValuesPayload(graph, &sink);
  format::EncodeNodesPayload(graph, &sink);
  format::EncodeIoPayload(graph, &sink);
  return hasher.Finish();
}

Digest StandaloneSegmentDigest(const Graph& segment_graph, int segment_index) {
  Sha256Hasher hasher;
  format::HashSink sink(&hasher);
  PutDomain(kSegmentDomain, &sink);
  sink.PutU64(static_cast<uint64_t>(segment_index));
  format::EncodeValuesPayload(segment_graph, &sink);
  format::EncodeNodesPayload(segment_graph, &sink);
  format::EncodeIoPayload(segment_graph, &sink);
  return hasher.Finish();
}

// Must hash exactly what StandaloneSegmentDigest(ExtractSegment(graph, i), i) hashes,
// without copying the segment's params out of the graph.
Digest SegmentDigest(const Graph& graph, int segment_index) {
  Result<format::SegmentLayout> layout = format::ComputeSegmentLayout(graph, segment_index);
  if (!layout.ok()) return Digest{};
  const std::vector<int>* map = &layout->global_to_local;
  Sha256Hasher hasher;
  format::HashSink sink(&hasher);
  PutDomain(kSegmentDomain, &sink);
  sink.PutU64(static_cast<uint64_t>(segment_index));
  sink.PutU32(static_cast<uint32_t>(layout->local_to_global.size()));
  for (int id : layout->local_to_global) format::EncodeValue(graph.values[id], &sink);
  sink.PutU32(static_cast<uint32_t>(layout->segment.end - layout->segment.begin));
  for (int i = layout->segment.begin; i < layout->segment.end; ++i)
    format::EncodeNode(graph.nodes[i], map, &sink);
  format::EncodeIds(layout->inputs, map, &sink);
  format::EncodeIds(layout->outputs, map, &sink);
  return hasher.Finish();
}

Result<Graph> ExtractSegment(const Graph& graph, int segment_index) {
  VEIL_ASSIGN_OR_RETURN(format::SegmentLayout layout,
                        format::ComputeSegmentLayout(graph, segment_index));
  const std::vector<int>& map = layout.global_to_local;
  auto remap = [&](const std::vector<int>& ids) {
    std::vector<int> local;
    local.reserve(ids.size());
    for (int id : ids) local.push_back(map[id]);
    return local;
  };
  Graph out;
  out.name = graph.name + "/segment" + std::to_string(segment_index);
  out.task = ModelTask::kGeneric;
  out.values.reserve(layout.local_to_global.size());
  for (int id : layout.local_to_global) out.values.push_back(graph.values[id]);
  for (int i = layout.segment.begin; i < layout.segment.end; ++i) {
    Node node = graph.nodes[i];
    node.inputs = remap(node.inputs);
    node.outputs = remap(node.outputs);
    out.nodes.push_back(std::move(node));
  }
  out.inputs = remap(layout.inputs);
  out.outputs = remap(layout.outputs);
  out.SetMetadata("veil.segment.index", std::to_string(segment_index));
  out.SetMetadata("veil.segment.count", std::to_string(graph.EffectiveSegments().size()));
  out.SetMetadata("veil.segment.model_digest", DigestToHex(ModelDigest(graph)));
  return out;
}

}  // namespace veil
