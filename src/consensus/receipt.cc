#include "veil/consensus/receipt.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "veil/v1/receipt.pb.h"

namespace veil::consensus {
namespace {

std::string Id(const registry::PublicKey& k) { return registry::NodeIdOf(k); }

template <size_t N>
std::string ToBytes(const std::array<uint8_t, N>& a) {
  return std::string(a.begin(), a.end());
}

template <size_t N>
Status FixedBytes(const std::string& in, const std::string& field, std::array<uint8_t, N>* out) {
  if (in.size() != N)
    return Status::Corrupt(field + " must be " + std::to_string(N) + " bytes, got " +
                           std::to_string(in.size()));
  std::memcpy(out->data(), in.data(), N);
  return Status::Ok();
}

std::string SegmentName(const ReceiptSegment& s) {
  return "segment " + std::to_string(s.segment_index);
}

// The structural rules shared by EncodeReceipt and DecodeReceipt (no cryptography).
Status CheckProofStructure(const Receipt& r) {
  if (!r.proofs) return Status::Corrupt("a version 2 receipt must carry a proof section");
  if (!r.segments.empty()) return Status::Corrupt("a proof receipt carries no consensus segments");
  if (!IsValidRequestId(r.request_id))
    return Status::Corrupt("request id must be 1..64 characters of [A-Za-z0-9._:-]");
  const ReceiptProofs& p = *r.proofs;
  if (p.segment_proofs.empty()) return Status::Corrupt("proof receipt has no segment proofs");
  if (p.segment_proofs.size() > kMaxReceiptSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxReceiptSegments) + " segment proofs");
  if (p.first_segment > kMaxReceiptSegments)
    return Status::Corrupt("first_segment " + std::to_string(p.first_segment) + " out of range");
  auto bounded = [](const std::string& b, const std::string& what) {
    if (b.empty() || b.size() > kMaxReceiptProofBytes)
      return Status::Corrupt(what + " must be 1.." + std::to_string(kMaxReceiptProofBytes) +
                             " bytes, got " + std::to_string(b.size()));
    return Status::Ok();
  };
  for (const auto* list : {&p.input_commitments, &p.output_commitments}) {
    const std::string what =
        list == &p.input_commitments ? "input_commitments" : "output_commitments";
    if (list->empty() || list->size() > kMaxReceiptCommitments)
      return Status::Corrupt(what + ": 1.." + std::to_string(kMaxReceiptCommitments) +
                             " commitments required, got " + std::to_string(list->size()));
    for (size_t i = 0; i < list->size(); ++i)
      VEIL_RETURN_IF_ERROR(bounded((*list)[i], what + " " + std::to_string(i)));
  }
  for (size_t i = 0; i < p.segment_proofs.size(); ++i)
    VEIL_RETURN_IF_ERROR(bounded(p.segment_proofs[i], "proof " + std::to_string(i)));
  return Status::Ok();
}

Status CheckStructure(const Receipt& r) {
  if (r.version == kProofReceiptVersion) return CheckProofStructure(r);
  if (r.proofs) return Status::Corrupt("only a version 2 receipt carries proofs");
  if (r.version != kReceiptVersion)
    return Status::Corrupt("unsupported receipt version " + std::to_string(r.version) +
                           " (expected " + std::to_string(kReceiptVersion) + ")");
  if (r.mode != Mode::kConsensus && r.mode != Mode::kAudit)
    return Status::Corrupt("unknown mode " + std::to_string(static_cast<uint32_t>(r.mode)));
  if (!IsValidRequestId(r.request_id))
    return Status::Corrupt("request id must be 1..64 characters of [A-Za-z0-9._:-]");
  if (r.segments.empty()) return Status::Corrupt("receipt has no segments");
  if (r.segments.size() > kMaxReceiptSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxReceiptSegments) + " segments");
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const ReceiptSegment& s = r.segments[i];
    if (i > 0 && s.segment_index <= r.segments[i - 1].segment_index)
      return Status::Corrupt(SegmentName(s) + ": segment indices must be strictly increasing");
    if (s.eligible.empty() || s.eligible.size() > kMaxEligibleNodes)
      return Status::Corrupt(SegmentName(s) + ": 1.." + std::to_string(kMaxEligibleNodes) +
                             " eligible nodes required");
    if (s.commitments.size() > kMaxCommitteeSize || s.reveals.size() > kMaxCommitteeSize)
      return Status::Corrupt(SegmentName(s) + ": more than " + std::to_string(kMaxCommitteeSize) +
                             " commitments or reveals");
  }
  return Status::Ok();
}

}  // namespace

