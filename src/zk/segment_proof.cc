#include "veil/zk/segment_proof.h"

#include <algorithm>
#include <map>
#include <string>

#include "op_util.h"
#include "ops/op.h"
#include "veil/zk/multilinear.h"
#include "veil/zk/serialize.h"

namespace veil::zk {
namespace {

constexpr std::array<uint8_t, 8> kProofMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'P', 0};
constexpr std::array<uint8_t, 8> kOpeningMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'O', 0};
constexpr uint32_t kProofVersion = 3;
constexpr uint32_t kOpeningVersion = 2;
constexpr uint32_t kMaxBatch = uint32_t{1} << 16;
constexpr uint32_t kMaxSegmentValues = 64;  // inputs or outputs of one segment
constexpr std::string_view kDomain = "veil/zk/segment/v3";

using ops::NodeLabel;
using ops::ValueShape;

Result<size_t> PerSampleSize(const Graph& g, int value) {
  const Shape& shape = ValueShape(g, value);
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

bool ProvableKind(OpKind kind) { return kind == OpKind::kReshape || ops::FindOp(kind) != nullptr; }
constexpr const char* kProvableList =
    "provable: Reshape, Linear, Conv2d, Lookup, Requantize, Add, MaxPool2d, AvgPool2d, "
    "ReduceMean, Transpose, LayerNorm, Attention, MatMul, Softmax";

// Generic provability of a node (int8 inputs of static, bounded size; one output), then the
// op's own check.
Status CheckNodeProvable(const Graph& g, int n) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  for (int v : node.inputs) {
    if (g.values[static_cast<size_t>(v)].dtype != DType::kInt8)
      return Status::Unsupported(NodeLabel(g, n) + " reads a non-int8 value");
    VEIL_RETURN_IF_ERROR(PerSampleSize(g, v).status());
  }
  if (node.outputs.size() != 1)
    return Status::Unsupported(NodeLabel(g, n) + " has several outputs");
  VEIL_RETURN_IF_ERROR(PerSampleSize(g, node.outputs[0]).status());
  const ops::OpHandler* op = ops::FindOp(node.kind);
  if (op != nullptr && op->check != nullptr) return op->check(g, n);
  return Status::Ok();
}

void AbsorbHeader(Transcript* t, const Digest& model, uint32_t segment, const Digest& public_digest,
                  uint32_t batch, std::span<const HyraxCommitment> inputs) {
  t->AppendBytes("segment/model_commitment", model);
  t->AppendU64("segment/index", segment);
  t->AppendBytes("segment/public_digest", public_digest);
  t->AppendU64("segment/batch", batch);
  t->AppendU64("segment/inputs", inputs.size());
  for (const HyraxCommitment& in : inputs) {
    t->AppendU64("segment/input_row_vars", in.row_vars);
    t->AppendU64("segment/input_col_vars", in.col_vars);
    t->AppendPoints("segment/input", in.rows);
  }
}

// ---- Wire format of one layer -----------------------------------------------------------

void WriteLayer(std::vector<uint8_t>* out, const SegmentLayerProof& l) {
  const ops::OpHandler* op = ops::FindOp(l.kind);
  WriteU32(out, l.node);
  if (op == nullptr) return;  // not a provable op: nothing a reader would accept follows
  if (op->has_accumulator) WriteHyraxCommitment(out, l.accumulator);
  WriteHyraxCommitment(out, l.output);
  op->write(out, l);
}

Result<SegmentLayerProof> ReadLayer(ZkReader* in, const Graph& g, int n, size_t B) {
  const Node& node = g.nodes[static_cast<size_t>(n)];
  const ops::OpHandler* op = ops::FindOp(node.kind);
  SegmentLayerProof l;
  l.kind = node.kind;
  VEIL_ASSIGN_OR_RETURN(l.node, in->ReadU32());
  if (l.node != static_cast<uint32_t>(n)) return Status::Corrupt("layer proof for the wrong node");
  const size_t width = ops::ValueWidth(g, node.outputs[0]);
  if (op->has_accumulator) {
    VEIL_ASSIGN_OR_RETURN(l.accumulator, ReadHyraxCommitment(in));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.accumulator, B, width, "accumulator"));
  }
  VEIL_ASSIGN_OR_RETURN(l.output, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(l.output, B, width, "output"));
  VEIL_RETURN_IF_ERROR(op->read(in, g, n, B, &l));
  return l;
}

