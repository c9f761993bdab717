// Linear in segment proofs: LinearProof (linear_proof.h) + the node's requantization. A
// per-sample input [T, K] (rank > 1: T tokens, e.g. a transformer's) is proven over the B·T
// tokens (LinearStatement::group = T; K and N powers of two), the requantization's per-channel
// parameters repeating over the T tokens of a row.
#include "../op_util.h"
#include "op.h"

namespace veil::zk::ops {
namespace {

bool IsPowerOfTwo(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

// K (input features), N (output features) and T (tokens per sample).
struct Dims {
  size_t k, n, tokens;
};
Dims DimsOf(const Graph& g, const Node& node) {
  const size_t k = static_cast<size_t>(node.FindParam("weight")->dim(1));
  const size_t n = static_cast<size_t>(node.FindParam("weight")->dim(0));
  return {k, n, ValueWidth(g, node.inputs[0]) / k};
}

Status Check(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  const Shape& in = ValueShape(g, node.inputs[0]);
  if (in.size() > 1) {
    const Shape& out = ValueShape(g, node.outputs[0]);
    if (!IsPowerOfTwo(in.back()) || out.empty() || !IsPowerOfTwo(out.back()))
      return Status::Unsupported(NodeLabel(g, n) +
                                 " reads tokens (per-sample input of rank > 1) whose feature "
                                 "widths are not powers of two; only those are provable yet");
  }
  return Status::Ok();
}

LinearStatement Statement(const Graph& g, const SegmentCommitment& sc, int n, size_t B) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  const Dims d = DimsOf(g, node);
  LinearStatement st;
  st.tokens = static_cast<uint32_t>(B);
  st.group = static_cast<uint32_t>(d.tokens);
  st.in_features = static_cast<uint32_t>(d.k);
  st.out_features = static_cast<uint32_t>(d.n);
  st.weight = sc.Find(static_cast<uint32_t>(n), "weight")->commitment;
  st.bias = sc.Find(static_cast<uint32_t>(n), "bias")->commitment;
  return st;
}

Status Prove(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& x = ctx.In(node, 0);
  const Dims d = DimsOf(ctx.graph, node);
  const size_t B = ctx.B, K = d.k, T = d.tokens, N = d.n, width = T * N;
  const Tensor& w = *node.FindParam("weight");
  const Tensor& b = *node.FindParam("bias");
  if (ctx.sc.Find(static_cast<uint32_t>(n), "weight") == nullptr ||
      ctx.sc.Find(static_cast<uint32_t>(n), "bias") == nullptr)
    return Status::Internal("weight commitment missing");
  const std::vector<int32_t> acc = LinearAccumulators(x.values.i8(), w.i8(), b.i32(), B * T, K, N);
  LinearWitness lw;
  lw.input = x.values.i8();
  lw.weight = w.i8();
  lw.bias = b.i32();
  lw.accumulator = acc;
  lw.input_blinds = x.blinds;
  lw.weight_blinds = TensorBlinds(ctx.seed, ctx.segment, n, "weight", N);
  lw.bias_blinds = TensorBlinds(ctx.seed, ctx.segment, n, "bias", 1);
  lw.accumulator_blinds = FreshBlinds(B);
  VEIL_ASSIGN_OR_RETURN(
      ActivationOpening * out,
      CommitAccumulatedLayer(ctx, node, acc, B, width, lw.accumulator_blinds, layer));
  LinearStatement st = Statement(ctx.graph, ctx.sc, n, B);
  st.input = x.commitment;
  st.accumulator = layer->accumulator;
  VEIL_ASSIGN_OR_RETURN(layer->linear, ProveLinear(ctx.key, st, lw, ctx.t));
  VEIL_ASSIGN_OR_RETURN(layer->requantize, ProveNodeRequantize(ctx, node, layer->accumulator, acc,
                                                               {}, lw.accumulator_blinds, *out));
  return Status::Ok();
}

Status Verify(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  LinearStatement st = Statement(ctx.graph, ctx.sc, n, ctx.B);
  st.input = ctx.In(node, 0);
  st.accumulator = l.accumulator;
  VEIL_RETURN_IF_ERROR(VerifyLinear(ctx.key, st, l.linear, ctx.t, ctx.batch));
  return VerifyNodeRequantize(ctx, node, l.accumulator, l);
}

void Write(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  WriteLinearProof(out, l.linear);
  WriteRequantizeProof(out, l.requantize);
}

Status Read(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  LinearStatement st;
  st.in_features = static_cast<uint32_t>(DimsOf(g, node).k);
  st.input.col_vars = static_cast<uint32_t>(CeilLog2(ValueWidth(g, node.inputs[0])));
  VEIL_ASSIGN_OR_RETURN(l->linear, ReadLinearProof(in, st));
  VEIL_ASSIGN_OR_RETURN(l->requantize, ReadNodeRequantize(in, g, node, B, *l));
  return Status::Ok();
}

}  // namespace

const OpHandler kLinearOp{true, Check, Prove, Verify, Write, Read};

}  // namespace veil::zk::ops
