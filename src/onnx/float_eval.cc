// EvalNode: validates a node against its op's arity, checks every input tensor, and
// dispatches to the per-op evaluators in float_eval_*.cc. Shared helpers live here too.
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "float_eval_internal.h"
#include "float_tensor.h"

namespace veil::onnx_import {
namespace internal {

// ---- NodeContext -------------------------------------------------------------------

const onnx::AttributeProto* NodeContext::FindAttr(const char* name) const {
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

namespace {

Status WrongType(const char* name, const char* expected) {
  return Status::InvalidArgument(std::string("attribute '") + name + "' must be " + expected);
}

}  // namespace

Status NodeContext::Int(const char* name, int64_t default_value, int64_t* out) const {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    *out = default_value;
    return Status::Ok();
  }
  if (a->type() != onnx::AttributeProto::INT) return WrongType(name, "an int");
  *out = a->i();
  return Status::Ok();
}

Status NodeContext::Float(const char* name, float default_value, float* out) const {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    *out = default_value;
    return Status::Ok();
  }
  if (a->type() != onnx::AttributeProto::FLOAT) return WrongType(name, "a float");
  *out = a->f();
  return Status::Ok();
}

Status NodeContext::String(const char* name, const std::string& default_value,
                           std::string* out) const {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr) {
    *out = default_value;
    return Status::Ok();
  }
  if (a->type() != onnx::AttributeProto::STRING) return WrongType(name, "a string");
  *out = a->s();
  return Status::Ok();
}

Status NodeContext::Ints(const char* name, std::vector<int64_t>* out, bool* present) const {
  const onnx::AttributeProto* a = FindAttr(name);
  out->clear();
  if (present != nullptr) *present = a != nullptr;
  if (a == nullptr) return Status::Ok();
  if (a->type() != onnx::AttributeProto::INTS) return WrongType(name, "a list of ints");
  out->assign(a->ints().begin(), a->ints().end());
  return Status::Ok();
}

Status NodeContext::Floats(const char* name, std::vector<float>* out, bool* present) const {
  const onnx::AttributeProto* a = FindAttr(name);
  out->clear();
  if (present != nullptr) *present = a != nullptr;
  if (a == nullptr) return Status::Ok();
  if (a->type() != onnx::AttributeProto::FLOATS) return WrongType(name, "a list of floats");
  out->assign(a->floats().begin(), a->floats().end());
  return Status::Ok();
}

// ---- Shapes ------------------------------------------------------------------------

Status CheckShape(const Shape& shape) {
  if (static_cast<int64_t>(shape.size()) > kMaxRank) {
    return Status::InvalidArgument("rank " + std::to_string(shape.size()) +
                                   " exceeds the limit of " + std::to_string(kMaxRank));
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      return Status::InvalidArgument("negative dimension in shape " + ShapeToString(shape));
    }
    if (d > 1) {
      if (d > kMaxElements / n) {
        return Status::InvalidArgument("shape " + ShapeToString(shape) +
                                       " exceeds the limit of 2^31 elements");
      }
      n *= d;
    }
  }
  return Status::Ok();
}

