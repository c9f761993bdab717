#include "network_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "veil/model_file.h"

namespace veil::cli {

std::string DefaultDataDir() {
  if (const char* home = std::getenv("VEIL_HOME"); home != nullptr && *home != '\0') return home;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.veil";
  return ".veil";
}

std::string NetworkConfigPath(const std::string& data_dir) { return data_dir + "/network.json"; }

Status WriteNetworkConfig(const std::string& data_dir, const NetworkConfig& config) {
  nlohmann::json j = {{"registry", config.registry}, {"store", config.store}, {"pid", config.pid}};
  j["nodes"] = nlohmann::json::array();
  for (const NetworkNode& n : config.nodes)
    j["nodes"].push_back({{"address", n.address},
                          {"metrics", n.metrics_address},
                          {"node_id", n.node_id},
                          {"pid", n.pid}});
  const std::string path = NetworkConfigPath(data_dir), tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Result<NetworkConfig> ReadNetworkConfig(const std::string& data_dir) {
  const std::string path = NetworkConfigPath(data_dir);
  std::ifstream in(path);
  if (!in)
    return Status::NotFound("no running network: " + path +
                            " is missing (start one with `veil up`, or pass --registry)");
  std::stringstream text;
  text << in.rdbuf();
  NetworkConfig config;
  try {
    const nlohmann::json j = nlohmann::json::parse(text.str());
    config.registry = j.at("registry").get<std::string>();
    config.store = j.at("store").get<std::string>();
    config.pid = j.at("pid").get<int>();
    for (const auto& n : j.at("nodes"))
      config.nodes.push_back({n.at("address").get<std::string>(),
                              n.at("metrics").get<std::string>(),
                              n.at("node_id").get<std::string>(), n.at("pid").get<int>()});
  } catch (const std::exception& e) {
    return Status::Corrupt(path + ": " + e.what());
  }
  return config;
}

Result<std::string> ResolveRegistry(const std::string& flag, const std::string& data_dir) {
  if (!flag.empty()) return flag;
  VEIL_ASSIGN_OR_RETURN(NetworkConfig config, ReadNetworkConfig(data_dir));
  return config.registry;
}

Result<Target> OpenTarget(const ModelSource& source, net::SplitOptions split) {
  if (source.model_name.empty() && source.model_file.empty())
    return Status::InvalidArgument("give a model file or --model NAME");
  if (!source.model_name.empty() && !source.route.empty())
    return Status::InvalidArgument("give --model NAME or --route, not both");
  if (!source.route.empty() && !source.insecure)
    return Status::InvalidArgument(
        "--route talks plaintext to standalone nodes; pass --insecure to confirm (tests and "
        "loopback only), or use --model NAME with a network");
  Target target;
  if (source.model_name.empty()) {
    VEIL_ASSIGN_OR_RETURN(target.graph, LoadModel(source.model_file));
    if (!source.route.empty()) {
      VEIL_ASSIGN_OR_RETURN(net::Route route, net::ParseRoute(source.route));
      VEIL_ASSIGN_OR_RETURN(target.runner,
                            net::SplitRunner::Create(target.graph, route, std::move(split)));
    }
    return target;
  }
  const std::string data_dir = source.data_dir.empty() ? DefaultDataDir() : source.data_dir;
  VEIL_ASSIGN_OR_RETURN(std::string endpoint, ResolveRegistry(source.registry, data_dir));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);  // the client identity lives below it
  VEIL_ASSIGN_OR_RETURN(target.client, net::NetworkClient::Connect(endpoint, data_dir + "/client"));
  VEIL_ASSIGN_OR_RETURN(registry::ModelRecord record,
                        target.client->registry().GetModel(source.model_name));
  std::string path = source.model_file;
  if (path.empty()) {
    VEIL_ASSIGN_OR_RETURN(NetworkConfig config, ReadNetworkConfig(data_dir));
    path = config.store + "/" + source.model_name + ".veil";
  }
  VEIL_ASSIGN_OR_RETURN(target.graph, LoadModel(path));
  VEIL_ASSIGN_OR_RETURN(target.runner,
                        target.client->Runner(target.graph, record, std::move(split)));
  return target;
}

void PrintFailovers(const std::vector<net::Failover>& failovers) {
  for (const auto& f : failovers)
    std::cerr << "veil: failover: "
              << (f.failed_node.empty() ? "session replay" : "node " + f.failed_node + " failed")
              << " (detected in " << f.detection_ms << " ms), recovered in " << f.recovery_ms
              << " ms: " << f.error << "\n";
}

}  // namespace veil::cli
