#include "lower.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "quantize.h"

namespace veil::onnx_import {
namespace {

const std::set<std::string> kElementwise = {"Add", "Sub",  "Mul",     "Div",  "Pow",        "Erf",
                                            "Relu", "Sigmoid", "Tanh", "Exp", "Log",        "Sqrt",
                                            "Neg", "Abs",  "Clip",    "LeakyRelu", "Reciprocal"};

std::string Label(const onnx::NodeProto& node) {
  return node.op_type() + " node '" + node.name() + "'";
}

int64_t AttrInt(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

float AttrFloat(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

std::vector<int64_t> AttrInts(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

std::string AttrString(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return a.s();
  return "";
}

Tensor I32(std::vector<int32_t> v) {
  Shape s{static_cast<int64_t>(v.size())};
  return Tensor::FromInt32(s, std::move(v));
}

// A fused group of ONNX nodes lowered as one unit when the main pass reaches `anchor`.
struct Fusion {
  int anchor = -1;
  std::vector<int> nodes;
  std::function<Status()> emit;
};

class Lowerer {
 public:
  Lowerer(const Analysis& a, const std::string& name) : a_(a), consumed_(a.graph->node_size(), false) {
    g_.name = name;
  }

  Result<Graph> Run() {
    VEIL_RETURN_IF_ERROR(AddInputs());
    VEIL_RETURN_IF_ERROR(FindFusions());
    const auto& nodes = a_.graph->node();
    for (int i = 0; i < nodes.size(); ++i) {
      auto fit = fusion_at_.find(i);
      if (fit != fusion_at_.end()) {
        VEIL_RETURN_IF_ERROR(fit->second.emit());
        continue;
      }
      if (consumed_[i]) continue;
      const onnx::NodeProto& node = nodes[i];
      bool all_static = true;
      for (const std::string& out : node.output())
        if (!out.empty() && !a_.IsStatic(out)) all_static = false;
      if (all_static) continue;
      VEIL_RETURN_IF_ERROR(LowerNode(i));
    }
    for (const std::string& out : a_.outputs) {
      auto it = value_of_.find(out);
      if (it == value_of_.end())
        return Status::Unsupported("graph output '" + out + "' is constant or was not lowered");
      g_.outputs.push_back(it->second);
    }
    SetTask();
    return std::move(g_);
  }

 private:
  // ---- values ----------------------------------------------------------------------

  Shape PerSample(const std::string& name) const {
    const TensorInfo* t = a_.Find(name);
    Shape s(t->shape.begin() + 1, t->shape.end());
    if (a_.seq_len > 0 && !s.empty() && s[0] == a_.seq_len) s[0] = kDynamicDim;
    return s;
  }

  double ScaleOf(const std::string& name) const { return ScaleForMaxAbs(a_.Find(name)->max_abs); }

  int NewValue(const std::string& name, double scale, DType dtype = DType::kInt8) {
    Value v;
    v.name = name;
    v.dtype = dtype;
    v.shape = PerSample(name);
    v.scale = scale;
    const int id = g_.AddValue(std::move(v));
    value_of_[name] = id;
    return id;
  }

  Result<int> Use(const std::string& name, const onnx::NodeProto& by) {
    auto it = value_of_.find(name);
    if (it == value_of_.end())
      return Status::Unsupported(Label(by) + " reads '" + name +
                                 "', a tensor veil could not lower to an integer value");
    return it->second;
  }

  double ValueScale(int id) const { return g_.values[id].scale; }

  Status AddInputs() {
    for (size_t i = 0; i < a_.inputs.size(); ++i) {
      const std::string& name = a_.inputs[i];
      const TensorInfo* t = a_.Find(name);
      if (t->kind == FTensor::Kind::kInt64) {
        NewValue(name, 1.0, DType::kInt32);
      } else if (t->kind == FTensor::Kind::kFloat) {
        NewValue(name, ScaleOf(name));
      } else {
        return Status::Unsupported("boolean graph input '" + name + "'");
      }
      g_.inputs.push_back(value_of_[name]);
    }
    return Status::Ok();
  }

  void SetTask() {
    bool int_input = false;
    for (int id : g_.inputs) int_input |= g_.values[id].dtype == DType::kInt32;
    if (int_input) {
      g_.task = ModelTask::kTextGenerator;
    } else if (g_.outputs.size() == 1 && g_.values[g_.outputs[0]].shape.size() == 1) {
      g_.task = ModelTask::kImageClassifier;
    }
  }

  Node& Emit(OpKind kind, const onnx::NodeProto& src, std::vector<int> inputs, int output) {
    Node n;
    n.kind = kind;
    n.name = src.name().empty() ? src.op_type() : src.name();
    n.inputs = std::move(inputs);
    n.outputs = {output};
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back();
  }

  // ---- graph navigation --------------------------------------------------------------

  const onnx::NodeProto& NodeAt(int i) const { return a_.graph->node(i); }

  bool IsGraphOutput(const std::string& t) const {
    return std::find(a_.outputs.begin(), a_.outputs.end(), t) != a_.outputs.end();
  }

  // The only consumer of `t` (and `t` is not a graph output), or -1.
  int SoleConsumer(const std::string& t) const {
    const auto& c = a_.Consumers(t);
    if (c.size() != 1 || IsGraphOutput(t)) return -1;
    return consumed_[c[0]] ? -1 : c[0];
  }

  int ProducerIndex(const std::string& t) const {
    auto it = a_.producer.find(t);
    return it == a_.producer.end() ? -1 : it->second;
  }

  // The single dynamic input of a binary node whose other input is static (or "").
  std::string DynamicOperand(const onnx::NodeProto& n, const FTensor** constant) const {
    if (n.input_size() != 2) return "";
    const bool s0 = a_.IsStatic(n.input(0)), s1 = a_.IsStatic(n.input(1));
    if (s0 == s1) return "";
    *constant = a_.Static(s0 ? n.input(0) : n.input(1));
    return s0 ? n.input(1) : n.input(0);
  }

  static bool IsScalar(const FTensor* t) { return t != nullptr && t->size() == 1 && t->kind == FTensor::Kind::kFloat; }

  // ---- fusions found before the main pass ---------------------------------------------

  Status FindFusions() {
    const auto& nodes = a_.graph->node();
    for (int i = 0; i < nodes.size(); ++i) {
      if (nodes[i].op_type() == "Softmax") VEIL_RETURN_IF_ERROR(TryAttention(i));
    }
    for (int i = 0; i < nodes.size(); ++i) {
      if (nodes[i].op_type() == "ReduceMean" && !consumed_[i]) VEIL_RETURN_IF_ERROR(TryNorm(i));
    }
    return Status::Ok();
  }

  void AddFusion(Fusion f) {
    for (int n : f.nodes) consumed_[n] = true;
    const int anchor = f.anchor;
    fusion_at_[anchor] = std::move(f);
  }

  // Follows the head split of q/k/v: Transpose(perm) <- Reshape(x, [B, T, H, D]).
  // Returns x and fills heads/head_dim, collecting the nodes.
  std::string HeadSplitSource(const std::string& t, const std::vector<int64_t>& perm, int64_t* heads,
                              int64_t* head_dim, std::vector<int>* nodes) const {
    const int ti = ProducerIndex(t);
    if (ti < 0 || NodeAt(ti).op_type() != "Transpose" || AttrInts(NodeAt(ti), "perm") != perm) return "";
    if (SoleConsumer(t) < 0) return "";
    const std::string& reshaped = NodeAt(ti).input(0);
    const int ri = ProducerIndex(reshaped);
    if (ri < 0 || NodeAt(ri).op_type() != "Reshape" || SoleConsumer(reshaped) != ti) return "";
    const TensorInfo* r = a_.Find(reshaped);
    if (r->shape.size() != 4) return "";
    const std::string& src = NodeAt(ri).input(0);
    const TensorInfo* s = a_.Find(src);
    if (s == nullptr || s->is_static || s->shape.size() != 3 || s->shape[2] != r->shape[2] * r->shape[3]) return "";
    *heads = r->shape[2];
    *head_dim = r->shape[3];
    nodes->push_back(ti);
    nodes->push_back(ri);
    return src;
  }

  // Multi-head attention as exported by PyTorch from
  //   softmax(mask(q_h @ k_hᵀ * c)) @ v_h, merged back to [B, T, H*D].
  Status TryAttention(int softmax_index) {
    const onnx::NodeProto& sm = NodeAt(softmax_index);
    const TensorInfo* in = a_.Find(sm.input(0));
    if (in == nullptr || in->is_static || in->shape.size() != 4) return Status::Ok();
    const int64_t axis = AttrInt(sm, "axis", -1);
    if (axis != -1 && axis != 3) return Status::Ok();
    std::vector<int> nodes = {softmax_index};

    // Optional mask: Where(cond, fill, scores) / Where(cond, scores, fill) or Add(scores, mask).
    std::string z = sm.input(0);
    std::vector<int64_t> allowed;  // [Tq*Tk], 1 = may attend
    int64_t tq = in->shape[2], tk = in->shape[3];
    int pi = ProducerIndex(z);
    if (pi < 0 || SoleConsumer(z) != softmax_index) return Status::Ok();
    auto mask_from = [&](const FTensor& m, std::function<bool(int64_t)> keep) -> bool {
      if (m.size() % (tq * tk) != 0 || m.shape.size() < 2 || m.shape[m.shape.size() - 2] != tq ||
          m.shape.back() != tk || m.size() != tq * tk)
        return false;
      allowed.resize(static_cast<size_t>(tq * tk));
      for (int64_t e = 0; e < tq * tk; ++e) allowed[e] = keep(e) ? 1 : 0;
      return true;
    };
    if (NodeAt(pi).op_type() == "Where") {
      const onnx::NodeProto& w = NodeAt(pi);
      const FTensor* cond = a_.Static(w.input(0));
      const FTensor* f1 = a_.Static(w.input(1));
      const FTensor* f2 = a_.Static(w.input(2));
      if (cond == nullptr || cond->kind != FTensor::Kind::kBool) return Status::Ok();
      auto is_fill = [](const FTensor* t) { return IsScalar(t) && t->f[0] <= -1e4f; };
      bool ok = false;
      if (is_fill(f1) && f2 == nullptr) {  // Where(masked, -inf, scores)
        ok = mask_from(*cond, [&](int64_t e) { return cond->i[e] == 0; });
        z = w.input(2);
      } else if (is_fill(f2) && f1 == nullptr) {  // Where(keep, scores, -inf)
        ok = mask_from(*cond, [&](int64_t e) { return cond->i[e] != 0; });
        z = w.input(1);
      }
      if (!ok) return Status::Ok();
      nodes.push_back(pi);
      pi = ProducerIndex(z);
      if (pi < 0 || SoleConsumer(z) != nodes.back()) return Status::Ok();
    } else if (NodeAt(pi).op_type() == "Add") {
      const FTensor* m = nullptr;
      std::string dyn = DynamicOperand(NodeAt(pi), &m);
      if (!dyn.empty() && m->kind == FTensor::Kind::kFloat &&
          mask_from(*m, [&](int64_t e) { return m->f[e] > -1e4f; })) {
        nodes.push_back(pi);
        z = dyn;
        pi = ProducerIndex(z);
        if (pi < 0 || SoleConsumer(z) != nodes.back()) return Status::Ok();
      }
    }
    // Optional scale: Div(scores, c) or Mul(scores, c).
    const std::string scaled = z;  // calibrated softmax input (before masking)
    double factor = 1.0;
    if (NodeAt(pi).op_type() == "Div" || NodeAt(pi).op_type() == "Mul") {
      const FTensor* c = nullptr;
      std::string dyn = DynamicOperand(NodeAt(pi), &c);
      if (dyn.empty() || !IsScalar(c) || NodeAt(pi).input(0) != dyn) return Status::Ok();
      factor = NodeAt(pi).op_type() == "Div" ? 1.0 / c->f[0] : c->f[0];
      nodes.push_back(pi);
      z = dyn;
      pi = ProducerIndex(z);
      if (pi < 0 || SoleConsumer(z) != nodes.back()) return Status::Ok();
    }
    const onnx::NodeProto& m1 = NodeAt(pi);
    if (m1.op_type() != "MatMul") return Status::Ok();
    nodes.push_back(pi);
    int64_t heads = 0, head_dim = 0, h2 = 0, d2 = 0, h3 = 0, d3 = 0;
    const std::string q = HeadSplitSource(m1.input(0), {0, 2, 1, 3}, &heads, &head_dim, &nodes);
    std::string k = HeadSplitSource(m1.input(1), {0, 2, 3, 1}, &h2, &d2, &nodes);
    if (k.empty()) {  // Transpose(-2,-1) of the split keys
      const int ti = ProducerIndex(m1.input(1));
      if (ti >= 0 && NodeAt(ti).op_type() == "Transpose" && SoleConsumer(m1.input(1)) == pi &&
          AttrInts(NodeAt(ti), "perm") == std::vector<int64_t>{0, 1, 3, 2}) {
        k = HeadSplitSource(NodeAt(ti).input(0), {0, 2, 1, 3}, &h2, &d2, &nodes);
        if (!k.empty()) nodes.push_back(ti);
      }
    }
    if (q.empty() || k.empty() || h2 != heads || d2 != head_dim) return Status::Ok();
    // After the softmax: @ v_h, then Transpose back and Reshape to [B, T, H*D].
    const int m2i = SoleConsumer(sm.output(0));
    if (m2i < 0 || NodeAt(m2i).op_type() != "MatMul" || NodeAt(m2i).input(0) != sm.output(0)) return Status::Ok();
    const onnx::NodeProto& m2 = NodeAt(m2i);
    const std::string v = HeadSplitSource(m2.input(1), {0, 2, 1, 3}, &h3, &d3, &nodes);
    if (v.empty() || h3 != heads || d3 != head_dim) return Status::Ok();
    nodes.push_back(m2i);
    const int t2 = SoleConsumer(m2.output(0));
    if (t2 < 0 || NodeAt(t2).op_type() != "Transpose" ||
        AttrInts(NodeAt(t2), "perm") != std::vector<int64_t>{0, 2, 1, 3})
      return Status::Ok();
    nodes.push_back(t2);
    const int r2 = SoleConsumer(NodeAt(t2).output(0));
    if (r2 < 0 || NodeAt(r2).op_type() != "Reshape") return Status::Ok();
    const std::string out = NodeAt(r2).output(0);
    const TensorInfo* oi = a_.Find(out);
    if (oi->shape.size() != 3 || oi->shape[2] != heads * head_dim) return Status::Ok();
    nodes.push_back(r2);

    int64_t causal = 0;
    if (!allowed.empty()) {
      bool is_causal = tq == tk, is_full = true;
      for (int64_t i = 0; i < tq; ++i)
        for (int64_t j = 0; j < tk; ++j) {
          const bool a = allowed[i * tk + j] != 0;
          is_causal &= a == (j <= i);
          is_full &= a;
        }
      if (!is_causal && !is_full)
        return Status::Unsupported(Label(sm) + ": attention mask is neither causal nor empty");
      causal = is_causal && !is_full ? 1 : 0;
    }

    Fusion f;
    f.nodes = nodes;
    f.anchor = r2;
    const onnx::NodeProto* src = &sm;
    f.emit = [=, this]() -> Status {
      VEIL_ASSIGN_OR_RETURN(int qv, Use(q, *src));
      VEIL_ASSIGN_OR_RETURN(int kv, Use(k, *src));
      VEIL_ASSIGN_OR_RETURN(int vv, Use(v, *src));
      const double s_z = ScaleOf(scaled);
      const double s_out = ScaleOf(out);
      VEIL_ASSIGN_OR_RETURN(FixedMultiplier score,
                            QuantizeMultiplier(ValueScale(qv) * ValueScale(kv) * std::fabs(factor) / s_z));
      if (factor < 0) return Status::Unsupported(Label(*src) + ": negative attention scale");
      VEIL_ASSIGN_OR_RETURN(FixedMultiplier o, QuantizeMultiplier(ValueScale(vv) / (127.0 * s_out)));
      const int y = NewValue(out, s_out);
      Node& n = Emit(OpKind::kAttention, *src, {qv, kv, vv}, y);
      n.SetAttr("heads", {heads});
      n.SetAttr("causal", {causal});
      n.SetAttr("act_min", {kActMin});
      n.SetAttr("act_max", {kActMax});
      n.SetParam("score_multiplier", I32({score.multiplier}));
      n.SetParam("score_shift", I32({score.shift}));
      n.SetParam("exp_table", I32(ExpTable(s_z)));
      n.SetParam("multiplier", I32({o.multiplier}));
      n.SetParam("shift", I32({o.shift}));
      return Status::Ok();
    };
    AddFusion(std::move(f));
    return Status::Ok();
  }

  // Normalisations written out elementwise:
  //   RMSNorm:   x / sqrt(mean(x^2) + eps) [* w]
  //   LayerNorm: d = x - mean(x); d / sqrt(mean(d^2) + eps) [* w] [+ b]
  Status TryNorm(int reduce_index) {
    const onnx::NodeProto& r = NodeAt(reduce_index);
    auto last_axis_keepdims = [&](const onnx::NodeProto& n) {
      const auto axes = AttrInts(n, "axes");
      const TensorInfo* t = a_.Find(n.input(0));
      const int64_t rank = static_cast<int64_t>(t->shape.size());
      return AttrInt(n, "keepdims", 1) == 1 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
    };
    if (!last_axis_keepdims(r) || a_.IsStatic(r.input(0))) return Status::Ok();
    std::vector<int> nodes;
    std::string x;        // the normalised input
    std::string centred;  // LayerNorm: x - mean
    const int sq = ProducerIndex(r.input(0));
    auto is_square_of = [&](int ni, std::string* base) {
      if (ni < 0) return false;
      const onnx::NodeProto& n = NodeAt(ni);
      if (n.op_type() == "Pow") {
        const FTensor* e = a_.Static(n.input(1));
        if (!IsScalar(e) || e->f[0] != 2.0f) return false;
        *base = n.input(0);
        return true;
      }
      if (n.op_type() == "Mul" && n.input(0) == n.input(1)) {
        *base = n.input(0);
        return true;
      }
      return false;
    };
    std::string base;
    if (!is_square_of(sq, &base) || SoleConsumer(r.input(0)) != reduce_index) return Status::Ok();
    nodes = {sq, reduce_index};
    bool layer_norm = false;
    const int sub = ProducerIndex(base);
    if (sub >= 0 && NodeAt(sub).op_type() == "Sub") {
      const int mean = ProducerIndex(NodeAt(sub).input(1));
      if (mean >= 0 && NodeAt(mean).op_type() == "ReduceMean" && last_axis_keepdims(NodeAt(mean)) &&
          NodeAt(mean).input(0) == NodeAt(sub).input(0) && SoleConsumer(NodeAt(mean).output(0)) == sub) {
        layer_norm = true;
        x = NodeAt(sub).input(0);
        centred = base;
        nodes.push_back(mean);
        nodes.push_back(sub);
      }
    }
    if (!layer_norm) x = base;
    // mean -> Add(eps) -> Sqrt -> Div(base, .)
    int ai = SoleConsumer(r.output(0));
    if (ai < 0 || NodeAt(ai).op_type() != "Add") return Status::Ok();
    const FTensor* eps_t = nullptr;
    if (DynamicOperand(NodeAt(ai), &eps_t) != r.output(0) || !IsScalar(eps_t)) return Status::Ok();
    const double eps = eps_t->f[0];
    const int si = SoleConsumer(NodeAt(ai).output(0));
    if (si < 0 || NodeAt(si).op_type() != "Sqrt") return Status::Ok();
    const int di = SoleConsumer(NodeAt(si).output(0));
    if (di < 0 || NodeAt(di).op_type() != "Div" || NodeAt(di).input(0) != base ||
        NodeAt(di).input(1) != NodeAt(si).output(0))
      return Status::Ok();
    // LayerNorm's centred tensor must feed only the square and the division (RMSNorm's
    // input may feed anything else too, e.g. the residual connection).
    if (layer_norm && (a_.Consumers(base).size() != 2 || IsGraphOutput(base))) return Status::Ok();
    nodes.insert(nodes.end(), {ai, si, di});
    std::string out = NodeAt(di).output(0);
    const int64_t channels = a_.Find(x)->shape.back();
    std::vector<double> gamma(static_cast<size_t>(channels), 1.0), beta(static_cast<size_t>(channels), 0.0);
    auto per_channel = [&](const FTensor* c, std::vector<double>* dst) {
      if (c == nullptr || c->kind != FTensor::Kind::kFloat || c->size() != channels || c->shape.back() != channels)
        return false;
      for (int64_t i = 0; i < channels; ++i) (*dst)[i] = c->f[i];
      return true;
    };
    int mi = SoleConsumer(out);
    const FTensor* w = nullptr;
    if (mi >= 0 && NodeAt(mi).op_type() == "Mul" && DynamicOperand(NodeAt(mi), &w) == out && per_channel(w, &gamma)) {
      nodes.push_back(mi);
      out = NodeAt(mi).output(0);
      int bi = SoleConsumer(out);
      const FTensor* b = nullptr;
      if (layer_norm && bi >= 0 && NodeAt(bi).op_type() == "Add" && DynamicOperand(NodeAt(bi), &b) == out &&
          per_channel(b, &beta)) {
        nodes.push_back(bi);
        out = NodeAt(bi).output(0);
      }
    }
    Fusion f;
    f.nodes = nodes;
    f.anchor = *std::max_element(nodes.begin(), nodes.end());
    const onnx::NodeProto* src = &r;
    f.emit = [=, this]() -> Status {
      return EmitNorm(*src, layer_norm ? OpKind::kLayerNorm : OpKind::kRmsNorm, x, out, eps, gamma, beta);
    };
    AddFusion(std::move(f));
    return Status::Ok();
  }

  Status EmitNorm(const onnx::NodeProto& src, OpKind kind, const std::string& x, const std::string& out,
                  double eps, const std::vector<double>& gamma, const std::vector<double>& beta) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(x, src));
    const double s_x = ValueScale(xv);
    const double s_y = ScaleOf(out);
    const int64_t c = static_cast<int64_t>(gamma.size());
    if (c > 8192) return Status::Unsupported(Label(src) + ": normalisation over more than 8192 channels");
    constexpr int kF = 12;
    double gmax = 0;
    for (double gv : gamma) gmax = std::max(gmax, std::fabs(gv));
    int shift = 40;
    if (gmax > 0) shift = std::clamp(kF + 29 - static_cast<int>(std::floor(std::log2(gmax / s_y))), 0, 52);
    std::vector<int32_t> gq(static_cast<size_t>(c));
    std::vector<int64_t> bq(static_cast<size_t>(c));
    for (int64_t i = 0; i < c; ++i) {
      const double gv = std::ldexp(gamma[i] / s_y, shift - kF);
      const double bv = std::ldexp(beta[i] / s_y, shift);
      if (std::fabs(gv) >= 2147483647.0 || std::fabs(bv) >= std::ldexp(1.0, 61))
        return Status::Unsupported(Label(src) + ": normalisation parameters out of range");
      gq[i] = static_cast<int32_t>(RoundHalfAway(gv));
      bq[i] = RoundHalfAway(bv);
    }
    const double eps_units = kind == OpKind::kLayerNorm ? eps * double(c) * double(c) / (s_x * s_x) : eps / (s_x * s_x);
    if (eps_units >= std::ldexp(1.0, 40)) return Status::Unsupported(Label(src) + ": epsilon too large for the input scale");
    const int y = NewValue(out, s_y);
    Node& n = Emit(kind, src, {xv}, y);
    n.SetAttr("act_min", {kActMin});
    n.SetAttr("act_max", {kActMax});
    n.SetParam("gamma", I32(gq));
    n.SetParam("beta", Tensor::FromInt64({c}, bq));
    n.SetParam("eps", Tensor::FromInt64({1}, {RoundHalfAway(eps_units)}));
    n.SetParam("shift", I32({shift}));
    return Status::Ok();
  }

  // ---- single nodes (with look-ahead fusion of BN / bias / ReLU) ---------------------

  // Fuses a following Relu into the op producing `*out`; returns act_min.
  int32_t FuseRelu(std::string* out) {
    const int ri = SoleConsumer(*out);
    if (ri >= 0 && NodeAt(ri).op_type() == "Relu") {
      consumed_[ri] = true;
      *out = NodeAt(ri).output(0);
      return 0;
    }
    return kActMin;
  }

  Status LowerNode(int i) {
    const onnx::NodeProto& node = NodeAt(i);
    const std::string& op = node.op_type();
    if (op == "Conv") return LowerConv(i);
    if (op == "MatMul" || op == "Gemm") return LowerMatMul(i);
    if (op == "Identity" || op == "Dropout") return Alias(node);
    if (op == "MaxPool" || op == "AveragePool") return LowerPool(i);
    if (op == "GlobalAveragePool") return LowerReduceMean(node, {1, 2}, true);
    if (op == "ReduceMean") {
      std::vector<int64_t> axes = AttrInts(node, "axes");
      const int64_t rank = static_cast<int64_t>(a_.Find(node.input(0))->shape.size());
      std::vector<int64_t> per_sample;
      for (int64_t ax : axes) {
        if (ax < 0) ax += rank;
        if (ax <= 0 || ax >= rank) return Status::Unsupported(Label(node) + ": reduction over the batch axis");
        per_sample.push_back(ax - 1);
      }
      std::sort(per_sample.begin(), per_sample.end());
      return LowerReduceMean(node, per_sample, AttrInt(node, "keepdims", 1) != 0);
    }
    if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze") return LowerReshape(node);
    if (op == "Transpose") return LowerTranspose(node);
    if (op == "Softmax") return LowerSoftmax(node);
    if (op == "LayerNormalization") return LowerLayerNormalization(node);
    if (op == "Gather") return LowerGather(node);
    if (op == "Concat") return LowerConcat(node);
    if (op == "Slice") return LowerSlice(node);
    if (op == "Add" || op == "Mul") {
      const bool both_dynamic = !a_.IsStatic(node.input(0)) && !a_.IsStatic(node.input(1));
      const FTensor* c = nullptr;
      std::string dyn = DynamicOperand(node, &c);
      if (both_dynamic && node.input(0) != node.input(1)) return LowerBinary(i, node.input(0), node.input(1), nullptr);
      if (!dyn.empty() && !IsScalar(c)) return LowerBinary(i, dyn, "", c);
    }
    if (kElementwise.count(op)) return LowerElementwiseRegion(i);
    return Status::Unsupported("unsupported ONNX op " + Label(node) + " (no integer lowering for this pattern)");
  }

  Status Alias(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int v, Use(node.input(0), node));
    value_of_[node.output(0)] = v;
    return Status::Ok();
  }

  Status EmitLinearLike(OpKind kind, const onnx::NodeProto& src, int xv, const std::vector<float>& w, int64_t n,
                        int64_t k, const std::vector<float>& bias, const Shape& weight_shape, std::string out,
                        std::function<void(Node&)> extra) {
    std::vector<int8_t> wq;
    std::vector<double> ws;
    QuantizeRowsSymmetric(w, n, k, &wq, &ws);
    const int32_t act_min = FuseRelu(&out);
    const double s_x = ValueScale(xv);
    const double s_y = act_min == 0 ? ScaleOf(out) : ScaleOf(out);
    std::vector<int32_t> bq(static_cast<size_t>(n)), mult(static_cast<size_t>(n)), shift(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) {
      const double b = bias.empty() ? 0.0 : bias[o] / (s_x * ws[o]);
      if (std::fabs(b) >= 1e9) return Status::Unsupported(Label(src) + ": bias too large for int32 at these scales");
      bq[o] = static_cast<int32_t>(RoundHalfAway(b));
      VEIL_ASSIGN_OR_RETURN(FixedMultiplier m, QuantizeMultiplier(s_x * ws[o] / s_y));
      mult[o] = m.multiplier;
      shift[o] = m.shift;
    }
    const int y = NewValue(out, s_y);
    Node& node = Emit(kind, src, {xv}, y);
    node.SetAttr("act_min", {act_min});
    node.SetAttr("act_max", {kActMax});
    if (extra) extra(node);
    Tensor wt(DType::kInt8, weight_shape);
    std::copy(wq.begin(), wq.end(), wt.i8().begin());
    node.SetParam("weight", std::move(wt));
    node.SetParam("bias", I32(bq));
    node.SetParam("multiplier", I32(mult));
    node.SetParam("shift", I32(shift));
    return Status::Ok();
  }

  Status LowerConv(int i) {
    const onnx::NodeProto& node = NodeAt(i);
    const FTensor* w = a_.Static(node.input(1));
    if (w == nullptr || w->shape.size() != 4 || a_.IsStatic(node.input(0)))
      return Status::Unsupported(Label(node) + ": only 2-D convolution of an activation by constant weights");
    const std::string pad_mode = AttrString(node, "auto_pad");
    if (!pad_mode.empty() && pad_mode != "NOTSET")
      return Status::Unsupported(Label(node) + ": auto_pad=" + pad_mode);
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    const int64_t o = w->shape[0], k = w->shape[1] * w->shape[2] * w->shape[3];
    std::vector<float> weights = w->f;
    std::vector<float> bias(static_cast<size_t>(o), 0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const FTensor* b = a_.Static(node.input(2));
      if (b == nullptr || b->size() != o) return Status::Unsupported(Label(node) + ": non-constant bias");
      bias = b->f;
    }
    std::string out = node.output(0);
    const int bn = SoleConsumer(out);
    if (bn >= 0 && NodeAt(bn).op_type() == "BatchNormalization") {  // fold into weights and bias
      const onnx::NodeProto& b = NodeAt(bn);
      const FTensor *gamma = a_.Static(b.input(1)), *beta = a_.Static(b.input(2)), *mean = a_.Static(b.input(3)),
                    *var = a_.Static(b.input(4));
      if (gamma && beta && mean && var && gamma->size() == o && beta->size() == o && mean->size() == o &&
          var->size() == o) {
        const float eps = AttrFloat(b, "epsilon", 1e-5f);
        for (int64_t c = 0; c < o; ++c) {
          const double scale = gamma->f[c] / std::sqrt(double{var->f[c]} + eps);
          for (int64_t e = 0; e < k; ++e) weights[c * k + e] = static_cast<float>(weights[c * k + e] * scale);
          bias[c] = static_cast<float>((bias[c] - mean->f[c]) * scale + beta->f[c]);
        }
        consumed_[bn] = true;
        out = b.output(0);
      }
    }
    std::vector<int64_t> strides = AttrInts(node, "strides"), pads = AttrInts(node, "pads"),
                         dil = AttrInts(node, "dilations");
    if (strides.empty()) strides = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    if (dil.empty()) dil = {1, 1};
    if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2)
      return Status::Unsupported(Label(node) + ": only 2-D convolution");
    const int64_t group = AttrInt(node, "group", 1);
    return EmitLinearLike(OpKind::kConv2d, node, xv, weights, o, k, bias, w->shape, out, [&](Node& n) {
      n.SetAttr("strides", strides);
      n.SetAttr("pads", {pads[0], pads[1], pads[2], pads[3]});  // ONNX: t, l, b, r
      n.SetAttr("dilations", dil);
      n.SetAttr("group", {group});
    });
  }

