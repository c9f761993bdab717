#include "encode.h"

namespace veil::format {
namespace {

void EncodeShape(const Shape& shape, ByteSink* sink) {
  sink->PutU8(static_cast<uint8_t>(shape.size()));
  for (int64_t d : shape) sink->PutI64(d);
}

}  // namespace

void EncodeIds(const std::vector<int>& ids, const std::vector<int>* id_map, ByteSink* sink) {
  sink->PutU32(static_cast<uint32_t>(ids.size()));
  for (int id : ids) sink->PutU32(static_cast<uint32_t>(id_map ? (*id_map)[id] : id));
}

void EncodeValue(const Value& value, ByteSink* sink) {
  sink->PutString(value.name);
  sink->PutU8(static_cast<uint8_t>(value.dtype));
  EncodeShape(value.shape, sink);
  sink->PutF64(value.scale);
}

void EncodeNode(const Node& node, const std::vector<int>* id_map, ByteSink* sink) {
  sink->PutU16(static_cast<uint16_t>(node.kind));
  sink->PutString(node.name);
  EncodeIds(node.inputs, id_map, sink);
  EncodeIds(node.outputs, id_map, sink);
  sink->PutU32(static_cast<uint32_t>(node.attrs.size()));
  for (const Attr& attr : node.attrs) {
    sink->PutString(attr.name);
    sink->PutU32(static_cast<uint32_t>(attr.values.size()));
    for (int64_t v : attr.values) sink->PutI64(v);
  }
  sink->PutU32(static_cast<uint32_t>(node.params.size()));
  for (const Param& param : node.params) {
    sink->PutString(param.name);
    sink->PutU8(static_cast<uint8_t>(param.tensor.dtype()));
    EncodeShape(param.tensor.shape(), sink);
    sink->PutU64(param.tensor.byte_size());
    sink->Append({param.tensor.raw(), param.tensor.byte_size()});
  }
}

void EncodeMetadataPayload(const Graph& graph, ByteSink* sink) {
  sink->PutString(graph.name);
  sink->PutU8(static_cast<uint8_t>(graph.task));
  sink->PutU32(static_cast<uint32_t>(graph.metadata.size()));
  for (const auto& [key, text] : graph.metadata) {
    sink->PutString(key);
    sink->PutString(text);
  }
}

void EncodeValuesPayload(const Graph& graph, ByteSink* sink) {
  sink->PutU32(static_cast<uint32_t>(graph.values.size()));
  for (const Value& value : graph.values) EncodeValue(value, sink);
}

void EncodeNodesPayload(const Graph& graph, ByteSink* sink) {
  sink->PutU32(static_cast<uint32_t>(graph.nodes.size()));
  for (const Node& node : graph.nodes) EncodeNode(node, nullptr, sink);
}

void EncodeIoPayload(const Graph& graph, ByteSink* sink) {
  EncodeIds(graph.inputs, nullptr, sink);
  EncodeIds(graph.outputs, nullptr, sink);
}

void EncodeSegmentsPayload(const Graph& graph, ByteSink* sink) {
  sink->PutU32(static_cast<uint32_t>(graph.segments.size()));
  for (const Segment& s : graph.segments) {
    sink->PutU32(static_cast<uint32_t>(s.begin));
    sink->PutU32(static_cast<uint32_t>(s.end));
  }
}

}  // namespace veil::format
