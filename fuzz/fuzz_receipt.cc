// libFuzzer target: receipt decoding and offline verification (proto/veil/v1/receipt.proto)
// from arbitrary bytes, and reputation-book decoding of the same bytes. Three receipt paths:
//  - the bytes as a receipt (what anyone can hand a verifier);
//  - a valid two-segment receipt made at start-up with the input XORed into it from an offset
//    given by the first bytes, so the signature, VRF and quorum checks behind the decoder are
//    reached too;
//  - a structurally valid proof receipt (version 2, mode proof) mutated the same way, so the
//    proof section's strict decoding is reached (VerifyReceipt must refuse proof receipts with
//    a reason; their zk contents are decoded by the parsers fuzz_zk_decode covers).
// Invariants: a rejection always says why; whatever decodes re-encodes, and re-encoding is a
// fixed point; the unmodified receipt verifies.
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "veil/consensus/receipt.h"
#include "veil/consensus/reputation.h"
#include "veil/registry/identity.h"

namespace {

using namespace veil::consensus;
using veil::Digest;
using veil::registry::Identity;
using veil::registry::PublicKey;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_receipt invariant violated: %s\n", what);
    std::abort();
  }
}

std::string g_dir;

Digest D(uint8_t tag) {
  Digest d{};
  d.fill(tag);
  return d;
}

// Four node identities and a valid receipt over two segments, made once.
const std::string& ValidReceipt() {
  static const std::string bytes = [] {
    char tmpl[] = "/tmp/veil-fuzz-receipt-XXXXXX";
    Require(mkdtemp(tmpl) != nullptr, "mkdtemp");
    g_dir = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(g_dir, ec);
    });
    static std::vector<std::unique_ptr<Identity>> nodes;
    for (int i = 0; i < 4; ++i) {
      auto id = Identity::LoadOrCreate(g_dir + "/n" + std::to_string(i));
      Require(id.ok(), "identity");
      nodes.push_back(std::move(id).value());
    }
    auto find = [](const PublicKey& k) -> const Identity& {
      for (const auto& n : nodes)
        if (n->public_key() == k) return *n;
      Require(false, "unknown key");
      return *nodes[0];
    };
    Receipt r;
    r.model_digest = D(1);
    r.request_id = "fuzz-1";
    r.public_seed = D(2);
    Digest input = D(3);
    r.input_digest = input;
    for (uint32_t segment = 1; segment <= 2; ++segment) {
      RoundParams p;
      p.model_digest = r.model_digest;
      p.request_id = r.request_id;
      p.public_seed = r.public_seed;
      p.segment_index = segment;
      p.segment_digest = D(static_cast<uint8_t>(10 + segment));
      p.committee_size = 3;
      p.quorum = 2;
      for (const auto& n : nodes) p.eligible.push_back({n->public_key(), 1u << 19});
      auto sel = DrawCommittee(find(DesignatedSelector(p)), p);
      Require(sel.ok(), "draw");
      const Digest round = RoundDigest(p);
      const Digest output = D(static_cast<uint8_t>(20 + segment));
      std::vector<SignedCommitment> cs;
      std::vector<Reveal> rs;
      for (const PublicKey& m : sel->committee) {
        auto s = CommitOutput(find(m), round, input, output, D(30));
        Require(s.ok(), "commit");
        cs.push_back(s->commitment);
        rs.push_back(s->reveal);
      }
      auto outcome = EvaluateRound(round, sel->committee, sel->quorum, cs, rs);
      Require(outcome.ok() && outcome->accepted, "round");
      auto seg = MakeReceiptSegment(p, *sel, *outcome, cs, rs);
      Require(seg.ok(), "segment");
      r.segments.push_back(*seg);
      input = output;
    }
    r.output_digest = input;
    auto encoded = EncodeReceipt(r);
    Require(encoded.ok(), "encode");
    return *encoded;
  }();
  return bytes;
}

// A proof receipt with opaque proof bytes (decoding does not interpret them).
const std::string& ValidProofReceipt() {
  static const std::string bytes = [] {
    Receipt r;
    r.version = kProofReceiptVersion;
    r.model_digest = D(1);
    r.request_id = "proof-1";
    ReceiptProofs p;
    p.model_commitment = D(5);
    p.first_segment = 1;
    p.input_commitments = {std::string(68, 'i')};
    p.segment_proofs = {std::string(300, 'a'), std::string(200, 'b')};
    p.output_commitments = {std::string(68, 'o'), std::string(36, 'p')};
    r.proofs = p;
    auto encoded = EncodeReceipt(r);
    Require(encoded.ok(), "encode proof receipt");
    return *encoded;
  }();
  return bytes;
}

bool AnyKey(const PublicKey&) { return true; }

void Check(const std::string& bytes) {
  veil::Result<Receipt> decoded = DecodeReceipt(bytes);
  if (decoded.ok()) {
    veil::Result<std::string> again = EncodeReceipt(*decoded);
    Require(again.ok(), "a decoded receipt cannot be re-encoded");
    veil::Result<Receipt> twice = DecodeReceipt(*again);
    Require(twice.ok(), "a re-encoded receipt does not decode");
    veil::Result<std::string> thrice = EncodeReceipt(*twice);
    Require(thrice.ok() && *thrice == *again, "re-encoding is not a fixed point");
  } else {
    Require(!decoded.status().message().empty(), "decode rejection without a reason");
  }
  veil::Result<ReceiptReport> report = VerifyReceipt(bytes, AnyKey);
  if (!report.ok()) Require(!report.status().message().empty(), "rejection without a reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& valid = ValidReceipt();
  static bool checked_valid = false;
  if (!checked_valid) {
    Require(VerifyReceipt(valid, AnyKey).ok(), "the valid receipt does not verify");
    Require(DecodeReceipt(ValidProofReceipt()).ok(), "the proof receipt does not decode");
    Require(!VerifyReceipt(ValidProofReceipt(), AnyKey).ok(),
            "a proof receipt passed the consensus verifier");
    checked_valid = true;
  }
  if (size < 3) return 0;
  {
    // The same bytes as a reputation book (consensus/reputation.h): refused or a fixed point.
    auto book = ReputationBook::Create();
    Require(book.ok(), "default reputation policy");
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    if (book->Decode(bytes).ok()) Require(book->Encode() == bytes, "book re-encoding differs");
  }
  if (data[0] % 3 == 0) {
    Check(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    std::string mutated = data[0] % 3 == 1 ? valid : ValidProofReceipt();
    const size_t offset = ((size_t{data[1]} << 8) | data[2]) % mutated.size();
    for (size_t i = 3; i < size && offset + i - 3 < mutated.size(); ++i)
      mutated[offset + i - 3] = static_cast<char>(mutated[offset + i - 3] ^ data[i]);
    Check(mutated);
  }
  return 0;
}
