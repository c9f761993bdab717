// Softmax over the last axis in segment proofs: SoftmaxProof (softmax_proof.h) with the
// node's public exp table, every column allowed.
#include "op.h"

namespace veil::zk::ops {
namespace {

SoftmaxStatement Statement(const Graph& g, const Node& node, size_t B) {
  SoftmaxStatement st;
  const size_t width = ValueWidth(g, node.inputs[0]);
  const size_t c = static_cast<size_t>(ValueShape(g, node.inputs[0]).back());
  st.batch = static_cast<uint32_t>(B);
  st.rows = static_cast<uint32_t>(width / c);
  st.cols = static_cast<uint32_t>(c);
  const std::span<const int32_t> table = node.FindParam("exp_table")->i32();
  st.exp_table.assign(table.begin(), table.end());
  return st;
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  SoftmaxStatement st = Statement(ctx.graph, node, ctx.B);
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, SoftmaxReference(st, x.values.i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  st.input = x.commitment;
  st.output = out->commitment;
  SoftmaxWitness w;
  w.input = x.values.i8();
  w.output = out->values.i8();
  w.input_blinds = x.blinds;
  w.output_blinds = out->blinds;
  VEIL_ASSIGN_OR_RETURN(layer->softmax, ProveSoftmax(ctx.key, st, w, ctx.t, ctx.pool));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  SoftmaxStatement st = Statement(ctx.graph, node, ctx.B);
  st.input = ctx.In(node, 0);
  st.output = l.output;
  return VerifySoftmax(ctx.key, st, l.softmax, ctx.t, ctx.batch);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteSoftmaxProof(out, l.softmax);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  SoftmaxStatement st = Statement(g, g.nodes[static_cast<size_t>(n)], B);
  st.output = l->output;
  VEIL_ASSIGN_OR_RETURN(l->softmax, ReadSoftmaxProof(in, st));
  return Status::Ok();
}

}  // namespace

const OpHandler kSoftmaxOp{false, nullptr, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
