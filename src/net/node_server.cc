#include "veil/net/node_server.h"

#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "credentials.h"
#include "node_faults.h"
#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/consensus/dispute.h"
#include "veil/model_file.h"
#include "veil/net/grpc_status.h"
#include "veil/net/proof_inference.h"
#include "veil/v1/node.grpc.pb.h"
#include "veil/zk/segment_proof.h"
#include "wire.h"

namespace veil::net {

SegmentProving::~SegmentProving() { sodium_memzero(seed.data(), seed.size()); }

namespace {

constexpr const char* kNodeVersion = "veil-node/0.2";

using Clock = std::chrono::steady_clock;

struct DecodeSession {
  KvCache cache;
  Clock::time_point last_used;
};

struct HostedSegment {
  std::string model_name;
  Digest model_digest{};
  int count = 0;  // segments in the model
  int index = 0;
  Digest digest{};
  Graph graph;  // ExtractSegment(model, index)
  std::unique_ptr<Session> session;
  std::mutex mutex;  // guards session and sessions: one run at a time per segment
  std::map<std::string, DecodeSession> sessions;
  // Proofs (ProveSegment): set when the owner's commitment and seed were given.
  std::shared_ptr<const SegmentProving> proving;
  std::unique_ptr<Graph> prover_graph;  // ProverGraph: the public model with this segment
  Status provable = Status::Ok();       // zk::CheckSegmentProvable on prover_graph
  std::unique_ptr<zk::CommitmentKey> key;
  size_t max_opening_bytes = 0;
  std::unique_ptr<Graph> faulty_prover_graph;  // fault injection (test builds) only
};

// Metrics shared by the service and NodeServer::metrics().
struct MetricsState {
  mutable std::mutex mutex;
  NodeMetrics m;
  MetricsState() { m.latency_buckets.assign(std::size(kLatencyBucketsMs) + 1, 0); }
};

int64_t TensorBytes(const google::protobuf::RepeatedPtrField<v1::Tensor>& ts) {
  int64_t n = 0;
  for (const auto& t : ts) n += static_cast<int64_t>(t.data().size());
  return n;
}

void FillSpec(const Graph& g, int value_id, v1::TensorSpec* spec) {
  const Value& v = g.values[static_cast<size_t>(value_id)];
  spec->set_name(v.name);
  spec->set_dtype(ToWire(v.dtype));
  for (int64_t d : v.shape) spec->add_dims(d);
}

grpc::Status Invalid(const std::string& m) { return InvalidRequest(m); }
grpc::Status ToGrpc(const Status& s) { return ToGrpcStatus(s); }

// Checks the decoded inputs against the segment graph's inputs: count, dtype, rank,
// per-sample dims (a dynamic dim takes any size >= 1) and a common batch dimension.
Status CheckAgainstSegment(const Graph& g, const std::vector<Tensor>& inputs) {
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("segment takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[static_cast<size_t>(g.inputs[i])];
    const Tensor& t = inputs[i];
    const std::string what = "input " + std::to_string(i) + " (" + v.name + ")";
    if (t.dtype() != v.dtype)
      return Status::InvalidArgument(what + ": dtype " + DTypeName(t.dtype()) + ", expected " +
                                     DTypeName(v.dtype));
    if (t.rank() != v.shape.size() + 1)
      return Status::InvalidArgument(what + ": dims " + ShapeToString(t.shape()) +
                                     ", expected [B] + " + ShapeToString(v.shape));
    if (t.dim(0) != inputs[0].dim(0))
      return Status::InvalidArgument(what + ": batch " + std::to_string(t.dim(0)) +
                                     " differs from input 0's " + std::to_string(inputs[0].dim(0)));
    for (size_t j = 0; j < v.shape.size(); ++j)
      if (v.shape[j] != kDynamicDim && v.shape[j] != t.dim(j + 1))
        return Status::InvalidArgument(what + ": dims " + ShapeToString(t.shape()) +
                                       ", expected [B] + " + ShapeToString(v.shape));
  }
  return Status::Ok();
}

class NodeService final : public v1::Node::Service {
 public:
  NodeService(std::vector<std::unique_ptr<HostedSegment>>* segments,
              const NodeServerOptions* options, MetricsState* metrics, const std::string* self)
      : segments_(segments), options_(options), metrics_(metrics), self_(self) {}

  grpc::Status Info(grpc::ServerContext* /*context*/, const v1::InfoRequest* /*request*/,
                    v1::InfoReply* reply) override {
    reply->set_node_version(kNodeVersion);
    reply->set_max_message_bytes(static_cast<uint64_t>(options_->max_message_bytes));
    reply->set_max_tensor_bytes(static_cast<uint64_t>(options_->max_tensor_bytes));
    for (const auto& seg : *segments_) {
      v1::HostedSegment* h = reply->add_segments();
      h->set_model_digest(DigestToBytes(seg->model_digest));
      h->set_model_name(seg->model_name);
      h->set_segment_index(static_cast<uint32_t>(seg->index));
      h->set_segment_count(static_cast<uint32_t>(seg->count));
      h->set_segment_digest(DigestToBytes(seg->digest));
      for (int id : seg->graph.inputs) FillSpec(seg->graph, id, h->add_inputs());
      for (int id : seg->graph.outputs) FillSpec(seg->graph, id, h->add_outputs());
    }
    return grpc::Status::OK;
  }

  grpc::Status RunSegment(grpc::ServerContext* context, const v1::RunSegmentRequest* request,
                          v1::RunSegmentReply* reply) override {
    const auto start = Clock::now();
    RunInfo info;
    grpc::Status status = Handle(context, *request, reply, &info);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    {
      std::lock_guard<std::mutex> lock(metrics_->mutex);
      NodeMetrics& m = metrics_->m;
      (status.ok() ? m.requests_ok : m.requests_failed) += 1;
      m.request_seconds += ms / 1000;
      m.segment_seconds += info.segment_ms / 1000;
      m.bytes_in +=
          static_cast<uint64_t>(TensorBytes(request->inputs()) + TensorBytes(request->carry()));
      if (status.ok()) m.bytes_out += static_cast<uint64_t>(TensorBytes(reply->outputs()));
      m.forwards += info.forwarded ? 1 : 0;
      size_t b = 0;
      while (b < std::size(kLatencyBucketsMs) && ms > kLatencyBucketsMs[b]) ++b;
      m.latency_buckets[b] += 1;
    }
    if (options_->log) {
      std::ostringstream line;
      line << "event=run request_id="
           << (ValidRequestId(request->request_id()) ? request->request_id() : "<invalid>")
           << " segment=" << request->segment_index() << " batch=" << info.batch
           << " session=" << (ValidRequestId(request->session_id()) ? request->session_id() : "-")
           << " position=" << request->position() << " hops=" << request->forward_size()
           << " peer=" << context->peer() << " status="
           << (status.ok() ? "OK" : "ERROR(" + std::to_string(status.error_code()) + ")")
           << " segment_ms=" << info.segment_ms << " ms=" << ms;
      if (!status.ok()) line << " error=\"" << status.error_message() << "\"";
      options_->log(line.str());
    }
    return status;
  }

