// libFuzzer target: ParseModel on arbitrary bytes.
//
// Each input is tried twice: as-is (magic, version, checksum paths) and with its last
// 32 bytes replaced by the correct SHA-256 of the rest, so mutations reach the section
// decoders and ValidateGraph. Whenever a file decodes, the fuzzer checks the format's
// invariants: the graph passes CheckModelStructure, re-serializes, re-decodes to the
// same digest, serializes canonically, and its segments extract consistently.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "decode.h"
#include "layout.h"
#include "veil/digest.h"
#include "veil/model_file.h"

namespace {

// Quadratic per-segment work is fine for real models but not for fuzz inputs with
// thousands of one-node segments.
constexpr int kMaxSegmentsChecked = 16;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_model_loader invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckInput(std::span<const uint8_t> bytes) {
  veil::Result<veil::Graph> parsed = veil::ParseModel(bytes);
  veil::Result<veil::Graph> decoded = veil::format::DecodeModel(bytes);
  if (!decoded.ok()) {
    Require(!parsed.ok(), "ParseModel accepted what DecodeModel rejected");
    Require(!decoded.status().message().empty(), "error without a message");
    return;
  }
  const veil::Graph& graph = *decoded;
  Require(veil::format::CheckModelStructure(graph).ok(), "decoded graph breaks structure rules");
  veil::Result<std::vector<uint8_t>> again = veil::SerializeModel(graph);
  Require(again.ok(), "decoded graph does not serialize");
  veil::Result<veil::Graph> redecoded = veil::format::DecodeModel(*again);
  Require(redecoded.ok(), "re-serialized graph does not decode");
  const veil::Digest digest = veil::ModelDigest(graph);
  Require(veil::ModelDigest(*redecoded) == digest, "digest changed across a round trip");
  veil::Result<std::vector<uint8_t>> third = veil::SerializeModel(*redecoded);
  Require(third.ok() && *third == *again, "serialization is not canonical");
  if (parsed.ok()) {
    Require(veil::ModelDigest(*parsed) == digest, "ParseModel and DecodeModel disagree");
    veil::Result<veil::Graph> reparsed = veil::ParseModel(*again);
    Require(reparsed.ok(), "a valid model stops validating after a round trip");
    Require(veil::ModelDigest(*reparsed) == digest, "digest changed across a reparse");
  }
  const int segments = static_cast<int>(graph.EffectiveSegments().size());
  for (int i = 0; i < segments && i < kMaxSegmentsChecked; ++i) {
    veil::Result<veil::Graph> segment = veil::ExtractSegment(graph, i);
    Require(segment.ok(), "a decoded graph's segment does not extract");
    Require(veil::SegmentDigest(graph, i) == veil::StandaloneSegmentDigest(*segment, i),
            "segment digest differs from the digest of the extracted segment");
    Require(veil::SerializeModel(*segment).ok(), "an extracted segment does not serialize");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckInput({data, size});
  if (size >= veil::format::kHeaderBytes + veil::format::kTrailerBytes) {
    std::vector<uint8_t> fixed(data, data + size);
    const size_t body = size - veil::format::kTrailerBytes;
    const veil::Digest checksum = veil::Sha256(std::span(fixed).first(body));
    std::copy(checksum.begin(), checksum.end(), fixed.begin() + static_cast<ptrdiff_t>(body));
    CheckInput(fixed);
  }
  return 0;
}