size_t ProvenNodes(const Graph& graph, const Segment& seg) {
  size_t n = 0;
  for (int i = seg.begin; i < seg.end; ++i)
    n += graph.nodes[static_cast<size_t>(i)].kind != OpKind::kReshape;
  return n;
}

// The segment's output commitments from its input commitments and layers (Reshape aliases
// its input). Checks only the bookkeeping (every layer present, in order), not the proofs.
Result<std::vector<HyraxCommitment>> OutputsFromLayers(const Graph& graph, const Segment& seg,
                                                       std::span<const HyraxCommitment> inputs,
                                                       std::span<const SegmentLayerProof> layers) {
  std::map<int, const HyraxCommitment*> values;
  const std::vector<int> in_ids = graph.SegmentInputs(seg);
  if (in_ids.size() != inputs.size()) return Status::Corrupt("wrong number of input commitments");
  for (size_t i = 0; i < in_ids.size(); ++i) values[in_ids[i]] = &inputs[i];
  size_t li = 0;
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (node.kind == OpKind::kReshape) {
      values[node.outputs[0]] = values.at(node.inputs[0]);
      continue;
    }
    if (li >= layers.size() || layers[li].node != static_cast<uint32_t>(n))
      return Status::Corrupt("the proof's layers do not match the segment's nodes");
    values[node.outputs[0]] = &layers[li++].output;
  }
  if (li != layers.size()) return Status::Corrupt("the proof has extra layers");
  std::vector<HyraxCommitment> out;
  for (int v : graph.SegmentOutputs(seg)) out.push_back(*values.at(v));
  return out;
}

}  // namespace

Status CheckSegmentProvable(const Graph& graph, int segment) {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  if (segment < 0 || static_cast<size_t>(segment) >= segments.size())
    return Status::InvalidArgument("segment " + std::to_string(segment) + " does not exist (" +
                                   std::to_string(segments.size()) + " segments)");
  const Segment& seg = segments[static_cast<size_t>(segment)];
  // Ops first, so that the error names the op a caller would have to wait for.
  for (int n = seg.begin; n < seg.end; ++n)
    if (!ProvableKind(graph.nodes[static_cast<size_t>(n)].kind))
      return Status::Unsupported(NodeLabel(graph, n) + " is not provable yet (" + kProvableList +
                                 ")");
  const std::vector<int> inputs = graph.SegmentInputs(seg), outputs = graph.SegmentOutputs(seg);
  if (inputs.empty() || outputs.empty() || inputs.size() > kMaxSegmentValues ||
      outputs.size() > kMaxSegmentValues)
    return Status::Unsupported("segment " + std::to_string(segment) + " has " +
                               std::to_string(inputs.size()) + " inputs and " +
                               std::to_string(outputs.size()) + " outputs; proofs support 1.." +
                               std::to_string(kMaxSegmentValues) + " of each");
  for (int v : inputs) {
    if (graph.values[static_cast<size_t>(v)].dtype != DType::kInt8)
      return Status::Unsupported("segment input '" + graph.values[static_cast<size_t>(v)].name +
                                 "' is not int8");
    VEIL_RETURN_IF_ERROR(PerSampleSize(graph, v).status());
  }
  for (int n = seg.begin; n < seg.end; ++n) VEIL_RETURN_IF_ERROR(CheckNodeProvable(graph, n));
  for (int v : outputs) VEIL_RETURN_IF_ERROR(PerSampleSize(graph, v).status());
  return Status::Ok();
}

