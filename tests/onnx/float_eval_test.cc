#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "float_tensor.h"

namespace veil::onnx_import {
namespace {

using Kind = FTensor::Kind;
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

// ---- Helpers -----------------------------------------------------------------------

// Builds a NodeProto; inputs are named when the node is evaluated.
class NodeBuilder {
 public:
  explicit NodeBuilder(const std::string& op, const std::string& name = "node") {
    node_.set_op_type(op);
    node_.set_name(name);
  }
  NodeBuilder& Outputs(int n) {
    outputs_ = n;
    return *this;
  }
  NodeBuilder& Int(const std::string& name, int64_t v) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  NodeBuilder& Float(const std::string& name, float v) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  NodeBuilder& Ints(const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  NodeBuilder& Floats(const std::string& name, const std::vector<float>& v) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
    return *this;
  }
  NodeBuilder& Str(const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  NodeBuilder& Tensor(const std::string& name, const onnx::TensorProto& t) {
    onnx::AttributeProto* a = Add(name, onnx::AttributeProto::TENSOR);
    *a->mutable_t() = t;
    return *this;
  }
  // The node with one named input per entry of `inputs` (empty name for nullptr).
  onnx::NodeProto Build(const std::vector<const FTensor*>& inputs) const {
    onnx::NodeProto n = node_;
    for (size_t k = 0; k < inputs.size(); ++k) {
      n.add_input(inputs[k] != nullptr ? "in" + std::to_string(k) : "");
    }
    for (int k = 0; k < outputs_; ++k) n.add_output("out" + std::to_string(k));
    return n;
  }

 private:
  onnx::AttributeProto* Add(const std::string& name, onnx::AttributeProto::AttributeType type) {
    onnx::AttributeProto* a = node_.add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  onnx::NodeProto node_;
  int outputs_ = 1;
};

Status EvalStatus(const NodeBuilder& b, const std::vector<const FTensor*>& inputs) {
  std::vector<FTensor> outs;
  return EvalNode(b.Build(inputs), inputs, &outs);
}

std::vector<FTensor> EvalAll(const NodeBuilder& b, const std::vector<const FTensor*>& inputs) {
  std::vector<FTensor> outs;
  Status s = EvalNode(b.Build(inputs), inputs, &outs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return outs;
}

FTensor Eval(const NodeBuilder& b, const std::vector<const FTensor*>& inputs) {
  std::vector<FTensor> outs = EvalAll(b, inputs);
  return outs.empty() ? FTensor{} : outs[0];
}

FTensor F(Shape shape, std::vector<float> v) { return FTensor::Float(std::move(shape), v); }
FTensor I(Shape shape, std::vector<int64_t> v) { return FTensor::Int64(std::move(shape), v); }
FTensor B(Shape shape, std::vector<int64_t> v) { return FTensor::Bool(std::move(shape), v); }
FTensor Ints1(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return I({n}, std::move(v));
}

void ExpectFloat(const FTensor& t, const Shape& shape, const std::vector<float>& v,
                 float tol = 1e-5f) {
  EXPECT_EQ(t.kind, Kind::kFloat);
  EXPECT_EQ(t.shape, shape);
  ASSERT_EQ(t.f.size(), v.size());
  for (size_t k = 0; k < v.size(); ++k) {
    if (std::isnan(v[k])) {
      EXPECT_TRUE(std::isnan(t.f[k])) << "at " << k;
    } else {
      EXPECT_NEAR(t.f[k], v[k], tol * std::max(1.0f, std::fabs(v[k]))) << "at " << k;
    }
  }
}

void ExpectInt(const FTensor& t, const Shape& shape, const std::vector<int64_t>& v) {
  EXPECT_EQ(t.kind, Kind::kInt64);
  EXPECT_EQ(t.shape, shape);
  EXPECT_EQ(t.i, v);
}

void ExpectBool(const FTensor& t, const Shape& shape, const std::vector<int64_t>& v) {
  EXPECT_EQ(t.kind, Kind::kBool);
  EXPECT_EQ(t.shape, shape);
  EXPECT_EQ(t.i, v);
}

std::vector<float> Random(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// ---- FTensor / FromTensorProto -------------------------------------------------------

TEST(FTensorTest, Factories) {
  FTensor f = FTensor::Float({2}, {1.0f, 2.0f});
  EXPECT_EQ(f.kind, Kind::kFloat);
  EXPECT_EQ(f.size(), 2);
  FTensor i = FTensor::Int64({}, {7});
  EXPECT_EQ(i.kind, Kind::kInt64);
  EXPECT_EQ(i.size(), 1);
  FTensor b = FTensor::Bool({3}, {0, 5, 1});
  EXPECT_EQ(b.kind, Kind::kBool);
  EXPECT_EQ(b.i, (std::vector<int64_t>{0, 1, 1}));
}

TEST(FromTensorProtoTest, FloatRawAndTyped) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_dims(2);
  const float raw[4] = {1.5f, -2.0f, 3.25f, 0.0f};
  p.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof(raw)));
  Result<FTensor> t = FromTensorProto(p);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ExpectFloat(*t, {2, 2}, {1.5f, -2.0f, 3.25f, 0.0f});

  onnx::TensorProto q;
  q.set_data_type(onnx::TensorProto::FLOAT);
  q.add_dims(3);
  for (float v : {1.0f, 2.0f, 3.0f}) q.add_float_data(v);
  t = FromTensorProto(q);
  ASSERT_TRUE(t.ok());
  ExpectFloat(*t, {3}, {1.0f, 2.0f, 3.0f});
}

TEST(FromTensorProtoTest, IntegerAndBoolTypes) {
  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::INT32);
  p.add_dims(3);
  for (int32_t v : {-5, 0, 7}) p.add_int32_data(v);
  Result<FTensor> t = FromTensorProto(p);
  ASSERT_TRUE(t.ok());
  ExpectInt(*t, {3}, {-5, 0, 7});

  onnx::TensorProto i8;
  i8.set_data_type(onnx::TensorProto::INT8);
  i8.add_dims(2);
  const int8_t raw8[2] = {-128, 127};
  i8.set_raw_data(std::string(reinterpret_cast<const char*>(raw8), 2));
  t = FromTensorProto(i8);
  ASSERT_TRUE(t.ok());
  ExpectInt(*t, {2}, {-128, 127});

  onnx::TensorProto u8;
  u8.set_data_type(onnx::TensorProto::UINT8);
  u8.add_dims(2);
  u8.add_int32_data(255);
  u8.add_int32_data(3);
  t = FromTensorProto(u8);
  ASSERT_TRUE(t.ok());
  ExpectInt(*t, {2}, {255, 3});

  onnx::TensorProto i64;  // scalar
  i64.set_data_type(onnx::TensorProto::INT64);
  const int64_t raw64 = -1234567890123;
  i64.set_raw_data(std::string(reinterpret_cast<const char*>(&raw64), 8));
  t = FromTensorProto(i64);
  ASSERT_TRUE(t.ok());
  ExpectInt(*t, {}, {-1234567890123});

  onnx::TensorProto b;
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(3);
  b.set_raw_data(std::string("\x01\x00\x01", 3));
  t = FromTensorProto(b);
  ASSERT_TRUE(t.ok());
  ExpectBool(*t, {3}, {1, 0, 1});

  onnx::TensorProto d;
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_dims(2);
  d.add_double_data(0.5);
  d.add_double_data(-4.0);
  t = FromTensorProto(d);
  ASSERT_TRUE(t.ok());
  ExpectFloat(*t, {2}, {0.5f, -4.0f});
}

TEST(FromTensorProtoTest, RejectsMalformed) {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(4);
  p.set_raw_data(std::string(12, '\0'));  // 3 floats for 4 elements
  Result<FTensor> t = FromTensorProto(p);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("'w'"), std::string::npos);

  onnx::TensorProto neg;
  neg.set_data_type(onnx::TensorProto::FLOAT);
  neg.add_dims(-1);
  EXPECT_FALSE(FromTensorProto(neg).ok());

  onnx::TensorProto huge;  // 2^62 elements: must be refused before allocating
  huge.set_data_type(onnx::TensorProto::FLOAT);
  huge.add_dims(int64_t{1} << 31);
  huge.add_dims(int64_t{1} << 31);
  EXPECT_FALSE(FromTensorProto(huge).ok());

  onnx::TensorProto typed;  // typed field with the wrong count
  typed.set_data_type(onnx::TensorProto::INT64);
  typed.add_dims(2);
  typed.add_int64_data(1);
  EXPECT_FALSE(FromTensorProto(typed).ok());

  onnx::TensorProto str;
  str.set_data_type(onnx::TensorProto::STRING);
  str.add_dims(1);
  str.add_string_data("x");
  EXPECT_EQ(FromTensorProto(str).status().code(), StatusCode::kUnsupported);

