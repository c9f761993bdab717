// veil models [--registry etcd://...] [--json]
// Lists what the network serves: each published model (digest, owner, segments) and, per
// middle segment, the registered nodes that host it with their measured throughput, and the
// owner's published zk model commitment (docs/zk.md "In the network"). The --json snapshot
// carries each commitment as the owner-signed registry record (hex), so that
// `veil verify-receipt --keys SNAPSHOT` checks proof receipts offline.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "network_config.h"
#include "veil/net/proof_inference.h"
#include "veil/registry/registry.h"

namespace veil::cli {
namespace {

struct ModelsArgs {
  std::string registry;
  std::string data_dir;
  bool json = false;
};

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    out.push_back(digits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

int RunModels(const ModelsArgs& args) {
  const std::string data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  auto endpoint = ResolveRegistry(args.registry, data_dir);
  if (!endpoint.ok()) return Fail(endpoint.status());
  auto reg = registry::Registry::Connect(*endpoint);
  if (!reg.ok()) return Fail(reg.status());
  auto models = (*reg)->ListModels();
  if (!models.ok()) return Fail(models.status());
  auto nodes = (*reg)->ListNodes();
  if (!nodes.ok()) return Fail(nodes.status());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : *models) {
    nlohmann::json model = {{"name", m.name},
                            {"digest", DigestToHex(m.model_digest)},
                            {"owner", registry::NodeIdOf(m.owner_key)},
                            {"segment_count", m.segments.size()}};
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& entry : m.segments) {
      nlohmann::json hosts = nlohmann::json::array();
      for (const auto& node : *nodes)
        for (const auto& h : node.segments)
          if (h.model_digest == m.model_digest && h.segment_index == entry.index &&
              h.segment_digest == entry.segment_digest)
            hosts.push_back({{"node", node.node_id()},
                             {"address", node.grpc_address},
                             {"samples_per_s", h.throughput_samples_per_s}});
      segments.push_back({{"index", entry.index},
                          {"digest", DigestToHex(entry.segment_digest)},
                          {"bytes", entry.byte_size},
                          {"hosts", hosts}});
    }
    model["segments"] = segments;
    std::string signed_record;
    auto commitment = net::FetchModelCommitment(**reg, m, &signed_record);
    if (commitment.ok()) {
      model["commitment"] = {{"digest", DigestToHex(commitment->digest)},
                             {"signed_record", Hex(signed_record)}};
    } else if (commitment.status().code() != StatusCode::kNotFound) {
      model["commitment_error"] = commitment.status().message();
    }
    out.push_back(model);
  }
  if (args.json) {
    // Every registered participant's key: the snapshot `veil verify-receipt --keys` reads.
    nlohmann::json participants = nlohmann::json::array();
    for (const auto& node : *nodes)
      participants.push_back({{"node", node.node_id()}, {"address", node.grpc_address}});
    std::cout
        << nlohmann::json{{"registry", *endpoint}, {"models", out}, {"nodes", participants}}.dump()
        << "\n";
    return 0;
  }
  std::cout << "registry " << *endpoint << ": " << models->size() << " model(s), " << nodes->size()
            << " registered participant(s)\n";
  for (const auto& model : out) {
    std::cout << model["name"].get<std::string>() << "  "
              << model["digest"].get<std::string>().substr(0, 16) << "  "
              << model["segment_count"].get<size_t>() << " segments";
    if (model.contains("commitment"))
      std::cout << "  zk commitment "
                << model["commitment"]["digest"].get<std::string>().substr(0, 16);
    if (model.contains("commitment_error"))
      std::cout << "  (invalid commitment record: " << model["commitment_error"].get<std::string>()
                << ")";
    std::cout << "\n";
    for (const auto& seg : model["segments"]) {
      std::cout << "  segment " << seg["index"].get<uint32_t>() << ": ";
      if (seg["hosts"].empty()) std::cout << "client-side (first/last) or unhosted";
      for (const auto& h : seg["hosts"])
        std::cout << h["address"].get<std::string>() << " ("
                  << static_cast<int64_t>(h["samples_per_s"].get<double>()) << "/s) ";
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

void AddModelsCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<ModelsArgs>();
  CLI::App* cmd = app.add_subcommand("models", "List the models a veil network serves");
  cmd->add_option("--registry", args->registry,
                  "etcd://HOST:PORT (default: the network of veil up)");
  cmd->add_option("--data-dir", args->data_dir, "where veil up keeps its state");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([run, args] { *run = [args] { return RunModels(*args); }; });
}

}  // namespace veil::cli
