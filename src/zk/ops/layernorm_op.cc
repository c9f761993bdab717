// LayerNorm in segment proofs: LayerNormProof (layernorm_proof.h) over per-sample rows of the
// last axis, with the node's public gamma, beta, eps, shift and activation range (public
// params: the segment's public digest binds them, so a verifier's graph with another gamma
// fails CheckCommitmentMatchesGraph).
#include "op.h"

namespace veil::zk::ops {
namespace {

LayerNormStatement Statement(const Graph& g, const Node& node, size_t B) {
  LayerNormStatement st;
  const size_t width = ValueWidth(g, node.inputs[0]);
  const size_t c = static_cast<size_t>(ValueShape(g, node.inputs[0]).back());
  st.batch = static_cast<uint32_t>(B);
  st.rows = static_cast<uint32_t>(width / c);
  st.cols = static_cast<uint32_t>(c);
  const std::span<const int32_t> gamma = node.FindParam("gamma")->i32();
  st.gamma.assign(gamma.begin(), gamma.end());
  const std::span<const int64_t> beta = node.FindParam("beta")->i64();
  st.beta.assign(beta.begin(), beta.end());
  st.eps = node.FindParam("eps")->i64()[0];
  st.shift = node.FindParam("shift")->i32()[0];
  st.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  st.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  return st;
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  LayerNormStatement st = Statement(ctx.graph, node, ctx.B);
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, LayerNormReference(st, x.values.i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  st.input = x.commitment;
  st.output = out->commitment;
  const LayerNormWitness w{x.values.i8(), out->values.i8(), x.blinds, out->blinds};
  VEIL_ASSIGN_OR_RETURN(layer->layernorm, ProveLayerNorm(ctx.key, st, w, ctx.t, ctx.pool));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  LayerNormStatement st = Statement(ctx.graph, node, ctx.B);
  st.input = ctx.In(node, 0);
  st.output = l.output;
  return VerifyLayerNorm(ctx.key, st, l.layernorm, ctx.t, ctx.batch);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteLayerNormProof(out, l.layernorm);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  LayerNormStatement st = Statement(g, g.nodes[static_cast<size_t>(n)], B);
  st.output = l->output;
  VEIL_ASSIGN_OR_RETURN(l->layernorm, ReadLayerNormProof(in, st));
  return Status::Ok();
}

}  // namespace

const OpHandler kLayerNormOp{false, nullptr, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