  onnx::TensorProto ext;
  ext.set_data_type(onnx::TensorProto::FLOAT);
  ext.set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_EQ(FromTensorProto(ext).status().code(), StatusCode::kUnsupported);
}

// ---- Elementwise ---------------------------------------------------------------------

TEST(FloatEvalTest, UnaryFloat) {
  const FTensor x = F({4}, {-2.0f, -0.5f, 0.0f, 1.5f});
  ExpectFloat(Eval(NodeBuilder("Relu"), {&x}), {4}, {0.0f, 0.0f, 0.0f, 1.5f});
  ExpectFloat(Eval(NodeBuilder("LeakyRelu").Float("alpha", 0.1f), {&x}), {4},
              {-0.2f, -0.05f, 0.0f, 1.5f});
  ExpectFloat(Eval(NodeBuilder("LeakyRelu"), {&x}), {4}, {-0.02f, -0.005f, 0.0f, 1.5f});
  ExpectFloat(Eval(NodeBuilder("Neg"), {&x}), {4}, {2.0f, 0.5f, 0.0f, -1.5f});
  ExpectFloat(Eval(NodeBuilder("Abs"), {&x}), {4}, {2.0f, 0.5f, 0.0f, 1.5f});
  ExpectFloat(Eval(NodeBuilder("Tanh"), {&x}), {4},
              {std::tanh(-2.0f), std::tanh(-0.5f), 0.0f, std::tanh(1.5f)});
  ExpectFloat(Eval(NodeBuilder("Erf"), {&x}), {4},
              {std::erf(-2.0f), std::erf(-0.5f), 0.0f, std::erf(1.5f)});
  ExpectFloat(Eval(NodeBuilder("Exp"), {&x}), {4},
              {std::exp(-2.0f), std::exp(-0.5f), 1.0f, std::exp(1.5f)});
  ExpectFloat(Eval(NodeBuilder("Floor"), {&x}), {4}, {-2.0f, -1.0f, 0.0f, 1.0f});
  ExpectFloat(Eval(NodeBuilder("Ceil"), {&x}), {4}, {-2.0f, -0.0f, 0.0f, 2.0f});

  const FTensor s = F({3}, {-100.0f, 0.0f, 100.0f});
  ExpectFloat(Eval(NodeBuilder("Sigmoid"), {&s}), {3}, {0.0f, 0.5f, 1.0f});
  const FTensor p = F({2}, {4.0f, 0.25f});
  ExpectFloat(Eval(NodeBuilder("Sqrt"), {&p}), {2}, {2.0f, 0.5f});
  ExpectFloat(Eval(NodeBuilder("Reciprocal"), {&p}), {2}, {0.25f, 4.0f});
  ExpectFloat(Eval(NodeBuilder("Log"), {&p}), {2}, {std::log(4.0f), std::log(0.25f)});
}

TEST(FloatEvalTest, UnaryInt) {
  const FTensor x = I({3}, {-3, 0, kI64Min});
  ExpectInt(Eval(NodeBuilder("Neg"), {&x}), {3}, {3, 0, kI64Min});  // wraps, no UB
  ExpectInt(Eval(NodeBuilder("Abs"), {&x}), {3}, {3, 0, kI64Min});
  ExpectInt(Eval(NodeBuilder("Relu"), {&x}), {3}, {0, 0, 0});
  EXPECT_EQ(EvalStatus(NodeBuilder("Sigmoid"), {&x}).code(), StatusCode::kInvalidArgument);
  const FTensor b = B({1}, {1});
  EXPECT_EQ(EvalStatus(NodeBuilder("Relu"), {&b}).code(), StatusCode::kInvalidArgument);
}

TEST(FloatEvalTest, BinaryBroadcasting) {
  const FTensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  const FTensor row = F({3}, {10, 20, 30});
  ExpectFloat(Eval(NodeBuilder("Add"), {&a, &row}), {2, 3}, {11, 22, 33, 14, 25, 36});
  const FTensor col = F({2, 1}, {1, 2});
  const FTensor line = F({1, 3}, {1, 2, 3});
  ExpectFloat(Eval(NodeBuilder("Sub"), {&col, &line}), {2, 3}, {0, -1, -2, 1, 0, -1});
  const FTensor scalar = F({}, {2});
  ExpectFloat(Eval(NodeBuilder("Mul"), {&scalar, &a}), {2, 3}, {2, 4, 6, 8, 10, 12});
  ExpectFloat(Eval(NodeBuilder("Div"), {&a, &scalar}), {2, 3}, {0.5, 1, 1.5, 2, 2.5, 3});
  // Rank-3 broadcast on middle axis: [2,1,2] * [1,3,1] -> [2,3,2].
  const FTensor x = F({2, 1, 2}, {1, 2, 3, 4});
  const FTensor y = F({1, 3, 1}, {1, 10, 100});
  ExpectFloat(Eval(NodeBuilder("Mul"), {&x, &y}), {2, 3, 2},
              {1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400});
  // Empty broadcast.
  const FTensor e = F({0, 3}, {});
  ExpectFloat(Eval(NodeBuilder("Add"), {&e, &row}), {0, 3}, {});
}

TEST(FloatEvalTest, BinaryErrors) {
  const FTensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  const FTensor b = F({2}, {1, 2});
  Status s = EvalStatus(NodeBuilder("Add", "add7"), {&a, &b});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("add7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("broadcast"), std::string::npos) << s.message();
  const FTensor i = I({3}, {1, 2, 3});
  EXPECT_EQ(EvalStatus(NodeBuilder("Add"), {&a, &i}).code(), StatusCode::kInvalidArgument);
  const FTensor zero = I({}, {0});
  EXPECT_EQ(EvalStatus(NodeBuilder("Div"), {&i, &zero}).code(), StatusCode::kInvalidArgument);
}

TEST(FloatEvalTest, IntArithmetic) {
  const FTensor a = I({4}, {7, -7, 7, kI64Min});
  const FTensor b = I({4}, {2, 2, -2, -1});
  ExpectInt(Eval(NodeBuilder("Div"), {&a, &b}), {4}, {3, -3, -3, kI64Min});  // truncation
  ExpectInt(Eval(NodeBuilder("Add"), {&a, &b}), {4}, {9, -5, 5, kI64Max});   // wraps
  ExpectInt(Eval(NodeBuilder("Sub"), {&a, &b}), {4}, {5, -9, 9, kI64Min + 1});
  ExpectInt(Eval(NodeBuilder("Mul"), {&a, &b}), {4}, {14, -14, -14, kI64Min});
}

TEST(FloatEvalTest, Pow) {
  const FTensor x = F({3}, {2, 3, 4});
  const FTensor e = F({}, {2});
  ExpectFloat(Eval(NodeBuilder("Pow"), {&x, &e}), {3}, {4, 9, 16});
  const FTensor ie = I({3}, {0, 1, 3});
  ExpectFloat(Eval(NodeBuilder("Pow"), {&x, &ie}), {3}, {1, 3, 64});
  const FTensor half = F({}, {0.5f});
  ExpectFloat(Eval(NodeBuilder("Pow"), {&x, &half}), {3}, {std::sqrt(2.0f), std::sqrt(3.0f), 2});
  const FTensor ix = I({2}, {3, -2});
  const FTensor two = I({}, {2});
  ExpectInt(Eval(NodeBuilder("Pow"), {&ix, &two}), {2}, {9, 4});
}

TEST(FloatEvalTest, ComparisonAndLogic) {
  const FTensor a = F({2, 2}, {1, 2, 3, 4});
  const FTensor b = F({2}, {2, 3});
  ExpectBool(Eval(NodeBuilder("Equal"), {&a, &b}), {2, 2}, {0, 0, 0, 0});
  ExpectBool(Eval(NodeBuilder("Less"), {&a, &b}), {2, 2}, {1, 1, 0, 0});
  ExpectBool(Eval(NodeBuilder("Greater"), {&a, &b}), {2, 2}, {0, 0, 1, 1});
  ExpectBool(Eval(NodeBuilder("LessOrEqual"), {&a, &b}), {2, 2}, {1, 1, 0, 0});
  ExpectBool(Eval(NodeBuilder("GreaterOrEqual"), {&a, &b}), {2, 2}, {0, 0, 1, 1});
  const FTensor ia = I({3}, {1, 5, -2});
  const FTensor ib = I({}, {5});
  ExpectBool(Eval(NodeBuilder("Equal"), {&ia, &ib}), {3}, {0, 1, 0});
  ExpectBool(Eval(NodeBuilder("Less"), {&ia, &ib}), {3}, {1, 0, 1});

  const FTensor p = B({4}, {0, 0, 1, 1});
  const FTensor q = B({4}, {0, 1, 0, 1});
  ExpectBool(Eval(NodeBuilder("And"), {&p, &q}), {4}, {0, 0, 0, 1});
  ExpectBool(Eval(NodeBuilder("Or"), {&p, &q}), {4}, {0, 1, 1, 1});
  ExpectBool(Eval(NodeBuilder("Xor"), {&p, &q}), {4}, {0, 1, 1, 0});
  ExpectBool(Eval(NodeBuilder("Not"), {&p}), {4}, {1, 1, 0, 0});
  ExpectBool(Eval(NodeBuilder("Equal"), {&p, &q}), {4}, {1, 0, 0, 1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("And"), {&a, &a}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Not"), {&a}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Less"), {&p, &q}).ok());
}

TEST(FloatEvalTest, Where) {
  const FTensor c = B({2, 1}, {1, 0});
  const FTensor x = F({1, 3}, {1, 2, 3});
  const FTensor y = F({}, {-1});
  ExpectFloat(Eval(NodeBuilder("Where"), {&c, &x, &y}), {2, 3}, {1, 2, 3, -1, -1, -1});
  const FTensor ix = I({3}, {1, 2, 3});
  const FTensor iy = I({3}, {-1, -2, -3});
  const FTensor c3 = B({3}, {1, 0, 1});
  ExpectInt(Eval(NodeBuilder("Where"), {&c3, &ix, &iy}), {3}, {1, -2, 3});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Where"), {&x, &x, &y}).ok());    // float condition
  EXPECT_FALSE(EvalStatus(NodeBuilder("Where"), {&c3, &ix, &y}).ok());  // mixed types
}

TEST(FloatEvalTest, MaxMin) {
  const FTensor a = F({3}, {1, 5, 3});
  const FTensor b = F({}, {2});
  const FTensor c = F({3}, {0, 0, 4});
  ExpectFloat(Eval(NodeBuilder("Max"), {&a, &b, &c}), {3}, {2, 5, 4});
  ExpectFloat(Eval(NodeBuilder("Min"), {&a, &b}), {3}, {1, 2, 2});
}

TEST(FloatEvalTest, Cast) {
  const FTensor x = F({5}, {-1.7f, 2.9f, std::nanf(""), 1e30f, -1e30f});
  ExpectInt(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::INT64), {&x}), {5},
            {-1, 2, 0, kI64Max, kI64Min});
  ExpectBool(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::BOOL), {&x}), {5},
             {1, 1, 1, 1, 1});
  const FTensor i = I({3}, {-3, 0, (int64_t{1} << 32) + 5});
  ExpectFloat(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::FLOAT), {&i}), {3},
              {-3.0f, 0.0f, 4294967301.0f});
  ExpectInt(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::INT32), {&i}), {3}, {-3, 0, 5});
  ExpectBool(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::BOOL), {&i}), {3}, {1, 0, 1});
  const FTensor b = B({2}, {1, 0});
  ExpectFloat(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::FLOAT), {&b}), {2}, {1, 0});
  ExpectInt(Eval(NodeBuilder("Cast").Int("to", onnx::TensorProto::INT64), {&b}), {2}, {1, 0});
  EXPECT_EQ(EvalStatus(NodeBuilder("Cast").Int("to", onnx::TensorProto::STRING), {&x}).code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(EvalStatus(NodeBuilder("Cast"), {&x}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EvalStatus(NodeBuilder("Cast").Float("to", 1.0f), {&x}).code(),
            StatusCode::kInvalidArgument);  // wrong attribute type
}

TEST(FloatEvalTest, Clip) {
  const FTensor x = F({4}, {-2, 0.5f, 3, 10});
  const FTensor lo = F({}, {0});
  const FTensor hi = F({}, {6});
  ExpectFloat(Eval(NodeBuilder("Clip"), {&x, &lo, &hi}), {4}, {0, 0.5f, 3, 6});
  ExpectFloat(Eval(NodeBuilder("Clip"), {&x, nullptr, &hi}), {4}, {-2, 0.5f, 3, 6});
  ExpectFloat(Eval(NodeBuilder("Clip"), {&x, &lo}), {4}, {0, 0.5f, 3, 10});
  ExpectFloat(Eval(NodeBuilder("Clip"), {&x}), {4}, {-2, 0.5f, 3, 10});
  ExpectFloat(Eval(NodeBuilder("Clip").Float("min", -1).Float("max", 1), {&x}), {4},
              {-1, 0.5f, 1, 1});
  const FTensor ix = I({3}, {-5, 2, 9});
  const FTensor ilo = I({}, {0});
  const FTensor ihi = I({}, {4});
  ExpectInt(Eval(NodeBuilder("Clip"), {&ix, &ilo, &ihi}), {3}, {0, 2, 4});
  const FTensor vec = F({2}, {0, 1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Clip"), {&x, &vec}).ok());
}

// ---- Conv ----------------------------------------------------------------------------

struct ConvCase {
  Shape x;  // [N, C, D, H, W] with D/H possibly absent
  int64_t m;
  Shape k;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;
  bool bias;
};

// Naive direct convolution over up to 3 spatial dimensions.
std::vector<float> NaiveConv(const ConvCase& c, const std::vector<float>& x,
                             const std::vector<float>& w, const std::vector<float>& b,
                             Shape* out_shape) {
  const size_t r = c.k.size();
  std::array<int64_t, 3> in{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, p{0, 0, 0}, o{1, 1, 1};
  for (size_t i = 0; i < r; ++i) {
    const size_t j = 3 - r + i;
    in[j] = c.x[2 + i];
    k[j] = c.k[i];
    s[j] = c.strides[i];
    d[j] = c.dilations[i];
    p[j] = c.pads[i];
    o[j] = (in[j] + c.pads[i] + c.pads[i + r] - d[j] * (k[j] - 1) - 1) / s[j] + 1;
  }
  const int64_t n = c.x[0], ch = c.x[1], cg = ch / c.group, mg = c.m / c.group;
  *out_shape = {n, c.m};
  for (size_t i = 0; i < r; ++i) out_shape->push_back(o[3 - r + i]);
  std::vector<float> y;
  for (int64_t b0 = 0; b0 < n; ++b0) {
    for (int64_t m = 0; m < c.m; ++m) {
      const int64_t g = m / mg;
      for (int64_t z = 0; z < o[0]; ++z) {
        for (int64_t yy = 0; yy < o[1]; ++yy) {
          for (int64_t xx = 0; xx < o[2]; ++xx) {
            double acc = c.bias ? b[static_cast<size_t>(m)] : 0.0;
            for (int64_t ci = 0; ci < cg; ++ci) {
              for (int64_t kz = 0; kz < k[0]; ++kz) {
                for (int64_t ky = 0; ky < k[1]; ++ky) {
                  for (int64_t kx = 0; kx < k[2]; ++kx) {
                    const int64_t iz = z * s[0] - p[0] + kz * d[0];
                    const int64_t iy = yy * s[1] - p[1] + ky * d[1];
                    const int64_t ix = xx * s[2] - p[2] + kx * d[2];
                    if (iz < 0 || iz >= in[0] || iy < 0 || iy >= in[1] || ix < 0 ||
                        ix >= in[2]) {
                      continue;
                    }
                    const int64_t xi =
                        (((b0 * ch + g * cg + ci) * in[0] + iz) * in[1] + iy) * in[2] + ix;
                    const int64_t wi = (((m * cg + ci) * k[0] + kz) * k[1] + ky) * k[2] + kx;
                    acc += static_cast<double>(x[static_cast<size_t>(xi)]) *
                           w[static_cast<size_t>(wi)];
                  }
                }
              }
            }
            y.push_back(static_cast<float>(acc));
          }
        }
      }
    }
  }
  return y;
}

void CheckConv(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE("conv case seed " + std::to_string(seed));
  Shape wshape = {c.m, c.x[1] / c.group};
  wshape.insert(wshape.end(), c.k.begin(), c.k.end());
  const FTensor x = F(c.x, Random(NumElements(c.x), seed));
  const FTensor w = F(wshape, Random(NumElements(wshape), seed + 1));
  const FTensor b = F({c.m}, Random(c.m, seed + 2));
  NodeBuilder node("Conv");
  node.Int("group", c.group).Ints("strides", c.strides).Ints("pads", c.pads);
  node.Ints("dilations", c.dilations).Ints("kernel_shape", c.k);
  Shape expected_shape;
  const std::vector<float> expected = NaiveConv(c, x.f, w.f, b.f, &expected_shape);
  const FTensor y = c.bias ? Eval(node, {&x, &w, &b}) : Eval(node, {&x, &w});
  ExpectFloat(y, expected_shape, expected, 1e-4f);
}

TEST(FloatEvalConvTest, MatchesNaiveLoop) {
  // 2-D: plain, bias, stride, asymmetric pads, dilation, groups, depthwise, pointwise.
  CheckConv({{2, 3, 7, 6}, 4, {3, 3}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, false}, 1);
  CheckConv({{1, 3, 8, 8}, 5, {3, 3}, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}, true}, 2);
  CheckConv({{2, 4, 9, 7}, 6, {3, 2}, 2, {2, 1}, {1, 0, 2, 1}, {2, 2}, true}, 3);
  CheckConv({{1, 6, 5, 5}, 6, {3, 3}, 6, {1, 1}, {1, 1, 1, 1}, {1, 1}, true}, 4);
  CheckConv({{2, 8, 4, 5}, 3, {1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, true}, 5);
  CheckConv({{1, 4, 6, 6}, 4, {1, 1}, 2, {2, 2}, {1, 1, 1, 1}, {1, 1}, false}, 6);
  // Many output columns: exercises im2col chunking (kdim * P > the column budget).
  CheckConv({{1, 32, 40, 40}, 8, {3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, true}, 7);
  // Odd row count for the 4-row GEMM tile.
  CheckConv({{1, 5, 5, 5}, 7, {2, 2}, 1, {1, 1}, {0, 1, 1, 0}, {1, 1}, true}, 8);
  // 1-D and 3-D.
  CheckConv({{2, 3, 11}, 4, {3}, 1, {2}, {1, 2}, {2}, true}, 9);
  CheckConv({{1, 2, 4, 5, 5}, 3, {2, 3, 3}, 1, {1, 2, 1}, {1, 0, 1, 0, 1, 1}, {1, 1, 2}, true}, 10);
}

TEST(FloatEvalConvTest, RandomGeometriesMatchNaiveLoop) {
  std::mt19937 rng(77);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (uint32_t iter = 0; iter < 80; ++iter) {
    const int64_t r = pick(1, 3);
    const int64_t group = pick(1, 3);
    ConvCase c;
    c.x = {pick(1, 2), group * pick(1, 3)};
    c.m = group * pick(1, 3);
    c.group = group;
    c.bias = pick(0, 1) == 1;
    for (int64_t d = 0; d < r; ++d) {
      c.k.push_back(pick(1, 3));
      c.strides.push_back(pick(1, 3));
      c.dilations.push_back(pick(1, 2));
      c.pads.push_back(pick(0, 2));
    }
    for (int64_t d = 0; d < r; ++d) {
      c.pads.push_back(pick(0, 2));
      const int64_t extent =
          c.dilations[static_cast<size_t>(d)] * (c.k[static_cast<size_t>(d)] - 1) + 1;
      const int64_t pad = c.pads[static_cast<size_t>(d)] + c.pads[static_cast<size_t>(d + r)];
      c.x.push_back(std::max<int64_t>(extent - pad, 1) + pick(0, 6 - 2 * (r - 1)));
    }
    CheckConv(c, 1000 + iter);
  }
}

TEST(FloatEvalConvTest, HandComputed) {
  // 1x1x3x3 input, 2x2 all-ones kernel, bias 1.
  const FTensor x = F({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const FTensor w = F({1, 1, 2, 2}, {1, 1, 1, 1});
  const FTensor b = F({1}, {1});
  ExpectFloat(Eval(NodeBuilder("Conv"), {&x, &w, &b}), {1, 1, 2, 2}, {13, 17, 25, 29});
}

TEST(FloatEvalConvTest, Errors) {
  const FTensor x = F({1, 3, 4, 4}, Random(48, 1));
  const FTensor w = F({2, 2, 3, 3}, Random(36, 2));  // expects 2 channels
  Status s = EvalStatus(NodeBuilder("Conv", "conv1"), {&x, &w});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("conv1"), std::string::npos);
  const FTensor w3 = F({2, 3, 3, 3}, Random(54, 3));
  EXPECT_EQ(EvalStatus(NodeBuilder("Conv").Str("auto_pad", "SAME_UPPER"), {&x, &w3}).code(),
            StatusCode::kUnsupported);
  const FTensor big = F({2, 3, 5, 5}, Random(150, 4));  // kernel larger than the input
  EXPECT_EQ(EvalStatus(NodeBuilder("Conv"), {&x, &big}).code(), StatusCode::kInvalidArgument);
  const FTensor bias = F({3}, {1, 2, 3});  // wrong bias length
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv"), {&x, &w3, &bias}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv").Int("group", 2), {&x, &w3}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv").Ints("strides", {0, 1}), {&x, &w3}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv").Ints("pads", {1, 1}), {&x, &w3}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv").Ints("kernel_shape", {2, 2}), {&x, &w3}).ok());
  // A huge dilation must not overflow into a bogus shape.
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv").Ints("dilations", {kI64Max, 1}), {&x, &w3}).ok());
  const FTensor ix = I({1, 1, 1}, {1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Conv"), {&ix, &ix}).ok());
}

// ---- Pools and normalisation ---------------------------------------------------------

TEST(FloatEvalPoolTest, MaxPool) {
  const FTensor x = F({1, 1, 4, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  ExpectFloat(
      Eval(NodeBuilder("MaxPool").Ints("kernel_shape", {2, 2}).Ints("strides", {2, 2}), {&x}),
      {1, 1, 2, 2}, {6, 8, 14, 16});
  // Padding is ignored by max; Indices index into the flattened NCHW input.
  const FTensor neg = F({1, 2, 2, 2}, {-1, -2, -3, -4, 5, 6, 7, 8});
  std::vector<FTensor> outs = EvalAll(
      NodeBuilder("MaxPool").Outputs(2).Ints("kernel_shape", {2, 2}).Ints("pads", {1, 1, 0, 0}),
      {&neg});
  ASSERT_EQ(outs.size(), 2u);
  ExpectFloat(outs[0], {1, 2, 2, 2}, {-1, -1, -1, -1, 5, 6, 7, 8});
  ExpectInt(outs[1], {1, 2, 2, 2}, {0, 0, 0, 0, 4, 5, 6, 7});
  EXPECT_EQ(
      EvalStatus(NodeBuilder("MaxPool").Ints("kernel_shape", {2, 2}).Int("ceil_mode", 1), {&x})
          .code(),
      StatusCode::kUnsupported);
  EXPECT_FALSE(EvalStatus(NodeBuilder("MaxPool"), {&x}).ok());  // kernel_shape required
  EXPECT_FALSE(EvalStatus(NodeBuilder("MaxPool").Ints("kernel_shape", {2}), {&x}).ok());
}

// Random 2-D pool geometries against a direct loop (max, average with and without pads).
TEST(FloatEvalPoolTest, RandomGeometriesMatchNaiveLoop) {
  std::mt19937 rng(99);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (uint32_t iter = 0; iter < 60; ++iter) {
    const int64_t kh = pick(1, 3), kw = pick(1, 3), sh = pick(1, 2), sw = pick(1, 2);
    const int64_t pt = pick(0, kh - 1), pl = pick(0, kw - 1), pb = pick(0, kh - 1),
                  pr = pick(0, kw - 1);
    const int64_t h = pick(std::max<int64_t>(kh - pt - pb, 1), 6);
    const int64_t w = pick(std::max<int64_t>(kw - pl - pr, 1), 6);
    const bool is_max = pick(0, 1) == 1;
    const int64_t include_pad = pick(0, 1);
    const FTensor x = F({1, 2, h, w}, Random(2 * h * w, 500 + iter));
    NodeBuilder node(is_max ? "MaxPool" : "AveragePool");
    node.Ints("kernel_shape", {kh, kw}).Ints("strides", {sh, sw}).Ints("pads", {pt, pl, pb, pr});
    if (!is_max) node.Int("count_include_pad", include_pad);
    const int64_t oh = (h + pt + pb - kh) / sh + 1, ow = (w + pl + pr - kw) / sw + 1;
    std::vector<float> expected;
    for (int64_t c = 0; c < 2; ++c) {
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          float best = -std::numeric_limits<float>::infinity();
          double sum = 0;
          int64_t count = 0;
          for (int64_t a = 0; a < kh; ++a) {
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t y = i * sh - pt + a, z = j * sw - pl + b;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              const float v = x.f[static_cast<size_t>((c * h + y) * w + z)];
              best = std::max(best, v);
              sum += v;
              ++count;
            }
          }
          expected.push_back(is_max ? best
                                    : static_cast<float>(sum / (include_pad ? kh * kw : count)));
        }
      }
    }
    SCOPED_TRACE("pool iteration " + std::to_string(iter));
    ExpectFloat(Eval(node, {&x}), {1, 2, oh, ow}, expected);
  }
}

TEST(FloatEvalPoolTest, AveragePool) {
  const FTensor x = F({1, 1, 2, 2}, {1, 2, 3, 4});
  NodeBuilder pool("AveragePool");
  pool.Ints("kernel_shape", {2, 2}).Ints("pads", {1, 1, 1, 1}).Ints("strides", {2, 2});
  // Windows cover one real element each (corners).
  ExpectFloat(Eval(pool, {&x}), {1, 1, 2, 2}, {1, 2, 3, 4});
  pool.Int("count_include_pad", 1);
  ExpectFloat(Eval(pool, {&x}), {1, 1, 2, 2}, {0.25f, 0.5f, 0.75f, 1.0f});
  const FTensor y = F({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  ExpectFloat(Eval(NodeBuilder("AveragePool").Ints("kernel_shape", {2, 2}), {&y}), {1, 1, 2, 2},
              {3, 4, 6, 7});
  EXPECT_EQ(
      EvalStatus(NodeBuilder("AveragePool").Ints("kernel_shape", {2, 2}).Int("ceil_mode", 1), {&y})
          .code(),
      StatusCode::kUnsupported);
}

TEST(FloatEvalPoolTest, GlobalPools) {
  const FTensor x = F({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  ExpectFloat(Eval(NodeBuilder("GlobalAveragePool"), {&x}), {1, 2, 1, 1}, {2.5f, -2.5f});
  ExpectFloat(Eval(NodeBuilder("GlobalMaxPool"), {&x}), {1, 2, 1, 1}, {4, -1});
}

TEST(FloatEvalTest, BatchNormalization) {
  const FTensor x = F({1, 2, 1, 2}, {1, 2, 3, 4});
  const FTensor scale = F({2}, {2, 0.5f});
  const FTensor bias = F({2}, {1, -1});
  const FTensor mean = F({2}, {1, 3});
  const FTensor var = F({2}, {4, 1});
  // Channel 0: (x-1)/2*2+1; channel 1: (x-3)/1*0.5-1 (epsilon 0).
  ExpectFloat(Eval(NodeBuilder("BatchNormalization").Float("epsilon", 0.0f),
                   {&x, &scale, &bias, &mean, &var}),
              {1, 2, 1, 2}, {1, 2, -1, -0.5f});
  const FTensor y = Eval(NodeBuilder("BatchNormalization"), {&x, &scale, &bias, &mean, &var});
  EXPECT_NEAR(y.f[1], 1.0f + 2.0f * (1.0f / std::sqrt(4.0f + 1e-5f)), 1e-6f);
  const FTensor bad = F({3}, {1, 1, 1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("BatchNormalization"), {&x, &bad, &bias, &mean, &var}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("BatchNormalization"), {&x, &scale, &bias, &mean}).ok());
  EXPECT_EQ(EvalStatus(NodeBuilder("BatchNormalization").Int("training_mode", 1),
                       {&x, &scale, &bias, &mean, &var})
                .code(),
            StatusCode::kUnsupported);
}

TEST(FloatEvalTest, LayerNormalization) {
  const FTensor x = F({2, 3}, {1, 2, 3, -1, 0, 4});
  const FTensor scale = F({3}, {1, 2, 0.5f});
  const FTensor bias = F({3}, {0, 1, -1});
  std::vector<FTensor> outs = EvalAll(
      NodeBuilder("LayerNormalization").Outputs(3).Float("epsilon", 0.0f), {&x, &scale, &bias});
  ASSERT_EQ(outs.size(), 3u);
  // Row 0: mean 2, var 2/3. Row 1: mean 1, var 14/3.
  const float i0 = 1.0f / std::sqrt(2.0f / 3.0f);
  const float i1 = 1.0f / std::sqrt(14.0f / 3.0f);
  ExpectFloat(outs[0], {2, 3},
              {-i0, 1 + 0 * i0, 0.5f * i0 - 1, -2 * i1, 1 - 2 * i1, 0.5f * 3 * i1 - 1});
  ExpectFloat(outs[1], {2, 1}, {2, 1});
  ExpectFloat(outs[2], {2, 1}, {i0, i1});
  // Normalise over the last two axes with axis=1; scale only.
  const FTensor x3 = F({1, 2, 2}, {1, 3, 5, 7});
  const FTensor s3 = F({2, 2}, {1, 1, 1, 1});
  const float inv = 1.0f / std::sqrt(5.0f + 1e-5f);
  ExpectFloat(Eval(NodeBuilder("LayerNormalization").Int("axis", 1), {&x3, &s3}), {1, 2, 2},
              {-3 * inv, -inv, inv, 3 * inv});
  const FTensor bad = F({2}, {1, 1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("LayerNormalization"), {&x, &bad}).ok());
}

// ---- Gemm / MatMul -------------------------------------------------------------------

std::vector<float> NaiveMatMul(const std::vector<float>& a, const std::vector<float>& b, int64_t m,
                               int64_t k, int64_t n) {
  std::vector<float> c(static_cast<size_t>(m * n), 0.0f);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < k; ++q) {
        acc += static_cast<double>(a[static_cast<size_t>(i * k + q)]) *
               b[static_cast<size_t>(q * n + j)];
      }
      c[static_cast<size_t>(i * n + j)] = static_cast<float>(acc);
    }
  }
  return c;
}

TEST(FloatEvalTest, Gemm) {
  const FTensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  const FTensor b = F({3, 2}, {1, 0, 0, 1, 1, 1});
  const FTensor c = F({2}, {10, 20});
  ExpectFloat(Eval(NodeBuilder("Gemm"), {&a, &b, &c}), {2, 2}, {14, 25, 20, 31});
  ExpectFloat(Eval(NodeBuilder("Gemm").Float("alpha", 2).Float("beta", 0.5f), {&a, &b, &c}), {2, 2},
              {13, 20, 25, 32});
  // transA / transB with a scalar C.
  const FTensor at = F({3, 2}, {1, 4, 2, 5, 3, 6});
  const FTensor bt = F({2, 3}, {1, 0, 1, 0, 1, 1});
  const FTensor one = F({}, {1});
  ExpectFloat(Eval(NodeBuilder("Gemm").Int("transA", 1).Int("transB", 1), {&at, &bt, &one}), {2, 2},
              {5, 6, 11, 12});
  ExpectFloat(Eval(NodeBuilder("Gemm"), {&a, &b}), {2, 2}, {4, 5, 10, 11});
  const FTensor cc = F({2, 1}, {1, 2});
  ExpectFloat(Eval(NodeBuilder("Gemm"), {&a, &b, &cc}), {2, 2}, {5, 6, 12, 13});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Gemm"), {&a, &a}).ok());
  const FTensor bad_c = F({3}, {1, 2, 3});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Gemm"), {&a, &b, &bad_c}).ok());
  // Larger, odd sizes against a naive loop.
  const FTensor la = F({37, 70}, Random(37 * 70, 11));
  const FTensor lb = F({70, 300}, Random(70 * 300, 12));
  ExpectFloat(Eval(NodeBuilder("Gemm"), {&la, &lb}), {37, 300},
              NaiveMatMul(la.f, lb.f, 37, 70, 300), 1e-4f);
}

TEST(FloatEvalTest, MatMul) {
  const FTensor a = F({2, 3}, {1, 2, 3, 4, 5, 6});
  const FTensor b = F({3, 2}, {1, 0, 0, 1, 1, 1});
  ExpectFloat(Eval(NodeBuilder("MatMul"), {&a, &b}), {2, 2}, {4, 5, 10, 11});
  const FTensor v3 = F({3}, {1, 1, 1});
  ExpectFloat(Eval(NodeBuilder("MatMul"), {&a, &v3}), {2}, {6, 15});
  const FTensor v2 = F({2}, {1, -1});
  ExpectFloat(Eval(NodeBuilder("MatMul"), {&v2, &a}), {3}, {-3, -3, -3});
  ExpectFloat(Eval(NodeBuilder("MatMul"), {&v3, &v3}), {}, {3});
  EXPECT_FALSE(EvalStatus(NodeBuilder("MatMul"), {&a, &a}).ok());

  // Batched with broadcasting: [2,1,4,3] x [3,3,5] -> [2,3,4,5].
  const FTensor ba = F({2, 1, 4, 3}, Random(24, 21));
  const FTensor bb = F({3, 3, 5}, Random(45, 22));
  const FTensor y = Eval(NodeBuilder("MatMul"), {&ba, &bb});
  ASSERT_EQ(y.shape, (Shape{2, 3, 4, 5}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      std::vector<float> am(ba.f.begin() + i * 12, ba.f.begin() + (i + 1) * 12);
      std::vector<float> bm(bb.f.begin() + j * 15, bb.f.begin() + (j + 1) * 15);
      const std::vector<float> ref = NaiveMatMul(am, bm, 4, 3, 5);
      for (size_t q = 0; q < ref.size(); ++q) {
        EXPECT_NEAR(y.f[static_cast<size_t>((i * 3 + j) * 20) + q], ref[q], 1e-5f);
      }
    }
  }
  // Shared B (transformer projection): [2,5,8] x [8,6].
  const FTensor ta = F({2, 5, 8}, Random(80, 23));
  const FTensor tb = F({8, 6}, Random(48, 24));
  ExpectFloat(Eval(NodeBuilder("MatMul"), {&ta, &tb}), {2, 5, 6}, NaiveMatMul(ta.f, tb.f, 10, 8, 6),
              1e-5f);
  // Batched A x batched B with equal batch dims.
  const FTensor qa = F({3, 2, 4}, Random(24, 25));
  const FTensor qb = F({3, 4, 2}, Random(24, 26));
  const FTensor qy = Eval(NodeBuilder("MatMul"), {&qa, &qb});
  ASSERT_EQ(qy.shape, (Shape{3, 2, 2}));
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<float> am(qa.f.begin() + i * 8, qa.f.begin() + (i + 1) * 8);
    std::vector<float> bm(qb.f.begin() + i * 8, qb.f.begin() + (i + 1) * 8);
    const std::vector<float> ref = NaiveMatMul(am, bm, 2, 4, 2);
    for (size_t q = 0; q < 4; ++q) EXPECT_NEAR(qy.f[static_cast<size_t>(i * 4) + q], ref[q], 1e-5f);
  }
  const FTensor bad = F({2, 4, 3}, Random(24, 1));
  const FTensor bad2 = F({3, 3, 2}, Random(18, 2));
  EXPECT_FALSE(EvalStatus(NodeBuilder("MatMul"), {&bad, &bad2}).ok());  // batch 2 vs 3
}

// ---- Softmax / reductions ------------------------------------------------------------

TEST(FloatEvalTest, Softmax) {
  const FTensor x = F({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  const float e1 = std::exp(1.0f), e2 = std::exp(2.0f), e3 = std::exp(3.0f);
  const float s = e1 + e2 + e3;
  ExpectFloat(Eval(NodeBuilder("Softmax"), {&x}), {2, 3},
              {e1 / s, e2 / s, e3 / s, 1.0f / 3, 1.0f / 3, 1.0f / 3});
  ExpectFloat(Eval(NodeBuilder("Softmax").Int("axis", 1), {&x}), {2, 3},
              {e1 / s, e2 / s, e3 / s, 1.0f / 3, 1.0f / 3, 1.0f / 3});
  const FTensor c = F({2, 2}, {0, 1, 0, 1});
  ExpectFloat(Eval(NodeBuilder("Softmax").Int("axis", 0), {&c}), {2, 2}, {0.5f, 0.5f, 0.5f, 0.5f});
  ExpectFloat(Eval(NodeBuilder("LogSoftmax"), {&x}), {2, 3},
              {1 - std::log(s), 2 - std::log(s), 3 - std::log(s), -std::log(3.0f), -std::log(3.0f),
               -std::log(3.0f)});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Softmax").Int("axis", 2), {&x}).ok());
}

TEST(FloatEvalTest, Reductions) {
  const FTensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  ExpectFloat(Eval(NodeBuilder("ReduceMean").Ints("axes", {1}), {&x}), {2, 1}, {2, 5});
  ExpectFloat(Eval(NodeBuilder("ReduceMean").Ints("axes", {-2}).Int("keepdims", 0), {&x}), {3},
              {2.5f, 3.5f, 4.5f});
  ExpectFloat(Eval(NodeBuilder("ReduceMax").Ints("axes", {-1}).Int("keepdims", 0), {&x}), {2},
              {3, 6});
  ExpectFloat(Eval(NodeBuilder("ReduceMin").Ints("axes", {0}), {&x}), {1, 3}, {1, 2, 3});
  ExpectFloat(Eval(NodeBuilder("ReduceSum"), {&x}), {1, 1}, {21});
  const FTensor axes = Ints1({1});
  ExpectFloat(Eval(NodeBuilder("ReduceSum").Int("keepdims", 0), {&x, &axes}), {2}, {6, 15});
  ExpectFloat(Eval(NodeBuilder("ReduceSum").Int("keepdims", 0), {&x, nullptr}), {}, {21});
  const FTensor none = I({0}, {});
  ExpectFloat(Eval(NodeBuilder("ReduceSum").Int("noop_with_empty_axes", 1), {&x, &none}), {2, 3},
              {1, 2, 3, 4, 5, 6});
  const FTensor r3 = F({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  ExpectFloat(Eval(NodeBuilder("ReduceMean").Ints("axes", {0, 2}), {&r3}), {1, 2, 1}, {3.5f, 5.5f});
  const FTensor ix = I({2, 2}, {1, -5, 3, 4});
  ExpectInt(Eval(NodeBuilder("ReduceSum").Ints("axes", {1}), {&ix}), {2, 1}, {-4, 7});
  ExpectInt(Eval(NodeBuilder("ReduceMax").Ints("axes", {0}), {&ix}), {1, 2}, {3, 4});
  EXPECT_FALSE(EvalStatus(NodeBuilder("ReduceMean").Ints("axes", {2}), {&x}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("ReduceMean").Ints("axes", {1, -1}), {&x}).ok());
  const FTensor empty = F({0, 3}, {});
  EXPECT_FALSE(EvalStatus(NodeBuilder("ReduceMax").Ints("axes", {0}), {&empty}).ok());
  ExpectFloat(Eval(NodeBuilder("ReduceSum").Ints("axes", {0}), {&empty}), {1, 3}, {0, 0, 0});
}

// ---- Shape ops -----------------------------------------------------------------------

TEST(FloatEvalShapeTest, Transpose) {
  const FTensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  ExpectFloat(Eval(NodeBuilder("Transpose"), {&x}), {3, 2}, {1, 4, 2, 5, 3, 6});
  const FTensor y = I({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  ExpectInt(Eval(NodeBuilder("Transpose").Ints("perm", {2, 0, 1}), {&y}), {3, 2, 1},
            {1, 4, 2, 5, 3, 6});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Transpose").Ints("perm", {0, 0}), {&x}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Transpose").Ints("perm", {0}), {&x}).ok());
}

TEST(FloatEvalShapeTest, Reshape) {
  const FTensor x = F({2, 3, 4}, Random(24, 1));
  const FTensor s1 = Ints1({0, -1});
  FTensor y = Eval(NodeBuilder("Reshape"), {&x, &s1});
  EXPECT_EQ(y.shape, (Shape{2, 12}));
  EXPECT_EQ(y.f, x.f);
  const FTensor s2 = Ints1({-1, 0, 2});
  EXPECT_EQ(Eval(NodeBuilder("Reshape"), {&x, &s2}).shape, (Shape{4, 3, 2}));
  const FTensor s3 = Ints1({0, 0, -1, 1});  // copies dims 0 and 1
  EXPECT_EQ(Eval(NodeBuilder("Reshape"), {&x, &s3}).shape, (Shape{2, 3, 4, 1}));
  const FTensor e = F({0, 3}, {});
  const FTensor s4 = Ints1({3, 0});
  EXPECT_EQ(Eval(NodeBuilder("Reshape").Int("allowzero", 1), {&e, &s4}).shape, (Shape{3, 0}));
  const FTensor two_infer = Ints1({-1, -1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &two_infer}).ok());
  const FTensor wrong = Ints1({5, -1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &wrong}).ok());
  const FTensor mismatch = Ints1({2, 3, 5});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &mismatch}).ok());
  const FTensor zero_beyond = Ints1({24, 1, 1, 0});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &zero_beyond}).ok());
  const FTensor neg = Ints1({-2, 12});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &neg}).ok());
  const FTensor huge = Ints1({int64_t{1} << 40, int64_t{1} << 40, 0});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape").Int("allowzero", 1), {&e, &huge}).ok());
  const FTensor fshape = F({2}, {2, 12});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Reshape"), {&x, &fshape}).ok());
}

