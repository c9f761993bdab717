#include "veil/zk/segment_proof.h"

#include <algorithm>
#include <string>

#include "veil/zk/multilinear.h"
#include "veil/zk/serialize.h"

namespace veil::zk {
namespace {

constexpr std::array<uint8_t, 8> kProofMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'P', 0};
constexpr std::array<uint8_t, 8> kOpeningMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'O', 0};
constexpr uint32_t kProofVersion = 2;
constexpr uint32_t kOpeningVersion = 1;
constexpr uint32_t kMaxBatch = uint32_t{1} << 16;

std::string NodeLabel(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  return "node " + std::to_string(n) + " (" + OpKindName(node.kind) + " '" + node.name + "')";
}

Result<size_t> PerSampleSize(const Graph& g, int value) {
  const Shape& shape = g.values[static_cast<size_t>(value)].shape;
  for (int64_t d : shape)
    if (d <= 0)
      return Status::Unsupported("value '" + g.values[static_cast<size_t>(value)].name +
                                 "' has a dynamic dimension; proofs need static shapes");
  const int64_t n = NumElements(shape);
  if (n > static_cast<int64_t>(kMaxCommittedRowLength))
    return Status::Unsupported("value '" + g.values[static_cast<size_t>(value)].name + "' has " +
                               std::to_string(n) + " elements per sample; proofs support up to " +
                               std::to_string(kMaxCommittedRowLength));
  return static_cast<size_t>(n);
}

std::vector<int64_t> PerChannel(const Tensor* t, size_t n) {
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = t->i32()[t->size() == 1 ? 0 : i];
  return out;
}

void AbsorbHeader(Transcript* t, const Digest& model, uint32_t segment, const Digest& public_digest,
                  uint32_t batch, const HyraxCommitment& input) {
  t->AppendBytes("segment/model_commitment", model);
  t->AppendU64("segment/index", segment);
  t->AppendBytes("segment/public_digest", public_digest);
  t->AppendU64("segment/batch", batch);
  t->AppendU64("segment/input_row_vars", input.row_vars);
  t->AppendU64("segment/input_col_vars", input.col_vars);
  t->AppendPoints("segment/input", input.rows);
}

void AbsorbLayer(Transcript* t, const SegmentLayerProof& l) {
  t->AppendU64("segment/node", l.node);
  t->AppendPoints("segment/accumulator", l.accumulator.rows);
  t->AppendPoints("segment/output", l.output.rows);
}

// The public description of one Linear node.
struct LinearShape {
  size_t in = 0, out = 0;
  std::vector<int64_t> multiplier, shift;
  int32_t act_min = -127, act_max = 127;
};

LinearShape DescribeLinear(const Node& node, size_t in) {
  LinearShape s;
  s.in = in;
  s.out = static_cast<size_t>(node.FindParam("weight")->dim(0));
  s.multiplier = PerChannel(node.FindParam("multiplier"), s.out);
  s.shift = PerChannel(node.FindParam("shift"), s.out);
  s.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  s.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  return s;
}

