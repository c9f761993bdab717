#include "veil/net/proof_inference.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "veil/model_file.h"
#include "veil/zk/segment_proof.h"
#include "veil/zk/serialize.h"

namespace veil::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kPublishedMagic[8] = {'V', 'E', 'I', 'L', 'P', 'M', 'C', '\0'};
constexpr uint32_t kPublishedVersion = 1;
constexpr const char* kCommitmentStatePrefix = "zkc.";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads a little-endian u32 at *pos, advancing it; false if fewer than 4 bytes are left.
bool GetU32(std::string_view in, size_t* pos, uint32_t* v) {
  if (in.size() - *pos < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i)
    *v |= static_cast<uint32_t>(static_cast<uint8_t>(in[*pos + static_cast<size_t>(i)])) << (8 * i);
  *pos += 4;
  return true;
}

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

std::vector<uint8_t> EncodeCommitment(const zk::HyraxCommitment& c) {
  std::vector<uint8_t> out;
  zk::WriteHyraxCommitment(&out, c);
  return out;
}

Result<zk::HyraxCommitment> DecodeCommitment(std::string_view bytes) {
  zk::ZkReader reader(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  VEIL_ASSIGN_OR_RETURN(zk::HyraxCommitment c, zk::ReadHyraxCommitment(&reader));
  VEIL_RETURN_IF_ERROR(reader.ExpectEnd());
  return c;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string RandomRequestId() {
  uint8_t r[12];
  randombytes_buf(r, sizeof(r));
  static const char* hex = "0123456789abcdef";
  std::string id = "proof-";
  for (uint8_t b : r) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 15]);
  }
  return id;
}

}  // namespace

// ---- Publication ----

std::string EncodePublishedCommitment(const PublishedCommitment& p) {
  std::string out(kPublishedMagic, sizeof(kPublishedMagic));
  PutU32(&out, kPublishedVersion);
  PutU32(&out, static_cast<uint32_t>(p.model_name.size()));
  out += p.model_name;
  out.append(p.model_digest.begin(), p.model_digest.end());
  PutU32(&out, static_cast<uint32_t>(p.commitment_file.size()));
  out.append(p.commitment_file.begin(), p.commitment_file.end());
  return out;
}

Result<PublishedCommitment> DecodePublishedCommitment(std::string_view in) {
  if (in.size() < sizeof(kPublishedMagic) ||
      std::memcmp(in.data(), kPublishedMagic, sizeof(kPublishedMagic)) != 0)
    return Status::Corrupt("published commitment: bad magic");
  size_t pos = sizeof(kPublishedMagic);
  uint32_t version = 0, name_len = 0, file_len = 0;
  if (!GetU32(in, &pos, &version)) return Status::Corrupt("published commitment: truncated");
  if (version != kPublishedVersion)
    return Status::Corrupt("published commitment: unsupported version " + std::to_string(version));
  if (!GetU32(in, &pos, &name_len)) return Status::Corrupt("published commitment: truncated");
  if (name_len > registry::kMaxModelNameChars || in.size() - pos < name_len)
    return Status::Corrupt("published commitment: bad model name length");
  PublishedCommitment p;
  p.model_name = std::string(in.substr(pos, name_len));
  pos += name_len;
  if (!registry::IsValidModelName(p.model_name))
    return Status::Corrupt("published commitment: invalid model name");
  if (in.size() - pos < p.model_digest.size())
    return Status::Corrupt("published commitment: truncated model digest");
  std::memcpy(p.model_digest.data(), in.data() + pos, p.model_digest.size());
  pos += p.model_digest.size();
  if (!GetU32(in, &pos, &file_len)) return Status::Corrupt("published commitment: truncated");
  if (file_len == 0 || file_len > kMaxPublishedCommitmentBytes)
    return Status::Corrupt("published commitment: commitment of " + std::to_string(file_len) +
                           " bytes (1.." + std::to_string(kMaxPublishedCommitmentBytes) + ")");
  if (in.size() - pos != file_len)
    return Status::Corrupt("published commitment: the commitment is " +
                           std::to_string(in.size() - pos) + " bytes, its length field says " +
                           std::to_string(file_len));
  p.commitment_file.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
  return p;
}

