// Dispute localisation (docs/consensus.md "Disputes").
//
// Each member keeps the RunTrace of its run: one digest per executed layer. Per-layer digests
// are not monotone (two runs can differ at layer 3 and agree again at layer 4), so both sides
// compare chained digests instead:
//     C_0 = SHA-256(tag || 0 || d_0),  C_i = SHA-256(tag || i || C_{i-1} || d_i)
// Once two chains differ they differ at every later index (collision resistance), so binary
// search finds the first layer whose digest differs. The trace root a member commits to
// (commit_reveal.h) is C_{L-1}, so neither side can change its trace after the dispute starts.
//
// LocateDivergence confirms the dispute at the last layer (1 comparison) and binary-searches
// the other L-1 candidates: at most ceil(log2 L) + 1 comparisons in all. The layer it returns
// is the one a referee recomputes from the (agreed) output of the layer before it.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "veil/consensus/commit_reveal.h"
#include "veil/digest.h"
#include "veil/registry/identity.h"
#include "veil/status.h"

namespace veil::consensus {

// The chained digests C_0..C_{L-1} of a per-layer trace.
std::vector<Digest> TraceChain(std::span<const Digest> layer_digests);

// C_{L-1}, or for an empty trace SHA-256(tag || "empty"): what a member commits to.
Digest TraceRoot(std::span<const Digest> layer_digests);

struct Divergence {
  size_t layer = 0;        // the first layer whose chained digests differ
  size_t comparisons = 0;  // chain comparisons made (<= ceil(log2 L) + 1)
};

// `chains_agree_at(i)` compares the two parties' C_i (in a live dispute: asks each for it).
// FailedPrecondition if the chains agree at the last layer (nothing to localise); InvalidArgument
// for layer_count == 0.
Result<Divergence> LocateDivergence(size_t layer_count,
                                    const std::function<bool(size_t)>& chains_agree_at);

// Both traces at hand: checks each against the trace root its member committed to, then
// locates the divergence. InvalidArgument on a length mismatch, Corrupt on a root mismatch.
Result<Divergence> LocateDivergence(std::span<const Digest> trace_a, const Digest& committed_root_a,
                                    std::span<const Digest> trace_b,
                                    const Digest& committed_root_b);

// ceil(log2 n) + 1 for n >= 1: the comparison bound.
size_t DivergenceComparisonBound(size_t layer_count);

// A member's per-layer digests (its RunTrace::node_digests for the segment).
struct MemberTrace {
  registry::PublicKey member{};
  std::vector<Digest> layer_digests;
};

// The evidence of a round without quorum: who disagrees with whom, their verified per-layer
// traces, and the first layer where the two largest groups diverge (what a referee recomputes).
struct Escalation {
  std::vector<OutputGroup> groups;           // from the outcome, largest first
  std::vector<MemberTrace> traces;           // only traces that match their member's committed root
  std::vector<std::string> rejected_traces;  // which traces did not, and why
  bool localized = false;  // a member of each of the two largest groups sent a trace
  registry::PublicKey member_a{}, member_b{};  // the two compared members
  Divergence divergence;                       // valid when localized
};

// Builds the escalation for a round that was not accepted (FailedPrecondition if it was, or if
// it has fewer than two groups). Traces from members outside every group, or not matching the
// trace root their member committed to, are rejected with a reason (never trusted).
Result<Escalation> Escalate(const RoundOutcome& outcome, std::span<const MemberTrace> traces);

}  // namespace veil::consensus