  Status LowerMatMul(int i) {
    const onnx::NodeProto& node = NodeAt(i);
    const bool gemm = node.op_type() == "Gemm";
    if (!a_.IsStatic(node.input(1))) {
      if (gemm) return Status::Unsupported(Label(node) + ": Gemm with a non-constant B");
      return LowerActivationMatMul(node);
    }
    const FTensor* w = a_.Static(node.input(1));
    if (w->shape.size() != 2 || w->kind != FTensor::Kind::kFloat)
      return Status::Unsupported(Label(node) + ": weights must be a 2-D float matrix");
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    bool trans_b = false;
    double alpha = 1.0, beta = 1.0;
    if (gemm) {
      if (AttrInt(node, "transA", 0) != 0) return Status::Unsupported(Label(node) + ": transA=1");
      trans_b = AttrInt(node, "transB", 0) != 0;
      alpha = AttrFloat(node, "alpha", 1.0f);
      beta = AttrFloat(node, "beta", 1.0f);
    }
    const int64_t k = trans_b ? w->shape[1] : w->shape[0];
    const int64_t n = trans_b ? w->shape[0] : w->shape[1];
    std::vector<float> wt(static_cast<size_t>(n * k));  // [N, K]
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c)
        wt[r * k + c] = static_cast<float>(alpha * (trans_b ? w->f[r * k + c] : w->f[c * n + r]));
    std::vector<float> bias;
    std::string out = node.output(0);
    auto take_bias = [&](const FTensor* b, double mult) {
      if (b == nullptr || b->kind != FTensor::Kind::kFloat || b->size() != n || b->shape.back() != n) return false;
      bias.resize(static_cast<size_t>(n));
      for (int64_t e = 0; e < n; ++e) bias[e] = static_cast<float>(mult * b->f[e]);
      return true;
    };
    if (gemm && node.input_size() > 2 && !node.input(2).empty()) {
      if (!take_bias(a_.Static(node.input(2)), beta))
        return Status::Unsupported(Label(node) + ": bias C must be a constant vector of length N");
    } else if (!gemm) {
      const int ai = SoleConsumer(out);
      const FTensor* b = nullptr;
      if (ai >= 0 && NodeAt(ai).op_type() == "Add" && DynamicOperand(NodeAt(ai), &b) == out && take_bias(b, 1.0)) {
        consumed_[ai] = true;
        out = NodeAt(ai).output(0);
      }
    }
    return EmitLinearLike(OpKind::kLinear, node, xv, wt, n, k, bias, {n, k}, out, nullptr);
  }

