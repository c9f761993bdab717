#include "test_models.h"

#include <random>
#include <string>

#include "graph_test_util.h"

namespace veil::gt {
namespace {

class ModelBuilder {
 public:
  explicit ModelBuilder(uint64_t seed) : rng_(seed) {}

  GraphBuilder& b() { return b_; }
  std::mt19937_64& rng() { return rng_; }

  std::vector<Param> Requant(int64_t k, int64_t channels) {
    std::vector<int32_t> m, s;
    for (int64_t c = 0; c < channels; ++c) {
      const auto [mm, ss] = RandomRequant(rng_, k);
      m.push_back(mm);
      s.push_back(ss);
    }
    return {{"multiplier", I32({channels}, m)}, {"shift", I32({channels}, s)}};
  }

  int Linear(int x, Shape out_shape, int64_t k, int64_t n, bool relu = false) {
    std::vector<Param> params = Requant(k, n);
    params.push_back({"weight", I8({n, k}, RandomI8(rng_, static_cast<size_t>(n * k)))});
    params.push_back({"bias", I32({n}, RandomI32(rng_, static_cast<size_t>(n), -5000, 5000))});
    std::vector<Attr> attrs;
    if (relu) attrs.push_back({"act_min", {0}});
    return b_.Op(OpKind::kLinear, {x}, std::move(out_shape), attrs, params, Name("linear"));
  }

  int Conv(int x, Shape out_shape, int64_t c, int64_t o, int64_t k, int64_t group,
           std::vector<Attr> attrs) {
    const int64_t cg = c / group;
    std::vector<Param> params = Requant(cg * k * k, o);
    params.push_back(
        {"weight", I8({o, cg, k, k}, RandomI8(rng_, static_cast<size_t>(o * cg * k * k)))});
    params.push_back({"bias", I32({o}, RandomI32(rng_, static_cast<size_t>(o), -3000, 3000))});
    if (group != 1) attrs.push_back({"group", {group}});
    return b_.Op(OpKind::kConv2d, {x}, std::move(out_shape), std::move(attrs), params,
                 Name("conv"));
  }

  // a/2 + b/2 (multipliers 2^29 at shift 30, jittered).
  int Add(int a, int other, Shape shape) {
    std::uniform_int_distribution<int32_t> m(1 << 28, (1 << 29) + (1 << 28));
    return b_.Op(OpKind::kAdd, {a, other}, std::move(shape), {},
                 {{"multiplier_a", Scalar32(m(rng_))},
                  {"multiplier_b", Scalar32(m(rng_))},
                  {"shift", Scalar32(30)}},
                 Name("add"));
  }

  // A smooth odd table (tanh-like, scaled), like an imported non-linearity.
  int Lookup(int x, Shape shape) {
    std::vector<int8_t> table(256);
    for (int q = -128; q < 128; ++q)
      table[static_cast<size_t>(q + 128)] =
          static_cast<int8_t>(std::lround(120.0 * std::tanh(q / 50.0)));
    table[0] = -120;
    return b_.Op(OpKind::kLookup, {x}, std::move(shape), {}, {{"table", I8({256}, table)}},
                 Name("lookup"));
  }

  int Norm(OpKind kind, int x, Shape shape, int64_t c) {
    std::vector<Param> params = {
        {"gamma", I32({c}, RandomI32(rng_, static_cast<size_t>(c), 300, 1000))},
        {"eps", I64({1}, {10})},
        {"shift", Scalar32(16)}};
    if (kind == OpKind::kLayerNorm) {
      std::vector<int64_t> beta;
      for (int32_t v : RandomI32(rng_, static_cast<size_t>(c), -16384, 16384)) beta.push_back(v);
      params.push_back({"beta", I64({c}, beta)});
    }
    return b_.Op(kind, {x}, std::move(shape), {}, params, Name("norm"));
  }

  std::string Name(const std::string& base) { return base + std::to_string(counter_++); }

