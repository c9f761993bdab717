#include "verified_infer.h"

#include <cmath>
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "veil/model_file.h"
#include "veil/net/verified_inference.h"

namespace veil::cli {
namespace {

// Nodes that host segments of `graph` with the digests the model's record names.
std::vector<net::CandidateNode> Candidates(const std::vector<registry::NodeRecord>& nodes,
                                           const registry::ModelRecord& record) {
  std::vector<net::CandidateNode> out;
  for (const auto& node : nodes) {
    net::CandidateNode c{node.node_key, node.grpc_address, {}};
    for (const auto& h : node.segments)
      if (h.model_digest == record.model_digest && h.segment_index < record.segments.size() &&
          record.segments[h.segment_index].segment_digest == h.segment_digest)
        c.segments.push_back(static_cast<int>(h.segment_index));
    if (!c.segments.empty()) out.push_back(std::move(c));
  }
  return out;
}

std::string Short(const registry::PublicKey& key) { return registry::NodeIdOf(key).substr(0, 12); }

}  // namespace

Result<Tensor> RunVerified(net::NetworkClient& client, const Graph& graph,
                           const std::vector<Tensor>& inputs, int64_t chunk,
                           const VerifiedInferOptions& options,
                           std::vector<net::SplitStage>* stages) {
  net::VerifiedOptions vo;
  if (options.mode == "consensus") {
    vo.mode = consensus::Mode::kConsensus;
  } else if (options.mode == "audit") {
    vo.mode = consensus::Mode::kAudit;
  } else {
    return Status::InvalidArgument("verified mode must be consensus or audit");
  }
  if (!(options.audit_probability >= 0 && options.audit_probability <= 1))
    return Status::InvalidArgument("--audit-probability must lie in [0, 1]");
  vo.committee_size = options.committee;
  vo.quorum = options.quorum;
  vo.audit_per_million = static_cast<uint32_t>(std::lround(options.audit_probability * 1e6));
  vo.max_escalations = options.max_escalations;
  vo.session = options.session;
  vo.client.security = client.security();
  vo.client.deadline_ms = options.deadline_ms;
  vo.log = [](const std::string& line) { std::cerr << "veil: " << line << "\n"; };

  registry::Registry& reg = client.registry();
  VEIL_ASSIGN_OR_RETURN(registry::ModelRecord record, reg.GetModel(options.model_name));
  if (record.model_digest != ModelDigest(graph))
    return Status::FailedPrecondition("the model file does not match the published record");
  VEIL_ASSIGN_OR_RETURN(std::vector<registry::NodeRecord> nodes, reg.ListNodes());

  // The client's reputation book lives in the registry under its own key.
  VEIL_ASSIGN_OR_RETURN(consensus::ReputationBook book, consensus::ReputationBook::Create());
  auto stored = reg.GetState(client.identity().public_key(), net::kReputationStateName);
  if (stored.ok()) {
    if (Status s = book.Decode(*stored); !s.ok())
      std::cerr << "veil: ignoring the stored reputation book: " << s.message() << "\n";
  } else if (stored.status().code() != StatusCode::kNotFound) {
    std::cerr << "veil: ignoring the stored reputation book: " << stored.status().message() << "\n";
  }

  VEIL_ASSIGN_OR_RETURN(auto runner,
                        net::VerifiedRunner::Create(graph, Candidates(nodes, record), vo, &book));
  Tensor output;
  const int64_t batch = inputs[0].dim(0);
  int request = 0;
  Status failure = Status::Ok();
  for (int64_t b = 0; b < batch; b += chunk, ++request) {
    std::vector<Tensor> part;
    for (const Tensor& t : inputs) part.push_back(BatchRows(t, b, std::min(chunk, batch - b)));
    auto result = runner->Run(part);
    if (!result.ok()) {
      failure = result.status();
      break;
    }
    AppendBatch(&output, result->outputs[0]);
    stages->clear();
    for (const auto& v : result->segments) {
      std::string served = std::string(consensus::ModeName(vo.mode)) + " committee";
      for (const auto& k : v.committee) served += " " + Short(k);
      if (v.rounds > 1) served += " (after " + std::to_string(v.rounds - 1) + " escalation(s))";
      stages->push_back({v.segment_index, ModelDigest(graph), served, {}});
      for (const auto& f : v.faults)
        std::cerr << "veil: segment " << v.segment_index << ": node " << Short(f.member)
                  << " marked faulty: " << f.reason << "\n";
    }
    if (!options.receipt_path.empty()) {
      const std::string path = request == 0 ? options.receipt_path
                                            : options.receipt_path + "." + std::to_string(request);
      const auto& bytes = result->receipt_bytes;
      VEIL_RETURN_IF_ERROR(WriteFileWithMode(
          path,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
          0644));
      std::cerr << "veil: receipt for request " << result->request_id << " written to " << path
                << "\n";
    }
  }
  // Verdicts change reputations even when a request fails: keep them.
  if (Status s = reg.PutState(client.identity(), net::kReputationStateName, book.Encode()); !s.ok())
    std::cerr << "veil: could not store the reputation book: " << s.message() << "\n";
  if (!failure.ok()) return failure;
  return output;
}

}  // namespace veil::cli