  // ---- Consensus (docs/consensus.md; node.proto "Consensus-based verification") ----

  grpc::Status SelectCommittee(grpc::ServerContext* /*context*/,
                               const v1::SelectCommitteeRequest* request,
                               v1::SelectCommitteeReply* reply) override {
    if (options_->identity == nullptr) return NoIdentity();
    auto params = DecodeRoundParams(request->round());
    if (!params.ok()) return Invalid(params.status().message());
    auto selection = consensus::DrawCommittee(*options_->identity, *params);
    if (!selection.ok()) return ToGrpc(selection.status());
    reply->set_selector_public_key(FixedToBytes(selection->selector));
    reply->set_proof(FixedToBytes(selection->proof));
    return grpc::Status::OK;
  }

  grpc::Status Commit(grpc::ServerContext* context, const v1::CommitRequest* request,
                      v1::Commitment* reply) override {
    const auto start = Clock::now();
    grpc::Status status = HandleCommit(context, *request, reply);
    LogConsensus("commit", request->run().request_id(), request->run().segment_index(), context,
                 status, start);
    return status;
  }

  grpc::Status Reveal(grpc::ServerContext* context, const v1::RevealRequest* request,
                      v1::RevealReply* reply) override {
    const auto start = Clock::now();
    grpc::Status status = HandleReveal(context, *request, reply);
    LogConsensus("reveal", "-", 0, context, status, start);
    return status;
  }

  grpc::Status LayerInputs(grpc::ServerContext* context, const v1::LayerInputsRequest* request,
                           v1::LayerInputsReply* reply) override {
    Digest round;
    if (!DigestFromBytes(request->round_digest(), &round))
      return Invalid("round_digest must be 32 bytes");
    std::vector<Tensor> inputs;
    HostedSegment* seg = nullptr;
    {
      std::lock_guard<std::mutex> lock(rounds_mutex_);
      ExpireRounds();
      auto it = rounds_.find(round);
      if (it == rounds_.end()) return UnknownRound();
      if (it->second.caller != CallerOf(context))
        return {grpc::StatusCode::PERMISSION_DENIED, "the round was committed for another caller"};
      if (!it->second.revealed)
        return {grpc::StatusCode::FAILED_PRECONDITION, "the round is not revealed yet"};
      if (request->layer() >= it->second.trace.size())
        return Invalid("layer " + std::to_string(request->layer()) + " >= the segment's " +
                       std::to_string(it->second.trace.size()) + " layers");
      inputs = it->second.inputs;
      seg = it->second.segment;
    }
    const int layer = static_cast<int>(request->layer());
    Result<std::vector<Tensor>> values = [&]() -> Result<std::vector<Tensor>> {
      std::lock_guard<std::mutex> lock(seg->mutex);
      return seg->session->LayerInputs(inputs, layer);
    }();
    if (!values.ok()) return ToGrpc(values.status());
    const Graph& g = seg->graph;
    const Node& node = g.nodes[static_cast<size_t>(layer)];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      v1::ProducedTensors* p = reply->add_produced();
      p->set_layer(ProducerOf(g, node.inputs[i], layer));
      EncodeTensor((*values)[i], p->add_tensors());
    }
    return grpc::Status::OK;
  }

  // ---- Proofs (docs/zk.md "In the network"; node.proto "Proofs of segment inference") ----

  grpc::Status ProveSegment(grpc::ServerContext* context, const v1::ProveSegmentRequest* request,
                            v1::ProveSegmentReply* reply) override {
    const auto start = Clock::now();
    grpc::Status status = HandleProve(context, *request, reply);
    {
      std::lock_guard<std::mutex> lock(metrics_->mutex);
      (status.ok() ? metrics_->m.requests_ok : metrics_->m.requests_failed) += 1;
    }
    LogConsensus("prove", request->request_id(), request->segment_index(), context, status, start);
    return status;
  }

