// Hand-computed examples for every op, straight from docs/arithmetic.md. Each expected
// integer is worked out in the comment next to it.
#include <gtest/gtest.h>

#include "graph_test_util.h"
#include "veil/graph.h"
#include "veil/session.h"

namespace veil {
namespace {

using gt::I32;
using gt::I64;
using gt::I8;
using gt::Scalar32;
using gt::Values8;
using V8 = std::vector<int8_t>;

// Runs a one-node graph whose inputs have the given per-sample shapes.
Tensor RunOne(OpKind kind, std::vector<Shape> in_shapes, Shape out_shape, std::vector<Attr> attrs,
              std::vector<Param> params, std::vector<Tensor> inputs,
              DType in_dtype = DType::kInt8) {
  const Graph g = gt::SingleOp(kind, std::move(in_shapes), std::move(out_shape), std::move(attrs),
                               std::move(params), in_dtype);
  auto out = gt::MustRun(g, inputs);
  return out.empty() ? Tensor() : out[0];
}

// exp_table[d] = 2^16 >> d (0 from d = 17): valid (65536 first, non-increasing).
std::vector<int32_t> HalvingTable() {
  std::vector<int32_t> t(256, 0);
  for (int d = 0; d < 17; ++d) t[static_cast<size_t>(d)] = 65536 >> d;
  return t;
}

TEST(OpsTest, LinearPerChannelRoundingAndClamp) {
  // x = [1, -2, 3] and [127, 127, 127]; weight rows [1, 2, 3] and [-1, 0, 2]; bias [-3, -10].
  // Sample 0: acc = [-3+1-4+9, -10-1+6] = [3, -5].
  //   y0 = RoundShift(3·1, 1) = floor(4/2) = 2; y1 = RoundShift(-5·3, 2) = floor(-13/4) = -4,
  //   clamped to act_min -3.
  // Sample 1: acc = [-3+762, -10+127] = [759, 117].
  //   y0 = RoundShift(759, 1) = 380 -> 127; y1 = RoundShift(351, 2) = floor(353/4) = 88.
  const Tensor y = RunOne(OpKind::kLinear, {{3}}, {2}, {{"act_min", {-3}}},
                          {{"weight", I8({2, 3}, {1, 2, 3, -1, 0, 2})},
                           {"bias", I32({2}, {-3, -10})},
                           {"multiplier", I32({2}, {1, 3})},
                           {"shift", I32({2}, {1, 2})}},
                          {I8({2, 3}, {1, -2, 3, 127, 127, 127})});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values8(y), (V8{2, -3, 127, 88}));
}

TEST(OpsTest, LinearOverLeadingAxes) {
  // x [2, 2] per sample; weight [[1, 1]]; bias [0]; M = 1, s = 0: y = x0 + x1 per row.
  const Tensor y = RunOne(OpKind::kLinear, {{2, 2}}, {2, 1}, {},
                          {{"weight", I8({1, 2}, {1, 1})},
                           {"bias", I32({1}, {0})},
                           {"multiplier", Scalar32(1)},
                           {"shift", Scalar32(0)}},
                          {I8({1, 2, 2}, {1, 2, -5, 3})});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(Values8(y), (V8{3, -2}));
}

TEST(OpsTest, Conv2dPaddingAndStride) {
  // x = [[1,2,3],[4,5,6],[7,8,9]], weight [[1,2],[3,4]], bias 1, pads 1, stride 2:
  // OH = floor((3 + 2 - 1 - 1) / 2) + 1 = 2.
  //   (0,0): only x[0,0]·w[1,1] = 4           -> 5
  //   (0,1): x[0,1]·3 + x[0,2]·4 = 18          -> 19
  //   (1,0): x[1,0]·2 + x[2,0]·4 = 36          -> 37
  //   (1,1): 5·1 + 6·2 + 8·3 + 9·4 = 77        -> 78
  const Tensor y =
      RunOne(OpKind::kConv2d, {{1, 3, 3}}, {1, 2, 2}, {{"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}},
             {{"weight", I8({1, 1, 2, 2}, {1, 2, 3, 4})},
              {"bias", I32({1}, {1})},
              {"multiplier", Scalar32(1)},
              {"shift", Scalar32(0)}},
             {I8({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})});
  EXPECT_EQ(Values8(y), (V8{5, 19, 37, 78}));
}

TEST(OpsTest, Conv2dGroupsAndDilation) {
  // Channel 0 = 1..9, channel 1 = -(1..9); group 2, dilation 2 on a 2x2 kernel (span 3):
  // OH = OW = 1. o0 (weight [[1,0],[0,1]] on ch 0): x[0,0] + x[2,2] = 10 -> RoundShift(10,1) = 5.
  // o1 (weight [[1,1],[1,1]] on ch 1): -(1+3+7+9) = -20 -> RoundShift(-20,1) = -10.
  const Tensor y =
      RunOne(OpKind::kConv2d, {{2, 3, 3}}, {2, 1, 1}, {{"group", {2}}, {"dilations", {2, 2}}},
             {{"weight", I8({2, 1, 2, 2}, {1, 0, 0, 1, 1, 1, 1, 1})},
              {"bias", I32({2}, {0, 0})},
              {"multiplier", Scalar32(1)},
              {"shift", Scalar32(1)}},
             {I8({1, 2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9})});
  EXPECT_EQ(Values8(y), (V8{5, -10}));
}

TEST(OpsTest, MatMulBothLayouts) {
  // a = [[1,2,3],[4,5,6]], b = [[1,0],[0,1],[1,1]]: a·b = [[4,5],[10,11]];
  // RoundShift(·, 1): [[2, 3], [5, 6]] (2.5 -> 3, 5.5 -> 6).
  const std::vector<Param> params = {{"multiplier", Scalar32(1)}, {"shift", Scalar32(1)}};
  const Tensor a = I8({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = RunOne(OpKind::kMatMul, {{2, 3}, {3, 2}}, {2, 2}, {}, params,
                    {a, I8({1, 3, 2}, {1, 0, 0, 1, 1, 1})});
  EXPECT_EQ(Values8(y), (V8{2, 3, 5, 6}));
  y = RunOne(OpKind::kMatMul, {{2, 3}, {2, 3}}, {2, 2}, {{"transpose_b", {1}}}, params,
             {a, I8({1, 2, 3}, {1, 0, 1, 0, 1, 1})});
  EXPECT_EQ(Values8(y), (V8{2, 3, 5, 6}));
}

TEST(OpsTest, SoftmaxRounding) {
  // x = [3, 2, 0]: e = [65536, 32768, 8192], S = 106496;
  //   y = RoundDiv(e·127, S) = [78.15 -> 78, 39.08 -> 39, 9.77 -> 10].
  // x = [5, 5, -127]: e = [65536, 65536, table[132] = 0], y = [63.5 -> 64, 64, 0].
  const Tensor y =
      RunOne(OpKind::kSoftmax, {{3}}, {3}, {}, {{"exp_table", I32({256}, HalvingTable())}},
             {I8({2, 3}, {3, 2, 0, 5, 5, -127})});
  EXPECT_EQ(Values8(y), (V8{78, 39, 10, 64, 64, 0}));
}

TEST(OpsTest, AttentionCausalAndNot) {
  // One head, D = 2. q = [[1,0],[0,1]], k = [[2,0],[0,2]]: z = [[2,0],[0,2]] (M = 1, s = 0).
  // v = [[10,-20],[30,40]]; output M = 1, s = 7 (divide by 128).
  // Causal row 0: only j = 0 -> p = [127, 0]; y = RoundShift([1270, -2540], 7) = [10, -20].
  // Row 1: z = [0, 2]: e = [16384, 65536], S = 81920 -> p = [25.4 -> 25, 101.6 -> 102];
  //   acc = [25·10 + 102·30, 25·-20 + 102·40] = [3310, 3580] -> [26, 28].
  // Non-causal row 0: z = [2, 0] -> p = [102, 25]; acc = [1770, -1040] -> [14, -8].
  const std::vector<Param> params = {{"score_multiplier", Scalar32(1)},
                                     {"score_shift", Scalar32(0)},
                                     {"exp_table", I32({256}, HalvingTable())},
                                     {"multiplier", Scalar32(1)},
                                     {"shift", Scalar32(7)}};
  const std::vector<Tensor> in = {I8({1, 2, 2}, {1, 0, 0, 1}), I8({1, 2, 2}, {2, 0, 0, 2}),
                                  I8({1, 2, 2}, {10, -20, 30, 40})};
  Tensor y = RunOne(OpKind::kAttention, {{2, 2}, {2, 2}, {2, 2}}, {2, 2},
                    {{"heads", {1}}, {"causal", {1}}}, params, in);
  EXPECT_EQ(Values8(y), (V8{10, -20, 26, 28}));
  y = RunOne(OpKind::kAttention, {{2, 2}, {2, 2}, {2, 2}}, {2, 2},
             {{"heads", {1}}, {"causal", {0}}}, params, in);
  EXPECT_EQ(Values8(y), (V8{14, -8, 26, 28}));
}

TEST(OpsTest, AttentionCausalOffsetWithFewerQueries) {
  // Tq = 1 query after Tk = 2 keys: allowed j <= 0 + 2 - 1 = 1, i.e. both keys; equals
  // row 1 of the previous example.
  const Tensor y = RunOne(
      OpKind::kAttention, {{1, 2}, {2, 2}, {2, 2}}, {1, 2}, {{"heads", {1}}, {"causal", {1}}},
      {{"score_multiplier", Scalar32(1)},
       {"score_shift", Scalar32(0)},
       {"exp_table", I32({256}, HalvingTable())},
       {"multiplier", Scalar32(1)},
       {"shift", Scalar32(7)}},
      {I8({1, 1, 2}, {0, 1}), I8({1, 2, 2}, {2, 0, 0, 2}), I8({1, 2, 2}, {10, -20, 30, 40})});
  EXPECT_EQ(Values8(y), (V8{26, 28}));
}

TEST(OpsTest, RequantizePerTensorAndPerChannel) {
  // M = 3, s = 1: -5 -> RoundShift(-15,1) = floor(-14/2) = -7; 5 -> 8; 100 -> 150 -> 127;
  // -100 -> -127.
  Tensor y = RunOne(OpKind::kRequantize, {{4}}, {4}, {},
                    {{"multiplier", Scalar32(3)}, {"shift", Scalar32(1)}},
                    {I8({1, 4}, {-5, 5, 100, -100})});
  EXPECT_EQ(Values8(y), (V8{-7, 8, 127, -127}));
  // Per channel M = [1, 2], s = [1, 2]: 3 -> 2 (1.5), 3·2 = 6 -> 2 (1.5); -3 -> -1 (-1.5),
  // -6 -> floor((-6+2)/4) = -1.
  y = RunOne(OpKind::kRequantize, {{2, 2}}, {2, 2}, {},
             {{"multiplier", I32({2}, {1, 2})}, {"shift", I32({2}, {1, 2})}},
             {I8({1, 2, 2}, {3, 3, -3, -3})});
  EXPECT_EQ(Values8(y), (V8{2, 2, -1, -1}));
}

TEST(OpsTest, AddWithInputConstantAndBroadcast) {
  // Ma = 2^29, Mb = 2^30, s = 30: y = a/2 + b, rounded half up.
  // a = [10, -10, 127], b = [1, 2, 3]: [5+1, -5+2, 63.5+3 = 66.5 -> 67]; ReLU on -3.
  const std::vector<Param> mults = {{"multiplier_a", Scalar32(1 << 29)},
                                    {"multiplier_b", Scalar32(1 << 30)},
                                    {"shift", Scalar32(30)}};
  Tensor y = RunOne(OpKind::kAdd, {{3}, {3}}, {3}, {{"act_min", {0}}}, mults,
                    {I8({1, 3}, {10, -10, 127}), I8({1, 3}, {1, 2, 3})});
  EXPECT_EQ(Values8(y), (V8{6, 0, 67}));
  // b [3] broadcast over a [2, 3], per sample (2 samples with different b).
  y = RunOne(
      OpKind::kAdd, {{2, 3}, {3}}, {2, 3}, {}, mults,
      {I8({2, 2, 3}, {0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 0, 0}), I8({2, 3}, {1, 2, 3, -1, -2, -3})});
  EXPECT_EQ(Values8(y), (V8{1, 2, 3, 2, 4, 6, -1, -2, -3, -1, -2, -3}));
  // The same b as a constant, shared by both samples.
  std::vector<Param> with_constant = mults;
  with_constant.push_back({"constant", I8({3}, {1, 2, 3})});
  y = RunOne(OpKind::kAdd, {{2, 3}}, {2, 3}, {}, with_constant,
             {I8({2, 2, 3}, {0, 0, 0, 2, 4, 6, 0, 0, 0, 0, 0, 0})});
  EXPECT_EQ(Values8(y), (V8{1, 2, 3, 2, 4, 6, 1, 2, 3, 1, 2, 3}));
}

TEST(OpsTest, MulWithInputAndScalarConstant) {
  // M = 1, s = 2: 15 -> 3.75 -> 4; -15 -> floor(-13/4) = -4; 10000/4 -> 127.
  Tensor y = RunOne(OpKind::kMul, {{3}, {3}}, {3}, {},
                    {{"multiplier", Scalar32(1)}, {"shift", Scalar32(2)}},
                    {I8({1, 3}, {3, -3, 100}), I8({1, 3}, {5, 5, 100})});
  EXPECT_EQ(Values8(y), (V8{4, -4, 127}));
  // Scalar constant 5 (shape []): same first two results; 100·5/4 = 125.
  y = RunOne(OpKind::kMul, {{3}}, {3}, {},
             {{"multiplier", Scalar32(1)}, {"shift", Scalar32(2)}, {"constant", I8({}, {5})}},
             {I8({1, 3}, {3, -3, 100})});
  EXPECT_EQ(Values8(y), (V8{4, -4, 125}));
}

TEST(OpsTest, LookupIndexesByXPlus128) {
  // table[x + 128] = -x (table[0], for the never-used -128, is 0).
  std::vector<int8_t> table(256);
  for (int i = 0; i < 256; ++i)
    table[static_cast<size_t>(i)] = static_cast<int8_t>(i == 0 ? 0 : 128 - i);
  const Tensor y = RunOne(OpKind::kLookup, {{4}}, {4}, {}, {{"table", I8({256}, table)}},
                          {I8({1, 4}, {-127, 0, 5, 127})});
  EXPECT_EQ(Values8(y), (V8{127, 0, -5, -127}));
}

TEST(OpsTest, LayerNorm) {
  // x = [1, 2, 3, 4]: S = 10, d = 4x - 10 = [-6, -2, 2, 6], V = 80, RoundDiv(80, 4) = 20.
  // eps = 0: r = ISqrt(20) = 4, n = d·4096/4 = d·1024.
  //   gamma [1,2,3,4], beta [0, 1024, -2048, 512], shift 10:
  //   (n·g + b) / 1024 = [-6, (-4096+1024)/1024 = -3, (6144-2048)/1024 = 4, 25088/1024 = 24.5 ->
  //   25].
  // Row 2: x = [7, 7, 7, 7]: d = 0, V = 0, r = 0 -> n = 0; y = RoundShift(beta, 10) = [0, 1, -2, 1]
  //   (512/1024 = 0.5 -> 1).
  const std::vector<Param> params = {{"gamma", I32({4}, {1, 2, 3, 4})},
                                     {"beta", I64({4}, {0, 1024, -2048, 512})},
                                     {"eps", I64({1}, {0})},
                                     {"shift", Scalar32(10)}};
  Tensor y =
      RunOne(OpKind::kLayerNorm, {{4}}, {4}, {}, params, {I8({2, 4}, {1, 2, 3, 4, 7, 7, 7, 7})});
  EXPECT_EQ(Values8(y), (V8{-6, -3, 4, 25, 0, 1, -2, 1}));
  // eps = 5: r = ISqrt(25) = 5, n = RoundDiv(d·4096, 5) = [-4915, -1638, 1638, 4915];
  // gamma 1, beta 0, shift 10: [-4.8 -> -5, -1.6 -> -2, 2, 5].
  y = RunOne(OpKind::kLayerNorm, {{4}}, {4}, {},
             {{"gamma", I32({4}, {1, 1, 1, 1})},
              {"beta", I64({4}, {0, 0, 0, 0})},
              {"eps", I64({1}, {5})},
              {"shift", Scalar32(10)}},
             {I8({1, 4}, {1, 2, 3, 4})});
  EXPECT_EQ(Values8(y), (V8{-5, -2, 2, 5}));
}

TEST(OpsTest, RmsNorm) {
  // x = [3, -4]: V = 25, RoundDiv(25, 2) = 13 (12.5 up), r = ISqrt(13) = 3.
  // n = RoundDiv([12288, -16384], 3) = [4096, -5461.33 -> -5461].
  // gamma 1, shift 12: [1, -1.33 -> -1]. gamma 100: [100, -133.3 -> -127 (clamp)].
  Tensor y =
      RunOne(OpKind::kRmsNorm, {{2}}, {2}, {},
             {{"gamma", I32({2}, {1, 100})}, {"eps", I64({1}, {0})}, {"shift", Scalar32(12)}},
             {I8({1, 2}, {3, -4})});
  EXPECT_EQ(Values8(y), (V8{1, -127}));
  y = RunOne(OpKind::kRmsNorm, {{2}}, {2}, {},
             {{"gamma", I32({2}, {100, 1})},
              {"beta", I64({2}, {0, 0})},
              {"eps", I64({1}, {0})},
              {"shift", Scalar32(12)}},
             {I8({1, 2}, {3, -4})});
  EXPECT_EQ(Values8(y), (V8{100, -1}));
}

TEST(OpsTest, MaxPoolPaddingNeverWins) {
  // x = [[1,-2,3],[-4,5,-6],[7,-8,9]], kernel 2, stride 2, pads bottom/right 1:
  // windows {1,-2,-4,5} -> 5, {3,-6} -> 3, {7,-8} -> 7, {9} -> 9.
  Tensor y = RunOne(OpKind::kMaxPool2d, {{1, 3, 3}}, {1, 2, 2},
                    {{"kernel", {2, 2}}, {"strides", {2, 2}}, {"pads", {0, 0, 1, 1}}}, {},
                    {I8({1, 1, 3, 3}, {1, -2, 3, -4, 5, -6, 7, -8, 9})});
  EXPECT_EQ(Values8(y), (V8{5, 3, 7, 9}));
  // All negative input with padding on every side: the maximum stays negative.
  y = RunOne(OpKind::kMaxPool2d, {{1, 2, 2}}, {1, 2, 2},
             {{"kernel", {2, 2}}, {"pads", {1, 1, 0, 0}}}, {},
             {I8({1, 1, 2, 2}, {-5, -6, -7, -8})});
  EXPECT_EQ(Values8(y), (V8{-5, -5, -5, -5}));
}

TEST(OpsTest, AvgPoolCountIncludePad) {
  // Same windows as above. Without pad counting: 0/4 = 0, -3/2 = -1.5 -> -1,
  // -1/2 = -0.5 -> 0, 9/1 = 9. With: 0/4, -3/4 -> -1 (-0.75), -1/4 -> 0, 9/4 -> 2.
  const Tensor x = I8({1, 1, 3, 3}, {1, -2, 3, -4, 5, -6, 7, -8, 9});
  const std::vector<Attr> geometry = {
      {"kernel", {2, 2}}, {"strides", {2, 2}}, {"pads", {0, 0, 1, 1}}};
  Tensor y = RunOne(OpKind::kAvgPool2d, {{1, 3, 3}}, {1, 2, 2}, geometry, {}, {x});
  EXPECT_EQ(Values8(y), (V8{0, -1, 0, 9}));
  std::vector<Attr> include = geometry;
  include.push_back({"count_include_pad", {1}});
  y = RunOne(OpKind::kAvgPool2d, {{1, 3, 3}}, {1, 2, 2}, include, {}, {x});
  EXPECT_EQ(Values8(y), (V8{0, -1, 0, 2}));
}

TEST(OpsTest, ReduceMean) {
  // x = [[1, 2, 4], [-1, -2, -2]].
  const Tensor x = I8({1, 2, 3}, {1, 2, 4, -1, -2, -2});
  // axes {1}: 7/3 = 2.33 -> 2; -5/3 = -1.67 -> -2.
  Tensor y =
      RunOne(OpKind::kReduceMean, {{2, 3}}, {2}, {{"axes", {1}}, {"keepdims", {0}}}, {}, {x});
  EXPECT_EQ(Values8(y), (V8{2, -2}));
  // axes {0} (not trailing), keepdims: [0/2, 0/2, 2/2] = [0, 0, 1].
  y = RunOne(OpKind::kReduceMean, {{2, 3}}, {1, 3}, {{"axes", {0}}}, {}, {x});
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(Values8(y), (V8{0, 0, 1}));
  // axes {0, 1}: 2/6 -> 0.
  y = RunOne(OpKind::kReduceMean, {{2, 3}}, {}, {{"axes", {0, 1}}, {"keepdims", {0}}}, {}, {x});
  EXPECT_EQ(Values8(y), (V8{0}));
  // [2, 2, 2] over axes {0, 2}: x[a][b][c] = 4a + 2b + c + 1 -> for b = 0: (1+2+5+6)/4 = 3.5 -> 4;
  // b = 1: (3+4+7+8)/4 = 5.5 -> 6.
  y = RunOne(OpKind::kReduceMean, {{2, 2, 2}}, {2}, {{"axes", {0, 2}}, {"keepdims", {0}}}, {},
             {I8({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
  EXPECT_EQ(Values8(y), (V8{4, 6}));
}

TEST(OpsTest, Embedding) {
  const Tensor y =
      RunOne(OpKind::kEmbedding, {{2}}, {2, 2}, {}, {{"table", I8({3, 2}, {1, 2, 3, 4, 5, 6})}},
             {I32({1, 2}, {2, 0})}, DType::kInt32);
  EXPECT_EQ(Values8(y), (V8{5, 6, 1, 2}));
}

TEST(OpsTest, ReshapeKeepsBytes) {
  Tensor y = RunOne(OpKind::kReshape, {{2, 3}}, {3, 2}, {{"shape", {3, 2}}}, {},
                    {I8({1, 2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(y.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(Values8(y), (V8{1, 2, 3, 4, 5, 6}));
  // Dynamic leading dim: [T, 2, 3] -> [T, 6] with T = 2.
  y = RunOne(OpKind::kReshape, {{kDynamicDim, 2, 3}}, {kDynamicDim, 6},
             {{"shape", {kDynamicDim, 6}}}, {},
             {I8({1, 2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 6}));
  EXPECT_EQ(Values8(y), (V8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST(OpsTest, Transpose) {
  // [2, 3] -> [3, 2].
  Tensor y = RunOne(OpKind::kTranspose, {{2, 3}}, {3, 2}, {{"perm", {1, 0}}}, {},
                    {I8({1, 2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(Values8(y), (V8{1, 4, 2, 5, 3, 6}));
  // [2, 2, 2] with perm [2, 0, 1]: y[c][a][b] = x[a][b][c], x = 0..7 (x = 4a + 2b + c).
  y = RunOne(OpKind::kTranspose, {{2, 2, 2}}, {2, 2, 2}, {{"perm", {2, 0, 1}}}, {},
             {I8({1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7})});
  EXPECT_EQ(Values8(y), (V8{0, 2, 4, 6, 1, 3, 5, 7}));
}

TEST(OpsTest, ConcatAndSlice) {
  Tensor y = RunOne(OpKind::kConcat, {{2, 1}, {2, 2}}, {2, 3}, {{"axis", {1}}}, {},
                    {I8({1, 2, 1}, {1, 2}), I8({1, 2, 2}, {3, 4, 5, 6})});
  EXPECT_EQ(Values8(y), (V8{1, 3, 4, 2, 5, 6}));
  // Columns 1 and 3 of [[0..4], [5..9]].
  y = RunOne(OpKind::kSlice, {{2, 5}}, {2, 2},
             {{"axis", {1}}, {"start", {1}}, {"end", {5}}, {"step", {2}}}, {},
             {I8({1, 2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})});
  EXPECT_EQ(Values8(y), (V8{1, 3, 6, 8}));
}

}  // namespace
}  // namespace veil