const char* ReceiptModeName(const Receipt& receipt) {
  return receipt.is_proof() ? "proof" : ModeName(receipt.mode);
}

RoundParams RoundParamsOf(const Receipt& r, const ReceiptSegment& s) {
  RoundParams p;
  p.model_digest = r.model_digest;
  p.request_id = r.request_id;
  p.public_seed = r.public_seed;
  p.mode = r.mode;
  p.segment_index = s.segment_index;
  p.segment_digest = s.segment_digest;
  p.committee_size = s.committee_size;
  p.quorum = s.quorum;
  p.audit_per_million = s.audit_per_million;
  p.eligible = s.eligible;
  return p;
}

Result<ReceiptSegment> MakeReceiptSegment(const RoundParams& params, const Selection& selection,
                                          const RoundOutcome& outcome,
                                          std::span<const SignedCommitment> commitments,
                                          std::span<const Reveal> reveals) {
  if (!outcome.accepted)
    return Status::FailedPrecondition("segment " + std::to_string(params.segment_index) +
                                      ": the round reached no quorum; there is nothing to receipt");
  ReceiptSegment s;
  s.segment_index = params.segment_index;
  s.segment_digest = params.segment_digest;
  s.committee_size = params.committee_size;
  s.quorum = params.quorum;
  s.audit_per_million = params.audit_per_million;
  s.eligible = params.eligible;
  s.selector = selection.selector;
  s.selection_proof = selection.proof;
  const Digest round = RoundDigest(params);
  for (const registry::PublicKey& m : outcome.quorum_members) {
    const SignedCommitment* commitment = nullptr;
    for (const SignedCommitment& c : commitments)
      if (c.member == m && c.input_digest == outcome.input_digest &&
          VerifyCommitmentSignature(round, c)) {
        commitment = &c;
        break;
      }
    if (commitment == nullptr)
      return Status::InvalidArgument("quorum member " + Id(m) + " has no valid commitment here");
    const Reveal* reveal = nullptr;
    for (const Reveal& rv : reveals)
      if (RevealOpens(round, *commitment, rv)) {
        reveal = &rv;
        break;
      }
    if (reveal == nullptr)
      return Status::InvalidArgument("quorum member " + Id(m) + " has no opening reveal here");
    s.commitments.push_back(*commitment);
    s.reveals.push_back(*reveal);
  }
  return s;
}

