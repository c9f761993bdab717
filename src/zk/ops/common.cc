#include "../op_util.h"
#include "op.h"

namespace veil::zk::ops {

const Shape& ValueShape(const Graph& g, int v) { return g.values[static_cast<size_t>(v)].shape; }

size_t ValueWidth(const Graph& g, int v) {
  return static_cast<size_t>(NumElements(ValueShape(g, v)));
}

std::string NodeLabel(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  return "node " + std::to_string(n) + " (" + OpKindName(node.kind) + " '" + node.name + "')";
}

int64_t AttrAt(const Node& node, const char* name, size_t i, int64_t fallback) {
  const std::vector<int64_t> v = node.AttrInts(name);
  return i < v.size() ? v[i] : fallback;
}

std::vector<int64_t> PerChannel(const Tensor* t, size_t n) {
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = t->i32()[t->size() == 1 ? 0 : i];
  return out;
}

Result<ActivationOpening*> ProverContext::Output(const Node& node, std::vector<int8_t> y) {
  ActivationOpening next;
  Shape batched{static_cast<int64_t>(B)};
  const Shape& s = ValueShape(graph, node.outputs[0]);
  batched.insert(batched.end(), s.begin(), s.end());
  next.blinds = FreshBlinds(B);
  VEIL_ASSIGN_OR_RETURN(next.commitment,
                        HyraxCommitInt8(key, y, B, Width(node.outputs[0]), next.blinds, pool));
  next.values = Tensor::FromInt8(batched, std::move(y));
  next.value = node.outputs[0];
  ActivationOpening& slot = values[node.outputs[0]];
  slot = std::move(next);
  return &slot;
}

void AbsorbLayer(Transcript* t, const SegmentLayerProof& l) {
  t->AppendU64("segment/node", l.node);
  t->AppendPoints("segment/accumulator", l.accumulator.rows);
  t->AppendPoints("segment/output", l.output.rows);
}

RequantizeStatement DescribeRequantize(const Graph& g, const Node& node, size_t B, size_t width) {
  RequantizeStatement rs;
  rs.rows = static_cast<uint32_t>(B);
  rs.cols = static_cast<uint32_t>(width);
  rs.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  rs.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  if (node.kind == OpKind::kAdd) {
    rs.multiplier.assign(width, 1);
    rs.shift.assign(width, node.FindParam("shift")->i32()[0]);
    return rs;
  }
  size_t channels = width, repeat = 1;
  if (node.kind == OpKind::kLinear) {
    channels = static_cast<size_t>(node.FindParam("weight")->dim(0));  // repeats per token
  } else if (node.kind == OpKind::kConv2d) {
    channels = static_cast<size_t>(node.FindParam("weight")->dim(0));
    repeat = width / channels;
  } else if (node.kind == OpKind::kRequantize) {
    const Shape& in = ValueShape(g, node.inputs[0]);
    channels = in.empty() ? 1 : static_cast<size_t>(in.back());
  }
  const std::vector<int64_t> m = PerChannel(node.FindParam("multiplier"), channels);
  const std::vector<int64_t> sh = PerChannel(node.FindParam("shift"), channels);
  for (size_t j = 0; j < width; ++j) {
    const size_t c = node.kind == OpKind::kConv2d ? j / repeat : j % channels;
    rs.multiplier.push_back(m[c]);
    rs.shift.push_back(sh[c]);
  }
  return rs;
}

Result<ActivationOpening*> CommitAccumulatedLayer(ProverContext& ctx, const Node& node,
                                                  std::span<const int32_t> acc, size_t B,
                                                  size_t width,
                                                  const std::vector<Scalar>& acc_blinds,
                                                  SegmentLayerProof* layer) {
  const RequantizeStatement rs = DescribeRequantize(ctx.graph, node, B, width);
  VEIL_ASSIGN_OR_RETURN(layer->accumulator,
                        HyraxCommitInt32(ctx.key, acc, B, width, acc_blinds, ctx.pool));
  VEIL_ASSIGN_OR_RETURN(ActivationOpening * out,
                        ctx.Output(node, RequantizeReference(acc, B, width, rs.multiplier, rs.shift,
                                                             rs.act_min, rs.act_max)));
  layer->output = out->commitment;
  AbsorbLayer(ctx.t, *layer);
  return out;
}

Result<RequantizeProof> ProveNodeRequantize(ProverContext& ctx, const Node& node,
                                            const HyraxCommitment& acc,
                                            std::span<const int32_t> acc32,
                                            std::span<const int64_t> acc64,
                                            const std::vector<Scalar>& acc_blinds,
                                            const ActivationOpening& out) {
  RequantizeStatement rs = DescribeRequantize(ctx.graph, node, ctx.B, ctx.Width(node.outputs[0]));
  rs.accumulator = acc;
  rs.output = out.commitment;
  RequantizeWitness rw;
  rw.accumulator = acc32;
  rw.accumulator64 = acc64;
  rw.output = out.values.i8();
  rw.accumulator_blinds = acc_blinds;
  rw.output_blinds = out.blinds;
  return ProveRequantize(ctx.key, rs, rw, ctx.t, ctx.pool);
}

Status VerifyNodeRequantize(VerifierContext& ctx, const Node& node, const HyraxCommitment& acc,
                            const SegmentLayerProof& l) {
  RequantizeStatement rs = DescribeRequantize(ctx.graph, node, ctx.B, ctx.Width(node.outputs[0]));
  rs.accumulator = acc;
  rs.output = l.output;
  return VerifyRequantize(ctx.key, rs, l.requantize, ctx.t, ctx.batch);
}

Result<RequantizeProof> ReadNodeRequantize(ZkReader* in, const Graph& g, const Node& node, size_t B,
                                           const SegmentLayerProof& l) {
  RequantizeStatement rs;
  rs.rows = static_cast<uint32_t>(B);
  rs.cols = static_cast<uint32_t>(ValueWidth(g, node.outputs[0]));
  rs.output = l.output;
  return ReadRequantizeProof(in, rs);
}

const OpHandler* FindOp(OpKind kind) {
  switch (kind) {
    case OpKind::kLinear:
      return &kLinearOp;
    case OpKind::kConv2d:
      return &kConv2dOp;
    case OpKind::kLookup:
      return &kLookupOp;
    case OpKind::kRequantize:
      return &kRequantizeOp;
    case OpKind::kAdd:
      return &kAddOp;
    case OpKind::kMaxPool2d:
      return &kMaxPoolOp;
    case OpKind::kAvgPool2d:
    case OpKind::kReduceMean:
      return &kMeanOp;
    case OpKind::kTranspose:
      return &kTransposeOp;
    case OpKind::kLayerNorm:
      return &kLayerNormOp;
    case OpKind::kAttention:
      return &kAttentionOp;
    case OpKind::kMatMul:
      return &kMatMulOp;
    case OpKind::kSoftmax:
      return &kSoftmaxOp;
    default:
      return nullptr;
  }
}

}  // namespace veil::zk::ops