CommitmentKey SegmentProofKey(const Graph& graph, const ModelCommitment& commitment) {
  size_t len = commitment.max_row_length;
  for (const Node& node : graph.nodes) {
    if (!ProvableKind(node.kind)) continue;
    // Lookup proofs commit 256 multiplicities in one row; digit range proofs (requantize,
    // pools) commit their multiplicities as rows of 256.
    if (node.kind != OpKind::kReshape) len = std::max<size_t>(len, 256);
    for (int v : node.inputs) {
      auto n = PerSampleSize(graph, v);
      if (n.ok()) len = std::max(len, size_t{1} << CeilLog2(*n));
    }
    for (int v : node.outputs) {
      auto n = PerSampleSize(graph, v);
      if (n.ok()) len = std::max(len, size_t{1} << CeilLog2(*n));
    }
    // Attention commits its scores and probabilities as [B, H·Tq·Tk].
    if (node.kind == OpKind::kAttention && node.inputs.size() == 3) {
      const Shape& q = ValueShape(graph, node.inputs[0]);
      const Shape& k = ValueShape(graph, node.inputs[1]);
      const int64_t scores =
          node.AttrInt("heads", 1) * (q.empty() ? 1 : q[0]) * (k.empty() ? 1 : k[0]);
      if (scores > 0 && scores <= int64_t{kMaxCommittedRowLength})
        len = std::max(len, size_t{1} << CeilLog2(static_cast<uint64_t>(scores)));
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
  a.blinds = FreshBlinds(rows);
  VEIL_ASSIGN_OR_RETURN(a.commitment, HyraxCommitInt8(key, values.i8(), rows, cols, a.blinds));
  return a;
}

Result<SegmentProverOutput> ProveSegment(const Graph& graph, const ModelCommitment& commitment,
                                         const CommitmentSeed& seed, int segment,
                                         const ActivationOpening& input,
                                         const ProveProgress& progress, ThreadPool* pool) {
  return ProveSegment(graph, commitment, seed, segment, std::span(&input, 1), progress, pool);
}

Result<SegmentProverOutput> ProveSegment(const Graph& graph, const ModelCommitment& commitment,
                                         const CommitmentSeed& seed, int segment,
                                         std::span<const ActivationOpening> inputs,
                                         const ProveProgress& progress, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckSegmentProvable(graph, segment));
  VEIL_RETURN_IF_ERROR(CheckCommitmentMatchesGraph(commitment, graph));
  const Segment seg = graph.EffectiveSegments()[static_cast<size_t>(segment)];
  const SegmentCommitment& sc = commitment.segments[static_cast<size_t>(segment)];
  const std::vector<int> in_ids = graph.SegmentInputs(seg);
  if (inputs.size() != in_ids.size())
    return Status::InvalidArgument("segment " + std::to_string(segment) + " reads " +
                                   std::to_string(in_ids.size()) + " values; " +
                                   std::to_string(inputs.size()) + " openings given");
  if (inputs[0].values.rank() < 1) return Status::InvalidArgument("segment input has rank 0");
  const int64_t batch = inputs[0].values.dim(0);
  if (batch <= 0 || batch > kMaxBatch)
    return Status::InvalidArgument("segment input batch out of range");
  const size_t B = static_cast<size_t>(batch);
  for (size_t i = 0; i < inputs.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(const size_t in_size, PerSampleSize(graph, in_ids[i]));
    const ActivationOpening& in = inputs[i];
    if (in.values.dtype() != DType::kInt8 || in.values.rank() < 1 || in.values.dim(0) != batch ||
        static_cast<size_t>(in.values.size()) != B * in_size || in.blinds.size() != B)
      return Status::InvalidArgument("segment input " + std::to_string(i) + " ('" +
                                     graph.values[static_cast<size_t>(in_ids[i])].name +
                                     "') does not match the segment's input shape");
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(in.commitment, B, in_size, "input"));
  }
  const CommitmentKey key = SegmentProofKey(graph, commitment);

  SegmentProverOutput out;
  out.proof.model_commitment = commitment.digest;
  out.proof.segment = static_cast<uint32_t>(segment);
  out.proof.batch = static_cast<uint32_t>(B);
  for (const ActivationOpening& in : inputs) out.proof.inputs.push_back(in.commitment);
  Transcript t(kDomain);
  AbsorbHeader(&t, commitment.digest, out.proof.segment, sc.public_digest, out.proof.batch,
               out.proof.inputs);
  ops::ProverContext p{graph, sc, seed, segment, B, key, &t, pool, {}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    ActivationOpening a = inputs[i];
    Shape batched{batch};
    const Shape& s = ValueShape(graph, in_ids[i]);
    batched.insert(batched.end(), s.begin(), s.end());
    a.values.Reshape(batched);
    a.value = in_ids[i];
    p.values[in_ids[i]] = std::move(a);
  }
  const size_t to_prove = ProvenNodes(graph, seg);
  size_t proven = 0;
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (node.kind == OpKind::kReshape) {
      ActivationOpening a = p.values.at(node.inputs[0]);
      Shape batched{batch};
      const Shape& s = ValueShape(graph, node.outputs[0]);
      batched.insert(batched.end(), s.begin(), s.end());
      a.values.Reshape(batched);
      a.value = node.outputs[0];
      p.values[node.outputs[0]] = std::move(a);
      continue;
    }
    if (progress) progress(proven++, to_prove, NodeLabel(graph, n));
    SegmentLayerProof layer;
    layer.node = static_cast<uint32_t>(n);
    layer.kind = node.kind;
    const Status s = ops::FindOp(node.kind)->prove(p, n, &layer);
    if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
    out.proof.layers.push_back(std::move(layer));
  }
  if (progress) progress(to_prove, to_prove, "done");
  for (int v : graph.SegmentOutputs(seg)) {
    out.outputs.push_back(p.values.at(v));
    out.proof.outputs.push_back(out.outputs.back().commitment);
  }
  out.output = out.outputs.front();
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
  const std::vector<int> in_ids = graph.SegmentInputs(seg);
  if (proof.inputs.size() != in_ids.size())
    return Status::Corrupt("the proof has " + std::to_string(proof.inputs.size()) +
                           " input commitments, the segment reads " +
                           std::to_string(in_ids.size()) + " values");
  for (size_t i = 0; i < in_ids.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(const size_t in_size, PerSampleSize(graph, in_ids[i]));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(proof.inputs[i], B, in_size, "input"));
  }
  if (proof.layers.size() != ProvenNodes(graph, seg))
    return Status::Corrupt("the proof has " + std::to_string(proof.layers.size()) +
                           " layers, the segment " + std::to_string(ProvenNodes(graph, seg)));
  VEIL_ASSIGN_OR_RETURN(std::vector<HyraxCommitment> outputs,
                        OutputsFromLayers(graph, seg, proof.inputs, proof.layers));
  if (outputs != proof.outputs)
    return Status::Corrupt("the proof's output commitments are not its layers' outputs");
  const CommitmentKey key = SegmentProofKey(graph, commitment);
  Transcript t(kDomain);
  AbsorbHeader(&t, commitment.digest, proof.segment, sc.public_digest, proof.batch, proof.inputs);
  // One batch for the whole segment: every opening's generator MSM becomes one MSM.
  BatchVerifier batch;
  ops::VerifierContext v{graph, sc, B, key, &t, &batch, {}};
  for (size_t i = 0; i < in_ids.size(); ++i) v.values[in_ids[i]] = &proof.inputs[i];
  size_t li = 0;
  for (int n = seg.begin; n < seg.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    if (node.kind == OpKind::kReshape) {
      v.values[node.outputs[0]] = v.values.at(node.inputs[0]);
      continue;
    }
    const SegmentLayerProof& layer = proof.layers[li++];
    if (layer.node != static_cast<uint32_t>(n))
      return Status::Corrupt("layer proof for node " + std::to_string(layer.node) + " where node " +
                             std::to_string(n) + " was expected");
    if (layer.kind != node.kind)
      return Status::Corrupt("layer proof for node " + std::to_string(n) + " is for another op");
    Status s = CheckHyraxShape(layer.output, B, ops::ValueWidth(graph, node.outputs[0]), "output");
    if (s.ok()) {
      ops::AbsorbLayer(&t, layer);
      s = ops::FindOp(node.kind)->verify(v, n, layer);
    }
    if (!s.ok()) return s.WithContext(NodeLabel(graph, n));
    v.values[node.outputs[0]] = &layer.output;
  }
  return batch.Check(key);
}

