// Transpose in segment proofs: TransposeProof (transpose_proof.h), a permutation of the
// per-sample columns with the perm from the node's attribute.
#include "op.h"

namespace veil::zk::ops {
namespace {

TransposeStatement Statement(const Graph& g, const Node& node, size_t B) {
  TransposeStatement st;
  st.batch = static_cast<uint32_t>(B);
  for (int64_t d : ValueShape(g, node.inputs[0])) st.shape.push_back(static_cast<uint32_t>(d));
  for (int64_t p : node.AttrInts("perm")) st.perm.push_back(static_cast<uint32_t>(p));
  return st;
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  TransposeStatement st = Statement(ctx.graph, node, ctx.B);
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, TransposeReference(st, x.values.i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  st.input = x.commitment;
  st.output = out->commitment;
  const TransposeWitness w{x.values.i8(), out->values.i8(), x.blinds, out->blinds};
  VEIL_ASSIGN_OR_RETURN(layer->transpose, ProveTranspose(ctx.key, st, w, ctx.t));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  TransposeStatement st = Statement(ctx.graph, node, ctx.B);
  st.input = ctx.In(node, 0);
  st.output = l.output;
  return VerifyTranspose(ctx.key, st, l.transpose, ctx.t, ctx.batch);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteTransposeProof(out, l.transpose);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  TransposeStatement st = Statement(g, g.nodes[static_cast<size_t>(n)], B);
  st.output = l->output;
  VEIL_ASSIGN_OR_RETURN(l->transpose, ReadTransposeProof(in, st));
  return Status::Ok();
}

}  // namespace

const OpHandler kTransposeOp{false, nullptr, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
