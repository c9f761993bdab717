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

Result<Networked> ConnectNetworked(const std::string& name, const std::string& model_file,
                                   const std::string& registry_flag,
                                   const std::string& data_dir_flag, net::SplitOptions split) {
  const std::string data_dir = data_dir_flag.empty() ? DefaultDataDir() : data_dir_flag;
  VEIL_ASSIGN_OR_RETURN(std::string endpoint, ResolveRegistry(registry_flag, data_dir));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);  // the client identity lives below it
  Networked n;
  VEIL_ASSIGN_OR_RETURN(n.client, net::NetworkClient::Connect(endpoint, data_dir + "/client"));
  VEIL_ASSIGN_OR_RETURN(registry::ModelRecord record, n.client->registry().GetModel(name));
  std::string path = model_file;
  if (path.empty()) {
    VEIL_ASSIGN_OR_RETURN(NetworkConfig config, ReadNetworkConfig(data_dir));
    path = config.store + "/" + name + ".veil";
  }
  VEIL_ASSIGN_OR_RETURN(n.graph, LoadModel(path));
  VEIL_ASSIGN_OR_RETURN(n.runner, n.client->Runner(n.graph, record, std::move(split)));
  return n;
}

void PrintFailovers(const std::vector<net::Failover>& failovers) {
  for (const auto& f : failovers)
    std::cerr << "veil: failover: "
              << (f.failed_node.empty() ? "session replay" : "node " + f.failed_node + " failed")
              << " (detected in " << f.detection_ms << " ms), recovered in " << f.recovery_ms
              << " ms: " << f.error << "\n";
}

}  // namespace veil::cli
