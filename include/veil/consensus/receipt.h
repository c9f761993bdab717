// Receipts (proto/veil/v1/receipt.proto, docs/consensus.md "Receipts").
//
// A receipt is the evidence for one request: the model digest, the request id, the public
// seed, the mode, the agreed input and output digests, and per served segment: the round
// parameters (segment digest, r, q, eligible nodes with weights), the designated selector's
// VRF proof, and the signed commitments and reveals of the members that formed the quorum.
//
// It is checkable offline from node signatures alone; it is not signed by the client. Every
// field is covered: round fields are bound into the selector's VRF input and into every
// commitment signature (through the round digest); input digests and commitment hashes are
// signed by members; output digests, trace roots and nonces are bound by the commitment hashes;
// the committee is recomputed; the top-level input/output digests must equal the first/last
// segment's agreed ones. So any changed field makes verification fail, with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/consensus/vrf.h"
#include "veil/digest.h"
#include "veil/status.h"

namespace veil::consensus {

inline constexpr uint32_t kReceiptVersion = 1;
inline constexpr size_t kMaxReceiptBytes = 8u << 20;
inline constexpr size_t kMaxReceiptSegments = 4096;
// Proof receipts (docs/zk.md "In the network"): version 2, wire mode 3.
inline constexpr uint32_t kProofReceiptVersion = 2;
inline constexpr uint32_t kProofReceiptMode = 3;
inline constexpr size_t kMaxProofReceiptBytes = 64u << 20;  // a whole proof receipt
inline constexpr size_t kMaxReceiptProofBytes = 32u << 20;  // each proof or commitment
inline constexpr size_t kMaxReceiptCommitments = 64;        // input and output commitments

struct ReceiptSegment {
  uint32_t segment_index = 0;
  Digest segment_digest{};
  uint32_t committee_size = 0;
  uint32_t quorum = 0;
  uint32_t audit_per_million = 0;
  std::vector<EligibleNode> eligible;
  registry::PublicKey selector{};
  VrfProof selection_proof{};
  std::vector<SignedCommitment> commitments;  // the quorum's
  std::vector<Reveal> reveals;                // one opening reveal per commitment
};

// The proof section of a version 2 receipt: opaque zk encodings (decoded and verified against
// the model commitment by net::VerifyProofReceipt, which has the graph their shapes need).
struct ReceiptProofs {
  Digest model_commitment{};  // zk model commitment digest
  uint32_t first_segment = 0;
  // Hyrax commitments (zk wire format) of the values the proofs read that no proof here
  // produced, and of the proofs' outputs that later segments read, each in order of first use.
  std::vector<std::string> input_commitments;
  std::vector<std::string> segment_proofs;  // zk segment proofs, consecutive segments
  std::vector<std::string> output_commitments;
};

// A consensus/audit receipt (version 1: mode, public_seed, digests, segments) or a proof
// receipt (version 2: `proofs` set; mode, public_seed, input/output digests and segments
// unused and empty on the wire).
struct Receipt {
  uint32_t version = kReceiptVersion;
  Digest model_digest{};
  Mode mode = Mode::kConsensus;
  std::string request_id;
  Digest public_seed{};
  Digest input_digest{};                 // the first segment's agreed input digest
  Digest output_digest{};                // the last segment's agreed output digest
  std::vector<ReceiptSegment> segments;  // strictly increasing segment_index
  std::optional<ReceiptProofs> proofs;   // version 2 only

  bool is_proof() const { return proofs.has_value(); }
};

// "consensus", "audit" or "proof".
const char* ReceiptModeName(const Receipt& receipt);

// The RoundParams a receipt segment was drawn with.
RoundParams RoundParamsOf(const Receipt& receipt, const ReceiptSegment& segment);

// A segment's evidence from an accepted round: the round fields, the selection, and the
// commitments and opening reveals of the quorum members. FailedPrecondition if the round was
// not accepted.
Result<ReceiptSegment> MakeReceiptSegment(const RoundParams& params, const Selection& selection,
                                          const RoundOutcome& outcome,
                                          std::span<const SignedCommitment> commitments,
                                          std::span<const Reveal> reveals);

// Serializes after the same structural checks DecodeReceipt applies.
Result<std::string> EncodeReceipt(const Receipt& receipt);
// Strict, length-checked decode (limits in receipt.proto). Structural only: no signatures.
Result<Receipt> DecodeReceipt(std::string_view bytes);

// True iff the key belongs to a registered node (e.g. from a registry snapshot).
using NodeKeyLookup = std::function<bool(const registry::PublicKey&)>;

struct ReceiptReport {
  Receipt receipt;                          // the verified receipt, for comparing its fields
  std::vector<std::string> proves;          // one line per fact the receipt establishes
  std::vector<std::string> does_not_prove;  // what the verifier must not conclude from it
};

// Decodes and checks everything offline (consensus and audit receipts; a proof receipt is
// refused with InvalidArgument: it is checked against the model commitment, see
// net::VerifyProofReceipt). On failure the status says exactly why (which segment,
// which node, which check). `is_registered` must be set (InvalidArgument otherwise). The caller
// compares report.receipt's model digest and request id with what it asked for.
Result<ReceiptReport> VerifyReceipt(std::string_view bytes, const NodeKeyLookup& is_registered);

}  // namespace veil::consensus
