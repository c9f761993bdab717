// Accuracy and cost of the non-interactive CKKS mode on the shipped polynomial-activation
// MLP (models/polymlp): Fashion-MNIST test images are packed batch_capacity() to a
// ciphertext, encrypted by the key holder (seeded symmetric encryption: half the upload),
// evaluated as two segments (node A: layers [0, 2) = Dense + activation; node B: layer
// [2, 3) = Dense), each on a ciphertext that went through serialization and with keys
// received serialized, and decrypted. Reported: accuracy of the encrypted run, of the
// plaintext double evaluation of the same model, of veil's integer import of the ONNX
// (`veil run`) and of the float model (PyTorch, from meta.json), the agreement of the
// encrypted and plain predictions, the largest logit error, and the CPU time per phase
// (one thread; CLOCK_THREAD_CPUTIME_ID).
//
// Usage: veil_bench_he_ckks_network [--images N] [--first I] [--model DIR] [--set 8192|16384]
// (run from the repository root; defaults: 10000 images from 0, models/polymlp, N8192).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "veil/fashion_mnist.h"
#include "veil/he/ckks_network.h"
#include "veil/he/ckks_network_onnx.h"
#include "veil/he/serialize.h"
#include "veil/npy.h"
#include "veil/onnx_import.h"
#include "veil/quantization.h"
#include "veil/session.h"

namespace veil::he {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// CPU time of this thread (the machine is shared; wall time is reported for the total only).
struct Clock {
  using time_point = double;
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }
};
double Since(double t) { return Clock::now() - t; }

// Top-1 accuracy of veil's integer graph (`veil import` + `veil run`) on the same images.
size_t IntegerCorrect(const std::string& model, const std::string& name, const FashionMnist& data,
                      size_t first, size_t images, double mean, double stdev) {
  ImportOptions options;
  options.model_name = name;
  const NpyArray calib = Must(ReadNpy(model + "/calibration.npy"));
  CalibrationInput in;
  in.shape = calib.shape;
  in.floats = Must(calib.ToFloat32());
  options.calibration.push_back(std::move(in));
  const Graph g = Must(ImportOnnxFile(model + "/" + name + ".onnx", options));
  auto session = Must(Session::Create(g, SessionOptions{}));
  const Value& input = g.values[g.inputs[0]];
  size_t correct = 0;
  for (size_t base = first; base < first + images; base += 500) {
    const size_t count = std::min<size_t>(500, first + images - base);
    std::vector<float> x(count * 784);
    for (size_t b = 0; b < count; ++b) {
      const auto img = data.image(static_cast<int64_t>(base + b));
      for (size_t j = 0; j < 784; ++j)
        x[b * 784 + j] = (static_cast<float>(img[j]) / 255.0f - static_cast<float>(mean)) /
                         static_cast<float>(stdev);
    }
    const Tensor q = QuantizeInput(input, {static_cast<int64_t>(count), 1, 28, 28}, x);
    const std::vector<Tensor> out = Must(session->Run({q}));
    const int64_t classes = out[0].dim(1);
    for (size_t b = 0; b < count; ++b) {
      const int8_t* row = out[0].i8().data() + static_cast<int64_t>(b) * classes;
      correct +=
          static_cast<size_t>(std::max_element(row, row + classes) - row) == data.labels[base + b];
    }
  }
  return correct;
}

size_t ArgMax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

