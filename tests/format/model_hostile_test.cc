// Hostile input: truncations, flipped bytes, crafted lengths and counts. Every case must
// fail with a Corrupt/Unsupported status that says what and where, never crash (the
// sanitizer and fuzz builds run these too).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "decode.h"
#include "format/file_builder.h"
#include "format/test_graphs.h"
#include "veil/model_file.h"

namespace veil {
namespace {

using format::ByteSink;
using testing::BuildFile;
using testing::Payload;
using testing::RawSection;
using testing::WithValidChecksum;

std::vector<uint8_t> TinyFile() { return SerializeModel(testing::MakeTinyModel()).value(); }

// If a mutated file decodes, it must re-encode to an equivalent, stable file.
void ExpectConsistentIfDecoded(const std::vector<uint8_t>& bytes) {
  Result<Graph> decoded = format::DecodeModel(bytes);
  if (!decoded.ok()) {
    EXPECT_FALSE(decoded.status().message().empty());
    return;
  }
  Result<std::vector<uint8_t>> again = SerializeModel(*decoded);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Result<Graph> redecoded = format::DecodeModel(*again);
  ASSERT_TRUE(redecoded.ok()) << redecoded.status().ToString();
  EXPECT_EQ(ModelDigest(*decoded), ModelDigest(*redecoded));
  (void)ParseModel(bytes);  // ValidateGraph must cope with any structurally valid graph
}

TEST(ModelHostileTest, EveryTruncationFails) {
  const std::vector<uint8_t> file = TinyFile();
  for (size_t n = 0; n < file.size(); ++n) {
    std::span<const uint8_t> prefix(file.data(), n);
    Result<Graph> r = ParseModel(prefix);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << n << ": " << r.status().message();
  }
}

TEST(ModelHostileTest, EveryTruncationWithValidChecksumFails) {
  // Past the checksum, the section decoders themselves must detect the truncation.
  const std::vector<uint8_t> file = TinyFile();
  const size_t body = file.size() - 32;
  for (size_t n = 16; n < body; ++n) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(n));
    cut.resize(n + 32);  // room for the checksum
    Result<Graph> r = format::DecodeModel(WithValidChecksum(std::move(cut)));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.status().message().find("at byte"), std::string::npos) << r.status().message();
  }
}

TEST(ModelHostileTest, EveryFlippedByteFails) {
  const std::vector<uint8_t> file = TinyFile();
  for (size_t i = 0; i < file.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = file;
      bad[i] ^= mask;
      ASSERT_FALSE(ParseModel(bad).ok()) << "byte " << i << " mask " << int{mask};
    }
  }
}

TEST(ModelHostileTest, FlippedBytesBehindValidChecksumNeverCrash) {
  const std::vector<uint8_t> file = TinyFile();
  for (size_t i = 0; i + 32 < file.size(); ++i) {
    for (uint8_t mask : {0x01, 0x02, 0x40, 0x80, 0xff}) {
      std::vector<uint8_t> bad = file;
      bad[i] ^= mask;
      ExpectConsistentIfDecoded(WithValidChecksum(std::move(bad)));
    }
  }
}

TEST(ModelHostileTest, RandomMutationsNeverCrash) {
  const std::vector<uint8_t> file = TinyFile();
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> bad(file.begin(), file.end() - 32);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !bad.empty(); ++e) {
      const size_t pos = rng() % bad.size();
      switch (rng() % 4) {
        case 0:
          bad[pos] = static_cast<uint8_t>(rng());
          break;
        case 1:
          bad.erase(bad.begin() + static_cast<ptrdiff_t>(pos));
          break;
        case 2:
          bad.insert(bad.begin() + static_cast<ptrdiff_t>(pos), static_cast<uint8_t>(rng()));
          break;
        default:  // a "length-like" 0xff.. run
          for (size_t k = pos; k < std::min(bad.size(), pos + 4); ++k) bad[k] = 0xff;
      }
    }
    bad.resize(bad.size() + 32);
    ExpectConsistentIfDecoded(WithValidChecksum(std::move(bad)));
  }
}

// --- Crafted sections. A minimal structurally valid model: one value, no nodes. ---

std::vector<uint8_t> ValuesPayload(uint8_t dtype, uint8_t rank, std::vector<int64_t> dims,
                                   double scale, uint32_t name_len = 1) {
  return Payload([&](ByteSink* s) {
    s->PutU32(1);
    s->PutU32(name_len);
    s->PutU8('v');
    s->PutU8(dtype);
    s->PutU8(rank);
    for (int64_t d : dims) s->PutI64(d);
    s->PutF64(scale);
  });
}
std::vector<uint8_t> GoodValues() { return ValuesPayload(1, 1, {4}, 0.5); }
std::vector<uint8_t> NoNodes() {
  return Payload([](ByteSink* s) { s->PutU32(0); });
}
std::vector<uint8_t> Io(uint32_t in, uint32_t out) {
  return Payload([&](ByteSink* s) {
    s->PutU32(1);
    s->PutU32(in);
    s->PutU32(1);
    s->PutU32(out);
  });
}

