// NodeClient: calls a veil node (proto/veil/v1/node.proto) over one gRPC channel.
// Plaintext, unauthenticated in this slice (docs/net.md). Every call has a deadline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

struct NodeClientOptions {
  int64_t deadline_ms = 30000;
  int64_t max_message_bytes = int64_t{64} << 20;
};

struct HostedSegmentInfo {
  Digest model_digest{};
  int segment_index = 0;
  int segment_count = 0;
  Digest segment_digest{};
};

struct NodeInfo {
  std::string node_version;
  std::string model_name;
  std::vector<HostedSegmentInfo> segments;
  uint64_t max_message_bytes = 0;
  uint64_t max_tensor_bytes = 0;
};

struct SegmentReply {
  std::vector<Tensor> outputs;
  Digest segment_digest{};
  std::vector<Digest> trace_digests;
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
  Result<NodeInfo> Info();
  // Runs segment `segment_index` of model `model_digest` on the node. The reply is
  // checked: well-formed tensors, 32-byte digests, and the served segment digest equal
  // to `segment_digest`. A gRPC error becomes a Status naming the node and the code.
  Result<SegmentReply> RunSegment(const std::string& request_id, const Digest& model_digest,
                                  int segment_index, const Digest& segment_digest,
                                  const std::vector<Tensor>& inputs);

 private:
  NodeClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
