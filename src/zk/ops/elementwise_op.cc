// Elementwise ops in segment proofs: Lookup (LookupProof against the public table),
// Requantize (RequantizeProof with the int8 input commitment as accumulator) and Add of two
// activations (accumulator Ma·Com(a) + Mb·Com(b) formed homomorphically, RequantizeProof with
// multiplier 1 and 64-bit accumulators).
//
// Add of the committed int8 param `constant` (its per-sample shape a suffix of a's, so column
// j of a sample reads c[j mod |c|]; e.g. a position embedding): the prover commits the
// broadcast D [B, width] (D[b, j] = c[j mod |c|], fresh blinds), which the transcript absorbs
// after the layer, then shows D is that broadcast of the model commitment's tensor c (Hyrax
// matrix [r0, c0], flat index f = i·c0 + k): challenges α (B), u (repeats R = width/|c|),
// v (r0), w (c0) and z (D's padding columns); with right_j = u_{j / |c|}·v_i·w_k for j < width
// (f = j mod |c|) and z_j beyond, a tensor opening of D gives X = Σ α_b·right_j·D[b, j], a
// tensor opening of c gives Y = Σ v_i·w_k·c[i, k], and an equality proof shows
// X = (Σα)(Σu)·Y. D − [b < B]·bc(c) ≠ 0 survives with probability ≤ 4/l (Schwartz–Zippel in
// the independent challenges). Then the accumulator Ma·Com(a) + Mb·Com(D) and the
// requantization as for two inputs. The constant stays hidden (only its shape is public).
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

// ---- Add ------------------------------------------------------------------------------------

bool AddsConstant(const Node& node) { return node.inputs.size() == 1; }

Status CheckAdd(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (AddsConstant(node)) {
    const Tensor* c = node.FindParam("constant");
    if (c == nullptr || c->dtype() != DType::kInt8 || c->size() == 0 ||
        ValueWidth(g, node.inputs[0]) % static_cast<size_t>(c->size()) != 0)
      return Status::Unsupported(NodeLabel(g, n) + " adds a constant that is not an int8 suffix");
    return Status::Ok();
  }
  if (ValueShape(g, node.inputs[0]) != ValueShape(g, node.inputs[1]))
    return Status::Unsupported(NodeLabel(g, n) +
                               " broadcasts its second input; only equal shapes are provable yet");
  return Status::Ok();
}

Scalar Multiplier(const Node& node, const char* name) {
  return Scalar::FromInt64(node.FindParam(name)->i32()[0]);
}

// The constant's public layout: |c|, its Hyrax matrix [r0, c0] and the repeats per sample.
struct ConstantLayout {
  size_t size, rows, cols, repeats;
};
ConstantLayout ConstantOf(const Graph& g, const Node& node) {
  const Shape& s = node.FindParam("constant")->shape();
  const auto [r0, c0] = MatrixShape(s);
  const size_t size = static_cast<size_t>(NumElements(s));
  return {size, r0, c0, ValueWidth(g, node.inputs[0]) / size};
}

struct BroadcastChallenges {
  std::vector<Scalar> d_left, d_right, c_left, c_right;
  Scalar factor;  // (Σα)(Σu)
};
BroadcastChallenges DrawBroadcast(Transcript* t, const ConstantLayout& cl, size_t B,
                                  const HyraxCommitment& d, const HyraxCommitment& c) {
  internal::AbsorbCommitment(t, "segment/add/broadcast", d);
  const std::vector<Scalar> alpha = t->ChallengeScalars("segment/add/alpha", B);
  const std::vector<Scalar> u = t->ChallengeScalars("segment/add/u", cl.repeats);
  const std::vector<Scalar> v = t->ChallengeScalars("segment/add/v", cl.rows);
  const std::vector<Scalar> w = t->ChallengeScalars("segment/add/w", cl.cols);
  const size_t width = cl.size * cl.repeats;
  const size_t padded = size_t{1} << d.col_vars;
  const std::vector<Scalar> z = t->ChallengeScalars("segment/add/z", padded - width);
  BroadcastChallenges ch;
  ch.d_left.assign(size_t{1} << d.row_vars, Scalar());
  Scalar sa, su;
  for (size_t b = 0; b < B; ++b) {
    ch.d_left[b] = alpha[b];
    sa += alpha[b];
  }
  for (const Scalar& x : u) su += x;
  ch.factor = sa * su;
  ch.d_right.resize(padded);
  for (size_t j = 0; j < width; ++j) {
    const size_t f = j % cl.size;
    ch.d_right[j] = u[j / cl.size] * v[f / cl.cols] * w[f % cl.cols];
  }
  for (size_t j = width; j < padded; ++j) ch.d_right[j] = z[j - width];
  ch.c_left.assign(size_t{1} << c.row_vars, Scalar());
  std::copy(v.begin(), v.end(), ch.c_left.begin());
  ch.c_right.assign(size_t{1} << c.col_vars, Scalar());
  std::copy(w.begin(), w.end(), ch.c_right.begin());
  return ch;
}

const HyraxCommitment* ConstantCommitment(const SegmentCommitment& sc, int n) {
  const CommittedTensor* t = sc.Find(static_cast<uint32_t>(n), "constant");
  return t == nullptr ? nullptr : &t->commitment;
}

