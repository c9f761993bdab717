#include "veil/consensus/dispute.h"

#include "framing.h"

namespace veil::consensus {

std::vector<Digest> TraceChain(std::span<const Digest> layer_digests) {
  std::vector<Digest> chain;
  chain.reserve(layer_digests.size());
  for (size_t i = 0; i < layer_digests.size(); ++i) {
    Framer f("veil/consensus/v1/trace");
    f.U64(i);
    if (i > 0) f.Bytes(chain.back());
    f.Bytes(layer_digests[i]);
    chain.push_back(Sha256(f.Take()));
  }
  return chain;
}

Digest TraceRoot(std::span<const Digest> layer_digests) {
  if (layer_digests.empty()) {
    Framer f("veil/consensus/v1/trace");
    f.String("empty");
    return Sha256(f.Take());
  }
  return TraceChain(layer_digests).back();
}

size_t DivergenceComparisonBound(size_t layer_count) {
  size_t log = 0;
  while ((size_t{1} << log) < layer_count) ++log;
  return log + 1;
}

Result<Divergence> LocateDivergence(size_t layer_count,
                                    const std::function<bool(size_t)>& chains_agree_at) {
  if (layer_count == 0) return Status::InvalidArgument("no layers to compare");
  Divergence d;
  ++d.comparisons;
  if (chains_agree_at(layer_count - 1))
    return Status::FailedPrecondition("the traces agree at the last layer: no dispute");
  // Invariant: the chains differ at hi; every index < lo agrees.
  size_t lo = 0, hi = layer_count - 1;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    ++d.comparisons;
    if (chains_agree_at(mid))
      lo = mid + 1;
    else
      hi = mid;
  }
  d.layer = hi;
  return d;
}

Result<Divergence> LocateDivergence(std::span<const Digest> trace_a, const Digest& committed_root_a,
                                    std::span<const Digest> trace_b,
                                    const Digest& committed_root_b) {
  if (trace_a.size() != trace_b.size())
    return Status::InvalidArgument("traces have different lengths (" +
                                   std::to_string(trace_a.size()) + " and " +
                                   std::to_string(trace_b.size()) + " layers)");
  if (TraceRoot(trace_a) != committed_root_a)
    return Status::Corrupt("first trace does not match its committed trace root");
  if (TraceRoot(trace_b) != committed_root_b)
    return Status::Corrupt("second trace does not match its committed trace root");
  const std::vector<Digest> a = TraceChain(trace_a), b = TraceChain(trace_b);
  return LocateDivergence(a.size(), [&](size_t i) { return a[i] == b[i]; });
}

Result<Escalation> Escalate(const RoundOutcome& outcome, std::span<const MemberTrace> traces) {
  if (outcome.accepted)
    return Status::FailedPrecondition("the round reached a quorum: nothing to escalate");
  if (outcome.groups.size() < 2)
    return Status::FailedPrecondition("fewer than two groups of opened votes: no disagreement");
  Escalation e;
  e.groups = outcome.groups;
  // The committed trace root of each member in a group, and its group index.
  auto find = [&](const registry::PublicKey& m, size_t* group, Digest* root) {
    for (size_t g = 0; g < e.groups.size(); ++g)
      for (size_t i = 0; i < e.groups[g].members.size(); ++i)
        if (e.groups[g].members[i] == m) {
          *group = g;
          *root = e.groups[g].trace_roots[i];
          return true;
        }
    return false;
  };
  const MemberTrace* first[2] = {nullptr, nullptr};
  Digest roots[2]{};
  for (const MemberTrace& t : traces) {
    size_t group = 0;
    Digest root{};
    const std::string id = registry::NodeIdOf(t.member);
    if (!find(t.member, &group, &root)) {
      e.rejected_traces.push_back("trace from " + id + ", who has no opened vote in this round");
      continue;
    }
    if (TraceRoot(t.layer_digests) != root) {
      e.rejected_traces.push_back("trace from " + id +
                                  " does not match the trace root it committed to");
      continue;
    }
    e.traces.push_back(t);
    if (group < 2 && first[group] == nullptr) {
      first[group] = &t;
      roots[group] = root;
    }
  }
  if (first[0] != nullptr && first[1] != nullptr) {
    Result<Divergence> d =
        LocateDivergence(first[0]->layer_digests, roots[0], first[1]->layer_digests, roots[1]);
    if (d.ok()) {
      e.localized = true;
      e.member_a = first[0]->member;
      e.member_b = first[1]->member;
      e.divergence = *d;
    } else {
      // Equal traces with different outputs, or traces of different lengths: the dispute is
      // not about a layer (e.g. one member ran another segment); report it as it is.
      e.rejected_traces.push_back(
          "cannot localise between " + registry::NodeIdOf(first[0]->member) + " and " +
          registry::NodeIdOf(first[1]->member) + ": " + d.status().message());
    }
  }
  return e;
}

}  // namespace veil::consensus
