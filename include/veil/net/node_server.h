// NodeServer: serves segments of one veil model over gRPC (proto/veil/v1/node.proto).
//
// First slice of issue 3 (docs/net.md): plaintext gRPC, no authentication, no registry —
// for loopback and trusted networks only. The server extracts each hosted segment with
// ExtractSegment and checks it against SegmentDigest before serving, then answers
// RunSegment requests after validating every field (digests, dtypes, dims, byte lengths,
// size caps, int8 range): a malformed request gets INVALID_ARGUMENT or NOT_FOUND with a
// message naming what was wrong, never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/session.h"
#include "veil/status.h"

namespace veil::net {

inline constexpr int64_t kDefaultMaxMessageBytes = int64_t{64} << 20;
inline constexpr int64_t kDefaultMaxTensorBytes = int64_t{48} << 20;

struct NodeServerOptions {
  // "host:port"; port 0 picks a free port (see NodeServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // Segment indices (into graph.EffectiveSegments()) to host; at least one.
  std::vector<int> segments;
  SessionOptions session;
  // gRPC max receive and send message size.
  int64_t max_message_bytes = kDefaultMaxMessageBytes;
  // Cap on the total bytes of a request's input tensors.
  int64_t max_tensor_bytes = kDefaultMaxTensorBytes;
  // Called once per RunSegment request with a one-line summary (may be empty).
  std::function<void(const std::string&)> log;
};

class NodeServer {
 public:
  // Extracts and verifies the hosted segments of `graph`, then starts listening.
  static Result<std::unique_ptr<NodeServer>> Start(const Graph& graph, NodeServerOptions options);
  // LoadModel(path), then Start.
  static Result<std::unique_ptr<NodeServer>> StartFromFile(const std::string& path,
                                                           NodeServerOptions options);
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  int port() const;
  std::string address() const;  // "host:port" with the bound port
  const Digest& model_digest() const;

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
