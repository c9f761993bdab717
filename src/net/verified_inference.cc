#include "veil/net/verified_inference.h"

#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "credentials.h"
#include "veil/model_file.h"
#include "veil/v1/node.grpc.pb.h"
#include "wire.h"

namespace veil::net {
namespace {

using consensus::MemberFault;
using registry::PublicKey;

std::string Short(const PublicKey& key) { return registry::NodeIdOf(key).substr(0, 12); }

bool Contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The per-layer digest RunTrace records (executor.cc): SHA-256 of the output's TensorDigest.
Digest LayerDigest(const Tensor& t) { return Sha256(TensorDigest(t)); }

std::string RandomRequestId() {
  uint8_t bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {  // OpenSSL's CSPRNG failed: use the OS's
    std::random_device rd;
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rd());
  }
  std::string id = "v";
  static const char* kHex = "0123456789abcdef";
  for (uint8_t b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

// One member's answer in a round.
struct MemberReply {
  PublicKey key{};
  bool committed = false;
  consensus::SignedCommitment commitment;
  bool revealed = false;
  consensus::SignedCommitment reveal_commitment;  // the commitment the reveal claims to open
  consensus::Reveal reveal;
  std::vector<Tensor> outputs;
  std::vector<Digest> trace;
  std::string error;  // why it has no (usable) commitment or reveal
};

}  // namespace

Digest EpochPublicSeed(const Digest& model_digest, int64_t unix_seconds) {
  Sha256Hasher h;
  static constexpr char kTag[] = "veil/consensus/v1/epoch-seed";
  h.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kTag), sizeof kTag));
  h.Update(model_digest);
  h.UpdateU64(static_cast<uint64_t>(unix_seconds / 3600));
  return h.Finish();
}

