// MatMul of two activations in segment proofs: MatMulProof (matmul_proof.h: product core +
// requantization) for per-sample operands [M, K] × [K, N] (or [N, K] with transpose_b);
// leading (batched) dims are refused.
#include "op.h"

namespace veil::zk::ops {
namespace {

MatMulStatement Statement(const Graph& g, const Node& node, size_t B) {
  const Shape& a = ValueShape(g, node.inputs[0]);
  const Shape& y = ValueShape(g, node.outputs[0]);
  MatMulStatement st;
  st.batch = static_cast<uint32_t>(B);
  st.m = static_cast<uint32_t>(a[0]);
  st.k = static_cast<uint32_t>(a[1]);
  st.n = static_cast<uint32_t>(y[1]);
  st.transpose_b = node.AttrInt("transpose_b", 0) == 1;
  st.multiplier = node.FindParam("multiplier")->i32()[0];
  st.shift = node.FindParam("shift")->i32()[0];
  st.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  st.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  return st;
}

Status Check(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (node.inputs.size() != 2 || ValueShape(g, node.inputs[0]).size() != 2)
    return Status::Unsupported(NodeLabel(g, n) +
                               " has batched (leading) dims; only per-sample [M, K] operands are "
                               "provable yet");
  return Status::Ok();
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& a = ctx.In(node, 0);
  const ActivationOpening& b = ctx.In(node, 1);
  MatMulStatement st = Statement(ctx.graph, node, ctx.B);
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, MatMulReference(st, a.values.i8(), b.values.i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  st.a = a.commitment;
  st.b = b.commitment;
  st.output = out->commitment;
  MatMulWitness w;
  w.a = a.values.i8();
  w.b = b.values.i8();
  w.output = out->values.i8();
  w.a_blinds = a.blinds;
  w.b_blinds = b.blinds;
  w.output_blinds = out->blinds;
  VEIL_ASSIGN_OR_RETURN(layer->matmul, ProveMatMul(ctx.key, st, w, ctx.t, ctx.pool));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  MatMulStatement st = Statement(ctx.graph, node, ctx.B);
  st.a = ctx.In(node, 0);
  st.b = ctx.In(node, 1);
  st.output = l.output;
  return VerifyMatMul(ctx.key, st, l.matmul, ctx.t, ctx.batch);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteMatMulProof(out, l.matmul);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  MatMulStatement st = Statement(g, g.nodes[static_cast<size_t>(n)], B);
  st.output = l->output;
  VEIL_ASSIGN_OR_RETURN(l->matmul, ReadMatMulProof(in, st));
  return Status::Ok();
}

}  // namespace

const OpHandler kMatMulOp{false, Check, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