Status CheckHyraxShape(const HyraxCommitment& c, size_t rows, size_t cols,
                       const std::string& what) {
  if (c.rows.size() != rows || c.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
      c.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
    return Status::Corrupt(what + " commitment does not have shape " + std::to_string(rows) + "x" +
                           std::to_string(cols));
  return Status::Ok();
}

bool ProvableKind(OpKind kind) {
  return kind == OpKind::kReshape || kind == OpKind::kLinear || kind == OpKind::kLookup ||
         kind == OpKind::kRequantize;
}
constexpr const char* kProvableList = "provable: Reshape, Linear, Lookup, Requantize";

// The public statement of a Requantize node over a [B, width] activation whose last axis
// has `channels` entries (per-channel parameters repeat along the row). The int8 input
// commitment doubles as the accumulator commitment (same Hyrax form; |x| <= 128 < 2^31).
RequantizeStatement DescribeRequantize(const Node& node, const Shape& per_sample, size_t B,
                                       size_t width, const HyraxCommitment& input,
                                       const HyraxCommitment& output) {
  const size_t channels = per_sample.empty() ? 1 : static_cast<size_t>(per_sample.back());
  const std::vector<int64_t> m = PerChannel(node.FindParam("multiplier"), channels);
  const std::vector<int64_t> sh = PerChannel(node.FindParam("shift"), channels);
  RequantizeStatement rs;
  rs.rows = static_cast<uint32_t>(B);
  rs.cols = static_cast<uint32_t>(width);
  for (size_t n = 0; n < width; ++n) {
    rs.multiplier.push_back(m[n % channels]);
    rs.shift.push_back(sh[n % channels]);
  }
  rs.act_min = static_cast<int32_t>(node.AttrInt("act_min", -127));
  rs.act_max = static_cast<int32_t>(node.AttrInt("act_max", 127));
  rs.accumulator = input;
  rs.output = output;
  return rs;
}

// The public statement of a Lookup node over a [B, width] activation.
LookupStatement DescribeLookup(const Node& node, size_t B, size_t width,
                               const HyraxCommitment& input, const HyraxCommitment& output) {
  LookupStatement st;
  st.rows = static_cast<uint32_t>(B);
  st.cols = static_cast<uint32_t>(width);
  const std::span<const int8_t> table = node.FindParam("table")->i8();
  st.table.assign(table.begin(), table.end());
  st.input = input;
  st.output = output;
  return st;
}

}  // namespace

Status CheckSegmentProvable(const Graph& graph, int segment) {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  if (segment < 0 || static_cast<size_t>(segment) >= segments.size())
    return Status::InvalidArgument("segment " + std::to_string(segment) + " does not exist (" +
                                   std::to_string(segments.size()) + " segments)");
  const Segment& seg = segments[static_cast<size_t>(segment)];
  // Ops first, so that the error names the op a caller would have to wait for.
  for (int n = seg.begin; n < seg.end; ++n) {
    const OpKind kind = graph.nodes[static_cast<size_t>(n)].kind;
    if (!ProvableKind(kind))
      return Status::Unsupported(NodeLabel(graph, n) + " is not provable yet (" + kProvableList +
                                 ")");
  }
  const std::vector<int> inputs = graph.SegmentInputs(seg), outputs = graph.SegmentOutputs(seg);
  if (inputs.size() != 1 || outputs.size() != 1)
    return Status::Unsupported(
        "segment " + std::to_string(segment) + " has " + std::to_string(inputs.size()) +
        " inputs and " + std::to_string(outputs.size()) + " outputs; proofs support one of each");
  int current = inputs[0];
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (!ProvableKind(node.kind))
      return Status::Unsupported(NodeLabel(graph, n) + " is not provable yet (" + kProvableList +
                                 ")");
    if (node.inputs.size() != 1 || node.inputs[0] != current || node.outputs.size() != 1)
      return Status::Unsupported(NodeLabel(graph, n) +
                                 " does not continue a single chain of values");
    if (graph.values[static_cast<size_t>(current)].dtype != DType::kInt8)
      return Status::Unsupported(NodeLabel(graph, n) + " reads a non-int8 value");
    VEIL_RETURN_IF_ERROR(PerSampleSize(graph, current).status());
    if (node.kind == OpKind::kLinear &&
        graph.values[static_cast<size_t>(current)].shape.size() != 1)
      return Status::Unsupported(
          NodeLabel(graph, n) +
          " reads a per-sample input of rank > 1; only [K] inputs are provable yet");
    current = node.outputs[0];
  }
  if (current != outputs[0])
    return Status::Unsupported("segment output is not the end of its chain");
  return PerSampleSize(graph, current).status();
}