struct VerifiedRunner::Impl {
  Graph graph;
  VerifiedOptions options;
  consensus::ReputationBook* book = nullptr;
  int count = 0;
  Digest model_digest{};
  std::vector<Digest> segment_digests;
  std::vector<Segment> segments;
  std::unique_ptr<Session> whole;  // the client's own segments run on the whole graph
  std::vector<std::unique_ptr<Session>> segment_sessions;  // lazily: trial tasks, referee
  std::mutex run_mutex;
  std::mutex nodes_mutex;
  std::vector<CandidateNode> nodes;
  std::mutex stubs_mutex;
  std::map<std::string, std::unique_ptr<v1::Node::Stub>> stubs;

  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  v1::Node::Stub* StubFor(const std::string& address) {
    std::lock_guard<std::mutex> lock(stubs_mutex);
    auto& stub = stubs[address];
    if (stub == nullptr) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(static_cast<int>(options.client.max_message_bytes));
      args.SetMaxSendMessageSize(static_cast<int>(options.client.max_message_bytes));
      ApplyChannelArguments(options.client.security, &args);
      stub = v1::Node::NewStub(grpc::CreateCustomChannel(
          address, MakeChannelCredentials(options.client.security), args));
    }
    return stub.get();
  }

  static void SetDeadline(grpc::ClientContext* context, int64_t ms) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  }

  Result<Session*> SegmentSession(int s) {
    auto& session = segment_sessions[static_cast<size_t>(s)];
    if (session == nullptr) {
      VEIL_ASSIGN_OR_RETURN(Graph g, ExtractSegment(graph, s));
      VEIL_ASSIGN_OR_RETURN(session, Session::Create(g, options.session));
    }
    return session.get();
  }

  std::string AddressOf(const PublicKey& key) {
    std::lock_guard<std::mutex> lock(nodes_mutex);
    for (const CandidateNode& n : nodes)
      if (n.key == key) return n.address;
    return "";
  }

  std::vector<PublicKey> Hosting(int s) {
    std::lock_guard<std::mutex> lock(nodes_mutex);
    std::vector<PublicKey> keys;
    for (const CandidateNode& n : nodes)
      if (Contains(n.segments, s)) keys.push_back(n.key);
    return keys;
  }

  void EncodeRun(const std::string& request_id, int s, const std::vector<Tensor>& inputs,
                 v1::RunSegmentRequest* run) const {
    run->set_request_id(request_id);
    run->set_model_digest(DigestToBytes(model_digest));
    run->set_segment_index(static_cast<uint32_t>(s));
    run->set_segment_digest(DigestToBytes(segment_digests[static_cast<size_t>(s)]));
    for (const Tensor& t : inputs) EncodeTensor(t, run->add_inputs());
  }

  // Trial tasks: a node in trial runs the segment on inputs whose result the client computes
  // itself; `trial_passes` consecutive matches make it active. Inputs are random activations
  // of the segment's input shapes (so a trial answer cannot be replayed from another task).
  void Qualify(int s, const std::vector<Tensor>& like, const std::string& request_id,
               SegmentVerdict* verdict) {
    std::vector<PublicKey> trial = book->InTrial(Hosting(s));
    if (trial.empty()) return;
    auto session = SegmentSession(s);
    if (!session.ok()) return;
    std::mt19937_64 rng(std::random_device{}());
    int task = 0;
    for (const PublicKey& key : trial) {
      const std::string address = AddressOf(key);
      while (book->Find(key) != nullptr &&
             book->Find(key)->standing == consensus::Standing::kTrial) {
        std::vector<Tensor> inputs;
        for (const Tensor& t : like) {
          Tensor r(t.dtype(), t.shape());
          if (t.dtype() == DType::kInt8)
            for (int8_t& v : r.i8()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
          else
            r = t;  // non-activation inputs (ids, positions): the request's own
          inputs.push_back(std::move(r));
        }
        auto expected = (*session)->Run(inputs);
        if (!expected.ok()) return;
        v1::RunSegmentRequest request;
        EncodeRun(request_id + ".t" + std::to_string(task++), s, inputs, &request);
        grpc::ClientContext context;
        SetDeadline(&context, options.client.deadline_ms);
        v1::RunSegmentReply reply;
        grpc::Status status = StubFor(address)->RunSegment(&context, request, &reply);
        bool matched = false;
        if (status.ok() && reply.outputs_size() == static_cast<int>(expected->size())) {
          matched = true;
          int64_t budget = options.client.max_message_bytes;
          for (int i = 0; i < reply.outputs_size() && matched; ++i) {
            auto t = DecodeTensor(reply.outputs(i), &budget, "trial output");
            matched =
                t.ok() && TensorDigest(*t) == TensorDigest((*expected)[static_cast<size_t>(i)]);
          }
        }
        (void)book->RecordTrial(key, matched);
        Log("event=trial node=" + Short(key) + " segment=" + std::to_string(s) +
            " matched=" + (matched ? "yes" : "no"));
        if (!matched) break;  // stays in trial; not eligible for this request
        if (book->Find(key)->standing == consensus::Standing::kActive)
          verdict->trial_passed.push_back(key);
      }
    }
  }

  // Checks a member's reveal against its own digests: outputs named by output_digest, the
  // trace by trace_root, and each output equal to the trace's digest of the layer that
  // produced it. A reveal failing this is not used (its member opens nothing).
  Status CheckReveal(int s, const MemberReply& m) {
    if (consensus::TensorListDigest(m.outputs) != m.reveal.output_digest)
      return Status::Corrupt("revealed outputs do not match the revealed output digest");
    if (consensus::TraceRoot(m.trace) != m.reveal.trace_root)
      return Status::Corrupt("revealed per-layer digests do not match the revealed trace root");
    auto session = SegmentSession(s);
    if (!session.ok()) return session.status();
    const Graph& g = (*session)->graph();
    if (m.trace.size() != g.nodes.size())
      return Status::Corrupt("revealed " + std::to_string(m.trace.size()) +
                             " layer digests for a segment of " + std::to_string(g.nodes.size()) +
                             " layers");
    if (m.outputs.size() != g.outputs.size())
      return Status::Corrupt("revealed " + std::to_string(m.outputs.size()) +
                             " outputs, the segment has " + std::to_string(g.outputs.size()));
    for (size_t o = 0; o < g.outputs.size(); ++o)
      for (size_t n = g.nodes.size(); n-- > 0;)
        if (g.nodes[n].outputs[0] == g.outputs[o]) {
          if (LayerDigest(m.outputs[o]) != m.trace[n])
            return Status::Corrupt("revealed output " + std::to_string(o) +
                                   " differs from the member's own digest of layer " +
                                   std::to_string(n));
          break;
        }
    return Status::Ok();
  }

  // The referee: recomputes the first diverging layer between members a and b from inputs
  // fetched from one of them and checked against the digests both agree on.
  Result<RefereeCheck> Referee(int s, const Digest& round, const std::vector<Tensor>& inputs,
                               const MemberReply& a, const MemberReply& b, size_t layer,
                               size_t comparisons) {
    VEIL_ASSIGN_OR_RETURN(Session * session, SegmentSession(s));
    const Graph& g = session->graph();
    RefereeCheck check;
    check.layer = layer;
    check.comparisons = comparisons;
    check.layers = g.nodes.size();
    check.member_a = a.key;
    check.member_b = b.key;
    const Node& node = g.nodes[layer];
    Status last = Status::Unavailable("no member supplied the layer's inputs");
    for (const MemberReply* from : {&a, &b}) {
      v1::LayerInputsRequest request;
      request.set_round_digest(DigestToBytes(round));
      request.set_layer(static_cast<uint32_t>(layer));
      grpc::ClientContext context;
      SetDeadline(&context, options.client.deadline_ms);
      v1::LayerInputsReply reply;
      grpc::Status st = StubFor(AddressOf(from->key))->LayerInputs(&context, request, &reply);
      if (!st.ok()) {
        last = Status::Unavailable(Short(from->key) + ": " + st.error_message());
        continue;
      }
      if (reply.produced_size() != static_cast<int>(node.inputs.size())) {
        last = Status::Corrupt(Short(from->key) + " sent the wrong number of layer inputs");
        continue;
      }
      std::vector<Tensor> values;
      int64_t budget = options.client.max_message_bytes;
      Status ok = Status::Ok();
      for (size_t i = 0; i < node.inputs.size() && ok.ok(); ++i) {
        const v1::ProducedTensors& p = reply.produced(static_cast<int>(i));
        if (p.tensors_size() != 1) {
          ok = Status::Corrupt("layer input " + std::to_string(i) + ": expected one tensor");
          break;
        }
        auto t = DecodeTensor(p.tensors(0), &budget, "layer input");
        if (!t.ok()) {
          ok = t.status();
          break;
        }
        // Check against what both members agree on: the segment inputs (the client sent
        // them) or the digest of the producing layer, which precedes the divergence.
        const int v = node.inputs[i];
        const auto gi = std::find(g.inputs.begin(), g.inputs.end(), v);
        if (gi != g.inputs.end()) {
          if (TensorDigest(*t) != TensorDigest(inputs[static_cast<size_t>(gi - g.inputs.begin())]))
            ok = Status::Corrupt("layer input " + std::to_string(i) + " is not the segment input");
        } else {
          int producer = -1;
          for (size_t n = 0; n < layer; ++n)
            if (g.nodes[n].outputs[0] == v) producer = static_cast<int>(n);
          if (producer < 0 || p.layer() != producer ||
              LayerDigest(*t) != a.trace[static_cast<size_t>(producer)])
            ok = Status::Corrupt("layer input " + std::to_string(i) +
                                 " does not match the agreed digest of its producing layer");
        }
        values.push_back(std::move(t).value());
      }
      if (!ok.ok()) {
        last = Status::Corrupt(Short(from->key) + ": " + ok.message());
        continue;
      }
      RunTrace trace;
      VEIL_RETURN_IF_ERROR(session->RunLayer(static_cast<int>(layer), values, &trace).status());
      const Digest expected = trace.node_digests.at(0);
      check.a_matches = a.trace[layer] == expected;
      check.b_matches = b.trace[layer] == expected;
      return check;
    }
    return last;
  }

  // The round parameters of segment s's attempt (0 = first round; later ones grow the
  // committee, or force the audit), drawing from active hosts not yet found faulty.
  Result<consensus::RoundParams> MakeParams(int s, int attempt, const std::set<PublicKey>& excluded,
                                            const std::string& request_id,
                                            const std::vector<std::string>& evidence) {
    std::vector<PublicKey> hosting;
    for (const PublicKey& k : Hosting(s))
      if (excluded.count(k) == 0) hosting.push_back(k);
    consensus::RoundParams params;
    params.model_digest = model_digest;
    params.request_id = request_id;
    params.public_seed = options.public_seed;
    params.mode = options.mode;
    params.segment_index = static_cast<uint32_t>(s);
    params.segment_digest = segment_digests[static_cast<size_t>(s)];
    params.eligible = book->Eligible(hosting);
    const std::string tail = evidence.empty() ? "" : "; evidence: " + evidence.back();
    if (options.mode == consensus::Mode::kConsensus) {
      const uint32_t want =
          options.committee_size + static_cast<uint32_t>(attempt) * options.escalation_growth;
      params.committee_size =
          std::min<uint32_t>(want, static_cast<uint32_t>(params.eligible.size()));
      if (params.committee_size < options.committee_size)
        return Status::Unavailable("segment " + std::to_string(s) + ": " +
                                   std::to_string(params.eligible.size()) +
                                   " eligible active node(s), a committee needs " +
                                   std::to_string(options.committee_size) + tail);
      params.quorum =
          attempt == 0 ? options.quorum : consensus::DefaultQuorum(params.committee_size);
    } else {
      // Audit: an escalated round is always re-checked.
      params.committee_size = 1;
      params.quorum = 1;
      params.audit_per_million =
          attempt == 0 ? options.audit_per_million : consensus::kAuditProbabilityScale;
      const size_t need = params.audit_per_million > 0 ? 2 : 1;
      if (params.eligible.size() < need)
        return Status::Unavailable(
            "segment " + std::to_string(s) + ": " + std::to_string(params.eligible.size()) +
            " eligible active node(s), audit mode needs " + std::to_string(need) + tail);
    }
    VEIL_RETURN_IF_ERROR(consensus::ValidateRoundParams(params));
    return params;
  }

  // Asks the round's designated selector for its VRF proof and re-draws the committee.
  Result<consensus::Selection> Select(const consensus::RoundParams& params) {
    const PublicKey selector = consensus::DesignatedSelector(params);
    v1::SelectCommitteeRequest select;
    EncodeRoundParams(params, select.mutable_round());
    v1::SelectCommitteeReply selected;
    grpc::ClientContext context;
    SetDeadline(&context, options.client.deadline_ms);
    grpc::Status st = StubFor(AddressOf(selector))->SelectCommittee(&context, select, &selected);
    if (!st.ok())
      return Status::Unavailable("selector did not prove the committee: " + st.error_message());
    consensus::VrfProof proof{};
    if (!FixedFromBytes(selected.proof(), &proof))
      return Status::Corrupt("selector sent a malformed proof");
    auto selection = consensus::CheckCommittee(params, selector, proof);
    if (!selection.ok())
      return Status::Corrupt("invalid committee proof: " + selection.status().message());
    return selection;
  }

  Result<std::vector<Tensor>> RunRemoteSegment(int s, const std::vector<Tensor>& inputs,
                                               const std::string& request_id,
                                               VerifiedResult* result);
};