Status VerifyChain(const Graph& graph, const ModelCommitment& commitment,
                   std::span<const SegmentProof> proofs) {
  if (proofs.empty()) return Status::InvalidArgument("no proofs to verify");
  const std::vector<Segment> segments = graph.EffectiveSegments();
  std::map<int, const HyraxCommitment*> produced;  // value id -> output commitment
  for (size_t i = 0; i < proofs.size(); ++i) {
    const SegmentProof& p = proofs[i];
    if (i > 0 && p.segment != proofs[i - 1].segment + 1)
      return Status::Corrupt("proof " + std::to_string(i) + " is for segment " +
                             std::to_string(p.segment) + ", expected segment " +
                             std::to_string(proofs[i - 1].segment + 1));
    Status s = VerifySegment(graph, commitment, p);
    if (!s.ok()) return s.WithContext("segment " + std::to_string(p.segment) + " fails");
    const Segment& seg = segments[p.segment];
    const std::vector<int> in_ids = graph.SegmentInputs(seg);
    for (size_t k = 0; k < in_ids.size(); ++k) {
      auto it = produced.find(in_ids[k]);
      // Values produced before the chain's first segment (or graph inputs) are not checked.
      if (it == produced.end()) continue;
      if (!(p.inputs[k] == *it->second))
        return Status::Corrupt("segment " + std::to_string(p.segment) + ": input commitment of '" +
                               graph.values[static_cast<size_t>(in_ids[k])].name +
                               "' is not the output commitment of the segment that produced it");
    }
    const std::vector<int> out_ids = graph.SegmentOutputs(seg);
    for (size_t k = 0; k < out_ids.size(); ++k) produced[out_ids[k]] = &p.outputs[k];
  }
  return Status::Ok();
}

