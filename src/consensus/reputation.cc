#include "veil/consensus/reputation.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

namespace {

constexpr char kBookMagic[8] = {'V', 'R', 'E', 'P', 'B', 'K', '0', '1'};
constexpr size_t kEntryBytes = 32 + 1 + 8 + 4 + 8 + 8;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[at + static_cast<size_t>(i)])) << (8 * i);
  return v;
}

}  // namespace

std::string ReputationBook::Encode() const {
  std::string out(kBookMagic, sizeof kBookMagic);
  PutLe(&out, entries_.size(), 4);
  for (const auto& [key, e] : entries_) {
    out.append(reinterpret_cast<const char*>(key.data()), key.size());
    out.push_back(e.standing == Standing::kActive ? 1 : 0);
    uint64_t bits;
    std::memcpy(&bits, &e.reputation, sizeof bits);
    PutLe(&out, bits, 8);
    PutLe(&out, e.trial_streak, 4);
    PutLe(&out, e.verdicts, 8);
    PutLe(&out, e.faults, 8);
  }
  return out;
}

Status ReputationBook::Decode(std::string_view in) {
  if (in.size() < sizeof kBookMagic + 4 ||
      std::memcmp(in.data(), kBookMagic, sizeof kBookMagic) != 0)
    return Status::Corrupt("not a reputation book (bad magic or truncated header)");
  const uint64_t count = GetLe(in, sizeof kBookMagic, 4);
  if (count > kMaxBookEntries)
    return Status::Corrupt("reputation book has " + std::to_string(count) + " entries, limit " +
                           std::to_string(kMaxBookEntries));
  const size_t header = sizeof kBookMagic + 4;
  if (in.size() != header + count * kEntryBytes)
    return Status::Corrupt("reputation book is " + std::to_string(in.size()) + " bytes, expected " +
                           std::to_string(header + count * kEntryBytes));
  std::map<registry::PublicKey, ReputationEntry> entries;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = header + i * kEntryBytes;
    registry::PublicKey key{};
    std::memcpy(key.data(), in.data() + at, key.size());
    ReputationEntry e;
    const uint8_t standing = static_cast<uint8_t>(in[at + 32]);
    if (standing > 1)
      return Status::Corrupt("reputation book entry " + std::to_string(i) + ": bad standing");
    e.standing = standing == 1 ? Standing::kActive : Standing::kTrial;
    const uint64_t bits = GetLe(in, at + 33, 8);
    std::memcpy(&e.reputation, &bits, sizeof bits);
    e.trial_streak = static_cast<uint32_t>(GetLe(in, at + 41, 4));
    e.verdicts = GetLe(in, at + 45, 8);
    e.faults = GetLe(in, at + 53, 8);
    if (e.standing == Standing::kActive &&
        (!std::isfinite(e.reputation) || e.reputation < policy_.min || e.reputation > policy_.max))
      return Status::Corrupt("reputation book entry " + std::to_string(i) +
                             ": reputation outside the policy's range");
    if (e.faults > e.verdicts)
      return Status::Corrupt("reputation book entry " + std::to_string(i) +
                             ": more faults than verdicts");
    // Canonical: keys strictly increasing (as Encode writes them), so no key repeats.
    if (!entries.empty() && !(entries.rbegin()->first < key))
      return Status::Corrupt("reputation book keys are not strictly increasing");
    entries.emplace_hint(entries.end(), key, e);
  }
  entries_ = std::move(entries);
  return Status::Ok();
}

}  // namespace veil::consensus
