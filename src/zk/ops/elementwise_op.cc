// Elementwise ops in segment proofs: Lookup (LookupProof against the public table),
// Requantize (RequantizeProof with the int8 input commitment as accumulator) and Add of two
// activations (accumulator Ma·Com(a) + Mb·Com(b) formed homomorphically, RequantizeProof with
// multiplier 1 and 64-bit accumulators).
#include <algorithm>

#include "../op_util.h"
#include "op.h"

namespace veil::zk::ops {
namespace {

// ---- Lookup -------------------------------------------------------------------------------

LookupStatement LookupOf(const Node& node, size_t B, size_t width) {
  LookupStatement st;
  st.rows = static_cast<uint32_t>(B);
  st.cols = static_cast<uint32_t>(width);
  const std::span<const int8_t> table = node.FindParam("table")->i8();
  st.table.assign(table.begin(), table.end());
  return st;
}

Status ProveLookupNode(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  VEIL_ASSIGN_OR_RETURN(
      ActivationOpening * out,
      ctx.Output(node, LookupReference(x.values.i8(), node.FindParam("table")->i8())));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  LookupStatement st = LookupOf(node, ctx.B, ctx.Width(node.inputs[0]));
  st.input = x.commitment;
  st.output = out->commitment;
  LookupWitness lw;
  lw.input = x.values.i8();
  lw.output = out->values.i8();
  lw.input_blinds = x.blinds;
  lw.output_blinds = out->blinds;
  VEIL_ASSIGN_OR_RETURN(layer->lookup, ProveLookup(ctx.key, st, lw, ctx.t, ctx.pool));
  return Status::Ok();
}

Status VerifyLookupNode(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  LookupStatement st = LookupOf(node, ctx.B, ctx.Width(node.outputs[0]));
  st.input = ctx.In(node, 0);
  st.output = l.output;
  return VerifyLookup(ctx.key, st, l.lookup, ctx.t, ctx.batch);
}

void WriteLookupNode(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteLookupProof(out, l.lookup);
}

Status ReadLookupNode(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  LookupStatement st;
  st.rows = static_cast<uint32_t>(B);
  st.cols = static_cast<uint32_t>(ValueWidth(g, g.nodes[static_cast<size_t>(n)].outputs[0]));
  VEIL_ASSIGN_OR_RETURN(l->lookup, ReadLookupProof(in, st));
  return Status::Ok();
}

// ---- Requantize and Add (a requantization proof only) --------------------------------------

void WriteRequantizeNode(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteRequantizeProof(out, l.requantize);
}

Status ReadRequantizeNode(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  VEIL_ASSIGN_OR_RETURN(l->requantize,
                        ReadNodeRequantize(in, g, g.nodes[static_cast<size_t>(n)], B, *l));
  return Status::Ok();
}

Status ProveRequantizeNode(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  const size_t width = ctx.Width(node.inputs[0]);
  const RequantizeStatement rs = DescribeRequantize(ctx.graph, node, ctx.B, width);
  const std::vector<int32_t> x32(x.values.i8().begin(), x.values.i8().end());
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, RequantizeReference(x32, ctx.B, width, rs.multiplier,
                                                             rs.shift, rs.act_min, rs.act_max)));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  VEIL_ASSIGN_OR_RETURN(layer->requantize,
                        ProveNodeRequantize(ctx, node, x.commitment, x32, {}, x.blinds, *out));
  return Status::Ok();
}

Status VerifyRequantizeNode(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  return VerifyNodeRequantize(ctx, node, ctx.In(node, 0), l);
}

Status CheckAdd(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (node.inputs.size() != 2)
    return Status::Unsupported(NodeLabel(g, n) +
                               " adds a constant param; only Add of two activations is "
                               "provable yet");
  if (ValueShape(g, node.inputs[0]) != ValueShape(g, node.inputs[1]))
    return Status::Unsupported(NodeLabel(g, n) +
                               " broadcasts its second input; only equal shapes are provable yet");
  return Status::Ok();
}

Scalar Multiplier(const Node& node, const char* name) {
  return Scalar::FromInt64(node.FindParam(name)->i32()[0]);
}

Status ProveAddNode(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& a = ctx.In(node, 0);
  const ActivationOpening& b = ctx.In(node, 1);
  const size_t B = ctx.B, width = ctx.Width(node.outputs[0]);
  const int64_t ma = node.FindParam("multiplier_a")->i32()[0];
  const int64_t mb = node.FindParam("multiplier_b")->i32()[0];
  const RequantizeStatement rs = DescribeRequantize(ctx.graph, node, B, width);
  std::vector<int64_t> acc(B * width);
  std::vector<int8_t> y(B * width);
  const int64_t s = rs.shift[0], round = s == 0 ? 0 : int64_t{1} << (s - 1);
  for (size_t e = 0; e < acc.size(); ++e) {
    acc[e] = a.values.i8()[e] * ma + b.values.i8()[e] * mb;
    y[e] = static_cast<int8_t>(std::clamp<int64_t>((acc[e] + round) >> s, rs.act_min, rs.act_max));
  }
  const Scalar sa = Multiplier(node, "multiplier_a"), sb = Multiplier(node, "multiplier_b");
  const HyraxCommitment* parts[] = {&a.commitment, &b.commitment};
  const Scalar coeffs[] = {sa, sb};
  const HyraxCommitment acc_c = internal::CombineCommitments(parts, coeffs);
  std::vector<Scalar> blinds(B);
  for (size_t r = 0; r < B; ++r) blinds[r] = sa * a.blinds[r] + sb * b.blinds[r];
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out, ctx.Output(node, std::move(y)));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  VEIL_ASSIGN_OR_RETURN(layer->requantize,
                        ProveNodeRequantize(ctx, node, acc_c, {}, acc, blinds, *out));
  return Status::Ok();
}

Status VerifyAddNode(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const HyraxCommitment* parts[] = {&ctx.In(node, 0), &ctx.In(node, 1)};
  VEIL_RETURN_IF_ERROR(
      internal::CheckMatrixShape(*parts[1], ctx.B, ctx.Width(node.outputs[0]), "second input"));
  const Scalar coeffs[] = {Multiplier(node, "multiplier_a"), Multiplier(node, "multiplier_b")};
  return VerifyNodeRequantize(ctx, node, internal::CombineCommitments(parts, coeffs), l);
}

}  // namespace

const OpHandler kLookupOp{false,           nullptr,       ProveLookupNode, VerifyLookupNode,
                          WriteLookupNode, ReadLookupNode};
const OpHandler kRequantizeOp{false,
                              nullptr,
                              ProveRequantizeNode,
                              VerifyRequantizeNode,
                              WriteRequantizeNode,
                              ReadRequantizeNode};
const OpHandler kAddOp{
    false, CheckAdd, ProveAddNode, VerifyAddNode, WriteRequantizeNode, ReadRequantizeNode};

}  // namespace veil::zk::ops