 private:
  grpc::Status HandleProve(grpc::ServerContext* context, const v1::ProveSegmentRequest& request,
                           v1::ProveSegmentReply* reply) {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (!ValidRequestId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    Digest model_digest, segment_digest, commitment_digest;
    if (!DigestFromBytes(request.model_digest(), &model_digest))
      return Invalid("model_digest must be 32 bytes");
    if (!DigestFromBytes(request.segment_digest(), &segment_digest))
      return Invalid("segment_digest must be 32 bytes");
    if (!DigestFromBytes(request.model_commitment_digest(), &commitment_digest))
      return Invalid("model_commitment_digest must be 32 bytes");
    HostedSegment* seg = nullptr;
    bool model_hosted = false;
    for (const auto& h : *segments_) {
      if (h->model_digest != model_digest) continue;
      model_hosted = true;
      if (static_cast<uint32_t>(h->index) == request.segment_index()) seg = h.get();
    }
    if (!model_hosted)
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    if (seg == nullptr)
      return {grpc::StatusCode::NOT_FOUND, "segment " + std::to_string(request.segment_index()) +
                                               " of this model is not hosted here"};
    if (segment_digest != seg->digest)
      return Invalid("segment_digest does not match segment " + std::to_string(seg->index) +
                     "'s digest");
    if (seg->proving == nullptr || seg->prover_graph == nullptr)
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "this node holds no model commitment and seed for segment " +
                  std::to_string(seg->index) + ": it does not prove it"};
    if (commitment_digest != seg->proving->commitment.digest)
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "this node proves under model commitment " +
                  DigestToHex(seg->proving->commitment.digest).substr(0, 16) + ", not " +
                  DigestToHex(commitment_digest).substr(0, 16)};
    if (!seg->provable.ok())
      return {grpc::StatusCode::UNIMPLEMENTED, "segment " + std::to_string(seg->index) +
                                                   " is not provable: " + seg->provable.message()};
    const std::string& bytes = request.input_opening();
    if (bytes.empty()) return Invalid("input_opening is empty");
    if (bytes.size() > seg->max_opening_bytes ||
        static_cast<int64_t>(bytes.size()) > options_->max_tensor_bytes)
      return Invalid("input_opening is " + std::to_string(bytes.size()) +
                     " bytes, over this segment's limit of " +
                     std::to_string(std::min<int64_t>(static_cast<int64_t>(seg->max_opening_bytes),
                                                      options_->max_tensor_bytes)) +
                     " (batch <= " + std::to_string(kMaxProofBatch) + ")");
    // Checks that every opening opens its commitment (values and blinds) before anything else.
    auto openings = zk::ParseActivationOpenings(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        *seg->key);
    if (!openings.ok()) return Invalid("input_opening: " + openings.status().message());
    const Graph& pg = *seg->prover_graph;
    const std::vector<int> in_ids =
        pg.SegmentInputs(pg.EffectiveSegments()[static_cast<size_t>(seg->index)]);
    if (openings->size() != in_ids.size())
      return Invalid("input_opening: " + std::to_string(openings->size()) +
                     " activations; the segment reads " + std::to_string(in_ids.size()));
    int64_t batch = 0;
    for (size_t i = 0; i < in_ids.size(); ++i) {
      zk::ActivationOpening& o = (*openings)[i];
      const Value& in = pg.values[static_cast<size_t>(in_ids[i])];
      const std::string what = "input_opening " + std::to_string(i) + " ('" + in.name + "')";
      // Named by the value it commits to (an unnamed single opening is taken as the input).
      if (o.value != in_ids[i] && !(o.value == -1 && in_ids.size() == 1))
        return Invalid(what + ": names value " + std::to_string(o.value) + ", expected " +
                       std::to_string(in_ids[i]));
      const Tensor& values = o.values;
      if (values.dtype() != DType::kInt8 || values.rank() < 1 || values.dim(0) < 1 ||
          values.dim(0) > kMaxProofBatch || (i > 0 && values.dim(0) != batch))
        return Invalid(what + ": int8 [B, ...] with one B in 1.." + std::to_string(kMaxProofBatch) +
                       " expected");
      batch = values.dim(0);
      if (static_cast<int64_t>(values.size()) != batch * NumElements(in.shape))
        return Invalid(what + ": " + ShapeToString(values.shape()) +
                       " does not have the input's shape [B] + " + ShapeToString(in.shape));
      for (int8_t v : values.i8())
        if (v == -128) return Invalid(what + ": int8 value -128 (activations lie in ±127)");
      Shape batched = {batch};
      batched.insert(batched.end(), in.shape.begin(), in.shape.end());
      o.values.Reshape(batched);
      o.value = in_ids[i];
    }
    std::lock_guard<std::mutex> lock(prove_mutex_);  // one proof at a time: it is CPU-bound
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (context->deadline() < std::chrono::system_clock::now())
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the proof started"};
    const Graph* graph = seg->prover_graph.get();
#ifdef VEIL_FAULT_INJECTION
    if (seg->faulty_prover_graph != nullptr) graph = seg->faulty_prover_graph.get();
#endif
    auto proved = zk::ProveSegment(*graph, seg->proving->commitment, seg->proving->seed, seg->index,
                                   std::span<const zk::ActivationOpening>(*openings));
    if (!proved.ok()) return ToGrpc(proved.status());
    std::vector<uint8_t> proof = zk::SerializeSegmentProof(proved->proof);
    std::vector<uint8_t> out = zk::SerializeActivationOpenings(proved->outputs);
#ifdef VEIL_FAULT_INJECTION
    NodeFaults* faults = options_->faults.get();
    if (faults != nullptr && faults->kind == FaultKind::kFlipBits && !proof.empty())
      proof[proof.size() / 2] ^= 0x01;
#endif
    reply->set_request_id(request.request_id());
    reply->set_proof(std::string(proof.begin(), proof.end()));
    reply->set_output_opening(std::string(out.begin(), out.end()));
    sodium_memzero(out.data(), out.size());
    return grpc::Status::OK;
  }

  // A committed round, kept for Reveal and LayerInputs.
  struct Round {
    std::string caller;  // only this caller may reveal
    HostedSegment* segment = nullptr;
    std::vector<Tensor> inputs;
    std::vector<Tensor> outputs;
    std::vector<Digest> trace;
    consensus::MemberSubmission submission;
    std::optional<consensus::MemberSubmission> equivocation;  // fault injection only
    Clock::time_point created;
    int64_t bytes = 0;
    bool revealed = false;
  };

