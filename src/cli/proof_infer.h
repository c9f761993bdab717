// veil infer --mode proof: every middle segment proven in zero knowledge by the node that
// runs it, each proof verified by the client before the next hop (veil/net/proof_inference.h,
// docs/zk.md "In the network"); one proof receipt per request written next to --receipt.
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

struct ProofInferOptions {
  std::string model_name;
  std::string receipt_path;  // request i > 0 of a multi-chunk run: <path>.<i>
  SessionOptions session;
  int64_t deadline_ms = 30000;
};

// Runs `inputs` (batch rows in chunks of at most `chunk` and net::kMaxProofBatch) through the
// nodes with proofs; returns the output rows; `stages` gets one entry per middle segment
// naming the node that proved it.
Result<Tensor> RunProofInfer(net::NetworkClient& client, const Graph& graph,
                             const std::vector<Tensor>& inputs, int64_t chunk,
                             const ProofInferOptions& options,
                             std::vector<net::SplitStage>* stages);

}  // namespace veil::cli
