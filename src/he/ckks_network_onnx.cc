// ONNX -> CkksNetworkSpec (include/veil/he/ckks_network_onnx.h).
#include "veil/he/ckks_network_onnx.h"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "float_tensor.h"
#include "onnx/onnx_pb.h"

namespace veil::he {
namespace {

using onnx_import::FTensor;

constexpr size_t kMaxOnnxBytes = size_t{1} << 28;

std::string Label(const onnx::NodeProto& n) {
  return n.op_type() + " node '" + (n.name().empty() ? n.output(0) : n.name()) + "'";
}

const onnx::AttributeProto* Attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t AttrInt(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  const onnx::AttributeProto* a = Attr(n, name);
  return a == nullptr ? def : a->i();
}

double AttrFloat(const onnx::NodeProto& n, const std::string& name, double def) {
  const onnx::AttributeProto* a = Attr(n, name);
  return a == nullptr ? def : a->f();
}

const std::set<std::string> kElementwise = {"Add", "Sub", "Mul", "Div", "Pow", "Neg", "Identity"};

struct Builder {
  CkksNetworkSpec spec;
  std::map<std::string, FTensor> constants;
  std::string current;                         // the activation entering the region / next Gemm
  std::vector<const onnx::NodeProto*> region;  // elementwise nodes after `current`
  std::set<std::string> derived;               // outputs of `region`
  bool flat = false;                           // `current` is [batch, features]

  bool IsConst(const std::string& name) const { return constants.count(name) != 0; }

  // The region as a function f(x) of `current`, evaluated on `points`.
  Result<std::vector<float>> RunRegion(const std::string& output,
                                       const std::vector<float>& points) const {
    std::map<std::string, FTensor> values;
    values[current] = FTensor::Float({1, static_cast<int64_t>(points.size())}, points);
    for (const onnx::NodeProto* n : region) {
      std::vector<const FTensor*> ins;
      for (const std::string& in : n->input()) {
        if (in.empty()) {
          ins.push_back(nullptr);
        } else if (auto it = values.find(in); it != values.end()) {
          ins.push_back(&it->second);
        } else {
          ins.push_back(&constants.at(in));
        }
      }
      std::vector<FTensor> outs;
      VEIL_RETURN_IF_ERROR(onnx_import::EvalNode(*n, ins, &outs));
      for (int o = 0; o < n->output_size(); ++o)
        values[n->output(o)] = std::move(outs[static_cast<size_t>(o)]);
    }
    const FTensor& r = values.at(output);
    if (r.kind != FTensor::Kind::kFloat || r.size() != static_cast<int64_t>(points.size()))
      return Status::Unsupported("the elementwise region ending in '" + output +
                                 "' is not elementwise");
    return r.f;
  }

  // Closes the region (if any) as a Poly layer; `input` is what the next Gemm consumes.
  Status CloseRegion(const std::string& input, const onnx::NodeProto& gemm) {
    if (region.empty()) {
      if (input != current)
        return Status::Unsupported(Label(gemm) + ": input is not the running activation");
      return Status::Ok();
    }
    if (!derived.count(input))
      return Status::Unsupported(Label(gemm) +
                                 ": input is not the result of the preceding elementwise region");
    VEIL_ASSIGN_OR_RETURN(std::vector<float> f, RunRegion(input, {-1.0f, 0.0f, 1.0f}));
    CkksLayerSpec p;
    p.kind = CkksLayerSpec::Kind::kPoly;
    p.c0 = f[1];
    p.c1 = (double{f[2]} - double{f[0]}) / 2;
    p.c2 = (double{f[2]} + double{f[0]}) / 2 - double{f[1]};
    const std::vector<float> probe = {-4.0f, -3.0f, -2.0f, -0.5f, 0.25f, 0.5f, 2.0f, 3.0f, 4.0f};
    VEIL_ASSIGN_OR_RETURN(std::vector<float> g, RunRegion(input, probe));
    for (size_t i = 0; i < probe.size(); ++i) {
      const double x = probe[i], want = p.c0 + p.c1 * x + p.c2 * x * x;
      if (!(std::fabs(want - g[i]) <= 1e-4 * (1.0 + std::fabs(g[i]))))
        return Status::Unsupported("the elementwise function before " + Label(gemm) +
                                   " is not a polynomial of degree <= 2 (f(" + std::to_string(x) +
                                   ") = " + std::to_string(g[i]) +
                                   ", the quadratic through -1, 0, 1 gives " +
                                   std::to_string(want) + ")");
    }
    spec.layers.push_back(std::move(p));
    region.clear();
    derived.clear();
    return Status::Ok();
  }