  static grpc::Status NoIdentity() {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "this node has no identity: consensus rounds need one (veil node --data-dir)"};
  }
  static grpc::Status UnknownRound() {
    return {grpc::StatusCode::NOT_FOUND, "no such round here (never committed, or expired)"};
  }

  // Who is calling: the peer's Ed25519 key on TLS links, else gRPC's peer address.
  static std::string CallerOf(grpc::ServerContext* context) {
    const auto auth = context->auth_context();
    if (auth != nullptr) {
      for (const auto& pem : auth->FindPropertyValues("x509_pem_cert")) {
        auto key = Ed25519KeyFromCertificate(std::string(pem.data(), pem.size()));
        if (key.ok()) return "key:" + PublicKeyHex(*key);
      }
    }
    return "peer:" + context->peer();
  }

  // The layer within the segment that produces `value` (before `before`), or -1 for a
  // segment input.
  static int ProducerOf(const Graph& g, int value, int before) {
    for (int n = before - 1; n >= 0; --n)
      for (int out : g.nodes[static_cast<size_t>(n)].outputs)
        if (out == value) return n;
    return -1;
  }

  void ExpireRounds() {  // rounds_mutex_ held
    const auto now = Clock::now();
    const auto ttl = std::chrono::milliseconds(options_->round_ttl_ms);
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      if (now - it->second.created > ttl) {
        round_bytes_ -= it->second.bytes;
        order_.erase(std::find(order_.begin(), order_.end(), it->first));
        it = rounds_.erase(it);
      } else {
        ++it;
      }
    }
    while (!order_.empty() && (static_cast<int>(rounds_.size()) > options_->max_rounds ||
                               round_bytes_ > options_->max_round_bytes)) {
      auto it = rounds_.find(order_.front());
      if (it != rounds_.end()) {
        round_bytes_ -= it->second.bytes;
        rounds_.erase(it);
      }
      order_.erase(order_.begin());
    }
  }

  void LogConsensus(const char* event, const std::string& request_id, uint32_t segment,
                    grpc::ServerContext* context, const grpc::Status& status,
                    Clock::time_point start) {
    if (!options_->log) return;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::ostringstream line;
    line << "event=" << event
         << " request_id=" << (ValidRequestId(request_id) ? request_id : "<invalid>")
         << " segment=" << segment << " peer=" << context->peer() << " status="
         << (status.ok() ? "OK" : "ERROR(" + std::to_string(status.error_code()) + ")")
         << " ms=" << ms;
    if (!status.ok()) line << " error=\"" << status.error_message() << "\"";
    options_->log(line.str());
  }

  // Runs the segment for a round, honestly or (test builds only) with the injected fault.
  Status RunForRound(HostedSegment* seg, const std::vector<Tensor>& inputs,
                     std::vector<Tensor>* outputs, std::vector<Digest>* trace) {
    RunTrace run_trace;
    Session* session = seg->session.get();
#ifdef VEIL_FAULT_INJECTION
    NodeFaults* faults = options_->faults.get();
    if (faults != nullptr && faults->altered != nullptr) session = faults->altered.get();
#endif
    {
      std::lock_guard<std::mutex> lock(seg->mutex);
      VEIL_ASSIGN_OR_RETURN(*outputs, session->Run(inputs, &run_trace));
    }
    *trace = std::move(run_trace.node_digests);
#ifdef VEIL_FAULT_INJECTION
    if (faults != nullptr && faults->kind == FaultKind::kFlipBits && !outputs->empty() &&
        (*outputs)[0].dtype() == DType::kInt8 && (*outputs)[0].size() > 0) {
      int8_t& v = (*outputs)[0].i8()[0];
      v = static_cast<int8_t>(v == -127 ? -126 : v ^ 1);  // stays within [-127, 127]
    }
    if (faults != nullptr && faults->kind == FaultKind::kStale) {
      std::lock_guard<std::mutex> lock(faults->mutex);
      if (faults->has_previous) {
        std::swap(*outputs, faults->previous_outputs);
        std::swap(*trace, faults->previous_trace);
        faults->previous_outputs = *outputs;
        faults->previous_trace = *trace;
      } else {
        faults->previous_outputs = *outputs;
        faults->previous_trace = *trace;
        faults->has_previous = true;
      }
    }
#endif
    return Status::Ok();
  }

  grpc::Status HandleCommit(grpc::ServerContext* context, const v1::CommitRequest& request,
                            v1::Commitment* reply) {
    if (options_->identity == nullptr) return NoIdentity();
    Digest round;
    if (!DigestFromBytes(request.round_digest(), &round))
      return Invalid("round_digest must be 32 bytes");
    const v1::RunSegmentRequest& run = request.run();
    if (run.forward_size() > 0 || run.return_from_size() > 0 || run.carry_size() > 0 ||
        !run.session_id().empty() || run.position() != 0)
      return Invalid(
          "a consensus run is stateless and unchained: no forward, return_from, "
          "carry or session");
    HostedSegment* seg = nullptr;
    std::vector<Tensor> inputs;
    if (grpc::Status s = Resolve(run, &seg, &inputs); !s.ok()) return s;
    const Digest input_digest = consensus::TensorListDigest(inputs);
    // Who may reveal: the coordinator's authenticated key on TLS links; on plaintext test
    // links (nothing is authenticated) the first caller's address.
    std::string caller = CallerOf(context);
    if (options_->security.is_tls()) {
      PublicKey coordinator{};
      if (!FixedFromBytes(request.coordinator_public_key(), &coordinator))
        return Invalid("coordinator_public_key must be 32 bytes");
      caller = "key:" + PublicKeyHex(coordinator);
    }
    {
      // One commitment per round, whoever asks: a second, different signed commitment
      // would let anyone frame this node as an equivocator.
      std::lock_guard<std::mutex> lock(rounds_mutex_);
      ExpireRounds();
      auto it = rounds_.find(round);
      if (it != rounds_.end()) {
        if (it->second.submission.commitment.input_digest != input_digest)
          return {grpc::StatusCode::FAILED_PRECONDITION,
                  "this node already committed to another input for this round"};
        EncodeCommitment(it->second.submission.commitment, reply);
        return grpc::Status::OK;
      }
    }
#ifdef VEIL_FAULT_INJECTION
    NodeFaults* faults = options_->faults.get();
    if (faults != nullptr) {
      if (faults->kind == FaultKind::kCrash) {
        bool first = false;
        {
          std::lock_guard<std::mutex> lock(faults->mutex);
          first = !faults->crashed;
          faults->crashed = true;
        }
        if (first && faults->on_crash) faults->on_crash();
        return {grpc::StatusCode::UNAVAILABLE, "node crashed (injected fault)"};
      }
      if (faults->kind == FaultKind::kStall)
        std::this_thread::sleep_for(std::chrono::milliseconds(faults->stall_ms));
      if (faults->kind == FaultKind::kCopy) return CopyCommitment(request, round, caller, reply);
    }
#endif
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    std::vector<Tensor> outputs;
    std::vector<Digest> trace;
    if (Status s = RunForRound(seg, inputs, &outputs, &trace); !s.ok()) return ToGrpc(s);
    auto submission =
        consensus::CommitOutput(*options_->identity, round, input_digest,
                                consensus::TensorListDigest(outputs), consensus::TraceRoot(trace));
    if (!submission.ok()) return ToGrpc(submission.status());
    Round r;
    r.caller = caller;
    r.segment = seg;
    r.submission = *submission;
#ifdef VEIL_FAULT_INJECTION
    if (faults != nullptr && faults->kind == FaultKind::kEquivocate) {
      // A second, validly signed commitment to a different output for the same round.
      Digest other = consensus::TensorListDigest(outputs);
      other[0] ^= 1;
      auto second = consensus::CommitOutput(*options_->identity, round, input_digest, other,
                                            consensus::TraceRoot(trace));
      if (!second.ok()) return ToGrpc(second.status());
      r.equivocation = *second;
    }
#endif
    for (const Tensor& t : inputs) r.bytes += static_cast<int64_t>(t.byte_size());
    for (const Tensor& t : outputs) r.bytes += static_cast<int64_t>(t.byte_size());
    r.inputs = std::move(inputs);
    r.outputs = std::move(outputs);
    r.trace = std::move(trace);
    r.created = Clock::now();
    std::lock_guard<std::mutex> lock(rounds_mutex_);
    if (auto it = rounds_.find(round); it != rounds_.end()) {
      // A concurrent call for the same round committed first: its commitment is the one.
      if (it->second.submission.commitment.input_digest != input_digest)
        return {grpc::StatusCode::FAILED_PRECONDITION,
                "this node already committed to another input for this round"};
      EncodeCommitment(it->second.submission.commitment, reply);
      return grpc::Status::OK;
    }
    EncodeCommitment(r.submission.commitment, reply);
    round_bytes_ += r.bytes;
    order_.push_back(round);
    rounds_.emplace(round, std::move(r));
    ExpireRounds();
    return grpc::Status::OK;
  }

