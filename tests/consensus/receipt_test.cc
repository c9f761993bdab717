// Receipts: built from real rounds, verified offline; every field changed (by protobuf
// reflection), a signature removed or replaced, a vote from outside the committee, a quorum
// not met, an unregistered key, truncations and garbage all fail with a reason.
#include "veil/consensus/receipt.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>

#include "consensus_test_util.h"
#include "veil/v1/receipt.pb.h"

namespace veil::consensus {
namespace {

using registry::PublicKey;

Digest D(uint8_t tag) {
  Digest d{};
  d.fill(tag);
  return d;
}

struct Built {
  Receipt receipt;
  std::vector<std::vector<PublicKey>> committees;  // per segment
  std::vector<Digest> round_digests;
};

class ConsensusReceiptTest : public ::testing::Test {
 protected:
  ConsensusReceiptTest() : nodes_(6) {
    for (size_t i = 0; i < nodes_.size(); ++i) registered_.insert(nodes_[i].public_key());
    lookup_ = [this](const PublicKey& k) { return registered_.count(k) > 0; };
  }

  RoundParams Params(uint32_t segment, Mode mode = Mode::kConsensus) const {
    RoundParams p;
    p.model_digest = D(1);
    p.request_id = "req-42";
    p.public_seed = D(2);
    p.mode = mode;
    p.segment_index = segment;
    p.segment_digest = D(static_cast<uint8_t>(0x30 + segment));
    if (mode == Mode::kAudit) {
      p.committee_size = 1;
      p.quorum = 1;
      p.audit_per_million = 1000000;  // always audited: two members
    } else {
      p.committee_size = 3;
      p.quorum = 2;
    }
    for (size_t i = 0; i < nodes_.size(); ++i)
      p.eligible.push_back({nodes_[i].public_key(), SelectionWeight(0.5 + 0.05 * i)});
    return p;
  }

  // Two served segments (1 and 2) chained: segment 2's input is segment 1's output. In segment
  // 1 the last committee member answers wrongly (outvoted, left out of the receipt).
  Built Build(Mode mode = Mode::kConsensus) {
    Built b;
    b.receipt.model_digest = D(1);
    b.receipt.mode = mode;
    b.receipt.request_id = "req-42";
    b.receipt.public_seed = D(2);
    Digest input = D(0x50);
    for (uint32_t segment = 1; segment <= 2; ++segment) {
      const RoundParams p = Params(segment, mode);
      const registry::Identity* selector = nodes_.Find(DesignatedSelector(p));
      auto sel = DrawCommittee(*selector, p);
      EXPECT_TRUE(sel.ok()) << sel.status().ToString();
      const Digest round = RoundDigest(p);
      const Digest output = D(static_cast<uint8_t>(0x60 + segment));
      std::vector<SignedCommitment> cs;
      std::vector<Reveal> rs;
      for (size_t i = 0; i < sel->committee.size(); ++i) {
        const bool wrong = mode == Mode::kConsensus && segment == 1 && i == 2;
        auto s = CommitOutput(*nodes_.Find(sel->committee[i]), round, input,
                              wrong ? D(0x7f) : output, D(0x70));
        EXPECT_TRUE(s.ok());
        cs.push_back(s->commitment);
        rs.push_back(s->reveal);
      }
      auto outcome = EvaluateRound(round, sel->committee, sel->quorum, cs, rs);
      EXPECT_TRUE(outcome.ok() && outcome->accepted);
      auto seg = MakeReceiptSegment(p, *sel, *outcome, cs, rs);
      EXPECT_TRUE(seg.ok()) << seg.status().ToString();
      b.receipt.segments.push_back(*seg);
      b.committees.push_back(sel->committee);
      b.round_digests.push_back(round);
      if (segment == 1) b.receipt.input_digest = input;
      input = output;
      b.receipt.output_digest = output;
    }
    return b;
  }

  std::string Encode(const Receipt& r) {
    auto bytes = EncodeReceipt(r);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    return bytes.ok() ? *bytes : std::string();
  }