namespace {

void WriteOpening(std::vector<uint8_t>* out, const ActivationOpening& a) {
  WriteU32(out, static_cast<uint32_t>(a.value));
  WriteU32(out, static_cast<uint32_t>(a.values.rank()));
  for (int64_t d : a.values.shape()) WriteU64(out, static_cast<uint64_t>(d));
  const std::span<const int8_t> v = a.values.i8();
  out->insert(out->end(), reinterpret_cast<const uint8_t*>(v.data()),
              reinterpret_cast<const uint8_t*>(v.data()) + v.size());
  WriteScalars(out, a.blinds);
  WriteHyraxCommitment(out, a.commitment);
}

Result<ActivationOpening> ReadOpening(ZkReader* in, const CommitmentKey& key, bool named) {
  ActivationOpening a;
  if (named) {
    VEIL_ASSIGN_OR_RETURN(uint32_t value, in->ReadU32());
    if (value != 0xFFFFFFFFu && value >= (uint32_t{1} << 24))
      return Status::Corrupt("activation opening value id out of range");
    a.value = value == 0xFFFFFFFFu ? -1 : static_cast<int>(value);
  }
  VEIL_ASSIGN_OR_RETURN(uint32_t rank, in->ReadU32());
  if (rank < 2 || rank > 9)
    return Status::Corrupt("activation opening rank " + std::to_string(rank));
  Shape shape;
  uint64_t count = 1;
  for (uint32_t i = 0; i < rank; ++i) {
    VEIL_ASSIGN_OR_RETURN(uint64_t d, in->ReadU64());
    if (d == 0 || d > (uint64_t{1} << 24) || count * d > in->remaining())
      return Status::Corrupt("activation opening dimension out of range");
    count *= d;
    shape.push_back(static_cast<int64_t>(d));
  }
  VEIL_ASSIGN_OR_RETURN(auto raw, in->ReadBytes(count));
  std::vector<int8_t> values(raw.begin(), raw.end());
  for (int8_t v : values)
    if (v == -128) return Status::Corrupt("activation opening holds -128, outside [-127, 127]");
  a.values = Tensor::FromInt8(shape, std::move(values));
  VEIL_ASSIGN_OR_RETURN(a.blinds, in->ReadScalars(static_cast<uint32_t>(shape[0])));
  VEIL_ASSIGN_OR_RETURN(a.commitment, ReadHyraxCommitment(in));
  const size_t rows = static_cast<size_t>(shape[0]);
  if (a.blinds.size() != rows)
    return Status::Corrupt("activation opening: one blind per row expected");
  auto again = HyraxCommitInt8(key, a.values.i8(), rows, count / rows, a.blinds);
  if (!again.ok() || !(*again == a.commitment))
    return Status::Corrupt("activation opening does not open its commitment");
  return a;
}

}  // namespace

std::vector<uint8_t> SerializeActivationOpenings(std::span<const ActivationOpening> openings) {
  std::vector<uint8_t> out(kOpeningMagic.begin(), kOpeningMagic.end());
  WriteU32(&out, kOpeningVersion);
  WriteU32(&out, static_cast<uint32_t>(openings.size()));
  for (const ActivationOpening& a : openings) WriteOpening(&out, a);
  return out;
}