Result<std::string> CommitmentStateName(const std::string& model_name) {
  const std::string name = kCommitmentStatePrefix + model_name;
  if (!registry::IsValidModelName(model_name) || !registry::IsValidModelName(name))
    return Status::InvalidArgument("model name '" + model_name +
                                   "' is too long to publish a commitment for");
  return name;
}

Status PublishModelCommitment(registry::Registry& registry, const registry::Identity& owner,
                              const registry::ModelRecord& record,
                              const zk::ModelCommitment& commitment) {
  if (owner.public_key() != record.owner_key)
    return Status::InvalidArgument("only the model's owner publishes its commitment");
  if (commitment.segments.size() != record.segments.size())
    return Status::InvalidArgument(
        "the commitment has " + std::to_string(commitment.segments.size()) +
        " segments, the model record " + std::to_string(record.segments.size()));
  PublishedCommitment p;
  p.model_name = record.name;
  p.model_digest = record.model_digest;
  p.commitment_file = zk::SerializeModelCommitment(commitment);
  if (p.commitment_file.size() > kMaxPublishedCommitmentBytes)
    return Status::Unsupported("the model commitment of " + record.name + " is " +
                               std::to_string(p.commitment_file.size()) +
                               " bytes; a registry record holds at most " +
                               std::to_string(kMaxPublishedCommitmentBytes));
  VEIL_ASSIGN_OR_RETURN(std::string name, CommitmentStateName(record.name));
  return registry.PutState(owner, name, EncodePublishedCommitment(p));
}

Result<zk::ModelCommitment> OpenModelCommitment(std::string_view signed_record,
                                                const registry::ModelRecord& record) {
  auto payload = registry::VerifyStateRecord(signed_record, record.owner_key);
  if (!payload.ok())
    return Status::Corrupt(
        "the commitment record of " + record.name +
        " is not validly signed by the model's owner: " + payload.status().message());
  VEIL_ASSIGN_OR_RETURN(PublishedCommitment p, DecodePublishedCommitment(*payload));
  if (p.model_name != record.name)
    return Status::Corrupt("the commitment record is for model '" + p.model_name + "', not '" +
                           record.name + "'");
  if (p.model_digest != record.model_digest)
    return Status::Corrupt("the commitment record of " + record.name + " is for model digest " +
                           DigestToHex(p.model_digest).substr(0, 16) + ", the model record says " +
                           DigestToHex(record.model_digest).substr(0, 16));
  auto commitment = zk::ParseModelCommitment(p.commitment_file);
  if (!commitment.ok())
    return Status::Corrupt("the published commitment of " + record.name +
                           " does not decode: " + commitment.status().message());
  if (commitment->segments.size() != record.segments.size())
    return Status::Corrupt("the published commitment of " + record.name + " has " +
                           std::to_string(commitment->segments.size()) +
                           " segments, the model record " + std::to_string(record.segments.size()));
  return commitment;
}

Result<zk::ModelCommitment> FetchModelCommitment(registry::Registry& registry,
                                                 const registry::ModelRecord& record,
                                                 std::string* signed_record) {
  VEIL_ASSIGN_OR_RETURN(std::string name, CommitmentStateName(record.name));
  auto bytes = registry.GetSignedState(record.owner_key, name);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound)
      return Status::NotFound("the owner of " + record.name +
                              " published no model commitment (proof mode needs one)");
    return bytes.status();
  }
  VEIL_ASSIGN_OR_RETURN(zk::ModelCommitment c, OpenModelCommitment(*bytes, record));
  if (signed_record != nullptr) *signed_record = std::move(bytes).value();
  return c;
}

// ---- Node side ----

