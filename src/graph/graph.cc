#include "veil/graph.h"

#include <algorithm>

namespace veil {

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kLinear: return "Linear";
    case OpKind::kConv2d: return "Conv2d";
    case OpKind::kMatMul: return "MatMul";
    case OpKind::kAttention: return "Attention";
    case OpKind::kRequantize: return "Requantize";
    case OpKind::kAdd: return "Add";
    case OpKind::kMul: return "Mul";
    case OpKind::kLookup: return "Lookup";
    case OpKind::kSoftmax: return "Softmax";
    case OpKind::kLayerNorm: return "LayerNorm";
    case OpKind::kRmsNorm: return "RmsNorm";
    case OpKind::kMaxPool2d: return "MaxPool2d";
    case OpKind::kAvgPool2d: return "AvgPool2d";
    case OpKind::kReduceMean: return "ReduceMean";
    case OpKind::kEmbedding: return "Embedding";
    case OpKind::kReshape: return "Reshape";
    case OpKind::kTranspose: return "Transpose";
    case OpKind::kConcat: return "Concat";
    case OpKind::kSlice: return "Slice";
  }
  return "Unknown";
}

const Attr* Node::FindAttr(const std::string& attr_name) const {
  for (const Attr& a : attrs)
    if (a.name == attr_name) return &a;
  return nullptr;
}

int64_t Node::AttrInt(const std::string& attr_name, int64_t fallback) const {
  const Attr* a = FindAttr(attr_name);
  return (a && a->values.size() == 1) ? a->values[0] : fallback;
}

std::vector<int64_t> Node::AttrInts(const std::string& attr_name) const {
  const Attr* a = FindAttr(attr_name);
  return a ? a->values : std::vector<int64_t>{};
}

const Tensor* Node::FindParam(const std::string& param_name) const {
  for (const Param& p : params)
    if (p.name == param_name) return &p.tensor;
  return nullptr;
}

void Node::SetAttr(const std::string& attr_name, std::vector<int64_t> values) {
  for (Attr& a : attrs)
    if (a.name == attr_name) {
      a.values = std::move(values);
      return;
    }
  attrs.push_back({attr_name, std::move(values)});
}

void Node::SetParam(const std::string& param_name, Tensor tensor) {
  for (Param& p : params)
    if (p.name == param_name) {
      p.tensor = std::move(tensor);
      return;
    }
  params.push_back({param_name, std::move(tensor)});
}

int Graph::AddValue(Value value) {
  values.push_back(std::move(value));
  return static_cast<int>(values.size()) - 1;
}

const std::string* Graph::FindMetadata(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void Graph::SetMetadata(const std::string& key, std::string text) {
  for (auto& kv : metadata)
    if (kv.first == key) {
      kv.second = std::move(text);
      return;
    }
  metadata.emplace_back(key, std::move(text));
}

std::vector<Segment> Graph::EffectiveSegments() const {
  if (!segments.empty()) return segments;
  return {Segment{0, static_cast<int>(nodes.size())}};
}

std::vector<int> Graph::SegmentInputs(const Segment& segment) const {
  std::vector<bool> produced_inside(values.size(), false);
  std::vector<int> result;
  for (int i = segment.begin; i < segment.end; ++i) {
    for (int v : nodes[i].inputs)
      if (!produced_inside[v] && std::find(result.begin(), result.end(), v) == result.end())
        result.push_back(v);
    for (int v : nodes[i].outputs) produced_inside[v] = true;
  }
  return result;
}

std::vector<int> Graph::SegmentOutputs(const Segment& segment) const {
  std::vector<bool> produced_inside(values.size(), false);
  for (int i = segment.begin; i < segment.end; ++i)
    for (int v : nodes[i].outputs) produced_inside[v] = true;
  std::vector<int> result;
  auto add = [&](int v) {
    if (produced_inside[v] && std::find(result.begin(), result.end(), v) == result.end())
      result.push_back(v);
  };
  for (int i = segment.end; i < static_cast<int>(nodes.size()); ++i)
    for (int v : nodes[i].inputs) add(v);
  for (int v : outputs) add(v);
  return result;
}

}  // namespace veil