  // Verification must fail, and the reason must contain `expected`.
  void ExpectRejected(const Receipt& r, const std::string& expected) {
    auto report = VerifyReceipt(Encode(r), lookup_);
    ASSERT_FALSE(report.ok()) << "accepted; expected: " << expected;
    EXPECT_NE(report.status().message().find(expected), std::string::npos)
        << report.status().message();
  }

  const registry::Identity* NonMember(const Built& b, size_t segment) const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const auto& c = b.committees[segment];
      if (std::find(c.begin(), c.end(), nodes_[i].public_key()) == c.end()) return &nodes_[i];
    }
    return nullptr;
  }

  testing::Nodes nodes_;
  std::set<PublicKey> registered_;
  NodeKeyLookup lookup_;
};

TEST_F(ConsensusReceiptTest, VerifiesAndSaysWhatItProves) {
  const Built b = Build();
  ASSERT_EQ(b.receipt.segments[0].commitments.size(), 2u);  // the wrong member is left out
  ASSERT_EQ(b.receipt.segments[1].commitments.size(), 3u);
  const std::string bytes = Encode(b.receipt);
  const auto t0 = std::chrono::steady_clock::now();
  auto report = VerifyReceipt(bytes, lookup_);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::printf("receipt: %zu bytes, 2 segments, verified in %.2f ms\n", bytes.size(), ms);
  ASSERT_EQ(report->proves.size(), 4u);
  EXPECT_NE(report->proves[0].find("req-42"), std::string::npos);
  EXPECT_NE(report->proves[1].find("segment 1"), std::string::npos);
  EXPECT_NE(report->proves[1].find("2 member(s) (quorum 2)"), std::string::npos);
  EXPECT_NE(report->proves[2].find("3 member(s) (quorum 2)"), std::string::npos);
  EXPECT_FALSE(report->does_not_prove.empty());
  EXPECT_EQ(report->receipt.model_digest, b.receipt.model_digest);
  EXPECT_EQ(report->receipt.segments.size(), 2u);
  EXPECT_EQ(VerifyReceipt(bytes, nullptr).status().code(), StatusCode::kInvalidArgument);
  for (const std::string& line : report->proves) std::printf("  proves: %s\n", line.c_str());
}

