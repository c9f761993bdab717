// Round trips, files on disk, and the container's version/magic/section rules.
#include "veil/model_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "decode.h"
#include "format/file_builder.h"
#include "format/test_graphs.h"

namespace veil {
namespace {

using testing::BuildFile;
using testing::ExpectGraphsEqual;
using testing::MakeStructuralGraph;
using testing::MakeTinyModel;
using testing::RawSection;
using testing::SplitSections;

std::vector<uint8_t> Serialize(const Graph& g) {
  Result<std::vector<uint8_t>> bytes = SerializeModel(g);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "veil-format-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  size_t EntryCount() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(path_),
                                             std::filesystem::directory_iterator()));
  }

 private:
  std::string path_;
};

TEST(ModelFileTest, TinyModelRoundTrips) {
  const Graph g = MakeTinyModel();
  const std::vector<uint8_t> bytes = Serialize(g);
  Result<Graph> parsed = ParseModel(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectGraphsEqual(g, *parsed);
  EXPECT_EQ(ModelDigest(g), ModelDigest(*parsed));
  // Serialization is deterministic and canonical: re-encoding gives identical bytes.
  EXPECT_EQ(Serialize(*parsed), bytes);
}

TEST(ModelFileTest, StructuralGraphRoundTripsEveryFeature) {
  // Every dtype (values and params), every op kind, dynamic dims, rank-0 and empty
  // params, binary names. It is not a valid model, so decode structurally only.
  const Graph g = MakeStructuralGraph();
  const std::vector<uint8_t> bytes = Serialize(g);
  Result<Graph> decoded = format::DecodeModel(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectGraphsEqual(g, *decoded);
  EXPECT_EQ(Serialize(*decoded), bytes);
  // ParseModel also runs ValidateGraph, which must refuse this graph.
  Result<Graph> parsed = ParseModel(bytes);
  EXPECT_EQ(parsed.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(parsed.status().message().find("graph failed validation"), std::string::npos);
}

TEST(ModelFileTest, HeaderLayout) {
  const std::vector<uint8_t> bytes = Serialize(MakeTinyModel());
  ASSERT_GE(bytes.size(), 48u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "VEIL");
  EXPECT_EQ(bytes[4], 1);  // version 1, little-endian u32
  EXPECT_EQ(bytes[5] | bytes[6] | bytes[7], 0);
  EXPECT_EQ(bytes[12], 5);  // five sections
  const std::vector<RawSection> sections = SplitSections(bytes);
  ASSERT_EQ(sections.size(), 5u);
  for (uint16_t i = 0; i < 5; ++i) EXPECT_EQ(sections[i].tag, i + 1);
  EXPECT_EQ(sections[0].flags, 0);  // metadata is optional
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(sections[i].flags, 1);
  const Digest checksum = Sha256(std::span(bytes).first(bytes.size() - 32));
  EXPECT_TRUE(std::equal(checksum.begin(), checksum.end(), bytes.end() - 32));
}

TEST(ModelFileTest, SaveAndLoad) {
  TempDir dir;
  const Graph g = MakeTinyModel();
  ASSERT_TRUE(SaveModel(g, dir.File("m.veil")).ok());
  EXPECT_EQ(dir.EntryCount(), 1u);  // no temporary file left behind
  Result<Graph> loaded = LoadModel(dir.File("m.veil"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectGraphsEqual(g, *loaded);
}

TEST(ModelFileTest, FailedSaveWritesNothing) {
  TempDir dir;
  const Graph good = MakeTinyModel();
  ASSERT_TRUE(SaveModel(good, dir.File("m.veil")).ok());
  Graph bad = good;
  bad.nodes[0].outputs = {99};  // structurally invalid: refused before any write
  Status s = SaveModel(bad, dir.File("m.veil"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  EXPECT_EQ(dir.EntryCount(), 1u);
  Result<Graph> loaded = LoadModel(dir.File("m.veil"));
  ASSERT_TRUE(loaded.ok());
  ExpectGraphsEqual(good, *loaded);

  s = SaveModel(good, dir.File("missing-dir/m.veil"));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(dir.EntryCount(), 1u);
}

TEST(ModelFileTest, LoadErrors) {
  TempDir dir;
  Result<Graph> missing = LoadModel(dir.File("nope.veil"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::ofstream(dir.File("junk.veil")) << "this is not a model file at all, not even close......";
  Result<Graph> junk = LoadModel(dir.File("junk.veil"));
  EXPECT_EQ(junk.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(junk.status().message().find("junk.veil"), std::string::npos);
  EXPECT_NE(junk.status().message().find("bad magic"), std::string::npos);
}

TEST(ModelFileTest, WrongMagic) {
  std::vector<uint8_t> bytes = Serialize(MakeTinyModel());
  bytes[0] = 'X';
  Result<Graph> r = ParseModel(bytes);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(r.status().message(),
            "model file: bad magic: not a veil model file (expected \"VEIL\") at byte 0");
}

TEST(ModelFileTest, WrongVersionNamesBoth) {
  std::vector<RawSection> sections = SplitSections(Serialize(MakeTinyModel()));
  Result<Graph> r = ParseModel(BuildFile(sections, /*version=*/2));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().message(),
            "model file: format version 2 is not supported (this build reads version 1)");
  // The version is reported even when the rest of the file is something else entirely.
  const uint8_t v7[] = {'V', 'E', 'I', 'L', 7, 0, 0, 0};
  EXPECT_EQ(ParseModel(v7).status().code(), StatusCode::kUnsupported);
}

TEST(ModelFileTest, ChecksumMismatchIsCorrupt) {
  std::vector<uint8_t> bytes = Serialize(MakeTinyModel());
  bytes[bytes.size() / 2] ^= 0x01;
  Result<Graph> r = ParseModel(bytes);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos);
  bytes = Serialize(MakeTinyModel());
  bytes.back() ^= 0x80;  // the checksum itself
  EXPECT_EQ(ParseModel(bytes).status().code(), StatusCode::kCorrupt);
}

TEST(ModelFileTest, UnknownOptionalSectionIsSkipped) {
  const Graph g = MakeTinyModel();
  std::vector<RawSection> sections = SplitSections(Serialize(g));
  sections.push_back({/*tag=*/6, /*flags=*/0, {}});
  sections.push_back({/*tag=*/100, /*flags=*/0, {1, 2, 3, 4, 5}});
  Result<Graph> r = ParseModel(BuildFile(sections));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectGraphsEqual(g, *r);
}

TEST(ModelFileTest, UnknownRequiredSectionIsUnsupported) {
  std::vector<RawSection> sections = SplitSections(Serialize(MakeTinyModel()));
  sections.push_back({/*tag=*/100, /*flags=*/1, {}});
  Result<Graph> r = ParseModel(BuildFile(sections));
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("unknown required section tag 100"), std::string::npos);
}

TEST(ModelFileTest, OptionalSectionsMayBeAbsent) {
  Graph g = MakeTinyModel();
  std::vector<RawSection> sections = SplitSections(Serialize(g));
  sections.erase(sections.begin() + 4);  // segments
  sections.erase(sections.begin());      // metadata
  Result<Graph> r = ParseModel(BuildFile(sections));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  g.name.clear();
  g.metadata.clear();
  g.segments.clear();
  ExpectGraphsEqual(g, *r);
}

TEST(ModelFileTest, SectionOrderAndPresence) {
  const std::vector<RawSection> sections = SplitSections(Serialize(MakeTinyModel()));
  {
    std::vector<RawSection> swapped = sections;
    std::swap(swapped[2], swapped[3]);  // io before nodes
    Result<Graph> r = ParseModel(BuildFile(swapped));
    EXPECT_NE(r.status().message().find("is not greater than the previous tag"), std::string::npos)
        << r.status().message();
  }
  {
    std::vector<RawSection> duplicated = sections;
    duplicated.insert(duplicated.begin() + 2, sections[1]);
    EXPECT_EQ(ParseModel(BuildFile(duplicated)).status().code(), StatusCode::kCorrupt);
  }
  for (size_t required : {1, 2, 3}) {
    std::vector<RawSection> without = sections;
    without.erase(without.begin() + static_cast<ptrdiff_t>(required));
    Result<Graph> r = ParseModel(BuildFile(without));
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << required;
  }
  {
    std::vector<RawSection> padded = sections;
    padded[1].payload.push_back(0);
    Result<Graph> r = ParseModel(BuildFile(padded));
    EXPECT_NE(r.status().message().find("unread bytes at the end of the values section"),
              std::string::npos)
        << r.status().message();
  }
  {
    // A section count that disagrees with the sections present.
    EXPECT_FALSE(ParseModel(BuildFile(sections, 1, 4)).ok());
    EXPECT_FALSE(ParseModel(BuildFile(sections, 1, 6)).ok());
  }
  {
    std::vector<RawSection> flagged = sections;
    flagged[2].flags = 2;  // reserved bit
    EXPECT_FALSE(ParseModel(BuildFile(flagged)).ok());
  }
}

TEST(ModelFileTest, SerializeRejectsStructuralViolations) {
  auto expect_rejected = [](Graph g, const std::string& fragment) {
    Result<std::vector<uint8_t>> r = SerializeModel(g);
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  };
  Graph g = MakeTinyModel();
  g.inputs = {-1};
  expect_rejected(g, "out of range");
  g = MakeTinyModel();
  g.values[1].shape = Shape(9, 1);
  expect_rejected(g, "rank 9");
  g = MakeTinyModel();
  g.values[1].shape = {3, kDynamicDim};
  expect_rejected(g, "negative");
  g = MakeTinyModel();
  g.values[2].scale = std::nan("");
  expect_rejected(g, "scale");
  g = MakeTinyModel();
  g.nodes[1].name = std::string(5000, 'n');
  expect_rejected(g, "over the limit");
  g = MakeTinyModel();
  g.nodes[1].attrs.push_back(g.nodes[1].attrs[0]);
  expect_rejected(g, "duplicate attr");
  g = MakeTinyModel();
  g.nodes[1].params.push_back(g.nodes[1].params[0]);
  expect_rejected(g, "duplicate param");
  g = MakeTinyModel();
  g.metadata.push_back(g.metadata[0]);
  expect_rejected(g, "duplicate key");
  g = MakeTinyModel();
  g.segments = {{0, 2}, {2, 5}};
  expect_rejected(g, "segment 1");
  g = MakeTinyModel();
  g.values[0].shape = {int64_t{1} << 21, int64_t{1} << 20};
  expect_rejected(g, "elements");
}

}  // namespace
}  // namespace veil