#ifdef VEIL_FAULT_INJECTION
  // kCopy: asks the victim for its commitment to the same round and signs its hash.
  grpc::Status CopyCommitment(const v1::CommitRequest& request, const Digest& round,
                              const std::string& caller, v1::Commitment* reply) {
    grpc::ClientContext client;
    client.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::Commitment victim;
    grpc::Status s = StubFor(options_->faults->copy_from)->Commit(&client, request, &victim);
    if (!s.ok()) return s;
    auto copied = DecodeCommitment(victim);
    if (!copied.ok()) return Invalid(copied.status().message());
    consensus::SignedCommitment mine;
    mine.member = options_->identity->public_key();
    mine.input_digest = copied->input_digest;
    mine.commitment_hash = copied->commitment_hash;
    const auto message =
        consensus::CommitmentMessage(round, mine.input_digest, mine.commitment_hash);
    mine.signature = options_->identity->Sign(message);
    Round r;
    r.caller = caller;
    r.submission.commitment = mine;
    r.submission.reveal.member = mine.member;  // cannot open the copied hash: zeros
    r.created = Clock::now();
    EncodeCommitment(mine, reply);
    std::lock_guard<std::mutex> lock(rounds_mutex_);
    if (rounds_.emplace(round, std::move(r)).second) order_.push_back(round);
    return grpc::Status::OK;
  }
