#include "proof_infer.h"

#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "veil/model_file.h"
#include "veil/net/proof_inference.h"

namespace veil::cli {

Result<Tensor> RunProofInfer(net::NetworkClient& client, const Graph& graph,
                             const std::vector<Tensor>& inputs, int64_t chunk,
                             const ProofInferOptions& options,
                             std::vector<net::SplitStage>* stages) {
  registry::Registry& reg = client.registry();
  VEIL_ASSIGN_OR_RETURN(registry::ModelRecord record, reg.GetModel(options.model_name));
  if (record.model_digest != ModelDigest(graph))
    return Status::FailedPrecondition("the model file does not match the published record");
  // The commitment the owner published, checked against the owner's signature.
  VEIL_ASSIGN_OR_RETURN(zk::ModelCommitment commitment, net::FetchModelCommitment(reg, record));
  VEIL_ASSIGN_OR_RETURN(std::vector<registry::NodeRecord> nodes, reg.ListNodes());
  net::ProofOptions po;
  po.session = options.session;
  po.client.security = client.security();
  po.client.deadline_ms = options.deadline_ms;
  po.log = [](const std::string& line) { std::cerr << "veil: " << line << "\n"; };
  std::vector<std::string> addresses;
  for (const auto& n : nodes)
    if (!n.segments.empty()) addresses.push_back(n.grpc_address);
  const auto rtt = net::MeasureRoundTrips(addresses, po.client, 2000);
  VEIL_ASSIGN_OR_RETURN(net::Route route, net::PlanRoute(record, nodes, rtt));
  VEIL_ASSIGN_OR_RETURN(auto runner, net::ProofRunner::Create(graph, commitment, route, po));

  Tensor output;
  const int64_t batch = inputs[0].dim(0);
  const int64_t step = std::max<int64_t>(1, std::min(chunk, net::kMaxProofBatch));
  int request = 0;
  for (int64_t b = 0; b < batch; b += step, ++request) {
    std::vector<Tensor> part;
    for (const Tensor& t : inputs) part.push_back(BatchRows(t, b, std::min(step, batch - b)));
    VEIL_ASSIGN_OR_RETURN(net::ProofRunResult result, runner->Run(part));
    AppendBatch(&output, result.outputs[0]);
    stages->clear();
    stages->push_back({0, ModelDigest(graph), "local", {}});
    for (const auto& s : result.stages) {
      std::cerr << "veil: segment " << s.segment_index << " proved by " << s.served_by << " ("
                << s.proof_bytes << " B proof, call " << static_cast<int64_t>(s.call_ms)
                << " ms, verified in " << static_cast<int64_t>(s.verify_ms) << " ms)\n";
      stages->push_back(
          {s.segment_index, ModelDigest(graph), s.served_by + " (proof verified)", {}});
    }
    stages->push_back(
        {static_cast<int>(record.segments.size()) - 1, ModelDigest(graph), "local", {}});
    if (!options.receipt_path.empty()) {
      const std::string path = request == 0 ? options.receipt_path
                                            : options.receipt_path + "." + std::to_string(request);
      const auto& bytes = result.receipt_bytes;
      VEIL_RETURN_IF_ERROR(WriteFileWithMode(
          path,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
          0644));
      std::cerr << "veil: proof receipt for request " << result.request_id << " written to " << path
                << "\n";
    }
  }
  return output;
}

}  // namespace veil::cli
