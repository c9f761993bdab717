#include "veil/consensus/commit_reveal.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>

#include "framing.h"
#include "veil/session.h"

namespace veil::consensus {

Digest TensorListDigest(std::span<const Digest> tensor_digests) {
  Framer f("veil/consensus/v1/tensors");
  f.U64(tensor_digests.size());
  for (const Digest& d : tensor_digests) f.Bytes(d);
  return Sha256(f.Take());
}

Digest TensorListDigest(const std::vector<Tensor>& tensors) {
  std::vector<Digest> digests;
  digests.reserve(tensors.size());
  for (const Tensor& t : tensors) digests.push_back(TensorDigest(t));
  return TensorListDigest(digests);
}

Digest CommitmentHash(const registry::PublicKey& member, const Digest& round_digest,
                      const Digest& output_digest, const Digest& trace_root, const Nonce& nonce) {
  Framer f("veil/consensus/v1/open");
  f.Bytes(member);
  f.Bytes(round_digest);
  f.Bytes(output_digest);
  f.Bytes(trace_root);
  f.Bytes(nonce);
  return Sha256(f.Take());
}

std::vector<uint8_t> CommitmentMessage(const Digest& round_digest, const Digest& input_digest,
                                       const Digest& commitment_hash) {
  Framer f("veil/consensus/v1/commit");
  f.Bytes(round_digest);
  f.Bytes(input_digest);
  f.Bytes(commitment_hash);
  return f.Take();
}

Result<MemberSubmission> CommitOutput(const registry::Identity& member, const Digest& round_digest,
                                      const Digest& input_digest, const Digest& output_digest,
                                      const Digest& trace_root) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  MemberSubmission s;
  randombytes_buf(s.reveal.nonce.data(), s.reveal.nonce.size());
  s.reveal.member = member.public_key();
  s.reveal.output_digest = output_digest;
  s.reveal.trace_root = trace_root;
  s.commitment.member = member.public_key();
  s.commitment.input_digest = input_digest;
  s.commitment.commitment_hash =
      CommitmentHash(member.public_key(), round_digest, output_digest, trace_root, s.reveal.nonce);
  s.commitment.signature =
      member.Sign(CommitmentMessage(round_digest, input_digest, s.commitment.commitment_hash));
  return s;
}

bool VerifyCommitmentSignature(const Digest& round_digest, const SignedCommitment& c) {
  return registry::Identity::Verify(
      c.member, CommitmentMessage(round_digest, c.input_digest, c.commitment_hash), c.signature);
}

bool RevealOpens(const Digest& round_digest, const SignedCommitment& c, const Reveal& r) {
  if (r.member != c.member) return false;
  const Digest h = CommitmentHash(r.member, round_digest, r.output_digest, r.trace_root, r.nonce);
  return sodium_memcmp(h.data(), c.commitment_hash.data(), h.size()) == 0;
}

namespace {

std::string Id(const registry::PublicKey& k) { return registry::NodeIdOf(k); }

bool SameReveal(const Reveal& a, const Reveal& b) {
  return a.output_digest == b.output_digest && a.trace_root == b.trace_root && a.nonce == b.nonce;
}

}  // namespace