Status CheckTensor(const FTensor& t, const std::string& what) {
  Status s = CheckShape(t.shape);
  if (!s.ok()) return s.WithContext(what);
  const size_t n = static_cast<size_t>(NumElements(t.shape));
  const bool is_float = t.kind == FTensor::Kind::kFloat;
  const size_t have = is_float ? t.f.size() : t.i.size();
  if (have != n) {
    return Status::InvalidArgument(what + ": " + KindName(t.kind) + " tensor of shape " +
                                   ShapeToString(t.shape) + " holds " + std::to_string(have) +
                                   " values");
  }
  if (t.kind == FTensor::Kind::kBool) {
    for (int64_t v : t.i) {
      if (v != 0 && v != 1) return Status::InvalidArgument(what + ": bool value other than 0/1");
    }
  }
  return Status::Ok();
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

Status NormalizeAxis(int64_t axis, int64_t rank, const char* what, int64_t* out) {
  if (axis < -rank || axis >= rank) {
    return Status::InvalidArgument(std::string(what) + " " + std::to_string(axis) +
                                   " is out of range for rank " + std::to_string(rank));
  }
  *out = axis < 0 ? axis + rank : axis;
  return Status::Ok();
}

Status NormalizeAxes(const std::vector<int64_t>& axes, int64_t rank, const char* what,
                     std::vector<int64_t>* out) {
  out->clear();
  std::vector<bool> seen(static_cast<size_t>(rank > 0 ? rank : 0), false);
  for (int64_t a : axes) {
    int64_t n = 0;
    VEIL_RETURN_IF_ERROR(NormalizeAxis(a, rank, what, &n));
    if (seen[static_cast<size_t>(n)]) {
      return Status::InvalidArgument(std::string(what) + " " + std::to_string(a) + " is repeated");
    }
    seen[static_cast<size_t>(n)] = true;
    out->push_back(n);
  }
  return Status::Ok();
}

Status BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  Shape r(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    const int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da == db || db == 1) {
      r[k] = da;
    } else if (da == 1) {
      r[k] = db;
    } else {
      return Status::InvalidArgument("shapes " + ShapeToString(a) + " and " + ShapeToString(b) +
                                     " are not broadcastable");
    }
  }
  VEIL_RETURN_IF_ERROR(CheckShape(r));
  *out = std::move(r);
  return Status::Ok();
}

std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out) {
  std::vector<int64_t> in_strides = Strides(in);
  std::vector<int64_t> s(out.size(), 0);
  const size_t offset = out.size() - in.size();
  for (size_t k = 0; k < in.size(); ++k) {
    s[k + offset] = in[k] == 1 && out[k + offset] != 1 ? 0 : in_strides[k];
  }
  return s;
}

Status ReadInts(const FTensor& t, const char* what, std::vector<int64_t>* out) {
  if (t.kind != FTensor::Kind::kInt64) {
    return Status::InvalidArgument(std::string(what) + " must be an integer tensor, got " +
                                   KindName(t.kind));
  }
  if (t.shape.size() > 1) {
    return Status::InvalidArgument(std::string(what) + " must be 1-D, got shape " +
                                   ShapeToString(t.shape));
  }
  *out = t.i;
  return Status::Ok();
}

Status ReadScalar(const FTensor& t, const char* what, double* out) {
  if (t.size() != 1) {
    return Status::InvalidArgument(std::string(what) + " must hold one value, got shape " +
                                   ShapeToString(t.shape));
  }
  *out =
      t.kind == FTensor::Kind::kFloat ? static_cast<double>(t.f[0]) : static_cast<double>(t.i[0]);
  return Status::Ok();
}