CommitmentKey SegmentProofKey(const Graph& graph, const ModelCommitment& commitment) {
  size_t len = commitment.max_row_length;
  for (const Node& node : graph.nodes) {
    if (!ProvableKind(node.kind)) continue;
    // A Lookup proof commits to its 256 multiplicities in one row.
    // Lookup proofs commit 256 multiplicities in one row; requantization proofs (Linear)
    // commit their digit multiplicities as 256 × 256.
    if (node.kind != OpKind::kReshape) len = std::max<size_t>(len, 256);
    for (int v : node.inputs) {
      auto n = PerSampleSize(graph, v);
      if (n.ok()) len = std::max(len, size_t{1} << CeilLog2(*n));
    }
    for (int v : node.outputs) {
      auto n = PerSampleSize(graph, v);
      if (n.ok()) len = std::max(len, size_t{1} << CeilLog2(*n));
    }
  }
  return CommitmentKey::Derive(len);
}

Result<ActivationOpening> CommitActivation(const CommitmentKey& key, const Tensor& values) {
  if (values.dtype() != DType::kInt8 || values.rank() < 2)
    return Status::InvalidArgument("activation commitments need an int8 tensor [batch, ...]");
  ActivationOpening a;
  a.values = values;
  const size_t rows = static_cast<size_t>(values.dim(0));
  const size_t cols = static_cast<size_t>(values.size()) / std::max<size_t>(rows, 1);
  a.blinds.resize(rows);
  for (Scalar& b : a.blinds) b = Scalar::Random();
  VEIL_ASSIGN_OR_RETURN(a.commitment, HyraxCommitInt8(key, values.i8(), rows, cols, a.blinds));
  return a;
}

