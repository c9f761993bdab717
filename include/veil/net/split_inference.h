// U-shaped split inference (issue 3, first slice): the client runs the first and the
// last segment of a model itself, so that neither the raw input nor the final output
// leaves it, and each middle segment on a remote node. In this slice the client relays
// activations between stages (issue 3 asks for node-to-node push; see docs/net.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/net/node_client.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

// segment index -> node address, e.g. {1: "127.0.0.1:5001", 2: "127.0.0.1:5002"}.
using Route = std::map<int, std::string>;

// Parses "seg1=host:port,seg2=host:port" (also "1=host:port").
Result<Route> ParseRoute(const std::string& spec);

struct SplitStage {
  int segment_index = 0;
  std::string served_by;  // "local" or the node address
  std::vector<Digest> trace_digests;
};

struct SplitResult {
  std::vector<Tensor> outputs;  // graph outputs, in graph.outputs order
  std::vector<SplitStage> stages;
};

class SplitRunner {
 public:
  // `graph` is the whole model (the client holds the first and last segments); the route
  // must name a node for every segment except the first and the last (which must not be
  // routed), and no remote segment may read a graph input or produce a graph output.
  static Result<std::unique_ptr<SplitRunner>> Create(const Graph& graph, const Route& route,
                                                     SessionOptions session = {},
                                                     NodeClientOptions client = {});
  ~SplitRunner();

  // Runs the graph on `inputs` (as Session::Run), segment by segment.
  Result<SplitResult> Run(const std::vector<Tensor>& inputs);

 private:
  SplitRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