TEST(FloatEvalShapeTest, Flatten) {
  const FTensor x = F({2, 3, 4}, Random(24, 1));
  EXPECT_EQ(Eval(NodeBuilder("Flatten"), {&x}).shape, (Shape{2, 12}));
  EXPECT_EQ(Eval(NodeBuilder("Flatten").Int("axis", 0), {&x}).shape, (Shape{1, 24}));
  EXPECT_EQ(Eval(NodeBuilder("Flatten").Int("axis", 3), {&x}).shape, (Shape{24, 1}));
  EXPECT_EQ(Eval(NodeBuilder("Flatten").Int("axis", -1), {&x}).shape, (Shape{6, 4}));
  EXPECT_FALSE(EvalStatus(NodeBuilder("Flatten").Int("axis", 4), {&x}).ok());
}

TEST(FloatEvalShapeTest, SqueezeUnsqueeze) {
  const FTensor x = F({1, 3, 1}, {1, 2, 3});
  EXPECT_EQ(Eval(NodeBuilder("Squeeze"), {&x}).shape, (Shape{3}));
  EXPECT_EQ(Eval(NodeBuilder("Squeeze").Ints("axes", {-1}), {&x}).shape, (Shape{1, 3}));
  const FTensor ax0 = Ints1({0});
  EXPECT_EQ(Eval(NodeBuilder("Squeeze"), {&x, &ax0}).shape, (Shape{3, 1}));
  const FTensor ax1 = Ints1({1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Squeeze"), {&x, &ax1}).ok());
  const FTensor v = F({3}, {1, 2, 3});
  EXPECT_EQ(Eval(NodeBuilder("Unsqueeze").Ints("axes", {0, -1}), {&v}).shape, (Shape{1, 3, 1}));
  const FTensor ax = Ints1({1, 0});
  FTensor y = Eval(NodeBuilder("Unsqueeze"), {&v, &ax});
  EXPECT_EQ(y.shape, (Shape{1, 1, 3}));
  EXPECT_EQ(y.f, v.f);
  const FTensor s = I({}, {7});
  ExpectInt(Eval(NodeBuilder("Unsqueeze").Ints("axes", {0}), {&s}), {1}, {7});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Unsqueeze"), {&v}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Unsqueeze").Ints("axes", {0, 0}), {&v}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Unsqueeze").Ints("axes", {3}), {&v}).ok());
}

TEST(FloatEvalShapeTest, Slice) {
  const FTensor x = F({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto slice = [&](std::vector<int64_t> st, std::vector<int64_t> en, std::vector<int64_t> ax,
                   std::vector<int64_t> sp) {
    const FTensor a = Ints1(std::move(st)), b = Ints1(std::move(en)), c = Ints1(std::move(ax)),
                  d = Ints1(std::move(sp));
    return Eval(NodeBuilder("Slice"), {&x, &a, &b, &c, &d});
  };
  ExpectFloat(slice({1, 1}, {3, 3}, {0, 1}, {1, 1}), {2, 2}, {5, 6, 9, 10});
  // Negative indices and clamping of out-of-range ends.
  ExpectFloat(slice({-1}, {kI64Max}, {1}, {1}), {3, 1}, {3, 7, 11});
  ExpectFloat(slice({-1000}, {1000}, {-2}, {2}), {2, 4}, {0, 1, 2, 3, 8, 9, 10, 11});
  // Negative steps: full reversal and strided reversal.
  ExpectFloat(slice({-1}, {kI64Min}, {1}, {-1}), {3, 4}, {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});
  ExpectFloat(slice({kI64Max}, {0}, {1}, {-2}), {3, 2}, {3, 1, 7, 5, 11, 9});
  ExpectFloat(slice({2, 3}, {-100, -100}, {0, 1}, {-2, -3}), {2, 2}, {11, 8, 3, 0});
  // Huge step selects one element; empty result.
  ExpectFloat(slice({1}, {4}, {1}, {kI64Max}), {3, 1}, {1, 5, 9});
  ExpectFloat(slice({1}, {kI64Min}, {1}, {kI64Min}), {3, 1}, {1, 5, 9});
  ExpectFloat(slice({3}, {1}, {1}, {1}), {3, 0}, {});
  // Optional axes/steps omitted.
  const FTensor st = Ints1({1}), en = Ints1({2});
  ExpectFloat(Eval(NodeBuilder("Slice"), {&x, &st, &en}), {1, 4}, {4, 5, 6, 7});
  ExpectFloat(Eval(NodeBuilder("Slice"), {&x, &st, &en, nullptr, nullptr}), {1, 4}, {4, 5, 6, 7});
  // Opset-1 attribute form.
  ExpectFloat(
      Eval(NodeBuilder("Slice").Ints("starts", {0}).Ints("ends", {1}).Ints("axes", {1}), {&x}),
      {3, 1}, {0, 4, 8});
  const FTensor zero = Ints1({0}), ax = Ints1({0});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Slice"), {&x, &st, &en, &ax, &zero}).ok());
  const FTensor ax2 = Ints1({2});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Slice"), {&x, &st, &en, &ax2}).ok());
  const FTensor two = Ints1({0, 1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Slice"), {&x, &two, &en}).ok());
}

TEST(FloatEvalShapeTest, Gather) {
  const FTensor x = F({3, 2}, {1, 2, 3, 4, 5, 6});
  const FTensor idx = I({2}, {-1, 0});
  ExpectFloat(Eval(NodeBuilder("Gather"), {&x, &idx}), {2, 2}, {5, 6, 1, 2});
  const FTensor idx2 = I({2, 2}, {1, 0, 0, -2});
  ExpectFloat(Eval(NodeBuilder("Gather").Int("axis", -1), {&x, &idx2}), {3, 2, 2},
              {2, 1, 1, 1, 4, 3, 3, 3, 6, 5, 5, 5});
  const FTensor scalar = I({}, {1});
  ExpectFloat(Eval(NodeBuilder("Gather"), {&x, &scalar}), {2}, {3, 4});
  const FTensor shape = I({4}, {8, 3, 28, 28});
  const FTensor first = I({}, {0});
  ExpectInt(Eval(NodeBuilder("Gather"), {&shape, &first}), {}, {8});
  const FTensor oob = I({2}, {0, 3});
  Status s = EvalStatus(NodeBuilder("Gather", "g"), {&x, &oob});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  const FTensor oob_neg = I({1}, {-4});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Gather"), {&x, &oob_neg}).ok());
  const FTensor fidx = F({1}, {0});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Gather"), {&x, &fidx}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Gather").Int("axis", 2), {&x, &idx}).ok());
}

TEST(FloatEvalShapeTest, ConcatSplit) {
  const FTensor a = F({2, 1}, {1, 2});
  const FTensor b = F({2, 2}, {3, 4, 5, 6});
  ExpectFloat(Eval(NodeBuilder("Concat").Int("axis", -1), {&a, &b}), {2, 3}, {1, 3, 4, 2, 5, 6});
  ExpectFloat(Eval(NodeBuilder("Concat").Int("axis", 0), {&b, &b}), {4, 2},
              {3, 4, 5, 6, 3, 4, 5, 6});
  const FTensor i1 = Ints1({1, 2}), i2 = Ints1({3});
  ExpectInt(Eval(NodeBuilder("Concat").Int("axis", 0), {&i1, &i2}), {3}, {1, 2, 3});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Concat").Int("axis", 0), {&a, &b}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Concat"), {&a, &a}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Concat").Int("axis", 0), {&i1, &a}).ok());

  const FTensor x = F({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  std::vector<FTensor> eq = EvalAll(NodeBuilder("Split").Outputs(2).Int("axis", 1), {&x});
  ASSERT_EQ(eq.size(), 2u);
  ExpectFloat(eq[0], {2, 2}, {0, 1, 4, 5});
  ExpectFloat(eq[1], {2, 2}, {2, 3, 6, 7});
  const FTensor sizes = Ints1({1, 3});
  std::vector<FTensor> un = EvalAll(NodeBuilder("Split").Outputs(2).Int("axis", -1), {&x, &sizes});
  ASSERT_EQ(un.size(), 2u);
  ExpectFloat(un[0], {2, 1}, {0, 4});
  ExpectFloat(un[1], {2, 3}, {1, 2, 3, 5, 6, 7});
  std::vector<FTensor> at = EvalAll(NodeBuilder("Split").Outputs(2).Ints("split", {1, 1}), {&x});
  ASSERT_EQ(at.size(), 2u);
  ExpectFloat(at[0], {1, 4}, {0, 1, 2, 3});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Split").Outputs(3).Int("axis", 1), {&x}).ok());
  const FTensor bad = Ints1({1, 2});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Split").Outputs(2).Int("axis", 1), {&x, &bad}).ok());
}

TEST(FloatEvalShapeTest, ShapeSizeConstant) {
  const FTensor x = F({2, 3, 4}, Random(24, 1));
  ExpectInt(Eval(NodeBuilder("Shape"), {&x}), {3}, {2, 3, 4});
  ExpectInt(Eval(NodeBuilder("Shape").Int("start", 1), {&x}), {2}, {3, 4});
  ExpectInt(Eval(NodeBuilder("Shape").Int("start", -1), {&x}), {1}, {4});
  ExpectInt(Eval(NodeBuilder("Shape").Int("start", 0).Int("end", -1), {&x}), {2}, {2, 3});
  ExpectInt(Eval(NodeBuilder("Shape").Int("start", 5).Int("end", 10), {&x}), {0}, {});
  ExpectInt(Eval(NodeBuilder("Size"), {&x}), {}, {24});

  ExpectFloat(Eval(NodeBuilder("Constant").Float("value_float", 2.5f), {}), {}, {2.5f});
  ExpectFloat(Eval(NodeBuilder("Constant").Floats("value_floats", {1, 2}), {}), {2}, {1, 2});
  ExpectInt(Eval(NodeBuilder("Constant").Int("value_int", -3), {}), {}, {-3});
  ExpectInt(Eval(NodeBuilder("Constant").Ints("value_ints", {4, 5}), {}), {2}, {4, 5});
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(2);
  t.add_int64_data(7);
  t.add_int64_data(8);
  ExpectInt(Eval(NodeBuilder("Constant").Tensor("value", t), {}), {2}, {7, 8});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Constant"), {}).ok());
  EXPECT_FALSE(
      EvalStatus(NodeBuilder("Constant").Int("value_int", 1).Float("value_float", 1), {}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Constant").Int("value_float", 1), {}).ok());
  EXPECT_EQ(EvalStatus(NodeBuilder("Constant").Str("value_string", "a"), {}).code(),
            StatusCode::kUnsupported);
}

TEST(FloatEvalShapeTest, ConstantOfShapeExpandRangeTile) {
  const FTensor shape = Ints1({2, 3});
  ExpectFloat(Eval(NodeBuilder("ConstantOfShape"), {&shape}), {2, 3}, {0, 0, 0, 0, 0, 0});
  onnx::TensorProto one;
  one.set_data_type(onnx::TensorProto::INT64);
  one.add_dims(1);
  one.add_int64_data(1);
  ExpectInt(Eval(NodeBuilder("ConstantOfShape").Tensor("value", one), {&shape}), {2, 3},
            {1, 1, 1, 1, 1, 1});
  const FTensor empty_shape = I({0}, {});
  ExpectFloat(Eval(NodeBuilder("ConstantOfShape"), {&empty_shape}), {}, {0});
  const FTensor huge = Ints1({int64_t{1} << 20, int64_t{1} << 20});
  EXPECT_FALSE(EvalStatus(NodeBuilder("ConstantOfShape"), {&huge}).ok());
  const FTensor negative = Ints1({-1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("ConstantOfShape"), {&negative}).ok());

  const FTensor x = F({3, 1}, {1, 2, 3});
  const FTensor to = Ints1({2, 3, 2});
  ExpectFloat(Eval(NodeBuilder("Expand"), {&x, &to}), {2, 3, 2},
              {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  const FTensor keep = Ints1({1, 1});  // 1s keep the input dims
  ExpectFloat(Eval(NodeBuilder("Expand"), {&x, &keep}), {3, 1}, {1, 2, 3});
  const FTensor clash = Ints1({2, 2});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Expand"), {&x, &clash}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Expand"), {&x, &huge}).ok());

  const FTensor s0 = I({}, {0}), l5 = I({}, {5}), d2 = I({}, {2}), dm = I({}, {-2});
  ExpectInt(Eval(NodeBuilder("Range"), {&s0, &l5, &d2}), {3}, {0, 2, 4});
  ExpectInt(Eval(NodeBuilder("Range"), {&l5, &s0, &dm}), {3}, {5, 3, 1});
  ExpectInt(Eval(NodeBuilder("Range"), {&l5, &s0, &d2}), {0}, {});
  const FTensor lo = I({}, {kI64Min}), hi = I({}, {kI64Max}), big = I({}, {int64_t{1} << 62});
  ExpectInt(Eval(NodeBuilder("Range"), {&lo, &hi, &big}), {4},
            {kI64Min, -(int64_t{1} << 62), 0, int64_t{1} << 62});
  const FTensor one_step = I({}, {1});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Range"), {&lo, &hi, &one_step}).ok());
  const FTensor z = I({}, {0});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Range"), {&s0, &l5, &z}).ok());
  const FTensor fs = F({}, {1}), fl = F({}, {2}), fd = F({}, {0.25f});
  ExpectFloat(Eval(NodeBuilder("Range"), {&fs, &fl, &fd}), {4}, {1, 1.25f, 1.5f, 1.75f});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Range"), {&fs, &l5, &fd}).ok());

  const FTensor t = I({2, 2}, {1, 2, 3, 4});
  const FTensor reps = Ints1({1, 2});
  ExpectInt(Eval(NodeBuilder("Tile"), {&t, &reps}), {2, 4}, {1, 2, 1, 2, 3, 4, 3, 4});
  const FTensor reps2 = Ints1({2, 1});
  ExpectInt(Eval(NodeBuilder("Tile"), {&t, &reps2}), {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  const FTensor reps0 = Ints1({0, 3});
  ExpectInt(Eval(NodeBuilder("Tile"), {&t, &reps0}), {0, 6}, {});
  const FTensor bad = Ints1({2});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Tile"), {&t, &bad}).ok());
  const FTensor huge_reps = Ints1({int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_FALSE(EvalStatus(NodeBuilder("Tile"), {&t, &huge_reps}).ok());
}

TEST(FloatEvalShapeTest, IdentityDropout) {
  const FTensor x = F({2}, {1, 2});
  ExpectFloat(Eval(NodeBuilder("Identity"), {&x}), {2}, {1, 2});
  std::vector<FTensor> outs = EvalAll(NodeBuilder("Dropout").Outputs(2), {&x});
  ASSERT_EQ(outs.size(), 2u);
  ExpectFloat(outs[0], {2}, {1, 2});
  ExpectBool(outs[1], {2}, {1, 1});
  const FTensor ratio = F({}, {0.5f});
  const FTensor off = B({}, {0});
  ExpectFloat(Eval(NodeBuilder("Dropout"), {&x, &ratio, &off}), {2}, {1, 2});
  const FTensor on = B({}, {1});
  EXPECT_EQ(EvalStatus(NodeBuilder("Dropout"), {&x, &ratio, &on}).code(), StatusCode::kUnsupported);
}

// ---- Dispatch and malformed input ----------------------------------------------------

TEST(FloatEvalTest, UnsupportedOp) {
  const FTensor x = F({1}, {1});
  Status s = EvalStatus(NodeBuilder("Einsum", "my_einsum"), {&x});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("Einsum"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("my_einsum"), std::string::npos) << s.message();
  onnx::NodeProto custom = NodeBuilder("Relu").Build({&x});
  custom.set_domain("com.microsoft");
  std::vector<FTensor> outs;
  EXPECT_EQ(EvalNode(custom, {&x}, &outs).code(), StatusCode::kUnsupported);
  EXPECT_TRUE(CanEvalOp("Conv"));
  EXPECT_TRUE(CanEvalOp("LayerNormalization"));
  EXPECT_FALSE(CanEvalOp("Einsum"));
  EXPECT_FALSE(CanEvalOp(""));
}

TEST(FloatEvalTest, MalformedNodes) {
  const FTensor x = F({2}, {1, 2});
  Status s = EvalStatus(NodeBuilder("Add", "add_1"), {&x});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("add_1"), std::string::npos);
  EXPECT_NE(s.message().find("inputs"), std::string::npos) << s.message();
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu"), {&x, &x}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Add"), {&x, nullptr}).ok());  // required input missing
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu").Outputs(2), {&x}).ok());
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu").Outputs(0), {&x}).ok());
  // Input list and tensor list disagree.
  std::vector<FTensor> outs;
  onnx::NodeProto n = NodeBuilder("Relu").Build({&x});
  EXPECT_FALSE(EvalNode(n, {}, &outs).ok());
  // Tensors whose values do not match their shape are rejected, not read out of bounds.
  FTensor broken = x;
  broken.shape = {3};
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu"), {&broken}).ok());
  FTensor wrong_store = x;
  wrong_store.kind = Kind::kInt64;
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu"), {&wrong_store}).ok());
  FTensor bad_bool = B({2}, {0, 1});
  bad_bool.i[1] = 5;
  EXPECT_FALSE(EvalStatus(NodeBuilder("Not"), {&bad_bool}).ok());
  // Attribute-sized work is bounded before any arithmetic can overflow.
  const FTensor img = F({1, 1, 2, 2}, {1, 2, 3, 4});
  const int64_t big = int64_t{1} << 31;
  EXPECT_FALSE(EvalStatus(NodeBuilder("MaxPool")
                              .Ints("kernel_shape", {big, big})
                              .Ints("pads", {big, big, big, big}),
                          {&img})
                   .ok());
  FTensor negative = F({}, {1});
  negative.shape = {-1};
  EXPECT_FALSE(EvalStatus(NodeBuilder("Relu"), {&negative}).ok());
  // Unnamed optional outputs are fine.
  onnx::NodeProto opt = NodeBuilder("Relu").Build({&x});
  opt.add_output("");
  EXPECT_TRUE(EvalNode(opt, {&x}, &outs).ok());
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[1].shape, (Shape{0}));
}

// Random inputs and attributes for every op: evaluation may fail but must never crash
// (run under ASan/UBSan), and every successful output must be self-consistent.
TEST(FloatEvalTest, RandomizedNodesNeverCrash) {
  struct OpArity {
    const char* op;
    int64_t min_inputs, max_inputs;
  };
  const std::vector<OpArity> ops = {{"Relu", 1, 1},
                                    {"LeakyRelu", 1, 1},
                                    {"Sigmoid", 1, 1},
                                    {"Tanh", 1, 1},
                                    {"Erf", 1, 1},
                                    {"Exp", 1, 1},
                                    {"Log", 1, 1},
                                    {"Sqrt", 1, 1},
                                    {"Pow", 2, 2},
                                    {"Neg", 1, 1},
                                    {"Abs", 1, 1},
                                    {"Reciprocal", 1, 1},
                                    {"Clip", 1, 3},
                                    {"Add", 2, 2},
                                    {"Sub", 2, 2},
                                    {"Mul", 2, 2},
                                    {"Div", 2, 2},
                                    {"Equal", 2, 2},
                                    {"Less", 2, 2},
                                    {"Greater", 2, 2},
                                    {"Not", 1, 1},
                                    {"And", 2, 2},
                                    {"Or", 2, 2},
                                    {"Where", 3, 3},
                                    {"Cast", 1, 1},
                                    {"Max", 1, 3},
                                    {"Min", 1, 3},
                                    {"Conv", 2, 3},
                                    {"BatchNormalization", 5, 5},
                                    {"MaxPool", 1, 1},
                                    {"AveragePool", 1, 1},
                                    {"GlobalAveragePool", 1, 1},
                                    {"Flatten", 1, 1},
                                    {"Gemm", 2, 3},
                                    {"MatMul", 2, 2},
                                    {"Softmax", 1, 1},
                                    {"LogSoftmax", 1, 1},
                                    {"ReduceMean", 1, 2},
                                    {"ReduceSum", 1, 2},
                                    {"ReduceMax", 1, 2},
                                    {"LayerNormalization", 2, 3},
                                    {"Transpose", 1, 1},
                                    {"Reshape", 2, 2},
                                    {"Unsqueeze", 1, 2},
                                    {"Squeeze", 1, 2},
                                    {"Slice", 1, 5},
                                    {"Gather", 2, 2},
                                    {"Concat", 1, 3},
                                    {"Split", 1, 2},
                                    {"Shape", 1, 1},
                                    {"Size", 1, 1},
                                    {"Constant", 0, 0},
                                    {"ConstantOfShape", 1, 1},
                                    {"Expand", 2, 2},
                                    {"Range", 3, 3},
                                    {"Identity", 1, 1},
                                    {"Dropout", 1, 3},
                                    {"Tile", 2, 2}};
  std::mt19937 rng(1234);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto random_int = [&]() -> int64_t {
    switch (pick(0, 11)) {
      case 0: return kI64Min;
      case 1: return kI64Max;
      case 2: return int64_t{1} << pick(20, 62);
      default: return pick(-3, 3);
    }
  };
  auto random_ints = [&]() {
    std::vector<int64_t> v(static_cast<size_t>(pick(0, 4)));
    for (int64_t& x : v) x = random_int();
    return v;
  };
  auto random_tensor = [&]() {
    if (pick(0, 3) == 0) return Ints1(random_ints());  // shape-like
    Shape shape(static_cast<size_t>(pick(0, 4)));
    for (int64_t& d : shape) d = pick(0, 6) == 0 ? pick(0, 1) : pick(1, 3);
    const size_t n = static_cast<size_t>(NumElements(shape));
    const int64_t kind = pick(0, 4);
    if (kind <= 2) {
      std::vector<float> v(n);
      for (float& x : v) x = static_cast<float>(pick(-8, 8)) * 0.5f;
      return FTensor::Float(shape, std::move(v));
    }
    std::vector<int64_t> v(n);
    for (int64_t& x : v) x = kind == 3 ? random_int() : pick(0, 1);
    return kind == 3 ? FTensor::Int64(shape, std::move(v)) : FTensor::Bool(shape, std::move(v));
  };
  const char* int_attrs[] = {"axis",     "group",     "keepdims", "transA", "transB",
                             "to",       "allowzero", "start",    "end",    "count_include_pad",
                             "value_int"};
  const char* ints_attrs[] = {"axes",      "perm",  "kernel_shape", "pads", "strides",
                              "dilations", "split", "starts",       "ends", "value_ints"};
  int successes = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    const OpArity& spec = ops[static_cast<size_t>(pick(0, static_cast<int64_t>(ops.size()) - 1))];
    NodeBuilder node(spec.op);
    node.Outputs(pick(0, 9) == 0 ? static_cast<int>(pick(0, 3)) : 1);
    for (int64_t a = pick(0, 2); a > 0; --a) {
      if (pick(0, 1) == 0) {
        node.Int(int_attrs[pick(0, 10)], random_int());
      } else {
        node.Ints(ints_attrs[pick(0, 9)], random_ints());
      }
    }
    const int64_t n_in = pick(0, 19) == 0 ? pick(0, 5) : pick(spec.min_inputs, spec.max_inputs);
    std::vector<FTensor> storage(static_cast<size_t>(n_in));
    std::vector<const FTensor*> inputs;
    for (FTensor& t : storage) {
      t = random_tensor();
      inputs.push_back(pick(0, 19) == 0 ? nullptr : &t);
    }
    std::vector<FTensor> outs;
    if (EvalNode(node.Build(inputs), inputs, &outs).ok()) {
      ++successes;
      for (const FTensor& o : outs) {
        const size_t have = o.kind == Kind::kFloat ? o.f.size() : o.i.size();
        EXPECT_EQ(static_cast<int64_t>(have), o.size());
      }
    }
  }
  EXPECT_GT(successes, 3000);
}

// Four-conv CNN over a 256-image calibration batch of 28x28 inputs. Run explicitly with
// --gtest_also_run_disabled_tests to measure (must stay well under 10 s in Release).
TEST(FloatEvalPerfTest, DISABLED_CnnCalibrationBatch) {
  const auto start = std::chrono::steady_clock::now();
  FTensor act = F({256, 1, 28, 28}, Random(256 * 28 * 28, 1));
  const int64_t channels[5] = {1, 32, 32, 64, 64};
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t c = channels[layer], m = channels[layer + 1];
    const FTensor w = F({m, c, 3, 3}, Random(m * c * 9, 10u + static_cast<uint32_t>(layer)));
    const FTensor b = F({m}, Random(m, 20u + static_cast<uint32_t>(layer)));
    act = Eval(NodeBuilder("Conv").Ints("pads", {1, 1, 1, 1}), {&act, &w, &b});
    act = Eval(NodeBuilder("Relu"), {&act});
    if (layer % 2 == 1) {
      act =
          Eval(NodeBuilder("MaxPool").Ints("kernel_shape", {2, 2}).Ints("strides", {2, 2}), {&act});
    }
  }
  EXPECT_EQ(act.shape, (Shape{256, 64, 7, 7}));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("4-conv CNN, 256 images: %.3f s\n", secs);
}

}  // namespace
}  // namespace veil::onnx_import
