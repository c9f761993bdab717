#include "analysis.h"

#include <cmath>
#include <set>

namespace veil::onnx_import {

const TensorInfo* Analysis::Find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

bool Analysis::IsStatic(const std::string& name) const {
  const TensorInfo* t = Find(name);
  return t != nullptr && t->is_static;
}

const FTensor* Analysis::Static(const std::string& name) const {
  const TensorInfo* t = Find(name);
  return (t != nullptr && t->is_static) ? &t->value : nullptr;
}

const std::vector<int>& Analysis::Consumers(const std::string& name) const {
  static const std::vector<int> kNone;
  auto it = consumers.find(name);
  return it == consumers.end() ? kNone : it->second;
}

const onnx::NodeProto* Analysis::Producer(const std::string& name) const {
  auto it = producer.find(name);
  return it == producer.end() ? nullptr : &graph->node(it->second);
}

namespace {

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return node.op_type() + " node '" + (node.name().empty() ? "#" + std::to_string(index) : node.name()) + "'";
}

Result<FTensor> CalibrationTensor(const CalibrationInput& in, const std::string& name) {
  const int64_t n = NumElements(in.shape);
  if (in.shape.empty() || in.shape[0] <= 0)
    return Status::InvalidArgument("calibration data for input '" + name + "' has no batch dimension");
  if (in.is_int) {
    if (static_cast<int64_t>(in.ints.size()) != n)
      return Status::InvalidArgument("calibration data for '" + name + "' has the wrong size");
    return FTensor::Int64(in.shape, in.ints);
  }
  if (static_cast<int64_t>(in.floats.size()) != n)
    return Status::InvalidArgument("calibration data for '" + name + "' has the wrong size");
  return FTensor::Float(in.shape, in.floats);
}

// The calibration batch must match the input's declared rank, element type and fixed
// dimensions (symbolic ones, like the batch, take any size).
Status CheckDeclaredShape(const onnx::GraphProto& g, const std::string& name, const FTensor& t) {
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (in.name() != name) continue;
    const auto& type = in.type().tensor_type();
    const bool is_int = type.elem_type() == onnx::TensorProto::INT64 || type.elem_type() == onnx::TensorProto::INT32;
    if (is_int != (t.kind == FTensor::Kind::kInt64))
      return Status::InvalidArgument("calibration data for input '" + name + "' must be " +
                                     (is_int ? "integers" : "floating point"));
    if (!type.has_shape()) return Status::Ok();
    const auto& dims = type.shape().dim();
    bool ok = dims.size() == static_cast<int>(t.shape.size());
    for (int d = 0; ok && d < dims.size(); ++d)
      ok = !dims[d].has_dim_value() || dims[d].dim_value() == t.shape[d];
    if (!ok) {
      std::string declared = "[";
      for (int d = 0; d < dims.size(); ++d)
        declared += (d ? "," : "") + (dims[d].has_dim_value() ? std::to_string(dims[d].dim_value()) : dims[d].dim_param());
      return Status::InvalidArgument("calibration data for input '" + name + "' has shape " + ShapeToString(t.shape) +
                                     " but the model declares " + declared + "]");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Analysis> Analyze(const onnx::ModelProto& model, const ImportOptions& options) {
  Analysis a;
  a.graph = &model.graph();
  const onnx::GraphProto& g = model.graph();

  for (const onnx::TensorProto& init : g.initializer()) {
    auto t = FromTensorProto(init);
    if (!t.ok()) return t.status().WithContext("initializer '" + init.name() + "'");
    TensorInfo info;
    info.is_static = true;
    info.kind = t->kind;
    info.shape = t->shape;
    info.value = std::move(t).value();
    a.tensors[init.name()] = std::move(info);
  }
  for (const onnx::ValueInfoProto& in : g.input()) {
    if (a.tensors.count(in.name())) continue;  // old exporters list initializers as inputs
    a.inputs.push_back(in.name());
    bool dyn_seq = false;
    const auto& dims = in.type().tensor_type().shape().dim();
    if (dims.size() >= 2 && !dims[1].has_dim_value()) dyn_seq = true;
    a.input_has_dynamic_seq.push_back(dyn_seq);
  }
  for (const onnx::ValueInfoProto& out : g.output()) a.outputs.push_back(out.name());
  if (a.inputs.empty()) return Status::InvalidArgument("the ONNX graph has no inputs");
  if (options.calibration.size() != a.inputs.size())
    return Status::InvalidArgument("the model has " + std::to_string(a.inputs.size()) +
                                   " inputs but " + std::to_string(options.calibration.size()) +
                                   " calibration arrays were given");

  // Graph inputs: the calibration batch.
  std::map<std::string, FTensor> live;  // dynamic values still needed
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(FTensor t, CalibrationTensor(options.calibration[i], a.inputs[i]));
    VEIL_RETURN_IF_ERROR(CheckDeclaredShape(g, a.inputs[i], t));
    if (i == 0) a.batch = t.shape[0];
    if (t.shape[0] != a.batch)
      return Status::InvalidArgument("calibration arrays disagree on the batch size");
    if (a.input_has_dynamic_seq[i]) {
      if (t.shape.size() < 2) return Status::InvalidArgument("sequence input '" + a.inputs[i] + "' needs rank >= 2");
      a.seq_len = t.shape[1];
    }
    TensorInfo info;
    info.kind = t.kind;
    info.shape = t.shape;
    for (float v : t.f) info.max_abs = std::max(info.max_abs, std::fabs(v));
    a.tensors[a.inputs[i]] = std::move(info);
    live[a.inputs[i]] = std::move(t);
  }

  // Producers, consumers and remaining-use counts (to free dynamic values early).
  std::map<std::string, int> uses;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    for (const std::string& in : node.input()) {
      if (in.empty()) continue;
      a.consumers[in].push_back(i);
      ++uses[in];
    }
    for (const std::string& out : node.output()) {
      if (out.empty()) continue;
      if (a.producer.count(out) || a.tensors.count(out))
        return Status::InvalidArgument("tensor '" + out + "' is produced more than once");
      a.producer[out] = i;
    }
  }
  std::set<std::string> graph_outputs(a.outputs.begin(), a.outputs.end());

  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    if (!CanEvalOp(node.op_type()))
      return Status::Unsupported("unsupported ONNX op " + NodeLabel(node, i));
    std::vector<const FTensor*> ins;
    bool all_static = true;
    for (const std::string& in : node.input()) {
      if (in.empty()) {
        ins.push_back(nullptr);
        continue;
      }
      auto it = a.tensors.find(in);
      if (it == a.tensors.end())
        return Status::InvalidArgument(NodeLabel(node, i) + " reads '" + in +
                                       "', which no earlier node produces (graph not topologically sorted?)");
      if (it->second.is_static) {
        ins.push_back(&it->second.value);
      } else {
        all_static = false;
        ins.push_back(&live.at(in));
      }
    }
    std::vector<FTensor> outs;
    VEIL_RETURN_IF_ERROR(EvalNode(node, ins, &outs).WithContext(NodeLabel(node, i)));
    // Shape-only ops of dynamic tensors fold: their result depends only on shapes.
    const bool is_static = all_static || node.op_type() == "Shape" || node.op_type() == "Size";
    for (int o = 0; o < node.output_size() && o < static_cast<int>(outs.size()); ++o) {
      const std::string& name = node.output(o);
      if (name.empty()) continue;
      TensorInfo info;
      info.is_static = is_static;
      info.kind = outs[o].kind;
      info.shape = outs[o].shape;
      if (is_static) {
        info.value = std::move(outs[o]);
      } else {
        for (float v : outs[o].f)
          if (std::isfinite(v)) info.max_abs = std::max(info.max_abs, std::fabs(v));
        if (uses[name] > 0 || graph_outputs.count(name)) live[name] = std::move(outs[o]);
      }
      a.tensors[name] = std::move(info);
    }
    for (const std::string& in : node.input()) {
      if (in.empty()) continue;
      if (--uses[in] == 0 && !graph_outputs.count(in)) live.erase(in);
    }
  }
  for (const std::string& out : a.outputs)
    if (!a.tensors.count(out)) return Status::InvalidArgument("graph output '" + out + "' is never produced");
  return a;
}

}  // namespace veil::onnx_import