Result<RoundOutcome> EvaluateRound(const Digest& round_digest,
                                   std::span<const registry::PublicKey> committee, uint32_t quorum,
                                   std::span<const SignedCommitment> commitments,
                                   std::span<const Reveal> reveals) {
  const size_t r = committee.size();
  if (r == 0 || quorum < 1 || quorum > r || 2 * size_t{quorum} <= r)
    return Status::InvalidArgument("quorum " + std::to_string(quorum) + " of " + std::to_string(r) +
                                   " must satisfy 1 <= q <= r and q > r/2");
  const std::set<registry::PublicKey> members(committee.begin(), committee.end());
  if (members.size() != r) return Status::InvalidArgument("committee lists a member twice");

  RoundOutcome out;
  std::map<registry::PublicKey, std::string> faulty;  // member -> first rule it broke
  auto mark = [&](const registry::PublicKey& m, std::string reason) {
    faulty.emplace(m, std::move(reason));
  };

  // Rules 1-3: the valid, distinct commitments of each member.
  std::map<registry::PublicKey, std::vector<const SignedCommitment*>> valid;
  for (const SignedCommitment& c : commitments) {
    if (!members.count(c.member)) {
      out.rejected_evidence.push_back("commitment signed by " + Id(c.member) +
                                      ", who is not in the committee");
      continue;
    }
    if (!VerifyCommitmentSignature(round_digest, c)) {
      out.rejected_evidence.push_back("commitment attributed to " + Id(c.member) +
                                      " has an invalid signature");
      continue;
    }
    auto& list = valid[c.member];
    const bool duplicate = std::any_of(list.begin(), list.end(), [&](const SignedCommitment* o) {
      return o->input_digest == c.input_digest && o->commitment_hash == c.commitment_hash;
    });
    if (!duplicate) list.push_back(&c);
  }
  for (const registry::PublicKey& m : committee) {
    auto it = valid.find(m);
    if (it == valid.end()) {
      mark(m, "no valid commitment");
    } else if (it->second.size() > 1) {
      mark(m, "equivocation: signed " + std::to_string(it->second.size()) +
                  " different commitments for this round");
    }
  }

  // Rule 4: an opening reveal per remaining member.
  std::map<registry::PublicKey, const Reveal*> opened;
  for (const registry::PublicKey& m : committee) {
    if (faulty.count(m)) continue;
    const SignedCommitment& c = *valid[m].front();
    const Reveal* opening = nullptr;
    const Reveal* claimed = nullptr;
    for (const Reveal& rv : reveals) {
      if (rv.member != m) continue;
      claimed = &rv;
      if (RevealOpens(round_digest, c, rv)) {
        opening = &rv;
        break;
      }
    }
    if (opening != nullptr) {
      opened[m] = opening;
      continue;
    }
    std::string reason = claimed == nullptr ? "no reveal" : "reveal does not open its commitment";
    for (const registry::PublicKey& other : committee) {
      if (other == m) continue;
      auto oc = valid.find(other);
      if (oc != valid.end() && oc->second.front()->commitment_hash == c.commitment_hash)
        reason += " (copied the commitment of " + Id(other) + ")";
      if (claimed != nullptr)
        for (const Reveal& rv : reveals)
          if (rv.member == other && SameReveal(rv, *claimed)) {
            reason += " (copied the reveal of " + Id(other) + ")";
            break;
          }
    }
    mark(m, reason);
  }

  // Rule 5: shared nonces.
  std::map<Nonce, std::vector<registry::PublicKey>> by_nonce;
  for (const auto& [m, rv] : opened) by_nonce[rv->nonce].push_back(m);
  for (const auto& [nonce, ms] : by_nonce) {
    if (ms.size() < 2) continue;
    for (const registry::PublicKey& m : ms) {
      std::string others;
      for (const registry::PublicKey& o : ms)
        if (o != m) others += (others.empty() ? "" : ", ") + Id(o);
      mark(m, "reveal nonce equals that of " + others + " (copying or collusion)");
    }
  }

  // Rule 6: groups and quorum, over members in committee order.
  for (const registry::PublicKey& m : committee) {
    if (faulty.count(m)) continue;
    const Digest& in = valid[m].front()->input_digest;
    const Reveal& rv = *opened[m];
    auto g = std::find_if(out.groups.begin(), out.groups.end(), [&](const OutputGroup& x) {
      return x.input_digest == in && x.output_digest == rv.output_digest;
    });
    if (g == out.groups.end()) {
      out.groups.push_back({in, rv.output_digest, {}, {}});
      g = out.groups.end() - 1;
    }
    g->members.push_back(m);
    g->trace_roots.push_back(rv.trace_root);
  }
  std::stable_sort(out.groups.begin(), out.groups.end(),
                   [](const OutputGroup& a, const OutputGroup& b) {
                     return a.members.size() > b.members.size();
                   });
  if (!out.groups.empty() && out.groups.front().members.size() >= quorum) {
    const OutputGroup& winner = out.groups.front();
    out.accepted = true;
    out.input_digest = winner.input_digest;
    out.output_digest = winner.output_digest;
    out.quorum_members = winner.members;
    for (size_t i = 1; i < out.groups.size(); ++i)
      for (const registry::PublicKey& m : out.groups[i].members)
        mark(m, "input or output disagrees with the quorum");
  }
  for (const registry::PublicKey& m : committee) {
    auto f = faulty.find(m);
    if (f != faulty.end())
      out.faults.push_back({m, f->second});
    else
      out.honest_members.push_back(m);
  }
  return out;
}

}  // namespace veil::consensus
