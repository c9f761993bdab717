// Committee draw, commit-reveal and quorum rules (every fault of issue 4's list that the
// library can see: wrong output, stale answer, equivocation, copied commitment or reveal,
// missing commitment or reveal, forged evidence), dispute bisection, reputation.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "consensus_test_util.h"
#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/consensus/dispute.h"
#include "veil/consensus/reputation.h"
#include "veil/session.h"

namespace veil::consensus {
namespace {

using registry::PublicKey;

Digest D(uint8_t tag) {
  Digest d{};
  d.fill(tag);
  return d;
}

RoundParams Params(const testing::Nodes& nodes, size_t eligible, uint32_t r, uint32_t q,
                   const std::string& request_id = "req-1") {
  RoundParams p;
  p.model_digest = D(1);
  p.request_id = request_id;
  p.public_seed = D(2);
  p.segment_index = 1;
  p.segment_digest = D(3);
  p.committee_size = r;
  p.quorum = q;
  for (size_t i = 0; i < eligible; ++i) p.eligible.push_back({nodes[i].public_key(), 1u << 19});
  return p;
}

const registry::Identity& SelectorOf(const testing::Nodes& nodes, const RoundParams& p) {
  const registry::Identity* id = nodes.Find(DesignatedSelector(p));
  EXPECT_NE(id, nullptr);
  return *id;
}

// ---------------------------------------------------------------- committees

TEST(ConsensusCommitteeTest, ValidatesParameters) {
  testing::Nodes nodes(4);
  EXPECT_TRUE(ValidateRoundParams(Params(nodes, 4, 3, 2)).ok());
  EXPECT_TRUE(ValidateRoundParams(Params(nodes, 4, 3, 3)).ok());
  EXPECT_TRUE(ValidateRoundParams(Params(nodes, 4, 4, 3)).ok());
  EXPECT_TRUE(ValidateRoundParams(Params(nodes, 4, 1, 1)).ok());
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 3, 1)).ok());  // q <= r/2
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 4, 2)).ok());  // q <= r/2
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 3, 4)).ok());  // q > r
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 3, 0)).ok());
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 0, 0)).ok());
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 2, 3, 2)).ok());  // r > eligible
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 3, 2, "bad id")).ok());
  EXPECT_FALSE(ValidateRoundParams(Params(nodes, 4, 3, 2, "")).ok());
  RoundParams dup = Params(nodes, 4, 3, 2);
  dup.eligible[1].key = dup.eligible[0].key;
  EXPECT_FALSE(ValidateRoundParams(dup).ok());
  RoundParams zero = Params(nodes, 4, 3, 2);
  zero.eligible[2].weight = 0;
  EXPECT_FALSE(ValidateRoundParams(zero).ok());
  RoundParams audit = Params(nodes, 4, 1, 1);
  audit.mode = Mode::kAudit;
  audit.audit_per_million = 100000;
  EXPECT_TRUE(ValidateRoundParams(audit).ok());
  audit.audit_per_million = 1000001;
  EXPECT_FALSE(ValidateRoundParams(audit).ok());
  audit.audit_per_million = 10;
  audit.committee_size = 3;
  audit.quorum = 2;
  EXPECT_FALSE(ValidateRoundParams(audit).ok());
  RoundParams consensus_with_audit = Params(nodes, 4, 3, 2);
  consensus_with_audit.audit_per_million = 5;
  EXPECT_FALSE(ValidateRoundParams(consensus_with_audit).ok());
  EXPECT_EQ(DefaultQuorum(1), 1u);
  EXPECT_EQ(DefaultQuorum(3), 2u);
  EXPECT_EQ(DefaultQuorum(4), 3u);
  EXPECT_EQ(DefaultQuorum(7), 4u);
}

TEST(ConsensusCommitteeTest, DrawIsReproducibleAndOrderIndependent) {
  testing::Nodes nodes(7);
  RoundParams p = Params(nodes, 7, 3, 2);
  auto drawn = DrawCommittee(SelectorOf(nodes, p), p);
  ASSERT_TRUE(drawn.ok()) << drawn.status().ToString();
  ASSERT_EQ(drawn->committee.size(), 3u);
  std::vector<PublicKey> sorted = drawn->committee;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_EQ(drawn->quorum, 2u);
  auto checked = CheckCommittee(p, drawn->selector, drawn->proof);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->committee, drawn->committee);
  EXPECT_EQ(checked->output, drawn->output);
  // The eligible list's order does not matter.
  RoundParams shuffled = p;
  std::reverse(shuffled.eligible.begin(), shuffled.eligible.end());
  EXPECT_EQ(DesignatedSelector(shuffled), DesignatedSelector(p));
  auto again = CheckCommittee(shuffled, drawn->selector, drawn->proof);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->committee, drawn->committee);
}

