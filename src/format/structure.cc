// Writer-side structural checks. The reader enforces the same rules inline (with byte
// offsets in its messages); the fuzzer checks that every parsed graph passes these.
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

#include "layout.h"

namespace veil::format {

bool IsValidDType(uint8_t dtype) {
  return dtype == static_cast<uint8_t>(DType::kInt8) ||
         dtype == static_cast<uint8_t>(DType::kInt32) ||
         dtype == static_cast<uint8_t>(DType::kInt64);
}

bool IsValidOpKind(uint16_t kind) {
  return kind >= static_cast<uint16_t>(OpKind::kLinear) &&
         kind <= static_cast<uint16_t>(OpKind::kSlice);
}

bool IsValidTask(uint8_t task) { return task <= static_cast<uint8_t>(ModelTask::kTextGenerator); }

std::string ShapeProblem(const Shape& shape, bool allow_dynamic_first) {
  if (shape.size() > kMaxRank) {
    return "rank " + std::to_string(shape.size()) + " exceeds the limit of " +
           std::to_string(kMaxRank);
  }
  int64_t product = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    if (d == kDynamicDim && i == 0 && allow_dynamic_first) continue;
    if (d < 0) return "dimension " + std::to_string(i) + " is negative (" + std::to_string(d) + ")";
    if (d > kMaxElements || (d > 1 && product > kMaxElements / d)) {
      return "shape " + ShapeToString(shape) + " has more than " + std::to_string(kMaxElements) +
             " elements";
    }
    if (d > 1) product *= d;
  }
  return "";
}

namespace {

Status Problem(const std::string& where, const std::string& what) {
  return Status::InvalidArgument("model structure: " + where + ": " + what);
}

Status CheckName(const std::string& where, const std::string& name) {
  if (name.size() > kMaxNameBytes) {
    return Problem(where, "name is " + std::to_string(name.size()) + " bytes, over the limit of " +
                              std::to_string(kMaxNameBytes));
  }
  return Status::Ok();
}

Status CheckIds(const std::string& where, const std::vector<int>& ids, size_t num_values) {
  if (ids.size() > std::numeric_limits<uint32_t>::max()) return Problem(where, "too many ids");
  for (int id : ids)
    if (id < 0 || static_cast<size_t>(id) >= num_values)
      return Problem(where, "value id " + std::to_string(id) + " out of range [0, " +
                                std::to_string(num_values) + ")");
  return Status::Ok();
}

Status CheckNode(const Node& node, size_t index, size_t num_values) {
  const std::string where = "node " + std::to_string(index) + " (" + node.name + ")";
  if (!IsValidOpKind(static_cast<uint16_t>(node.kind)))
    return Problem(where, "unknown op kind " + std::to_string(static_cast<int>(node.kind)));
  VEIL_RETURN_IF_ERROR(CheckName(where, node.name));
  VEIL_RETURN_IF_ERROR(CheckIds(where + " inputs", node.inputs, num_values));
  VEIL_RETURN_IF_ERROR(CheckIds(where + " outputs", node.outputs, num_values));
  std::set<std::string_view> names;
  for (const Attr& attr : node.attrs) {
    VEIL_RETURN_IF_ERROR(CheckName(where + " attr", attr.name));
    if (!names.insert(attr.name).second)
      return Problem(where, "duplicate attr '" + attr.name + "'");
    if (attr.values.size() > kMaxAttrValues)
      return Problem(where, "attr '" + attr.name + "' has more than " +
                                std::to_string(kMaxAttrValues) + " values");
  }
  names.clear();
  for (const Param& param : node.params) {
    VEIL_RETURN_IF_ERROR(CheckName(where + " param", param.name));
    if (!names.insert(param.name).second)
      return Problem(where, "duplicate param '" + param.name + "'");
    const Tensor& t = param.tensor;
    if (!IsValidDType(static_cast<uint8_t>(t.dtype())))
      return Problem(where, "param '" + param.name + "' has an unknown dtype");
    std::string shape_problem = ShapeProblem(t.shape(), /*allow_dynamic_first=*/false);
    if (!shape_problem.empty())
      return Problem(where, "param '" + param.name + "' " + shape_problem);
    if (static_cast<uint64_t>(NumElements(t.shape())) * DTypeSize(t.dtype()) != t.byte_size())
      return Problem(where, "param '" + param.name + "' byte size does not match its shape");
  }
  return Status::Ok();
}

}  // namespace

Status CheckModelStructure(const Graph& graph) {
  constexpr size_t kMaxCount = std::numeric_limits<uint32_t>::max();
  VEIL_RETURN_IF_ERROR(CheckName("graph", graph.name));
  if (!IsValidTask(static_cast<uint8_t>(graph.task)))
    return Problem("graph", "unknown task " + std::to_string(static_cast<int>(graph.task)));
  if (graph.metadata.size() > kMaxCount) return Problem("metadata", "too many entries");
  std::set<std::string_view> keys;
  for (const auto& [key, text] : graph.metadata) {
    VEIL_RETURN_IF_ERROR(CheckName("metadata key", key));
    if (!keys.insert(key).second) return Problem("metadata", "duplicate key '" + key + "'");
    if (text.size() > kMaxMetadataValueBytes)
      return Problem(
          "metadata '" + key + "'",
          "value is over the limit of " + std::to_string(kMaxMetadataValueBytes) + " bytes");
  }

  if (graph.values.size() > kMaxCount) return Problem("values", "too many values");
  for (size_t i = 0; i < graph.values.size(); ++i) {
    const Value& v = graph.values[i];
    const std::string where = "value " + std::to_string(i) + " (" + v.name + ")";
    VEIL_RETURN_IF_ERROR(CheckName(where, v.name));
    if (!IsValidDType(static_cast<uint8_t>(v.dtype))) return Problem(where, "unknown dtype");
    std::string shape_problem = ShapeProblem(v.shape, /*allow_dynamic_first=*/true);
    if (!shape_problem.empty()) return Problem(where, shape_problem);
    if (!std::isfinite(v.scale) || v.scale <= 0)
      return Problem(where, "scale " + std::to_string(v.scale) + " is not finite and positive");
  }

  if (graph.nodes.size() > kMaxCount) return Problem("nodes", "too many nodes");
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    VEIL_RETURN_IF_ERROR(CheckNode(graph.nodes[i], i, graph.values.size()));
  VEIL_RETURN_IF_ERROR(CheckIds("graph inputs", graph.inputs, graph.values.size()));
  VEIL_RETURN_IF_ERROR(CheckIds("graph outputs", graph.outputs, graph.values.size()));

  if (graph.segments.size() > kMaxCount) return Problem("segments", "too many segments");
  for (size_t i = 0; i < graph.segments.size(); ++i) {
    const Segment& s = graph.segments[i];
    if (s.begin < 0 || s.begin >= s.end || static_cast<size_t>(s.end) > graph.nodes.size()) {
      return Problem("segment " + std::to_string(i),
                     "[" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                         ") is not a non-empty range of the " + std::to_string(graph.nodes.size()) +
                         " nodes");
    }
  }
  return Status::Ok();
}

}  // namespace veil::format
