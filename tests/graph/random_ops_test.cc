// Randomized comparisons of the GEMM-based ops (and the norms) against the naive
// reference in reference.cc, on every kernel path this machine can run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "graph_test_util.h"
#include "reference.h"
#include "veil/kernels.h"
#include "veil/session.h"

namespace veil {
namespace {

using gt::GraphBuilder;
using gt::I32;
using gt::I64;
using gt::I8;
using gt::RandomI32;
using gt::RandomI8;
using gt::RandomTensor8;
using gt::Scalar32;

std::vector<KernelPath> AvailablePaths() {
  std::vector<KernelPath> paths;
  for (KernelPath p :
       {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni})
    if (KernelPathAvailable(p)) paths.push_back(p);
  return paths;
}

// Runs `graph` on every available path (threads 1, 2 and 3) and checks the single output
// equals `expected`. With a batch of at least 2 × threads the executor splits the batch
// across threads; smaller batches use the threads inside the ops.
void ExpectAllPathsEqual(const Graph& graph, const std::vector<Tensor>& inputs,
                         const Tensor& expected, const std::string& what) {
  for (KernelPath path : AvailablePaths())
    for (int threads : {1, 2, 3}) {
      auto session = Session::Create(graph, {path, threads});
      ASSERT_TRUE(session.ok()) << what << ": " << session.status().ToString();
      auto out = (*session)->Run(inputs);
      ASSERT_TRUE(out.ok()) << what << ": " << out.status().ToString();
      ASSERT_EQ((*out)[0].shape(), expected.shape()) << what;
      ASSERT_TRUE((*out)[0] == expected)
          << what << " differs from the reference on " << KernelPathName(path) << " with "
          << threads << " threads";
    }
}

reference::Requant RandomRequant(std::mt19937_64& rng, int64_t k, int64_t channels,
                                 bool per_channel) {
  reference::Requant rq;
  for (int64_t c = 0; c < (per_channel ? channels : 1); ++c) {
    const auto [m, s] = gt::RandomRequant(rng, k);
    rq.multiplier.push_back(m);
    rq.shift.push_back(s);
  }
  std::uniform_int_distribution<int> coin(0, 4);
  if (coin(rng) == 0) rq.lo = 0;  // fused ReLU
  if (coin(rng) == 0) rq.hi = 100;
  return rq;
}

std::vector<Param> RequantParams(const reference::Requant& rq) {
  const int64_t n = static_cast<int64_t>(rq.multiplier.size());
  return {{"multiplier", I32({n}, rq.multiplier)}, {"shift", I32({n}, rq.shift)}};
}

std::vector<Attr> ActAttrs(const reference::Requant& rq) {
  return {{"act_min", {rq.lo}}, {"act_max", {rq.hi}}};
}

TEST(RandomOpsTest, LinearMatchesReference) {
  std::mt19937_64 rng(11);
  for (int64_t k : {1, 3, 16, 63, 64, 65, 300})
    for (int64_t n : {1, 5, 16, 33, 100}) {
      std::uniform_int_distribution<int64_t> dim(1, 6);
      const int64_t batch = dim(rng), rows = dim(rng);
      const bool rank3 = (k + n) % 2 == 0;
      const Shape in_shape = rank3 ? Shape{rows, k} : Shape{k};
      const Shape out_shape = rank3 ? Shape{rows, n} : Shape{n};
      const auto rq = RandomRequant(rng, k, n, n % 3 != 0);
      const Tensor weight = RandomTensor8(rng, {n, k});
      const int32_t bias_range = static_cast<int32_t>(5000 * std::sqrt(double(k)));
      const Tensor bias = I32({n}, RandomI32(rng, static_cast<size_t>(n), -bias_range, bias_range));
      std::vector<Param> params = RequantParams(rq);
      params.push_back({"weight", weight});
      params.push_back({"bias", bias});
      const Graph g = gt::SingleOp(OpKind::kLinear, {in_shape}, out_shape, ActAttrs(rq), params);
      Shape x_shape = in_shape;
      x_shape.insert(x_shape.begin(), batch);
      const Tensor x = RandomTensor8(rng, x_shape);
      ExpectAllPathsEqual(g, {x}, reference::Linear(x, weight, bias, rq),
                          "Linear K=" + std::to_string(k) + " N=" + std::to_string(n));
    }
}

TEST(RandomOpsTest, Conv2dMatchesReference) {
  std::mt19937_64 rng(22);
  std::uniform_int_distribution<int64_t> small(1, 3), pad(0, 2), size(1, 9), pick(0, 3);
  int tested = 0;
  while (tested < 60) {
    const int64_t group = std::vector<int64_t>{1, 1, 2, 3}[static_cast<size_t>(pick(rng))];
    const bool depthwise = pick(rng) == 0;
    const int64_t c = depthwise ? group : group * small(rng);
    const int64_t o = depthwise ? group : group * small(rng);
    const int64_t kh = small(rng), kw = small(rng), h = size(rng), w = size(rng);
    const std::vector<int64_t> strides = {small(rng), small(rng)};
    const std::vector<int64_t> pads = {pad(rng), pad(rng), pad(rng), pad(rng)};
    const std::vector<int64_t> dil = {small(rng) == 1 ? 2 : 1, small(rng) == 1 ? 2 : 1};
    const int64_t oh_span = h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1;
    const int64_t ow_span = w + pads[1] + pads[3] - dil[1] * (kw - 1) - 1;
    if (oh_span < 0 || ow_span < 0) continue;
    const int64_t oh = oh_span / strides[0] + 1, ow = ow_span / strides[1] + 1;
    const int64_t batch = small(rng);
    const auto rq = RandomRequant(rng, c / group * kh * kw, o, pick(rng) != 0);
    const Tensor weight = RandomTensor8(rng, {o, c / group, kh, kw});
    const int32_t bias_range = static_cast<int32_t>(5000 * std::sqrt(double(c / group * kh * kw)));
    const Tensor bias = I32({o}, RandomI32(rng, static_cast<size_t>(o), -bias_range, bias_range));
    std::vector<Param> params = RequantParams(rq);
    params.push_back({"weight", weight});
    params.push_back({"bias", bias});
    std::vector<Attr> attrs = ActAttrs(rq);
    attrs.push_back({"strides", strides});
    attrs.push_back({"pads", pads});
    attrs.push_back({"dilations", dil});
    attrs.push_back({"group", {group}});
    const Graph g = gt::SingleOp(OpKind::kConv2d, {{c, h, w}}, {o, oh, ow}, attrs, params);
    const Tensor x = RandomTensor8(rng, {batch, c, h, w});
    ExpectAllPathsEqual(g, {x}, reference::Conv2d(x, weight, bias, rq, strides, pads, dil, group),
                        "Conv2d #" + std::to_string(tested));
    ++tested;
  }
}

TEST(RandomOpsTest, Conv2dLargeImageUsesSeveralTiles) {
  // 96x96 output pixels with K = 27: enough rows for several im2col tiles and threads.
  std::mt19937_64 rng(23);
  const auto rq = RandomRequant(rng, 27, 16, true);
  const Tensor weight = RandomTensor8(rng, {16, 3, 3, 3});
  const Tensor bias = I32({16}, RandomI32(rng, 16, -20000, 20000));
  std::vector<Param> params = RequantParams(rq);
  params.push_back({"weight", weight});
  params.push_back({"bias", bias});
  std::vector<Attr> attrs = ActAttrs(rq);
  attrs.push_back({"pads", {1, 1, 1, 1}});
  const Graph g = gt::SingleOp(OpKind::kConv2d, {{3, 96, 96}}, {16, 96, 96}, attrs, params);
  const Tensor x = RandomTensor8(rng, {2, 3, 96, 96});
  ExpectAllPathsEqual(g, {x},
                      reference::Conv2d(x, weight, bias, rq, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1),
                      "Conv2d 96x96");
}

TEST(RandomOpsTest, MatMulMatchesReference) {
  std::mt19937_64 rng(33);
  std::uniform_int_distribution<int64_t> dim(1, 40), lead(1, 4), coin(0, 1);
  for (int i = 0; i < 40; ++i) {
    const int64_t m = dim(rng), k = dim(rng), n = dim(rng), batch = lead(rng);
    const bool transpose_b = coin(rng) == 1, rank3 = coin(rng) == 1;
    const int64_t l = lead(rng);
    Shape a_shape = {m, k}, b_shape = transpose_b ? Shape{n, k} : Shape{k, n}, y_shape = {m, n};
    if (rank3) {
      for (Shape* s : {&a_shape, &b_shape, &y_shape}) s->insert(s->begin(), l);
    }
    const auto rq = RandomRequant(rng, k, 1, false);
    const Graph g = gt::SingleOp(
        OpKind::kMatMul, {a_shape, b_shape}, y_shape,
        {{"act_min", {rq.lo}}, {"act_max", {rq.hi}}, {"transpose_b", {transpose_b ? 1 : 0}}},
        RequantParams(rq));
    a_shape.insert(a_shape.begin(), batch);
    b_shape.insert(b_shape.begin(), batch);
    const Tensor a = RandomTensor8(rng, a_shape), b = RandomTensor8(rng, b_shape);
    ExpectAllPathsEqual(g, {a, b}, reference::MatMul(a, b, transpose_b, rq),
                        "MatMul #" + std::to_string(i));
  }
}

TEST(RandomOpsTest, AttentionMatchesReference) {
  std::mt19937_64 rng(44);
  std::uniform_int_distribution<int64_t> heads_d(1, 3), d_d(1, 24), t_d(1, 20), coin(0, 1);
  for (int i = 0; i < 40; ++i) {
    const int64_t heads = heads_d(rng), d = d_d(rng), width = heads * d;
    const bool causal = coin(rng) == 1;
    int64_t tq = t_d(rng), tk = t_d(rng);
    if (causal && tq > tk) std::swap(tq, tk);
    const int64_t batch = heads_d(rng);
    std::uniform_real_distribution<double> scale(0.01, 0.5);
    const std::vector<int32_t> table = gt::ExpTable(scale(rng));
    const auto [sm, ss] = gt::RandomRequant(rng, d);
    const auto rq = RandomRequant(rng, 128, 1, false);  // p sums to ~127
    std::vector<Param> params = RequantParams(rq);
    params.push_back({"score_multiplier", Scalar32(sm)});
    params.push_back({"score_shift", Scalar32(ss)});
    params.push_back({"exp_table", I32({256}, table)});
    const Graph g =
        gt::SingleOp(OpKind::kAttention, {{tq, width}, {tk, width}, {tk, width}}, {tq, width},
                     {{"act_min", {rq.lo}},
                      {"act_max", {rq.hi}},
                      {"heads", {heads}},
                      {"causal", {causal ? 1 : 0}}},
                     params);
    const Tensor q = RandomTensor8(rng, {batch, tq, width});
    const Tensor k = RandomTensor8(rng, {batch, tk, width});
    const Tensor v = RandomTensor8(rng, {batch, tk, width});
    ExpectAllPathsEqual(g, {q, k, v},
                        reference::Attention(q, k, v, heads, causal, sm, ss, table, rq),
                        "Attention #" + std::to_string(i));
  }
}

TEST(RandomOpsTest, AttentionWithLongKeysUsesQueryBlocks) {
  // Tk = 1500 keys: queries run in blocks of 16, so Tq = 40 spans three blocks.
  std::mt19937_64 rng(45);
  for (bool causal : {false, true}) {
    const int64_t heads = 2, d = 8, width = heads * d, tq = 40, tk = 1500, batch = 2;
    const std::vector<int32_t> table = gt::ExpTable(0.08);
    const auto rq = RandomRequant(rng, 128, 1, false);
    std::vector<Param> params = RequantParams(rq);
    params.push_back({"score_multiplier", Scalar32(1 << 30)});
    params.push_back({"score_shift", Scalar32(38)});
    params.push_back({"exp_table", I32({256}, table)});
    const Graph g =
        gt::SingleOp(OpKind::kAttention, {{tq, width}, {tk, width}, {tk, width}}, {tq, width},
                     {{"heads", {heads}}, {"causal", {causal ? 1 : 0}}}, params);
    const Tensor q = RandomTensor8(rng, {batch, tq, width});
    const Tensor k = RandomTensor8(rng, {batch, tk, width});
    const Tensor v = RandomTensor8(rng, {batch, tk, width});
    ExpectAllPathsEqual(g, {q, k, v},
                        reference::Attention(q, k, v, heads, causal, 1 << 30, 38, table, rq),
                        causal ? "causal long attention" : "long attention");
  }
}

TEST(RandomOpsTest, NormsMatchReference) {
  std::mt19937_64 rng(55);
  std::uniform_int_distribution<int64_t> c_d(1, 300), rows_d(1, 5), shift_d(10, 24);
  std::uniform_int_distribution<int64_t> eps_d(0, 1 << 20);
  for (int i = 0; i < 40; ++i) {
    const bool layer_norm = i % 2 == 0;
    const int64_t c = i == 0 ? 8192 : c_d(rng), rows = rows_d(rng);
    const int shift = static_cast<int>(shift_d(rng));
    const std::vector<int32_t> gamma =
        RandomI32(rng, static_cast<size_t>(c), -(1 << (shift - 6)), 1 << (shift - 6));
    std::vector<int64_t> beta;
    if (layer_norm)
      for (int32_t b : RandomI32(rng, static_cast<size_t>(c), -(1 << 28), 1 << 28))
        beta.push_back(b);
    const int64_t eps = i % 4 == 1 ? 0 : eps_d(rng);
    std::vector<Param> params = {
        {"gamma", I32({c}, gamma)}, {"eps", I64({1}, {eps})}, {"shift", Scalar32(shift)}};
    if (layer_norm) params.push_back({"beta", I64({c}, beta)});
    const Graph g = gt::SingleOp(layer_norm ? OpKind::kLayerNorm : OpKind::kRmsNorm, {{rows, c}},
                                 {rows, c}, {{"act_min", {-120}}}, params);
    // Some rows constant (V = 0), some extreme.
    Tensor x = RandomTensor8(rng, {2, rows, c});
    if (i % 3 == 0) std::fill(x.i8().begin(), x.i8().begin() + c, int8_t{7});
    if (i % 5 == 0) std::fill(x.i8().end() - c, x.i8().end(), int8_t{-127});
    ExpectAllPathsEqual(
        g, {x}, reference::Norm(x, layer_norm, gamma, beta, eps, shift, -120, 127),
        std::string(layer_norm ? "LayerNorm" : "RmsNorm") + " C=" + std::to_string(c));
  }
}

TEST(RandomOpsTest, PoolsMatchReference) {
  std::mt19937_64 rng(66);
  std::uniform_int_distribution<int64_t> k_d(1, 4), s_d(1, 3), size_d(1, 13), b_d(1, 3);
  int tested = 0;
  while (tested < 80) {
    const std::vector<int64_t> kernel = {k_d(rng), k_d(rng)}, strides = {s_d(rng), s_d(rng)};
    std::vector<int64_t> pads;
    for (int i = 0; i < 4; ++i)
      pads.push_back(
          std::uniform_int_distribution<int64_t>(0, kernel[static_cast<size_t>(i % 2)] - 1)(rng));
    const int64_t c = b_d(rng), h = size_d(rng), w = size_d(rng), batch = b_d(rng);
    const int64_t oh_span = h + pads[0] + pads[2] - kernel[0],
                  ow_span = w + pads[1] + pads[3] - kernel[1];
    if (oh_span < 0 || ow_span < 0) continue;
    const int64_t oh = oh_span / strides[0] + 1, ow = ow_span / strides[1] + 1;
    // Skip geometries whose last window lies wholly in the padding (validation rejects them).
    if ((oh - 1) * strides[0] - pads[0] >= h || (ow - 1) * strides[1] - pads[1] >= w) continue;
    const bool max = tested % 2 == 0, include_pad = tested % 4 == 1;
    std::vector<Attr> attrs = {{"kernel", kernel}, {"strides", strides}, {"pads", pads}};
    if (!max) attrs.push_back({"count_include_pad", {include_pad ? 1 : 0}});
    const Graph g = gt::SingleOp(max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d, {{c, h, w}},
                                 {c, oh, ow}, attrs, {});
    const Tensor x = RandomTensor8(rng, {batch, c, h, w});
    ExpectAllPathsEqual(g, {x}, reference::Pool2d(x, max, kernel, strides, pads, include_pad),
                        (max ? "MaxPool #" : "AvgPool #") + std::to_string(tested));
    ++tested;
  }
}

TEST(RandomOpsTest, ReduceMeanAndTransposeMatchReference) {
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<int64_t> rank_d(1, 4), dim_d(1, 5);
  for (int i = 0; i < 60; ++i) {
    const size_t rank = static_cast<size_t>(rank_d(rng));
    Shape shape;
    for (size_t a = 0; a < rank; ++a) shape.push_back(dim_d(rng));
    Shape batched = shape;
    batched.insert(batched.begin(), 2);
    const Tensor x = RandomTensor8(rng, batched);
    // ReduceMean over a random non-empty ascending subset of axes.
    std::vector<int64_t> axes;
    while (axes.empty())
      for (size_t a = 0; a < rank; ++a)
        if (rng() % 2) axes.push_back(static_cast<int64_t>(a));
    const bool keepdims = rng() % 2 == 1;
    const Tensor mean = reference::ReduceMean(x, axes, keepdims);
    const Shape mean_shape(mean.shape().begin() + 1, mean.shape().end());
    ExpectAllPathsEqual(gt::SingleOp(OpKind::kReduceMean, {shape}, mean_shape,
                                     {{"axes", axes}, {"keepdims", {keepdims ? 1 : 0}}}, {}),
                        {x}, mean, "ReduceMean #" + std::to_string(i));
    // Transpose by a random permutation.
    std::vector<int64_t> perm(rank);
    for (size_t a = 0; a < rank; ++a) perm[a] = static_cast<int64_t>(a);
    std::shuffle(perm.begin(), perm.end(), rng);
    const Tensor t = reference::Transpose(x, perm);
    const Shape t_shape(t.shape().begin() + 1, t.shape().end());
    ExpectAllPathsEqual(gt::SingleOp(OpKind::kTranspose, {shape}, t_shape, {{"perm", perm}}, {}),
                        {x}, t, "Transpose #" + std::to_string(i));
  }
}

// Batches large enough for the executor to split them across 2 and 3 threads, on the
// fast paths of Conv2d (channel-last im2col, single-channel im2col, groups, sample
// chunks), MaxPool2d (2×2, stride 2, odd sizes) and Add (broadcast operand).
TEST(RandomOpsTest, BatchSplitAndFastPathsMatchReference) {
  std::mt19937_64 rng(88);
  struct ConvCase {
    int64_t c, o, group, kh, kw, h, w, pad, stride, batch;
  };
  for (const ConvCase& cc : {ConvCase{1, 16, 1, 3, 3, 28, 28, 1, 1, 7},
                             ConvCase{16, 8, 1, 3, 3, 14, 14, 1, 1, 9},
                             ConvCase{6, 4, 2, 3, 2, 9, 11, 1, 2, 8},
                             ConvCase{5, 7, 1, 5, 5, 40, 40, 2, 1, 6},
                             ConvCase{32, 8, 1, 1, 1, 3, 5, 0, 1, 13}}) {
    const int64_t k = cc.c / cc.group * cc.kh * cc.kw;
    const auto rq = RandomRequant(rng, k, cc.o, true);
    const Tensor weight = RandomTensor8(rng, {cc.o, cc.c / cc.group, cc.kh, cc.kw});
    const Tensor bias = I32({cc.o}, RandomI32(rng, static_cast<size_t>(cc.o), -20000, 20000));
    std::vector<Param> params = RequantParams(rq);
    params.push_back({"weight", weight});
    params.push_back({"bias", bias});
    std::vector<Attr> attrs = ActAttrs(rq);
    const std::vector<int64_t> pads(4, cc.pad), strides(2, cc.stride);
    attrs.push_back({"pads", pads});
    attrs.push_back({"strides", strides});
    attrs.push_back({"group", {cc.group}});
    const int64_t oh = (cc.h + 2 * cc.pad - cc.kh) / cc.stride + 1;
    const int64_t ow = (cc.w + 2 * cc.pad - cc.kw) / cc.stride + 1;
    const Graph g = gt::SingleOp(OpKind::kConv2d, {{cc.c, cc.h, cc.w}}, {cc.o, oh, ow}, attrs, params);
    const Tensor x = RandomTensor8(rng, {cc.batch, cc.c, cc.h, cc.w});
    ExpectAllPathsEqual(g, {x}, reference::Conv2d(x, weight, bias, rq, strides, pads, {1, 1}, cc.group),
                        "Conv2d c=" + std::to_string(cc.c) + " batch " + std::to_string(cc.batch));
  }
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{28, 28}, {7, 9}, {2, 2}, {5, 3}}) {
    const Graph g = gt::SingleOp(OpKind::kMaxPool2d, {{3, h, w}}, {3, h / 2, w / 2},
                                 {{"kernel", {2, 2}}, {"strides", {2, 2}}}, {});
    const Tensor x = RandomTensor8(rng, {7, 3, h, w});
    ExpectAllPathsEqual(g, {x}, reference::Pool2d(x, true, {2, 2}, {2, 2}, {0, 0, 0, 0}, false),
                        "MaxPool 2x2 " + std::to_string(h) + "x" + std::to_string(w));
  }
  // Add: every (a, b) pair of int8 values, a broadcast second input, random multipliers.
  for (int i = 0; i < 6; ++i) {
    const int32_t ma = static_cast<int32_t>(rng() % (uint64_t{1} << 31));
    const int32_t mb = static_cast<int32_t>(rng() % (uint64_t{1} << 31));
    const int32_t shift = static_cast<int32_t>(rng() % 40);
    const int32_t lo = i % 2 == 0 ? -127 : 0, hi = i % 3 == 0 ? 127 : 100;
    const Graph g = gt::SingleOp(OpKind::kAdd, {{255, 255}, {255}}, {255, 255},
                                 {{"act_min", {lo}}, {"act_max", {hi}}},
                                 {{"multiplier_a", I32({1}, {ma})}, {"multiplier_b", I32({1}, {mb})},
                                  {"shift", I32({1}, {shift})}});
    const int64_t batch = 4;
    std::vector<int8_t> av, bv;
    for (int64_t b = 0; b < batch; ++b) {
      for (int x = -127; x <= 127; ++x)
        for (int y = -127; y <= 127; ++y) av.push_back(static_cast<int8_t>(b % 2 == 0 ? x : y));
      for (int y = -127; y <= 127; ++y) bv.push_back(static_cast<int8_t>(b % 2 == 0 ? y : -y));
    }
    const Tensor a = I8({batch, 255, 255}, av), bt = I8({batch, 255}, bv);
    Tensor expected(DType::kInt8, {batch, 255, 255});
    for (int64_t e = 0; e < expected.size(); ++e) {
      const int64_t sum = int64_t{a.i8()[static_cast<size_t>(e)]} * ma +
                          int64_t{bt.i8()[static_cast<size_t>(e / (255 * 255) * 255 + e % 255)]} * mb;
      expected.i8()[static_cast<size_t>(e)] =
          static_cast<int8_t>(std::clamp<int64_t>(reference::RoundShift(sum, shift), lo, hi));
    }
    ExpectAllPathsEqual(g, {a, bt}, expected, "Add #" + std::to_string(i));
  }
}

// A request error found in one slice of a split batch is reported as for the whole batch.
TEST(RandomOpsTest, BatchSplitReportsErrorsForTheWholeBatch) {
  const Graph g = gt::SingleOp(OpKind::kEmbedding, {{3}}, {3, 2}, {},
                               {{"table", I8({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8})}}, DType::kInt32);
  std::vector<int32_t> ids(8 * 3, 1);
  ids[5 * 3 + 2] = 9;  // sample 5, position 2
  for (int threads : {1, 2, 3}) {
    auto session = Session::Create(g, {KernelPath::kAuto, threads});
    ASSERT_TRUE(session.ok());
    const auto out = (*session)->Run({I32({8, 3}, ids)});
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().ToString().find("id 9 (sample 5, position 2)"), std::string::npos)
        << out.status().ToString();
  }
}

}  // namespace
}  // namespace veil