TEST_F(ConsensusReceiptTest, EncodeDecodeRoundTrip) {
  const Built b = Build();
  const std::string bytes = Encode(b.receipt);
  auto decoded = DecodeReceipt(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(Encode(*decoded), bytes);
  EXPECT_EQ(decoded->segments.size(), 2u);
  EXPECT_EQ(decoded->request_id, "req-42");
}

TEST_F(ConsensusReceiptTest, AuditModeReceiptVerifies) {
  const Built b = Build(Mode::kAudit);
  ASSERT_EQ(b.receipt.segments[0].commitments.size(), 2u);
  auto report = VerifyReceipt(Encode(b.receipt), lookup_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_NE(report->proves[1].find("audited by a second node"), std::string::npos);
  // Dropping the auditor's vote breaks the quorum of 2.
  Receipt r = b.receipt;
  r.segments[0].commitments.pop_back();
  r.segments[0].reveals.pop_back();
  ExpectRejected(r, "quorum not met");
}

// Every scalar or bytes field anywhere in the message, changed one at a time.
TEST_F(ConsensusReceiptTest, AnyChangedFieldFails) {
  const Built b = Build();
  v1::Receipt original;
  ASSERT_TRUE(original.ParseFromString(Encode(b.receipt)));
  using google::protobuf::FieldDescriptor;
  using google::protobuf::Message;
  // Visits every leaf (message, field, index or -1 for singular).
  std::function<void(Message*, const std::function<void(Message*, const FieldDescriptor*, int)>&)>
      visit = [&](Message* m, const std::function<void(Message*, const FieldDescriptor*, int)>& f) {
        const auto* desc = m->GetDescriptor();
        const auto* refl = m->GetReflection();
        for (int i = 0; i < desc->field_count(); ++i) {
          const FieldDescriptor* fd = desc->field(i);
          if (fd->is_repeated()) {
            for (int j = 0; j < refl->FieldSize(*m, fd); ++j) {
              if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
                visit(refl->MutableRepeatedMessage(m, fd, j), f);
              else
                f(m, fd, j);
            }
          } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
            // Only present sub-messages (a consensus receipt has no proof section).
            if (refl->HasField(*m, fd)) visit(refl->MutableMessage(m, fd), f);
          } else {
            f(m, fd, -1);
          }
        }
      };
  // Count the leaves, then mutate the k-th leaf of a fresh copy.
  size_t leaves = 0;
  {
    v1::Receipt copy = original;
    visit(&copy, [&](Message*, const FieldDescriptor*, int) { ++leaves; });
  }
  ASSERT_GT(leaves, 50u);
  size_t rejected = 0;
  for (size_t k = 0; k < leaves; ++k) {
    v1::Receipt copy = original;
    size_t seen = 0;
    std::string what;
    visit(&copy, [&](Message* m, const FieldDescriptor* fd, int index) {
      if (seen++ != k) return;
      what = fd->full_name() + "[" + std::to_string(index) + "]";
      const auto* refl = m->GetReflection();
      switch (fd->cpp_type()) {
        case FieldDescriptor::CPPTYPE_UINT32:
          if (index < 0)
            refl->SetUInt32(m, fd, refl->GetUInt32(*m, fd) + 1);
          else
            refl->SetRepeatedUInt32(m, fd, index, refl->GetRepeatedUInt32(*m, fd, index) + 1);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          if (index < 0)
            refl->SetUInt64(m, fd, refl->GetUInt64(*m, fd) + 1);
          else
            refl->SetRepeatedUInt64(m, fd, index, refl->GetRepeatedUInt64(*m, fd, index) + 1);
          break;
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string s =
              index < 0 ? refl->GetString(*m, fd) : refl->GetRepeatedString(*m, fd, index);
          ASSERT_FALSE(s.empty()) << what;
          s[s.size() / 2] ^= 0x01;
          if (index < 0)
            refl->SetString(m, fd, s);
          else
            refl->SetRepeatedString(m, fd, index, s);
          break;
        }
        default:
          FAIL() << "unexpected field type in " << what;
      }
    });
    auto report = VerifyReceipt(copy.SerializeAsString(), lookup_);
    EXPECT_FALSE(report.ok()) << "changing " << what << " went unnoticed";
    if (!report.ok()) {
      ++rejected;
      EXPECT_FALSE(report.status().message().empty());
    }
  }
  EXPECT_EQ(rejected, leaves);
  std::printf("%zu single-field changes, all rejected\n", leaves);
}

TEST_F(ConsensusReceiptTest, ChangedRevealSaysItDoesNotOpen) {
  Receipt r = Build().receipt;
  r.segments[1].reveals[0].output_digest[0] ^= 1;
  ExpectRejected(r, "does not open its commitment");
}

TEST_F(ConsensusReceiptTest, RemovedSignatureFails) {
  const Built b = Build();
  v1::Receipt m;
  ASSERT_TRUE(m.ParseFromString(Encode(b.receipt)));
  m.mutable_segments(0)->mutable_commitments(1)->clear_signature();
  auto report = VerifyReceipt(m.SerializeAsString(), lookup_);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("commitment 1 signature must be 64 bytes, got 0"),
            std::string::npos)
      << report.status().message();
}

TEST_F(ConsensusReceiptTest, ReplacedSignatureFails) {
  const Built b = Build();
  Receipt r = b.receipt;
  // Node B's signature over node A's commitment fields: well-formed, wrong signer.
  const SignedCommitment& a = r.segments[1].commitments[0];
  const registry::Identity* other = nodes_.Find(r.segments[1].commitments[1].member);
  r.segments[1].commitments[0].signature =
      other->Sign(CommitmentMessage(b.round_digests[1], a.input_digest, a.commitment_hash));
  ExpectRejected(r, "commitment signature of node " + registry::NodeIdOf(a.member));
}

TEST_F(ConsensusReceiptTest, VoteFromOutsideTheCommitteeFails) {
  const Built b = Build();
  Receipt r = b.receipt;
  const registry::Identity* outsider = NonMember(b, 0);
  ASSERT_NE(outsider, nullptr);
  // A perfectly signed vote for the agreed output, by an eligible node that was not drawn.
  auto s = CommitOutput(*outsider, b.round_digests[0], r.input_digest, D(0x61), D(0x70));
  ASSERT_TRUE(s.ok());
  r.segments[0].commitments.push_back(s->commitment);
  r.segments[0].reveals.push_back(s->reveal);
  ExpectRejected(r, "vote from node " + outsider->node_id() + ", who is outside the committee");
}

