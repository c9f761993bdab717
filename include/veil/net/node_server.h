// NodeServer: serves segments of one veil model over gRPC (proto/veil/v1/node.proto).
//
// The server extracts each hosted segment with ExtractSegment and checks it against
// SegmentDigest before serving, then answers RunSegment requests after validating every
// field (digests, dtypes, dims, byte lengths, size caps, int8 range, hop indices): a
// malformed request gets INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION with a message
// naming what was wrong, never a crash. A request with `forward` hops is pushed on to the
// next node once this segment has run (node-to-node; see docs/net.md). Sessions keep a
// key/value cache per (segment, session id) for incremental decoding; they expire after
// `session_ttl_ms` of idleness and are capped in number and length.
//
// Links are mutual TLS bound to Ed25519 node identities when `security` is TLS; plaintext
// (LinkSecurity::Insecure) exists for tests and is reported as INSECURE by `veil node`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/net/link_security.h"
#include "veil/registry/identity.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/zk/model_commitment.h"

namespace veil::net {

struct NodeFaults;  // test-only fault injection (src/net/node_faults.h)

inline constexpr int64_t kDefaultMaxMessageBytes = int64_t{64} << 20;
inline constexpr int64_t kDefaultMaxTensorBytes = int64_t{48} << 20;

// What a node needs to prove a hosted segment (veil.v1.Node/ProveSegment; docs/zk.md "In
// the network"): the owner's published model commitment and the owner's blinding seed,
// which the owner entrusts to the nodes hosting its segments together with the weights. The
// seed hides the weights from verifiers, not from the hosting nodes.
struct SegmentProving {
  zk::ModelCommitment commitment;
  zk::CommitmentSeed seed{};
  SegmentProving() = default;
  SegmentProving(const SegmentProving&) = default;
  SegmentProving& operator=(const SegmentProving&) = default;
  ~SegmentProving();  // wipes the seed
};

// One segment to serve: an extracted segment graph (ExtractSegment) and the digests it
// must match. NodeServer::Start refuses it unless StandaloneSegmentDigest(graph,
// segment_index) == segment_digest.
struct SegmentToHost {
  std::string model_name;
  Digest model_digest{};
  int segment_count = 0;
  int segment_index = 0;
  Digest segment_digest{};
  Graph graph;
  // Set to offer proofs of this segment. Start refuses material whose commitment does not
  // describe this very segment (net::ProverGraph); a segment with an op the prover does not
  // support is served, and ProveSegment answers UNIMPLEMENTED naming the op.
  std::shared_ptr<const SegmentProving> proving;
};

struct NodeServerOptions {
  // "host:port"; port 0 picks a free port (see NodeServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // For Start(graph, options): segment indices (into graph.EffectiveSegments()) to host,
  // and the proving material for all of them (may be null).
  std::vector<int> segments;
  std::shared_ptr<const SegmentProving> proving;
  SessionOptions session;
  // gRPC max receive and send message size.
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // Cap on the total bytes of a request's input tensors.
  int64_t max_tensor_bytes = kDefaultMaxTensorBytes;
  // Called once per RunSegment request with a one-line key=value summary (may be empty).
  std::function<void(const std::string&)> log;
  // This node's identity and peer policy (also used for its calls to forward hops).
  LinkSecurity security;
  // Extra gRPC services on the same port (e.g. the SHE service, veil/she/service.h). Each
  // is called with the grpc::ServerBuilder (as void*, to keep gRPC out of this header)
  // before the server starts; the services it registers must outlive the NodeServer.
  std::vector<std::function<void(void* grpc_server_builder)>> extra_services;
  // Deadline for a forward call when the incoming call has none.
  int64_t forward_deadline_ms = 30000;
  // Sessions (incremental decoding): idle expiry, count cap, and tokens per session.
  int64_t session_ttl_ms = 60000;
  int max_sessions = 256;
  int64_t max_session_tokens = 4096;
  // Consensus (docs/consensus.md): the key that signs this node's commitments and proves
  // committee selections; without it SelectCommittee/Commit/Reveal answer
  // FAILED_PRECONDITION. Rounds are kept for Reveal and LayerInputs for `round_ttl_ms`,
  // at most `max_rounds` of them holding at most `max_round_bytes` of tensors (oldest
  // dropped first).
  std::shared_ptr<const registry::Identity> identity;
  int64_t round_ttl_ms = 60000;
  int max_rounds = 1024;
  int64_t max_round_bytes = int64_t{256} << 20;
  // Test-only fault injection: honoured only by the test suite's veil_net_faulty build;
  // every other build refuses to start with it set.
  std::shared_ptr<NodeFaults> faults;
};

// Counters exported at /metrics (Prometheus text format; see NodeServer::MetricsText).
struct NodeMetrics {
  uint64_t requests_ok = 0;
  uint64_t requests_failed = 0;
  uint64_t bytes_in = 0;       // tensor bytes received in requests
  uint64_t bytes_out = 0;      // tensor bytes sent in replies
  double segment_seconds = 0;  // time spent running hosted segments
  double request_seconds = 0;  // wall time of RunSegment calls (including forwarding)
  uint64_t forwards = 0;
  int64_t active_sessions = 0;
  uint64_t sessions_expired = 0;
  // Latency histogram of RunSegment calls: counts per upper bound in kLatencyBucketsMs.
  std::vector<uint64_t> latency_buckets;
};
inline constexpr double kLatencyBucketsMs[] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000};

class NodeServer {
 public:
  // Verifies each segment against its digest, then starts listening. Segments of several
  // models may be hosted; (model digest, segment index) pairs must be distinct.
  static Result<std::unique_ptr<NodeServer>> Start(std::vector<SegmentToHost> segments,
                                                   NodeServerOptions options);
  // Extracts options.segments of `graph` (at least one), then Start(segments, options).
  static Result<std::unique_ptr<NodeServer>> Start(const Graph& graph, NodeServerOptions options);
  // LoadModel(path), then Start.
  static Result<std::unique_ptr<NodeServer>> StartFromFile(const std::string& path,
                                                           NodeServerOptions options);
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  int port() const;
  std::string address() const;         // "host:port" with the bound port
  const Digest& model_digest() const;  // of the first hosted segment's model
  NodeMetrics metrics() const;
  // Prometheus text exposition of metrics(), labelled with this node's address.
  std::string MetricsText() const;

  // Stops accepting calls and waits (at most `grace_ms`) for calls in flight.
  void Shutdown(int grace_ms = 1000);
  // Blocks until Shutdown is called from another thread.
  void Wait();

 private:
  NodeServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
