// Encoders for the .veil section payloads (docs/format.md, "Sections"). They write to
// any ByteSink, so the same code produces file bytes and digest input. They assume the
// graph passed CheckModelStructure (lengths and counts fit their fixed-width fields).
#pragma once

#include <vector>

#include "veil/graph.h"
#include "wire.h"

namespace veil::format {

void EncodeMetadataPayload(const Graph& graph, ByteSink* sink);
void EncodeValuesPayload(const Graph& graph, ByteSink* sink);
void EncodeNodesPayload(const Graph& graph, ByteSink* sink);
void EncodeIoPayload(const Graph& graph, ByteSink* sink);
void EncodeSegmentsPayload(const Graph& graph, ByteSink* sink);

// Building blocks, also used to encode a segment without copying it out of its graph.
// `id_map`, when not null, maps each value id to the id that is written.
void EncodeValue(const Value& value, ByteSink* sink);
void EncodeNode(const Node& node, const std::vector<int>* id_map, ByteSink* sink);
void EncodeIds(const std::vector<int>& ids, const std::vector<int>* id_map, ByteSink* sink);

}  // namespace veil::format
