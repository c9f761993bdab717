// CKKS networks (veil/he/ckks_network.h): the shipped polynomial-activation MLP loaded from
// ONNX, evaluated encrypted as two segments with only public keys crossing a serialization
// boundary, against the plaintext double evaluation of the same model; random networks with
// expanding and contracting layers; refusals.
#include "veil/he/ckks_network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "../onnx/shipped_models.h"
#include "veil/he/ckks_network_onnx.h"
#include "veil/he/serialize.h"
#include "veil/onnx_import.h"

namespace veil::he {
namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

// Stated bound (docs/he.md, "CKKS network"): max |encrypted − plain| over the logits of the
// shipped model at N8192 (measured 2^-23 over 40 images in the bench; 7 bits of margin).
const double kLogitBound = std::ldexp(1.0, -16);

std::string PolyMlpPath() { return veil::testing::ModelDir("polymlp") + "/polymlp.onnx"; }

nlohmann::json PolyMlpMeta() {
  std::ifstream in(veil::testing::ModelDir("polymlp") + "/meta.json");
  return nlohmann::json::parse(in);
}

size_t ArgMax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

struct Client {  // the key holder
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> gen;
  std::unique_ptr<CkksEncoder> encoder;
  std::unique_ptr<CkksEncryptor> enc;
  std::unique_ptr<CkksDecryptor> dec;
};

Client MakeClient(CkksParamSet set) {
  Client c;
  c.ctx = Must(Context::Create(Must(CkksStandardParameters(set))));
  c.gen = std::make_unique<KeyGenerator>(Must(KeyGenerator::Create(c.ctx)));
  c.encoder = std::make_unique<CkksEncoder>(Must(CkksEncoder::Create(c.ctx)));
  const PublicKey pk = Must(c.gen->CreatePublicKey());
  c.enc = std::make_unique<CkksEncryptor>(Must(CkksEncryptor::Create(c.ctx, pk)));
  c.dec = std::make_unique<CkksDecryptor>(Must(CkksDecryptor::Create(c.ctx, c.gen->secret_key())));
  return c;
}

TEST(CkksNetwork, LoadsShippedPolyMlpAndPlainMatchesFloatModel) {
  const CkksNetworkSpec spec = Must(LoadCkksNetworkSpecFromOnnx(PolyMlpPath()));
  ASSERT_EQ(spec.input_size, 784u);
  ASSERT_EQ(spec.layers.size(), 3u);
  EXPECT_EQ(spec.layers[0].kind, CkksLayerSpec::Kind::kDense);
  EXPECT_EQ(spec.layers[0].out, 128u);
  ASSERT_EQ(spec.layers[1].kind, CkksLayerSpec::Kind::kPoly);
  EXPECT_EQ(spec.layers[2].kind, CkksLayerSpec::Kind::kDense);
  EXPECT_EQ(spec.layers[2].out, 10u);
  const nlohmann::json meta = PolyMlpMeta();
  EXPECT_NEAR(spec.layers[1].c0, 0.0, 1e-6);
  EXPECT_NEAR(spec.layers[1].c1, meta["activation"]["b"].get<double>(), 1e-5);
  EXPECT_NEAR(spec.layers[1].c2, meta["activation"]["a"].get<double>(), 1e-5);
  // The double-precision plain evaluation predicts what PyTorch predicted (meta.json).
  auto batch = Must(veil::testing::FashionTestImages("polymlp", 0, 16));
  const auto want = meta["reference"]["predictions"].get<std::vector<size_t>>();
  const auto logits0 = meta["reference"]["logits_image0"].get<std::vector<double>>();
  for (int i = 0; i < 16; ++i) {
    std::vector<double> x(batch.floats.begin() + i * 784, batch.floats.begin() + (i + 1) * 784);
    const std::vector<double> y = Must(EvaluateSpecPlain(spec, x));
    EXPECT_EQ(ArgMax(y), want[static_cast<size_t>(i)]) << "image " << i;
    if (i == 0) {
      for (size_t j = 0; j < 10; ++j) EXPECT_NEAR(y[j], logits0[j], 1e-3);
    }
  }
}

TEST(CkksNetwork, ShippedPolyMlpEncryptedInTwoSegmentsMatchesPlain) {
  const CkksNetworkSpec spec = Must(LoadCkksNetworkSpecFromOnnx(PolyMlpPath()));
  Client client = MakeClient(CkksParamSet::kN8192);
  auto net = Must(CkksNetwork::Create(client.ctx, spec));
  ASSERT_EQ(net->batch_capacity(), 4u);
  // Node A: layers [0, 2) (Dense + activation); node B: layer [2, 3). Each node receives only
  // serialized public evaluation keys for its own segment.
  const std::vector<std::pair<size_t, size_t>> segments = {{0, 2}, {2, 3}};
  auto batch = Must(veil::testing::FashionTestImages("polymlp", 0, 4));
  std::vector<std::vector<double>> xs;
  for (int i = 0; i < 4; ++i)
    xs.emplace_back(batch.floats.begin() + i * 784, batch.floats.begin() + (i + 1) * 784);
  const CkksPlaintext pt = Must(net->EncodeInputs(*client.encoder, xs));
  std::vector<uint8_t> wire =
      Must(SerializeCkksCiphertext(*client.ctx, Must(client.enc->Encrypt(pt))));
  for (auto [first, last] : segments) {
    const std::vector<int> steps = Must(net->RequiredGaloisSteps(first, last));
    const std::vector<uint8_t> gk_bytes = Must(
        SerializeGaloisKeys(*client.ctx, Must(client.gen->CreateGaloisKeysForSteps(steps, false))));
    std::vector<uint8_t> rk_bytes;
    if (Must(net->NeedsRelinKeys(first, last)))
      rk_bytes = Must(SerializeRelinKeys(*client.ctx, Must(client.gen->CreateRelinKeys())));
    // --- node side: its own context, network and segment; public keys only.
    auto node_ctx = Must(Context::Create(Must(CkksStandardParameters(CkksParamSet::kN8192))));
    auto node_net = Must(CkksNetwork::Create(node_ctx, spec));
    const CkksSegment seg = Must(CkksSegment::Create(node_net, first, last));
    const GaloisKeys gk = Must(DeserializeGaloisKeys(*node_ctx, gk_bytes));
    std::optional<RelinKeys> rk;
    if (!rk_bytes.empty()) rk = Must(DeserializeRelinKeys(*node_ctx, rk_bytes));
    const CkksEvaluator ev = Must(CkksEvaluator::Create(node_ctx));
    const CkksCiphertext in = Must(DeserializeCkksCiphertext(*node_ctx, wire));
    const CkksCiphertext out = Must(seg.Evaluate(ev, in, rk ? &*rk : nullptr, gk));
    EXPECT_EQ(out.limbs(), seg.output_limbs());
    wire = Must(SerializeCkksCiphertext(*node_ctx, out));
  }
  const CkksCiphertext result = Must(DeserializeCkksCiphertext(*client.ctx, wire));
  const auto logits =
      Must(net->DecodeOutputs(*client.encoder, Must(client.dec->Decrypt(result)), 4));
  for (size_t b = 0; b < 4; ++b) {
    const std::vector<double> want = Must(EvaluateSpecPlain(spec, xs[b]));
    double err = 0;
    for (size_t j = 0; j < 10; ++j) err = std::max(err, std::fabs(logits[b][j] - want[j]));
    EXPECT_LT(err, kLogitBound) << "image " << b;
    EXPECT_EQ(ArgMax(logits[b]), ArgMax(want)) << "image " << b;
  }
}

CkksLayerSpec RandomDense(size_t in, size_t out, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  CkksLayerSpec d;
  d.in = in;
  d.out = out;
  d.weight.resize(in * out);
  d.bias.resize(out);
  const double s = 1.0 / std::sqrt(static_cast<double>(in));
  for (double& w : d.weight) w = s * u(rng);
  for (double& b : d.bias) b = 0.5 * u(rng);
  return d;
}

CkksLayerSpec Poly(double c0, double c1, double c2) {
  CkksLayerSpec p;
  p.kind = CkksLayerSpec::Kind::kPoly;
  p.c0 = c0;
  p.c1 = c1;
  p.c2 = c2;
  return p;
}

// 20 -> 7 (contracting, folds), poly with a constant term, 7 -> 33 (expanding), poly, 33 -> 5,
// at N16384 (depth 5); a full batch of random inputs; the whole network as one segment and
// as three.
TEST(CkksNetwork, RandomDeepNetworkMatchesPlain) {
  std::mt19937_64 rng(7);
  CkksNetworkSpec spec;
  spec.input_size = 20;
  spec.layers = {RandomDense(20, 7, rng), Poly(0.25, 0.5, 0.125), RandomDense(7, 33, rng),
                 Poly(-0.1, 1.0, -0.3), RandomDense(33, 5, rng)};
  Client client = MakeClient(CkksParamSet::kN16384);
  auto net = Must(CkksNetwork::Create(client.ctx, spec));
  EXPECT_EQ(net->width(), 64u);
  const size_t batch = net->batch_capacity();
  EXPECT_EQ(batch, 128u);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<std::vector<double>> xs(batch, std::vector<double>(20));
  for (auto& x : xs)
    for (double& v : x) v = u(rng);
  const RelinKeys rk = Must(client.gen->CreateRelinKeys());
  const GaloisKeys gk = Must(client.gen->CreateGaloisKeysForSteps(
      Must(net->RequiredGaloisSteps(0, spec.layers.size())), false));
  const CkksEvaluator ev = Must(CkksEvaluator::Create(client.ctx));
  const CkksCiphertext in = Must(client.enc->Encrypt(Must(net->EncodeInputs(*client.encoder, xs))));
  for (const std::vector<size_t>& cuts :
       {std::vector<size_t>{0, 5}, std::vector<size_t>{0, 1, 4, 5}}) {
    CkksCiphertext ct = in;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const CkksSegment seg = Must(CkksSegment::Create(net, cuts[i], cuts[i + 1]));
      ct = Must(seg.Evaluate(ev, ct, &rk, gk));
    }
    const auto out =
        Must(net->DecodeOutputs(*client.encoder, Must(client.dec->Decrypt(ct)), batch));
    double err = 0;
    for (size_t b = 0; b < batch; ++b) {
      const std::vector<double> want = Must(EvaluateSpecPlain(spec, xs[b]));
      for (size_t j = 0; j < 5; ++j) err = std::max(err, std::fabs(out[b][j] - want[j]));
    }
    EXPECT_LT(err, std::ldexp(1.0, -12)) << cuts.size() - 1 << " segment(s)";
  }
}