Result<SegmentProverOutput> ProveSegment(const Graph& graph, const ModelCommitment& commitment,
                                         const CommitmentSeed& seed, int segment,
                                         const ActivationOpening& input,
                                         const ProveProgress& progress, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckSegmentProvable(graph, segment));
  VEIL_RETURN_IF_ERROR(CheckCommitmentMatchesGraph(commitment, graph));
  const Segment seg = graph.EffectiveSegments()[static_cast<size_t>(segment)];
  const SegmentCommitment& sc = commitment.segments[static_cast<size_t>(segment)];
  const int in_value = graph.SegmentInputs(seg)[0];
  VEIL_ASSIGN_OR_RETURN(const size_t in_size, PerSampleSize(graph, in_value));
  if (input.values.dtype() != DType::kInt8 || input.values.rank() < 1 || input.values.dim(0) <= 0 ||
      input.values.dim(0) > kMaxBatch ||
      static_cast<size_t>(input.values.size()) != input.values.dim(0) * in_size)
    return Status::InvalidArgument("segment input does not match the segment's input shape");
  const size_t B = static_cast<size_t>(input.values.dim(0));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(input.commitment, B, in_size, "input"));
  const CommitmentKey key = SegmentProofKey(graph, commitment);

  SegmentProverOutput out;
  out.proof.model_commitment = commitment.digest;
  out.proof.segment = static_cast<uint32_t>(segment);
  out.proof.batch = static_cast<uint32_t>(B);
  out.proof.input = input.commitment;
  Transcript t("veil/zk/segment/v1");
  AbsorbHeader(&t, commitment.digest, out.proof.segment, sc.public_digest, out.proof.batch,
               input.commitment);
  ActivationOpening current = input;
  size_t to_prove = 0, proven = 0;
  for (int n = seg.begin; n < seg.end; ++n)
    to_prove += graph.nodes[static_cast<size_t>(n)].kind != OpKind::kReshape;
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    const Shape& out_shape = graph.values[static_cast<size_t>(node.outputs[0])].shape;
    if (progress && node.kind != OpKind::kReshape)
      progress(proven++, to_prove, NodeLabel(graph, n));
    if (node.kind == OpKind::kReshape) {
      Shape batched{static_cast<int64_t>(B)};
      batched.insert(batched.end(), out_shape.begin(), out_shape.end());
      current.values.Reshape(batched);
      continue;
    }
    if (node.kind == OpKind::kRequantize) {
      const size_t width = static_cast<size_t>(current.values.size()) / B;
      const Shape& in_shape = graph.values[static_cast<size_t>(node.inputs[0])].shape;
      SegmentLayerProof layer;
      layer.node = static_cast<uint32_t>(n);
      layer.kind = OpKind::kRequantize;
      RequantizeStatement rs =
          DescribeRequantize(node, in_shape, B, width, current.commitment, HyraxCommitment());
      const std::span<const int8_t> x = current.values.i8();
      const std::vector<int32_t> x32(x.begin(), x.end());
      const std::vector<int8_t> y =
          RequantizeReference(x32, B, width, rs.multiplier, rs.shift, rs.act_min, rs.act_max);
      ActivationOpening next;
      Shape batched{static_cast<int64_t>(B)};
      batched.insert(batched.end(), out_shape.begin(), out_shape.end());
      next.values = Tensor::FromInt8(batched, y);
      next.blinds.resize(B);
      for (Scalar& s : next.blinds) s = Scalar::Random();
      VEIL_ASSIGN_OR_RETURN(next.commitment, HyraxCommitInt8(key, y, B, width, next.blinds, pool));
      layer.output = next.commitment;
      rs.output = next.commitment;
      AbsorbLayer(&t, layer);
      RequantizeWitness rw;
      rw.accumulator = x32;
      rw.output = y;
      rw.accumulator_blinds = current.blinds;
      rw.output_blinds = next.blinds;
      VEIL_ASSIGN_OR_RETURN(layer.requantize, ProveRequantize(key, rs, rw, &t, pool));
      out.proof.layers.push_back(std::move(layer));
      current = std::move(next);
      continue;
    }
    if (node.kind == OpKind::kLookup) {
      const size_t width = static_cast<size_t>(current.values.size()) / B;
      const Tensor& table = *node.FindParam("table");
      const std::vector<int8_t> y = LookupReference(current.values.i8(), table.i8());
      SegmentLayerProof layer;
      layer.node = static_cast<uint32_t>(n);
      layer.kind = OpKind::kLookup;
      ActivationOpening next;
      Shape batched{static_cast<int64_t>(B)};
      batched.insert(batched.end(), out_shape.begin(), out_shape.end());
      next.values = Tensor::FromInt8(batched, y);
      next.blinds.resize(B);
      for (Scalar& s : next.blinds) s = Scalar::Random();
      VEIL_ASSIGN_OR_RETURN(next.commitment, HyraxCommitInt8(key, y, B, width, next.blinds, pool));
      layer.output = next.commitment;
      AbsorbLayer(&t, layer);
      LookupWitness lw;
      lw.input = current.values.i8();
      lw.output = y;
      lw.input_blinds = current.blinds;
      lw.output_blinds = next.blinds;
      VEIL_ASSIGN_OR_RETURN(
          layer.lookup,
          ProveLookup(key, DescribeLookup(node, B, width, current.commitment, next.commitment), lw,
                      &t, pool));
      out.proof.layers.push_back(std::move(layer));
      current = std::move(next);
      continue;
    }
    const size_t K = static_cast<size_t>(current.values.size()) / B;
    const LinearShape ls = DescribeLinear(node, K);
    const Tensor& w = *node.FindParam("weight");
    const Tensor& b = *node.FindParam("bias");
    const CommittedTensor* wc = sc.Find(static_cast<uint32_t>(n), "weight");
    const CommittedTensor* bc = sc.Find(static_cast<uint32_t>(n), "bias");
    if (wc == nullptr || bc == nullptr) return Status::Internal("weight commitment missing");
    const std::vector<int32_t> acc =
        LinearAccumulators(current.values.i8(), w.i8(), b.i32(), B, K, ls.out);
    const std::vector<int8_t> y =
        RequantizeReference(acc, B, ls.out, ls.multiplier, ls.shift, ls.act_min, ls.act_max);

    SegmentLayerProof layer;
    layer.node = static_cast<uint32_t>(n);
    LinearWitness lw;
    lw.input = current.values.i8();
    lw.weight = w.i8();
    lw.bias = b.i32();
    lw.accumulator = acc;
    lw.input_blinds = current.blinds;
    lw.weight_blinds = TensorBlinds(seed, segment, n, "weight", ls.out);
    lw.bias_blinds = TensorBlinds(seed, segment, n, "bias", 1);
    lw.accumulator_blinds.resize(B);
    for (Scalar& s : lw.accumulator_blinds) s = Scalar::Random();
    VEIL_ASSIGN_OR_RETURN(layer.accumulator,
                          HyraxCommitInt32(key, acc, B, ls.out, lw.accumulator_blinds, pool));
    ActivationOpening next;
    Shape batched{static_cast<int64_t>(B)};
    batched.insert(batched.end(), out_shape.begin(), out_shape.end());
    next.values = Tensor::FromInt8(batched, y);
    next.blinds.resize(B);
    for (Scalar& s : next.blinds) s = Scalar::Random();
    VEIL_ASSIGN_OR_RETURN(next.commitment, HyraxCommitInt8(key, y, B, ls.out, next.blinds, pool));
    layer.output = next.commitment;
    AbsorbLayer(&t, layer);

    LinearStatement st;
    st.tokens = static_cast<uint32_t>(B);
    st.in_features = static_cast<uint32_t>(K);
    st.out_features = static_cast<uint32_t>(ls.out);
    st.weight = wc->commitment;
    st.bias = bc->commitment;
    st.input = current.commitment;
    st.accumulator = layer.accumulator;
    VEIL_ASSIGN_OR_RETURN(layer.linear, ProveLinear(key, st, lw, &t));
    RequantizeStatement rs;
    rs.rows = static_cast<uint32_t>(B);
    rs.cols = static_cast<uint32_t>(ls.out);
    rs.multiplier = ls.multiplier;
    rs.shift = ls.shift;
    rs.act_min = ls.act_min;
    rs.act_max = ls.act_max;
    rs.accumulator = layer.accumulator;
    rs.output = layer.output;
    RequantizeWitness rw;
    rw.accumulator = acc;
    rw.output = y;
    rw.accumulator_blinds = lw.accumulator_blinds;
    rw.output_blinds = next.blinds;
    VEIL_ASSIGN_OR_RETURN(layer.requantize, ProveRequantize(key, rs, rw, &t, pool));
    out.proof.layers.push_back(std::move(layer));
    current = std::move(next);
  }
  if (progress) progress(to_prove, to_prove, "done");
  out.output = std::move(current);
  return out;
}

