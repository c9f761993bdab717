#include "decode.h"

#include <cmath>
#include <cstring>
#include <set>
#include <string_view>

#include "layout.h"
#include "veil/digest.h"
#include "wire.h"

namespace veil::format {
namespace {

std::string Str(uint64_t v) { return std::to_string(v); }

// Decoding state shared by the section decoders: sections arrive in tag order, so
// `graph.values` is complete before nodes and io ids are range-checked against it.
struct Decoder {
  Graph graph;
  bool seen_values = false;
  bool seen_nodes = false;
  bool seen_io = false;

  Status DecodeMetadata(ByteReader& r);
  Status DecodeValues(ByteReader& r);
  Status DecodeNodes(ByteReader& r);
  Status DecodeIo(ByteReader& r);
  Status DecodeSegments(ByteReader& r);

  Status DecodeIds(ByteReader& r, const std::string& what, std::vector<int>* ids);
  Status DecodeShape(ByteReader& r, const std::string& what, bool allow_dynamic_first,
                     Shape* shape);
  Status DecodeNode(ByteReader& r, const std::string& what, Node* node);
};

Status Decoder::DecodeMetadata(ByteReader& r) {
  VEIL_RETURN_IF_ERROR(r.ReadString(&graph.name, kMaxNameBytes, "model name"));
  uint64_t at = r.offset();
  uint8_t task = 0;
  VEIL_RETURN_IF_ERROR(r.ReadU8(&task, "model task"));
  if (!IsValidTask(task)) return r.ErrorAt("unknown model task " + Str(task), at);
  graph.task = static_cast<ModelTask>(task);
  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinMetadataEntryBytes, "metadata entry count"));
  graph.metadata.reserve(count);
  std::set<std::string> keys;
  for (uint32_t i = 0; i < count; ++i) {
    std::string key, text;
    at = r.offset();
    VEIL_RETURN_IF_ERROR(r.ReadString(&key, kMaxNameBytes, "metadata key " + Str(i)));
    if (!keys.insert(key).second) return r.ErrorAt("duplicate metadata key '" + key + "'", at);
    VEIL_RETURN_IF_ERROR(r.ReadString(&text, kMaxMetadataValueBytes, "metadata '" + key + "'"));
    graph.metadata.emplace_back(std::move(key), std::move(text));
  }
  return Status::Ok();
}

Status Decoder::DecodeShape(ByteReader& r, const std::string& what, bool allow_dynamic_first,
                            Shape* shape) {
  uint64_t at = r.offset();
  uint8_t rank = 0;
  VEIL_RETURN_IF_ERROR(r.ReadU8(&rank, what + " rank"));
  if (rank > kMaxRank) {
    return r.ErrorAt(what + " rank " + Str(rank) + " exceeds the limit of " + Str(kMaxRank), at);
  }
  shape->resize(rank);
  for (uint8_t i = 0; i < rank; ++i)
    VEIL_RETURN_IF_ERROR(r.ReadI64(&(*shape)[i], what + " dimension " + Str(i)));
  std::string problem = ShapeProblem(*shape, allow_dynamic_first);
  if (!problem.empty()) return r.ErrorAt(what + " " + problem, at);
  return Status::Ok();
}

Status Decoder::DecodeValues(ByteReader& r) {
  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinValueBytes, "value count"));
  graph.values.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    Value& v = graph.values[i];
    const std::string what = "value " + Str(i);
    VEIL_RETURN_IF_ERROR(r.ReadString(&v.name, kMaxNameBytes, what + " name"));
    uint64_t at = r.offset();
    uint8_t dtype = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU8(&dtype, what + " dtype"));
    if (!IsValidDType(dtype)) return r.ErrorAt(what + " has unknown dtype " + Str(dtype), at);
    v.dtype = static_cast<DType>(dtype);
    VEIL_RETURN_IF_ERROR(DecodeShape(r, what, /*allow_dynamic_first=*/true, &v.shape));
    at = r.offset();
    VEIL_RETURN_IF_ERROR(r.ReadF64(&v.scale, what + " scale"));
    if (!std::isfinite(v.scale) || v.scale <= 0)
      return r.ErrorAt(what + " scale is not finite and positive", at);
  }
  seen_values = true;
  return Status::Ok();
}

Status Decoder::DecodeIds(ByteReader& r, const std::string& what, std::vector<int>* ids) {
  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, 4, what + " count"));
  ids->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t at = r.offset();
    uint32_t id = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU32(&id, what));
    if (id >= graph.values.size()) {
      return r.ErrorAt(
          what + " value id " + Str(id) + " out of range [0, " + Str(graph.values.size()) + ")",
          at);
    }
    (*ids)[i] = static_cast<int>(id);
  }
  return Status::Ok();
}

