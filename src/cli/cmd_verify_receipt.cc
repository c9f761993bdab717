// veil verify-receipt RECEIPT (--keys SNAPSHOT.json | --registry etcd://... ) [--json]
// Checks a consensus receipt offline (veil/consensus/receipt.h, docs/consensus.md): every
// signature, the committee draw, the quorum and the digests, against the node keys of a
// registry snapshot (`veil models --json > SNAPSHOT.json`) or of a live registry. Says what
// the receipt proves and what it does not.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "commands.h"
#include "network_config.h"
#include "veil/consensus/receipt.h"
#include "veil/registry/registry.h"

namespace veil::cli {
namespace {

struct VerifyReceiptArgs {
  std::string receipt;
  std::string keys;
  std::string registry;
  std::string data_dir;
  bool json = false;
};

// Node ids from a `veil models --json` snapshot (its "nodes" array).
Result<std::set<std::string>> KeysFromSnapshot(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nodes") || !j["nodes"].is_array())
    return Status::InvalidArgument(path +
                                   " is not a `veil models --json` snapshot (no nodes array)");
  std::set<std::string> ids;
  for (const auto& n : j["nodes"]) {
    if (!n.is_object() || !n.contains("node") || !n["node"].is_string())
      return Status::InvalidArgument(path + ": a nodes entry has no node id");
    const std::string id = n["node"].get<std::string>();
    Digest parsed;
    if (!DigestFromHex(id, &parsed))
      return Status::InvalidArgument(path + ": node id '" + id + "' is not 64 hex digits");
    ids.insert(registry::NodeIdOf(parsed));
  }
  return ids;
}

int RunVerifyReceipt(const VerifyReceiptArgs& args) {
  auto bytes = ReadWholeFile(args.receipt);
  if (!bytes.ok()) return Fail(bytes.status());
  std::set<std::string> ids;
  std::string source;
  if (!args.keys.empty()) {
    auto keys = KeysFromSnapshot(args.keys);
    if (!keys.ok()) return Fail(keys.status());
    ids = std::move(keys).value();
    source = "snapshot " + args.keys;
  } else {
    const std::string data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
    auto endpoint = ResolveRegistry(args.registry, data_dir);
    if (!endpoint.ok()) return Fail(endpoint.status());
    auto reg = registry::Registry::Connect(*endpoint);
    if (!reg.ok()) return Fail(reg.status());
    auto nodes = (*reg)->ListNodes();
    if (!nodes.ok()) return Fail(nodes.status());
    for (const auto& n : *nodes) ids.insert(n.node_id());
    source = "registry " + *endpoint + " (now)";
  }
  const std::string text(bytes->begin(), bytes->end());
  auto report = consensus::VerifyReceipt(
      text, [&](const registry::PublicKey& k) { return ids.count(registry::NodeIdOf(k)) != 0; });
  if (!report.ok()) {
    if (args.json) {
      std::cout << nlohmann::json{{"valid", false}, {"error", report.status().message()}}.dump()
                << "\n";
      return 1;
    }
    return Fail(
        Status(report.status().code(), "receipt does not verify: " + report.status().message()));
  }
  const consensus::Receipt& r = report->receipt;
  if (args.json) {
    nlohmann::json segments = nlohmann::json::array();
    for (const auto& s : r.segments) {
      nlohmann::json members = nlohmann::json::array();
      for (const auto& c : s.commitments) members.push_back(registry::NodeIdOf(c.member));
      segments.push_back({{"segment", s.segment_index},
                          {"committee_size", s.committee_size},
                          {"quorum", s.quorum},
                          {"quorum_members", members}});
    }
    std::cout << nlohmann::json{{"valid", true},
                                {"keys", source},
                                {"model_digest", DigestToHex(r.model_digest)},
                                {"request_id", r.request_id},
                                {"mode", consensus::ModeName(r.mode)},
                                {"input_digest", DigestToHex(r.input_digest)},
                                {"output_digest", DigestToHex(r.output_digest)},
                                {"segments", segments},
                                {"proves", report->proves},
                                {"does_not_prove", report->does_not_prove}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "receipt verifies (keys from " << source << ")\n"
            << "  model " << DigestToHex(r.model_digest).substr(0, 16) << "  request "
            << r.request_id << "  mode " << consensus::ModeName(r.mode) << "  " << r.segments.size()
            << " segment(s)\n"
            << "it proves:\n";
  for (const auto& line : report->proves) std::cout << "  - " << line << "\n";
  std::cout << "it does not prove:\n";
  for (const auto& line : report->does_not_prove) std::cout << "  - " << line << "\n";
  return 0;
}

}  // namespace

void AddVerifyReceiptCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<VerifyReceiptArgs>();
  CLI::App* cmd =
      app.add_subcommand("verify-receipt", "Check a consensus receipt offline (docs/consensus.md)");
  cmd->add_option("receipt", args->receipt, "receipt file (veil infer --receipt)")->required();
  cmd->add_option("--keys", args->keys,
                  "registry snapshot with the node keys (veil models --json > FILE)");
  cmd->add_option("--registry", args->registry,
                  "or: take the keys from this registry now (default: the network of veil up)");
  cmd->add_option("--data-dir", args->data_dir, "where veil up keeps its state");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->callback([run, args] { *run = [args] { return RunVerifyReceipt(*args); }; });
}

}  // namespace veil::cli
