#include "veil/consensus/reputation.h"

#include <algorithm>
#include <cmath>

namespace veil::consensus {

Status ValidateReputationPolicy(const ReputationPolicy& p) {
  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(p.penalty) || p.penalty <= 0 || p.penalty >= 1)
    return Status::InvalidArgument("reputation penalty factor must be in (0, 1)");
  if (!finite(p.reward) || p.reward < 1 || p.reward > 2)
    return Status::InvalidArgument("reputation reward factor must be in [1, 2]");
  if (!finite(p.min) || !finite(p.max) || !finite(p.initial) || p.min <= 0 || p.min > p.initial ||
      p.initial > p.max || p.max > 1)
    return Status::InvalidArgument("reputation range must satisfy 0 < min <= initial <= max <= 1");
  if (p.trial_passes < 1 || p.trial_passes > 1000)
    return Status::InvalidArgument("trial passes must be 1..1000");
  return Status::Ok();
}

double UpdateReputation(double reputation, bool faulty, const ReputationPolicy& p) {
  const double next = reputation * (faulty ? p.penalty : p.reward);
  return std::clamp(next, p.min, p.max);
}

Result<ReputationBook> ReputationBook::Create(ReputationPolicy policy) {
  VEIL_RETURN_IF_ERROR(ValidateReputationPolicy(policy));
  return ReputationBook(policy);
}

void ReputationBook::AddNode(const registry::PublicKey& node) { entries_.try_emplace(node); }

Status ReputationBook::RecordVerdict(const registry::PublicKey& node, bool faulty) {
  auto it = entries_.find(node);
  if (it == entries_.end())
    return Status::FailedPrecondition("node " + registry::NodeIdOf(node) + " is unknown");
  ReputationEntry& e = it->second;
  if (e.standing != Standing::kActive)
    return Status::FailedPrecondition("node " + registry::NodeIdOf(node) +
                                      " is in trial and does not vote");
  e.reputation = UpdateReputation(e.reputation, faulty, policy_);
  ++e.verdicts;
  if (faulty) ++e.faults;
  return Status::Ok();
}

Status ReputationBook::RecordTrial(const registry::PublicKey& node, bool matched) {
  auto it = entries_.find(node);
  if (it == entries_.end())
    return Status::FailedPrecondition("node " + registry::NodeIdOf(node) + " is unknown");
  ReputationEntry& e = it->second;
  if (e.standing != Standing::kTrial)
    return Status::FailedPrecondition("node " + registry::NodeIdOf(node) + " is not in trial");
  e.trial_streak = matched ? e.trial_streak + 1 : 0;
  if (e.trial_streak >= policy_.trial_passes) {
    e.standing = Standing::kActive;
    e.reputation = policy_.initial;
  }
  return Status::Ok();
}

const ReputationEntry* ReputationBook::Find(const registry::PublicKey& node) const {
  auto it = entries_.find(node);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<EligibleNode> ReputationBook::Eligible(
    const std::vector<registry::PublicKey>& hosting) const {
  std::vector<EligibleNode> out;
  for (const registry::PublicKey& k : hosting) {
    const ReputationEntry* e = Find(k);
    if (e != nullptr && e->standing == Standing::kActive)
      out.push_back({k, SelectionWeight(e->reputation)});
  }
  return out;
}

std::vector<registry::PublicKey> ReputationBook::InTrial(
    const std::vector<registry::PublicKey>& hosting) const {
  std::vector<registry::PublicKey> out;
  for (const registry::PublicKey& k : hosting) {
    const ReputationEntry* e = Find(k);
    if (e == nullptr || e->standing == Standing::kTrial) out.push_back(k);
  }
  return out;
}

}  // namespace veil::consensus
