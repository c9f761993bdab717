// Whole-file reads and atomic whole-file writes, shared by the file formats
// (.veil models, .npy arrays). Internal to veil; include as "io/file_util.h".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/status.h"

namespace veil::io {

// Reads all of `path`. Fails with NotFound if it does not exist, InvalidArgument if it
// is a directory, and Corrupt if it holds more than `max_bytes` bytes (checked while
// reading, so a growing or special file can never make this allocate more than that).
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes);

// Writes `bytes` to a fresh temporary file in the directory of `path`, flushes it to
// disk and renames it over `path`. Either `path` ends up holding exactly `bytes` or it
// is left as it was; the temporary file is removed on every failure.
Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace veil::io
