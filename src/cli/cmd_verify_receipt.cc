// veil verify-receipt RECEIPT (--keys SNAPSHOT.json | --registry etcd://... ) [--json]
// Checks a consensus receipt offline (veil/consensus/receipt.h, docs/consensus.md): every
// signature, the committee draw, the quorum and the digests, against the node keys of a
// registry snapshot (`veil models --json > SNAPSHOT.json`) or of a live registry. Says what
// the receipt proves and what it does not.
// A proof receipt (`veil infer --mode proof`) is checked instead against the model owner's
// published model commitment, taken from the snapshot (its owner-signed record, checked
// against the owner key the snapshot names for the model) or from the live registry.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "commands.h"
#include "network_config.h"
#include "veil/consensus/receipt.h"
#include "veil/net/proof_inference.h"
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

Result<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("odd-length hex");
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not lowercase hex");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// The published commitment of the model with digest `model` in a `veil models --json`
// snapshot: the owner-signed record, checked against the owner key the snapshot names.
Result<zk::ModelCommitment> CommitmentFromSnapshot(const std::string& path, const Digest& model) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j["models"].is_array())
    return Status::InvalidArgument(path + " is not a `veil models --json` snapshot (no models)");
  const std::string want = DigestToHex(model);
  for (const auto& m : j["models"]) {
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string() ||
        m["digest"].get<std::string>() != want)
      continue;
    if (!m.contains("commitment") || !m["commitment"].is_object() ||
        !m["commitment"].contains("signed_record") || !m["commitment"]["signed_record"].is_string())
      return Status::NotFound(path + " has no published model commitment for model " +
                              want.substr(0, 16) +
                              " (the owner published none, or the "
                              "snapshot predates it)");
    registry::ModelRecord record;
    if (!m.contains("name") || !m["name"].is_string() || !m.contains("owner") ||
        !m["owner"].is_string() || !m.contains("segment_count") ||
        !m["segment_count"].is_number_unsigned())
      return Status::InvalidArgument(path + ": the model entry lacks name, owner or segments");
    record.name = m["name"].get<std::string>();
    record.model_digest = model;
    if (!DigestFromHex(m["owner"].get<std::string>(), &record.owner_key))
      return Status::InvalidArgument(path + ": owner is not 64 hex digits");
    const uint64_t count = m["segment_count"].get<uint64_t>();
    if (count == 0 || count > registry::kMaxManifestSegments)
      return Status::InvalidArgument(path + ": segment_count out of range");
    record.segments.resize(count);
    auto signed_record = FromHex(m["commitment"]["signed_record"].get<std::string>());
    if (!signed_record.ok())
      return Status::InvalidArgument(path +
                                     ": commitment record: " + signed_record.status().message());
    return net::OpenModelCommitment(*signed_record, record);
  }
  return Status::NotFound(path + " does not list model " + want.substr(0, 16));
}

int VerifyProofReceiptCommand(const VerifyReceiptArgs& args, const std::string& text,
                              const consensus::Receipt& decoded) {
  Result<zk::ModelCommitment> commitment = Status::Internal("unset");
  std::string source;
  if (!args.keys.empty()) {
    commitment = CommitmentFromSnapshot(args.keys, decoded.model_digest);
    source = "snapshot " + args.keys;
  } else {
    const std::string data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
    auto endpoint = ResolveRegistry(args.registry, data_dir);
    if (!endpoint.ok()) return Fail(endpoint.status());
    auto reg = registry::Registry::Connect(*endpoint);
    if (!reg.ok()) return Fail(reg.status());
    auto models = (*reg)->ListModels();
    if (!models.ok()) return Fail(models.status());
    commitment = Status::NotFound("registry " + *endpoint + " lists no model " +
                                  DigestToHex(decoded.model_digest).substr(0, 16));
    for (const auto& m : *models)
      if (m.model_digest == decoded.model_digest) commitment = net::FetchModelCommitment(**reg, m);
    source = "registry " + *endpoint + " (now)";
  }
  Result<consensus::ReceiptReport> report =
      commitment.ok() ? net::VerifyProofReceipt(text, *commitment, decoded.model_digest)
                      : Result<consensus::ReceiptReport>(commitment.status());
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
    std::cout << nlohmann::json{{"valid", true},
                                {"commitment_from", source},
                                {"model_digest", DigestToHex(r.model_digest)},
                                {"model_commitment", DigestToHex(r.proofs->model_commitment)},
                                {"request_id", r.request_id},
                                {"mode", "proof"},
                                {"first_segment", r.proofs->first_segment},
                                {"proofs", r.proofs->segment_proofs.size()},
                                {"proves", report->proves},
                                {"does_not_prove", report->does_not_prove}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "receipt verifies (model commitment from " << source << ")\n"
            << "  model " << DigestToHex(r.model_digest).substr(0, 16) << "  request "
            << r.request_id << "  mode proof  " << r.proofs->segment_proofs.size()
            << " segment proof(s)\n"
            << "it proves:\n";
  for (const auto& line : report->proves) std::cout << "  - " << line << "\n";
  std::cout << "it does not prove:\n";
  for (const auto& line : report->does_not_prove) std::cout << "  - " << line << "\n";
  return 0;
}

int RunVerifyReceipt(const VerifyReceiptArgs& args) {
  auto bytes = ReadWholeFile(args.receipt);
  if (!bytes.ok()) return Fail(bytes.status());
  {
    const std::string text(bytes->begin(), bytes->end());
    auto decoded = consensus::DecodeReceipt(text);
    if (decoded.ok() && decoded->is_proof()) return VerifyProofReceiptCommand(args, text, *decoded);
  }
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
  CLI::App* cmd = app.add_subcommand(
      "verify-receipt",
      "Check a consensus or proof receipt offline (docs/consensus.md, docs/zk.md)");
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