Status Decoder::DecodeNode(ByteReader& r, const std::string& what, Node* node) {
  uint64_t at = r.offset();
  uint16_t kind = 0;
  VEIL_RETURN_IF_ERROR(r.ReadU16(&kind, what + " kind"));
  if (!IsValidOpKind(kind)) return r.ErrorAt(what + " has unknown op kind " + Str(kind), at);
  node->kind = static_cast<OpKind>(kind);
  VEIL_RETURN_IF_ERROR(r.ReadString(&node->name, kMaxNameBytes, what + " name"));
  VEIL_RETURN_IF_ERROR(DecodeIds(r, what + " input", &node->inputs));
  VEIL_RETURN_IF_ERROR(DecodeIds(r, what + " output", &node->outputs));

  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinAttrBytes, what + " attr count"));
  node->attrs.resize(count);
  std::set<std::string_view> names;
  for (uint32_t i = 0; i < count; ++i) {
    Attr& attr = node->attrs[i];
    at = r.offset();
    VEIL_RETURN_IF_ERROR(r.ReadString(&attr.name, kMaxNameBytes, what + " attr name"));
    if (!names.insert(attr.name).second)
      return r.ErrorAt(what + " has duplicate attr '" + attr.name + "'", at);
    const std::string attr_what = what + " attr '" + attr.name + "'";
    at = r.offset();
    uint32_t n = 0;
    VEIL_RETURN_IF_ERROR(r.ReadCount(&n, 8, attr_what + " value count"));
    if (n > kMaxAttrValues) return r.ErrorAt(attr_what + " has too many values", at);
    attr.values.resize(n);
    for (uint32_t k = 0; k < n; ++k) VEIL_RETURN_IF_ERROR(r.ReadI64(&attr.values[k], attr_what));
  }

  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinParamBytes, what + " param count"));
  node->params.resize(count);
  names.clear();
  for (uint32_t i = 0; i < count; ++i) {
    Param& param = node->params[i];
    at = r.offset();
    VEIL_RETURN_IF_ERROR(r.ReadString(&param.name, kMaxNameBytes, what + " param name"));
    if (!names.insert(param.name).second)
      return r.ErrorAt(what + " has duplicate param '" + param.name + "'", at);
    const std::string param_what = what + " param '" + param.name + "'";
    at = r.offset();
    uint8_t dtype = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU8(&dtype, param_what + " dtype"));
    if (!IsValidDType(dtype)) return r.ErrorAt(param_what + " has unknown dtype " + Str(dtype), at);
    Shape shape;
    VEIL_RETURN_IF_ERROR(DecodeShape(r, param_what, /*allow_dynamic_first=*/false, &shape));
    at = r.offset();
    uint64_t byte_len = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU64(&byte_len, param_what + " byte length"));
    // ShapeProblem bounds the element count by kMaxElements, so this cannot overflow.
    const uint64_t expected =
        static_cast<uint64_t>(NumElements(shape)) * DTypeSize(static_cast<DType>(dtype));
    if (byte_len != expected) {
      return r.ErrorAt(param_what + " has " + Str(byte_len) + " bytes but its shape " +
                           ShapeToString(shape) + " needs " + Str(expected),
                       at);
    }
    std::span<const uint8_t> data;
    VEIL_RETURN_IF_ERROR(r.ReadBytes(byte_len, &data, param_what + " data"));
    // Only now, with the length proven to be in the input, is the tensor allocated.
    param.tensor = Tensor(static_cast<DType>(dtype), std::move(shape));
    if (!data.empty()) std::memcpy(param.tensor.raw(), data.data(), data.size());
  }
  return Status::Ok();
}

Status Decoder::DecodeNodes(ByteReader& r) {
  if (!seen_values) return r.Error("nodes section without a preceding values section");
  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinNodeBytes, "node count"));
  graph.nodes.resize(count);
  for (uint32_t i = 0; i < count; ++i)
    VEIL_RETURN_IF_ERROR(DecodeNode(r, "node " + Str(i), &graph.nodes[i]));
  seen_nodes = true;
  return Status::Ok();
}

Status Decoder::DecodeIo(ByteReader& r) {
  if (!seen_values) return r.Error("io section without a preceding values section");
  VEIL_RETURN_IF_ERROR(DecodeIds(r, "graph input", &graph.inputs));
  VEIL_RETURN_IF_ERROR(DecodeIds(r, "graph output", &graph.outputs));
  seen_io = true;
  return Status::Ok();
}

Status Decoder::DecodeSegments(ByteReader& r) {
  if (!seen_nodes) return r.Error("segments section without a preceding nodes section");
  uint32_t count = 0;
  VEIL_RETURN_IF_ERROR(r.ReadCount(&count, kMinSegmentBytes, "segment count"));
  graph.segments.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t at = r.offset();
    uint32_t begin = 0, end = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU32(&begin, "segment " + Str(i) + " begin"));
    VEIL_RETURN_IF_ERROR(r.ReadU32(&end, "segment " + Str(i) + " end"));
    if (begin >= end || end > graph.nodes.size()) {
      return r.ErrorAt("segment " + Str(i) + " [" + Str(begin) + ", " + Str(end) +
                           ") is not a non-empty range of the " + Str(graph.nodes.size()) +
                           " nodes",
                       at);
    }
    graph.segments[i] = Segment{static_cast<int>(begin), static_cast<int>(end)};
  }
  return Status::Ok();
}

