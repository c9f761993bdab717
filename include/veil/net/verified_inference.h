// Consensus-based verification across the network (docs/consensus.md): the client keeps the
// first and last segments (as in split inference) and runs every middle segment as a
// verified round on a committee of nodes:
//   1. the eligible set — active nodes hosting the segment, weighted by reputation — and the
//      round parameters are fixed; the round's designated selector proves the VRF draw of
//      the committee (SelectCommittee), which the client re-checks;
//   2. every member runs the segment and returns a signed commitment (Commit); the commit
//      phase closes at its deadline or when all members answered;
//   3. members reveal (Reveal); the client checks each reveal against its own digests and
//      applies the quorum rules (consensus::EvaluateRound);
//   4. without a quorum, the dispute between the two largest groups is localised by
//      bisection over the members' per-layer digests and the client, as referee, recomputes
//      that one layer from inputs it checks against the agreed digests; members whose layer
//      digest differs from the referee's are faulty; the round is retried (escalated) with
//      more members and the faulty ones excluded; when that fails too, Run returns an
//      error that carries the evidence — never an unverified answer;
//   5. every verdict updates the members' reputation (consensus::ReputationBook); new nodes
//      are in trial until they pass trial tasks whose result the client knows (it runs the
//      segment itself).
// The accepted rounds form the request's receipt (consensus/receipt.h), checkable offline.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/consensus/dispute.h"
#include "veil/consensus/receipt.h"
#include "veil/consensus/reputation.h"
#include "veil/graph.h"
#include "veil/net/node_client.h"
#include "veil/registry/identity.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::net {

// The public seed of an epoch: SHA-256 over a domain tag, the model digest and the epoch
// number floor(unix_seconds / 3600). Public and predictable on purpose: the committee's
// unpredictability comes from the selector's VRF key, not from the seed.
Digest EpochPublicSeed(const Digest& model_digest, int64_t unix_seconds);

struct VerifiedOptions {
  consensus::Mode mode = consensus::Mode::kConsensus;
  uint32_t committee_size = 3;          // r (consensus mode)
  uint32_t quorum = 0;                  // q; 0 = strict majority of r
  uint32_t audit_per_million = 100000;  // audit mode: probability of the second run, per 1e6
  int max_escalations = 1;              // retries of a segment without quorum
  uint32_t escalation_growth = 2;       // members added per escalation (consensus mode)
  int64_t commit_deadline_ms = 10000;   // the commit phase closes after this
  int64_t reveal_deadline_ms = 10000;
  Digest public_seed{};  // all zero: EpochPublicSeed(model, now)
  consensus::ReputationPolicy reputation;
  NodeClientOptions client;
  SessionOptions session;  // for the client's own segments, trial tasks and the referee
  std::function<void(const std::string&)> log;
};

// A node that may serve this model: its key and address, and the segments it hosts with the
// digests the model record names (the caller filters by digest).
struct CandidateNode {
  registry::PublicKey key{};
  std::string address;
  std::vector<int> segments;
};

// What the referee did for a round without quorum.
struct RefereeCheck {
  size_t layer = 0;        // the first diverging layer, recomputed by the client
  size_t comparisons = 0;  // bisection steps (<= ceil(log2 L) + 1)
  size_t layers = 0;       // L, the segment's layer count
  registry::PublicKey member_a{}, member_b{};
  bool a_matches = false, b_matches = false;  // their digest equals the referee's
};

struct SegmentVerdict {
  int segment_index = 0;
  int rounds = 0;                                 // 1 + escalations used
  std::vector<registry::PublicKey> committee;     // of the accepted round
  bool audited = false;                           // audit mode: a second member re-ran it
  std::vector<consensus::MemberFault> faults;     // every member found faulty, all rounds
  std::vector<RefereeCheck> referee_checks;       // one per round without quorum
  std::vector<registry::PublicKey> trial_passed;  // nodes that left trial here
  // Wall time of the accepted round's phases (ms): committee selection (the selector's
  // proof and its check), commit (members run the segment), reveal, and the client's
  // checks and receipt segment.
  double select_ms = 0, commit_ms = 0, reveal_ms = 0, evaluate_ms = 0;
};

struct VerifiedResult {
  std::vector<Tensor> outputs;
  std::string request_id;
  consensus::Receipt receipt;
  std::string receipt_bytes;  // EncodeReceipt(receipt)
  std::vector<SegmentVerdict> segments;
};

class VerifiedRunner {
 public:
  // `graph` is the whole model; every middle segment needs enough candidates. The book
  // (reputation state) is shared with the caller, who may persist it; it must outlive the
  // runner. Validates the options.
  static Result<std::unique_ptr<VerifiedRunner>> Create(const Graph& graph,
                                                        std::vector<CandidateNode> nodes,
                                                        VerifiedOptions options,
                                                        consensus::ReputationBook* book);
  ~VerifiedRunner();

  void UpdateNodes(std::vector<CandidateNode> nodes);

  // Runs the graph on `inputs` (as Session::Run). `request_id` empty: a random one.
  // One request at a time (calls are serialised).
  Result<VerifiedResult> Run(const std::vector<Tensor>& inputs, std::string request_id = "");

 private:
  VerifiedRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