Status Decode(std::vector<RawSection> sections) {
  return format::DecodeModel(BuildFile(sections)).status();
}

Status DecodeWith(std::vector<uint8_t> values, std::vector<uint8_t> nodes,
                  std::vector<uint8_t> io) {
  return Decode({{2, 1, std::move(values)}, {3, 1, std::move(nodes)}, {4, 1, std::move(io)}});
}

void ExpectError(const Status& s, const std::string& fragment) {
  ASSERT_FALSE(s.ok()) << "expected an error containing '" << fragment << "'";
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("at byte"), std::string::npos) << s.message();
}

TEST(ModelHostileTest, MinimalCraftedFileDecodes) {
  EXPECT_TRUE(DecodeWith(GoodValues(), NoNodes(), Io(0, 0)).ok());
}

TEST(ModelHostileTest, CraftedValues) {
  // The dtype byte of the first value sits at 16 (header) + 12 (section header) + 4
  // (count) + 4 (name length) + 1 (name) = 37.
  Status dtype_error = DecodeWith(ValuesPayload(9, 1, {4}, 0.5), NoNodes(), Io(0, 0));
  EXPECT_EQ(dtype_error.message(), "model file: value 0 has unknown dtype 9 at byte 37");
  ExpectError(DecodeWith(ValuesPayload(1, 200, {}, 0.5), NoNodes(), Io(0, 0)), "rank 200 exceeds");
  ExpectError(DecodeWith(ValuesPayload(1, 2, {3, -5}, 0.5), NoNodes(), Io(0, 0)), "negative");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {kDynamicDim - 1}, 0.5), NoNodes(), Io(0, 0)),
              "negative");
  ExpectError(
      DecodeWith(ValuesPayload(1, 3, {1 << 30, 1 << 30, 1 << 30}, 0.5), NoNodes(), Io(0, 0)),
      "elements");
  ExpectError(DecodeWith(ValuesPayload(1, 2, {std::numeric_limits<int64_t>::max(), 0}, 0.5),
                         NoNodes(), Io(0, 0)),
              "elements");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {4}, std::nan("")), NoNodes(), Io(0, 0)), "scale");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {4}, -1.0), NoNodes(), Io(0, 0)), "scale");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {4}, INFINITY), NoNodes(), Io(0, 0)), "scale");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {4}, 0.5, 0xffffffffu), NoNodes(), Io(0, 0)),
              "over the limit");
  ExpectError(DecodeWith(ValuesPayload(1, 1, {4}, 0.5, 4000), NoNodes(), Io(0, 0)), "truncated");
  ExpectError(DecodeWith(Payload([](ByteSink* s) { s->PutU32(0xffffffffu); }), NoNodes(), Io(0, 0)),
              "value count 4294967295 cannot fit");
}

TEST(ModelHostileTest, CraftedIo) {
  ExpectError(DecodeWith(GoodValues(), NoNodes(), Io(1, 0)), "graph input value id 1 out of range");
  ExpectError(DecodeWith(GoodValues(), NoNodes(), Io(0, 0xffffffffu)), "out of range");
  ExpectError(DecodeWith(GoodValues(), NoNodes(), Payload([](ByteSink* s) { s->PutU32(1 << 30); })),
              "cannot fit");
}

// One node; `edit` may change any field after the defaults are written.
struct NodeSpec {
  uint16_t kind = 1;
  uint32_t input = 0;
  uint32_t attr_count = 1;
  uint32_t attr_values = 2;
  uint32_t param_count = 1;
  uint8_t param_dtype = 2;
  std::vector<int64_t> param_dims = {3};
  uint64_t param_bytes = 12;
  uint64_t param_bytes_present = 12;
  bool duplicate_attr = false;
};

std::vector<uint8_t> NodesPayload(const NodeSpec& n) {
  return Payload([&](ByteSink* s) {
    s->PutU32(1);
    s->PutU16(n.kind);
    s->PutString("n");
    s->PutU32(1);
    s->PutU32(n.input);
    s->PutU32(1);
    s->PutU32(0);
    s->PutU32(n.duplicate_attr ? 2 : n.attr_count);
    for (int k = 0; k < (n.duplicate_attr ? 2 : 1) && n.attr_count > 0; ++k) {
      s->PutString("a");
      s->PutU32(n.attr_values);
      for (uint32_t i = 0; i < std::min<uint32_t>(n.attr_values, 4); ++i) s->PutI64(-7);
    }
    s->PutU32(n.param_count);
    s->PutString("p");
    s->PutU8(n.param_dtype);
    s->PutU8(static_cast<uint8_t>(n.param_dims.size()));
    for (int64_t d : n.param_dims) s->PutI64(d);
    s->PutU64(n.param_bytes);
    s->Append(std::vector<uint8_t>(n.param_bytes_present, 0));
  });
}

Status DecodeNode(const NodeSpec& n) { return DecodeWith(GoodValues(), NodesPayload(n), Io(0, 0)); }