#endif

  grpc::Status HandleReveal(grpc::ServerContext* context, const v1::RevealRequest& request,
                            v1::RevealReply* reply) {
    if (options_->identity == nullptr) return NoIdentity();
    Digest round;
    if (!DigestFromBytes(request.round_digest(), &round))
      return Invalid("round_digest must be 32 bytes");
    std::lock_guard<std::mutex> lock(rounds_mutex_);
    ExpireRounds();
    auto it = rounds_.find(round);
    if (it == rounds_.end()) return UnknownRound();
    Round& r = it->second;
    if (r.caller != CallerOf(context))
      return {grpc::StatusCode::PERMISSION_DENIED, "the round was committed for another caller"};
    const consensus::MemberSubmission& sub = r.equivocation ? *r.equivocation : r.submission;
    EncodeCommitment(sub.commitment, reply->mutable_commitment());
    reply->set_output_digest(DigestToBytes(sub.reveal.output_digest));
    reply->set_trace_root(DigestToBytes(sub.reveal.trace_root));
    reply->set_nonce(FixedToBytes(sub.reveal.nonce));
    for (const Tensor& t : r.outputs) EncodeTensor(t, reply->add_outputs());
    for (const Digest& d : r.trace) reply->add_trace_digests(DigestToBytes(d));
    r.revealed = true;
    return grpc::Status::OK;
  }

  struct RunInfo {
    int64_t batch = 0;
    double segment_ms = 0;
    bool forwarded = false;
  };

  // Runs the segment, statelessly or in a decoding session.
  Result<std::vector<Tensor>> RunHosted(HostedSegment* seg, const v1::RunSegmentRequest& request,
                                        const std::vector<Tensor>& inputs, RunTrace* trace) {
    std::lock_guard<std::mutex> lock(seg->mutex);
    if (request.session_id().empty()) return seg->session->Run(inputs, trace);
    const std::string& id = request.session_id();
    const auto now = Clock::now();
    const auto ttl = std::chrono::milliseconds(options_->session_ttl_ms);
    for (auto it = seg->sessions.begin(); it != seg->sessions.end();) {
      if (now - it->second.last_used > ttl) {
        it = seg->sessions.erase(it);
        std::lock_guard<std::mutex> mlock(metrics_->mutex);
        metrics_->m.sessions_expired += 1;
        metrics_->m.active_sessions -= 1;
      } else {
        ++it;
      }
    }
    auto it = seg->sessions.find(id);
    if (request.position() == 0) {
      if (it == seg->sessions.end()) {
        if (static_cast<int>(seg->sessions.size()) >= options_->max_sessions)
          return Status::Unavailable("node has " + std::to_string(options_->max_sessions) +
                                     " active sessions on segment " + std::to_string(seg->index));
        it = seg->sessions.emplace(id, DecodeSession{}).first;
        std::lock_guard<std::mutex> mlock(metrics_->mutex);
        metrics_->m.active_sessions += 1;
      }
      it->second.cache.Clear();
    } else if (it == seg->sessions.end() ||
               it->second.cache.tokens() != static_cast<int64_t>(request.position())) {
      return Status::FailedPrecondition(
          "session " + id + " on segment " + std::to_string(seg->index) +
          (it == seg->sessions.end()
               ? " is unknown or expired"
               : " is at position " + std::to_string(it->second.cache.tokens())) +
          ", request is at position " + std::to_string(request.position()) + "; replay from 0");
    }
    const int64_t tokens = inputs.empty() || inputs[0].rank() < 2 ? 0 : inputs[0].dim(1);
    if (it->second.cache.tokens() + tokens > options_->max_session_tokens) {
      seg->sessions.erase(it);
      std::lock_guard<std::mutex> mlock(metrics_->mutex);
      metrics_->m.active_sessions -= 1;
      return Status::InvalidArgument("session " + id + " would exceed " +
                                     std::to_string(options_->max_session_tokens) + " tokens");
    }
    it->second.last_used = now;
    auto out = seg->session->RunIncremental(inputs, &it->second.cache, trace);
    if (!out.ok()) {  // the cache may be half-updated: drop the session
      seg->sessions.erase(it);
      std::lock_guard<std::mutex> mlock(metrics_->mutex);
      metrics_->m.active_sessions -= 1;
    }
    return out;
  }

  // The stub for a forward hop, one channel per address (created on first use).
  v1::Node::Stub* StubFor(const std::string& address) {
    std::lock_guard<std::mutex> lock(stubs_mutex_);
    auto& stub = stubs_[address];
    if (stub == nullptr) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(static_cast<int>(options_->max_message_bytes));
      args.SetMaxSendMessageSize(static_cast<int>(options_->max_message_bytes));
      ApplyChannelArguments(options_->security, &args);
      stub = v1::Node::NewStub(
          grpc::CreateCustomChannel(address, MakeChannelCredentials(options_->security), args));
    }
    return stub.get();
  }

  // Pushes this stage's results on to forward[0]; its reply becomes ours.
  grpc::Status Forward(grpc::ServerContext* context, const v1::RunSegmentRequest& request,
                       const std::vector<const v1::Tensor*>& available,
                       v1::RunSegmentReply* reply) {
    const v1::Hop& hop = request.forward(0);
    v1::RunSegmentRequest next;
    next.set_request_id(request.request_id());
    next.set_model_digest(request.model_digest());
    next.set_segment_index(hop.segment_index());
    next.set_segment_digest(hop.segment_digest());
    for (uint32_t i : hop.inputs_from()) *next.add_inputs() = *available[i];
    for (uint32_t i : hop.carry_from()) *next.add_carry() = *available[i];
    for (int h = 1; h < request.forward_size(); ++h) *next.add_forward() = request.forward(h);
    *next.mutable_return_from() = request.return_from();
    next.set_session_id(request.session_id());
    next.set_position(request.position());
    grpc::ClientContext client;
    const auto fallback =
        std::chrono::system_clock::now() + std::chrono::milliseconds(options_->forward_deadline_ms);
    client.set_deadline(std::min(context->deadline(), fallback));
    v1::RunSegmentReply downstream;
    grpc::Status s = StubFor(hop.address())->RunSegment(&client, next, &downstream);
    if (!s.ok()) {
      const auto& trailers = client.GetServerTrailingMetadata();
      const auto it = trailers.find(kFailedHopMetadata);
      context->AddTrailingMetadata(
          kFailedHopMetadata,
          it != trailers.end() ? std::string(it->second.data(), it->second.size()) : hop.address());
      return {s.error_code() == grpc::StatusCode::FAILED_PRECONDITION
                  ? grpc::StatusCode::FAILED_PRECONDITION
                  : grpc::StatusCode::UNAVAILABLE,
              "next hop " + hop.address() + " (segment " + std::to_string(hop.segment_index()) +
                  "): " + s.error_message()};
    }
    *reply->mutable_outputs() = std::move(*downstream.mutable_outputs());
    for (auto& st : *downstream.mutable_stages()) *reply->add_stages() = std::move(st);
    return grpc::Status::OK;
  }

  // Validates a request's ids, digests and tensors and finds the hosted segment.
  grpc::Status Resolve(const v1::RunSegmentRequest& request, HostedSegment** found,
                       std::vector<Tensor>* inputs) {
    *found = nullptr;
    if (!ValidRequestId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    Digest model_digest, segment_digest;
    if (!DigestFromBytes(request.model_digest(), &model_digest))
      return Invalid("model_digest must be 32 bytes, got " +
                     std::to_string(request.model_digest().size()));
    if (!DigestFromBytes(request.segment_digest(), &segment_digest))
      return Invalid("segment_digest must be 32 bytes, got " +
                     std::to_string(request.segment_digest().size()));
    bool model_hosted = false;
    for (const auto& s : *segments_) {
      if (s->model_digest != model_digest) continue;
      model_hosted = true;
      if (static_cast<uint32_t>(s->index) == request.segment_index()) *found = s.get();
    }
    if (!model_hosted)
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model_digest).substr(0, 16) + " is not hosted here"};
    HostedSegment* seg = *found;
    if (seg == nullptr)
      return {grpc::StatusCode::NOT_FOUND, "segment " + std::to_string(request.segment_index()) +
                                               " of this model is not hosted here"};
    if (segment_digest != seg->digest)
      return Invalid("segment_digest " + DigestToHex(segment_digest).substr(0, 16) +
                     " does not match segment " + std::to_string(seg->index) + "'s digest " +
                     DigestToHex(seg->digest).substr(0, 16));
    if (request.inputs_size() > kMaxWireTensors || request.carry_size() > kMaxWireTensors)
      return Invalid("at most " + std::to_string(kMaxWireTensors) + " input and " +
                     std::to_string(kMaxWireTensors) + " carry tensors");
    if (!request.session_id().empty() && !ValidRequestId(request.session_id()))
      return Invalid("session_id must be 1..64 characters from [A-Za-z0-9._:-]");
    if (request.session_id().empty() && request.position() != 0)
      return Invalid("position without a session_id");
    int64_t budget = options_->max_tensor_bytes;
    for (int i = 0; i < request.inputs_size(); ++i) {
      auto t = DecodeTensor(request.inputs(i), &budget, "input " + std::to_string(i));
      if (!t.ok()) return ToGrpc(t.status());
      inputs->push_back(std::move(t).value());
    }
    // Carry is passed on unread, but it is checked like any tensor (and counts against
    // the byte budget), and must share the batch dimension.
    for (int i = 0; i < request.carry_size(); ++i) {
      auto t = DecodeTensor(request.carry(i), &budget, "carry " + std::to_string(i));
      if (!t.ok()) return ToGrpc(t.status());
      if (!inputs->empty() && t->dim(0) != (*inputs)[0].dim(0))
        return Invalid("carry " + std::to_string(i) + ": batch differs from the inputs'");
    }
    if (Status s = CheckAgainstSegment(seg->graph, *inputs); !s.ok()) return ToGrpc(s);
    return grpc::Status::OK;
  }

  grpc::Status Handle(grpc::ServerContext* context, const v1::RunSegmentRequest& request,
                      v1::RunSegmentReply* reply, RunInfo* info) {
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    HostedSegment* seg = nullptr;
    std::vector<Tensor> inputs;
    if (grpc::Status s = Resolve(request, &seg, &inputs); !s.ok()) return s;
    info->batch = inputs.empty() ? 0 : inputs[0].dim(0);
    // Every index a hop or return_from uses must name an available tensor at its stage;
    // only the counts are known here, so check what can be checked now: this stage's.
    const int available = static_cast<int>(seg->graph.outputs.size()) + request.carry_size();
    if (request.forward_size() > kMaxHops)
      return Invalid("a chain has at most " + std::to_string(kMaxHops) + " hops");
    if (request.forward_size() > 0) {
      const v1::Hop& hop = request.forward(0);
      if (hop.address().empty() || hop.address().size() > 255 ||
          hop.address().find(':') == std::string::npos)
        return Invalid("forward[0].address must be host:port");
      Digest d;
      if (!DigestFromBytes(hop.segment_digest(), &d))
        return Invalid("forward[0].segment_digest must be 32 bytes");
      if (hop.inputs_from_size() > kMaxWireTensors || hop.carry_from_size() > kMaxWireTensors)
        return Invalid("forward[0] takes too many tensors");
      for (uint32_t i : hop.inputs_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("forward[0].inputs_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
      for (uint32_t i : hop.carry_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("forward[0].carry_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
    } else {
      if (request.return_from_size() > kMaxWireTensors) return Invalid("return_from too long");
      for (uint32_t i : request.return_from())
        if (i >= static_cast<uint32_t>(available))
          return Invalid("return_from index " + std::to_string(i) +
                         " >= " + std::to_string(available) + " available tensors");
    }
    if (context->IsCancelled()) return {grpc::StatusCode::CANCELLED, "call cancelled"};
    if (context->deadline() < std::chrono::system_clock::now())
      return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the segment ran"};

    RunTrace trace;
    const auto start = Clock::now();
    Result<std::vector<Tensor>> outputs = RunHosted(seg, request, inputs, &trace);
    info->segment_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!outputs.ok()) return ToGrpc(outputs.status());
    reply->set_request_id(request.request_id());
    v1::StageEvidence* evidence = reply->add_stages();
    evidence->set_segment_index(static_cast<uint32_t>(seg->index));
    evidence->set_segment_digest(DigestToBytes(seg->digest));
    evidence->set_served_by(*self_);
    for (const Digest& d : trace.node_digests) evidence->add_trace_digests(DigestToBytes(d));

    // Available tensors: this segment's outputs, then the carry received.
    std::vector<v1::Tensor> encoded(outputs->size());
    for (size_t i = 0; i < outputs->size(); ++i) EncodeTensor((*outputs)[i], &encoded[i]);
    std::vector<const v1::Tensor*> avail;
    for (const v1::Tensor& t : encoded) avail.push_back(&t);
    for (const v1::Tensor& t : request.carry()) avail.push_back(&t);
    if (request.forward_size() > 0) {
      info->forwarded = true;
      return Forward(context, request, avail, reply);
    }
    if (request.return_from_size() == 0) {
      for (v1::Tensor& t : encoded) *reply->add_outputs() = std::move(t);
    } else {
      for (uint32_t i : request.return_from()) *reply->add_outputs() = *avail[i];
    }
    return grpc::Status::OK;
  }

  std::vector<std::unique_ptr<HostedSegment>>* segments_;
  const NodeServerOptions* options_;
  MetricsState* metrics_;
  const std::string* self_;
  std::mutex stubs_mutex_;
  std::map<std::string, std::unique_ptr<v1::Node::Stub>> stubs_;
  std::mutex prove_mutex_;
  std::mutex rounds_mutex_;
  std::map<Digest, Round> rounds_;
  std::vector<Digest> order_;  // commit order, oldest first
  int64_t round_bytes_ = 0;
};

}  // namespace

struct NodeServer::Impl {
  NodeServerOptions options;
  Digest model_digest{};
  std::vector<std::unique_ptr<HostedSegment>> segments;
  MetricsState metrics;
  std::string self;  // host:port
  std::unique_ptr<NodeService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string host;
  std::mutex mutex;
  bool shut_down = false;
};

NodeServer::NodeServer() : impl_(std::make_unique<Impl>()) {}

NodeServer::~NodeServer() { Shutdown(0); }

Result<std::unique_ptr<NodeServer>> NodeServer::Start(const Graph& graph,
                                                      NodeServerOptions options) {
  if (options.segments.empty())
    return Status::InvalidArgument("a node must host at least one segment");
  const int count = static_cast<int>(graph.EffectiveSegments().size());
  const Digest model_digest = ModelDigest(graph);
  std::vector<SegmentToHost> segments;
  for (int index : options.segments) {
    if (index < 0 || index >= count)
      return Status::InvalidArgument("segment " + std::to_string(index) +
                                     " out of range: the model has " + std::to_string(count) +
                                     " segment(s)");
    SegmentToHost seg;
    seg.model_name = graph.name;
    seg.model_digest = model_digest;
    seg.segment_count = count;
    seg.segment_index = index;
    seg.segment_digest = SegmentDigest(graph, index);
    VEIL_ASSIGN_OR_RETURN(seg.graph, ExtractSegment(graph, index));
    seg.proving = options.proving;
    segments.push_back(std::move(seg));
  }
  return Start(std::move(segments), std::move(options));
}

Result<std::unique_ptr<NodeServer>> NodeServer::Start(std::vector<SegmentToHost> segments,
                                                      NodeServerOptions options) {
  if (segments.empty()) return Status::InvalidArgument("a node must host at least one segment");
  if (options.max_message_bytes < 1024 || options.max_message_bytes > (int64_t{1} << 30))
    return Status::InvalidArgument("max_message_bytes must lie in [1 KiB, 1 GiB]");
  if (options.max_tensor_bytes < 1 || options.max_tensor_bytes > options.max_message_bytes)
    return Status::InvalidArgument("max_tensor_bytes must lie in [1, max_message_bytes]");
  const size_t colon = options.listen_address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("listen address must be host:port, got '" +
                                   options.listen_address + "'");

  std::unique_ptr<NodeServer> node(new NodeServer());
  Impl& impl = *node->impl_;
  impl.model_digest = segments[0].model_digest;
  for (SegmentToHost& s : segments) {
    const std::string what =
        (s.model_name.empty() ? DigestToHex(s.model_digest).substr(0, 16) : s.model_name) +
        " segment " + std::to_string(s.segment_index);
    if (s.segment_index < 0 || s.segment_index >= s.segment_count)
      return Status::InvalidArgument(what + " out of range: the model has " +
                                     std::to_string(s.segment_count) + " segment(s)");
    for (const auto& h : impl.segments)
      if (h->model_digest == s.model_digest && h->index == s.segment_index)
        return Status::InvalidArgument(what + " listed twice");
    // The node serves only a segment that matches the digest it advertises.
    if (StandaloneSegmentDigest(s.graph, s.segment_index) != s.segment_digest)
      return Status::Corrupt(what + " does not match its segment digest");
    auto seg = std::make_unique<HostedSegment>();
    seg->model_name = s.model_name;
    seg->model_digest = s.model_digest;
    seg->count = s.segment_count;
    seg->index = s.segment_index;
    seg->digest = s.segment_digest;
    seg->graph = std::move(s.graph);
    VEIL_ASSIGN_OR_RETURN(seg->session, Session::Create(seg->graph, options.session));
    if (s.proving != nullptr) {
      auto prover = ProverGraph(s.proving->commitment, seg->graph, seg->index, seg->digest);
      if (!prover.ok())
        return Status(
            prover.status().code(),
            what + ": cannot prove under the given model commitment: " + prover.status().message());
      seg->provable = zk::CheckSegmentProvable(*prover, seg->index);
      seg->key =
          std::make_unique<zk::CommitmentKey>(zk::SegmentProofKey(*prover, s.proving->commitment));
      if (seg->provable.ok()) {
        // Per opening: header and dims, then per sample its values, one blind and one row
        // commitment.
        for (int id : seg->graph.inputs) {
          const Value& in = seg->graph.values[static_cast<size_t>(id)];
          seg->max_opening_bytes +=
              4096 + static_cast<size_t>(kMaxProofBatch) *
                         (static_cast<size_t>(std::max<int64_t>(NumElements(in.shape), 0)) + 64);
        }
      }
      seg->prover_graph = std::make_unique<Graph>(std::move(prover).value());
      seg->proving = s.proving;
    }
    impl.segments.push_back(std::move(seg));
  }
  impl.options = std::move(options);
  if (impl.options.security.is_tls() && !impl.options.security.peer_allowed)
    return Status::InvalidArgument("TLS needs a peer check");
#ifdef VEIL_FAULT_INJECTION
  if (impl.options.faults != nullptr) {
    if (impl.segments.size() != 1)
      return Status::InvalidArgument("fault injection needs exactly one hosted segment");
    VEIL_RETURN_IF_ERROR(PrepareNodeFaults(impl.segments[0]->graph, impl.options.faults.get()));
    // A perturb-weights node proves with its perturbed weights (the owner's commitment
    // stays): a well-formed proof that must not verify.
    HostedSegment& h = *impl.segments[0];
    if (impl.options.faults->kind == FaultKind::kPerturbWeights && h.prover_graph != nullptr) {
      auto g = std::make_unique<Graph>(*h.prover_graph);
      const Segment sg = g->EffectiveSegments()[static_cast<size_t>(h.index)];
      const Graph& altered = impl.options.faults->altered_graph;
      for (int n = sg.begin; n < sg.end; ++n)
        g->nodes[static_cast<size_t>(n)].params =
            altered.nodes[static_cast<size_t>(n - sg.begin)].params;
      h.faulty_prover_graph = std::move(g);
    }
  }
#else
  if (impl.options.faults != nullptr)
    return Status::InvalidArgument("this build has no fault injection (it is test-only)");
#endif
  if (impl.options.round_ttl_ms < 1 || impl.options.max_rounds < 1 ||
      impl.options.max_round_bytes < 1)
    return Status::InvalidArgument("round limits must be positive");
  if (impl.options.session_ttl_ms < 1 || impl.options.max_sessions < 1 ||
      impl.options.max_session_tokens < 1 || impl.options.forward_deadline_ms < 1)
    return Status::InvalidArgument("session limits and deadlines must be positive");
  impl.service =
      std::make_unique<NodeService>(&impl.segments, &impl.options, &impl.metrics, &impl.self);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl.options.listen_address,
                           MakeServerCredentials(impl.options.security), &impl.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(impl.options.max_message_bytes));
  builder.RegisterService(impl.service.get());
  for (const auto& add : impl.options.extra_services) add(&builder);
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || impl.port == 0)
    return Status::IoError("could not listen on " + impl.options.listen_address);
  impl.host = impl.options.listen_address.substr(0, colon);
  impl.self = impl.host + ":" + std::to_string(impl.port);
  return node;
}

