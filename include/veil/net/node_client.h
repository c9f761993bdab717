// NodeClient: calls a veil node (proto/veil/v1/node.proto) over one gRPC channel. Every
// call has a deadline; every reply is checked before it is returned (a node is a peer,
// not a trusted party).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/net/link_security.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

// Most later stages one chained call may carry (veil.v1.RunSegmentRequest.forward).
inline constexpr int kMaxChainHops = 16;

struct NodeClientOptions {
  int64_t deadline_ms = 30000;
  int64_t max_message_bytes = int64_t{64} << 20;
  // Mutual TLS bound to Ed25519 identities; plaintext when `security` is insecure (tests).
  LinkSecurity security;
};

struct HostedSegmentInfo {
  std::string model_name;
  Digest model_digest{};
  int segment_index = 0;
  int segment_count = 0;
  Digest segment_digest{};
};

struct NodeInfo {
  std::string node_version;
  std::vector<HostedSegmentInfo> segments;
  uint64_t max_message_bytes = 0;
  uint64_t max_tensor_bytes = 0;
};

// A later stage of a chained call (see veil.v1.Hop): the node at `address` runs
// `segment_index`; its inputs and carry are picked from the previous stage's available
// tensors (that stage's outputs, then the carry it received) by index.
struct Hop {
  std::string address;
  int segment_index = 0;
  Digest segment_digest{};
  std::vector<int> inputs_from;
  std::vector<int> carry_from;
};

// One RunSegment call, possibly the head of a chain.
struct SegmentCall {
  std::string request_id;
  Digest model_digest{};
  int segment_index = 0;
  Digest segment_digest{};
  std::vector<Tensor> inputs;
  std::vector<Tensor> carry;
  std::vector<Hop> forward;      // later stages, in order
  std::vector<int> return_from;  // at the last stage; empty = its segment outputs
  std::string session_id;        // incremental decoding; empty = stateless
  int64_t position = 0;          // tokens the session has already seen
};

struct StageEvidence {
  int segment_index = 0;
  Digest segment_digest{};
  std::string served_by;  // the address the stage was called at (set by the caller)
  std::vector<Digest> trace_digests;
};

struct ChainReply {
  std::vector<Tensor> outputs;
  std::vector<StageEvidence> stages;  // one per stage: the head first
};

// One ProveSegment call (node.proto "Proofs of segment inference").
struct ProveCall {
  std::string request_id;
  Digest model_digest{};
  int segment_index = 0;
  Digest segment_digest{};
  Digest model_commitment{};           // zk model commitment digest the node must prove under
  std::vector<uint8_t> input_opening;  // zk::SerializeActivationOpening
};

// The node's answer, unverified: the caller parses and verifies the proof and the opening.
struct ProveReply {
  std::vector<uint8_t> proof;
  std::vector<uint8_t> output_opening;
};

class NodeClient {
 public:
  // Creates the channel (connection is lazy: errors surface on the first call).
  static Result<std::unique_ptr<NodeClient>> Connect(const std::string& address,
                                                     NodeClientOptions options = {});
  ~NodeClient();
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  const std::string& address() const;
  Result<NodeInfo> Info(int64_t deadline_ms = 0);  // 0: the client's default deadline
  // Runs `call` on the node (and, through it, on every forward hop). The reply is checked:
  // one evidence entry per stage, each naming the segment and digest that was asked for,
  // well-formed tensors and 32-byte digests. A gRPC error becomes a Status naming the
  // failing node; `failed_address`, when given, receives the address of the node that
  // failed (this node, or the hop a downstream node reported), or "" if unknown.
  Result<ChainReply> Call(const SegmentCall& call, std::string* failed_address = nullptr);
  // Asks the node to run and prove one segment; `deadline_ms` 0 = the client's default. The
  // reply's sizes are checked (echoed request id, non-empty fields within the message cap);
  // its contents are not trusted here.
  Result<ProveReply> Prove(const ProveCall& call, int64_t deadline_ms = 0);

 private:
  NodeClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
