// Encrypted int8 Linear layers: decrypt(EncLinear(enc(x))) equals docs/arithmetic.md's
// accumulators acc[n] = bias[n] + sum_k x[k] * weight[n, k] exactly, with a noise margin.
#include "veil/he/linear.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "onnx/shipped_models.h"
#include "veil/graph.h"
#include "veil/he/bfv.h"
#include "veil/he/context.h"

namespace veil::he {
namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

// Noise budget (bits) every layer result must keep; fresh N = 8192 ciphertexts with the
// 30-bit t have ~133 bits and one layer leaves 89-97 (measured).
constexpr int kMinBudget = 60;

struct Client {
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> gen;
  std::unique_ptr<Encryptor> enc;
  std::unique_ptr<Decryptor> dec;
  std::unique_ptr<BatchEncoder> encoder;
  std::unique_ptr<Evaluator> eval;
  std::map<std::vector<int>, GaloisKeys> gk;  // by step set

  const GaloisKeys& Keys(const std::vector<int>& steps) {
    auto it = gk.find(steps);
    if (it == gk.end()) {
      gk.clear();  // one key set at a time keeps memory modest
      it = gk.emplace(steps, Must(gen->CreateGaloisKeysForSteps(steps, false))).first;
    }
    return it->second;
  }
};

Client& GetClient(ParamSet set) {
  static std::map<ParamSet, std::unique_ptr<Client>> cache;
  auto& c = cache[set];
  if (!c) {
    c = std::make_unique<Client>();
    c->ctx = Must(Context::Create(Must(StandardParameters(set, kLinearPlainModulus))));
    c->gen = std::make_unique<KeyGenerator>(Must(KeyGenerator::Create(c->ctx)));
    c->enc = std::make_unique<Encryptor>(Must(Encryptor::Create(c->ctx, c->gen->secret_key())));
    c->dec = std::make_unique<Decryptor>(Must(Decryptor::Create(c->ctx, c->gen->secret_key())));
    c->encoder = std::make_unique<BatchEncoder>(Must(BatchEncoder::Create(c->ctx)));
    c->eval = std::make_unique<Evaluator>(Must(Evaluator::Create(c->ctx)));
  }
  return *c;
}

// docs/arithmetic.md, Linear: acc[n] = bias[n] + sum_k x[k] * weight[n, k].
std::vector<int64_t> PlainAcc(size_t out, size_t in, const std::vector<int8_t>& w,
                              const std::vector<int32_t>& bias, const std::vector<int8_t>& x) {
  std::vector<int64_t> acc(out);
  for (size_t n = 0; n < out; ++n) {
    int64_t s = bias[n];
    for (size_t k = 0; k < in; ++k) s += int64_t{x[k]} * w[n * in + k];
    acc[n] = s;
  }
  return acc;
}

std::vector<int8_t> RandomInt8(size_t count, std::mt19937_64& rng) {
  std::vector<int8_t> v(count);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  return v;
}

// Encrypts `batch` random vectors, evaluates, decrypts and compares with PlainAcc.
void CheckLayer(ParamSet set, size_t out, size_t in, const std::vector<int8_t>& w,
                const std::vector<int32_t>& bias, size_t batch, uint64_t seed,
                const std::vector<std::vector<int8_t>>& given_inputs = {}) {
  Client& c = GetClient(set);
  EncryptedLinearLayer layer = Must(EncryptedLinearLayer::Create(
      c.ctx, out, in, std::span<const int8_t>(w), std::span<const int32_t>(bias)));
  batch = std::min(batch, layer.batch_capacity());
  std::mt19937_64 rng(seed);  // test data only
  std::vector<std::vector<int8_t>> xs = given_inputs;
  while (xs.size() < batch) xs.push_back(RandomInt8(in, rng));
  std::vector<Plaintext> plains = Must(layer.EncodeInputs(*c.encoder, xs));
  ASSERT_EQ(plains.size(), layer.input_ciphertexts());
  std::vector<Ciphertext> cts;
  for (const Plaintext& p : plains) cts.push_back(Must(c.enc->EncryptSymmetric(p)));
  const GaloisKeys& gk = c.Keys(layer.RequiredGaloisSteps());
  EXPECT_EQ(gk.keys.size(), layer.RequiredGaloisSteps().size());
  Ciphertext result = Must(layer.Evaluate(*c.eval, cts, gk));
  const int budget = Must(c.dec->InvariantNoiseBudget(result));
  EXPECT_GE(budget, kMinBudget) << out << "x" << in;
  std::printf("  %s %zux%zu batch %zu: %zu products, %zu rotations, budget left %d bits\n",
              ParamSetName(set), out, in, xs.size(), layer.plain_products(),
              layer.rotations_per_evaluation(), budget);
  auto got = Must(layer.DecodeOutputs(*c.encoder, Must(c.dec->Decrypt(result)), xs.size()));
  for (size_t v = 0; v < xs.size(); ++v) {
    ASSERT_EQ(got[v], PlainAcc(out, in, w, bias, xs[v]))
        << ParamSetName(set) << " " << out << "x" << in << " vector " << v;
  }
}

void CheckRandomLayer(ParamSet set, size_t out, size_t in, size_t batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int8_t> w = RandomInt8(out * in, rng);
  std::vector<int32_t> bias(out);
  for (auto& b : bias) b = static_cast<int32_t>(rng() % 2000001) - 1000000;
  CheckLayer(set, out, in, w, bias, batch, seed + 1);
}

#ifndef VEIL_HE_LINEAR_SLOW
TEST(EncryptedLinear, HoistedRotationsMatchPlainRotations) {
  for (ParamSet set : {ParamSet::kN8192, ParamSet::kN16384}) {
    Client& c = GetClient(set);
    const std::vector<int> steps = {0, 1, 3, 5, 100, -7, static_cast<int>(c.ctx->n() / 2 - 1)};
    const GaloisKeys& gk = c.Keys(std::vector<int>(steps.begin() + 1, steps.end()));
    std::mt19937_64 rng(5);
    std::vector<int64_t> v(c.ctx->n());
    for (auto& x : v) x = static_cast<int64_t>(rng() % 2000001) - 1000000;
    const Ciphertext ct = Must(c.enc->EncryptSymmetric(Must(c.encoder->EncodeSigned(v))));
    std::vector<Ciphertext> hoisted = Must(c.eval->RotateRowsHoisted(ct, steps, gk));
    ASSERT_EQ(hoisted.size(), steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      Ciphertext plain_rot = ct;
      ASSERT_TRUE(c.eval->RotateRowsInPlace(plain_rot, steps[i], gk).ok());
      EXPECT_EQ(Must(c.encoder->DecodeSigned(Must(c.dec->Decrypt(hoisted[i])))),
                Must(c.encoder->DecodeSigned(Must(c.dec->Decrypt(plain_rot)))))
          << ParamSetName(set) << " step " << steps[i];
      EXPECT_GE(Must(c.dec->InvariantNoiseBudget(hoisted[i])),
                Must(c.dec->InvariantNoiseBudget(plain_rot)) - 1);
    }
    // A step without its exact key is refused (no composition in the hoisted path).
    EXPECT_FALSE(c.eval->RotateRowsHoisted(ct, {2}, gk).ok());
  }
}

TEST(EncryptedLinear, LayoutAndSteps) {
  Client& c = GetClient(ParamSet::kN8192);
  std::vector<int8_t> w(256 * 784, 1);
  std::vector<int32_t> b(256, 0);
  EncryptedLinearLayer layer = Must(EncryptedLinearLayer::Create(c.ctx, 256, 784, w, b));
  const LinearLayout& l = layer.layout();
  EXPECT_EQ(l.chunk_in, 1024u);
  EXPECT_EQ(l.chunks, 1u);
  EXPECT_EQ(l.out_pad, 256u);
  EXPECT_EQ(l.diagonals, 256u);
  EXPECT_EQ(l.stride, 1024u + 255u);
  EXPECT_EQ(l.baby, 16u);
  EXPECT_EQ(l.giant, 16u);
  EXPECT_EQ(layer.batch_capacity(), 6u);  // 3 blocks of 1279 slots in each 4096-slot row
  // Baby steps 1..15, giant 16..240, folds 512 and 256.
  std::vector<int> steps = layer.RequiredGaloisSteps();
  EXPECT_EQ(steps.size(), 15u + 15u + 2u);
  EXPECT_EQ(steps.front(), 1);
  EXPECT_EQ(steps.back(), 512);
  EXPECT_EQ(layer.rotations_per_evaluation(), 32u);
  EXPECT_EQ(layer.plain_products(), 256u);
}

TEST(EncryptedLinear, Refusals) {
  Client& c = GetClient(ParamSet::kN8192);
  std::vector<int8_t> w(6, 1);
  std::vector<int32_t> b(2, 0);
  EXPECT_FALSE(EncryptedLinearLayer::Create(c.ctx, 2, 4, w, b).ok());  // wrong size
  EXPECT_FALSE(EncryptedLinearLayer::Create(c.ctx, 0, 3, {}, {}).ok());
  EXPECT_FALSE(EncryptedLinearLayer::Create(nullptr, 2, 3, w, b).ok());
  // Accumulators that cannot fit the default 20-bit t: refused, with the bound.
  auto small_t = Must(Context::Create(Must(StandardParameters(ParamSet::kN8192))));
  std::vector<int8_t> big(64, 127);
  std::vector<int32_t> zero(1, 0);
  auto r = EncryptedLinearLayer::Create(small_t, 1, 64, big, zero);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("does not fit"), std::string::npos);
  // Bias pushes past (t-1)/2.
  std::vector<int8_t> one(1, 0);
  std::vector<int32_t> huge(1, static_cast<int32_t>((kLinearPlainModulus - 1) / 2 + 1));
  EXPECT_FALSE(EncryptedLinearLayer::Create(c.ctx, 1, 1, one, huge).ok());
  // Too many outputs for one row (N = 8192: 4096 slots).
  // 4096 outputs of 1 input still fit (one diagonal of 4096 slots); 4097 do not.
  std::vector<int8_t> tall(4097, 1);
  std::vector<int32_t> tb(4097, 0);
  EXPECT_TRUE(EncryptedLinearLayer::Create(c.ctx, 4096, 1,
                                           std::span<const int8_t>(tall).first(4096),
                                           std::span<const int32_t>(tb).first(4096))
                  .ok());
  EXPECT_FALSE(EncryptedLinearLayer::Create(c.ctx, 4097, 1, tall, tb).ok());
  // Wrong input counts.
  EncryptedLinearLayer layer = Must(EncryptedLinearLayer::Create(c.ctx, 2, 3, w, b));
  EXPECT_FALSE(layer.EncodeInputs(*c.encoder, {}).ok());
  EXPECT_FALSE(layer.EncodeInputs(*c.encoder, {{1, 2}}).ok());
  EXPECT_FALSE(layer.Evaluate(*c.eval, {}, GaloisKeys{}).ok());
  // Missing Galois keys and ciphertexts of another parameter set are errors, not crashes.
  std::vector<Ciphertext> in;
  for (const Plaintext& p : Must(layer.EncodeInputs(*c.encoder, {{1, 2, 3}}))) {
    in.push_back(Must(c.enc->EncryptSymmetric(p)));
  }
  GaloisKeys empty;
  empty.params_id = c.ctx->params_id();
  auto missing = layer.Evaluate(*c.eval, in, empty);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("Galois key"), std::string::npos);
  const Client& other = GetClient(ParamSet::kN16384);
  std::vector<Ciphertext> foreign;
  for (const Plaintext& p : Must(layer.EncodeInputs(*other.encoder, {{1, 2, 3}}))) {
    foreign.push_back(Must(other.enc->EncryptSymmetric(p)));
  }
  EXPECT_FALSE(layer.Evaluate(*c.eval, foreign, empty).ok());
}

