// Import of the shipped models and of malformed or unsupported ONNX files.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "onnx/onnx_pb.h"
#include "shipped_models.h"
#include "veil/onnx_import.h"
#include "veil/session.h"

namespace veil {
namespace {

std::map<OpKind, int> OpCounts(const Graph& g) {
  std::map<OpKind, int> counts;
  for (const Node& n : g.nodes) counts[n.kind]++;
  return counts;
}

TEST(ImportTest, MlpBecomesThreeLinearOps) {
  auto g = testing::ImportShipped("mlp");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto counts = OpCounts(*g);
  EXPECT_EQ(counts[OpKind::kLinear], 3);
  EXPECT_EQ(g->task, ModelTask::kImageClassifier);
  // ReLUs are fused into the first two Linear ops.
  EXPECT_EQ(g->nodes[1].AttrInt("act_min", -1), 0);
  EXPECT_EQ(counts.count(OpKind::kLookup), 0u);
}

TEST(ImportTest, CnnFoldsBatchNormAndFusesRelu) {
  auto g = testing::ImportShipped("cnn");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto counts = OpCounts(*g);
  EXPECT_EQ(counts[OpKind::kConv2d], 5);
  EXPECT_EQ(counts[OpKind::kAdd], 1);
  EXPECT_EQ(counts[OpKind::kMaxPool2d], 2);
  EXPECT_EQ(counts[OpKind::kAvgPool2d], 1);
  EXPECT_EQ(counts[OpKind::kReduceMean], 1);
  EXPECT_EQ(counts[OpKind::kLinear], 1);
}

TEST(ImportTest, VitHasAttentionLayerNormAndGeluTables) {
  auto g = testing::ImportShipped("vit");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto counts = OpCounts(*g);
  EXPECT_EQ(counts[OpKind::kAttention], 2);
  EXPECT_EQ(counts[OpKind::kLayerNorm], 5);
  EXPECT_EQ(counts[OpKind::kLookup], 2);  // one GELU per block
  for (const Node& n : g->nodes) {
    if (n.kind == OpKind::kAttention) {
      EXPECT_EQ(n.AttrInt("heads", 0), 4);
      EXPECT_EQ(n.AttrInt("causal", -1), 0);
    }
  }
}

TEST(ImportTest, TextModelHasCausalAttentionAndRmsNorm) {
  auto g = testing::ImportShipped("textgen");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto counts = OpCounts(*g);
  EXPECT_EQ(counts[OpKind::kAttention], 3);
  EXPECT_EQ(counts[OpKind::kRmsNorm], 7);
  EXPECT_EQ(counts[OpKind::kEmbedding], 2);
  EXPECT_EQ(g->task, ModelTask::kTextGenerator);
  for (const Node& n : g->nodes) {
    if (n.kind == OpKind::kAttention) {
      EXPECT_EQ(n.AttrInt("causal", 0), 1);
    }
  }
  EXPECT_EQ(g->values[g->inputs[0]].shape, (Shape{kDynamicDim}));
}

std::vector<uint8_t> Bytes(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return {s.begin(), s.end()};
}

onnx::ModelProto TinyModel(const std::string& op) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("the_node");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

ImportOptions TinyCalibration() {
  ImportOptions o;
  CalibrationInput c;
  c.shape = {2, 4};
  c.floats = {1, -2, 3, -4, 5, -6, 7, -8};
  o.calibration.push_back(c);
  return o;
}

TEST(ImportTest, UnsupportedOpNamesOpAndNode) {
  auto bytes = Bytes(TinyModel("Hardmax"));
  auto g = ImportOnnx(bytes, TinyCalibration());
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("Hardmax"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("the_node"), std::string::npos) << g.status().message();
}

TEST(ImportTest, SupportedElementwiseOpBecomesLookup) {
  auto g = ImportOnnx(Bytes(TinyModel("Tanh")), TinyCalibration());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].kind, OpKind::kLookup);
}

TEST(ImportTest, TruncatedAndCorruptFilesAreErrors) {
  std::ifstream in(testing::ModelDir("mlp") + "/mlp.onnx", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string full = ss.str();
  ImportOptions none;
  for (size_t cut : {size_t{0}, size_t{1}, size_t{17}, full.size() / 3, full.size() / 2, full.size() - 1}) {
    std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    auto g = ImportOnnx(part, none);
    EXPECT_FALSE(g.ok()) << "cut at " << cut;
  }
  std::vector<uint8_t> garbage(1000, 0xff);
  EXPECT_FALSE(ImportOnnx(garbage, none).ok());
}

TEST(ImportTest, WrongCalibrationIsAnError) {
  auto bytes = Bytes(TinyModel("Relu"));
  ImportOptions o;  // no calibration arrays
  auto g = ImportOnnx(bytes, o);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("calibration"), std::string::npos);
}

}  // namespace
}  // namespace veil
