// ValidateGraph: the structural and semantic checks every graph passes before anything
// executes it. Graphs come from untrusted files, so every index is bounds-checked
// before use and every failure is a Corrupt status naming the offending value, node or
// segment. Per-op rules (attrs, params, shapes) live with each op in ops/.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/ops.h"
#include "veil/graph.h"

namespace veil {
namespace {

constexpr size_t kMaxRank = 8;
constexpr int64_t kMaxElements = int64_t{1} << 40;  // per sample, dynamic dim counted as 1

std::string ValueLabel(const Graph& graph, int id) {
  return "value " + std::to_string(id) + " '" + graph.values[static_cast<size_t>(id)].name + "'";
}

Status NodeError(int index, const Node& node, const std::string& message) {
  return Status::Corrupt(ops::NodeLabel(index, node) + ": " + message);
}

bool ValidId(const Graph& graph, int id) {
  return id >= 0 && static_cast<size_t>(id) < graph.values.size();
}

// Activations are int8, token ids int32; dims >= 1 except a leading kDynamicDim.
Status CheckValue(const Graph& graph, int id) {
  const Value& value = graph.values[static_cast<size_t>(id)];
  if (value.dtype != DType::kInt8 && value.dtype != DType::kInt32)
    return Status::Corrupt(ValueLabel(graph, id) + " has dtype " + DTypeName(value.dtype) +
                           "; values are int8 or int32");
  if (value.shape.size() > kMaxRank)
    return Status::Corrupt(ValueLabel(graph, id) + " has rank " +
                           std::to_string(value.shape.size()) + " above 8");
  int64_t elements = 1;
  for (size_t i = 0; i < value.shape.size(); ++i) {
    const int64_t d = value.shape[i];
    if (d == kDynamicDim && i == 0) continue;
    if (d < 1 || d > kMaxElements / elements)
      return Status::Corrupt(ValueLabel(graph, id) + " has invalid shape " +
                             ShapeToString(value.shape) +
                             " (dims >= 1, only dim 0 may be dynamic, at most 2^40 elements)");
    elements *= d;
  }
  return Status::Ok();
}

// Attribute and parameter names are those the op accepts, each at most once.
Status CheckNames(const ops::OpDef& def, const Node& node) {
  for (size_t i = 0; i < node.attrs.size(); ++i) {
    const std::string& name = node.attrs[i].name;
    if (std::find(def.attrs.begin(), def.attrs.end(), name) == def.attrs.end())
      return ops::Invalid("unknown attr '" + name + "'");
    for (size_t j = 0; j < i; ++j)
      if (node.attrs[j].name == name) return ops::Invalid("duplicate attr '" + name + "'");
  }
  for (size_t i = 0; i < node.params.size(); ++i) {
    const std::string& name = node.params[i].name;
    if (std::find(def.params.begin(), def.params.end(), name) == def.params.end())
      return ops::Invalid("unknown param '" + name + "'");
    for (size_t j = 0; j < i; ++j)
      if (node.params[j].name == name) return ops::Invalid("duplicate param '" + name + "'");
  }
  return Status::Ok();
}

// `produced[v]`: v is a graph input or the output of an earlier node.
Status CheckNode(const Graph& graph, int index, std::vector<bool>* produced) {
  const Node& node = graph.nodes[static_cast<size_t>(index)];
  const ops::OpDef* def = ops::FindOpDef(node.kind);
  if (def == nullptr) return NodeError(index, node, "unknown op kind");
  const int arity = static_cast<int>(node.inputs.size());
  if (arity < def->min_inputs || (def->max_inputs != ops::kUnbounded && arity > def->max_inputs))
    return NodeError(
        index, node,
        "has " + std::to_string(arity) + " inputs, expected " + std::to_string(def->min_inputs) +
            (def->max_inputs == def->min_inputs   ? std::string()
             : def->max_inputs == ops::kUnbounded ? std::string(" or more")
                                                  : " to " + std::to_string(def->max_inputs)));
  std::vector<Shape> shapes;
  for (int i = 0; i < arity; ++i) {
    const int v = node.inputs[static_cast<size_t>(i)];
    const std::string which = "input " + std::to_string(i);
    if (!ValidId(graph, v))
      return NodeError(index, node,
                       which + " refers to value " + std::to_string(v) + ", outside [0, " +
                           std::to_string(graph.values.size()) + ")");
    if (!(*produced)[static_cast<size_t>(v)])
      return NodeError(index, node,
                       which + " (" + ValueLabel(graph, v) + ") is used before it is produced");
    const Value& value = graph.values[static_cast<size_t>(v)];
    if (value.dtype != def->input_dtype)
      return NodeError(index, node,
                       which + " (" + ValueLabel(graph, v) + ") has dtype " +
                           DTypeName(value.dtype) + ", expected " + DTypeName(def->input_dtype));
    shapes.push_back(value.shape);
  }
  if (node.outputs.size() != 1)
    return NodeError(index, node,
                     "has " + std::to_string(node.outputs.size()) + " outputs, expected 1");
  const int out = node.outputs[0];
  if (!ValidId(graph, out))
    return NodeError(index, node,
                     "output refers to value " + std::to_string(out) + ", outside [0, " +
                         std::to_string(graph.values.size()) + ")");
  if ((*produced)[static_cast<size_t>(out)])
    return NodeError(index, node,
                     "output " + ValueLabel(graph, out) +
                         " is already produced (by a graph input or an earlier node)");
  const Value& out_value = graph.values[static_cast<size_t>(out)];
  if (out_value.dtype != DType::kInt8)
    return NodeError(index, node,
                     "output " + ValueLabel(graph, out) + " has dtype " +
                         DTypeName(out_value.dtype) + ", expected int8");
  Status status = CheckNames(*def, node);
  if (status.ok()) status = def->check(node, shapes);
  Shape inferred;
  if (status.ok()) status = def->infer(node, shapes, &inferred);
  if (!status.ok()) return NodeError(index, node, status.message());
  VEIL_RETURN_IF_ERROR(CheckValue(graph, out));
  if (inferred != out_value.shape)
    return NodeError(index, node,
                     "output " + ValueLabel(graph, out) + " is declared " +
                         ShapeToString(out_value.shape) + " but the op produces " +
                         ShapeToString(inferred));
  (*produced)[static_cast<size_t>(out)] = true;
  return Status::Ok();
}

Status CheckSegments(const Graph& graph) {
  const int nodes = static_cast<int>(graph.nodes.size());
  int next = 0;  // where the next segment must begin
  for (size_t s = 0; s < graph.segments.size(); ++s) {
    const Segment& seg = graph.segments[s];
    const std::string label = "segment " + std::to_string(s) + " [" + std::to_string(seg.begin) +
                              ", " + std::to_string(seg.end) + ")";
    if (seg.begin != next)
      return Status::Corrupt(label + " must begin at node " + std::to_string(next) +
                             " (segments are contiguous and in order)");
    if (seg.end <= seg.begin || seg.end > nodes)
      return Status::Corrupt(label + " must be non-empty and end at most at node " +
                             std::to_string(nodes));
    next = seg.end;
  }
  if (!graph.segments.empty() && next != nodes)
    return Status::Corrupt("segments cover nodes [0, " + std::to_string(next) +
                           ") but the graph has " + std::to_string(nodes) + " nodes");
  return Status::Ok();
}

}  // namespace

Status ValidateGraph(const Graph& graph) {
  const int values = static_cast<int>(graph.values.size());
  if (graph.values.size() > static_cast<size_t>(INT32_MAX) ||
      graph.nodes.size() > static_cast<size_t>(INT32_MAX))
    return Status::Corrupt("graph has too many values or nodes");
  // Values are checked as they become available (graph inputs first, then each node's
  // output after the node itself, so that an op's own error comes first); the rest last.
  std::vector<bool> produced(graph.values.size(), false);
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const int v = graph.inputs[i];
    if (!ValidId(graph, v))
      return Status::Corrupt("graph input " + std::to_string(i) + " refers to value " +
                             std::to_string(v) + ", outside [0, " + std::to_string(values) + ")");
    if (produced[static_cast<size_t>(v)])
      return Status::Corrupt("graph input " + std::to_string(i) + " repeats " +
                             ValueLabel(graph, v));
    VEIL_RETURN_IF_ERROR(CheckValue(graph, v));
    produced[static_cast<size_t>(v)] = true;
  }
  for (int n = 0; n < static_cast<int>(graph.nodes.size()); ++n)
    VEIL_RETURN_IF_ERROR(CheckNode(graph, n, &produced));
  for (int v = 0; v < values; ++v)
    if (!produced[static_cast<size_t>(v)]) VEIL_RETURN_IF_ERROR(CheckValue(graph, v));

  if (graph.outputs.empty()) return Status::Corrupt("graph has no outputs");
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    const int v = graph.outputs[i];
    if (!ValidId(graph, v))
      return Status::Corrupt("graph output " + std::to_string(i) + " refers to value " +
                             std::to_string(v) + ", outside [0, " + std::to_string(values) + ")");
    if (!produced[static_cast<size_t>(v)])
      return Status::Corrupt("graph output " + std::to_string(i) + " (" + ValueLabel(graph, v) +
                             ") is neither a graph input nor produced by a node");
  }
  return CheckSegments(graph);
}

}  // namespace veil
