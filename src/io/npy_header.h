// Parser for the header of a .npy file: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Internal to the io module.
#pragma once

#include <string>
#include <string_view>

#include "veil/npy.h"
#include "veil/status.h"

namespace veil::io {

struct NpyHeader {
  NpyDType dtype = NpyDType::kFloat32;
  Shape shape;
};

inline constexpr size_t kMaxNpyRank = 64;
// Bound on the product of the dimensions (zeros counted as 1) so that no element or
// byte count computed from a parsed shape can overflow int64.
inline constexpr int64_t kMaxNpyElements = int64_t{1} << 56;

// Accepts exactly the keys 'descr', 'fortran_order' and 'shape', each once, with
// single- or double-quoted strings (no escapes), True/False, and a tuple of decimal
// non-negative integers (a one-element tuple needs its trailing comma, as in Python).
// Whitespace may surround any token; nothing but whitespace may follow the '}'.
// Corrupt for malformed text, Unsupported for big-endian data or Fortran order.
Result<NpyHeader> ParseNpyHeader(std::string_view text);

}  // namespace veil::io