TEST(ConsensusCommitteeTest, OnlyTheDesignatedSelectorCanDraw) {
  testing::Nodes nodes(5);
  RoundParams p = Params(nodes, 5, 3, 2);
  const PublicKey designated = DesignatedSelector(p);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].public_key() == designated) continue;
    auto refused = DrawCommittee(nodes[i], p);
    EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
    // A valid VRF proof by a non-designated node is refused by checkers too.
    auto proof = VrfProve(nodes[i], SelectionAlpha(p));
    ASSERT_TRUE(proof.ok());
    auto checked = CheckCommittee(p, nodes[i].public_key(), *proof);
    EXPECT_FALSE(checked.ok());
    EXPECT_NE(checked.status().message().find("designated selector"), std::string::npos);
  }
}

TEST(ConsensusCommitteeTest, ProofIsBoundToEveryRoundField) {
  testing::Nodes nodes(6);
  const RoundParams p = Params(nodes, 6, 3, 2);
  auto drawn = DrawCommittee(SelectorOf(nodes, p), p);
  ASSERT_TRUE(drawn.ok());
  std::vector<std::pair<std::string, RoundParams>> changed;
  auto add = [&](const char* what, auto edit) {
    RoundParams c = p;
    edit(c);
    changed.emplace_back(what, c);
  };
  add("model", [](RoundParams& c) { c.model_digest[0] ^= 1; });
  add("request id", [](RoundParams& c) { c.request_id = "req-2"; });
  add("seed", [](RoundParams& c) { c.public_seed[31] ^= 1; });
  add("segment index", [](RoundParams& c) { c.segment_index = 2; });
  add("segment digest", [](RoundParams& c) { c.segment_digest[5] ^= 1; });
  add("committee size", [](RoundParams& c) { c.committee_size = 5, c.quorum = 3; });
  add("quorum", [](RoundParams& c) { c.quorum = 3; });
  add("weight", [](RoundParams& c) { c.eligible[0].weight += 1; });
  add("removed node", [&](RoundParams& c) {
    // Remove a node that is not the designated selector.
    for (size_t i = 0; i < c.eligible.size(); ++i)
      if (c.eligible[i].key != drawn->selector) {
        c.eligible.erase(c.eligible.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
  });
  for (const auto& [what, c] : changed) {
    SCOPED_TRACE(what);
    // Refused either because the proof no longer verifies or because the change designates
    // another selector.
    EXPECT_FALSE(CheckCommittee(c, drawn->selector, drawn->proof).ok());
  }
}

TEST(ConsensusCommitteeTest, ReputationWeightsThePreference) {
  // Deterministic seeds: the expected share of the heavy node as first pick is 4/7.
  std::vector<EligibleNode> eligible(4);
  for (size_t i = 0; i < eligible.size(); ++i) {
    eligible[i].key.fill(static_cast<uint8_t>(i + 1));
    eligible[i].weight = SelectionWeight(0.25);
  }
  eligible[2].weight = SelectionWeight(1.0);
  constexpr int kDraws = 4000;
  int heavy_first = 0;
  std::map<PublicKey, int> picked;
  for (int i = 0; i < kDraws; ++i) {
    VrfOutput seed{};
    const Digest h =
        Sha256(std::vector<uint8_t>{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8)});
    std::copy(h.begin(), h.end(), seed.begin());
    const std::vector<PublicKey> c = SampleWeighted(seed, eligible, 2);
    ASSERT_EQ(c.size(), 2u);
    ASSERT_NE(c[0], c[1]);
    if (c[0] == eligible[2].key) ++heavy_first;
    for (const PublicKey& k : c) ++picked[k];
  }
  const double share = static_cast<double>(heavy_first) / kDraws;
  EXPECT_GT(share, 0.53);
  EXPECT_LT(share, 0.61);
  EXPECT_GT(picked[eligible[2].key], picked[eligible[0].key]);
}

TEST(ConsensusCommitteeTest, SelectionWeightIsExact) {
  EXPECT_EQ(SelectionWeight(1.0), 1u << 20);
  EXPECT_EQ(SelectionWeight(0.5), 1u << 19);
  EXPECT_EQ(SelectionWeight(2.0), 1u << 20);
  EXPECT_EQ(SelectionWeight(0.0), 1u);
  EXPECT_EQ(SelectionWeight(-1.0), 1u);
  EXPECT_EQ(SelectionWeight(std::nan("")), 1u);
  EXPECT_EQ(SelectionWeight(1e-9), 1u);
}

TEST(ConsensusCommitteeTest, AuditModeDrawsTheSecondNodeWithTheConfiguredProbability) {
  testing::Nodes nodes(3);
  int audited = 0;
  constexpr int kRounds = 200;
  for (int i = 0; i < kRounds; ++i) {
    RoundParams p = Params(nodes, 3, 1, 1, "audit-" + std::to_string(i));
    p.mode = Mode::kAudit;
    p.audit_per_million = 250000;
    auto s = DrawCommittee(SelectorOf(nodes, p), p);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->committee.size(), s->audited ? 2u : 1u);
    EXPECT_EQ(s->quorum, s->committee.size());
    audited += s->audited;
  }
  EXPECT_GT(audited, 20);  // expected 50 of 200 (keys are fresh per run: > 4.9 sd margin)
  EXPECT_LT(audited, kRounds / 2);
  for (uint32_t per_million : {0u, 1000000u}) {
    RoundParams p = Params(nodes, 3, 1, 1);
    p.mode = Mode::kAudit;
    p.audit_per_million = per_million;
    auto s = DrawCommittee(SelectorOf(nodes, p), p);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->audited, per_million != 0);
  }
}