TEST(EncryptedLinear, SmallAndOddShapes) {
  // out < in, out > in, odd sizes, single row / column.
  const std::vector<std::pair<size_t, size_t>> shapes = {{7, 10}, {33, 100}, {10, 128}, {1, 1},
                                                         {5, 1},  {1, 9},    {40, 6},   {64, 64}};
  uint64_t seed = 10;
  for (auto [out, in] : shapes) CheckRandomLayer(ParamSet::kN8192, out, in, 3, seed++);
}

TEST(EncryptedLinear, FullRangeWorstCase) {
  // Every product at its extreme: |acc| = 127*127*784 + |bias|, near the documented bound.
  const size_t out = 4, in = 784;
  std::vector<int8_t> w(out * in);
  for (size_t n = 0; n < out; ++n) {
    for (size_t k = 0; k < in; ++k) w[n * in + k] = static_cast<int8_t>(n % 2 == 0 ? 127 : -127);
  }
  std::vector<int32_t> bias = {1000000, -1000000, -7, 7};
  std::vector<int8_t> hi(in, 127), lo(in, -127);
  CheckLayer(ParamSet::kN8192, out, in, w, bias, 2, 1, {hi, lo});
}

TEST(EncryptedLinear, MlpShapesBatched) {
  CheckRandomLayer(ParamSet::kN8192, 128, 256, 6, 21);
  CheckRandomLayer(ParamSet::kN8192, 256, 784, 6, 22);  // full batch: 6 vectors
}