Status VerifySegment(const Graph& graph, const ModelCommitment& commitment,
                     const SegmentProof& proof) {
  if (proof.model_commitment != commitment.digest)
    return Status::Corrupt("the proof is for another model commitment");
  const int segment = static_cast<int>(proof.segment);
  VEIL_RETURN_IF_ERROR(CheckSegmentProvable(graph, segment));
  VEIL_RETURN_IF_ERROR(CheckCommitmentMatchesGraph(commitment, graph));
  const Segment seg = graph.EffectiveSegments()[static_cast<size_t>(segment)];
  const SegmentCommitment& sc = commitment.segments[static_cast<size_t>(segment)];
  const size_t B = proof.batch;
  if (B == 0 || B > kMaxBatch) return Status::Corrupt("proof batch size out of range");
  VEIL_ASSIGN_OR_RETURN(const size_t in_size, PerSampleSize(graph, graph.SegmentInputs(seg)[0]));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(proof.input, B, in_size, "input"));
  const CommitmentKey key = SegmentProofKey(graph, commitment);
  Transcript t("veil/zk/segment/v1");
  AbsorbHeader(&t, commitment.digest, proof.segment, sc.public_digest, proof.batch, proof.input);
  const HyraxCommitment* current = &proof.input;
  // One batch for the whole segment: every opening's generator MSM becomes one MSM.
  BatchVerifier batch;
  size_t layer_index = 0;
  size_t width = in_size;
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (node.kind == OpKind::kReshape) continue;
    if (layer_index >= proof.layers.size()) return Status::Corrupt("the proof has too few layers");
    const SegmentLayerProof& layer = proof.layers[layer_index++];
    if (layer.node != static_cast<uint32_t>(n))
      return Status::Corrupt("layer proof for node " + std::to_string(layer.node) + " where node " +
                             std::to_string(n) + " was expected");
    if (layer.kind != node.kind)
      return Status::Corrupt("layer proof for node " + std::to_string(n) + " is for another op");
    if (node.kind == OpKind::kRequantize) {
      AbsorbLayer(&t, layer);
      VEIL_RETURN_IF_ERROR(CheckHyraxShape(layer.output, B, width, "requantize output"));
      const Shape& in_shape = graph.values[static_cast<size_t>(node.inputs[0])].shape;
      const Status s = VerifyRequantize(
          key, DescribeRequantize(node, in_shape, B, width, *current, layer.output),
          layer.requantize, &t, &batch);
      if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
      current = &layer.output;
      continue;
    }
    if (node.kind == OpKind::kLookup) {
      AbsorbLayer(&t, layer);
      VEIL_RETURN_IF_ERROR(CheckHyraxShape(layer.output, B, width, "lookup output"));
      const Status s = VerifyLookup(key, DescribeLookup(node, B, width, *current, layer.output),
                                    layer.lookup, &t, &batch);
      if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
      current = &layer.output;
      continue;
    }
    const LinearShape ls = DescribeLinear(node, width);
    AbsorbLayer(&t, layer);
    LinearStatement st;
    st.tokens = static_cast<uint32_t>(B);
    st.in_features = static_cast<uint32_t>(width);
    st.out_features = static_cast<uint32_t>(ls.out);
    st.weight = sc.Find(layer.node, "weight")->commitment;
    st.bias = sc.Find(layer.node, "bias")->commitment;
    st.input = *current;
    st.accumulator = layer.accumulator;
    Status s = VerifyLinear(key, st, layer.linear, &t, &batch);
    if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
    RequantizeStatement rs;
    rs.rows = static_cast<uint32_t>(B);
    rs.cols = static_cast<uint32_t>(ls.out);
    rs.multiplier = ls.multiplier;
    rs.shift = ls.shift;
    rs.act_min = ls.act_min;
    rs.act_max = ls.act_max;
    rs.accumulator = layer.accumulator;
    rs.output = layer.output;
    s = VerifyRequantize(key, rs, layer.requantize, &t, &batch);
    if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
    current = &layer.output;
    width = ls.out;
  }
  if (layer_index != proof.layers.size()) return Status::Corrupt("the proof has extra layers");
  return batch.Check(key);
}