namespace {

Status SpliceSegment(Graph* whole, int segment_index, const Graph& segment_graph) {
  const std::vector<Segment> segments = whole->EffectiveSegments();
  if (segment_index < 0 || static_cast<size_t>(segment_index) >= segments.size())
    return Status::Corrupt("the commitment has no segment " + std::to_string(segment_index));
  const Segment seg = segments[static_cast<size_t>(segment_index)];
  if (segment_graph.nodes.size() != static_cast<size_t>(seg.end - seg.begin))
    return Status::Corrupt("segment " + std::to_string(segment_index) + " has " +
                           std::to_string(segment_graph.nodes.size()) +
                           " nodes here, the commitment's description " +
                           std::to_string(seg.end - seg.begin));
  for (int n = seg.begin; n < seg.end; ++n) {
    Node& dst = whole->nodes[static_cast<size_t>(n)];
    const Node& src = segment_graph.nodes[static_cast<size_t>(n - seg.begin)];
    if (dst.kind != src.kind || dst.params.size() != src.params.size())
      return Status::Corrupt("node " + std::to_string(n) +
                             " differs from the commitment's description");
    for (size_t j = 0; j < dst.params.size(); ++j) {
      if (dst.params[j].name != src.params[j].name ||
          dst.params[j].tensor.dtype() != src.params[j].tensor.dtype() ||
          dst.params[j].tensor.shape() != src.params[j].tensor.shape())
        return Status::Corrupt("param " + src.params[j].name + " of node " + std::to_string(n) +
                               " differs from the commitment's description");
      dst.params[j].tensor = src.params[j].tensor;
    }
  }
  auto& meta = whole->metadata;
  meta.erase(
      std::remove_if(meta.begin(), meta.end(),
                     [](const auto& kv) { return kv.first == "veil.zk.public_description"; }),
      meta.end());
  return Status::Ok();
}

}  // namespace

Result<Graph> ProverGraph(const zk::ModelCommitment& commitment, const Graph& segment_graph,
                          int segment_index, const Digest& segment_digest) {
  VEIL_ASSIGN_OR_RETURN(Graph whole, zk::PublicModel(commitment));
  VEIL_RETURN_IF_ERROR(SpliceSegment(&whole, segment_index, segment_graph));
  if (SegmentDigest(whole, segment_index) != segment_digest)
    return Status::Corrupt("segment " + std::to_string(segment_index) +
                           " of the model commitment's description is not the hosted segment "
                           "(its segment digest differs): the commitment is for another model");
  return whole;
}

// ---- Client ----

struct ProofRunner::Impl {
  Graph graph;
  zk::ModelCommitment commitment;
  Route route;
  ProofOptions options;
  std::unique_ptr<zk::CommitmentKey> key;
  std::unique_ptr<Session> head, tail;
  int count = 0;
  Digest model_digest{};
  std::vector<Digest> segment_digests;
  std::vector<int> head_outputs, tail_inputs;  // value ids, in the extracted graphs' order
  std::map<std::string, std::unique_ptr<NodeClient>> clients;

  Result<NodeClient*> ClientFor(const std::string& address) {
    auto& c = clients[address];
    if (c == nullptr) {
      VEIL_ASSIGN_OR_RETURN(c, NodeClient::Connect(address, options.client));
    }
    return c.get();
  }
  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  Shape Batched(int value, int64_t batch) const {
    Shape s = {batch};
    const Shape& per = graph.values[static_cast<size_t>(value)].shape;
    s.insert(s.end(), per.begin(), per.end());
    return s;
  }
};

ProofRunner::ProofRunner() : impl_(std::make_unique<Impl>()) {}
ProofRunner::~ProofRunner() = default;