  Status Gemm(const onnx::NodeProto& n) {
    if (!flat) return Status::Unsupported(Label(n) + ": Gemm before the input is flattened");
    if (n.input_size() < 2 || !IsConst(n.input(1)) ||
        (n.input_size() > 2 && !n.input(2).empty() && !IsConst(n.input(2))))
      return Status::Unsupported(Label(n) + ": needs constant weights and bias");
    if (AttrInt(n, "transA", 0) != 0) return Status::Unsupported(Label(n) + ": transA = 1");
    VEIL_RETURN_IF_ERROR(CloseRegion(n.input(0), n));
    const FTensor& b = constants.at(n.input(1));
    if (b.kind != FTensor::Kind::kFloat || b.shape.size() != 2)
      return Status::Unsupported(Label(n) + ": weight is not a 2-D float tensor");
    const bool trans_b = AttrInt(n, "transB", 0) != 0;
    const size_t out = static_cast<size_t>(trans_b ? b.shape[0] : b.shape[1]);
    const size_t in = static_cast<size_t>(trans_b ? b.shape[1] : b.shape[0]);
    const size_t prev = spec.layers.empty() ? spec.input_size : LastSize();
    if (in != prev)
      return Status::Unsupported(Label(n) + ": takes " + std::to_string(in) +
                                 " features, the activation has " + std::to_string(prev));
    const double alpha = AttrFloat(n, "alpha", 1.0), beta = AttrFloat(n, "beta", 1.0);
    CkksLayerSpec d;
    d.kind = CkksLayerSpec::Kind::kDense;
    d.in = in;
    d.out = out;
    d.weight.resize(in * out);
    for (size_t o = 0; o < out; ++o)
      for (size_t i = 0; i < in; ++i)
        d.weight[o * in + i] = alpha * (trans_b ? b.f[o * in + i] : b.f[i * out + o]);
    d.bias.assign(out, 0.0);
    if (n.input_size() > 2 && !n.input(2).empty()) {
      const FTensor& c = constants.at(n.input(2));
      if (c.kind != FTensor::Kind::kFloat ||
          (c.size() != static_cast<int64_t>(out) && c.size() != 1))
        return Status::Unsupported(Label(n) + ": bias must have " + std::to_string(out) +
                                   " values");
      for (size_t o = 0; o < out; ++o) d.bias[o] = beta * c.f[c.size() == 1 ? 0 : o];
    }
    spec.layers.push_back(std::move(d));
    current = n.output(0);
    return Status::Ok();
  }

  size_t LastSize() const {
    for (auto it = spec.layers.rbegin(); it != spec.layers.rend(); ++it)
      if (it->kind == CkksLayerSpec::Kind::kDense) return it->out;
    return spec.input_size;
  }

  Status Node(const onnx::NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      return Status::Unsupported(Label(n) + ": domain '" + n.domain() + "'");
    if (n.output_size() != 1) return Status::Unsupported(Label(n) + ": expected one output");
    bool all_const = n.op_type() == "Constant";
    if (!all_const) {
      all_const = n.input_size() > 0;
      for (const std::string& in : n.input())
        if (!in.empty() && !IsConst(in)) all_const = false;
    }
    if (all_const) {  // constant folding
      std::vector<const FTensor*> ins;
      for (const std::string& in : n.input())
        ins.push_back(in.empty() ? nullptr : &constants.at(in));
      std::vector<FTensor> outs;
      VEIL_RETURN_IF_ERROR(onnx_import::EvalNode(n, ins, &outs));
      constants[n.output(0)] = std::move(outs[0]);
      return Status::Ok();
    }
    if (n.op_type() == "Gemm") return Gemm(n);
    if ((n.op_type() == "Flatten" || n.op_type() == "Identity") && region.empty() &&
        n.input(0) == current) {
      if (n.op_type() == "Flatten" && AttrInt(n, "axis", 1) != 1)
        return Status::Unsupported(Label(n) + ": Flatten with axis != 1");
      if (n.op_type() == "Flatten") flat = true;
      current = n.output(0);
      return Status::Ok();
    }
    if (kElementwise.count(n.op_type())) {
      if (!flat) return Status::Unsupported(Label(n) + ": elementwise op before the first Gemm");
      for (const std::string& in : n.input()) {
        if (in.empty()) continue;
        if (IsConst(in)) {
          if (constants.at(in).size() != 1)
            return Status::Unsupported(Label(n) + ": only scalar constants in an activation");
        } else if (in != current && !derived.count(in)) {
          return Status::Unsupported(Label(n) + ": operand '" + in +
                                     "' is not derived from the activation");
        }
      }
      region.push_back(&n);
      derived.insert(n.output(0));
      return Status::Ok();
    }
    return Status::Unsupported(Label(n) + ": op not supported by the CKKS network loader");
  }
};

}  // namespace

Result<CkksNetworkSpec> LoadCkksNetworkSpecFromOnnx(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::IoError("cannot open " + path);
  std::ostringstream buf;
  buf << file.rdbuf();
  const std::string bytes = buf.str();
  if (bytes.empty() || bytes.size() > kMaxOnnxBytes)
    return Status::Corrupt(path + ": empty or larger than 256 MiB");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::Corrupt(path + ": not a valid ONNX protobuf");
  const onnx::GraphProto& g = model.graph();
  Builder b;
  for (const auto& init : g.initializer()) {
    VEIL_ASSIGN_OR_RETURN(FTensor t, onnx_import::FromTensorProto(init));
    b.constants[init.name()] = std::move(t);
  }
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& in : g.input()) {
    if (b.IsConst(in.name())) continue;
    if (input != nullptr) return Status::Unsupported(path + ": more than one graph input");
    input = &in;
  }
  if (input == nullptr) return Status::Corrupt(path + ": no graph input");
  const auto& dims = input->type().tensor_type().shape().dim();
  if (dims.size() < 2)
    return Status::Unsupported(path + ": the input needs a batch axis and features");
  size_t features = 1;
  for (int i = 1; i < dims.size(); ++i) {
    if (dims[i].dim_value() <= 0) return Status::Unsupported(path + ": non-static input dimension");
    features *= static_cast<size_t>(dims[i].dim_value());
  }
  b.spec.input_size = features;
  b.current = input->name();
  b.flat = dims.size() == 2;
  for (const auto& n : g.node()) VEIL_RETURN_IF_ERROR(b.Node(n).WithContext(path));
  if (g.output_size() != 1 || g.output(0).name() != b.current || !b.region.empty() ||
      b.spec.layers.empty())
    return Status::Unsupported(path + ": the graph output must be the last Gemm's output");
  return std::move(b.spec);
}

}  // namespace veil::he