std::vector<uint8_t> SerializeActivationOpening(const ActivationOpening& a) {
  return SerializeActivationOpenings(std::span(&a, 1));
}

Result<std::vector<ActivationOpening>> ParseActivationOpenings(std::span<const uint8_t> bytes,
                                                               const CommitmentKey& key) {
  ZkReader in(bytes);
  VEIL_ASSIGN_OR_RETURN(auto magic, in.ReadBytes(8));
  if (!std::equal(magic.begin(), magic.end(), kOpeningMagic.begin()))
    return Status::Corrupt("not a veil activation opening (bad magic)");
  VEIL_ASSIGN_OR_RETURN(uint32_t version, in.ReadU32());
  if (version != 1 && version != kOpeningVersion)
    return Status::Corrupt("activation opening version " + std::to_string(version));
  uint32_t count = 1;
  if (version == kOpeningVersion) {
    VEIL_ASSIGN_OR_RETURN(count, in.ReadU32());
    if (count == 0 || count > kMaxSegmentValues)
      return Status::Corrupt("activation opening count " + std::to_string(count));
  }
  std::vector<ActivationOpening> out;
  for (uint32_t i = 0; i < count; ++i) {
    VEIL_ASSIGN_OR_RETURN(ActivationOpening a, ReadOpening(&in, key, version == kOpeningVersion));
    out.push_back(std::move(a));
  }
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  return out;
}

Result<ActivationOpening> ParseActivationOpening(std::span<const uint8_t> bytes,
                                                 const CommitmentKey& key) {
  VEIL_ASSIGN_OR_RETURN(std::vector<ActivationOpening> all, ParseActivationOpenings(bytes, key));
  if (all.size() != 1)
    return Status::InvalidArgument("the opening file holds " + std::to_string(all.size()) +
                                   " activations, one expected");
  return std::move(all[0]);
}

std::vector<uint8_t> SerializeSegmentProof(const SegmentProof& p) {
  std::vector<uint8_t> out(kProofMagic.begin(), kProofMagic.end());
  WriteU32(&out, kProofVersion);
  out.insert(out.end(), p.model_commitment.begin(), p.model_commitment.end());
  WriteU32(&out, p.segment);
  WriteU32(&out, p.batch);
  WriteU32(&out, static_cast<uint32_t>(p.inputs.size()));
  for (const HyraxCommitment& c : p.inputs) WriteHyraxCommitment(&out, c);
  WriteU32(&out, static_cast<uint32_t>(p.layers.size()));
  for (const SegmentLayerProof& l : p.layers) WriteLayer(&out, l);
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
  const std::vector<int> in_ids = graph.SegmentInputs(seg);
  VEIL_ASSIGN_OR_RETURN(uint32_t inputs, in.ReadU32());
  if (inputs != in_ids.size())
    return Status::Corrupt("the proof has " + std::to_string(inputs) +
                           " input commitments, the segment reads " +
                           std::to_string(in_ids.size()) + " values");
  for (int v : in_ids) {
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment c, ReadHyraxCommitment(&in));
    VEIL_ASSIGN_OR_RETURN(size_t width, PerSampleSize(graph, v));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(c, p.batch, width, "input"));
    p.inputs.push_back(std::move(c));
  }
  VEIL_ASSIGN_OR_RETURN(uint32_t count, in.ReadU32());
  const size_t proven = ProvenNodes(graph, seg);
  if (count != proven)
    return Status::Corrupt("the proof has " + std::to_string(count) + " layers, the segment " +
                           std::to_string(proven));
  for (int n = seg.begin; n < seg.end; ++n) {
    if (graph.nodes[static_cast<size_t>(n)].kind == OpKind::kReshape) continue;
    VEIL_ASSIGN_OR_RETURN(SegmentLayerProof l, ReadLayer(&in, graph, n, p.batch));
    p.layers.push_back(std::move(l));
  }
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  VEIL_ASSIGN_OR_RETURN(p.outputs, OutputsFromLayers(graph, seg, p.inputs, p.layers));
  return p;
}

}  // namespace veil::zk
