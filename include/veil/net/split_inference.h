// U-shaped split inference across nodes (docs/net.md). The client runs the first and the
// last segment of a model itself, so that neither the raw input nor the final output
// leaves it, and the middle segments run on nodes as one chain: the client sends the
// first middle stage its inputs, each stage pushes its results straight to the next
// (veil.v1.Hop), and the last middle stage's results come back to the client for the
// head. If a node fails or stalls, the client excludes it, takes the next candidate for
// that segment and replays (for generation: the session's whole history), so the output
// bits are those of a failure-free run.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "veil/generate.h"
#include "veil/graph.h"
#include "veil/net/node_client.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

// Segment index -> candidate node addresses, in order of preference.
using Route = std::map<int, std::vector<std::string>>;

// Parses "seg1=host:port,seg2=host:port" (also "1=..."); alternates for failover are
// separated by '|': "seg1=a:1|b:2".
Result<Route> ParseRoute(const std::string& spec);

struct SplitOptions {
  SessionOptions session;  // for the client's own segments
  NodeClientOptions client;
  // Attempts per request (each failure excludes the failing node and retries).
  int max_attempts = 4;
  // Called on each failover with a one-line description (may be empty).
  std::function<void(const std::string&)> log;
};

using SplitStage = StageEvidence;  // served_by is "local" for the client's own segments

struct Failover {
  std::string failed_node;
  std::string error;
  double detection_ms = 0;  // from the start of the failed attempt to its error
  double recovery_ms = 0;   // from the error to the completed retry
};

struct SplitResult {
  std::vector<Tensor> outputs;  // graph outputs, in graph.outputs order
  std::vector<SplitStage> stages;
  std::vector<Failover> failovers;
};

struct SplitGenerateResult {
  GenerateResult generated;
  std::vector<SplitStage> stages;  // the route of the last step
  std::vector<Failover> failovers;
};

// Thread-safe: concurrent Run/Generate calls pipeline through the nodes (each stage works
// on a different request); the client's own two segments run one call at a time.
class SplitRunner {
 public:
  // `graph` is the whole model (the client holds the first and last segments); the route
  // must name at least one node for every middle segment, and no middle segment may read
  // a graph input or produce a graph output.
  static Result<std::unique_ptr<SplitRunner>> Create(const Graph& graph, const Route& route,
                                                     SplitOptions options = {});
  ~SplitRunner();

  // Replaces the candidate lists (e.g. when the registry's node set changes); nodes
  // excluded after failures stay excluded until they reappear in a new route.
  Status UpdateRoute(const Route& route);

  // The node the next request would use for each middle segment (segment 1 first).
  Result<std::vector<std::string>> NextNodes();

  // Runs the graph on `inputs` (as Session::Run).
  Result<SplitResult> Run(const std::vector<Tensor>& inputs);

  // Greedy generation for text models (as GenerateGreedy): each middle node keeps a
  // key/value cache for the request's session.
  Result<SplitGenerateResult> Generate(const std::vector<int>& prompt,
                                       const GenerateOptions& options);

 private:
  SplitRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