 private:
  std::mt19937_64 rng_;
  GraphBuilder b_;
  int counter_ = 0;
};

}  // namespace

Graph MakeImageModel(uint64_t seed) {
  ModelBuilder m(seed);
  GraphBuilder& b = m.b();
  const int x = b.Input("image", {3, 12, 12});
  // [3,12,12] -> conv 3x3 pad 1, ReLU -> [8,12,12] -> maxpool 2 -> [8,6,6]
  const int c1 = m.Conv(x, {8, 12, 12}, 3, 8, 3, 1, {{"pads", {1, 1, 1, 1}}, {"act_min", {0}}});
  const int p1 =
      b.Op(OpKind::kMaxPool2d, {c1}, {8, 6, 6}, {{"kernel", {2, 2}}, {"strides", {2, 2}}});
  // depthwise 3x3 pad 1 -> residual add -> lookup
  const int c2 = m.Conv(p1, {8, 6, 6}, 8, 8, 3, 8, {{"pads", {1, 1, 1, 1}}});
  const int r1 = m.Lookup(m.Add(p1, c2, {8, 6, 6}), {8, 6, 6});
  // grouped (2) dilated 3x3 with stride 2 and asymmetric pads: OH = floor((6+2+1-4-1)/2)+1 = 3
  const int c3 = m.Conv(r1, {12, 3, 3}, 8, 12, 3, 2,
                        {{"pads", {2, 1, 1, 2}}, {"strides", {2, 2}}, {"dilations", {2, 2}}});
  // 1x1 conv
  const int c4 = m.Conv(c3, {16, 3, 3}, 12, 16, 1, 1, {});
  const int a1 = b.Op(OpKind::kAvgPool2d, {c4}, {16, 2, 2},
                      {{"kernel", {2, 2}}, {"strides", {2, 2}}, {"pads", {0, 0, 1, 1}}});
  // tokens: [16, 2, 2] -> reshape [16, 4] -> transpose [4, 16]
  const int t1 =
      b.Op(OpKind::kTranspose, {b.Op(OpKind::kReshape, {a1}, {16, 4}, {{"shape", {16, 4}}})},
           {4, 16}, {{"perm", {1, 0}}});
  b.graph().segments.push_back({0, static_cast<int>(b.graph().nodes.size())});
  // Self-similarity: MatMul(t1, t1ᵀ) -> softmax -> MatMul with t1
  const int ln = m.Norm(OpKind::kLayerNorm, t1, {4, 16}, 16);
  const int sim = b.Op(OpKind::kMatMul, {ln, ln}, {4, 4}, {{"transpose_b", {1}}},
                       {{"multiplier", Scalar32(1 << 30)}, {"shift", Scalar32(40)}});
  const int sm =
      b.Op(OpKind::kSoftmax, {sim}, {4, 4}, {}, {{"exp_table", I32({256}, ExpTable(0.05))}});
  const int mix = b.Op(OpKind::kMatMul, {sm, ln}, {4, 16}, {},
                       {{"multiplier", Scalar32(1 << 30)}, {"shift", Scalar32(37)}});
  // concat the mixed tokens with a slice of the originals: [4, 16] ++ [4, 8] -> [4, 24]
  const int sl = b.Op(OpKind::kSlice, {t1}, {4, 8},
                      {{"axis", {1}}, {"start", {1}}, {"end", {16}}, {"step", {2}}});
  const int cat = b.Op(OpKind::kConcat, {mix, sl}, {4, 24}, {{"axis", {1}}});
  const int seg2 = static_cast<int>(b.graph().nodes.size());
  b.graph().segments.push_back({b.graph().segments.back().end, seg2});
  const int mean = b.Op(OpKind::kReduceMean, {cat}, {24}, {{"axes", {0}}, {"keepdims", {0}}});
  const int fc = m.Linear(mean, {10}, 24, 10);
  const int scaled = b.Op(OpKind::kMul, {fc}, {10}, {},
                          {{"multiplier", Scalar32(1 << 30)},
                           {"shift", Scalar32(36)},
                           {"constant", I8({10}, RandomI8(m.rng(), 10, 30, 127))}});
  const int rq = b.Op(OpKind::kRequantize, {scaled}, {10}, {},
                      {{"multiplier", Scalar32(3 << 29)}, {"shift", Scalar32(30)}});
  const int out =
      b.Op(OpKind::kSoftmax, {rq}, {10}, {}, {{"exp_table", I32({256}, ExpTable(0.1))}});
  b.Output(out);
  b.graph().segments.push_back({seg2, static_cast<int>(b.graph().nodes.size())});
  return b.graph();
}

Graph MakeDecoderModel(uint64_t seed, int layers) {
  constexpr int64_t kWidth = 16, kHidden = 32, kHeads = 2;
  constexpr int64_t T = kDynamicDim;
  ModelBuilder m(seed);
  GraphBuilder& b = m.b();
  const int tokens = b.Input("tokens", {T}, DType::kInt32);
  const int positions = b.Input("positions", {T}, DType::kInt32);
  auto embed = [&](int ids, int64_t rows) {
    return b.Op(
        OpKind::kEmbedding, {ids}, {T, kWidth}, {},
        {{"table", I8({rows, kWidth}, RandomI8(m.rng(), static_cast<size_t>(rows * kWidth)))}},
        m.Name("embed"));
  };
  const int token_embedding = embed(tokens, kDecoderVocab);            // node 0
  const int position_embedding = embed(positions, kDecoderPositions);  // node 1
  int h = m.Add(token_embedding, position_embedding, {T, kWidth});
  auto cut = [&] {
    const int end = static_cast<int>(b.graph().nodes.size());
    const int begin = b.graph().segments.empty() ? 0 : b.graph().segments.back().end;
    b.graph().segments.push_back({begin, end});
  };
  cut();
  for (int l = 0; l < layers; ++l) {
    const int n = m.Norm(OpKind::kRmsNorm, h, {T, kWidth}, kWidth);
    const int q = m.Linear(n, {T, kWidth}, kWidth, kWidth);
    const int k = m.Linear(n, {T, kWidth}, kWidth, kWidth);
    const int v = m.Linear(n, {T, kWidth}, kWidth, kWidth);
    const int a =
        b.Op(OpKind::kAttention, {q, k, v}, {T, kWidth}, {{"heads", {kHeads}}, {"causal", {1}}},
             {{"score_multiplier", Scalar32((1 << 30) + 12345)},
              {"score_shift", Scalar32(38)},
              {"exp_table", I32({256}, ExpTable(0.04))},
              {"multiplier", Scalar32((1 << 30) + 999)},
              {"shift", Scalar32(37)}},
             m.Name("attention"));
    h = m.Add(h, m.Linear(a, {T, kWidth}, kWidth, kWidth), {T, kWidth});
    const int n2 = m.Norm(OpKind::kLayerNorm, h, {T, kWidth}, kWidth);
    const int f = m.Lookup(m.Linear(n2, {T, kHidden}, kWidth, kHidden), {T, kHidden});
    h = m.Add(h, m.Linear(f, {T, kWidth}, kHidden, kWidth), {T, kWidth});
    cut();
  }
  const int logits = m.Linear(m.Norm(OpKind::kRmsNorm, h, {T, kWidth}, kWidth), {T, kDecoderVocab},
                              kWidth, kDecoderVocab);
  const int scaled =
      b.Op(OpKind::kMul, {logits}, {T, kDecoderVocab}, {},
           {{"multiplier", Scalar32(1 << 30)},
            {"shift", Scalar32(36)},
            {"constant", I8({kDecoderVocab}, RandomI8(m.rng(), kDecoderVocab, 30, 127))}});
  std::vector<Param> rq = m.Requant(1, kDecoderVocab);
  for (auto& s : rq[1].tensor.i32()) s = 30;  // per-channel scale near 1..2
  b.Output(b.Op(OpKind::kRequantize, {scaled}, {T, kDecoderVocab}, {}, rq));
  cut();
  return b.graph();
}

}  // namespace veil::gt