TEST(ConsensusCommitteeTest, TrialObserver) {
  VrfOutput seed{};
  seed[0] = 9;
  PublicKey observer{};
  EXPECT_FALSE(PickTrialObserver(seed, {}, &observer));
  std::vector<PublicKey> trial(3);
  for (size_t i = 0; i < trial.size(); ++i) trial[i].fill(static_cast<uint8_t>(10 + i));
  ASSERT_TRUE(PickTrialObserver(seed, trial, &observer));
  EXPECT_NE(std::find(trial.begin(), trial.end(), observer), trial.end());
  std::reverse(trial.begin(), trial.end());
  PublicKey again{};
  ASSERT_TRUE(PickTrialObserver(seed, trial, &again));
  EXPECT_EQ(again, observer);
}

// ---------------------------------------------------------------- commit-reveal and quorum

// One round: every member's commitment and reveal, editable before evaluation.
struct Round {
  Digest round_digest{};
  std::vector<PublicKey> committee;
  std::vector<SignedCommitment> commitments;
  std::vector<Reveal> reveals;
  Result<RoundOutcome> Evaluate(uint32_t q) const {
    return EvaluateRound(round_digest, committee, q, commitments, reveals);
  }
};

const Digest kInput = D(0x10);
const Digest kOutput = D(0x20);
const Digest kTrace = D(0x30);

Round HonestRound(const testing::Nodes& nodes, size_t r) {
  Round round;
  round.round_digest = D(0x77);
  for (size_t i = 0; i < r; ++i) {
    round.committee.push_back(nodes[i].public_key());
    auto s = CommitOutput(nodes[i], round.round_digest, kInput, kOutput, kTrace);
    EXPECT_TRUE(s.ok());
    round.commitments.push_back(s->commitment);
    round.reveals.push_back(s->reveal);
  }
  return round;
}

std::string FaultOf(const RoundOutcome& o, const PublicKey& m) {
  for (const MemberFault& f : o.faults)
    if (f.member == m) return f.reason;
  return "";
}

TEST(ConsensusRoundTest, TensorListDigestNamesExactOutputs) {
  Tensor a(DType::kInt8, {1, 4}), b(DType::kInt8, {1, 4}), c(DType::kInt8, {2, 2});
  b.i8()[3] = 1;  // one element differs
  const std::vector<Tensor> ab = {a, b};
  const Digest d = TensorListDigest(ab);
  const std::vector<Digest> parts = {TensorDigest(a), TensorDigest(b)};
  EXPECT_EQ(d, TensorListDigest(parts));
  EXPECT_NE(d, TensorListDigest(std::vector<Tensor>{b, a}));  // order matters
  EXPECT_NE(d, TensorListDigest(std::vector<Tensor>{a, a}));  // one element
  EXPECT_NE(TensorListDigest(std::vector<Tensor>{a}), TensorListDigest(std::vector<Tensor>{c}));
  EXPECT_NE(TensorListDigest(std::vector<Tensor>{a}), TensorListDigest(std::vector<Tensor>{}));
}

TEST(ConsensusRoundTest, HonestCommitteeIsAccepted) {
  testing::Nodes nodes(3);
  const Round round = HonestRound(nodes, 3);
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_EQ(o->output_digest, kOutput);
  EXPECT_EQ(o->input_digest, kInput);
  EXPECT_EQ(o->quorum_members.size(), 3u);
  EXPECT_TRUE(o->faults.empty());
  EXPECT_EQ(o->honest_members.size(), 3u);
  EXPECT_TRUE(o->rejected_evidence.empty());
  // Nonces are fresh per commitment.
  EXPECT_NE(round.reveals[0].nonce, round.reveals[1].nonce);
}

