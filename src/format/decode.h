// Structural decoding of a .veil file. Internal: ParseModel adds ValidateGraph.
#pragma once

#include <cstdint>
#include <span>

#include "veil/graph.h"
#include "veil/status.h"

namespace veil::format {

// Checks the container (magic, version, checksum, section framing) and decodes the
// sections into a Graph that satisfies CheckModelStructure. The result has NOT been
// checked by ValidateGraph and must not be executed. Never reads outside `bytes` and
// never allocates more than a constant multiple of bytes.size().
Result<Graph> DecodeModel(std::span<const uint8_t> bytes);

}  // namespace veil::format
