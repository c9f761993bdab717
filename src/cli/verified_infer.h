// veil infer --mode consensus|audit: consensus-based verification through the network
// (veil/net/verified_inference.h, docs/consensus.md), with the client's reputation book kept
// in the registry and one receipt per request written next to --receipt.
#pragma once

#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/net/network.h"
#include "veil/net/split_inference.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::cli {

struct VerifiedInferOptions {
  std::string mode = "consensus";  // or "audit"
  uint32_t committee = 3;
  uint32_t quorum = 0;             // 0: strict majority
  double audit_probability = 0.1;  // audit mode
  int max_escalations = 1;
  std::string receipt_path;  // request i > 0 of a multi-chunk run: <path>.<i>
  std::string model_name;
  SessionOptions session;
  int64_t deadline_ms = 30000;
};

// Runs `inputs` (batch rows in chunks of `chunk`) through the network's committees; returns
// the output rows; `stages` gets one entry per segment naming who served it.
Result<Tensor> RunVerified(net::NetworkClient& client, const Graph& graph,
                           const std::vector<Tensor>& inputs, int64_t chunk,
                           const VerifiedInferOptions& options,
                           std::vector<net::SplitStage>* stages);

}  // namespace veil::cli