TEST(ConsensusRoundTest, QuorumMustBeAStrictMajority) {
  testing::Nodes nodes(3);
  const Round round = HonestRound(nodes, 3);
  EXPECT_EQ(round.Evaluate(1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(round.Evaluate(4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(round.Evaluate(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(round.Evaluate(3).ok());
}

TEST(ConsensusRoundTest, WrongOutputIsOutvotedAndMarked) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  auto bad = CommitOutput(nodes[2], round.round_digest, kInput, D(0x21), D(0x31));
  round.commitments[2] = bad->commitment;
  round.reveals[2] = bad->reveal;
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_EQ(o->output_digest, kOutput);
  ASSERT_EQ(o->faults.size(), 1u);
  EXPECT_EQ(o->faults[0].member, nodes[2].public_key());
  EXPECT_EQ(o->faults[0].reason, "input or output disagrees with the quorum");
  EXPECT_EQ(o->quorum_members.size(), 2u);
}

TEST(ConsensusRoundTest, NoQuorumEscalatesWithoutBlame) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  for (size_t i = 1; i < 3; ++i) {
    auto bad = CommitOutput(nodes[i], round.round_digest, kInput, D(static_cast<uint8_t>(0x40 + i)),
                            D(static_cast<uint8_t>(0x50 + i)));
    round.commitments[i] = bad->commitment;
    round.reveals[i] = bad->reveal;
  }
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->accepted);
  EXPECT_TRUE(o->faults.empty());
  ASSERT_EQ(o->groups.size(), 3u);
  for (const OutputGroup& g : o->groups) {
    EXPECT_EQ(g.members.size(), 1u);
    EXPECT_EQ(g.trace_roots.size(), 1u);
  }
}

TEST(ConsensusRoundTest, DifferentInputIsADifferentVote) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  auto other = CommitOutput(nodes[1], round.round_digest, D(0x11), kOutput, kTrace);
  round.commitments[1] = other->commitment;
  round.reveals[1] = other->reveal;
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);  // nodes 0 and 2 agree on (input, output); node 1 does not
  EXPECT_EQ(o->groups.size(), 2u);
  EXPECT_EQ(FaultOf(*o, nodes[1].public_key()), "input or output disagrees with the quorum");
}

TEST(ConsensusRoundTest, MissingCommitmentOrRevealIsFaulty) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  round.commitments.erase(round.commitments.begin() + 1);
  round.reveals.erase(round.reveals.begin() + 2);
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->accepted);  // one valid vote left
  EXPECT_EQ(FaultOf(*o, nodes[1].public_key()), "no valid commitment");
  EXPECT_EQ(FaultOf(*o, nodes[2].public_key()), "no reveal");
  EXPECT_EQ(FaultOf(*o, nodes[0].public_key()), "");
}

TEST(ConsensusRoundTest, RevealThatDoesNotOpenIsFaulty) {
  testing::Nodes nodes(3);
  for (int field = 0; field < 3; ++field) {
    Round round = HonestRound(nodes, 3);
    Reveal& rv = round.reveals[0];
    if (field == 0) rv.output_digest[0] ^= 1;  // changed its answer after committing
    if (field == 1) rv.trace_root[0] ^= 1;
    if (field == 2) rv.nonce[0] ^= 1;
    auto o = round.Evaluate(2);
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->accepted);
    EXPECT_EQ(FaultOf(*o, nodes[0].public_key()), "reveal does not open its commitment");
  }
}

TEST(ConsensusRoundTest, StaleAnswerFromAnotherRoundIsRejected) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  // Node 2 replays its commitment and reveal from another request (another round digest).
  auto stale = CommitOutput(nodes[2], D(0x78), kInput, kOutput, kTrace);
  round.commitments[2] = stale->commitment;
  round.reveals[2] = stale->reveal;
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_EQ(FaultOf(*o, nodes[2].public_key()), "no valid commitment");
  ASSERT_EQ(o->rejected_evidence.size(), 1u);
  EXPECT_NE(o->rejected_evidence[0].find("invalid signature"), std::string::npos);
}

TEST(ConsensusRoundTest, EquivocationIsFaulty) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  auto second = CommitOutput(nodes[0], round.round_digest, kInput, D(0x22), kTrace);
  round.commitments.push_back(second->commitment);
  // The same commitment published twice is not equivocation.
  round.commitments.push_back(round.commitments[1]);
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_NE(FaultOf(*o, nodes[0].public_key()).find("equivocation"), std::string::npos);
  EXPECT_EQ(FaultOf(*o, nodes[1].public_key()), "");
}