Status VerifyChain(const Graph& graph, const ModelCommitment& commitment,
                   std::span<const SegmentProof> proofs) {
  if (proofs.empty()) return Status::InvalidArgument("no proofs to verify");
  for (size_t i = 0; i < proofs.size(); ++i) {
    const SegmentProof& p = proofs[i];
    if (i > 0 && p.segment != proofs[i - 1].segment + 1)
      return Status::Corrupt("proof " + std::to_string(i) + " is for segment " +
                             std::to_string(p.segment) + ", expected segment " +
                             std::to_string(proofs[i - 1].segment + 1));
    if (i > 0 && !(p.input == proofs[i - 1].output()))
      return Status::Corrupt("segment " + std::to_string(p.segment) +
                             ": input commitment is not the previous segment's output commitment");
    Status s = VerifySegment(graph, commitment, p);
    if (!s.ok()) return s.WithContext("segment " + std::to_string(p.segment) + " fails");
  }
  return Status::Ok();
}

std::vector<uint8_t> SerializeActivationOpening(const ActivationOpening& a) {
  std::vector<uint8_t> out(kOpeningMagic.begin(), kOpeningMagic.end());
  WriteU32(&out, kOpeningVersion);
  WriteU32(&out, static_cast<uint32_t>(a.values.rank()));
  for (int64_t d : a.values.shape()) WriteU64(&out, static_cast<uint64_t>(d));
  const std::span<const int8_t> v = a.values.i8();
  out.insert(out.end(), reinterpret_cast<const uint8_t*>(v.data()),
             reinterpret_cast<const uint8_t*>(v.data()) + v.size());
  WriteScalars(&out, a.blinds);
  WriteHyraxCommitment(&out, a.commitment);
  return out;
}