TEST_F(ConsensusReceiptTest, QuorumNotMetFails) {
  Receipt r = Build().receipt;
  r.segments[0].commitments.pop_back();
  r.segments[0].reveals.pop_back();
  ExpectRejected(r, "segment 1: quorum not met: 1 agreeing vote(s), the committee of 3 needs 2");
}

TEST_F(ConsensusReceiptTest, DuplicatedVoteFails) {
  Receipt r = Build().receipt;
  r.segments[0].commitments[1] = r.segments[0].commitments[0];
  r.segments[0].reveals[1] = r.segments[0].reveals[0];
  ExpectRejected(r, "votes twice");
}

TEST_F(ConsensusReceiptTest, DisagreeingVoteFails) {
  const Built b = Build();
  Receipt r = b.receipt;
  // A committee member's valid vote for another output, slipped into the quorum.
  const PublicKey m = r.segments[1].commitments[2].member;
  auto s = CommitOutput(*nodes_.Find(m), b.round_digests[1], D(0x61), D(0x01), D(0x70));
  r.segments[1].commitments[2] = s->commitment;
  r.segments[1].reveals[2] = s->reveal;
  ExpectRejected(r, "committed to a different input or output");
}

TEST_F(ConsensusReceiptTest, UnregisteredKeyFails) {
  const Built b = Build();
  const PublicKey m = b.receipt.segments[0].commitments[0].member;
  registered_.erase(m);
  ExpectRejected(b.receipt, "eligible node " + registry::NodeIdOf(m) + " is not a registered node");
}

TEST_F(ConsensusReceiptTest, TopLevelDigestsMustMatchTheSegments) {
  Receipt r = Build().receipt;
  r.output_digest[0] ^= 1;
  ExpectRejected(r, "output_digest is not the output the last segment's quorum revealed");
  r = Build().receipt;
  r.input_digest[0] ^= 1;
  ExpectRejected(r, "input_digest is not the input the first segment's quorum signed");
}

TEST_F(ConsensusReceiptTest, ForgedSelectionFails) {
  const Built b = Build();
  Receipt r = b.receipt;
  // A non-designated node proves the VRF itself (to pick a friendlier committee).
  const PublicKey designated = r.segments[0].selector;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].public_key() == designated) continue;
    auto proof = VrfProve(nodes_[i], SelectionAlpha(RoundParamsOf(r, r.segments[0])));
    ASSERT_TRUE(proof.ok());
    r.segments[0].selector = nodes_[i].public_key();
    r.segments[0].selection_proof = *proof;
    break;
  }
  ExpectRejected(r, "designated selector");
}

TEST_F(ConsensusReceiptTest, StructuralLimits) {
  Receipt r = Build().receipt;
  std::swap(r.segments[0], r.segments[1]);
  EXPECT_FALSE(EncodeReceipt(r).ok());  // indices must increase
  r = Build().receipt;
  r.version = 2;
  EXPECT_NE(EncodeReceipt(r).status().message().find("version"), std::string::npos);
  r = Build().receipt;
  r.segments.clear();
  EXPECT_FALSE(EncodeReceipt(r).ok());
  r = Build().receipt;
  r.request_id = "has space";
  EXPECT_FALSE(EncodeReceipt(r).ok());
  EXPECT_FALSE(DecodeReceipt("").ok());
  EXPECT_FALSE(DecodeReceipt("\xff\xff\xff garbage").ok());
  EXPECT_FALSE(DecodeReceipt(std::string(kMaxReceiptBytes + 1, '\0')).ok());
  EXPECT_FALSE(DecodeReceipt(std::string(kMaxProofReceiptBytes + 1, '\0')).ok());
}

TEST_F(ConsensusReceiptTest, TruncationsFailWithAReason) {
  const std::string bytes = Encode(Build().receipt);
  for (size_t len = 0; len < bytes.size(); len += 7) {
    auto report = VerifyReceipt(std::string_view(bytes).substr(0, len), lookup_);
    ASSERT_FALSE(report.ok()) << "prefix of " << len << " bytes verified";
    EXPECT_FALSE(report.status().message().empty());
  }
}

