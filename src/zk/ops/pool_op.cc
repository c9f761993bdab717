// Pooling in segment proofs: MaxPool2d (MaxProof) and AvgPool2d / ReduceMean (MeanProof),
// over public windows derived from the node's attributes (pool_proof.h).
#include "op.h"

namespace veil::zk::ops {
namespace {

PoolWindows Windows(const Graph& g, const Node& node) {
  const veil::Shape& x = ValueShape(g, node.inputs[0]);
  if (node.kind == OpKind::kReduceMean) return ReduceWindows(x, node.AttrInts("axes"));
  const veil::Shape& y = ValueShape(g, node.outputs[0]);
  auto u = [](int64_t v) { return static_cast<uint32_t>(v); };
  return Pool2dWindows(u(x[0]), u(x[1]), u(x[2]), u(AttrAt(node, "kernel", 0, 1)),
                       u(AttrAt(node, "kernel", 1, 1)), u(AttrAt(node, "strides", 0, 1)),
                       u(AttrAt(node, "strides", 1, 1)), u(AttrAt(node, "pads", 0, 0)),
                       u(AttrAt(node, "pads", 1, 0)), u(y[1]), u(y[2]),
                       node.kind == OpKind::kMaxPool2d, node.AttrInt("count_include_pad", 0) == 1);
}

Status CheckMax(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  const int64_t taps = AttrAt(node, "kernel", 0, 1) * AttrAt(node, "kernel", 1, 1);
  if (taps > kMaxPoolTaps)
    return Status::Unsupported(NodeLabel(g, n) + " has a " + std::to_string(taps) +
                               "-tap kernel; max pooling is provable up to " +
                               std::to_string(kMaxPoolTaps) + " taps");
  return Status::Ok();
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  const PoolWindows w = Windows(ctx.graph, node);
  const bool max = node.kind == OpKind::kMaxPool2d;
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, max ? MaxReference(w, x.values.i8(), ctx.B)
                                             : MeanReference(w, x.values.i8(), ctx.B)));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  const PoolStatement st{static_cast<uint32_t>(ctx.B), &w, x.commitment, out->commitment};
  const PoolWitness pw{x.values.i8(), out->values.i8(), x.blinds, out->blinds};
  if (max) {
    VEIL_ASSIGN_OR_RETURN(layer->max, ProveMax(ctx.key, st, pw, ctx.t, ctx.pool));
  } else {
    VEIL_ASSIGN_OR_RETURN(layer->mean, ProveMean(ctx.key, st, pw, ctx.t, ctx.pool));
  }
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const PoolWindows w = Windows(ctx.graph, node);
  const PoolStatement st{static_cast<uint32_t>(ctx.B), &w, ctx.In(node, 0), l.output};
  return node.kind == OpKind::kMaxPool2d ? VerifyMax(ctx.key, st, l.max, ctx.t, ctx.batch)
                                         : VerifyMean(ctx.key, st, l.mean, ctx.t, ctx.batch);
}

void WriteMax(std::vector<uint8_t>* out, const SegmentLayerProof& l) { WriteMaxProof(out, l.max); }
void WriteMean(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteMeanProof(out, l.mean);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  const PoolWindows w = Windows(g, node);
  PoolStatement st;
  st.rows = static_cast<uint32_t>(B);
  st.windows = &w;
  if (node.kind == OpKind::kMaxPool2d) {
    VEIL_ASSIGN_OR_RETURN(l->max, ReadMaxProof(in, st));
  } else {
    VEIL_ASSIGN_OR_RETURN(l->mean, ReadMeanProof(in, st));
  }
  return Status::Ok();
}

}  // namespace

const OpHandler kMaxPoolOp{false, CheckMax, Prove, Verify, WriteMax, Read};
const OpHandler kMeanOp{false, nullptr, Prove, Verify, WriteMean, Read};

}  // namespace veil::zk::ops