Result<ActivationOpening> ParseActivationOpening(std::span<const uint8_t> bytes,
                                                 const CommitmentKey& key) {
  ZkReader in(bytes);
  VEIL_ASSIGN_OR_RETURN(auto magic, in.ReadBytes(8));
  if (!std::equal(magic.begin(), magic.end(), kOpeningMagic.begin()))
    return Status::Corrupt("not a veil activation opening (bad magic)");
  VEIL_ASSIGN_OR_RETURN(uint32_t version, in.ReadU32());
  if (version != kOpeningVersion)
    return Status::Corrupt("activation opening version " + std::to_string(version));
  VEIL_ASSIGN_OR_RETURN(uint32_t rank, in.ReadU32());
  if (rank < 2 || rank > 9)
    return Status::Corrupt("activation opening rank " + std::to_string(rank));
  Shape shape;
  uint64_t count = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    VEIL_ASSIGN_OR_RETURN(uint64_t d, in.ReadU64());
    if (d == 0 || d > (uint64_t{1} << 24) || count * d > in.remaining())
      return Status::Corrupt("activation opening dimension out of range");
    count *= d;
    shape.push_back(static_cast<int64_t>(d));
  }
  VEIL_ASSIGN_OR_RETURN(auto raw, in.ReadBytes(count));
  std::vector<int8_t> values(raw.begin(), raw.end());
  for (int8_t v : values)
    if (v == -128) return Status::Corrupt("activation opening holds -128, outside [-127, 127]");
  ActivationOpening a;
  a.values = Tensor::FromInt8(shape, std::move(values));
  VEIL_ASSIGN_OR_RETURN(a.blinds, in.ReadScalars(static_cast<uint32_t>(shape[0])));
  VEIL_ASSIGN_OR_RETURN(a.commitment, ReadHyraxCommitment(&in));
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  const size_t rows = static_cast<size_t>(shape[0]);
  if (a.blinds.size() != rows)
    return Status::Corrupt("activation opening: one blind per row expected");
  auto again = HyraxCommitInt8(key, a.values.i8(), rows, count / rows, a.blinds);
  if (!again.ok() || !(*again == a.commitment))
    return Status::Corrupt("activation opening does not open its commitment");
  return a;
}

std::vector<uint8_t> SerializeSegmentProof(const SegmentProof& p) {
  std::vector<uint8_t> out(kProofMagic.begin(), kProofMagic.end());
  WriteU32(&out, kProofVersion);
  out.insert(out.end(), p.model_commitment.begin(), p.model_commitment.end());
  WriteU32(&out, p.segment);
  WriteU32(&out, p.batch);
  WriteHyraxCommitment(&out, p.input);
  WriteU32(&out, static_cast<uint32_t>(p.layers.size()));
  for (const SegmentLayerProof& l : p.layers) {
    WriteU32(&out, l.node);
    if (l.kind == OpKind::kLookup) {
      WriteHyraxCommitment(&out, l.output);
      WriteLookupProof(&out, l.lookup);
      continue;
    }
    if (l.kind == OpKind::kRequantize) {
      WriteHyraxCommitment(&out, l.output);
      WriteRequantizeProof(&out, l.requantize);
      continue;
    }
    WriteHyraxCommitment(&out, l.accumulator);
    WriteHyraxCommitment(&out, l.output);
    WriteLinearProof(&out, l.linear);
    WriteRequantizeProof(&out, l.requantize);
  }
  return out;
}