TEST(CkksNetwork, Refusals) {
  std::mt19937_64 rng(3);
  Client client = MakeClient(CkksParamSet::kN8192);
  CkksNetworkSpec good;
  good.input_size = 8;
  good.layers = {RandomDense(8, 4, rng), Poly(0, 1, 1), RandomDense(4, 2, rng)};
  auto expect_refused = [&](CkksNetworkSpec s, const char* what) {
    auto r = CkksNetwork::Create(client.ctx, s);
    EXPECT_FALSE(r.ok()) << what;
  };
  {
    CkksNetworkSpec s = good;
    s.layers.pop_back();
    expect_refused(s, "ends with a Poly");
  }
  {
    CkksNetworkSpec s = good;
    s.layers[1].c2 = 0;
    expect_refused(s, "c2 = 0");
  }
  {
    CkksNetworkSpec s = good;
    s.layers[2].in = 5;
    expect_refused(s, "sizes do not chain");
  }
  {
    CkksNetworkSpec s = good;
    s.layers[0].weight[3] = NAN;
    expect_refused(s, "NaN weight");
  }
  {
    CkksNetworkSpec s = good;
    s.layers[0].bias.pop_back();
    expect_refused(s, "short bias");
  }
  {
    CkksNetworkSpec s = good;  // depth 5 > 3 rescalings of N8192
    s.layers.push_back(Poly(0, 0, 1));
    s.layers.push_back(RandomDense(2, 2, rng));
    expect_refused(s, "too deep for N8192");
  }
  {
    CkksNetworkSpec s;
    s.input_size = 5000;  // 8192 > 4096 slots
    s.layers = {RandomDense(5000, 2, rng)};
    expect_refused(s, "wider than a row");
  }
  auto bfv_ctx = Must(Context::Create(Must(StandardParameters(ParamSet::kN8192))));
  EXPECT_FALSE(CkksNetwork::Create(bfv_ctx, good).ok());

  auto net = Must(CkksNetwork::Create(client.ctx, good));
  EXPECT_FALSE(CkksSegment::Create(net, 1, 1).ok());
  EXPECT_FALSE(CkksSegment::Create(net, 0, 4).ok());
  EXPECT_FALSE(net->RequiredGaloisSteps(2, 1).ok());
  EXPECT_FALSE(net->EncodeInputs(*client.encoder, {}).ok());
  EXPECT_FALSE(net->EncodeInputs(*client.encoder, {std::vector<double>(7)}).ok());
  EXPECT_FALSE(
      net->EncodeInputs(*client.encoder, std::vector<std::vector<double>>(net->batch_capacity() + 1,
                                                                          std::vector<double>(8)))
          .ok());
  const std::vector<std::vector<double>> xs = {std::vector<double>(8, 0.5)};
  const CkksCiphertext in = Must(client.enc->Encrypt(Must(net->EncodeInputs(*client.encoder, xs))));
  const CkksEvaluator ev = Must(CkksEvaluator::Create(client.ctx));
  const RelinKeys rk = Must(client.gen->CreateRelinKeys());
  const GaloisKeys gk =
      Must(client.gen->CreateGaloisKeysForSteps(Must(net->RequiredGaloisSteps(0, 3)), false));
  const CkksSegment all = Must(CkksSegment::Create(net, 0, 3));
  const CkksSegment tail = Must(CkksSegment::Create(net, 1, 3));
  EXPECT_FALSE(all.Evaluate(ev, in, nullptr, gk).ok()) << "missing relinearization keys";
  EXPECT_FALSE(tail.Evaluate(ev, in, &rk, gk).ok()) << "input at the wrong level";
  const GaloisKeys no_keys = Must(client.gen->CreateGaloisKeysForSteps({1}, false));
  EXPECT_FALSE(all.Evaluate(ev, in, &rk, no_keys).ok()) << "missing Galois keys";
  CkksCiphertext size3 = Must(ev.Multiply(in, in));
  EXPECT_FALSE(all.Evaluate(ev, size3, &rk, gk).ok()) << "size-3 input";
  // And the happy path of the same objects works.
  const CkksCiphertext out = Must(all.Evaluate(ev, in, &rk, gk));
  const auto got = Must(net->DecodeOutputs(*client.encoder, Must(client.dec->Decrypt(out)), 1));
  const std::vector<double> want = Must(EvaluateSpecPlain(good, xs[0]));
  for (size_t j = 0; j < 2; ++j) EXPECT_NEAR(got[0][j], want[j], std::ldexp(1.0, -12));
  EXPECT_FALSE(net->DecodeOutputs(*client.encoder, Must(client.dec->Decrypt(in)), 1).ok())
      << "not the final level";
  EXPECT_FALSE(LoadCkksNetworkSpecFromOnnx("/nonexistent.onnx").ok());
  // The ReLU MLP is refused: its activation is not a polynomial.
  auto relu = LoadCkksNetworkSpecFromOnnx(veil::testing::ModelDir("mlp") + "/mlp.onnx");
  EXPECT_FALSE(relu.ok());
}

// veil's integer importer accepts the model too (the activation becomes a lookup table), so
// `veil import` / `veil run` work on it.
TEST(CkksNetwork, IntegerImporterAcceptsPolyMlp) {
  auto g = veil::testing::ImportShipped("polymlp");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
}

}  // namespace
}  // namespace veil::he