TEST_F(ConsensusReceiptTest, MakeReceiptSegmentRefusesARoundWithoutQuorum) {
  const RoundParams p = Params(1);
  auto sel = DrawCommittee(*nodes_.Find(DesignatedSelector(p)), p);
  ASSERT_TRUE(sel.ok());
  RoundOutcome none;
  EXPECT_EQ(MakeReceiptSegment(p, *sel, none, {}, {}).status().code(),
            StatusCode::kFailedPrecondition);
}

// Proof receipts (version 2, mode proof; docs/zk.md "In the network"): the proof section's
// structure is strict; its zk contents are checked by net::VerifyProofReceipt (net_proof_test).
Receipt ProofReceipt() {
  Receipt r;
  r.version = kProofReceiptVersion;
  r.model_digest.fill(1);
  r.request_id = "proof-1";
  ReceiptProofs p;
  p.model_commitment.fill(2);
  p.first_segment = 1;
  p.input_commitments = {"in"};
  p.segment_proofs = {"proof-a", "proof-b"};
  p.output_commitments = {"out", "out2"};
  r.proofs = p;
  return r;
}

TEST_F(ConsensusReceiptTest, ProofReceiptsRoundTripAndAreStrict) {
  auto bytes = EncodeReceipt(ProofReceipt());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto back = DecodeReceipt(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->is_proof());
  EXPECT_STREQ(ReceiptModeName(*back), "proof");
  EXPECT_EQ(back->proofs->segment_proofs, ProofReceipt().proofs->segment_proofs);
  EXPECT_EQ(*EncodeReceipt(*back), *bytes);
  // Not a consensus receipt: the node-key verifier refuses it with a reason.
  auto report = VerifyReceipt(*bytes, lookup_);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("proof receipt"), std::string::npos);
  for (size_t len = 0; len < bytes->size(); ++len)
    EXPECT_FALSE(DecodeReceipt(std::string_view(*bytes).substr(0, len)).ok()) << len;

  // Structural rules, on the wire.
  v1::Receipt m;
  ASSERT_TRUE(m.ParseFromString(*bytes));
  auto refused = [](const v1::Receipt& msg, const std::string& words) {
    auto r = DecodeReceipt(msg.SerializeAsString());
    ASSERT_FALSE(r.ok()) << words;
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().message();
  };
  v1::Receipt x = m;
  x.set_mode(1);
  refused(x, "mode");
  x = m;
  x.set_version(1);
  refused(x, "proofs");
  x = m;
  x.set_input_digest(std::string(32, 'd'));
  refused(x, "carries no");
  x = m;
  x.mutable_proofs()->clear_segment_proofs();
  refused(x, "no segment proofs");
  x = m;
  x.mutable_proofs()->set_segment_proofs(0, "");
  refused(x, "proof 0");
  x = m;
  x.mutable_proofs()->set_segment_proofs(1, std::string(kMaxReceiptProofBytes + 1, 'p'));
  refused(x, "proof 1");
  x = m;
  x.mutable_proofs()->clear_output_commitments();
  refused(x, "output_commitments");
  x = m;
  x.mutable_proofs()->set_input_commitments(0, "");
  refused(x, "input_commitments 0");
  x = m;
  for (int i = 0; i < 65; ++i) x.mutable_proofs()->add_input_commitments("c");
  refused(x, "input or output commitments");
  x = m;
  x.mutable_proofs()->set_model_commitment_digest("short");
  refused(x, "model_commitment_digest");
  x = m;
  x.clear_proofs();
  refused(x, "proof section");
  // A consensus receipt must not smuggle a proof section.
  v1::Receipt c;
  ASSERT_TRUE(c.ParseFromString(Encode(Build().receipt)));
  *c.mutable_proofs() = m.proofs();
  refused(c, "only a version 2 receipt");
  Receipt mixed = Build().receipt;
  mixed.proofs = ProofReceipt().proofs;
  EXPECT_FALSE(EncodeReceipt(mixed).ok());
}

}  // namespace
}  // namespace veil::consensus