Result<std::string> EncodeReceipt(const Receipt& r) {
  VEIL_RETURN_IF_ERROR(CheckStructure(r));
  v1::Receipt m;
  m.set_version(r.version);
  if (r.is_proof()) {
    m.set_model_digest(ToBytes(r.model_digest));
    m.set_mode(kProofReceiptMode);
    m.set_request_id(r.request_id);
    v1::ReceiptProofs* mp = m.mutable_proofs();
    mp->set_model_commitment_digest(ToBytes(r.proofs->model_commitment));
    mp->set_first_segment(r.proofs->first_segment);
    for (const std::string& c : r.proofs->input_commitments) mp->add_input_commitments(c);
    for (const std::string& p : r.proofs->segment_proofs) mp->add_segment_proofs(p);
    for (const std::string& c : r.proofs->output_commitments) mp->add_output_commitments(c);
    std::string bytes = m.SerializeAsString();
    if (bytes.size() > kMaxProofReceiptBytes)
      return Status::InvalidArgument("proof receipt is " + std::to_string(bytes.size()) +
                                     " bytes, over the limit of " +
                                     std::to_string(kMaxProofReceiptBytes));
    return bytes;
  }
  m.set_model_digest(ToBytes(r.model_digest));
  m.set_mode(static_cast<uint32_t>(r.mode));
  m.set_request_id(r.request_id);
  m.set_public_seed(ToBytes(r.public_seed));
  m.set_input_digest(ToBytes(r.input_digest));
  m.set_output_digest(ToBytes(r.output_digest));
  for (const ReceiptSegment& s : r.segments) {
    v1::ReceiptSegment* ms = m.add_segments();
    ms->set_segment_index(s.segment_index);
    ms->set_segment_digest(ToBytes(s.segment_digest));
    ms->set_committee_size(s.committee_size);
    ms->set_quorum(s.quorum);
    ms->set_audit_per_million(s.audit_per_million);
    for (const EligibleNode& n : s.eligible) {
      v1::ReceiptEligibleNode* e = ms->add_eligible();
      e->set_node_public_key(ToBytes(n.key));
      e->set_weight(n.weight);
    }
    ms->set_selector_public_key(ToBytes(s.selector));
    ms->set_selection_proof(ToBytes(s.selection_proof));
    for (const SignedCommitment& c : s.commitments) {
      v1::ReceiptCommitment* mc = ms->add_commitments();
      mc->set_node_public_key(ToBytes(c.member));
      mc->set_input_digest(ToBytes(c.input_digest));
      mc->set_commitment_hash(ToBytes(c.commitment_hash));
      mc->set_signature(ToBytes(c.signature));
    }
    for (const Reveal& rv : s.reveals) {
      v1::ReceiptReveal* mr = ms->add_reveals();
      mr->set_node_public_key(ToBytes(rv.member));
      mr->set_output_digest(ToBytes(rv.output_digest));
      mr->set_trace_root(ToBytes(rv.trace_root));
      mr->set_nonce(ToBytes(rv.nonce));
    }
  }
  std::string bytes = m.SerializeAsString();
  if (bytes.size() > kMaxReceiptBytes)
    return Status::InvalidArgument("receipt is " + std::to_string(bytes.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxReceiptBytes));
  return bytes;
}

namespace {

Result<Receipt> DecodeProofReceipt(const v1::Receipt& m) {
  if (m.mode() != kProofReceiptMode)
    return Status::Corrupt("a version 2 receipt must have mode " +
                           std::to_string(kProofReceiptMode) + " (proof), got " +
                           std::to_string(m.mode()));
  if (!m.public_seed().empty() || !m.input_digest().empty() || !m.output_digest().empty() ||
      m.segments_size() != 0)
    return Status::Corrupt("a proof receipt carries no public seed, digests or consensus segments");
  if (!m.has_proofs()) return Status::Corrupt("a version 2 receipt must carry a proof section");
  const v1::ReceiptProofs& mp = m.proofs();
  if (mp.segment_proofs_size() == 0) return Status::Corrupt("proof receipt has no segment proofs");
  if (static_cast<size_t>(mp.segment_proofs_size()) > kMaxReceiptSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxReceiptSegments) + " segment proofs");
  if (static_cast<size_t>(mp.input_commitments_size()) > kMaxReceiptCommitments ||
      static_cast<size_t>(mp.output_commitments_size()) > kMaxReceiptCommitments)
    return Status::Corrupt("more than " + std::to_string(kMaxReceiptCommitments) +
                           " input or output commitments");
  Receipt r;
  r.version = m.version();
  VEIL_RETURN_IF_ERROR(FixedBytes(m.model_digest(), "model_digest", &r.model_digest));
  r.request_id = m.request_id();
  ReceiptProofs p;
  VEIL_RETURN_IF_ERROR(
      FixedBytes(mp.model_commitment_digest(), "model_commitment_digest", &p.model_commitment));
  p.first_segment = mp.first_segment();
  p.input_commitments.assign(mp.input_commitments().begin(), mp.input_commitments().end());
  p.segment_proofs.assign(mp.segment_proofs().begin(), mp.segment_proofs().end());
  p.output_commitments.assign(mp.output_commitments().begin(), mp.output_commitments().end());
  r.proofs = std::move(p);
  VEIL_RETURN_IF_ERROR(CheckStructure(r));
  return r;
}

}  // namespace

