// Public entry points of the .veil container: serialize, save, parse, load.
#include "veil/model_file.h"

#include "decode.h"
#include "encode.h"
#include "io/file_util.h"
#include "layout.h"
#include "wire.h"

namespace veil {

static_assert(kModelFormatVersion == format::kFormatVersion);

namespace {

// Appends one section: header with a placeholder length, payload, then the real length.
template <typename EncodeFn>
void AppendSection(uint16_t tag, uint16_t flags, EncodeFn encode, std::vector<uint8_t>* out) {
  format::VectorSink sink(out);
  sink.PutU16(tag);
  sink.PutU16(flags);
  const size_t length_pos = out->size();
  sink.PutU64(0);
  const size_t payload_begin = out->size();
  encode(&sink);
  format::PatchU64(out, length_pos, out->size() - payload_begin);
}

}  // namespace

Result<std::vector<uint8_t>> SerializeModel(const Graph& graph) {
  using namespace format;  // NOLINT: the format's constants and encoders
  VEIL_RETURN_IF_ERROR(CheckModelStructure(graph));
  std::vector<uint8_t> out;
  VectorSink sink(&out);
  sink.Append(kMagic);
  sink.PutU32(kFormatVersion);
  sink.PutU32(0);  // header flags
  sink.PutU32(5);  // section count
  AppendSection(
      kSectionMetadata, 0, [&](ByteSink* s) { EncodeMetadataPayload(graph, s); }, &out);
  AppendSection(
      kSectionValues, kSectionRequired, [&](ByteSink* s) { EncodeValuesPayload(graph, s); }, &out);
  AppendSection(
      kSectionNodes, kSectionRequired, [&](ByteSink* s) { EncodeNodesPayload(graph, s); }, &out);
  AppendSection(
      kSectionIo, kSectionRequired, [&](ByteSink* s) { EncodeIoPayload(graph, s); }, &out);
  AppendSection(
      kSectionSegments, kSectionRequired, [&](ByteSink* s) { EncodeSegmentsPayload(graph, s); },
      &out);
  const Digest checksum = Sha256(out);
  sink.Append(checksum);
  return out;
}

Status SaveModel(const Graph& graph, const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializeModel(graph));
  return io::WriteFileAtomically(path, bytes);
}

Result<Graph> ParseModel(std::span<const uint8_t> bytes) {
  VEIL_ASSIGN_OR_RETURN(Graph graph, format::DecodeModel(bytes));
  Status valid = ValidateGraph(graph);
  // A file whose graph fails validation is a corrupt file, whatever code the check used.
  if (!valid.ok())
    return Status::Corrupt("model file: graph failed validation: " + valid.message());
  return graph;
}

Result<Graph> ParseModelStructure(std::span<const uint8_t> bytes) {
  return format::DecodeModel(bytes);
}

Result<Graph> LoadModel(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                        io::ReadFileBytes(path, format::kMaxModelFileBytes));
  Result<Graph> graph = ParseModel(bytes);
  if (!graph.ok()) return graph.status().WithContext(path);
  return graph;
}

}  // namespace veil
