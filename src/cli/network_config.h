// The local network file that `veil up` writes (<data dir>/network.json) and that `veil
// models`, `veil infer --model` and `veil generate --model` read: where the registry is,
// where the published model files are, and which node processes `veil up` started.
#pragma once

#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/net/network.h"
#include "veil/net/split_inference.h"
#include "veil/status.h"

namespace veil::cli {

struct NetworkNode {
  std::string address;          // gRPC host:port
  std::string metrics_address;  // host:port of /metrics
  std::string node_id;
  int pid = 0;
};

struct NetworkConfig {
  std::string registry;  // etcd://host:port
  std::string store;     // directory of published model files
  int pid = 0;           // the `veil up` process
  std::vector<NetworkNode> nodes;
};

// $VEIL_HOME, else $HOME/.veil.
std::string DefaultDataDir();
std::string NetworkConfigPath(const std::string& data_dir);
Status WriteNetworkConfig(const std::string& data_dir, const NetworkConfig& config);
Result<NetworkConfig> ReadNetworkConfig(const std::string& data_dir);

// The registry endpoint: `flag` if given, else the running network's (veil up).
Result<std::string> ResolveRegistry(const std::string& flag, const std::string& data_dir);

// Where a request runs: the network (`model_name` set: the registry's record, and the model
// file `model_file` or the network's published copy, whose digest must match the record),
// a pinned route (`route` set), or nowhere yet (neither: the caller runs `graph` itself).
struct ModelSource {
  std::string model_file;
  std::string model_name;
  std::string registry;
  std::string data_dir;
  std::string route;
  bool insecure = false;  // required with `route`: standalone nodes talk plaintext
};
struct Target {
  std::unique_ptr<net::NetworkClient> client;  // set for the network
  std::shared_ptr<net::SplitRunner> runner;    // set for the network and for a route
  Graph graph;
};
// Checks the combination first: a model file or name, not a name and a route, and
// `insecure` with a route.
Result<Target> OpenTarget(const ModelSource& source, net::SplitOptions split);

// One stderr line per failover.
void PrintFailovers(const std::vector<net::Failover>& failovers);

}  // namespace veil::cli