Result<std::unique_ptr<ProofRunner>> ProofRunner::Create(const Graph& graph,
                                                         const zk::ModelCommitment& commitment,
                                                         const Route& route, ProofOptions options) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  if (Status s = zk::CheckCommitmentMatchesGraph(commitment, graph); !s.ok())
    return Status::FailedPrecondition("the model does not match the published commitment: " +
                                      s.message());
  const std::vector<Segment> segments = graph.EffectiveSegments();
  const int count = static_cast<int>(segments.size());
  if (count < 3)
    return Status::InvalidArgument("proof mode needs a model split into at least 3 segments");
  std::unique_ptr<ProofRunner> runner(new ProofRunner());
  Impl& impl = *runner->impl_;
  for (int s = 1; s <= count - 2; ++s) {
    if (Status p = zk::CheckSegmentProvable(graph, s); !p.ok())
      return Status(p.code(), "proof mode: segment " + std::to_string(s) +
                                  " cannot be proven: " + p.message());
  }
  // Every value a middle segment reads must come from an earlier segment (the client's first
  // one, or a proven one), never straight from the caller.
  std::set<int> produced;
  for (int v : graph.SegmentOutputs(segments[0])) produced.insert(v);
  for (int s = 1; s <= count - 2; ++s) {
    for (int v : graph.SegmentInputs(segments[static_cast<size_t>(s)]))
      if (!produced.count(v))
        return Status::Unsupported("proof mode: segment " + std::to_string(s) + " reads value '" +
                                   graph.values[static_cast<size_t>(v)].name +
                                   "', which no earlier segment produces");
    for (int v : graph.SegmentOutputs(segments[static_cast<size_t>(s)])) produced.insert(v);
    auto it = route.find(s);
    if (it == route.end() || it->second.empty())
      return Status::InvalidArgument("no node serves segment " + std::to_string(s));
  }
  impl.graph = graph;
  impl.commitment = commitment;
  impl.route = route;
  impl.options = std::move(options);
  impl.count = count;
  impl.model_digest = ModelDigest(graph);
  for (int s = 0; s < count; ++s) impl.segment_digests.push_back(SegmentDigest(graph, s));
  impl.key = std::make_unique<zk::CommitmentKey>(zk::SegmentProofKey(graph, commitment));
  impl.head_outputs = graph.SegmentOutputs(segments[0]);
  impl.tail_inputs = graph.SegmentInputs(segments[static_cast<size_t>(count - 1)]);
  VEIL_ASSIGN_OR_RETURN(Graph head, ExtractSegment(graph, 0));
  VEIL_ASSIGN_OR_RETURN(Graph tail, ExtractSegment(graph, count - 1));
  if (head.outputs.size() != impl.head_outputs.size() ||
      tail.inputs.size() != impl.tail_inputs.size())
    return Status::Internal("extracted segments disagree with the graph's segment values");
  VEIL_ASSIGN_OR_RETURN(impl.head, Session::Create(head, impl.options.session));
  VEIL_ASSIGN_OR_RETURN(impl.tail, Session::Create(tail, impl.options.session));
  return runner;
}

