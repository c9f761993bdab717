// Attention (fused, inputs q, k, v) in segment proofs: AttentionProof (attention_proof.h)
// with the node's heads, causal flag, score and output requantization and exp table.
#include "op.h"

namespace veil::zk::ops {
namespace {

int64_t Scalar32(const Node& node, const char* name) { return node.FindParam(name)->i32()[0]; }

AttentionStatement Statement(const Graph& g, const Node& node, size_t B) {
  AttentionStatement st;
  const Shape& q = ValueShape(g, node.inputs[0]);
  const Shape& k = ValueShape(g, node.inputs[1]);
  st.batch = static_cast<uint32_t>(B);
  st.tq = static_cast<uint32_t>(q[0]);
  st.tk = static_cast<uint32_t>(k[0]);
  st.heads = static_cast<uint32_t>(node.AttrInt("heads", 1));
  st.dim = static_cast<uint32_t>(q[1] / std::max<int64_t>(1, node.AttrInt("heads", 1)));
  st.causal = node.AttrInt("causal", 0) == 1;
  st.score_multiplier = Scalar32(node, "score_multiplier");
  st.score_shift = Scalar32(node, "score_shift");
  st.multiplier = Scalar32(node, "multiplier");
  st.shift = Scalar32(node, "shift");
  const std::span<const int32_t> table = node.FindParam("exp_table")->i32();
  st.exp_table.assign(table.begin(), table.end());
  st.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  st.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  return st;
}

Status Check(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (node.inputs.size() != 3 || ValueShape(g, node.inputs[0]).size() != 2 ||
      ValueShape(g, node.inputs[1]).size() != 2)
    return Status::Unsupported(NodeLabel(g, n) + " does not read q, k, v of shape [T, H·D]");
  return Status::Ok();
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& q = ctx.In(node, 0);
  const ActivationOpening& k = ctx.In(node, 1);
  const ActivationOpening& v = ctx.In(node, 2);
  AttentionStatement st = Statement(ctx.graph, node, ctx.B);
  VEIL_ASSIGN_OR_RETURN(
      ActivationOpening * out,
      ctx.Output(node, AttentionReference(st, q.values.i8(), k.values.i8(), v.values.i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  st.q = q.commitment;
  st.k = k.commitment;
  st.v = v.commitment;
  st.output = out->commitment;
  AttentionWitness w;
  w.q = q.values.i8();
  w.k = k.values.i8();
  w.v = v.values.i8();
  w.output = out->values.i8();
  w.q_blinds = q.blinds;
  w.k_blinds = k.blinds;
  w.v_blinds = v.blinds;
  w.output_blinds = out->blinds;
  VEIL_ASSIGN_OR_RETURN(layer->attention, ProveAttention(ctx.key, st, w, ctx.t, ctx.pool));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  AttentionStatement st = Statement(ctx.graph, node, ctx.B);
  st.q = ctx.In(node, 0);
  st.k = ctx.In(node, 1);
  st.v = ctx.In(node, 2);
  st.output = l.output;
  return VerifyAttention(ctx.key, st, l.attention, ctx.t, ctx.batch);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteAttentionProof(out, l.attention);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  AttentionStatement st = Statement(g, g.nodes[static_cast<size_t>(n)], B);
  st.output = l->output;
  VEIL_ASSIGN_OR_RETURN(l->attention, ReadAttentionProof(in, st));
  return Status::Ok();
}

}  // namespace

const OpHandler kAttentionOp{false, Check, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