TEST(ModelHostileTest, CraftedNodes) {
  EXPECT_TRUE(DecodeNode({}).ok()) << DecodeNode({}).ToString();
  NodeSpec n;
  n.kind = 0;
  ExpectError(DecodeNode(n), "unknown op kind 0");
  n.kind = 20;
  ExpectError(DecodeNode(n), "unknown op kind 20");
  n = {};
  n.input = 1;
  ExpectError(DecodeNode(n), "node 0 input value id 1 out of range");
  n = {};
  n.attr_count = 0xffffffffu;
  ExpectError(DecodeNode(n), "attr count 4294967295 cannot fit");
  n = {};
  n.attr_values = 0x7fffffffu;
  ExpectError(DecodeNode(n), "cannot fit");
  n = {};
  n.duplicate_attr = true;
  ExpectError(DecodeNode(n), "duplicate attr 'a'");
  n = {};
  n.param_dtype = 0;
  ExpectError(DecodeNode(n), "unknown dtype 0");
  n = {};
  n.param_dims = {-3};
  ExpectError(DecodeNode(n), "negative");
  n = {};
  n.param_dims = {kDynamicDim};  // only value shapes may be dynamic
  ExpectError(DecodeNode(n), "negative");
  n = {};
  n.param_bytes = 11;
  n.param_bytes_present = 11;
  ExpectError(DecodeNode(n), "has 11 bytes but its shape [3] needs 12");
  n = {};
  n.param_dims = {int64_t{1} << 40};
  n.param_bytes = uint64_t{1} << 42;  // consistent with the shape, far beyond the file
  ExpectError(DecodeNode(n), "truncated");
  n = {};
  n.param_dims = {1 << 20, 1 << 20, 1 << 20};
  ExpectError(DecodeNode(n), "elements");
  n = {};
  n.param_count = 0x10000000;
  ExpectError(DecodeNode(n), "cannot fit");
}

TEST(ModelHostileTest, CraftedMetadataAndSegments) {
  auto metadata = [](uint8_t task, bool duplicate) {
    return Payload([&](ByteSink* s) {
      s->PutString("m");
      s->PutU8(task);
      s->PutU32(duplicate ? 2 : 1);
      for (int i = 0; i < (duplicate ? 2 : 1); ++i) {
        s->PutString("k");
        s->PutString("v");
      }
    });
  };
  auto segments = [](std::vector<std::pair<uint32_t, uint32_t>> ranges) {
    return Payload([&](ByteSink* s) {
      s->PutU32(static_cast<uint32_t>(ranges.size()));
      for (auto [b, e] : ranges) {
        s->PutU32(b);
        s->PutU32(e);
      }
    });
  };
  const std::vector<uint8_t> one_node = NodesPayload({});
  EXPECT_TRUE(Decode({{1, 0, metadata(2, false)},
                      {2, 1, GoodValues()},
                      {3, 1, one_node},
                      {4, 1, Io(0, 0)},
                      {5, 1, segments({{0, 1}})}})
                  .ok());
  ExpectError(
      Decode(
          {{1, 0, metadata(3, false)}, {2, 1, GoodValues()}, {3, 1, one_node}, {4, 1, Io(0, 0)}}),
      "unknown model task 3");
  ExpectError(
      Decode({{1, 0, metadata(0, true)}, {2, 1, GoodValues()}, {3, 1, one_node}, {4, 1, Io(0, 0)}}),
      "duplicate metadata key 'k'");
  for (auto ranges : std::vector<std::vector<std::pair<uint32_t, uint32_t>>>{
           {{0, 0}}, {{1, 0}}, {{0, 2}}, {{0xffffffffu, 0}}}) {
    ExpectError(
        Decode(
            {{2, 1, GoodValues()}, {3, 1, one_node}, {4, 1, Io(0, 0)}, {5, 1, segments(ranges)}}),
        "not a non-empty range");
  }
}

TEST(ModelHostileTest, CraftedSectionFraming) {
  // A section length far beyond the file.
  std::vector<uint8_t> file = BuildFile({{2, 1, GoodValues()}});
  file[16 + 4 + 7] = 0x7f;  // length's top byte
  ExpectError(format::DecodeModel(WithValidChecksum(file)).status(), "truncated section 2 payload");
  // Tag 0 is never valid; reserved header flags must be zero.
  ExpectError(Decode({{0, 0, {}}}), "section tag 0");
  file = BuildFile({{2, 1, GoodValues()}, {3, 1, NoNodes()}, {4, 1, Io(0, 0)}});
  file[8] = 1;
  ExpectError(format::DecodeModel(WithValidChecksum(file)).status(), "reserved header flags");
  // Too short to hold a header and checksum.
  ExpectError(format::DecodeModel(std::vector<uint8_t>{'V', 'E', 'I', 'L', 1, 0, 0, 0}).status(),
              "truncated file");
  // Nodes without values (tags still increasing).
  ExpectError(Decode({{3, 1, NoNodes()}}), "without a preceding values section");
}

}  // namespace
}  // namespace veil
