// Commit, then reveal; quorum (docs/consensus.md "Commit-reveal" and "Quorum").
//
// Each committee member runs the segment, then publishes a signed commitment
//     Sign(member key, "veil/consensus/v1/commit" 0x00 || round digest || input digest ||
//                      commitment hash)
//     commitment hash = SHA-256("veil/consensus/v1/open" 0x00 || member key || round digest ||
//                               output digest || trace root || nonce)
// with a fresh 32-byte nonce from the OS CSPRNG. Only after the commit phase closes (the
// caller's clock: the node or client running the round) does it publish the reveal (output
// digest, trace root, nonce). The commitment hides the output (the nonce is secret until the
// reveal) and binds the member's own key, so another member's commitment or reveal is useless
// to a copier: it cannot open it under its own key.
//
// EvaluateRound applies these rules, in this order, to what was published:
//  1. A commitment not signed by a committee member, or whose signature does not verify, is
//     rejected evidence: nobody is blamed for it (anyone can fabricate one).
//  2. A member with two different valid commitments equivocated: faulty.
//  3. A member without a valid commitment: faulty ("no commitment").
//  4. Reveals are unsigned, so only their absence is attributable: a member none of whose
//     reveals opens its commitment is faulty (named a copier if its reveal equals another
//     member's reveal, or its commitment hash equals another member's).
//  5. Members whose opening reveals share a nonce are all faulty: a CSPRNG nonce repeats with
//     probability 2^-256, so a shared nonce means one member learned another's before the
//     reveal phase (copying or collusion).
//  6. The remaining members are grouped by (input digest, output digest). If a group has at
//     least q members the round is accepted with that output and every member outside it is
//     faulty ("input or output disagrees with the quorum"). Otherwise the round is not
//     accepted, nobody is blamed for disagreeing, and the outcome lists the groups for
//     escalation (dispute.h: Escalate).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/registry/identity.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::consensus {

using Nonce = std::array<uint8_t, 32>;

// SHA-256 over a domain tag, the count and each tensor's TensorDigest (session.h), in order:
// the canonical name of a segment's inputs or outputs.
Digest TensorListDigest(std::span<const Digest> tensor_digests);
Digest TensorListDigest(const std::vector<Tensor>& tensors);

struct SignedCommitment {
  registry::PublicKey member{};
  Digest input_digest{};
  Digest commitment_hash{};
  registry::Signature signature{};
};

struct Reveal {
  registry::PublicKey member{};
  Digest output_digest{};
  Digest trace_root{};  // TraceRoot of the member's per-layer digests (dispute.h)
  Nonce nonce{};
};

// The commitment hash a reveal must reproduce (see the header comment).
Digest CommitmentHash(const registry::PublicKey& member, const Digest& round_digest,
                      const Digest& output_digest, const Digest& trace_root, const Nonce& nonce);

// The bytes a commitment signature covers.
std::vector<uint8_t> CommitmentMessage(const Digest& round_digest, const Digest& input_digest,
                                       const Digest& commitment_hash);

struct MemberSubmission {
  SignedCommitment commitment;  // publish in the commit phase
  Reveal reveal;                // publish after the commit phase closed
};

// A member's side: draws the nonce (OS CSPRNG), signs the commitment, prepares the reveal.
Result<MemberSubmission> CommitOutput(const registry::Identity& member, const Digest& round_digest,
                                      const Digest& input_digest, const Digest& output_digest,
                                      const Digest& trace_root);

// True iff the commitment's signature verifies for its member and this round.
bool VerifyCommitmentSignature(const Digest& round_digest, const SignedCommitment& commitment);

// True iff `reveal` opens `commitment` (same member, hash reproduced; constant-time compare).
bool RevealOpens(const Digest& round_digest, const SignedCommitment& commitment,
                 const Reveal& reveal);

struct MemberFault {
  registry::PublicKey member{};
  std::string reason;
};

struct OutputGroup {
  Digest input_digest{};
  Digest output_digest{};
  std::vector<registry::PublicKey> members;
  std::vector<Digest> trace_roots;  // per member, for dispute localisation
};

struct RoundOutcome {
  bool accepted = false;
  Digest input_digest{};                            // the quorum's, when accepted
  Digest output_digest{};                           // the quorum's, when accepted
  std::vector<registry::PublicKey> quorum_members;  // when accepted
  std::vector<MemberFault> faults;                  // members marked faulty, with the rule
  std::vector<std::string> rejected_evidence;       // rule 1: what was ignored and why
  std::vector<OutputGroup> groups;                  // all groups of rule 6, largest first
  // Members neither faulty nor outside the quorum (for reputation updates: M = 0).
  std::vector<registry::PublicKey> honest_members;
};

// Applies rules 1-6. `committee` are distinct keys; 1 <= quorum <= committee.size() and
// 2 * quorum > committee.size() (InvalidArgument otherwise).
Result<RoundOutcome> EvaluateRound(const Digest& round_digest,
                                   std::span<const registry::PublicKey> committee, uint32_t quorum,
                                   std::span<const SignedCommitment> commitments,
                                   std::span<const Reveal> reveals);

}  // namespace veil::consensus