int64_t SaturatingToInt64(double v) {
  if (std::isnan(v)) return 0;
  // 2^63 is exactly representable; every double below it truncates into range.
  if (v >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (v <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

const char* KindName(FTensor::Kind kind) {
  switch (kind) {
    case FTensor::Kind::kFloat: return "float";
    case FTensor::Kind::kInt64: return "int64";
    case FTensor::Kind::kBool: return "bool";
  }
  return "unknown";
}

FTensor WithShape(const FTensor& t, Shape shape) {
  FTensor r = t;
  r.shape = std::move(shape);
  return r;
}

FTensor MakeTensor(FTensor::Kind kind, Shape shape) {
  FTensor t;
  t.kind = kind;
  const size_t n = static_cast<size_t>(NumElements(shape));
  t.shape = std::move(shape);
  if (kind == FTensor::Kind::kFloat) {
    t.f.assign(n, 0.0f);
  } else {
    t.i.assign(n, 0);
  }
  return t;
}

// ---- Op table ----------------------------------------------------------------------

namespace {

struct OpSpec {
  OpFn fn;
  int min_inputs;
  int max_inputs;
  int max_outputs;  // outputs beyond this must be unnamed (optional and unused)
};

constexpr int kMany = 1 << 20;

const std::unordered_map<std::string_view, OpSpec>& OpTable() {
  static const auto* table = new std::unordered_map<std::string_view, OpSpec>{
      // Elementwise unary.
      {"Relu", {EvalUnary, 1, 1, 1}},
      {"LeakyRelu", {EvalUnary, 1, 1, 1}},
      {"Sigmoid", {EvalUnary, 1, 1, 1}},
      {"Tanh", {EvalUnary, 1, 1, 1}},
      {"Erf", {EvalUnary, 1, 1, 1}},
      {"Exp", {EvalUnary, 1, 1, 1}},
      {"Log", {EvalUnary, 1, 1, 1}},
      {"Sqrt", {EvalUnary, 1, 1, 1}},
      {"Neg", {EvalUnary, 1, 1, 1}},
      {"Abs", {EvalUnary, 1, 1, 1}},
      {"Reciprocal", {EvalUnary, 1, 1, 1}},
      {"Floor", {EvalUnary, 1, 1, 1}},
      {"Ceil", {EvalUnary, 1, 1, 1}},
      {"Not", {EvalNot, 1, 1, 1}},
      {"Clip", {EvalClip, 1, 3, 1}},
      {"Cast", {EvalCast, 1, 1, 1}},
      // Elementwise binary (broadcasting).
      {"Add", {EvalBinary, 2, 2, 1}},
      {"Sub", {EvalBinary, 2, 2, 1}},
      {"Mul", {EvalBinary, 2, 2, 1}},
      {"Div", {EvalBinary, 2, 2, 1}},
      {"Pow", {EvalBinary, 2, 2, 1}},
      {"Equal", {EvalBinary, 2, 2, 1}},
      {"Less", {EvalBinary, 2, 2, 1}},
      {"LessOrEqual", {EvalBinary, 2, 2, 1}},
      {"Greater", {EvalBinary, 2, 2, 1}},
      {"GreaterOrEqual", {EvalBinary, 2, 2, 1}},
      {"And", {EvalBinary, 2, 2, 1}},
      {"Or", {EvalBinary, 2, 2, 1}},
      {"Xor", {EvalBinary, 2, 2, 1}},
      {"Max", {EvalVariadicMinMax, 1, kMany, 1}},
      {"Min", {EvalVariadicMinMax, 1, kMany, 1}},
      {"Where", {EvalWhere, 3, 3, 1}},
      // Neural-network ops.
      {"Conv", {EvalConv, 2, 3, 1}},
      {"MaxPool", {EvalPool, 1, 1, 2}},
      {"AveragePool", {EvalPool, 1, 1, 1}},
      {"GlobalAveragePool", {EvalGlobalPool, 1, 1, 1}},
      {"GlobalMaxPool", {EvalGlobalPool, 1, 1, 1}},
      {"BatchNormalization", {EvalBatchNormalization, 5, 5, 1}},
      {"Gemm", {EvalGemm, 2, 3, 1}},
      {"MatMul", {EvalMatMul, 2, 2, 1}},
      // Reductions and normalisation.
      {"ReduceMean", {EvalReduce, 1, 2, 1}},
      {"ReduceSum", {EvalReduce, 1, 2, 1}},
      {"ReduceMax", {EvalReduce, 1, 2, 1}},
      {"ReduceMin", {EvalReduce, 1, 2, 1}},
      {"Softmax", {EvalSoftmax, 1, 1, 1}},
      {"LogSoftmax", {EvalSoftmax, 1, 1, 1}},
      {"LayerNormalization", {EvalLayerNormalization, 2, 3, 3}},
      // Shape and data movement.
      {"Identity", {EvalIdentity, 1, 1, 1}},
      {"Dropout", {EvalDropout, 1, 3, 2}},
      {"Flatten", {EvalFlatten, 1, 1, 1}},
      {"Transpose", {EvalTranspose, 1, 1, 1}},
      {"Reshape", {EvalReshape, 2, 2, 1}},
      {"Squeeze", {EvalSqueeze, 1, 2, 1}},
      {"Unsqueeze", {EvalUnsqueeze, 1, 2, 1}},
      {"Slice", {EvalSlice, 1, 5, 1}},
      {"Gather", {EvalGather, 2, 2, 1}},
      {"Concat", {EvalConcat, 1, kMany, 1}},
      {"Split", {EvalSplit, 1, 2, kMany}},
      {"Shape", {EvalShape, 1, 1, 1}},
      {"Size", {EvalSize, 1, 1, 1}},
      {"Constant", {EvalConstant, 0, 0, 1}},
      {"ConstantOfShape", {EvalConstantOfShape, 1, 1, 1}},
      {"Expand", {EvalExpand, 2, 2, 1}},
      {"Range", {EvalRange, 3, 3, 1}},
      {"Tile", {EvalTile, 2, 2, 1}},
  };
  return *table;
}

std::string NodeLabel(const onnx::NodeProto& node) {
  std::string label = node.op_type() + " node ";
  if (!node.name().empty()) return label + "'" + node.name() + "'";
  if (node.output_size() > 0) return label + "producing '" + node.output(0) + "'";
  return label + "(unnamed)";
}

Status CheckArity(const onnx::NodeProto& node, const std::vector<const FTensor*>& inputs,
                  const OpSpec& spec) {
  if (inputs.size() != static_cast<size_t>(node.input_size())) {
    return Status::InvalidArgument("node lists " + std::to_string(node.input_size()) +
                                   " inputs but " + std::to_string(inputs.size()) +
                                   " tensors were passed");
  }
  const int n = node.input_size();
  if (n < spec.min_inputs || n > spec.max_inputs) {
    return Status::InvalidArgument(
        "expects " +
        (spec.min_inputs == spec.max_inputs
             ? std::to_string(spec.min_inputs)
             : std::to_string(spec.min_inputs) + " to " +
                   (spec.max_inputs == kMany ? "any" : std::to_string(spec.max_inputs))) +
        " inputs, got " + std::to_string(n));
  }
  for (int k = 0; k < n; ++k) {
    const FTensor* t = inputs[static_cast<size_t>(k)];
    if (t == nullptr) {
      if (k < spec.min_inputs) {
        return Status::InvalidArgument("required input " + std::to_string(k) + " is missing");
      }
      continue;
    }
    VEIL_RETURN_IF_ERROR(CheckTensor(*t, "input " + std::to_string(k)));
  }
  if (node.output_size() < 1) return Status::InvalidArgument("node has no outputs");
  for (int k = spec.max_outputs; k < node.output_size(); ++k) {
    if (!node.output(k).empty()) {
      return Status::Unsupported("output " + std::to_string(k) + " ('" + node.output(k) +
                                 "') is not supported in inference");
    }
  }
  return Status::Ok();
}

}  // namespace
}  // namespace internal

Status EvalNode(const onnx::NodeProto& node, const std::vector<const FTensor*>& inputs,
                std::vector<FTensor>* outputs) {
  using internal::OpTable;
  outputs->clear();
  const std::string label = internal::NodeLabel(node);
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    return Status::Unsupported(label + ": operator domain '" + node.domain() +
                               "' is not supported");
  }
  auto it = OpTable().find(node.op_type());
  if (it == OpTable().end()) {
    return Status::Unsupported(label + ": unsupported ONNX op '" + node.op_type() + "'");
  }
  const internal::OpSpec& spec = it->second;
  Status s = internal::CheckArity(node, inputs, spec);
  if (!s.ok()) return s.WithContext(label);
  // Optional outputs an op does not produce are left as consistent empty tensors.
  outputs->assign(static_cast<size_t>(node.output_size()),
                  internal::MakeTensor(FTensor::Kind::kFloat, {0}));
  s = spec.fn(internal::NodeContext(node, inputs), outputs);
  if (!s.ok()) {
    outputs->clear();
    return s.WithContext(label);
  }
  return Status::Ok();
}

bool CanEvalOp(const std::string& op_type) { return internal::OpTable().count(op_type) != 0; }

}  // namespace veil::onnx_import
