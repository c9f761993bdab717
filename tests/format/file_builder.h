// Builds .veil files section by section, for tests that need malformed or unusual
// files. Uses the format's internal encoders.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "wire.h"

namespace veil::testing {

struct RawSection {
  uint16_t tag = 0;
  uint16_t flags = 0;
  std::vector<uint8_t> payload;
};

// Encodes a payload with a sink callback.
std::vector<uint8_t> Payload(const std::function<void(format::ByteSink*)>& encode);

// Header (magic "VEIL", `version`, flags 0, `section_count` or sections.size()), the
// sections, and a correct trailing SHA-256.
std::vector<uint8_t> BuildFile(const std::vector<RawSection>& sections, uint32_t version = 1,
                               int64_t section_count = -1);

// Splits a well-formed file into its sections (no validation beyond bounds).
std::vector<RawSection> SplitSections(std::span<const uint8_t> file);

// Replaces the last 32 bytes with the SHA-256 of the rest (a file of < 32 bytes gets
// the digest appended), so the content reaches the section decoders.
std::vector<uint8_t> WithValidChecksum(std::vector<uint8_t> file);

}  // namespace veil::testing
