// Reader for IDX files (the MNIST container) holding unsigned bytes. Internal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "veil/status.h"

namespace veil::io {

struct IdxArray {
  std::vector<uint32_t> dims;  // as stored, big-endian decoded
  std::vector<uint8_t> data;   // product(dims) bytes, row-major
};

inline constexpr size_t kMaxIdxRank = 8;

// Reads a gzip-compressed or plain IDX file whose element type is unsigned byte (type
// code 0x08). Corrupt if the magic is wrong, the rank exceeds kMaxIdxRank, the declared
// data exceeds `max_data_bytes`, or the file holds fewer or more bytes than declared.
// Memory grows only with data actually decompressed, never from a declared size alone.
Result<IdxArray> ReadIdxUbyte(const std::string& path, uint64_t max_data_bytes);

}  // namespace veil::io
