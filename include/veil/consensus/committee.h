// Committee selection (docs/consensus.md "Committees").
//
// For one segment of one request, a committee of r nodes is drawn from the eligible nodes
// (active nodes hosting the segment, each with an integer selection weight derived from its
// reputation). The draw is seeded by a VRF output: the designated selector — the eligible node
// whose key hashes lowest with the public seed, so nobody picks it per request — proves the VRF
// over the round's canonical bytes (SelectionAlpha), which bind the model, the segment, the
// request id, the public seed, the mode, r, q and the whole eligible set with weights. Anyone
// holding the round parameters and the proof re-derives the same committee (CheckCommittee).
//
// Guarantees: the client cannot bias the draw (it cannot evaluate the selector's VRF, and any
// change to the round changes alpha); the selector cannot bias it either (a VRF has one valid
// output per key and input). The draw is integer-only weighted sampling without replacement
// with rejection sampling, so it is bit-for-bit reproducible everywhere. What it does not
// guarantee: that the eligible set is complete (check it against a registry snapshot), or that
// a client did not try many request ids by asking a colluding selector for proofs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/consensus/vrf.h"
#include "veil/digest.h"
#include "veil/registry/identity.h"
#include "veil/status.h"

namespace veil::consensus {

inline constexpr size_t kMaxEligibleNodes = 4096;
inline constexpr uint32_t kMaxCommitteeSize = 64;
inline constexpr uint64_t kMaxSelectionWeight = uint64_t{1} << 32;
inline constexpr uint32_t kAuditProbabilityScale = 1'000'000;  // audit_per_million / 1e6

enum class Mode : uint32_t {
  // r members run the segment; accepted when q agree bit for bit.
  kConsensus = 1,
  // One member runs it; with probability audit_per_million / 1e6 (drawn from the same VRF
  // output) a second member re-runs it and both must agree.
  kAudit = 2,
};
const char* ModeName(Mode mode);

struct EligibleNode {
  registry::PublicKey key{};
  uint64_t weight = 0;  // 1..kMaxSelectionWeight; see SelectionWeight
};

// Everything that determines a segment's committee. committee_size / quorum: r and q for
// kConsensus (1 <= q <= r, 2q > r, r <= eligible count); for kAudit both must be 1 and
// audit_per_million (0..1e6) gives the audit probability.
struct RoundParams {
  Digest model_digest{};
  std::string request_id;  // 1..64 characters of [A-Za-z0-9._:-] (as on the node wire)
  Digest public_seed{};    // the network's public seed for the epoch
  Mode mode = Mode::kConsensus;
  uint32_t segment_index = 0;
  Digest segment_digest{};
  uint32_t committee_size = 3;
  uint32_t quorum = 2;
  uint32_t audit_per_million = 0;
  std::vector<EligibleNode> eligible;  // distinct keys, any order
};

// The strict majority of r: r / 2 + 1.
uint32_t DefaultQuorum(uint32_t committee_size);

// True iff request_id is 1..64 characters of [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view request_id);

// Checks every rule stated on RoundParams; the error names the first broken one.
Status ValidateRoundParams(const RoundParams& params);

// The VRF input: a domain tag and every field of `params` in a fixed framing, the eligible set
// sorted by key. Requires valid params.
std::vector<uint8_t> SelectionAlpha(const RoundParams& params);

// SHA-256 of SelectionAlpha: the name of the round that members' commitments sign.
Digest RoundDigest(const RoundParams& params);

// The eligible node that must prove the selection: minimal SHA-256(tag || public_seed ||
// model_digest || segment_index || key). Requires valid params.
registry::PublicKey DesignatedSelector(const RoundParams& params);

// Maps a reputation (clamped to [0, 1]) to an integer weight: max(1, floor(R * 2^20)). Exact in
// IEEE arithmetic, so every party computes the same weight from the same stored reputation.
uint64_t SelectionWeight(double reputation);

struct Selection {
  registry::PublicKey selector{};
  VrfProof proof{};
  VrfOutput output{};
  bool audited = false;                        // kAudit only: the second member re-runs the segment
  std::vector<registry::PublicKey> committee;  // in draw order
  uint32_t quorum = 0;                         // the quorum that applies to this committee
};

// The selector's side: proves the VRF over the round and draws the committee. Refuses if
// `selector` is not the designated selector for these params.
Result<Selection> DrawCommittee(const registry::Identity& selector, const RoundParams& params);

// Anyone's side: verifies the selector's proof and re-draws the committee.
Result<Selection> CheckCommittee(const RoundParams& params, const registry::PublicKey& selector,
                                 const VrfProof& proof);

// The deterministic draw from a VRF output (exposed for tests): `count` distinct nodes,
// weighted by weight, without replacement. Requires count <= eligible.size().
std::vector<registry::PublicKey> SampleWeighted(const VrfOutput& seed,
                                                std::vector<EligibleNode> eligible, uint32_t count);

// Trial nodes never vote. Each round may carry one trial node as a non-voting observer whose
// output is compared with the accepted one (a task whose result becomes known): this picks it,
// uniformly, from the VRF output of the round. Empty input gives no observer (returns false).
bool PickTrialObserver(const VrfOutput& seed, std::span<const registry::PublicKey> trial_nodes,
                       registry::PublicKey* observer);

}  // namespace veil::consensus