TEST(EncryptedLinear, SplitsInputsLargerThanARow) {
  // N = 8192 rows hold 4096 slots: K = 5000 is cut into chunks of 2048 (3 ciphertexts).
  Client& c = GetClient(ParamSet::kN8192);
  std::vector<int8_t> w(3 * 5000, 0);
  std::vector<int32_t> b(3, 0);
  EncryptedLinearLayer layer = Must(EncryptedLinearLayer::Create(c.ctx, 3, 5000, w, b));
  EXPECT_EQ(layer.layout().chunk_in, 2048u);
  EXPECT_EQ(layer.input_ciphertexts(), 3u);
  CheckRandomLayer(ParamSet::kN8192, 3, 5000, 2, 31);
}

TEST(EncryptedLinear, ShippedMlpLayers) {
  Result<Graph> g = veil::testing::ImportShipped("mlp");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::mt19937_64 rng(77);
  int linear = 0;
  for (const Node& node : g->nodes) {
    if (node.kind != OpKind::kLinear) continue;
    const Tensor* w = node.FindParam("weight");
    const Tensor* b = node.FindParam("bias");
    ASSERT_NE(w, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(w->shape().size(), 2u);
    const size_t out = static_cast<size_t>(w->shape()[0]), in = static_cast<size_t>(w->shape()[1]);
    std::vector<int8_t> wv(w->i8().begin(), w->i8().end());
    std::vector<int32_t> bv(b->i32().begin(), b->i32().end());
    ASSERT_EQ(bv.size(), out);
    SCOPED_TRACE(node.name);
    CheckLayer(ParamSet::kN8192, out, in, wv, bv, 2, 100 + static_cast<uint64_t>(linear));
    ++linear;
  }
  EXPECT_EQ(linear, 3);
}

TEST(EncryptedLinear, N16384) { CheckRandomLayer(ParamSet::kN16384, 33, 100, 4, 41); }

// docs/arithmetic.md, Conv2d with group 1 and dilation 1 (zeros outside the input).
std::vector<int64_t> PlainConv(const Conv2dShape& s, size_t oh, size_t ow,
                               const std::vector<int8_t>& x, const std::vector<int8_t>& w,
                               const std::vector<int32_t>& bias) {
  std::vector<int64_t> acc(s.out_channels * oh * ow);
  for (size_t o = 0; o < s.out_channels; ++o) {
    for (size_t i = 0; i < oh; ++i) {
      for (size_t j = 0; j < ow; ++j) {
        int64_t sum = bias[o];
        for (size_t c = 0; c < s.channels; ++c) {
          for (size_t u = 0; u < s.kernel_h; ++u) {
            for (size_t v = 0; v < s.kernel_w; ++v) {
              const int64_t r =
                  static_cast<int64_t>(i * s.stride_h + u) - static_cast<int64_t>(s.pad_top);
              const int64_t q =
                  static_cast<int64_t>(j * s.stride_w + v) - static_cast<int64_t>(s.pad_left);
              if (r < 0 || q < 0 || r >= static_cast<int64_t>(s.height) ||
                  q >= static_cast<int64_t>(s.width)) {
                continue;
              }
              sum += int64_t{x[(c * s.height + static_cast<size_t>(r)) * s.width +
                               static_cast<size_t>(q)]} *
                     w[((o * s.channels + c) * s.kernel_h + u) * s.kernel_w + v];
            }
          }
        }
        acc[(o * oh + i) * ow + j] = sum;
      }
    }
  }
  return acc;
}

void CheckConv(const Conv2dShape& s, const std::vector<int8_t>& w, const std::vector<int32_t>& bias,
               uint64_t seed) {
  Client& c = GetClient(ParamSet::kN8192);
  EncryptedConv2dLayer layer = Must(EncryptedConv2dLayer::Create(
      c.ctx, s, std::span<const int8_t>(w), std::span<const int32_t>(bias)));
  std::mt19937_64 rng(seed);  // test data only
  const std::vector<int8_t> x = RandomInt8(s.channels * s.height * s.width, rng);
  const std::vector<Plaintext> plains = Must(layer.EncodeInput(*c.encoder, x));
  ASSERT_EQ(plains.size(), layer.input_ciphertexts());
  std::vector<Ciphertext> cts;
  for (const Plaintext& p : plains) cts.push_back(Must(c.enc->EncryptSymmetric(p)));
  const GaloisKeys& gk = c.Keys(layer.RequiredGaloisSteps());
  const std::vector<Ciphertext> results = Must(layer.Evaluate(*c.eval, cts, gk));
  ASSERT_EQ(results.size(), layer.groups());
  std::vector<Plaintext> decrypted;
  for (const Ciphertext& r : results) {
    EXPECT_GE(Must(c.dec->InvariantNoiseBudget(r)), kMinBudget);
    decrypted.push_back(Must(c.dec->Decrypt(r)));
  }
  std::printf(
      "  conv %zux%zux%zu -> %zu channels, %zux%zu kernel: %zu positions in %zu "
      "ciphertexts\n",
      s.channels, s.height, s.width, s.out_channels, s.kernel_h, s.kernel_w,
      layer.out_height() * layer.out_width(), layer.input_ciphertexts());
  EXPECT_EQ(Must(layer.DecodeOutput(*c.encoder, decrypted)),
            PlainConv(s, layer.out_height(), layer.out_width(), x, w, bias));
}

TEST(EncryptedConv2d, CnnFirstLayerShapeRandomWeights) {
  Conv2dShape s;
  s.channels = 1, s.height = 28, s.width = 28, s.out_channels = 16, s.kernel_h = 3, s.kernel_w = 3,
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  std::mt19937_64 rng(90);
  std::vector<int32_t> bias(16);
  for (auto& b : bias) b = static_cast<int32_t>(rng() % 200001) - 100000;
  CheckConv(s, RandomInt8(16 * 9, rng), bias, 91);
}

TEST(EncryptedConv2d, StridedPaddedMultiChannel) {
  Conv2dShape s;
  s.channels = 3, s.height = 9, s.width = 7, s.out_channels = 5, s.kernel_h = 3, s.kernel_w = 2,
  s.stride_h = 2, s.stride_w = 1, s.pad_top = 1, s.pad_left = 0, s.pad_bottom = 0, s.pad_right = 1;
  std::mt19937_64 rng(92);
  std::vector<int32_t> bias(5);
  for (auto& b : bias) b = static_cast<int32_t>(rng() % 2001) - 1000;
  CheckConv(s, RandomInt8(5 * 3 * 3 * 2, rng), bias, 93);
}

TEST(EncryptedConv2d, ShippedCnnFirstConv) {
  Result<Graph> g = veil::testing::ImportShipped("cnn");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const Node* conv = nullptr;
  for (const Node& node : g->nodes) {
    if (node.kind == OpKind::kConv2d) {
      conv = &node;
      break;
    }
  }
  ASSERT_NE(conv, nullptr);
  const Tensor* w = conv->FindParam("weight");
  const Tensor* b = conv->FindParam("bias");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(w->shape().size(), 4u);
  ASSERT_EQ(conv->AttrInt("group", 1), 1);
  const std::vector<int64_t> strides = conv->AttrInts("strides");
  const std::vector<int64_t> pads = conv->AttrInts("pads");
  ASSERT_EQ(strides.size(), 2u);
  ASSERT_EQ(pads.size(), 4u);
  Conv2dShape s;
  s.out_channels = static_cast<size_t>(w->shape()[0]);
  s.channels = static_cast<size_t>(w->shape()[1]);
  s.kernel_h = static_cast<size_t>(w->shape()[2]);
  s.kernel_w = static_cast<size_t>(w->shape()[3]);
  s.height = s.width = 28;  // Fashion-MNIST
  s.stride_h = static_cast<size_t>(strides[0]), s.stride_w = static_cast<size_t>(strides[1]);
  s.pad_top = static_cast<size_t>(pads[0]), s.pad_left = static_cast<size_t>(pads[1]);
  s.pad_bottom = static_cast<size_t>(pads[2]), s.pad_right = static_cast<size_t>(pads[3]);
  CheckConv(s, std::vector<int8_t>(w->i8().begin(), w->i8().end()),
            std::vector<int32_t>(b->i32().begin(), b->i32().end()), 94);
}

TEST(EncryptedConv2d, Refusals) {
  Client& c = GetClient(ParamSet::kN8192);
  Conv2dShape s;
  s.channels = 1, s.height = 4, s.width = 4, s.out_channels = 2, s.kernel_h = 3, s.kernel_w = 3;
  const std::vector<int8_t> w(18, 1);
  const std::vector<int32_t> bias(2, 0);
  auto make = [&](const Conv2dShape& shape, size_t weights) {
    std::vector<int8_t> ws(weights, 1);
    return EncryptedConv2dLayer::Create(c.ctx, shape, std::span<const int8_t>(ws),
                                        std::span<const int32_t>(bias));
  };
  ASSERT_TRUE(make(s, 18).ok());
  EXPECT_FALSE(make(s, 17).ok());  // weight size
  Conv2dShape bad = s;
  bad.stride_h = 0;
  EXPECT_FALSE(make(bad, 18).ok());
  bad = s;
  bad.pad_left = 3;  // pad >= kernel
  EXPECT_FALSE(make(bad, 18).ok());
  bad = s;
  bad.height = 2;  // kernel taller than the (unpadded) input
  EXPECT_FALSE(make(bad, 18).ok());
  const EncryptedConv2dLayer layer = Must(make(s, 18));
  EXPECT_FALSE(layer.EncodeInput(*c.encoder, std::vector<int8_t>(15)).ok());  // input size
  const GaloisKeys& gk = c.Keys(layer.RequiredGaloisSteps());
  EXPECT_FALSE(layer.Evaluate(*c.eval, {}, gk).ok());     // ciphertext count
  EXPECT_FALSE(layer.DecodeOutput(*c.encoder, {}).ok());  // result count
}
#else
// Built into he_linear_slow_test (ctest label "slow": minutes under the sanitizers).
TEST(EncryptedLinearSlow, N16384Mlp1) {
  CheckRandomLayer(ParamSet::kN16384, 256, 784, 12, 42);  // 6 blocks of 1279 per 8192-slot row
}
TEST(EncryptedLinearSlow, Square1024) {
  CheckRandomLayer(ParamSet::kN8192, 1024, 1024, 4, 43);  // the benchmark's shape, 4 vectors
}
#endif

}  // namespace
}  // namespace veil::he
