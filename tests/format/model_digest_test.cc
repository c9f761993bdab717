// Model and segment digests: stability, sensitivity, what they ignore, and known
// answers computed from the byte-level definition in docs/format.md.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>

#include "format/test_graphs.h"
#include "veil/model_file.h"

namespace veil {
namespace {

using testing::MakeTinyModel;

// Little-endian byte builder for the known-answer tests, independent of the encoder.
class Bytes {
 public:
  Bytes& Raw(std::initializer_list<uint8_t> b) {
    out_.insert(out_.end(), b);
    return *this;
  }
  Bytes& Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& U8(uint8_t v) { return Le(v, 1); }
  Bytes& U16(uint16_t v) { return Le(v, 2); }
  Bytes& U32(uint32_t v) { return Le(v, 4); }
  Bytes& U64(uint64_t v) { return Le(v, 8); }
  Bytes& F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return U64(bits);
  }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  Bytes& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> out_;
};

// x int8 [2] -> Lookup "n" (attr k=[5], param table int8 [2] = {1, 2}) -> y int8 [2].
Graph KatGraph() {
  Graph g;
  g.name = "kat";
  const int x = g.AddValue({"x", DType::kInt8, {2}, 1.0});
  const int y = g.AddValue({"y", DType::kInt8, {2}, 0.5});
  Node n;
  n.kind = OpKind::kLookup;
  n.name = "n";
  n.inputs = {x};
  n.outputs = {y};
  n.SetAttr("k", {5});
  n.SetParam("table", Tensor::FromInt8({2}, {1, 2}));
  g.nodes.push_back(n);
  n.name = "m";
  n.inputs = {y};
  n.outputs = {g.AddValue({"z", DType::kInt8, {2}, 0.25})};
  g.nodes.push_back(n);
  g.inputs = {x};
  g.outputs = {2};
  g.segments = {{0, 1}, {1, 2}};
  return g;
}

void PutValue(Bytes& b, const std::string& name, double scale) {
  b.Str(name).U8(1).U8(1).U64(2).F64(scale);
}
void PutLookup(Bytes& b, const std::string& name, uint32_t in, uint32_t out) {
  b.U16(8).Str(name).U32(1).U32(in).U32(1).U32(out);
  b.U32(1).Str("k").U32(1).U64(5);
  b.U32(1).Str("table").U8(1).U8(1).U64(2).U64(2).Raw({1, 2});
}

TEST(ModelDigestTest, KnownAnswerFromTheSpec) {
  Bytes b;
  b.Raw({'v', 'e', 'i', 'l', '.', 'm', 'o', 'd', 'e', 'l', '.', 'v', '1', 0});
  b.U32(3);
  PutValue(b, "x", 1.0);
  PutValue(b, "y", 0.5);
  PutValue(b, "z", 0.25);
  b.U32(2);
  PutLookup(b, "n", 0, 1);
  PutLookup(b, "m", 1, 2);
  b.U32(1).U32(0).U32(1).U32(2);
  EXPECT_EQ(DigestToHex(ModelDigest(KatGraph())), DigestToHex(Sha256(b.bytes())));
}

TEST(ModelDigestTest, SegmentKnownAnswerFromTheSpec) {
  // Segment 1 standalone: values y (input, local 0), z (local 1); node m; io [0] -> [1].
  Bytes b;
  b.Raw({'v', 'e', 'i', 'l', '.', 's', 'e', 'g', 'm', 'e', 'n', 't', '.', 'v', '1', 0});
  b.U64(1);
  b.U32(2);
  PutValue(b, "y", 0.5);
  PutValue(b, "z", 0.25);
  b.U32(1);
  PutLookup(b, "m", 0, 1);
  b.U32(1).U32(0).U32(1).U32(1);
  EXPECT_EQ(DigestToHex(SegmentDigest(KatGraph(), 1)), DigestToHex(Sha256(b.bytes())));
}

TEST(ModelDigestTest, GoldenTinyModelDigest) {
  // Freezes the encoding: if this changes, the format changed and needs a new version.
  EXPECT_EQ(DigestToHex(ModelDigest(MakeTinyModel())),
            "e23f8dccd6e710a7b799d3ce6f91a48966a512fb2debf4644920f47d8a7bc8eb");
}

TEST(ModelDigestTest, SameGraphSameDigest) {
  EXPECT_EQ(ModelDigest(MakeTinyModel()), ModelDigest(MakeTinyModel()));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(SegmentDigest(MakeTinyModel(), i), SegmentDigest(MakeTinyModel(), i));
}

TEST(ModelDigestTest, SemanticChangesChangeIt) {
  const Digest base = ModelDigest(MakeTinyModel());
  auto changed = [&](auto edit) {
    Graph g = MakeTinyModel();
    edit(g);
    return ModelDigest(g) != base;
  };
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[1].params[0].tensor.raw()[5] ^= 1; }));  // weight byte
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[2].params[1].tensor.i64()[0] += 1; }));  // int64 param
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[1].attrs[0].values[0] = -126; }));       // attr value
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[1].attrs[0].name = "act_lo"; }));        // attr name
  EXPECT_TRUE(changed([](Graph& g) {
    g.nodes[1].params[0].tensor.Reshape({8, 6});
  }));                                                                           // param shape
  EXPECT_TRUE(changed([](Graph& g) { g.values[1].shape = {kDynamicDim, 8}; }));  // value shape
  EXPECT_TRUE(changed([](Graph& g) { g.values[1].dtype = DType::kInt32; }));     // value dtype
  EXPECT_TRUE(changed([](Graph& g) { g.values[4].scale = 0.5; }));               // scale
  EXPECT_TRUE(changed([](Graph& g) { g.values[4].name = "out"; }));              // value name
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[3].kind = OpKind::kMatMul; }));     // op kind
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[3].name = "head"; }));              // node name
  EXPECT_TRUE(changed([](Graph& g) { g.outputs = {3, 4}; }));                    // outputs
  EXPECT_TRUE(changed([](Graph& g) { std::swap(g.nodes[1].attrs[0], g.nodes[1].attrs[1]); }));
  EXPECT_TRUE(changed([](Graph& g) { g.nodes[1].params.pop_back(); }));
}