TEST(ConsensusRoundTest, CopiedCommitmentIsCaughtAndTheOriginalIsNotBlamed) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  // Node 2 signs node 0's commitment hash as its own, then reveals node 0's opening.
  SignedCommitment copy;
  copy.member = nodes[2].public_key();
  copy.input_digest = kInput;
  copy.commitment_hash = round.commitments[0].commitment_hash;
  copy.signature =
      nodes[2].Sign(CommitmentMessage(round.round_digest, copy.input_digest, copy.commitment_hash));
  round.commitments[2] = copy;
  round.reveals[2] = round.reveals[0];
  round.reveals[2].member = nodes[2].public_key();
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  const std::string reason = FaultOf(*o, nodes[2].public_key());
  EXPECT_NE(reason.find("does not open"), std::string::npos) << reason;
  EXPECT_NE(reason.find("copied the commitment of " + nodes[0].node_id()), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("copied the reveal of " + nodes[0].node_id()), std::string::npos) << reason;
  EXPECT_EQ(FaultOf(*o, nodes[0].public_key()), "");
  EXPECT_EQ(o->faults.size(), 1u);
}

TEST(ConsensusRoundTest, CopiedRevealIsCaught) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  // Node 1 committed before it knew the answer (a guess), then copies node 0's reveal.
  auto guess = CommitOutput(nodes[1], round.round_digest, kInput, D(0x99), kTrace);
  round.commitments[1] = guess->commitment;
  round.reveals[1] = round.reveals[0];
  round.reveals[1].member = nodes[1].public_key();
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_NE(FaultOf(*o, nodes[1].public_key()).find("copied the reveal of " + nodes[0].node_id()),
            std::string::npos);
  EXPECT_EQ(FaultOf(*o, nodes[0].public_key()), "");
}

TEST(ConsensusRoundTest, SharedNonceMarksBothColluders) {
  testing::Nodes nodes(3);
  Round round = HonestRound(nodes, 3);
  // Nodes 1 and 2 share one nonce (one learned the other's before the reveal phase).
  const Nonce shared = round.reveals[1].nonce;
  round.reveals[2].nonce = shared;
  round.commitments[2].commitment_hash =
      CommitmentHash(nodes[2].public_key(), round.round_digest, kOutput, kTrace, shared);
  round.commitments[2].signature = nodes[2].Sign(
      CommitmentMessage(round.round_digest, kInput, round.commitments[2].commitment_hash));
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->accepted);  // only node 0 remains
  EXPECT_NE(FaultOf(*o, nodes[1].public_key()).find("nonce"), std::string::npos);
  EXPECT_NE(FaultOf(*o, nodes[2].public_key()).find("nonce"), std::string::npos);
  EXPECT_EQ(FaultOf(*o, nodes[0].public_key()), "");
}

TEST(ConsensusRoundTest, OutsiderAndForgedEvidenceBlameNobody) {
  testing::Nodes nodes(4);
  Round round = HonestRound(nodes, 3);
  auto outsider = CommitOutput(nodes[3], round.round_digest, kInput, D(0x23), kTrace);
  round.commitments.push_back(outsider->commitment);
  round.reveals.push_back(outsider->reveal);
  SignedCommitment forged = round.commitments[0];
  forged.commitment_hash[0] ^= 1;  // attributed to node 0, signature no longer valid
  round.commitments.push_back(forged);
  Reveal junk = round.reveals[0];  // an unsigned junk reveal attributed to node 1
  junk.member = nodes[1].public_key();
  junk.nonce[3] ^= 1;
  round.reveals.insert(round.reveals.begin(), junk);
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->accepted);
  EXPECT_TRUE(o->faults.empty());
  EXPECT_EQ(o->quorum_members.size(), 3u);
  EXPECT_EQ(o->rejected_evidence.size(), 2u);
}

TEST(ConsensusRoundTest, CommitmentSignatureCoversEveryField) {
  testing::Nodes nodes(1);
  auto s = CommitOutput(nodes[0], D(5), kInput, kOutput, kTrace);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(VerifyCommitmentSignature(D(5), s->commitment));
  EXPECT_TRUE(RevealOpens(D(5), s->commitment, s->reveal));
  EXPECT_FALSE(VerifyCommitmentSignature(D(6), s->commitment));
  for (int f = 0; f < 4; ++f) {
    SignedCommitment c = s->commitment;
    if (f == 0) c.input_digest[1] ^= 1;
    if (f == 1) c.commitment_hash[1] ^= 1;
    if (f == 2) c.signature[1] ^= 1;
    if (f == 3) c.member[1] ^= 1;
    EXPECT_FALSE(VerifyCommitmentSignature(D(5), c)) << f;
  }
  Reveal other = s->reveal;
  other.member[0] ^= 1;
  EXPECT_FALSE(RevealOpens(D(5), s->commitment, other));
}

