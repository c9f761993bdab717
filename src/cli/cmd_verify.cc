// veil verify MODEL.commit PROOF... [--opening LAST.opening]
//
// Checks one segment proof or a chain (consecutive segments, each input commitment the
// previous output commitment) against the model commitment and names the first segment
// that fails. The commitment file alone suffices: its public description supplies the
// architecture and public parameters (shapes, multipliers, shifts, tables), and the weights
// enter only through their commitments. With --opening, also checks that the client's
// output opening opens the chain's final output commitment and prints it.
#include <chrono>
#include <iostream>

#include "commands.h"
#include "veil/zk/segment_proof.h"

namespace veil::cli {
namespace {

struct VerifyArgs {
  std::string commitment, opening;
  std::vector<std::string> proofs;
};

int RunVerify(const VerifyArgs& args) {
  auto commitment_bytes = ReadWholeFile(args.commitment);
  if (!commitment_bytes.ok()) return Fail(commitment_bytes.status());
  auto commitment = zk::ParseModelCommitment(*commitment_bytes);
  if (!commitment.ok()) return Fail(commitment.status().WithContext(args.commitment));
  auto graph = zk::PublicModel(*commitment);
  if (!graph.ok()) return Fail(graph.status().WithContext(args.commitment));
  std::vector<zk::SegmentProof> proofs;
  for (const std::string& path : args.proofs) {
    auto bytes = ReadWholeFile(path);
    if (!bytes.ok()) return Fail(bytes.status());
    auto proof = zk::ParseSegmentProof(*bytes, *graph);
    if (!proof.ok()) return Fail(proof.status().WithContext(path));
    proofs.push_back(std::move(proof).value());
  }
  const auto start = std::chrono::steady_clock::now();
  Status s = zk::VerifyChain(*graph, *commitment, proofs);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!s.ok()) {
    std::cout << "REJECTED: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "OK: segments " << proofs.front().segment << ".." << proofs.back().segment
            << " verified under model commitment " << DigestToHex(commitment->digest) << " in "
            << ms << " ms\n";
  if (!args.opening.empty()) {
    auto bytes = ReadWholeFile(args.opening);
    if (!bytes.ok()) return Fail(bytes.status());
    auto opening = zk::ParseActivationOpening(*bytes, zk::SegmentProofKey(*graph, *commitment));
    if (!opening.ok()) return Fail(opening.status().WithContext(args.opening));
    if (!(opening->commitment == proofs.back().output())) {
      std::cout << "REJECTED: the opening is not of the chain's output commitment\n";
      return 1;
    }
    std::cout << "output opens to int8";
    for (int8_t v : opening->values.i8()) std::cout << " " << static_cast<int>(v);
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "verify segment proofs (one, or a chain) against a model commitment");
  cmd->add_option("commitment", args->commitment,
                  "model commitment file (veil commit; carries the public model description)")
      ->required();
  cmd->add_option("proofs", args->proofs, "segment proofs, in segment order")->required();
  cmd->add_option("--opening", args->opening,
                  "the last proof's .opening: check it and print the output");
  cmd->callback([run, args] { *run = [args] { return RunVerify(*args); }; });
}

}  // namespace veil::cli
