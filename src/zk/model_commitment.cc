#include "veil/zk/model_commitment.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

#include "veil/model_file.h"
#include "veil/zk/multilinear.h"
#include "veil/zk/serialize.h"

namespace veil::zk {
namespace {

constexpr std::array<uint8_t, 8> kCommitMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'C', 0};
constexpr std::array<uint8_t, 8> kSecretMagic = {'V', 'E', 'I', 'L', 'Z', 'K', 'S', 0};
constexpr uint32_t kMaxSegments = 1 << 16;
constexpr uint32_t kMaxTensors = 1 << 20;
constexpr uint32_t kMaxNameLength = 256;
constexpr uint32_t kMaxRank = 8;

void HashString(Sha256Hasher* h, std::string_view s) {
  h->UpdateU64(s.size());
  h->Update({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void WriteBytes(std::vector<uint8_t>* out, std::span<const uint8_t> b) {
  out->insert(out->end(), b.begin(), b.end());
}

void WriteSegment(std::vector<uint8_t>* out, const SegmentCommitment& s) {
  WriteU32(out, s.index);
  WriteU32(out, s.node_begin);
  WriteU32(out, s.node_end);
  WriteBytes(out, s.public_digest);
  WriteU32(out, static_cast<uint32_t>(s.tensors.size()));
  for (const CommittedTensor& t : s.tensors) {
    WriteU32(out, t.node);
    WriteU32(out, static_cast<uint32_t>(t.param.size()));
    WriteBytes(out, {reinterpret_cast<const uint8_t*>(t.param.data()), t.param.size()});
    out->push_back(static_cast<uint8_t>(t.dtype));
    WriteU32(out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) WriteU64(out, static_cast<uint64_t>(d));
    WriteHyraxCommitment(out, t.commitment);
  }
}

Result<Digest> ReadDigest(ZkReader* in) {
  VEIL_ASSIGN_OR_RETURN(auto b, in->ReadBytes(32));
  Digest d;
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}

Result<SegmentCommitment> ReadSegment(ZkReader* in, uint32_t max_row_length) {
  SegmentCommitment s;
  VEIL_ASSIGN_OR_RETURN(s.index, in->ReadU32());
  VEIL_ASSIGN_OR_RETURN(s.node_begin, in->ReadU32());
  VEIL_ASSIGN_OR_RETURN(s.node_end, in->ReadU32());
  if (s.node_end < s.node_begin) return Status::Corrupt("segment with end before begin");
  VEIL_ASSIGN_OR_RETURN(s.public_digest, ReadDigest(in));
  VEIL_ASSIGN_OR_RETURN(uint32_t count, in->ReadU32());
  // Every tensor record takes at least 25 bytes: reject counts the input cannot hold.
  if (count > kMaxTensors || count > in->remaining() / 25)
    return Status::Corrupt("segment with " + std::to_string(count) + " tensors");
  for (uint32_t i = 0; i < count; ++i) {
    CommittedTensor t;
    VEIL_ASSIGN_OR_RETURN(t.node, in->ReadU32());
    if (t.node < s.node_begin || t.node >= s.node_end)
      return Status::Corrupt("committed tensor of node " + std::to_string(t.node) +
                             " outside its segment");
    VEIL_ASSIGN_OR_RETURN(uint32_t name_length, in->ReadU32());
    if (name_length > kMaxNameLength) return Status::Corrupt("param name too long");
    VEIL_ASSIGN_OR_RETURN(auto name, in->ReadBytes(name_length));
    t.param.assign(name.begin(), name.end());
    VEIL_ASSIGN_OR_RETURN(auto dtype, in->ReadBytes(1));
    if (dtype[0] != static_cast<uint8_t>(DType::kInt8) &&
        dtype[0] != static_cast<uint8_t>(DType::kInt32))
      return Status::Corrupt("committed tensor with dtype code " + std::to_string(dtype[0]));
    t.dtype = static_cast<DType>(dtype[0]);
    VEIL_ASSIGN_OR_RETURN(uint32_t rank, in->ReadU32());
    if (rank > kMaxRank) return Status::Corrupt("committed tensor rank " + std::to_string(rank));
    for (uint32_t k = 0; k < rank; ++k) {
      VEIL_ASSIGN_OR_RETURN(uint64_t d, in->ReadU64());
      if (d == 0 || d > (uint64_t{1} << 40)) return Status::Corrupt("committed tensor dimension");
      t.shape.push_back(static_cast<int64_t>(d));
    }
    VEIL_ASSIGN_OR_RETURN(t.commitment, ReadHyraxCommitment(in));
    const auto [rows, cols] = MatrixShape(t.shape);
    if (cols > max_row_length || t.commitment.rows.size() != rows ||
        t.commitment.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
        t.commitment.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
      return Status::Corrupt("commitment of " + t.param + " does not match its shape " +
                             ShapeToString(t.shape));
    s.tensors.push_back(std::move(t));
  }
  return s;
}

}  // namespace

const CommittedTensor* SegmentCommitment::Find(uint32_t node, const std::string& param) const {
  for (const CommittedTensor& t : tensors)
    if (t.node == node && t.param == param) return &t;
  return nullptr;
}

bool IsCommittedParam(const Node& node, const Param& param) {
  if (param.tensor.dtype() == DType::kInt8)
    return !(node.kind == OpKind::kLookup && param.name == "table");
  return param.tensor.dtype() == DType::kInt32 && param.name == "bias";
}

std::pair<size_t, size_t> MatrixShape(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {1, static_cast<size_t>(shape[0])};
  size_t cols = 1;
  for (size_t i = 1; i < shape.size(); ++i) cols *= static_cast<size_t>(shape[i]);
  return {static_cast<size_t>(shape[0]), cols};
}

std::string BlindLabel(int segment, int node, const std::string& param) {
  return "segment/" + std::to_string(segment) + "/node/" + std::to_string(node) + "/" + param;
}

std::vector<Scalar> TensorBlinds(const CommitmentSeed& seed, int segment, int node,
                                 const std::string& param, size_t rows) {
  const std::string label = BlindLabel(segment, node, param);
  std::vector<Scalar> blinds(rows);
  for (size_t i = 0; i < rows; ++i) blinds[i] = DeriveBlind(seed, label, i);
  return blinds;
}

Digest SegmentPublicDigest(const Graph& graph, const Segment& segment) {
  Sha256Hasher h;
  HashString(&h, "veil/zk/segment-public/v1");
  h.UpdateU64(static_cast<uint64_t>(segment.begin));
  h.UpdateU64(static_cast<uint64_t>(segment.end));
  for (int n = segment.begin; n < segment.end; ++n) {
    const Node& node = graph.nodes[static_cast<size_t>(n)];
    h.UpdateU64(static_cast<uint64_t>(node.kind));
    h.UpdateU64(node.inputs.size());
    for (int v : node.inputs) {
      h.UpdateU64(static_cast<uint64_t>(v));
      for (int64_t d : graph.values[static_cast<size_t>(v)].shape)
        h.UpdateU64(static_cast<uint64_t>(d));
    }
    h.UpdateU64(node.outputs.size());
    for (int v : node.outputs) {
      h.UpdateU64(static_cast<uint64_t>(v));
      for (int64_t d : graph.values[static_cast<size_t>(v)].shape)
        h.UpdateU64(static_cast<uint64_t>(d));
    }
    h.UpdateU64(node.attrs.size());
    for (const Attr& a : node.attrs) {
      HashString(&h, a.name);
      h.UpdateU64(a.values.size());
      for (int64_t x : a.values) h.UpdateU64(static_cast<uint64_t>(x));
    }
    h.UpdateU64(node.params.size());
    for (const Param& p : node.params) {
      HashString(&h, p.name);
      h.UpdateU64(static_cast<uint64_t>(p.tensor.dtype()));
      h.UpdateU64(p.tensor.rank());
      for (int64_t d : p.tensor.shape()) h.UpdateU64(static_cast<uint64_t>(d));
      const bool hidden = IsCommittedParam(node, p);
      h.UpdateU64(hidden ? 1 : 0);
      if (!hidden) h.Update({p.tensor.raw(), p.tensor.byte_size()});
    }
  }
  return h.Finish();
}

Digest SegmentCommitmentDigest(const SegmentCommitment& segment) {
  std::vector<uint8_t> bytes;
  WriteSegment(&bytes, segment);
  Sha256Hasher h;
  HashString(&h, "veil/zk/segment-commitment/v1");
  h.Update(bytes);
  return h.Finish();
}

Digest ComputeModelCommitmentDigest(std::span<const SegmentCommitment> segments,
                                    std::span<const uint8_t> description) {
  Sha256Hasher h;
  HashString(&h, "veil/zk/model-commitment/v2");
  h.UpdateU64(segments.size());
  for (const SegmentCommitment& s : segments) h.Update(SegmentCommitmentDigest(s));
  h.Update(Sha256(description));
  return h.Finish();
}

Result<std::vector<uint8_t>> DescribePublicModel(const Graph& graph) {
  Graph described;
  described.name = graph.name;
  described.task = graph.task;
  described.metadata = graph.metadata;
  described.values = graph.values;
  described.inputs = graph.inputs;
  described.outputs = graph.outputs;
  described.segments = graph.segments;
  described.nodes.reserve(graph.nodes.size());
  for (const Node& node : graph.nodes) {
    Node copy;
    copy.kind = node.kind;
    copy.name = node.name;
    copy.inputs = node.inputs;
    copy.outputs = node.outputs;
    copy.attrs = node.attrs;
    for (const Param& p : node.params)
      copy.params.push_back(IsCommittedParam(node, p) ? Param{p.name, Tensor(p.tensor.dtype(), {1})}
                                                      : p);
    described.nodes.push_back(std::move(copy));
  }
  return SerializeModel(described);
}

Result<Graph> PublicModel(const ModelCommitment& commitment) {
  auto parsed = ParseModelStructure(commitment.description);
  if (!parsed.ok())
    return Status::Corrupt("model commitment: public description: " + parsed.status().message());
  Graph graph = std::move(parsed).value();
  const std::vector<Segment> segments = graph.EffectiveSegments();
  if (segments.size() != commitment.segments.size())
    return Status::Corrupt("model commitment: the public description has " +
                           std::to_string(segments.size()) + " segments, the commitment " +
                           std::to_string(commitment.segments.size()));
  for (size_t s = 0; s < segments.size(); ++s) {
    const SegmentCommitment& sc = commitment.segments[s];
    if (segments[s].begin != static_cast<int>(sc.node_begin) ||
        segments[s].end != static_cast<int>(sc.node_end))
      return Status::Corrupt("model commitment: segment " + std::to_string(s) +
                             " of the public description has other nodes");
    size_t k = 0;
    for (int n = segments[s].begin; n < segments[s].end; ++n) {
      Node& node = graph.nodes[static_cast<size_t>(n)];
      for (Param& p : node.params) {
        if (!IsCommittedParam(node, p)) continue;
        if (k >= sc.tensors.size() || sc.tensors[k].node != static_cast<uint32_t>(n) ||
            sc.tensors[k].param != p.name || sc.tensors[k].dtype != p.tensor.dtype() ||
            p.tensor.size() != 1)
          return Status::Corrupt("model commitment: param " + p.name + " of node " +
                                 std::to_string(n) +
                                 " in the public description is not a committed placeholder");
        p.tensor = Tensor(p.tensor.dtype(), sc.tensors[k].shape);
        ++k;
      }
    }
    if (k != sc.tensors.size())
      return Status::Corrupt("model commitment: segment " + std::to_string(s) +
                             " commits tensors the public description lacks");
  }
  if (Status valid = ValidateGraph(graph); !valid.ok())
    return Status::Corrupt("model commitment: public description: " + valid.message());
  if (Status match = CheckCommitmentMatchesGraph(commitment, graph); !match.ok())
    return Status::Corrupt("model commitment: public description: " + match.message());
  graph.SetMetadata("veil.zk.public_description", "1");
  return graph;
}

CommitmentKey ModelCommitmentKey(const ModelCommitment& commitment, ThreadPool* pool) {
  return CommitmentKey::Derive(commitment.max_row_length, pool);
}

Result<ModelCommitment> CommitModel(const Graph& graph, const CommitmentSeed& seed,
                                    ThreadPool* pool,
                                    const std::function<void(int64_t, int64_t)>& progress) {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  ModelCommitment out;
  int64_t total = 0;
  for (const Node& node : graph.nodes)
    for (const Param& p : node.params) {
      if (!IsCommittedParam(node, p)) continue;
      total += p.tensor.size();
      const size_t cols = MatrixShape(p.tensor.shape()).second;
      if (cols > kMaxCommittedRowLength)
        return Status::Unsupported(
            "param " + p.name + " of node " + node.name + " has rows of " + std::to_string(cols) +
            " entries; the commitment layout allows " + std::to_string(kMaxCommittedRowLength));
      out.max_row_length = std::max<uint32_t>(out.max_row_length, uint32_t{1} << CeilLog2(cols));
    }
  const CommitmentKey key = CommitmentKey::Derive(out.max_row_length, pool);
  int64_t done = 0;
  for (size_t s = 0; s < segments.size(); ++s) {
    SegmentCommitment seg;
    seg.index = static_cast<uint32_t>(s);
    seg.node_begin = static_cast<uint32_t>(segments[s].begin);
    seg.node_end = static_cast<uint32_t>(segments[s].end);
    seg.public_digest = SegmentPublicDigest(graph, segments[s]);
    for (int n = segments[s].begin; n < segments[s].end; ++n) {
      const Node& node = graph.nodes[static_cast<size_t>(n)];
      for (const Param& p : node.params) {
        if (!IsCommittedParam(node, p)) continue;
        const auto [rows, cols] = MatrixShape(p.tensor.shape());
        const std::vector<Scalar> blinds = TensorBlinds(seed, static_cast<int>(s), n, p.name, rows);
        CommittedTensor t;
        t.node = static_cast<uint32_t>(n);
        t.param = p.name;
        t.dtype = p.tensor.dtype();
        t.shape = p.tensor.shape();
        if (t.dtype == DType::kInt8) {
          VEIL_ASSIGN_OR_RETURN(t.commitment,
                                HyraxCommitInt8(key, p.tensor.i8(), rows, cols, blinds, pool));
        } else {
          VEIL_ASSIGN_OR_RETURN(t.commitment,
                                HyraxCommitInt32(key, p.tensor.i32(), rows, cols, blinds, pool));
        }
        seg.tensors.push_back(std::move(t));
        done += p.tensor.size();
        if (progress) progress(done, total);
      }
    }
    out.segments.push_back(std::move(seg));
  }
  VEIL_ASSIGN_OR_RETURN(out.description, DescribePublicModel(graph));
  out.digest = ComputeModelCommitmentDigest(out.segments, out.description);
  return out;
}

std::vector<uint8_t> SerializeModelCommitment(const ModelCommitment& c) {
  std::vector<uint8_t> out(kCommitMagic.begin(), kCommitMagic.end());
  WriteU32(&out, kModelCommitmentVersion);
  WriteU32(&out, c.max_row_length);
  WriteU32(&out, static_cast<uint32_t>(c.segments.size()));
  for (const SegmentCommitment& s : c.segments) WriteSegment(&out, s);
  WriteU64(&out, c.description.size());
  WriteBytes(&out, c.description);
  WriteBytes(&out, c.digest);
  return out;
}

Result<ModelCommitment> ParseModelCommitment(std::span<const uint8_t> bytes) {
  ZkReader in(bytes);
  VEIL_ASSIGN_OR_RETURN(auto magic, in.ReadBytes(8));
  if (!std::equal(magic.begin(), magic.end(), kCommitMagic.begin()))
    return Status::Corrupt("not a veil model commitment (bad magic)");
  VEIL_ASSIGN_OR_RETURN(uint32_t version, in.ReadU32());
  if (version != kModelCommitmentVersion)
    return Status::Corrupt("model commitment version " + std::to_string(version) +
                           " (this veil reads version " + std::to_string(kModelCommitmentVersion) +
                           (version == 1 ? "; re-run veil commit" : "") + ")");
  ModelCommitment c;
  VEIL_ASSIGN_OR_RETURN(c.max_row_length, in.ReadU32());
  if (c.max_row_length == 0 || c.max_row_length > kMaxCommittedRowLength ||
      (c.max_row_length & (c.max_row_length - 1)) != 0)
    return Status::Corrupt("model commitment row length " + std::to_string(c.max_row_length));
  VEIL_ASSIGN_OR_RETURN(uint32_t count, in.ReadU32());
  if (count == 0 || count > kMaxSegments || count > in.remaining() / 48)
    return Status::Corrupt("model commitment with " + std::to_string(count) + " segments");
  for (uint32_t i = 0; i < count; ++i) {
    VEIL_ASSIGN_OR_RETURN(SegmentCommitment s, ReadSegment(&in, c.max_row_length));
    if (s.index != i) return Status::Corrupt("segment " + std::to_string(i) + " out of order");
    if (i > 0 && s.node_begin != c.segments.back().node_end)
      return Status::Corrupt("segments are not contiguous");
    c.segments.push_back(std::move(s));
  }
  VEIL_ASSIGN_OR_RETURN(uint64_t description_length, in.ReadU64());
  if (description_length > in.remaining())
    return Status::Corrupt("model commitment: public description longer than the file");
  VEIL_ASSIGN_OR_RETURN(auto description, in.ReadBytes(description_length));
  c.description.assign(description.begin(), description.end());
  VEIL_ASSIGN_OR_RETURN(c.digest, ReadDigest(&in));
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  if (c.digest != ComputeModelCommitmentDigest(c.segments, c.description))
    return Status::Corrupt("model commitment digest does not match its contents");
  // Reject a description that does not decode or match here, not at first use.
  VEIL_RETURN_IF_ERROR(PublicModel(c).status());
  return c;
}

std::vector<uint8_t> SerializeCommitmentSecret(const CommitmentSeed& seed, const Digest& model) {
  std::vector<uint8_t> out(kSecretMagic.begin(), kSecretMagic.end());
  WriteU32(&out, kModelCommitmentVersion);
  WriteBytes(&out, seed);
  WriteBytes(&out, model);
  return out;
}

Result<CommitmentSeed> ParseCommitmentSecret(std::span<const uint8_t> bytes,
                                             const Digest& expected_model) {
  ZkReader in(bytes);
  VEIL_ASSIGN_OR_RETURN(auto magic, in.ReadBytes(8));
  if (!std::equal(magic.begin(), magic.end(), kSecretMagic.begin()))
    return Status::Corrupt("not a veil commitment secret (bad magic)");
  VEIL_ASSIGN_OR_RETURN(uint32_t version, in.ReadU32());
  if (version != kModelCommitmentVersion)
    return Status::Corrupt("commitment secret version " + std::to_string(version));
  VEIL_ASSIGN_OR_RETURN(auto seed_bytes, in.ReadBytes(32));
  VEIL_ASSIGN_OR_RETURN(Digest model, ReadDigest(&in));
  VEIL_RETURN_IF_ERROR(in.ExpectEnd());
  if (sodium_memcmp(model.data(), expected_model.data(), 32) != 0)
    return Status::InvalidArgument("the commitment secret belongs to another model commitment");
  CommitmentSeed seed;
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  return seed;
}

Status CheckCommitmentMatchesGraph(const ModelCommitment& commitment, const Graph& graph) {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  if (segments.size() != commitment.segments.size())
    return Status::InvalidArgument("the commitment has " +
                                   std::to_string(commitment.segments.size()) +
                                   " segments, the model " + std::to_string(segments.size()));
  for (size_t s = 0; s < segments.size(); ++s) {
    const SegmentCommitment& sc = commitment.segments[s];
    if (sc.node_begin != static_cast<uint32_t>(segments[s].begin) ||
        sc.node_end != static_cast<uint32_t>(segments[s].end) ||
        sc.public_digest != SegmentPublicDigest(graph, segments[s]))
      return Status::InvalidArgument("segment " + std::to_string(s) +
                                     " of the model does not match the commitment");
    size_t k = 0;
    for (int n = segments[s].begin; n < segments[s].end; ++n) {
      const Node& node = graph.nodes[static_cast<size_t>(n)];
      for (const Param& p : node.params) {
        if (!IsCommittedParam(node, p)) continue;
        if (k >= sc.tensors.size() || sc.tensors[k].node != static_cast<uint32_t>(n) ||
            sc.tensors[k].param != p.name || sc.tensors[k].shape != p.tensor.shape() ||
            sc.tensors[k].dtype != p.tensor.dtype())
          return Status::InvalidArgument("segment " + std::to_string(s) + ": param " + p.name +
                                         " of node " + std::to_string(n) +
                                         " is not where the commitment expects it");
        ++k;
      }
    }
    if (k != sc.tensors.size())
      return Status::InvalidArgument("segment " + std::to_string(s) +
                                     " of the commitment lists extra tensors");
  }
  return Status::Ok();
}

}  // namespace veil::zk