// Issue 4: r = 2f+1 with up to f faulty members: every fault is detected and the correct output
// wins; no honest node is ever marked faulty over 1,000 honest requests.
TEST(ConsensusRoundTest, ThousandRequestsWithAndWithoutFaults) {
  testing::Nodes nodes(7);
  std::mt19937 rng(12345);
  int honest_rounds = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int request = 0; request < 1000; ++request) {
    RoundParams p = Params(nodes, 7, 3, 2, "r" + std::to_string(request));
    auto sel = DrawCommittee(SelectorOf(nodes, p), p);
    ASSERT_TRUE(sel.ok());
    const Digest round_digest = RoundDigest(p);
    const bool inject = request % 2 == 1;  // every other request has one faulty member
    const size_t faulty_index = rng() % 3;
    const int fault = static_cast<int>(rng() % 6);
    std::vector<SignedCommitment> cs;
    std::vector<Reveal> rs;
    for (size_t i = 0; i < 3; ++i) {
      const registry::Identity& m = *nodes.Find(sel->committee[i]);
      Digest out = kOutput, in = kInput, rd = round_digest;
      const bool bad = inject && i == faulty_index;
      if (bad && fault == 0) out[0] ^= 1;  // flipped output bit / perturbed weights / skipped layer
      if (bad && fault == 1) in[0] ^= 1;   // computed on another input
      if (bad && fault == 2) rd = D(0x55);  // stale answer from another round
      auto s = CommitOutput(m, rd, in, out, kTrace);
      ASSERT_TRUE(s.ok());
      if (bad && fault == 3) continue;  // stalled / crashed before committing
      cs.push_back(s->commitment);
      if (bad && fault == 4) continue;  // crashed before revealing
      if (bad && fault == 5) {          // equivocation: a second, different commitment
        auto other = CommitOutput(m, round_digest, in, D(0x66), kTrace);
        cs.push_back(other->commitment);
      }
      rs.push_back(s->reveal);
    }
    auto o = EvaluateRound(round_digest, sel->committee, sel->quorum, cs, rs);
    ASSERT_TRUE(o.ok());
    ASSERT_TRUE(o->accepted) << "request " << request << " fault " << fault;
    EXPECT_EQ(o->output_digest, kOutput);
    if (!inject) {
      ++honest_rounds;
      ASSERT_TRUE(o->faults.empty()) << "honest node marked faulty in request " << request;
    } else {
      ASSERT_EQ(o->faults.size(), 1u) << "request " << request << " fault " << fault;
      EXPECT_EQ(o->faults[0].member, sel->committee[faulty_index]);
    }
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(honest_rounds, 500);
  std::printf("1000 requests (draw + 3 commitments + evaluation): %.1f ms, %.3f ms each\n", ms,
              ms / 1000);
}

TEST(ConsensusRoundTest, SignAndVerifyCost) {
  // Prints the per-member cost of committing and checking (for docs/consensus.md).
  testing::Nodes nodes(1);
  constexpr int kIters = 2000;
  std::vector<MemberSubmission> subs;
  subs.reserve(kIters);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i)
    subs.push_back(*CommitOutput(nodes[0], D(1), kInput, kOutput, kTrace));
  const auto t1 = std::chrono::steady_clock::now();
  for (const MemberSubmission& s : subs) {
    ASSERT_TRUE(VerifyCommitmentSignature(D(1), s.commitment));
    ASSERT_TRUE(RevealOpens(D(1), s.commitment, s.reveal));
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("commit (nonce + hash + Ed25519 sign) %.1f us, check (verify + open) %.1f us\n",
              std::chrono::duration<double, std::micro>(t1 - t0).count() / kIters,
              std::chrono::duration<double, std::micro>(t2 - t1).count() / kIters);
}

// ---------------------------------------------------------------- disputes

TEST(ConsensusDisputeTest, FindsTheFirstDivergentLayerWithinTheBound) {
  for (size_t layers = 1; layers <= 70; ++layers) {
    std::vector<Digest> a(layers);
    for (size_t i = 0; i < layers; ++i) a[i] = D(static_cast<uint8_t>(i));
    for (size_t k = 0; k < layers; ++k) {
      std::vector<Digest> b = a;
      for (size_t i = k; i < layers; ++i) b[i][7] ^= 0x5a;  // diverge from layer k on
      auto d = LocateDivergence(a, TraceRoot(a), b, TraceRoot(b));
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_EQ(d->layer, k) << layers;
      EXPECT_LE(d->comparisons, DivergenceComparisonBound(layers)) << layers << " " << k;
    }
  }
  EXPECT_EQ(DivergenceComparisonBound(1), 1u);
  EXPECT_EQ(DivergenceComparisonBound(2), 2u);
  EXPECT_EQ(DivergenceComparisonBound(8), 4u);
  EXPECT_EQ(DivergenceComparisonBound(9), 5u);
}