Result<Receipt> DecodeReceipt(std::string_view bytes) {
  // Proof receipts may be larger (they carry the proofs); consensus receipts keep their limit.
  if (bytes.size() > kMaxProofReceiptBytes)
    return Status::Corrupt("receipt is " + std::to_string(bytes.size()) +
                           " bytes, over the limit of " + std::to_string(kMaxProofReceiptBytes));
  v1::Receipt m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::Corrupt("not a veil receipt (protobuf decoding failed)");
  if (m.version() == kProofReceiptVersion) return DecodeProofReceipt(m);
  if (bytes.size() > kMaxReceiptBytes)
    return Status::Corrupt("receipt is " + std::to_string(bytes.size()) +
                           " bytes, over the limit of " + std::to_string(kMaxReceiptBytes));
  if (m.has_proofs()) return Status::Corrupt("only a version 2 receipt carries proofs");
  // Counts first, so a hostile message cannot make the loops below allocate much.
  if (m.segments_size() == 0) return Status::Corrupt("receipt has no segments");
  if (static_cast<size_t>(m.segments_size()) > kMaxReceiptSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxReceiptSegments) + " segments");
  Receipt r;
  r.version = m.version();
  if (r.version != kReceiptVersion)
    return Status::Corrupt("unsupported receipt version " + std::to_string(r.version) +
                           " (expected " + std::to_string(kReceiptVersion) + ")");
  VEIL_RETURN_IF_ERROR(FixedBytes(m.model_digest(), "model_digest", &r.model_digest));
  r.mode = static_cast<Mode>(m.mode());
  r.request_id = m.request_id();
  VEIL_RETURN_IF_ERROR(FixedBytes(m.public_seed(), "public_seed", &r.public_seed));
  VEIL_RETURN_IF_ERROR(FixedBytes(m.input_digest(), "input_digest", &r.input_digest));
  VEIL_RETURN_IF_ERROR(FixedBytes(m.output_digest(), "output_digest", &r.output_digest));
  for (int i = 0; i < m.segments_size(); ++i) {
    const v1::ReceiptSegment& ms = m.segments(i);
    ReceiptSegment s;
    s.segment_index = ms.segment_index();
    const std::string where = "segment " + std::to_string(s.segment_index) + ": ";
    if (static_cast<size_t>(ms.eligible_size()) > kMaxEligibleNodes ||
        static_cast<size_t>(ms.commitments_size()) > kMaxCommitteeSize ||
        static_cast<size_t>(ms.reveals_size()) > kMaxCommitteeSize)
      return Status::Corrupt(where + "too many eligible nodes, commitments or reveals");
    VEIL_RETURN_IF_ERROR(
        FixedBytes(ms.segment_digest(), where + "segment_digest", &s.segment_digest));
    s.committee_size = ms.committee_size();
    s.quorum = ms.quorum();
    s.audit_per_million = ms.audit_per_million();
    for (int j = 0; j < ms.eligible_size(); ++j) {
      EligibleNode n;
      VEIL_RETURN_IF_ERROR(FixedBytes(ms.eligible(j).node_public_key(),
                                      where + "eligible node " + std::to_string(j) + " key",
                                      &n.key));
      n.weight = ms.eligible(j).weight();
      s.eligible.push_back(n);
    }
    VEIL_RETURN_IF_ERROR(
        FixedBytes(ms.selector_public_key(), where + "selector_public_key", &s.selector));
    VEIL_RETURN_IF_ERROR(
        FixedBytes(ms.selection_proof(), where + "selection_proof", &s.selection_proof));
    for (int j = 0; j < ms.commitments_size(); ++j) {
      const v1::ReceiptCommitment& mc = ms.commitments(j);
      const std::string what = where + "commitment " + std::to_string(j) + " ";
      SignedCommitment c;
      VEIL_RETURN_IF_ERROR(FixedBytes(mc.node_public_key(), what + "node_public_key", &c.member));
      VEIL_RETURN_IF_ERROR(FixedBytes(mc.input_digest(), what + "input_digest", &c.input_digest));
      VEIL_RETURN_IF_ERROR(
          FixedBytes(mc.commitment_hash(), what + "commitment_hash", &c.commitment_hash));
      VEIL_RETURN_IF_ERROR(FixedBytes(mc.signature(), what + "signature", &c.signature));
      s.commitments.push_back(c);
    }
    for (int j = 0; j < ms.reveals_size(); ++j) {
      const v1::ReceiptReveal& mr = ms.reveals(j);
      const std::string what = where + "reveal " + std::to_string(j) + " ";
      Reveal rv;
      VEIL_RETURN_IF_ERROR(FixedBytes(mr.node_public_key(), what + "node_public_key", &rv.member));
      VEIL_RETURN_IF_ERROR(
          FixedBytes(mr.output_digest(), what + "output_digest", &rv.output_digest));
      VEIL_RETURN_IF_ERROR(FixedBytes(mr.trace_root(), what + "trace_root", &rv.trace_root));
      VEIL_RETURN_IF_ERROR(FixedBytes(mr.nonce(), what + "nonce", &rv.nonce));
      s.reveals.push_back(rv);
    }
    r.segments.push_back(std::move(s));
  }
  VEIL_RETURN_IF_ERROR(CheckStructure(r));
  return r;
}