const char* SectionName(uint16_t tag) {
  switch (tag) {
    case kSectionMetadata:
      return "metadata";
    case kSectionValues:
      return "values";
    case kSectionNodes:
      return "nodes";
    case kSectionIo:
      return "io";
    case kSectionSegments:
      return "segments";
    default:
      return nullptr;
  }
}

// Magic, version and checksum, in that order, so that a file that is not a .veil file
// or is of another version says so rather than reporting a checksum mismatch.
Status CheckContainer(std::span<const uint8_t> bytes) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), kMagic, 4) != 0)
    return ByteReader::ErrorAt("bad magic: not a veil model file (expected \"VEIL\")", 0);
  if (bytes.size() >= 8) {
    ByteReader r(bytes.subspan(4, 4), 4);
    uint32_t version = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU32(&version, "format version"));
    if (version != kFormatVersion) {
      return Status::Unsupported("model file: format version " + Str(version) +
                                 " is not supported (this build reads version " +
                                 Str(kFormatVersion) + ")");
    }
  }
  if (bytes.size() < kHeaderBytes + kTrailerBytes) {
    return ByteReader::ErrorAt("truncated file: " + Str(bytes.size()) +
                                   " bytes is less than the minimum of " +
                                   Str(kHeaderBytes + kTrailerBytes),
                               0);
  }
  const size_t body = bytes.size() - kTrailerBytes;
  Digest actual = Sha256(bytes.first(body));
  if (std::memcmp(actual.data(), bytes.data() + body, kTrailerBytes) != 0)
    return ByteReader::ErrorAt("checksum mismatch: the file is damaged or truncated", body);
  return Status::Ok();
}

}  // namespace

Result<Graph> DecodeModel(std::span<const uint8_t> bytes) {
  VEIL_RETURN_IF_ERROR(CheckContainer(bytes));
  const size_t body = bytes.size() - kTrailerBytes;
  ByteReader header(bytes.subspan(8, kHeaderBytes - 8), 8);
  uint32_t flags = 0, section_count = 0;
  VEIL_RETURN_IF_ERROR(header.ReadU32(&flags, "header flags"));
  if (flags != 0) return ByteReader::ErrorAt("reserved header flags " + Str(flags) + " set", 8);
  VEIL_RETURN_IF_ERROR(header.ReadU32(&section_count, "section count"));

  ByteReader r(bytes.subspan(kHeaderBytes, body - kHeaderBytes), kHeaderBytes);
  Decoder decoder;
  uint16_t last_tag = 0;
  for (uint32_t i = 0; i < section_count; ++i) {
    const uint64_t at = r.offset();
    uint16_t tag = 0, section_flags = 0;
    uint64_t length = 0;
    VEIL_RETURN_IF_ERROR(r.ReadU16(&tag, "section tag"));
    VEIL_RETURN_IF_ERROR(r.ReadU16(&section_flags, "section flags"));
    VEIL_RETURN_IF_ERROR(r.ReadU64(&length, "section length"));
    if (tag <= last_tag) {
      return ByteReader::ErrorAt(
          "section tag " + Str(tag) + " is not greater than the previous tag " + Str(last_tag), at);
    }
    last_tag = tag;
    if ((section_flags & ~kSectionRequired) != 0)
      return ByteReader::ErrorAt("reserved section flags set in section " + Str(tag), at + 2);
    ByteReader payload({}, 0);
    VEIL_RETURN_IF_ERROR(r.ReadSub(length, &payload, "section " + Str(tag) + " payload"));
    Status s;
    switch (tag) {
      case kSectionMetadata:
        s = decoder.DecodeMetadata(payload);
        break;
      case kSectionValues:
        s = decoder.DecodeValues(payload);
        break;
      case kSectionNodes:
        s = decoder.DecodeNodes(payload);
        break;
      case kSectionIo:
        s = decoder.DecodeIo(payload);
        break;
      case kSectionSegments:
        s = decoder.DecodeSegments(payload);
        break;
      default:
        if (section_flags & kSectionRequired) {
          return Status::Unsupported("model file: unknown required section tag " + Str(tag) +
                                     " at byte " + Str(at) + " (written by a newer veil?)");
        }
        continue;  // an optional section this version does not know: skip it
    }
    VEIL_RETURN_IF_ERROR(s);
    if (!payload.empty()) {
      return payload.Error(Str(payload.remaining()) + " unread bytes at the end of the " +
                           SectionName(tag) + " section");
    }
  }
  if (!r.empty()) return r.Error(Str(r.remaining()) + " bytes after the last section");
  if (!decoder.seen_values || !decoder.seen_nodes || !decoder.seen_io) {
    const char* missing = !decoder.seen_values ? "values" : !decoder.seen_nodes ? "nodes" : "io";
    return ByteReader::ErrorAt(std::string("missing required ") + missing + " section", body);
  }
  return std::move(decoder.graph);
}

}  // namespace veil::format