TEST(ConsensusDisputeTest, ChainedDigestsHandleReconvergingLayers) {
  // Layer 3 differs, later raw digests agree again (e.g. a ReLU hid the difference): the
  // chain still points at layer 3, the first divergent layer.
  std::vector<Digest> a(10), b(10);
  for (size_t i = 0; i < 10; ++i) a[i] = b[i] = D(static_cast<uint8_t>(i));
  b[3][0] ^= 1;
  auto d = LocateDivergence(a, TraceRoot(a), b, TraceRoot(b));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->layer, 3u);
}

TEST(ConsensusDisputeTest, CountsComparisonsOfALiveDispute) {
  const size_t layers = 100;
  size_t asked = 0;
  auto d = LocateDivergence(layers, [&](size_t i) {
    ++asked;
    return i < 37;
  });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->layer, 37u);
  EXPECT_EQ(d->comparisons, asked);
  EXPECT_LE(asked, 8u);  // ceil(log2 100) + 1
}

TEST(ConsensusDisputeTest, RefusesBadInput) {
  std::vector<Digest> a = {D(1), D(2)}, b = {D(1), D(3)}, c = {D(1)};
  EXPECT_EQ(LocateDivergence(a, TraceRoot(a), c, TraceRoot(c)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LocateDivergence(a, TraceRoot(a), a, TraceRoot(a)).status().code(),
            StatusCode::kFailedPrecondition);
  // A trace that is not the one its member committed to.
  EXPECT_EQ(LocateDivergence(a, TraceRoot(a), b, TraceRoot(a)).status().code(),
            StatusCode::kCorrupt);
  EXPECT_EQ(LocateDivergence(0, [](size_t) { return true; }).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_NE(TraceRoot({}), TraceRoot(c));
}

TEST(ConsensusDisputeTest, EscalationLocalisesTheDisagreement) {
  testing::Nodes nodes(3);
  // Three members, three different traces: layer 5 differs for node 1, layer 2 for node 2.
  std::vector<std::vector<Digest>> traces(3, std::vector<Digest>(12));
  for (auto& t : traces)
    for (size_t i = 0; i < t.size(); ++i) t[i] = D(static_cast<uint8_t>(i));
  for (size_t i = 5; i < 12; ++i) traces[1][i][0] ^= 1;
  for (size_t i = 2; i < 12; ++i) traces[2][i][1] ^= 1;
  Round round;
  round.round_digest = D(0x77);
  for (size_t i = 0; i < 3; ++i) {
    round.committee.push_back(nodes[i].public_key());
    auto s =
        CommitOutput(nodes[i], round.round_digest, kInput, traces[i].back(), TraceRoot(traces[i]));
    round.commitments.push_back(s->commitment);
    round.reveals.push_back(s->reveal);
  }
  auto o = round.Evaluate(2);
  ASSERT_TRUE(o.ok());
  ASSERT_FALSE(o->accepted);
  std::vector<MemberTrace> sent;
  for (size_t i = 0; i < 3; ++i) sent.push_back({nodes[i].public_key(), traces[i]});
  MemberTrace forged = sent[1];  // a trace that is not the one node 1 committed to
  forged.layer_digests[0][0] ^= 1;
  sent.insert(sent.begin(), forged);
  auto e = Escalate(*o, sent);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->groups.size(), 3u);
  EXPECT_EQ(e->traces.size(), 3u);
  ASSERT_EQ(e->rejected_traces.size(), 1u);
  EXPECT_NE(e->rejected_traces[0].find("does not match the trace root"), std::string::npos);
  ASSERT_TRUE(e->localized);
  EXPECT_EQ(e->member_a, nodes[0].public_key());
  EXPECT_EQ(e->member_b, nodes[1].public_key());
  EXPECT_EQ(e->divergence.layer, 5u);
  EXPECT_LE(e->divergence.comparisons, DivergenceComparisonBound(12));
  // An accepted round has nothing to escalate.
  const Round honest = HonestRound(nodes, 3);
  auto accepted = honest.Evaluate(2);
  EXPECT_EQ(Escalate(*accepted, sent).status().code(), StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------- reputation

TEST(ConsensusReputationTest, UpdateRuleAndClamp) {
  ReputationPolicy p;
  EXPECT_DOUBLE_EQ(UpdateReputation(0.5, true, p), 0.4);
  EXPECT_DOUBLE_EQ(UpdateReputation(0.5, false, p), 0.505);
  EXPECT_DOUBLE_EQ(UpdateReputation(0.999, false, p), 1.0);
  EXPECT_DOUBLE_EQ(UpdateReputation(0.011, true, p), 0.01);
  ReputationPolicy custom;
  custom.penalty = 0.5;
  custom.reward = 1.1;
  EXPECT_DOUBLE_EQ(UpdateReputation(0.5, true, custom), 0.25);
  EXPECT_DOUBLE_EQ(UpdateReputation(0.5, false, custom), 0.55);
}

TEST(ConsensusReputationTest, ValidatesPolicy) {
  EXPECT_TRUE(ValidateReputationPolicy({}).ok());
  for (int i = 0; i < 7; ++i) {
    ReputationPolicy p;
    if (i == 0) p.penalty = 1.0;
    if (i == 1) p.penalty = 0;
    if (i == 2) p.reward = 0.99;
    if (i == 3) p.min = 0;
    if (i == 4) p.initial = 0.001;
    if (i == 5) p.max = 1.5;
    if (i == 6) p.trial_passes = 0;
    EXPECT_FALSE(ValidateReputationPolicy(p).ok()) << i;
    EXPECT_FALSE(ReputationBook::Create(p).ok()) << i;
  }
}

TEST(ConsensusReputationTest, TrialThenActive) {
  auto book = ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  PublicKey a{}, b{};
  a.fill(1);
  b.fill(2);
  book->AddNode(a);
  book->AddNode(b);
  EXPECT_EQ(book->Find(a)->standing, Standing::kTrial);
  EXPECT_EQ(book->RecordVerdict(a, false).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(book->Eligible({a, b}).empty());
  EXPECT_EQ(book->InTrial({a, b}).size(), 2u);
  // Two passes, a failure (streak restarts), then three passes.
  for (bool matched : {true, true, false, true, true})
    ASSERT_TRUE(book->RecordTrial(a, matched).ok());
  EXPECT_EQ(book->Find(a)->standing, Standing::kTrial);
  ASSERT_TRUE(book->RecordTrial(a, true).ok());
  EXPECT_EQ(book->Find(a)->standing, Standing::kActive);
  EXPECT_DOUBLE_EQ(book->Find(a)->reputation, 0.5);
  EXPECT_EQ(book->RecordTrial(a, true).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(book->RecordVerdict(a, true).ok());
  EXPECT_DOUBLE_EQ(book->Find(a)->reputation, 0.4);
  EXPECT_EQ(book->Find(a)->faults, 1u);
  const std::vector<EligibleNode> eligible = book->Eligible({a, b});
  ASSERT_EQ(eligible.size(), 1u);
  EXPECT_EQ(eligible[0].key, a);
  EXPECT_EQ(eligible[0].weight, SelectionWeight(0.4));
  EXPECT_EQ(book->InTrial({a, b}), std::vector<PublicKey>{b});
  PublicKey unknown{};
  EXPECT_EQ(book->RecordVerdict(unknown, false).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace veil::consensus

namespace veil::consensus {
namespace {

TEST(ConsensusReputationTest, BookRoundTripsAndRejectsDamage) {
  auto book = ReputationBook::Create();
  ASSERT_TRUE(book.ok());
  registry::PublicKey a{}, b{};
  a.fill(1);
  b.fill(2);
  book->AddNode(a);
  book->AddNode(b);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(book->RecordTrial(a, true).ok());
  ASSERT_TRUE(book->RecordVerdict(a, true).ok());
  ASSERT_TRUE(book->RecordTrial(b, true).ok());
  const std::string bytes = book->Encode();
  auto copy = ReputationBook::Create();
  ASSERT_TRUE(copy.ok());
  ASSERT_TRUE(copy->Decode(bytes).ok());
  EXPECT_EQ(copy->Encode(), bytes);
  EXPECT_EQ(copy->Find(a)->standing, Standing::kActive);
  EXPECT_DOUBLE_EQ(copy->Find(a)->reputation, 0.4);
  EXPECT_EQ(copy->Find(a)->faults, 1u);
  EXPECT_EQ(copy->Find(b)->trial_streak, 1u);
  // Every truncation is refused and leaves the book as it was.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(copy->Decode(bytes.substr(0, n)).code(), StatusCode::kCorrupt) << n;
  EXPECT_EQ(copy->Encode(), bytes);
  // Bad magic, a reputation out of range, a bad standing, more faults than verdicts.
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_EQ(copy->Decode(bad).code(), StatusCode::kCorrupt);
  bad = bytes;
  const size_t first = 12;  // entry 0 is a (keys sort)
  const double huge = 7.0;
  std::memcpy(&bad[first + 33], &huge, 8);
  EXPECT_EQ(copy->Decode(bad).code(), StatusCode::kCorrupt);
  bad = bytes;
  bad[first + 32] = 5;
  EXPECT_EQ(copy->Decode(bad).code(), StatusCode::kCorrupt);
  bad = bytes;
  bad[first + 53] = 9;  // faults 9 > verdicts 1
  EXPECT_EQ(copy->Decode(bad).code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace veil::consensus