namespace {

struct AgreedSegment {
  Digest input_digest{};
  Digest output_digest{};
  size_t votes = 0;
  Selection selection;
};

// Every check of one segment; the error names the segment and the failing check.
Result<AgreedSegment> VerifySegment(const Receipt& r, const ReceiptSegment& s,
                                    const NodeKeyLookup& is_registered) {
  const std::string where = SegmentName(s) + ": ";
  const RoundParams params = RoundParamsOf(r, s);
  {
    Status st = ValidateRoundParams(params);
    if (!st.ok()) return Status::Corrupt(where + st.message());
  }
  for (const EligibleNode& n : s.eligible)
    if (!is_registered(n.key))
      return Status::Corrupt(where + "eligible node " + Id(n.key) + " is not a registered node");
  if (!is_registered(s.selector))
    return Status::Corrupt(where + "selector " + Id(s.selector) + " is not a registered node");
  Result<Selection> selection = CheckCommittee(params, s.selector, s.selection_proof);
  if (!selection.ok())
    return Status::Corrupt(where + selection.status().message() +
                           " (a round field was changed, or the proof is forged)");
  const std::set<registry::PublicKey> committee(selection->committee.begin(),
                                                selection->committee.end());
  const Digest round = RoundDigest(params);
  AgreedSegment agreed;
  agreed.selection = *selection;
  std::set<registry::PublicKey> voted;
  std::set<Nonce> nonces;
  if (s.reveals.size() != s.commitments.size())
    return Status::Corrupt(where + std::to_string(s.commitments.size()) + " commitments but " +
                           std::to_string(s.reveals.size()) + " reveals");
  for (size_t i = 0; i < s.commitments.size(); ++i) {
    const SignedCommitment& c = s.commitments[i];
    const Reveal& rv = s.reveals[i];
    if (!committee.count(c.member))
      return Status::Corrupt(where + "vote from node " + Id(c.member) +
                             ", who is outside the committee");
    if (!voted.insert(c.member).second)
      return Status::Corrupt(where + "node " + Id(c.member) + " votes twice");
    if (!VerifyCommitmentSignature(round, c))
      return Status::Corrupt(where + "commitment signature of node " + Id(c.member) +
                             " does not verify (a signed field was changed or the signature "
                             "was replaced)");
    if (rv.member != c.member)
      return Status::Corrupt(where + "reveal " + std::to_string(i) + " is by " + Id(rv.member) +
                             ", not by the committer " + Id(c.member));
    if (!RevealOpens(round, c, rv))
      return Status::Corrupt(where + "reveal of node " + Id(c.member) +
                             " does not open its commitment (output digest, trace root or "
                             "nonce changed)");
    if (!nonces.insert(rv.nonce).second)
      return Status::Corrupt(where + "two members revealed the same nonce (copying)");
    if (i == 0) {
      agreed.input_digest = c.input_digest;
      agreed.output_digest = rv.output_digest;
    } else if (c.input_digest != agreed.input_digest || rv.output_digest != agreed.output_digest) {
      return Status::Corrupt(where + "node " + Id(c.member) +
                             " committed to a different input or output than the others");
    }
  }
  agreed.votes = s.commitments.size();
  if (agreed.votes < selection->quorum)
    return Status::Corrupt(where + "quorum not met: " + std::to_string(agreed.votes) +
                           " agreeing vote(s), the committee of " +
                           std::to_string(selection->committee.size()) + " needs " +
                           std::to_string(selection->quorum));
  return agreed;
}

std::string Hex(const Digest& d) { return DigestToHex(d); }

}  // namespace

