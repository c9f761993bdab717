// ExtractSegment: a segment as a standalone, valid graph with renumbered value ids.
#include <gtest/gtest.h>

#include "format/test_graphs.h"
#include "veil/model_file.h"

namespace veil {
namespace {

using testing::MakeTinyModel;

std::vector<std::string> ValueNames(const Graph& g, const std::vector<int>& ids) {
  std::vector<std::string> names;
  for (int id : ids) names.push_back(g.values[id].name);
  return names;
}

TEST(SegmentTest, ExtractMiddleSegment) {
  const Graph g = MakeTinyModel();
  Result<Graph> seg = ExtractSegment(g, 1);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ(seg->name, "tiny/segment1");
  EXPECT_EQ(seg->task, ModelTask::kGeneric);
  EXPECT_TRUE(seg->segments.empty());
  ASSERT_EQ(seg->values.size(), 3u);
  EXPECT_EQ(ValueNames(*seg, {0, 1, 2}), (std::vector<std::string>{"emb", "hidden", "norm"}));
  EXPECT_EQ(seg->inputs, std::vector<int>{0});
  EXPECT_EQ(seg->outputs, std::vector<int>{2});
  ASSERT_EQ(seg->nodes.size(), 2u);
  EXPECT_EQ(seg->nodes[0].name, "fc1");
  EXPECT_EQ(seg->nodes[0].inputs, std::vector<int>{0});
  EXPECT_EQ(seg->nodes[0].outputs, std::vector<int>{1});
  EXPECT_EQ(seg->nodes[1].inputs, std::vector<int>{1});
  EXPECT_EQ(seg->nodes[1].outputs, std::vector<int>{2});
  EXPECT_TRUE(seg->nodes[0].params[0].tensor == g.nodes[1].params[0].tensor);
  ASSERT_NE(seg->FindMetadata("veil.segment.index"), nullptr);
  EXPECT_EQ(*seg->FindMetadata("veil.segment.index"), "1");
  EXPECT_EQ(*seg->FindMetadata("veil.segment.count"), "3");
  EXPECT_EQ(*seg->FindMetadata("veil.segment.model_digest"), DigestToHex(ModelDigest(g)));
}

TEST(SegmentTest, BoundariesMatchGraphSegmentInputsAndOutputs) {
  const Graph g = MakeTinyModel();
  for (int i = 0; i < 3; ++i) {
    Result<Graph> seg = ExtractSegment(g, i);
    ASSERT_TRUE(seg.ok());
    EXPECT_EQ(ValueNames(*seg, seg->inputs), ValueNames(g, g.SegmentInputs(g.segments[i])));
    EXPECT_EQ(ValueNames(*seg, seg->outputs), ValueNames(g, g.SegmentOutputs(g.segments[i])));
  }
}

TEST(SegmentTest, ExtractedSegmentsAreValidModels) {
  const Graph g = MakeTinyModel();
  for (int i = 0; i < 3; ++i) {
    Result<Graph> seg = ExtractSegment(g, i);
    ASSERT_TRUE(seg.ok());
    Result<std::vector<uint8_t>> bytes = SerializeModel(*seg);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Result<Graph> parsed = ParseModel(*bytes);
    ASSERT_TRUE(parsed.ok()) << "segment " << i << ": " << parsed.status().ToString();
    EXPECT_EQ(StandaloneSegmentDigest(*parsed, i), SegmentDigest(g, i));
  }
}

TEST(SegmentTest, ValueReadAcrossSeveralSegments) {
  // A value produced in segment 0 and read in segments 1 and 2 is an output of 0 and
  // an input of both later segments; a graph output produced mid-graph is an output.
  Graph g = MakeTinyModel();
  g.outputs = {4, 2};
  g.nodes[3].inputs = {3};
  Result<Graph> seg1 = ExtractSegment(g, 1);
  ASSERT_TRUE(seg1.ok());
  EXPECT_EQ(ValueNames(*seg1, seg1->outputs), (std::vector<std::string>{"norm", "hidden"}));
}

TEST(SegmentTest, BadIndexOrIdsAreErrors) {
  Graph g = MakeTinyModel();
  EXPECT_EQ(ExtractSegment(g, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ExtractSegment(g, -1).status().code(), StatusCode::kInvalidArgument);
  g.nodes[3].inputs = {-4};
  EXPECT_EQ(ExtractSegment(g, 0).status().code(), StatusCode::kInvalidArgument);
  g = MakeTinyModel();
  g.segments = {{0, 9}};
  EXPECT_EQ(ExtractSegment(g, 0).status().code(), StatusCode::kInvalidArgument);
  g = MakeTinyModel();
  g.outputs = {17};
  EXPECT_EQ(ExtractSegment(g, 0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace veil