Result<SegmentProof> ParseSegmentProof(std::span<const uint8_t> bytes, const Graph& graph) {
  ZkReader in(bytes);
  VEIL_ASSIGN_OR_RETURN(auto magic, in.ReadBytes(8));
  if (!std::equal(magic.begin(), magic.end(), kProofMagic.begin()))
    return Status::Corrupt("not a veil segment proof (bad magic)");
  VEIL_ASSIGN_OR_RETURN(uint32_t version, in.ReadU32());
  if (version != kProofVersion)
    return Status::Corrupt("segment proof version " + std::to_string(version) +
                           " (this veil reads " + std::to_string(kProofVersion) + ")");
  SegmentProof p;
  VEIL_ASSIGN_OR_RETURN(auto digest, in.ReadBytes(32));
  std::copy(digest.begin(), digest.end(), p.model_commitment.begin());
  VEIL_ASSIGN_OR_RETURN(p.segment, in.ReadU32());
  VEIL_ASSIGN_OR_RETURN(p.batch, in.ReadU32());
  if (p.batch == 0 || p.batch > kMaxBatch) return Status::Corrupt("proof batch size out of range");
  VEIL_RETURN_IF_ERROR(CheckSegmentProvable(graph, static_cast<int>(p.segment)));
  const Segment seg = graph.EffectiveSegments()[p.segment];
  VEIL_ASSIGN_OR_RETURN(p.input, ReadHyraxCommitment(&in));
  VEIL_ASSIGN_OR_RETURN(size_t width, PerSampleSize(graph, graph.SegmentInputs(seg)[0]));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(p.input, p.batch, width, "input"));
  VEIL_ASSIGN_OR_RETURN(uint32_t count, in.ReadU32());
  size_t proven = 0;
  for (int n = seg.begin; n < seg.end; ++n)
    proven += graph.nodes[static_cast<size_t>(n)].kind != OpKind::kReshape;
  if (count != proven)
    return Status::Corrupt("the proof has " + std::to_string(count) + " layers, the segment " +
                           std::to_string(proven));
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (node.kind == OpKind::kReshape) continue;
    if (node.kind == OpKind::kRequantize) {
      SegmentLayerProof l;
      l.kind = OpKind::kRequantize;
      VEIL_ASSIGN_OR_RETURN(l.node, in.ReadU32());
      if (l.node != static_cast<uint32_t>(n))
        return Status::Corrupt("layer proof for the wrong node");
      VEIL_ASSIGN_OR_RETURN(l.output, ReadHyraxCommitment(&in));
      VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.output, p.batch, width, "requantize output"));
      RequantizeStatement rs;
      rs.rows = p.batch;
      rs.cols = static_cast<uint32_t>(width);
      rs.output = l.output;
      VEIL_ASSIGN_OR_RETURN(l.requantize, ReadRequantizeProof(&in, rs));
      p.layers.push_back(std::move(l));
      continue;
    }
    if (node.kind == OpKind::kLookup) {
      SegmentLayerProof l;
      l.kind = OpKind::kLookup;
      VEIL_ASSIGN_OR_RETURN(l.node, in.ReadU32());
      if (l.node != static_cast<uint32_t>(n))
        return Status::Corrupt("layer proof for the wrong node");
      VEIL_ASSIGN_OR_RETURN(l.output, ReadHyraxCommitment(&in));
      VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.output, p.batch, width, "lookup output"));
      LookupStatement st;
      st.rows = p.batch;
      st.cols = static_cast<uint32_t>(width);
      VEIL_ASSIGN_OR_RETURN(l.lookup, ReadLookupProof(&in, st));
      p.layers.push_back(std::move(l));
      continue;
    }
    const size_t out = static_cast<size_t>(node.FindParam("weight")->dim(0));
    SegmentLayerProof l;
    VEIL_ASSIGN_OR_RETURN(l.node, in.ReadU32());
    if (l.node != static_cast<uint32_t>(n))
      return Status::Corrupt("layer proof for the wrong node");
    VEIL_ASSIGN_OR_RETURN(l.accumulator, ReadHyraxCommitment(&in));
    VEIL_ASSIGN_OR_RETURN(l.output, ReadHyraxCommitment(&in));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.accumulator, p.batch, out, "accumulator"));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.output, p.batch, out, "output"));
    LinearStatement st;
    st.input.col_vars = static_cast<uint32_t>(CeilLog2(width));
    VEIL_ASSIGN_OR_RETURN(l.linear, ReadLinearProof(&in, st));
    RequantizeStatement rs;
    rs.rows = p.batch;
    rs.cols = static_cast<uint32_t>(out);
    rs.output = l.output;
    VEIL_ASSIGN_OR_RETURN(l.requantize, ReadRequantizeProof(&in, rs));
    p.layers.push_back(std::move(l));
    width = out;
  }
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  return p;
}

}  // namespace veil::zk