VerifiedRunner::VerifiedRunner() : impl_(std::make_unique<Impl>()) {}
VerifiedRunner::~VerifiedRunner() = default;

Result<std::unique_ptr<VerifiedRunner>> VerifiedRunner::Create(const Graph& graph,
                                                               std::vector<CandidateNode> nodes,
                                                               VerifiedOptions options,
                                                               consensus::ReputationBook* book) {
  if (book == nullptr) return Status::InvalidArgument("a reputation book is required");
  VEIL_RETURN_IF_ERROR(consensus::ValidateReputationPolicy(options.reputation));
  if (options.committee_size < 1 || options.committee_size > consensus::kMaxCommitteeSize)
    return Status::InvalidArgument("committee size must be 1.." +
                                   std::to_string(consensus::kMaxCommitteeSize));
  if (options.quorum == 0) options.quorum = consensus::DefaultQuorum(options.committee_size);
  if (options.quorum > options.committee_size || 2 * options.quorum <= options.committee_size)
    return Status::InvalidArgument("quorum must be a strict majority of the committee, at most r");
  if (options.audit_per_million > consensus::kAuditProbabilityScale)
    return Status::InvalidArgument("audit probability must be 0..1000000 per million");
  if (options.max_escalations < 0 || options.max_escalations > 8)
    return Status::InvalidArgument("max escalations must be 0..8");
  if (options.commit_deadline_ms < 1 || options.reveal_deadline_ms < 1)
    return Status::InvalidArgument("deadlines must be positive");
  std::unique_ptr<VerifiedRunner> runner(new VerifiedRunner());
  Impl& impl = *runner->impl_;
  impl.graph = graph;
  impl.options = std::move(options);
  impl.book = book;
  impl.segments = graph.EffectiveSegments();
  impl.count = static_cast<int>(impl.segments.size());
  if (impl.count < 3)
    return Status::InvalidArgument(
        "verified inference keeps the first and last segments local and needs at least 3; the "
        "model has " +
        std::to_string(impl.count));
  impl.model_digest = ModelDigest(graph);
  if (impl.options.public_seed == Digest{})
    impl.options.public_seed =
        EpochPublicSeed(impl.model_digest, std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  for (int s = 0; s < impl.count; ++s) impl.segment_digests.push_back(SegmentDigest(graph, s));
  for (int s = 1; s <= impl.count - 2; ++s) {
    for (int v : graph.SegmentInputs(impl.segments[static_cast<size_t>(s)]))
      if (Contains(graph.inputs, v))
        return Status::Unsupported("segment " + std::to_string(s) + " reads a graph input");
    for (int v : graph.SegmentOutputs(impl.segments[static_cast<size_t>(s)]))
      if (Contains(graph.outputs, v))
        return Status::Unsupported("segment " + std::to_string(s) + " produces a graph output");
  }
  impl.segment_sessions.resize(static_cast<size_t>(impl.count));
  VEIL_ASSIGN_OR_RETURN(impl.whole, Session::Create(graph, impl.options.session));
  runner->UpdateNodes(std::move(nodes));
  return runner;
}

void VerifiedRunner::UpdateNodes(std::vector<CandidateNode> nodes) {
  for (const CandidateNode& n : nodes) impl_->book->AddNode(n.key);
  std::lock_guard<std::mutex> lock(impl_->nodes_mutex);
  impl_->nodes = std::move(nodes);
}

Result<std::vector<Tensor>> VerifiedRunner::Impl::RunRemoteSegment(
    int s, const std::vector<Tensor>& inputs, const std::string& request_id,
    VerifiedResult* result) {
  SegmentVerdict verdict;
  verdict.segment_index = s;
  Qualify(s, inputs, request_id, &verdict);
  std::set<PublicKey> excluded;  // found faulty during this request
  std::vector<std::string> evidence;
  for (int attempt = 0; attempt <= options.max_escalations; ++attempt) {
    verdict.rounds = attempt + 1;
    using Clock = std::chrono::steady_clock;
    const auto ms_since = [](Clock::time_point t) {
      return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    };
    auto phase = Clock::now();
    VEIL_ASSIGN_OR_RETURN(consensus::RoundParams params,
                          MakeParams(s, attempt, excluded, request_id, evidence));
    Result<consensus::Selection> selection = Select(params);
    const Digest round = consensus::RoundDigest(params);
    if (!selection.ok()) {
      // An unreachable or lying selector is excluded and the round redrawn.
      const PublicKey selector = consensus::DesignatedSelector(params);
      verdict.faults.push_back({selector, selection.status().message()});
      excluded.insert(selector);
      evidence.push_back("selector " + Short(selector) + ": " + selection.status().message());
      continue;
    }

    verdict.select_ms = ms_since(phase);
    phase = Clock::now();
    // 2. Commit phase: every member runs the segment and commits, in parallel.
    std::vector<MemberReply> members(selection->committee.size());
    v1::CommitRequest commit;
    EncodeRun(request_id, s, inputs, commit.mutable_run());
    commit.set_round_digest(DigestToBytes(round));
    commit.set_coordinator_public_key(FixedToBytes(options.client.security.public_key));
    {
      std::vector<std::future<void>> calls;
      for (size_t i = 0; i < members.size(); ++i) {
        members[i].key = selection->committee[i];
        calls.push_back(std::async(std::launch::async, [&, i] {
          MemberReply& m = members[i];
          grpc::ClientContext context;
          SetDeadline(&context, options.commit_deadline_ms);
          v1::Commitment reply;
          grpc::Status st = StubFor(AddressOf(m.key))->Commit(&context, commit, &reply);
          if (!st.ok()) {
            m.error = "no commitment: " + st.error_message();
            return;
          }
          auto c = DecodeCommitment(reply);
          if (!c.ok()) {
            m.error = "malformed commitment: " + c.status().message();
            return;
          }
          m.commitment = *c;
          m.committed = true;
        }));
      }
      for (auto& c : calls) c.wait();
    }
    verdict.commit_ms = ms_since(phase);
    phase = Clock::now();
    // 3. Reveal phase (the commit phase is closed: every call returned or timed out).
    {
      std::vector<std::future<void>> calls;
      for (MemberReply& m : members) {
        if (!m.committed) continue;
        calls.push_back(std::async(std::launch::async, [&, pm = &m] {
          MemberReply& mm = *pm;
          v1::RevealRequest request;
          request.set_round_digest(DigestToBytes(round));
          grpc::ClientContext context;
          SetDeadline(&context, options.reveal_deadline_ms);
          v1::RevealReply reply;
          grpc::Status st = StubFor(AddressOf(mm.key))->Reveal(&context, request, &reply);
          if (!st.ok()) {
            mm.error = "no reveal: " + st.error_message();
            return;
          }
          auto c = DecodeCommitment(reply.commitment());
          if (!c.ok() || !DigestFromBytes(reply.output_digest(), &mm.reveal.output_digest) ||
              !DigestFromBytes(reply.trace_root(), &mm.reveal.trace_root) ||
              !FixedFromBytes(reply.nonce(), &mm.reveal.nonce)) {
            mm.error = "malformed reveal";
            return;
          }
          mm.reveal_commitment = *c;
          mm.reveal.member = mm.key;
          int64_t budget = options.client.max_message_bytes;
          for (int i = 0; i < reply.outputs_size(); ++i) {
            auto t = DecodeTensor(reply.outputs(i), &budget, "revealed output");
            if (!t.ok()) {
              mm.error = "malformed revealed output: " + t.status().message();
              return;
            }
            mm.outputs.push_back(std::move(t).value());
          }
          for (const std::string& d : reply.trace_digests()) {
            Digest digest;
            if (!DigestFromBytes(d, &digest)) {
              mm.error = "malformed layer digest";
              return;
            }
            mm.trace.push_back(digest);
          }
          mm.revealed = true;
        }));
      }
      for (auto& c : calls) c.wait();
    }
    verdict.reveal_ms = ms_since(phase);
    phase = Clock::now();
    std::vector<consensus::SignedCommitment> commitments;
    std::vector<consensus::Reveal> reveals;
    std::vector<MemberFault> own_faults;  // what the quorum rules cannot see
    for (MemberReply& m : members) {
      if (m.committed) commitments.push_back(m.commitment);
      if (!m.revealed) continue;
      // A reveal under a different signed commitment is equivocation evidence: both go in.
      if (m.reveal_commitment.commitment_hash != m.commitment.commitment_hash ||
          m.reveal_commitment.input_digest != m.commitment.input_digest ||
          m.reveal_commitment.signature != m.commitment.signature)
        commitments.push_back(m.reveal_commitment);
      if (Status st = CheckReveal(s, m); !st.ok()) {
        own_faults.push_back({m.key, st.message()});
        m.revealed = false;
        continue;
      }
      reveals.push_back(m.reveal);
    }
    VEIL_ASSIGN_OR_RETURN(consensus::RoundOutcome outcome,
                          consensus::EvaluateRound(round, selection->committee, selection->quorum,
                                                   commitments, reveals));
    std::set<PublicKey> faulty;
    for (const MemberFault& f : outcome.faults) faulty.insert(f.member);
    for (const MemberFault& f : own_faults)
      if (faulty.insert(f.member).second) outcome.faults.push_back(f);
    for (const MemberFault& f : outcome.faults) {
      verdict.faults.push_back(f);
      excluded.insert(f.member);
      Log("event=fault node=" + Short(f.member) + " segment=" + std::to_string(s) + " reason=\"" +
          f.reason + "\"");
    }

    if (outcome.accepted) {
      for (const PublicKey& k : selection->committee)
        (void)book->RecordVerdict(k, faulty.count(k) != 0);
      const MemberReply* winner = nullptr;
      for (const MemberReply& m : members)
        if (m.revealed &&
            std::count(outcome.quorum_members.begin(), outcome.quorum_members.end(), m.key) &&
            m.reveal.output_digest == outcome.output_digest) {
          winner = &m;
          break;
        }
      if (winner == nullptr) return Status::Internal("accepted round without a quorum reveal");
      VEIL_ASSIGN_OR_RETURN(
          consensus::ReceiptSegment receipt_segment,
          consensus::MakeReceiptSegment(params, *selection, outcome, commitments, reveals));
      result->receipt.segments.push_back(std::move(receipt_segment));
      verdict.committee = selection->committee;
      verdict.audited = selection->audited;
      verdict.evaluate_ms = ms_since(phase);
      std::vector<Tensor> outputs = winner->outputs;
      result->segments.push_back(std::move(verdict));
      return outputs;
    }

    // 4. No quorum: localise the dispute, have the referee recompute one layer, escalate.
    std::vector<consensus::MemberTrace> traces;
    for (const MemberReply& m : members)
      if (m.revealed) traces.push_back({m.key, m.trace});
    std::string summary = "segment " + std::to_string(s) + " round " + std::to_string(attempt + 1) +
                          ": no quorum (" + std::to_string(outcome.groups.size()) + " groups";
    auto escalation = consensus::Escalate(outcome, traces);
    if (escalation.ok() && escalation->localized) {
      const MemberReply* a = nullptr;
      const MemberReply* b = nullptr;
      for (const MemberReply& m : members) {
        if (m.key == escalation->member_a) a = &m;
        if (m.key == escalation->member_b) b = &m;
      }
      auto check = Referee(s, round, inputs, *a, *b, escalation->divergence.layer,
                           escalation->divergence.comparisons);
      if (check.ok()) {
        verdict.referee_checks.push_back(*check);
        summary += "; diverge at layer " + std::to_string(check->layer) + " after " +
                   std::to_string(check->comparisons) + " comparisons; referee: " + Short(a->key) +
                   (check->a_matches ? " right" : " wrong") + ", " + Short(b->key) +
                   (check->b_matches ? " right" : " wrong");
        for (const auto& [key, ok] :
             {std::pair{a->key, check->a_matches}, std::pair{b->key, check->b_matches}}) {
          if (ok) continue;
          MemberFault f{key, "layer " + std::to_string(check->layer) +
                                 " differs from the referee's recomputation"};
          verdict.faults.push_back(f);
          excluded.insert(key);
          (void)book->RecordVerdict(key, true);
          Log("event=fault node=" + Short(key) + " segment=" + std::to_string(s) + " reason=\"" +
              f.reason + "\"");
        }
      } else {
        summary += "; referee failed: " + check.status().message();
      }
    } else if (!escalation.ok()) {
      summary += "; " + escalation.status().message();
    }
    for (const PublicKey& k : faulty) (void)book->RecordVerdict(k, true);
    summary += ")";
    evidence.push_back(summary);
    Log("event=escalate " + summary);
  }
  std::string message = "segment " + std::to_string(s) + ": no verified answer after " +
                        std::to_string(options.max_escalations + 1) + " round(s)";
  for (const std::string& e : evidence) message += "; " + e;
  for (const MemberFault& f : verdict.faults)
    message += "; faulty " + Short(f.member) + ": " + f.reason;
  return Status::FailedPrecondition(message);
}

Result<VerifiedResult> VerifiedRunner::Run(const std::vector<Tensor>& inputs,
                                           std::string request_id) {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.run_mutex);
  if (request_id.empty()) request_id = RandomRequestId();
  if (!consensus::IsValidRequestId(request_id) || request_id.size() > 48)
    return Status::InvalidArgument("request id must be 1..48 characters of [A-Za-z0-9._:-]");
  VerifiedResult result;
  result.request_id = request_id;
  result.receipt.model_digest = impl.model_digest;
  result.receipt.mode = impl.options.mode;
  result.receipt.request_id = request_id;
  result.receipt.public_seed = impl.options.public_seed;
  const Graph& g = impl.graph;
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("the model takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  std::map<int, Tensor> env;  // value id -> tensor
  for (size_t i = 0; i < inputs.size(); ++i) env[g.inputs[i]] = inputs[i];
  auto gather = [&](const std::vector<int>& ids) {
    std::vector<Tensor> out;
    for (int v : ids) out.push_back(env.at(v));
    return out;
  };
  for (int s = 0; s < impl.count; ++s) {
    const Segment& seg = impl.segments[static_cast<size_t>(s)];
    const std::vector<int> in_ids = g.SegmentInputs(seg);
    const std::vector<int> out_ids = g.SegmentOutputs(seg);
    for (int v : in_ids)
      if (env.count(v) == 0) return Status::Internal("segment input not computed");
    std::vector<Tensor> seg_in = gather(in_ids);
    std::vector<Tensor> seg_out;
    if (s == 0 || s == impl.count - 1) {
      VEIL_ASSIGN_OR_RETURN(seg_out, impl.whole->RunSegment(s, seg_in));
    } else {
      VEIL_ASSIGN_OR_RETURN(seg_out, impl.RunRemoteSegment(s, seg_in, request_id, &result));
      if (s == 1) result.receipt.input_digest = consensus::TensorListDigest(seg_in);
      if (s == impl.count - 2) result.receipt.output_digest = consensus::TensorListDigest(seg_out);
    }
    if (seg_out.size() != out_ids.size()) return Status::Internal("segment output count");
    for (size_t i = 0; i < out_ids.size(); ++i) env[out_ids[i]] = std::move(seg_out[i]);
  }
  result.outputs = gather(g.outputs);
  VEIL_ASSIGN_OR_RETURN(result.receipt_bytes, consensus::EncodeReceipt(result.receipt));
  return result;
}

}  // namespace veil::net
