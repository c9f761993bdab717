#include "veil/she/common.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "veil/he/ckks_network_onnx.h"

namespace veil::she {
namespace {

// Bounds the work and the message size of one request.
constexpr size_t kMaxCiphertextsPerRequest = 64;

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

}  // namespace

const char* SheParamsName(SheParams p) {
  switch (p) {
    case SheParams::kN8192:
      return "N8192";
    case SheParams::kN16384:
      return "N16384";
  }
  return "?";
}

Result<SheParams> ParseSheParams(const std::string& name) {
  if (name == "N8192") return SheParams::kN8192;
  if (name == "N16384") return SheParams::kN16384;
  return Status::InvalidArgument("SHE parameter set '" + name + "': expected N8192 or N16384");
}

Result<std::shared_ptr<const he::Context>> MakeSheContext(SheParams p) {
  he::ParamSet set;
  switch (p) {
    case SheParams::kN8192:
      set = he::ParamSet::kN8192;
      break;
    case SheParams::kN16384:
      set = he::ParamSet::kN16384;
      break;
    default:
      return Status::InvalidArgument("unknown SHE parameter set " +
                                     std::to_string(static_cast<int>(p)));
  }
  VEIL_ASSIGN_OR_RETURN(he::EncryptionParameters params,
                        he::StandardParameters(set, he::kLinearPlainModulus));
  return he::Context::Create(params);
}

bool IsEncryptable(const Node& node) {
  if (node.kind == OpKind::kLinear) return true;
  if (node.kind != OpKind::kConv2d) return false;
  if (node.AttrInt("group", 1) != 1) return false;
  const std::vector<int64_t> d = node.AttrInts("dilations");
  return std::all_of(d.begin(), d.end(), [](int64_t v) { return v == 1; });
}

const he::EncryptedLinearLayer& SheLayer::linear() const {
  if (is_conv()) return (*conv).linear();
  return *dense;
}

size_t SheLayer::InputCiphertexts(int64_t batch) const {
  const auto b = static_cast<size_t>(batch);
  if (is_conv()) return b * (*conv).input_ciphertexts();
  const he::EncryptedLinearLayer& l = linear();
  return CeilDiv(b * static_cast<size_t>(rows), l.batch_capacity()) * l.input_ciphertexts();
}

size_t SheLayer::OutputCiphertexts(int64_t batch) const {
  const auto b = static_cast<size_t>(batch);
  if (is_conv()) return b * (*conv).groups();
  return CeilDiv(b * static_cast<size_t>(rows), linear().batch_capacity());
}

int64_t SheLayer::MaxBatch() const {
  if (is_conv()) {
    const auto& c = (*conv);
    return static_cast<int64_t>(kMaxCiphertextsPerRequest /
                                std::max(c.input_ciphertexts(), c.groups()));
  }
  const he::EncryptedLinearLayer& l = linear();
  const size_t groups = kMaxCiphertextsPerRequest / l.input_ciphertexts();
  return static_cast<int64_t>(groups * l.batch_capacity() / static_cast<size_t>(rows));
}

Result<SheLayer> MakeSheLayer(std::shared_ptr<const he::Context> context, const Graph& graph,
                              int node_index, bool weights) {
  if (node_index < 0 || node_index >= static_cast<int>(graph.nodes.size()))
    return Status::InvalidArgument("layer " + std::to_string(node_index) + " out of range: " +
                                   std::to_string(graph.nodes.size()) + " node(s)");
  const Node& node = graph.nodes[static_cast<size_t>(node_index)];
  const std::string what =
      "node " + std::to_string(node_index) + " (" + OpKindName(node.kind) + " " + node.name + ")";
  if (!IsEncryptable(node))
    return Status::InvalidArgument(what +
                                   " has no encrypted form (Linear, or Conv2d with group 1 and "
                                   "dilation 1)");
  const Tensor* w = node.FindParam("weight");
  const Tensor* b = node.FindParam("bias");
  if (w == nullptr || b == nullptr || node.inputs.empty() || w->dtype() != DType::kInt8 ||
      b->dtype() != DType::kInt32)
    return Status::InvalidArgument(what + " lacks int8 weight / int32 bias");
  const Value& in = graph.values[static_cast<size_t>(node.inputs[0])];
  for (int64_t d : in.shape)
    if (d == kDynamicDim) return Status::Unsupported(what + ": dynamic input shape");
  std::vector<int8_t> zero_w;
  std::vector<int32_t> zero_b;
  std::span<const int8_t> wv = w->i8();
  std::span<const int32_t> bv = b->i32();
  if (!weights) {
    zero_w.assign(wv.size(), 0);
    zero_b.assign(bv.size(), 0);
    wv = zero_w;
    bv = zero_b;
  }
  SheLayer out;
  if (node.kind == OpKind::kLinear) {
    const int64_t n = w->dim(0), k = w->dim(1);
    for (size_t i = 0; i + 1 < in.shape.size(); ++i) out.rows *= in.shape[i];
    out.out_features = n;
    VEIL_ASSIGN_OR_RETURN(
        he::EncryptedLinearLayer l,
        he::EncryptedLinearLayer::Create(std::move(context), static_cast<size_t>(n),
                                         static_cast<size_t>(k), wv, bv));
    out.dense.emplace(std::move(l));
  } else {
    if (in.shape.size() != 3 || w->rank() != 4)
      return Status::InvalidArgument(what + ": expected input [C, H, W] and weight [O, C, KH, KW]");
    const std::vector<int64_t> strides = node.AttrInts("strides");
    const std::vector<int64_t> pads = node.AttrInts("pads");
    he::Conv2dShape shape;
    shape.channels = static_cast<size_t>(in.shape[0]);
    shape.height = static_cast<size_t>(in.shape[1]);
    shape.width = static_cast<size_t>(in.shape[2]);
    shape.out_channels = static_cast<size_t>(w->dim(0));
    shape.kernel_h = static_cast<size_t>(w->dim(2));
    shape.kernel_w = static_cast<size_t>(w->dim(3));
    if (strides.size() == 2) {
      shape.stride_h = static_cast<size_t>(strides[0]);
      shape.stride_w = static_cast<size_t>(strides[1]);
    }
    if (pads.size() == 4) {
      shape.pad_top = static_cast<size_t>(pads[0]);
      shape.pad_left = static_cast<size_t>(pads[1]);
      shape.pad_bottom = static_cast<size_t>(pads[2]);
      shape.pad_right = static_cast<size_t>(pads[3]);
    }
    out.out_features = w->dim(0);
    VEIL_ASSIGN_OR_RETURN(he::EncryptedConv2dLayer c,
                          he::EncryptedConv2dLayer::Create(std::move(context), shape, wv, bv));
    out.conv.emplace(std::move(c));
  }
  if (out.MaxBatch() < 1)
    return Status::Unsupported(what + ": one sample needs more than the per-request cap of " +
                               std::to_string(kMaxCiphertextsPerRequest) + " ciphertexts");
  return out;
}

Result<std::shared_ptr<const he::Context>> MakeSheCkksContext(SheParams p) {
  he::CkksParamSet set;
  switch (p) {
    case SheParams::kN8192:
      set = he::CkksParamSet::kN8192;
      break;
    case SheParams::kN16384:
      set = he::CkksParamSet::kN16384;
      break;
    default:
      return Status::InvalidArgument("unknown SHE parameter set " +
                                     std::to_string(static_cast<int>(p)));
  }
  VEIL_ASSIGN_OR_RETURN(he::EncryptionParameters params, he::CkksStandardParameters(set));
  return he::Context::Create(params);
}

Digest CkksModelDigest(const he::CkksNetworkSpec& spec) {
  Sha256Hasher h;
  static constexpr char kTag[] = "veil/she/ckks-model/v1";
  h.Update({reinterpret_cast<const uint8_t*>(kTag), sizeof(kTag)});
  auto doubles = [&h](const std::vector<double>& v) {
    h.UpdateU64(v.size());
    for (double x : v) h.UpdateU64(std::bit_cast<uint64_t>(x));
  };
  h.UpdateU64(spec.input_size);
  h.UpdateU64(spec.layers.size());
  for (const he::CkksLayerSpec& l : spec.layers) {
    h.UpdateU64(static_cast<uint64_t>(l.kind));
    if (l.kind == he::CkksLayerSpec::Kind::kDense) {
      h.UpdateU64(l.in);
      h.UpdateU64(l.out);
      doubles(l.weight);
      doubles(l.bias);
    } else {
      for (double c : {l.c0, l.c1, l.c2}) h.UpdateU64(std::bit_cast<uint64_t>(c));
    }
  }
  return h.Finish();
}

Result<std::vector<std::pair<size_t, size_t>>> ParseLayerRanges(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t pos = 0;
  auto number = [](const std::string& s, size_t* v) {
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *v = std::stoul(s);
    return true;
  };
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t colon = item.find(':');
    size_t a = 0, b = 0;
    if (colon == std::string::npos || !number(item.substr(0, colon), &a) ||
        !number(item.substr(colon + 1), &b) || a >= b)
      return Status::InvalidArgument("layer range '" + item +
                                     "' is not FIRST:LAST with FIRST < LAST");
    out.emplace_back(a, b);
    if (out.size() > 64) return Status::InvalidArgument("more than 64 layer ranges");
    pos = comma + 1;
  }
  return out;
}

Result<std::shared_ptr<const he::CkksNetworkSpec>> LoadCkksModel(const std::string& onnx_path) {
  VEIL_ASSIGN_OR_RETURN(he::CkksNetworkSpec spec, he::LoadCkksNetworkSpecFromOnnx(onnx_path));
  return std::make_shared<const he::CkksNetworkSpec>(std::move(spec));
}

}  // namespace veil::she
