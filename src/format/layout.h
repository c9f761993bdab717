// Constants of the .veil container (docs/format.md) and the limits a file must respect.
//
// The limits are part of the format: the writer refuses a graph that exceeds them and
// the reader rejects a file that does, so every file SaveModel writes LoadModel reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "veil/graph.h"

namespace veil::format {

inline constexpr uint8_t kMagic[4] = {'V', 'E', 'I', 'L'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderBytes = 16;         // magic, version, flags, section count
inline constexpr size_t kSectionHeaderBytes = 12;  // tag u16, flags u16, length u64
inline constexpr size_t kTrailerBytes = 32;        // SHA-256 of all preceding bytes

// Section tags. In a file, tags strictly increase; values, nodes and io are required.
enum SectionTag : uint16_t {
  kSectionMetadata = 1,
  kSectionValues = 2,
  kSectionNodes = 3,
  kSectionIo = 4,
  kSectionSegments = 5,
};
// Section flag bit 0: a reader that does not know the tag must reject the file rather
// than skip the section. All other bits are reserved and must be zero.
inline constexpr uint16_t kSectionRequired = 1;

inline constexpr size_t kMaxNameBytes = 4096;               // every name and metadata key
inline constexpr size_t kMaxMetadataValueBytes = 16 << 20;  // one metadata value
inline constexpr size_t kMaxRank = 8;
inline constexpr int64_t kMaxElements = int64_t{1} << 40;  // any one shape
inline constexpr uint32_t kMaxAttrValues = 1 << 20;
inline constexpr uint64_t kMaxModelFileBytes = uint64_t{16} << 30;  // LoadModel's read cap

// Minimal encoded sizes of repeated records, used to bound counts before reserving.
inline constexpr size_t kMinValueBytes = 4 + 1 + 1 + 8;         // name, dtype, rank, scale
inline constexpr size_t kMinNodeBytes = 2 + 4 + 4 + 4 + 4 + 4;  // kind, name, 4 counts
inline constexpr size_t kMinAttrBytes = 4 + 4;                  // name, count
inline constexpr size_t kMinParamBytes = 4 + 1 + 1 + 8;         // name, dtype, rank, bytes
inline constexpr size_t kMinMetadataEntryBytes = 4 + 4;         // key, value
inline constexpr size_t kMinSegmentBytes = 4 + 4;               // begin, end

bool IsValidDType(uint8_t dtype);
bool IsValidOpKind(uint16_t kind);
bool IsValidTask(uint8_t task);

// Empty if `shape` is acceptable, else a description of the problem. Dimensions must
// be >= 0 (or, for a value shape, kDynamicDim in position 0), the rank at most kMaxRank,
// and the product of the dimensions (a dynamic or zero dimension counted as 1) at most
// kMaxElements, so no element or stride computation over the shape can overflow.
std::string ShapeProblem(const Shape& shape, bool allow_dynamic_first);

// Checks everything the reader checks, on an in-memory graph: names and counts within
// limits, enums known, value ids in range, param byte sizes consistent, unique attr,
// param and metadata names, segments within the node list. Semantic rules are
// ValidateGraph's. InvalidArgument naming the offending element on failure.
Status CheckModelStructure(const Graph& graph);

}  // namespace veil::format