  Status LowerActivationMatMul(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int av, Use(node.input(0), node));
    VEIL_ASSIGN_OR_RETURN(int bv, Use(node.input(1), node));
    const Shape& as = g_.values[av].shape;
    const Shape& bs = g_.values[bv].shape;
    if (as.size() < 2 || as.size() != bs.size())
      return Status::Unsupported(Label(node) + ": activation MatMul needs equal ranks >= 2 per sample");
    std::string out = node.output(0);
    const int32_t act_min = FuseRelu(&out);
    const double s_y = ScaleOf(out);
    VEIL_ASSIGN_OR_RETURN(FixedMultiplier m, QuantizeMultiplier(ValueScale(av) * ValueScale(bv) / s_y));
    const int y = NewValue(out, s_y);
    Node& n = Emit(OpKind::kMatMul, node, {av, bv}, y);
    n.SetAttr("transpose_b", {0});
    n.SetAttr("act_min", {act_min});
    n.SetAttr("act_max", {kActMax});
    n.SetParam("multiplier", I32({m.multiplier}));
    n.SetParam("shift", I32({m.shift}));
    return Status::Ok();
  }

  Status LowerPool(int i) {
    const onnx::NodeProto& node = NodeAt(i);
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    if (AttrInt(node, "ceil_mode", 0) != 0) return Status::Unsupported(Label(node) + ": ceil_mode=1");
    const std::string pad_mode = AttrString(node, "auto_pad");
    if (!pad_mode.empty() && pad_mode != "NOTSET") return Status::Unsupported(Label(node) + ": auto_pad=" + pad_mode);
    std::vector<int64_t> kernel = AttrInts(node, "kernel_shape"), strides = AttrInts(node, "strides"),
                         pads = AttrInts(node, "pads"), dil = AttrInts(node, "dilations");
    if (strides.empty()) strides = {1, 1};
    if (pads.empty()) pads = {0, 0, 0, 0};
    if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4)
      return Status::Unsupported(Label(node) + ": only 2-D pooling");
    if (!dil.empty() && dil != std::vector<int64_t>{1, 1})
      return Status::Unsupported(Label(node) + ": dilated pooling");
    const bool is_max = node.op_type() == "MaxPool";
    if (is_max && node.output_size() > 1 && !node.output(1).empty())
      return Status::Unsupported(Label(node) + ": MaxPool indices output");
    const int y = NewValue(node.output(0), ValueScale(xv));
    Node& n = Emit(is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d, node, {xv}, y);
    n.SetAttr("kernel", kernel);
    n.SetAttr("strides", strides);
    n.SetAttr("pads", pads);
    if (!is_max) n.SetAttr("count_include_pad", {AttrInt(node, "count_include_pad", 0)});
    return Status::Ok();
  }

  Status LowerReduceMean(const onnx::NodeProto& node, std::vector<int64_t> axes, bool keepdims) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    const int y = NewValue(node.output(0), ValueScale(xv));
    Node& n = Emit(OpKind::kReduceMean, node, {xv}, y);
    n.SetAttr("axes", std::move(axes));
    n.SetAttr("keepdims", {keepdims ? 1 : 0});
    return Status::Ok();
  }

  Status LowerReshape(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    const TensorInfo* out = a_.Find(node.output(0));
    if (out->shape.empty() || out->shape[0] != a_.batch)
      return Status::Unsupported(Label(node) + ": reshape that moves the batch dimension");
    const int y = NewValue(node.output(0), ValueScale(xv));
    Node& n = Emit(OpKind::kReshape, node, {xv}, y);
    n.SetAttr("shape", g_.values[y].shape);
    return Status::Ok();
  }

  Status LowerTranspose(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    std::vector<int64_t> perm = AttrInts(node, "perm");
    const int64_t rank = static_cast<int64_t>(a_.Find(node.input(0))->shape.size());
    if (perm.empty())
      for (int64_t r = rank - 1; r >= 0; --r) perm.push_back(r);
    if (perm.empty() || perm[0] != 0) return Status::Unsupported(Label(node) + ": transpose that moves the batch axis");
    std::vector<int64_t> per_sample;
    for (size_t p = 1; p < perm.size(); ++p) per_sample.push_back(perm[p] - 1);
    const int y = NewValue(node.output(0), ValueScale(xv));
    Node& n = Emit(OpKind::kTranspose, node, {xv}, y);
    n.SetAttr("perm", per_sample);
    return Status::Ok();
  }

  Status LowerSoftmax(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    const int64_t rank = static_cast<int64_t>(a_.Find(node.input(0))->shape.size());
    const int64_t axis = AttrInt(node, "axis", -1);
    if (axis != -1 && axis != rank - 1) return Status::Unsupported(Label(node) + ": softmax over a non-last axis");
    const int y = NewValue(node.output(0), 1.0 / 127.0);
    Node& n = Emit(OpKind::kSoftmax, node, {xv}, y);
    n.SetParam("exp_table", I32(ExpTable(ValueScale(xv))));
    return Status::Ok();
  }

  Status LowerLayerNormalization(const onnx::NodeProto& node) {
    const int64_t rank = static_cast<int64_t>(a_.Find(node.input(0))->shape.size());
    const int64_t axis = AttrInt(node, "axis", -1);
    if (axis != -1 && axis != rank - 1) return Status::Unsupported(Label(node) + ": normalisation over several axes");
    const int64_t c = a_.Find(node.input(0))->shape.back();
    std::vector<double> gamma(static_cast<size_t>(c), 1.0), beta(static_cast<size_t>(c), 0.0);
    const FTensor* g = a_.Static(node.input(1));
    if (g == nullptr || g->size() != c) return Status::Unsupported(Label(node) + ": non-constant scale");
    for (int64_t i = 0; i < c; ++i) gamma[i] = g->f[i];
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const FTensor* b = a_.Static(node.input(2));
      if (b == nullptr || b->size() != c) return Status::Unsupported(Label(node) + ": non-constant bias");
      for (int64_t i = 0; i < c; ++i) beta[i] = b->f[i];
    }
    return EmitNorm(node, OpKind::kLayerNorm, node.input(0), node.output(0), AttrFloat(node, "epsilon", 1e-5f), gamma,
                    beta);
  }

  Status LowerGather(const onnx::NodeProto& node) {
    const FTensor* table = a_.Static(node.input(0));
    if (table == nullptr || table->shape.size() != 2 || AttrInt(node, "axis", 0) != 0 ||
        table->kind != FTensor::Kind::kFloat)
      return Status::Unsupported(Label(node) + ": only embedding lookups (Gather rows of a constant matrix)");
    VEIL_ASSIGN_OR_RETURN(int ids, Use(node.input(1), node));
    if (g_.values[ids].dtype != DType::kInt32) return Status::Unsupported(Label(node) + ": indices must be token ids");
    double max_abs = 0;
    for (float v : table->f) max_abs = std::max(max_abs, std::fabs(double{v}));
    const double s = ScaleForMaxAbs(max_abs);
    Tensor t(DType::kInt8, table->shape);
    auto q = t.i8();
    for (int64_t e = 0; e < table->size(); ++e)
      q[e] = static_cast<int8_t>(std::clamp<int64_t>(RoundHalfAway(table->f[e] / s), -127, 127));
    const int y = NewValue(node.output(0), s);
    Node& n = Emit(OpKind::kEmbedding, node, {ids}, y);
    n.SetParam("table", std::move(t));
    return Status::Ok();
  }

  // Brings value `v` to `scale` with a Requantize node (or returns it unchanged).
  Result<int> Rescaled(int v, double scale, const onnx::NodeProto& src) {
    if (ValueScale(v) == scale) return v;
    VEIL_ASSIGN_OR_RETURN(FixedMultiplier m, QuantizeMultiplier(ValueScale(v) / scale));
    Value nv = g_.values[v];
    nv.name += "/rescaled";
    nv.scale = scale;
    const int y = g_.AddValue(std::move(nv));
    Node& n = Emit(OpKind::kRequantize, src, {v}, y);
    n.SetAttr("act_min", {kActMin});
    n.SetAttr("act_max", {kActMax});
    n.SetParam("multiplier", I32({m.multiplier}));
    n.SetParam("shift", I32({m.shift}));
    return y;
  }

  Status LowerConcat(const onnx::NodeProto& node) {
    const int64_t rank = static_cast<int64_t>(a_.Find(node.output(0))->shape.size());
    int64_t axis = AttrInt(node, "axis", 0);
    if (axis < 0) axis += rank;
    if (axis <= 0) return Status::Unsupported(Label(node) + ": concatenation along the batch axis");
    double scale = 0;
    std::vector<int> ins;
    for (const std::string& in : node.input()) {
      if (a_.IsStatic(in)) return Status::Unsupported(Label(node) + ": concatenation with a constant");
      VEIL_ASSIGN_OR_RETURN(int v, Use(in, node));
      ins.push_back(v);
      scale = std::max(scale, ValueScale(v));
    }
    for (int& v : ins) {
      VEIL_ASSIGN_OR_RETURN(v, Rescaled(v, scale, node));
    }
    const int y = NewValue(node.output(0), scale);
    Node& n = Emit(OpKind::kConcat, node, ins, y);
    n.SetAttr("axis", {axis - 1});
    return Status::Ok();
  }

  Status LowerSlice(const onnx::NodeProto& node) {
    VEIL_ASSIGN_OR_RETURN(int xv, Use(node.input(0), node));
    const Shape& in = a_.Find(node.input(0))->shape;
    const Shape& out = a_.Find(node.output(0))->shape;
    // Find the single sliced axis from the static starts/axes/steps.
    const FTensor* starts = a_.Static(node.input(1));
    const FTensor* axes = node.input_size() > 3 && !node.input(3).empty() ? a_.Static(node.input(3)) : nullptr;
    const FTensor* steps = node.input_size() > 4 && !node.input(4).empty() ? a_.Static(node.input(4)) : nullptr;
    if (starts == nullptr || starts->size() != 1 || (node.input_size() > 3 && !node.input(3).empty() && !axes))
      return Status::Unsupported(Label(node) + ": only single-axis slices with constant bounds");
    int64_t axis = axes ? axes->i[0] : 0;
    if (axis < 0) axis += static_cast<int64_t>(in.size());
    const int64_t step = steps ? steps->i[0] : 1;
    if (axis <= 0 || step <= 0) return Status::Unsupported(Label(node) + ": slice over the batch axis or backwards");
    int64_t start = starts->i[0];
    const int64_t dim = in[axis];
    if (start < 0) start += dim;
    start = std::clamp<int64_t>(start, 0, dim);
    const int64_t end = std::min(dim, start + (out[axis] - 1) * step + 1);
    const int y = NewValue(node.output(0), ValueScale(xv));
    Node& n = Emit(OpKind::kSlice, node, {xv}, y);
    n.SetAttr("axis", {axis - 1});
    n.SetAttr("start", {start});
    n.SetAttr("end", {end});
    n.SetAttr("step", {step});
    return Status::Ok();
  }

  // Add/Mul of two activations, or of an activation and a constant tensor (not scalar).
  Status LowerBinary(int i, const std::string& a, const std::string& b, const FTensor* constant) {
    const onnx::NodeProto& node = NodeAt(i);
    const bool is_add = node.op_type() == "Add";
    VEIL_ASSIGN_OR_RETURN(int av, Use(a, node));
    std::vector<int> ins = {av};
    double s_b = 0;
    Tensor const_q;
    if (constant == nullptr) {
      VEIL_ASSIGN_OR_RETURN(int bv, Use(b, node));
      ins.push_back(bv);
      s_b = ValueScale(bv);
      const Shape &as = g_.values[av].shape, &bs = g_.values[bv].shape;
      if (bs.size() > as.size() || !std::equal(bs.rbegin(), bs.rend(), as.rbegin()))
        return Status::Unsupported(Label(node) + ": the second operand's shape must be a suffix of the first's");
    } else {
      // Per-sample constant: drop leading 1s (the batch broadcast), then it must be a suffix.
      Shape cs = constant->shape;
      while (!cs.empty() && cs[0] == 1 && static_cast<int64_t>(cs.size()) > 0 &&
             NumElements(cs) == constant->size() && cs.size() > g_.values[av].shape.size())
        cs.erase(cs.begin());
      const Shape& as = g_.values[av].shape;
      while (cs.size() > 1 && cs[0] == 1 && cs.size() >= as.size()) cs.erase(cs.begin());
      if (cs.size() > as.size() || !std::equal(cs.rbegin(), cs.rend(), as.rbegin(),
                                               [](int64_t c, int64_t x) { return c == x || x == kDynamicDim; }))
        return Status::Unsupported(Label(node) + ": constant operand shape " + ShapeToString(constant->shape) +
                                   " does not broadcast as a suffix of " + ShapeToString(as));
      double max_abs = 0;
      for (float v : constant->f) max_abs = std::max(max_abs, std::fabs(double{v}));
      s_b = ScaleForMaxAbs(max_abs);
      const_q = Tensor(DType::kInt8, cs);
      auto q = const_q.i8();
      for (int64_t e = 0; e < constant->size(); ++e)
        q[e] = static_cast<int8_t>(std::clamp<int64_t>(RoundHalfAway(constant->f[e] / s_b), -127, 127));
    }
    std::string out = node.output(0);
    const int32_t act_min = FuseRelu(&out);
    const double s_y = ScaleOf(out);
    const int y = NewValue(out, s_y);
    Node& n = Emit(is_add ? OpKind::kAdd : OpKind::kMul, node, ins, y);
    n.SetAttr("act_min", {act_min});
    n.SetAttr("act_max", {kActMax});
    if (constant != nullptr) n.SetParam("constant", std::move(const_q));
    if (is_add) {
      int32_t shift = 0;
      VEIL_ASSIGN_OR_RETURN(std::vector<int32_t> m, QuantizeMultiplierPair(ValueScale(av) / s_y, s_b / s_y, &shift));
      n.SetParam("multiplier_a", I32({m[0]}));
      n.SetParam("multiplier_b", I32({m[1]}));
      n.SetParam("shift", I32({shift}));
    } else {
      VEIL_ASSIGN_OR_RETURN(FixedMultiplier m, QuantizeMultiplier(ValueScale(av) * s_b / s_y));
      n.SetParam("multiplier", I32({m.multiplier}));
      n.SetParam("shift", I32({m.shift}));
    }
    return Status::Ok();
  }

  // A maximal group of elementwise nodes computing f(x) from one activation x and scalar
  // constants (GELU, SiLU, ReLU, tanh, ...) becomes a single 256-entry lookup table.
  Status LowerElementwiseRegion(int first) {
    const onnx::NodeProto& start = NodeAt(first);
    std::string x;
    for (const std::string& in : start.input()) {
      if (in.empty() || IsScalar(a_.Static(in))) continue;
      if (a_.IsStatic(in)) return Status::Unsupported(Label(start) + ": elementwise op with a non-scalar constant");
      if (!x.empty() && x != in) return Status::Unsupported(Label(start) + ": elementwise op of two different activations");
      x = in;
    }
    if (x.empty()) return Status::Unsupported(Label(start) + ": no activation input");
    const Shape& xs = a_.Find(x)->shape;
    std::set<int> region = {first};
    std::set<std::string> produced = {start.output(0)};
    bool grew = true;
    while (grew) {
      grew = false;
      for (const std::string& t : std::set<std::string>(produced)) {
        for (int c : a_.Consumers(t)) {
          if (region.count(c) || consumed_[c] || !kElementwise.count(NodeAt(c).op_type())) continue;
          bool ok = true;
          for (const std::string& in : NodeAt(c).input())
            ok &= in.empty() || in == x || produced.count(in) || IsScalar(a_.Static(in));
          if (!ok || a_.Find(NodeAt(c).output(0))->shape != xs) continue;
          region.insert(c);
          produced.insert(NodeAt(c).output(0));
          grew = true;
        }
      }
    }
    auto exits_of = [&](const std::set<int>& r, const std::set<std::string>& p) {
      std::vector<std::string> exits;
      for (const std::string& t : p) {
        bool outside = IsGraphOutput(t);
        for (int c : a_.Consumers(t)) outside |= !r.count(c);
        if (outside) exits.push_back(t);
      }
      return exits;
    };
    std::vector<std::string> exits = exits_of(region, produced);
    if (exits.size() != 1) {
      region = {first};
      produced = {start.output(0)};
      exits = {start.output(0)};
      bool inner = false;
      for (const std::string& in : start.input()) inner |= in == x;
      if (!inner) return Status::Internal("elementwise region without its source");
    }
    const std::string out = exits[0];
    VEIL_ASSIGN_OR_RETURN(int xv, Use(x, start));
    const double s_x = ValueScale(xv);
    // Evaluate f on every int8 code of x.
    std::map<std::string, FTensor> env;
    std::vector<float> codes(256);
    for (int q = -128; q < 128; ++q) codes[q + 128] = static_cast<float>(q * s_x);
    env[x] = FTensor::Float({256}, codes);
    for (int ni : region) {  // std::set iterates in node (topological) order
      const onnx::NodeProto& n = NodeAt(ni);
      std::vector<const FTensor*> ins;
      for (const std::string& in : n.input()) ins.push_back(in.empty() ? nullptr : env.count(in) ? &env[in] : a_.Static(in));
      std::vector<FTensor> outs;
      VEIL_RETURN_IF_ERROR(EvalNode(n, ins, &outs).WithContext(Label(n)));
      env[n.output(0)] = std::move(outs[0]);
    }
    const FTensor& f = env[out];
    if (f.size() != 256) return Status::Internal(Label(start) + ": lookup evaluation changed shape");
    bool is_relu = region.size() == 1 && start.op_type() == "Relu";
    const double s_y = is_relu ? s_x : ScaleOf(out);
    Tensor table(DType::kInt8, {256});
    auto t = table.i8();
    for (int e = 0; e < 256; ++e) {
      const double v = f.f[e];
      t[e] = static_cast<int8_t>(std::isfinite(v) ? std::clamp<int64_t>(RoundHalfAway(v / s_y), -127, 127)
                                                  : (v > 0 ? 127 : -127));
    }
    for (int ni : region) consumed_[ni] = true;
    const int y = NewValue(out, s_y);
    Node& n = Emit(OpKind::kLookup, start, {xv}, y);
    n.SetParam("table", std::move(table));
    return Status::Ok();
  }

  const Analysis& a_;
  Graph g_;
  std::vector<bool> consumed_;
  std::map<int, Fusion> fusion_at_;
  std::map<std::string, int> value_of_;
};

}  // namespace

Result<Graph> Lower(const Analysis& analysis, const std::string& model_name) {
  Lowerer lowerer(analysis, model_name);
  return lowerer.Run();
}

}  // namespace veil::onnx_import
