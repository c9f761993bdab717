// Reputation (docs/consensus.md "Reputation").
//
// After every verdict each member's reputation becomes
//     R' = clamp(R * penalty^M * reward^(1 - M), min, max),   M = 1 if faulty, else 0
// (defaults: penalty 0.8, reward 1.01, range [0.01, 1]). A new node starts in trial: it never
// votes; it runs segments as a non-voting observer (PickTrialObserver) and its output is
// compared with the accepted one, a task whose result becomes known. After `trial_passes`
// consecutive matches it becomes active with reputation `initial`; a mismatch restarts the
// count. The book is plain state: the caller persists it (e.g. in the registry).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "veil/consensus/committee.h"
#include "veil/registry/identity.h"
#include "veil/status.h"

namespace veil::consensus {

struct ReputationPolicy {
  double penalty = 0.8;  // factor for a faulty verdict, in (0, 1)
  double reward = 1.01;  // factor for an honest verdict, in [1, 2]
  double min = 0.01;     // clamp range, 0 < min <= initial <= max <= 1
  double max = 1.0;
  double initial = 0.5;       // reputation on leaving trial
  uint32_t trial_passes = 3;  // consecutive matching trial tasks needed, 1..1000
};

Status ValidateReputationPolicy(const ReputationPolicy& policy);

// R' for one verdict (policy assumed valid).
double UpdateReputation(double reputation, bool faulty, const ReputationPolicy& policy);

enum class Standing { kTrial, kActive };

struct ReputationEntry {
  Standing standing = Standing::kTrial;
  double reputation = 0;      // meaningful when active
  uint32_t trial_streak = 0;  // consecutive passed trial tasks
  uint64_t verdicts = 0;      // voting verdicts recorded
  uint64_t faults = 0;        // of which faulty
};

inline constexpr size_t kMaxBookEntries = 1u << 20;

class ReputationBook {
 public:
  static Result<ReputationBook> Create(ReputationPolicy policy = {});

  // A node seen for the first time starts in trial. Idempotent.
  void AddNode(const registry::PublicKey& node);
  // Active members of a round: R updated by the rule above. FailedPrecondition for a node in
  // trial or unknown (trial nodes do not vote).
  Status RecordVerdict(const registry::PublicKey& node, bool faulty);
  // A trial node's observer result: `matched` = its output equalled the accepted output.
  Status RecordTrial(const registry::PublicKey& node, bool matched);

  const ReputationEntry* Find(const registry::PublicKey& node) const;
  size_t size() const { return entries_.size(); }
  const std::map<registry::PublicKey, ReputationEntry>& entries() const { return entries_; }

  // Persistence (e.g. as a registry state record, registry.h PutState): a versioned binary
  // encoding of every entry. Decode checks the magic, the count (<= kMaxBookEntries), each
  // standing, and that every reputation is finite and within the policy's [min, max].
  std::string Encode() const;
  Status Decode(std::string_view bytes);
  // Active nodes among `hosting`, with SelectionWeight(reputation): RoundParams::eligible.
  std::vector<EligibleNode> Eligible(const std::vector<registry::PublicKey>& hosting) const;
  // Trial nodes among `hosting` (observer candidates).
  std::vector<registry::PublicKey> InTrial(const std::vector<registry::PublicKey>& hosting) const;

 private:
  explicit ReputationBook(ReputationPolicy policy) : policy_(policy) {}
  ReputationPolicy policy_;
  std::map<registry::PublicKey, ReputationEntry> entries_;
};

}  // namespace veil::consensus