Status ProveAddNode(ProverContext& ctx, int n, SegmentLayerProof* layer) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const ActivationOpening& a = ctx.In(node, 0);
  const size_t B = ctx.B, width = ctx.Width(node.outputs[0]);
  ActivationOpening broadcast;  // the constant case's D, as a second input
  if (AddsConstant(node)) {
    const Tensor& c = *node.FindParam("constant");
    const std::span<const int8_t> cv = c.i8();
    std::vector<int8_t> d(B * width);
    for (size_t e = 0; e < d.size(); ++e) d[e] = cv[(e % width) % cv.size()];
    broadcast.blinds = FreshBlinds(B);
    VEIL_ASSIGN_OR_RETURN(broadcast.commitment,
                          HyraxCommitInt8(ctx.key, d, B, width, broadcast.blinds, ctx.pool));
    broadcast.values =
        Tensor::FromInt8({static_cast<int64_t>(B), static_cast<int64_t>(width)}, std::move(d));
  }
  const ActivationOpening& b = AddsConstant(node) ? broadcast : ctx.In(node, 1);
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
  if (AddsConstant(node)) {
    const HyraxCommitment* cc = ConstantCommitment(ctx.sc, n);
    if (cc == nullptr) return Status::Internal("constant commitment missing");
    const ConstantLayout cl = ConstantOf(ctx.graph, node);
    layer->broadcast = b.commitment;
    const BroadcastChallenges ch = DrawBroadcast(ctx.t, cl, B, b.commitment, *cc);
    const HyraxWitness dw = MakeWitnessInt8(b.values.i8(), B, width, b.blinds);
    VEIL_ASSIGN_OR_RETURN(HyraxOpening d_open, HyraxProveTensor(ctx.key, b.commitment, dw,
                                                                ch.d_left, ch.d_right, ctx.t));
    const HyraxWitness cw =
        MakeWitnessInt8(node.FindParam("constant")->i8(), cl.rows, cl.cols,
                        TensorBlinds(ctx.seed, ctx.segment, n, "constant", cl.rows));
    VEIL_ASSIGN_OR_RETURN(HyraxOpening c_open,
                          HyraxProveTensor(ctx.key, *cc, cw, ch.c_left, ch.c_right, ctx.t));
    layer->broadcast_opening = d_open.proof;
    layer->constant_opening = c_open.proof;
    layer->broadcast_equal =
        ProveEquality(ctx.key, d_open.evaluation.commitment, d_open.evaluation.blind,
                      c_open.evaluation.commitment.MulVartime(ch.factor),
                      c_open.evaluation.blind * ch.factor, ctx.t);
  }
  VEIL_ASSIGN_OR_RETURN(layer->requantize,
                        ProveNodeRequantize(ctx, node, acc_c, {}, acc, blinds, *out));
  return Status::Ok();
}

Status VerifyBroadcast(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  const HyraxCommitment* cc = ConstantCommitment(ctx.sc, n);
  if (cc == nullptr) return Status::Corrupt("the model commitment has no constant for the Add");
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(l.broadcast, ctx.B, ctx.Width(node.outputs[0]), "broadcast"));
  const ConstantLayout cl = ConstantOf(ctx.graph, node);
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(*cc, cl.rows, cl.cols, "constant"));
  const BroadcastChallenges ch = DrawBroadcast(ctx.t, cl, ctx.B, l.broadcast, *cc);
  VEIL_RETURN_IF_ERROR(HyraxVerifyTensor(ctx.key, l.broadcast, ch.d_left, ch.d_right,
                                         l.broadcast_opening, ctx.t, ctx.batch));
  VEIL_RETURN_IF_ERROR(
      HyraxVerifyTensor(ctx.key, *cc, ch.c_left, ch.c_right, l.constant_opening, ctx.t, ctx.batch));
  return VerifyEquality(ctx.key, l.broadcast_opening.evaluation,
                        l.constant_opening.evaluation.MulVartime(ch.factor), l.broadcast_equal,
                        ctx.t)
      .WithContext("the Add's constant is not the committed one");
}

Status VerifyAddNode(VerifierContext& ctx, int n, const SegmentLayerProof& l) {
  const Node& node = ctx.graph.nodes[static_cast<size_t>(n)];
  if (AddsConstant(node)) VEIL_RETURN_IF_ERROR(VerifyBroadcast(ctx, n, l));
  const HyraxCommitment* parts[] = {&ctx.In(node, 0),
                                    AddsConstant(node) ? &l.broadcast : &ctx.In(node, 1)};
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(*parts[1], ctx.B, ctx.Width(node.outputs[0]), "second input"));
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
namespace {

// Two inputs: output | RequantizeProof (as Requantize). Constant: output | broadcast |
// broadcast opening | constant opening | equality | RequantizeProof.
void WriteAddNode(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  if (!l.broadcast.rows.empty()) {
    WriteHyraxCommitment(out, l.broadcast);
    WriteHyraxEvaluationProof(out, l.broadcast_opening);
    WriteHyraxEvaluationProof(out, l.constant_opening);
    WriteEqualityProof(out, l.broadcast_equal);
  }
  WriteRequantizeProof(out, l.requantize);
}

Status ReadAddNode(ZkReader* in, const Graph& g, int n, size_t B, SegmentLayerProof* l) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  if (AddsConstant(node)) {
    VEIL_ASSIGN_OR_RETURN(l->broadcast, ReadHyraxCommitment(in));
    VEIL_RETURN_IF_ERROR(
        CheckHyraxShape(l->broadcast, B, ValueWidth(g, node.outputs[0]), "broadcast"));
    VEIL_ASSIGN_OR_RETURN(l->broadcast_opening, ReadHyraxEvaluationProof(in));
    VEIL_ASSIGN_OR_RETURN(l->constant_opening, ReadHyraxEvaluationProof(in));
    VEIL_ASSIGN_OR_RETURN(l->broadcast_equal, ReadEqualityProof(in));
  }
  return ReadRequantizeNode(in, g, n, B, l);
}

}  // namespace

const OpHandler kAddOp{false, CheckAdd, ProveAddNode, VerifyAddNode, WriteAddNode, ReadAddNode};

}  // namespace veil::zk::ops