int Run(int argc, char** argv) {
  size_t images = 10000, first = 0;
  std::string model = "models/polymlp";
  CkksParamSet set = CkksParamSet::kN8192;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--images") {
      images = std::stoul(next());
    } else if (a == "--first") {
      first = std::stoul(next());
    } else if (a == "--model") {
      model = next();
    } else if (a == "--set") {
      const std::string s = next();
      if (s != "8192" && s != "16384") {
        std::fprintf(stderr, "--set 8192 or 16384\n");
        return 2;
      }
      set = s == "8192" ? CkksParamSet::kN8192 : CkksParamSet::kN16384;
    } else {
      std::fprintf(stderr, "usage: %s [--images N] [--first I] [--model DIR] [--set 8192|16384]\n",
                   argv[0]);
      return 2;
    }
  }
  const std::string name = model.substr(model.find_last_of('/') + 1);
  std::ifstream meta_in(model + "/meta.json");
  if (!meta_in) {
    std::fprintf(stderr, "cannot open %s/meta.json (run from the repository root)\n",
                 model.c_str());
    return 1;
  }
  const nlohmann::json meta = nlohmann::json::parse(meta_in);
  const double mean = meta["input_mean"].get<double>(), stdev = meta["input_std"].get<double>();
  const CkksNetworkSpec spec = Must(LoadCkksNetworkSpecFromOnnx(model + "/" + name + ".onnx"));
  const FashionMnist data = Must(LoadFashionMnist(kFashionMnistDebianDir, true));
  if (first >= static_cast<size_t>(data.count)) return 2;
  images = std::min(images, static_cast<size_t>(data.count) - first);

  // Key holder.
  auto ctx = Must(Context::Create(Must(CkksStandardParameters(set))));
  auto net = Must(CkksNetwork::Create(ctx, spec));
  const KeyGenerator gen = Must(KeyGenerator::Create(ctx));
  const CkksEncoder encoder = Must(CkksEncoder::Create(ctx));
  const CkksEncryptor enc = Must(CkksEncryptor::Create(ctx, gen.secret_key()));
  const CkksDecryptor dec = Must(CkksDecryptor::Create(ctx, gen.secret_key()));
  const size_t layers = spec.layers.size();
  std::vector<std::pair<size_t, size_t>> segments;
  if (layers >= 3) {
    segments = {{0, layers - 1}, {layers - 1, layers}};
  } else {
    segments = {{0, layers}};
  }
  // Nodes: keys for their own segment only, received serialized.
  struct Node {
    std::unique_ptr<CkksSegment> seg;
    GaloisKeys gk;
    std::optional<RelinKeys> rk;
    size_t key_bytes = 0;
  };
  std::vector<Node> nodes;
  auto t_setup = Clock::now();
  for (auto [a, b] : segments) {
    Node n;
    const auto gk_bytes = Must(SerializeGaloisKeys(
        *ctx, Must(gen.CreateGaloisKeysForSteps(Must(net->RequiredGaloisSteps(a, b)), false))));
    n.gk = Must(DeserializeGaloisKeys(*ctx, gk_bytes));
    n.key_bytes = gk_bytes.size();
    if (Must(net->NeedsRelinKeys(a, b))) {
      const auto rk_bytes = Must(SerializeRelinKeys(*ctx, Must(gen.CreateRelinKeys())));
      n.rk = Must(DeserializeRelinKeys(*ctx, rk_bytes));
      n.key_bytes += rk_bytes.size();
    }
    n.seg = std::make_unique<CkksSegment>(Must(CkksSegment::Create(net, a, b)));
    nodes.push_back(std::move(n));
  }
  const double setup_ms = Since(t_setup);
  const CkksEvaluator ev = Must(CkksEvaluator::Create(ctx));

  const size_t cap = net->batch_capacity();
  size_t correct_enc = 0, correct_plain = 0, agree = 0, ciphertexts = 0;
  double max_err = 0, enc_ms = 0, dec_ms = 0;
  std::vector<double> seg_ms(nodes.size(), 0.0);
  size_t upload_bytes = 0, hop_bytes = 0, result_bytes = 0;
  const auto t_all = Clock::now();
  const auto wall_all = std::chrono::steady_clock::now();
  for (size_t base = first; base < first + images; base += cap) {
    const size_t count = std::min(cap, first + images - base);
    std::vector<std::vector<double>> xs(count);
    for (size_t b = 0; b < count; ++b) {
      const auto img = data.image(static_cast<int64_t>(base + b));
      xs[b].resize(img.size());
      for (size_t j = 0; j < img.size(); ++j)
        xs[b][j] = (static_cast<float>(img[j]) / 255.0f - static_cast<float>(mean)) /
                   static_cast<float>(stdev);
    }
    auto t = Clock::now();
    std::vector<uint8_t> wire = Must(SerializeCkksCiphertext(
        *ctx, Must(enc.EncryptSymmetric(Must(net->EncodeInputs(encoder, xs))))));
    enc_ms += Since(t);
    upload_bytes = wire.size();
    for (size_t i = 0; i < nodes.size(); ++i) {
      t = Clock::now();
      const CkksCiphertext in = Must(DeserializeCkksCiphertext(*ctx, wire));
      const CkksCiphertext out =
          Must(nodes[i].seg->Evaluate(ev, in, nodes[i].rk ? &*nodes[i].rk : nullptr, nodes[i].gk));
      wire = Must(SerializeCkksCiphertext(*ctx, out));
      seg_ms[i] += Since(t);
      if (i + 1 < nodes.size()) hop_bytes = wire.size();
    }
    result_bytes = wire.size();
    t = Clock::now();
    const auto logits = Must(net->DecodeOutputs(
        encoder, Must(dec.Decrypt(Must(DeserializeCkksCiphertext(*ctx, wire)))), count));
    dec_ms += Since(t);
    for (size_t b = 0; b < count; ++b) {
      const std::vector<double> want = Must(EvaluateSpecPlain(spec, xs[b]));
      for (size_t j = 0; j < want.size(); ++j)
        max_err = std::max(max_err, std::fabs(logits[b][j] - want[j]));
      const size_t label = data.labels[base + b];
      correct_enc += ArgMax(logits[b]) == label;
      correct_plain += ArgMax(want) == label;
      agree += ArgMax(logits[b]) == ArgMax(want);
    }
    ++ciphertexts;
  }
  const double total_ms = Since(t_all);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_all)
          .count();
  const double n = static_cast<double>(images);
  std::printf("model %s (%s), %s, %zu images [%zu, %zu), %zu per ciphertext, %zu ciphertexts\n",
              name.c_str(), meta["architecture"].get<std::string>().c_str(), CkksParamSetName(set),
              images, first, first + images, cap, ciphertexts);
  std::printf(
      "accuracy: CKKS encrypted %.2f%% (%zu), plain double %.2f%% (%zu), float model %.2f%% (all "
      "10000, "
      "meta.json)\n",
      100.0 * static_cast<double>(correct_enc) / n, correct_enc,
      100.0 * static_cast<double>(correct_plain) / n, correct_plain,
      100.0 * meta["float_test_accuracy"].get<double>());
  const size_t correct_int = IntegerCorrect(model, name, data, first, images, mean, stdev);
  std::printf("veil run (int8 import, activation as a lookup table) %.2f%% (%zu)\n",
              100.0 * static_cast<double>(correct_int) / n, correct_int);
  std::printf("encrypted vs plain: same class %zu/%zu, max |logit error| %.3g (2^%.1f)\n", agree,
              images, max_err, std::log2(max_err));
  for (size_t i = 0; i < nodes.size(); ++i)
    std::printf(
        "segment [%zu, %zu): %.1f ms per ciphertext (%zu rotations, %zu products), keys %.1f MB\n",
        segments[i].first, segments[i].second, seg_ms[i] / static_cast<double>(ciphertexts),
        nodes[i].seg->rotations_per_evaluation(), nodes[i].seg->plain_products(),
        static_cast<double>(nodes[i].key_bytes) / 1e6);
  std::printf(
      "key holder: encode+encrypt+serialize %.1f ms, decrypt+decode %.1f ms per ciphertext\n",
      enc_ms / static_cast<double>(ciphertexts), dec_ms / static_cast<double>(ciphertexts));
  std::printf("bytes: upload %zu, between segments %zu, result %zu per ciphertext\n", upload_bytes,
              hop_bytes, result_bytes);
  std::printf(
      "setup (keys + segment plaintexts) %.0f ms; total %.1f s CPU (%.1f s wall), %.1f ms CPU per "
      "image\n",
      setup_ms, total_ms / 1000.0, wall_ms / 1000.0, total_ms / n);
  return 0;
}

}  // namespace
}  // namespace veil::he

int main(int argc, char** argv) { return veil::he::Run(argc, argv); }
