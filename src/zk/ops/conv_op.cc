// Conv2d (group 1) in segment proofs: ConvProof (conv_proof.h) + the node's requantization
// with per-channel parameters expanded per column (channel j / (OH·OW)).
#include "../op_util.h"
#include "op.h"

namespace veil::zk::ops {
namespace {

Status Check(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (node.AttrInt("group", 1) != 1)
    return Status::Unsupported(NodeLabel(g, n) + " has group " +
                               std::to_string(node.AttrInt("group", 1)) +
                               "; only group 1 convolutions are provable yet");
  return Status::Ok();
}

ConvShape GeometryOf(const Graph& g, const Node& node) {
  const veil::Shape& x = ValueShape(g, node.inputs[0]);
  const veil::Shape& y = ValueShape(g, node.outputs[0]);
  const Tensor& w = *node.FindParam("weight");
  auto u = [](int64_t v) { return static_cast<uint32_t>(v); };
  ConvShape s;
  s.c = u(x[0]);
  s.h = u(x[1]);
  s.w = u(x[2]);
  s.o = u(w.dim(0));
  s.kh = u(w.dim(2));
  s.kw = u(w.dim(3));
  s.sh = u(AttrAt(node, "strides", 0, 1));
  s.sw = u(AttrAt(node, "strides", 1, 1));
  s.pt = u(AttrAt(node, "pads", 0, 0));
  s.pl = u(AttrAt(node, "pads", 1, 0));
  s.dh = u(AttrAt(node, "dilations", 0, 1));
  s.dw = u(AttrAt(node, "dilations", 1, 1));
  s.oh = u(y[1]);
  s.ow = u(y[2]);
  return s;
}

ConvStatement Statement(const Graph& g, const SegmentCommitment& sc, int n, size_t B) {
  ConvStatement st;
  st.batch = static_cast<uint32_t>(B);
  st.shape = GeometryOf(g, g.nodes[static_cast<size_t>(n)]);
  st.weight = sc.Find(static_cast<uint32_t>(n), "weight")->commitment;
  st.bias = sc.Find(static_cast<uint32_t>(n), "bias")->commitment;
  return st;
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  const ConvShape cs = GeometryOf(ctx.graph, node);
  const size_t B = ctx.B, J = cs.out_cols();
  const Tensor& w = *node.FindParam("weight");
  const Tensor& b = *node.FindParam("bias");
  if (ctx.sc.Find(static_cast<uint32_t>(n), "weight") == nullptr ||
      ctx.sc.Find(static_cast<uint32_t>(n), "bias") == nullptr)
    return Status::Internal("weight commitment missing");
  const std::vector<int32_t> acc = ConvAccumulators(cs, x.values.i8(), w.i8(), b.i32(), B);
  ConvWitness cw;
  cw.input = x.values.i8();
  cw.weight = w.i8();
  cw.bias = b.i32();
  cw.accumulator = acc;
  cw.input_blinds = x.blinds;
  cw.weight_blinds = TensorBlinds(ctx.seed, ctx.segment, n, "weight", cs.o);
  cw.bias_blinds = TensorBlinds(ctx.seed, ctx.segment, n, "bias", 1);
  cw.accumulator_blinds = FreshBlinds(B);
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        CommitAccumulatedLayer(ctx, node, acc, B, J, cw.accumulator_blinds, layer));
  ConvStatement st = Statement(ctx.graph, ctx.sc, n, B);
  st.input = x.commitment;
  st.accumulator = layer->accumulator;
  VEIL_ASSIGN_OR_RETURN(layer->conv, ProveConv(ctx.key, st, cw, ctx.t));
  VEIL_ASSIGN_OR_RETURN(layer->requantize, ProveNodeRequantize(ctx, node, layer->accumulator, acc,
                                                               {}, cw.accumulator_blinds, *out));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  ConvStatement st = Statement(ctx.graph, ctx.sc, n, ctx.B);
  st.input = ctx.In(node, 0);
  st.accumulator = l.accumulator;
  VEIL_RETURN_IF_ERROR(VerifyConv(ctx.key, st, l.conv, ctx.t, ctx.batch));
  return VerifyNodeRequantize(ctx, node, l.accumulator, l);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteConvProof(out, l.conv);
  WriteRequantizeProof(out, l.requantize);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  VEIL_ASSIGN_OR_RETURN(l->conv, ReadConvProof(in, GeometryOf(g, node)));
  VEIL_ASSIGN_OR_RETURN(l->requantize, ReadNodeRequantize(in, g, node, B, *l));
  return Status::Ok();
}

}  // namespace

const OpHandler kConv2dOp{true, Check, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