Result<ReceiptReport> VerifyReceipt(std::string_view bytes, const NodeKeyLookup& is_registered) {
  if (!is_registered) return Status::InvalidArgument("VerifyReceipt needs a node key lookup");
  VEIL_ASSIGN_OR_RETURN(const Receipt r, DecodeReceipt(bytes));
  if (r.is_proof())
    return Status::InvalidArgument(
        "a proof receipt is checked against the model owner's published commitment, not node "
        "keys (net::VerifyProofReceipt; veil verify-receipt does this)");
  ReceiptReport report;
  std::vector<AgreedSegment> agreed;
  for (const ReceiptSegment& s : r.segments) {
    VEIL_ASSIGN_OR_RETURN(AgreedSegment a, VerifySegment(r, s, is_registered));
    agreed.push_back(std::move(a));
  }
  if (r.input_digest != agreed.front().input_digest)
    return Status::Corrupt("input_digest is not the input the first segment's quorum signed");
  if (r.output_digest != agreed.back().output_digest)
    return Status::Corrupt("output_digest is not the output the last segment's quorum revealed");

  report.proves.push_back("model " + Hex(r.model_digest) + ", request " + r.request_id + ", mode " +
                          ModeName(r.mode) + ", public seed " + Hex(r.public_seed));
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const ReceiptSegment& s = r.segments[i];
    const AgreedSegment& a = agreed[i];
    std::string line =
        "segment " + std::to_string(s.segment_index) + " (digest " + Hex(s.segment_digest) +
        "): committee of " + std::to_string(a.selection.committee.size()) + " drawn by " +
        Id(s.selector).substr(0, 16) + "...'s VRF from " + std::to_string(s.eligible.size()) +
        " eligible nodes; " + std::to_string(a.votes) + " member(s) (quorum " +
        std::to_string(a.selection.quorum) + ") signed input " + Hex(a.input_digest) +
        " and revealed output " + Hex(a.output_digest);
    if (r.mode == Mode::kAudit)
      line += a.selection.audited ? " [audited by a second node]" : " [not drawn for audit]";
    report.proves.push_back(line);
  }
  report.proves.push_back("request input digest " + Hex(r.input_digest) + " -> output digest " +
                          Hex(r.output_digest));
  report.does_not_prove = {
      "that the output is correct if more than r - q members of a committee colluded (the "
      "threat model assumes at most f faulty of r = 2f+1)",
      "that the eligible set was complete (compare it with the registry snapshot of the time) "
      "or that the public seed was the network's seed for the epoch",
      "that each segment's input was the previous segments' output (the client relays "
      "activations; inputs are named by digest only)",
      "anything about the client's raw input or final output, which never leave the client "
      "(segments run locally are not covered)",
      "when the request ran (a receipt carries no timestamp)"};
  report.receipt = r;
  if (r.mode == Mode::kAudit)
    report.does_not_prove.push_back(
        "agreement of two nodes for segments not drawn for audit: those ran on one node");
  return report;
}

}  // namespace veil::consensus