Result<ProofRunResult> ProofRunner::Run(const std::vector<Tensor>& inputs) {
  Impl& impl = *impl_;
  if (inputs.empty() || inputs[0].rank() < 1 || inputs[0].dim(0) < 1 ||
      inputs[0].dim(0) > kMaxProofBatch)
    return Status::InvalidArgument("proof mode takes a batch of 1.." +
                                   std::to_string(kMaxProofBatch) + " inputs per request");
  const int64_t batch = inputs[0].dim(0);
  ProofRunResult result;
  result.request_id = RandomRequestId();
  const std::vector<Segment> segments = impl.graph.EffectiveSegments();

  // Plain values the client holds (its first segment's outputs, then verified openings) and
  // committed ones (value id -> opening).
  std::map<int, Tensor> plain;
  std::map<int, zk::ActivationOpening> committed;
  std::set<int> proven;  // values a proof of this request produced
  VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> head_out, impl.head->Run(inputs));
  if (head_out.size() != impl.head_outputs.size())
    return Status::Internal("segment 0 returned an unexpected number of values");
  for (size_t i = 0; i < head_out.size(); ++i) plain[impl.head_outputs[i]] = std::move(head_out[i]);

  consensus::ReceiptProofs section;
  section.model_commitment = impl.commitment.digest;
  section.first_segment = 1;
  auto encode = [](const zk::HyraxCommitment& c) {
    const std::vector<uint8_t> b = EncodeCommitment(c);
    return std::string(b.begin(), b.end());
  };

  for (int s = 1; s <= impl.count - 2; ++s) {
    const std::string seg = "segment " + std::to_string(s);
    const std::vector<int> in_ids = impl.graph.SegmentInputs(segments[static_cast<size_t>(s)]);
    const std::vector<int> out_ids = impl.graph.SegmentOutputs(segments[static_cast<size_t>(s)]);
    std::vector<zk::ActivationOpening> sent;
    for (int v : in_ids) {
      auto it = committed.find(v);
      if (it == committed.end()) {
        // A value of the client's first segment: committed now, with fresh blinds.
        auto p = plain.find(v);
        if (p == plain.end()) return Status::Internal(seg + " reads a value the client lacks");
        VEIL_ASSIGN_OR_RETURN(zk::ActivationOpening o, zk::CommitActivation(*impl.key, p->second));
        o.value = v;
        section.input_commitments.push_back(encode(o.commitment));
        it = committed.emplace(v, std::move(o)).first;
      }
      sent.push_back(it->second);
    }
    ProveCall call;
    call.request_id = result.request_id;
    call.model_digest = impl.model_digest;
    call.segment_index = s;
    call.segment_digest = impl.segment_digests[static_cast<size_t>(s)];
    call.model_commitment = impl.commitment.digest;
    call.input_opening = zk::SerializeActivationOpenings(sent);
    std::string served_by;
    ProveReply reply;
    std::string failures;
    bool answered = false;
    double call_ms = 0;
    for (const std::string& address : impl.route[s]) {
      auto client = impl.ClientFor(address);
      if (!client.ok()) {
        failures += (failures.empty() ? "" : "; ") + client.status().message();
        continue;
      }
      const auto start = Clock::now();
      auto r = (*client)->Prove(call);
      if (!r.ok()) {
        // A node that does not answer (down, no seed, busy) is replaced by the next candidate;
        // a node that answers with a bad proof is not (below).
        impl.Log(seg + ": node " + address + " produced no proof: " + r.status().message());
        failures += (failures.empty() ? "" : "; ") + r.status().message();
        continue;
      }
      call_ms = Ms(start);
      reply = std::move(r).value();
      served_by = address;
      answered = true;
      break;
    }
    if (!answered)
      return Status::Unavailable(seg + ": no node produced a proof (" + failures + ")");

    // Verify before anything of this reply is used.
    const auto verify_start = Clock::now();
    const std::string from = seg + ": the proof from node " + served_by;
    auto proof = zk::ParseSegmentProof(reply.proof, impl.graph);
    if (!proof.ok()) return Status::Corrupt(from + " does not decode: " + proof.status().message());
    if (proof->segment != static_cast<uint32_t>(s))
      return Status::Corrupt(from + " is for segment " + std::to_string(proof->segment));
    if (proof->batch != static_cast<uint32_t>(batch))
      return Status::Corrupt(from + " is for a batch of " + std::to_string(proof->batch));
    if (proof->inputs.size() != sent.size())
      return Status::Corrupt(from + " has " + std::to_string(proof->inputs.size()) + " inputs");
    for (size_t i = 0; i < sent.size(); ++i)
      if (!(proof->inputs[i] == sent[i].commitment))
        return Status::Corrupt(from + " is for another input commitment than the one sent (input " +
                               std::to_string(i) + ")");
    if (Status v = zk::VerifySegment(impl.graph, impl.commitment, *proof); !v.ok())
      return Status::Corrupt(from + " does not verify: " + v.message());
    const std::string bad_opening = seg + ": the output openings from node " + served_by;
    auto next = zk::ParseActivationOpenings(reply.output_opening, *impl.key);
    if (!next.ok())
      return Status::Corrupt(bad_opening + " are invalid: " + next.status().message());
    if (next->size() != out_ids.size() || proof->outputs.size() != out_ids.size())
      return Status::Corrupt(bad_opening + " do not match the segment's " +
                             std::to_string(out_ids.size()) + " outputs");
    for (size_t i = 0; i < out_ids.size(); ++i) {
      zk::ActivationOpening& o = (*next)[i];
      const Shape expected = impl.Batched(out_ids[i], batch);
      if (o.value != out_ids[i] || !(o.commitment == proof->outputs[i]) ||
          o.values.dtype() != DType::kInt8 ||
          static_cast<int64_t>(o.values.size()) != NumElements(expected))
        return Status::Corrupt(bad_opening + ": output " + std::to_string(i) +
                               " is not the opening of the proof's output commitment for '" +
                               impl.graph.values[static_cast<size_t>(out_ids[i])].name + "'");
      o.values.Reshape(expected);
    }
    const double verify_ms = Ms(verify_start);
    result.stages.push_back({s, served_by, reply.proof.size(), call_ms, verify_ms});
    section.segment_proofs.emplace_back(reply.proof.begin(), reply.proof.end());
    for (size_t i = 0; i < out_ids.size(); ++i) {
      plain[out_ids[i]] = (*next)[i].values;
      committed[out_ids[i]] = std::move((*next)[i]);
      proven.insert(out_ids[i]);
    }
  }
  std::vector<Tensor> tail_in;
  for (int v : impl.tail_inputs) {
    auto p = plain.find(v);
    if (p == plain.end())
      return Status::Internal("the last segment reads a value the client lacks");
    tail_in.push_back(p->second);
    if (proven.count(v)) section.output_commitments.push_back(encode(committed.at(v).commitment));
  }
  if (section.output_commitments.empty())
    return Status::Unsupported("the last segment reads no proven value");
  VEIL_ASSIGN_OR_RETURN(result.outputs, impl.tail->Run(tail_in));

  consensus::Receipt receipt;
  receipt.version = consensus::kProofReceiptVersion;
  receipt.model_digest = impl.model_digest;
  receipt.request_id = result.request_id;
  receipt.proofs = std::move(section);
  VEIL_ASSIGN_OR_RETURN(result.receipt_bytes, consensus::EncodeReceipt(receipt));
  return result;
}