Result<std::unique_ptr<NodeServer>> NodeServer::StartFromFile(const std::string& path,
                                                              NodeServerOptions options) {
  VEIL_ASSIGN_OR_RETURN(Graph graph, LoadModel(path));
  return Start(graph, std::move(options));
}

int NodeServer::port() const { return impl_->port; }
std::string NodeServer::address() const { return impl_->host + ":" + std::to_string(impl_->port); }
const Digest& NodeServer::model_digest() const { return impl_->model_digest; }

NodeMetrics NodeServer::metrics() const {
  std::lock_guard<std::mutex> lock(impl_->metrics.mutex);
  return impl_->metrics.m;
}

std::string NodeServer::MetricsText() const {
  const NodeMetrics m = metrics();
  const std::string node = "{node=\"" + impl_->self + "\"}";
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value,
                    const std::string& labels) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
        << name << labels << " " << value << "\n";
  };
  out << "# HELP veil_requests_total RunSegment calls by outcome.\n"
      << "# TYPE veil_requests_total counter\n"
      << "veil_requests_total{node=\"" << impl_->self << "\",status=\"ok\"} " << m.requests_ok
      << "\n"
      << "veil_requests_total{node=\"" << impl_->self << "\",status=\"error\"} "
      << m.requests_failed << "\n";
  metric("veil_errors_total", "counter", "RunSegment calls that failed.", m.requests_failed, node);
  metric("veil_received_tensor_bytes_total", "counter", "Tensor bytes received.", m.bytes_in, node);
  metric("veil_sent_tensor_bytes_total", "counter", "Tensor bytes sent.", m.bytes_out, node);
  metric("veil_segment_seconds_total", "counter", "Time running hosted segments.",
         m.segment_seconds, node);
  metric("veil_forwards_total", "counter", "Requests pushed on to a next hop.", m.forwards, node);
  metric("veil_active_sessions", "gauge", "Decoding sessions held.", m.active_sessions, node);
  metric("veil_sessions_expired_total", "counter", "Sessions dropped after their idle TTL.",
         m.sessions_expired, node);
  out << "# HELP veil_request_duration_seconds RunSegment latency (including forwarding).\n"
      << "# TYPE veil_request_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= std::size(kLatencyBucketsMs); ++b) {
    cumulative += m.latency_buckets[b];
    out << "veil_request_duration_seconds_bucket{node=\"" << impl_->self << "\",le=\"";
    if (b < std::size(kLatencyBucketsMs))
      out << kLatencyBucketsMs[b] / 1000;
    else
      out << "+Inf";
    out << "\"} " << cumulative << "\n";
  }
  out << "veil_request_duration_seconds_sum" << node << " " << m.request_seconds << "\n"
      << "veil_request_duration_seconds_count" << node << " " << cumulative << "\n";
  return out.str();
}

void NodeServer::Shutdown(int grace_ms) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->shut_down || impl_->server == nullptr) return;
    impl_->shut_down = true;
  }
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
}

void NodeServer::Wait() {
  if (impl_->server != nullptr) impl_->server->Wait();
}

}  // namespace veil::net