TEST(ModelDigestTest, MetadataAndSegmentationDoNotChangeIt) {
  const Digest base = ModelDigest(MakeTinyModel());
  Graph g = MakeTinyModel();
  g.name = "renamed";
  g.task = ModelTask::kImageClassifier;
  g.SetMetadata("labels", "x,y,z");
  g.SetMetadata("new", "entry");
  g.segments = {{0, 2}, {2, 4}};
  EXPECT_EQ(ModelDigest(g), base);
  g.segments.clear();
  EXPECT_EQ(ModelDigest(g), base);
}

TEST(ModelDigestTest, SegmentDigestChangesOnlyForTheSegmentTouched) {
  const Graph base = MakeTinyModel();
  for (int touched = 0; touched < 3; ++touched) {
    Graph g = MakeTinyModel();
    const int node = touched == 0 ? 0 : touched == 1 ? 2 : 3;  // a node inside `touched`
    g.nodes[node].params[0].tensor.raw()[0] ^= 0x10;
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(SegmentDigest(g, i) != SegmentDigest(base, i), i == touched)
          << "touched " << touched << " segment " << i;
  }
  // Renaming a boundary value changes both segments that see it, and no other.
  Graph g = MakeTinyModel();
  g.values[3].name = "norm2";  // output of segment 1, input of segment 2
  EXPECT_EQ(SegmentDigest(g, 0), SegmentDigest(base, 0));
  EXPECT_NE(SegmentDigest(g, 1), SegmentDigest(base, 1));
  EXPECT_NE(SegmentDigest(g, 2), SegmentDigest(base, 2));
}

TEST(ModelDigestTest, SegmentDigestIgnoresMetadataButNotIndex) {
  Graph g = MakeTinyModel();
  g.name = "other";
  g.metadata.clear();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(SegmentDigest(g, i), SegmentDigest(MakeTinyModel(), i));
  // The same nodes at a different index hash differently.
  Result<Graph> seg = ExtractSegment(g, 1);
  ASSERT_TRUE(seg.ok());
  EXPECT_NE(StandaloneSegmentDigest(*seg, 1), StandaloneSegmentDigest(*seg, 0));
  // Segment digests are in a different domain from model digests.
  EXPECT_NE(StandaloneSegmentDigest(*seg, 0), ModelDigest(*seg));
}

TEST(ModelDigestTest, SegmentDigestMatchesStandaloneDigestOfTheExtract) {
  for (const Graph& g : {MakeTinyModel(), KatGraph(), testing::MakeStructuralGraph()}) {
    const int n = static_cast<int>(g.EffectiveSegments().size());
    for (int i = 0; i < n; ++i) {
      Result<Graph> seg = ExtractSegment(g, i);
      ASSERT_TRUE(seg.ok()) << seg.status().ToString();
      EXPECT_EQ(SegmentDigest(g, i), StandaloneSegmentDigest(*seg, i)) << g.name << " " << i;
    }
  }
}

TEST(ModelDigestTest, UnsegmentedGraphHasOneSegment) {
  Graph g = MakeTinyModel();
  g.segments.clear();
  Result<Graph> whole = ExtractSegment(g, 0);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(SegmentDigest(g, 0), StandaloneSegmentDigest(*whole, 0));
  EXPECT_EQ(SegmentDigest(g, 1), Digest{});
}

TEST(ModelDigestTest, InvalidSegmentIndexGivesZeroDigest) {
  const Graph g = MakeTinyModel();
  EXPECT_EQ(SegmentDigest(g, -1), Digest{});
  EXPECT_EQ(SegmentDigest(g, 3), Digest{});
  Graph broken = MakeTinyModel();
  broken.nodes[3].inputs = {42};
  EXPECT_EQ(SegmentDigest(broken, 0), Digest{});
}

}  // namespace
}  // namespace veil