// ---- Receipts ----

Result<consensus::ReceiptReport> VerifyProofReceipt(std::string_view bytes,
                                                    const zk::ModelCommitment& commitment,
                                                    const Digest& model_digest) {
  VEIL_ASSIGN_OR_RETURN(consensus::Receipt r, consensus::DecodeReceipt(bytes));
  if (!r.is_proof())
    return Status::InvalidArgument("not a proof receipt (mode " +
                                   std::string(consensus::ReceiptModeName(r)) + ")");
  const consensus::ReceiptProofs& p = *r.proofs;
  if (r.model_digest != model_digest)
    return Status::Corrupt("the receipt is for model " + DigestToHex(r.model_digest) +
                           ", the commitment was published for model " + DigestToHex(model_digest));
  if (p.model_commitment != commitment.digest)
    return Status::Corrupt("the receipt names model commitment " + DigestToHex(p.model_commitment) +
                           ", the owner published " + DigestToHex(commitment.digest));
  VEIL_ASSIGN_OR_RETURN(Graph graph, zk::PublicModel(commitment));
  std::vector<zk::SegmentProof> proofs;
  for (size_t i = 0; i < p.segment_proofs.size(); ++i) {
    auto proof = zk::ParseSegmentProof(AsBytes(p.segment_proofs[i]), graph);
    if (!proof.ok())
      return Status::Corrupt("proof " + std::to_string(i) + " (segment " +
                             std::to_string(p.first_segment + i) +
                             ") does not decode: " + proof.status().message());
    proofs.push_back(std::move(proof).value());
  }
  if (proofs.front().segment != p.first_segment)
    return Status::Corrupt("the first proof is for segment " +
                           std::to_string(proofs.front().segment) + ", the receipt says " +
                           std::to_string(p.first_segment));
  if (Status s = zk::VerifyChain(graph, commitment, proofs); !s.ok())
    return Status::Corrupt("proof chain rejected: " + s.message());
  // The commitments the receipt names: the chain's external inputs (values no proof here
  // produced, in order of first use) and the outputs the segments after it read.
  const std::vector<Segment> segments = graph.EffectiveSegments();
  std::vector<const zk::HyraxCommitment*> want_in, want_out;
  std::map<int, const zk::HyraxCommitment*> produced;
  std::set<int> external;
  for (const zk::SegmentProof& proof : proofs) {
    const Segment& seg = segments[proof.segment];
    const std::vector<int> in_ids = graph.SegmentInputs(seg), out_ids = graph.SegmentOutputs(seg);
    if (in_ids.size() != proof.inputs.size() || out_ids.size() != proof.outputs.size())
      return Status::Corrupt("segment " + std::to_string(proof.segment) +
                             ": the proof's inputs or outputs do not match the segment");
    for (size_t i = 0; i < in_ids.size(); ++i)
      if (!produced.count(in_ids[i]) && external.insert(in_ids[i]).second)
        want_in.push_back(&proof.inputs[i]);
    for (size_t i = 0; i < out_ids.size(); ++i) produced[out_ids[i]] = &proof.outputs[i];
  }
  std::set<int> read_later;
  for (size_t s = proofs.back().segment + 1; s < segments.size(); ++s)
    for (int v : graph.SegmentInputs(segments[s]))
      if (produced.count(v) && read_later.insert(v).second) want_out.push_back(produced.at(v));
  auto compare = [](const std::vector<std::string>& got,
                    const std::vector<const zk::HyraxCommitment*>& want,
                    const std::string& what) -> Status {
    if (got.size() != want.size())
      return Status::Corrupt(what + ": the receipt lists " + std::to_string(got.size()) +
                             ", the proofs have " + std::to_string(want.size()));
    for (size_t i = 0; i < got.size(); ++i) {
      auto c = DecodeCommitment(got[i]);
      if (!c.ok())
        return Status::Corrupt(what + " " + std::to_string(i) +
                               " does not decode: " + c.status().message());
      if (!(*c == *want[i]))
        return Status::Corrupt(what + " " + std::to_string(i) + " is not the proofs' commitment");
    }
    return Status::Ok();
  };
  VEIL_RETURN_IF_ERROR(compare(p.input_commitments, want_in, "input commitment"));
  VEIL_RETURN_IF_ERROR(compare(p.output_commitments, want_out, "output commitment"));

  const uint32_t first = proofs.front().segment, last = proofs.back().segment;
  const size_t count = commitment.segments.size();
  consensus::ReceiptReport report;
  report.proves.push_back("model " + DigestToHex(r.model_digest) + ", request " + r.request_id +
                          ", mode proof, under model commitment " + DigestToHex(commitment.digest) +
                          " (published by the model's owner)");
  report.proves.push_back(
      "segments " + std::to_string(first) + ".." + std::to_string(last) + " of " +
      std::to_string(count) +
      " were computed exactly (docs/arithmetic.md) under the owner's "
      "committed weights, from the committed input(s) to the committed output(s), batch " +
      std::to_string(proofs.front().batch) + " (zero-knowledge proofs; whoever computed them)");
  for (const zk::SegmentProof& proof : proofs)
    report.proves.push_back("segment " + std::to_string(proof.segment) + ": " +
                            std::to_string(proof.layers.size()) +
                            " proven layer(s); every input commitment produced by an earlier "
                            "proof here is that proof's output commitment");
  report.does_not_prove = {
      "anything about segments the client ran itself (segment 0 and segment " +
          std::to_string(count - 1) +
          "): the committed inputs are whatever the client's first "
          "segment produced, and the last segment ran on the opened outputs, unproven",
      "what the input or output activations are (only their hiding commitments are in the "
      "receipt; the client holds the openings)",
      "privacy of the activations from the hosting nodes: each node sees the openings of its "
      "segment's inputs and outputs, as in split mode",
      "which node computed each segment, or when (proofs are not signed and carry no "
      "timestamp); only that the computation is correct",
      "that the published commitment is to weights of any particular quality: only that "
      "these segments used the weights the owner committed to"};
  if (first != 1 || last + 2 != count)
    report.does_not_prove.push_back("the middle segments outside " + std::to_string(first) + ".." +
                                    std::to_string(last) + " (not in this receipt)");
  report.receipt = std::move(r);
  return report;
}

}  // namespace veil::net
