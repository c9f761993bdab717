// Import of the shipped models and of malformed or unsupported ONNX files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

namespace veil {
namespace {

// Builders for small hand-written ONNX graphs (opset 13).
struct OnnxBuilder {
  onnx::ModelProto model;
  onnx::GraphProto* g;
  OnnxBuilder() {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(13);
    g = model.mutable_graph();
  }
  void Input(const std::string& name, std::vector<int64_t> dims) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      if (d < 0) {
        tt->mutable_shape()->add_dim()->set_dim_param("batch");
      } else {
        tt->mutable_shape()->add_dim()->set_dim_value(d);
      }
    }
  }
  void Const(const std::string& name, std::vector<int64_t> dims, std::vector<float> values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  onnx::NodeProto* Node(const std::string& op, std::vector<std::string> ins, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out + "_node");
    for (auto& i : ins) n->add_input(i);
    n->add_output(out);
    return n;
  }
  void Output(const std::string& name) { g->add_output()->set_name(name); }
  std::vector<uint8_t> Bytes() const {
    std::string s;
    model.SerializeToString(&s);
    return {s.begin(), s.end()};
  }
};

void SetInts(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

// Import options with one float calibration batch per entry of `inputs`.
ImportOptions FloatCalibration(const Shape& shape, const std::vector<float>& values, int inputs = 1) {
  ImportOptions options;
  CalibrationInput cal;
  cal.shape = shape;
  cal.floats = values;
  for (int i = 0; i < inputs; ++i) options.calibration.push_back(cal);
  return options;
}

// The LayerNorm that opsets before 17 export: mean, centre, mean square, eps, sqrt,
// divide, scale, shift — lowered to one integer LayerNorm whose output tracks the float
// normalisation to within a few output scales.
TEST(ImportPatternTest, DecomposedLayerNormBecomesOneOp) {
  constexpr int64_t kC = 16, kB = 64;
  OnnxBuilder b;
  b.Input("x", {-1, kC});
  std::vector<float> gamma(kC), beta(kC);
  for (int64_t c = 0; c < kC; ++c) {
    gamma[c] = 0.5f + 0.1f * static_cast<float>(c);
    beta[c] = 0.05f * static_cast<float>(c) - 0.3f;
  }
  b.Const("two", {}, {2.0f});
  b.Const("eps", {}, {1e-5f});
  b.Const("gamma", {kC}, gamma);
  b.Const("beta", {kC}, beta);
  SetInts(b.Node("ReduceMean", {"x"}, "mean"), "axes", {-1});
  b.Node("Sub", {"x", "mean"}, "d");
  b.Node("Pow", {"d", "two"}, "d2");
  SetInts(b.Node("ReduceMean", {"d2"}, "var"), "axes", {-1});
  b.Node("Add", {"var", "eps"}, "var_eps");
  b.Node("Sqrt", {"var_eps"}, "std");
  b.Node("Div", {"d", "std"}, "n");
  b.Node("Mul", {"n", "gamma"}, "scaled");
  b.Node("Add", {"scaled", "beta"}, "y");
  b.Output("y");

  std::vector<float> xs(static_cast<size_t>(kB * kC));
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f + 0.5f;
  auto g = ImportOnnx(b.Bytes(), FloatCalibration({kB, kC}, xs));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].kind, OpKind::kLayerNorm);

  auto session = Session::Create(*g);
  ASSERT_TRUE(session.ok());
  const Value& in = g->values[g->inputs[0]];
  Tensor q(DType::kInt8, {kB, kC});
  for (size_t i = 0; i < xs.size(); ++i)
    q.i8()[i] = static_cast<int8_t>(std::clamp(std::lround(xs[i] / in.scale), -127L, 127L));
  auto out = (*session)->Run({q});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const double s_y = g->values[g->outputs[0]].scale;
  double worst = 0;
  for (int64_t r = 0; r < kB; ++r) {
    // Float LayerNorm of the quantized input row (what the integer op sees).
    double mean = 0, var = 0;
    for (int64_t c = 0; c < kC; ++c) mean += q.i8()[r * kC + c] * in.scale / kC;
    for (int64_t c = 0; c < kC; ++c) var += std::pow(q.i8()[r * kC + c] * in.scale - mean, 2) / kC;
    for (int64_t c = 0; c < kC; ++c) {
      const double want = (q.i8()[r * kC + c] * in.scale - mean) / std::sqrt(var + 1e-5) * gamma[c] + beta[c];
      worst = std::max(worst, std::fabs((*out)[0].i8()[r * kC + c] * s_y - want) / s_y);
    }
  }
  EXPECT_LE(worst, 2.0) << "max error in output scales";
}

// x * sigmoid(x) (SiLU) written out elementwise becomes one lookup table.
TEST(ImportPatternTest, SiluChainBecomesOneLookup) {
  OnnxBuilder b;
  b.Input("x", {-1, 4});
  b.Node("Sigmoid", {"x"}, "s");
  b.Node("Mul", {"x", "s"}, "y");
  b.Output("y");
  auto g = ImportOnnx(b.Bytes(), FloatCalibration({2, 4}, {-4, -1, 0, 1, 2, 3, 4, 5}));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 1u);
  ASSERT_EQ(g->nodes[0].kind, OpKind::kLookup);
  // The table entry for code q is round(silu(q * s_x) / s_y).
  const double s_x = g->values[g->inputs[0]].scale, s_y = g->values[g->outputs[0]].scale;
  const Tensor& table = *g->nodes[0].FindParam("table");
  for (int q = -127; q <= 127; q += 17) {
    const double x = q * s_x;
    const double want = x / (1 + std::exp(-x)) / s_y;
    EXPECT_NEAR(table.i8()[q + 128], std::clamp(want, -127.0, 127.0), 0.5001) << q;
  }
}

// x - relu(x) is a function of x alone, so it becomes one lookup table ...
TEST(ImportPatternTest, UnaryChainOfSeveralOpsIsOneLookup) {
  OnnxBuilder b;
  b.Input("x", {-1, 4});
  b.Node("Relu", {"x"}, "r");
  b.Node("Sub", {"x", "r"}, "y");
  b.Output("y");
  auto g = ImportOnnx(b.Bytes(), FloatCalibration({1, 4}, {-1, 2, -3, 4}));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].kind, OpKind::kLookup);
}

// ... but a Sub of two independent activations has no integer lowering: the error names
// the node and nothing is returned.
TEST(ImportPatternTest, SubOfTwoActivationsIsUnsupportedAndNamed) {
  OnnxBuilder b;
  b.Input("x", {-1, 4});
  b.Input("z", {-1, 4});
  b.Node("Sub", {"x", "z"}, "y");
  b.Output("y");
  auto g = ImportOnnx(b.Bytes(), FloatCalibration({1, 4}, {-1, 2, -3, 4}, /*inputs=*/2));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(g.status().message().find("y_node"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("Sub"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace veil
