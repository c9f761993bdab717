#include "veil/consensus/committee.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "framing.h"

namespace veil::consensus {

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kConsensus:
      return "consensus";
    case Mode::kAudit:
      return "audit";
  }
  return "unknown";
}

uint32_t DefaultQuorum(uint32_t committee_size) { return committee_size / 2 + 1; }

bool IsValidRequestId(std::string_view request_id) {
  if (request_id.empty() || request_id.size() > 64) return false;
  for (char c : request_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ValidateRoundParams(const RoundParams& p) {
  if (!IsValidRequestId(p.request_id))
    return Status::InvalidArgument("request id must be 1..64 characters of [A-Za-z0-9._:-]");
  if (p.mode != Mode::kConsensus && p.mode != Mode::kAudit)
    return Status::InvalidArgument("unknown mode " + std::to_string(static_cast<uint32_t>(p.mode)));
  if (p.eligible.empty()) return Status::InvalidArgument("no eligible nodes");
  if (p.eligible.size() > kMaxEligibleNodes)
    return Status::InvalidArgument("more than " + std::to_string(kMaxEligibleNodes) +
                                   " eligible nodes");
  std::vector<registry::PublicKey> keys;
  keys.reserve(p.eligible.size());
  for (const EligibleNode& n : p.eligible) {
    if (n.weight == 0 || n.weight > kMaxSelectionWeight)
      return Status::InvalidArgument("eligible node " + registry::NodeIdOf(n.key) +
                                     ": weight must be 1..2^32");
    keys.push_back(n.key);
  }
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end())
    return Status::InvalidArgument("an eligible node is listed twice");
  if (p.mode == Mode::kConsensus) {
    const uint32_t r = p.committee_size, q = p.quorum;
    if (r < 1 || r > kMaxCommitteeSize)
      return Status::InvalidArgument("committee size must be 1.." +
                                     std::to_string(kMaxCommitteeSize));
    if (q < 1 || q > r || 2 * q <= r)
      return Status::InvalidArgument("quorum " + std::to_string(q) + " of " + std::to_string(r) +
                                     " must satisfy 1 <= q <= r and q > r/2");
    if (r > p.eligible.size())
      return Status::InvalidArgument("committee size " + std::to_string(r) + " exceeds the " +
                                     std::to_string(p.eligible.size()) + " eligible nodes");
    if (p.audit_per_million != 0)
      return Status::InvalidArgument("audit probability is only meaningful in audit mode");
  } else {
    if (p.committee_size != 1 || p.quorum != 1)
      return Status::InvalidArgument("audit mode takes committee size 1 and quorum 1");
    if (p.audit_per_million > kAuditProbabilityScale)
      return Status::InvalidArgument("audit probability must be 0..1000000 per million");
    if (p.audit_per_million > 0 && p.eligible.size() < 2)
      return Status::InvalidArgument("audit mode with a nonzero audit probability needs 2 nodes");
  }
  return Status::Ok();
}

std::vector<uint8_t> SelectionAlpha(const RoundParams& p) {
  std::vector<EligibleNode> eligible = p.eligible;
  std::sort(eligible.begin(), eligible.end(),
            [](const EligibleNode& a, const EligibleNode& b) { return a.key < b.key; });
  Framer f("veil/consensus/v1/round");
  f.Bytes(p.model_digest);
  f.String(p.request_id);
  f.Bytes(p.public_seed);
  f.U32(static_cast<uint32_t>(p.mode));
  f.U32(p.segment_index);
  f.Bytes(p.segment_digest);
  f.U32(p.committee_size);
  f.U32(p.quorum);
  f.U32(p.audit_per_million);
  f.U64(eligible.size());
  for (const EligibleNode& n : eligible) {
    f.Bytes(n.key);
    f.U64(n.weight);
  }
  return f.Take();
}

Digest RoundDigest(const RoundParams& params) { return Sha256(SelectionAlpha(params)); }

registry::PublicKey DesignatedSelector(const RoundParams& p) {
  registry::PublicKey best{};
  Digest best_rank{};
  bool first = true;
  for (const EligibleNode& n : p.eligible) {
    Framer f("veil/consensus/v1/selector");
    f.Bytes(p.public_seed);
    f.Bytes(p.model_digest);
    f.U32(p.segment_index);
    f.Bytes(n.key);
    const Digest rank = Sha256(f.Take());
    if (first || rank < best_rank || (rank == best_rank && n.key < best)) {
      best = n.key;
      best_rank = rank;
      first = false;
    }
  }
  return best;
}

uint64_t SelectionWeight(double reputation) {
  if (!(reputation > 0)) return 1;  // also NaN
  if (reputation > 1) reputation = 1;
  const double scaled = std::floor(std::ldexp(reputation, 20));
  return std::max<uint64_t>(1, static_cast<uint64_t>(scaled));
}

namespace {

// Uniform in [0, bound) from the VRF output, by rejection sampling on 64-bit words drawn from
// SHA-256(tag || seed || purpose || ctr): no modulo bias, integers only.
uint64_t UniformBelow(const VrfOutput& seed, uint32_t purpose, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;  // largest multiple - 1
  for (uint32_t ctr = 0;; ++ctr) {
    Framer f("veil/consensus/v1/draw");
    f.Bytes(seed);
    f.U32(purpose);
    f.U32(ctr);
    const Digest d = Sha256(f.Take());
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | d[static_cast<size_t>(i)];
    if (v <= limit) return v % bound;
  }
}

constexpr uint32_t kPurposeAudit = 0xffffffffu;
constexpr uint32_t kPurposeTrial = 0xfffffffeu;

Selection Draw(const RoundParams& p, const VrfOutput& beta) {
  Selection s;
  s.output = beta;
  uint32_t size = p.committee_size;
  s.quorum = p.quorum;
  if (p.mode == Mode::kAudit) {
    s.audited = UniformBelow(beta, kPurposeAudit, kAuditProbabilityScale) < p.audit_per_million;
    size = s.audited ? 2 : 1;
    s.quorum = size;
  }
  s.committee = SampleWeighted(beta, p.eligible, size);
  return s;
}

}  // namespace

std::vector<registry::PublicKey> SampleWeighted(const VrfOutput& seed,
                                                std::vector<EligibleNode> eligible,
                                                uint32_t count) {
  std::sort(eligible.begin(), eligible.end(),
            [](const EligibleNode& a, const EligibleNode& b) { return a.key < b.key; });
  std::vector<registry::PublicKey> out;
  for (uint32_t j = 0; j < count && !eligible.empty(); ++j) {
    uint64_t total = 0;
    for (const EligibleNode& n : eligible) total += n.weight;  // <= 4096 * 2^32: no overflow
    uint64_t x = UniformBelow(seed, j, total);
    size_t i = 0;
    while (x >= eligible[i].weight) x -= eligible[i++].weight;
    out.push_back(eligible[i].key);
    eligible.erase(eligible.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return out;
}

bool PickTrialObserver(const VrfOutput& seed, std::span<const registry::PublicKey> trial_nodes,
                       registry::PublicKey* observer) {
  if (trial_nodes.empty()) return false;
  std::vector<registry::PublicKey> sorted(trial_nodes.begin(), trial_nodes.end());
  std::sort(sorted.begin(), sorted.end());
  *observer = sorted[UniformBelow(seed, kPurposeTrial, sorted.size())];
  return true;
}

Result<Selection> DrawCommittee(const registry::Identity& selector, const RoundParams& params) {
  VEIL_RETURN_IF_ERROR(ValidateRoundParams(params));
  const registry::PublicKey designated = DesignatedSelector(params);
  if (selector.public_key() != designated)
    return Status::FailedPrecondition("node " + selector.node_id() +
                                      " is not the designated selector for this round (" +
                                      registry::NodeIdOf(designated) + " is)");
  const std::vector<uint8_t> alpha = SelectionAlpha(params);
  VEIL_ASSIGN_OR_RETURN(const VrfProof proof, VrfProve(selector, alpha));
  VEIL_ASSIGN_OR_RETURN(const VrfOutput beta, VrfProofToHash(proof));
  Selection s = Draw(params, beta);
  s.selector = designated;
  s.proof = proof;
  return s;
}

Result<Selection> CheckCommittee(const RoundParams& params, const registry::PublicKey& selector,
                                 const VrfProof& proof) {
  VEIL_RETURN_IF_ERROR(ValidateRoundParams(params));
  const registry::PublicKey designated = DesignatedSelector(params);
  if (selector != designated)
    return Status::Corrupt("selection was proved by " + registry::NodeIdOf(selector) +
                           ", but the designated selector is " + registry::NodeIdOf(designated));
  const std::vector<uint8_t> alpha = SelectionAlpha(params);
  Result<VrfOutput> beta = VrfVerify(selector, alpha, proof);
  if (!beta.ok()) return beta.status().WithContext("selection proof");
  Selection s = Draw(params, *beta);
  s.selector = selector;
  s.proof = proof;
  return s;
}

}  // namespace veil::consensus
