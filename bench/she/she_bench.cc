// End-to-end SHE exact mode (BFV) on loopback: the shipped MLP and CNN through two `veil
// node` processes, against plaintext inference in the same run (Session::Run, i.e. `veil
// run`, and U-shaped split inference through the same nodes). Prints per-request latency
// (median of --runs, batch --batch), bytes per request, the one-time key setup, and the
// ratios. Then the non-interactive CKKS mode: models/polymlp as layers [0, 2) and [2, 3) on
// two `veil node --ckks-model` processes, the client relaying the encrypted result between
// them: end-to-end latency of one request (one ciphertext = 4 images, median of --runs), the
// bytes moved, the one-time keys, and the accuracy over --ckks-images test images against
// the plain (double) model and the float model's recorded accuracy.
//
//   veil_bench_she --veil build-she/src/cli/veil --models out [--runs 10] [--batch 1]
//                  [--ckks-model models/polymlp/polymlp.onnx] [--ckks-images 1000]
//                  [--only bfv|ckks]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "veil/fashion_mnist.h"
#include "veil/model_file.h"
#include "veil/net/split_inference.h"
#include "veil/session.h"
#include "veil/she/ckks_client.h"
#include "veil/she/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using veil::Result;
using veil::Status;

double Ms(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Node {
  pid_t pid = -1;
  std::string address;
  ~Node() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

bool StartVeil(const std::string& veil, std::vector<std::string> args, Node* node) {
  int out[2];
  if (pipe(out) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (freopen("/dev/null", "w", stderr) == nullptr) _exit(126);
    close(out[0]);
    close(out[1]);
    args.insert(args.begin(), "veil");
    for (const char* a : {"--insecure", "--listen", "127.0.0.1:0"}) args.emplace_back(a);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(veil.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  node->pid = pid;
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  const std::string prefix = "listening on ";
  if (line.rfind(prefix, 0) != 0) return false;
  node->address = line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
  return true;
}

bool StartNode(const std::string& veil, const std::string& model, const std::string& segs,
               Node* node) {
  return StartVeil(veil, {"node", "--model", model, "--segments", segs}, node);
}

int Fail(const Status& s) {
  std::cerr << "error: " << s.ToString() << "\n";
  return 1;
}

int Bench(const std::string& veil, const std::string& model_path, const std::string& segs_a,
          const std::string& segs_b, int runs, int64_t batch, const std::string& params) {
  auto graph = veil::LoadModel(model_path);
  if (!graph.ok()) return Fail(graph.status());
  const auto segments = graph->EffectiveSegments();
  Node a, b;
  if (!StartNode(veil, model_path, segs_a, &a) || !StartNode(veil, model_path, segs_b, &b))
    return Fail(Status::Unavailable("could not start the node processes"));
  veil::net::Route she_route;
  for (const auto& [segs, node] : {std::pair{segs_a, &a}, std::pair{segs_b, &b}})
    for (size_t p = 0; p < segs.size(); p += 2) she_route[segs[p] - '0'].push_back(node->address);
  veil::net::Route split_route;
  for (int s = 1; s + 1 < static_cast<int>(segments.size()); ++s) split_route[s] = she_route.at(s);

  // Deterministic int8 inputs in the activation range.
  const veil::Value& in = graph->values[static_cast<size_t>(graph->inputs[0])];
  veil::Shape shape = {batch};
  for (int64_t d : in.shape) shape.push_back(d);
  veil::Tensor x(veil::DType::kInt8, shape);
  std::mt19937 rng(7);
  for (int8_t& v : x.i8()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);

  auto session = veil::Session::Create(*graph);
  if (!session.ok()) return Fail(session.status());
  std::vector<double> local_ms, split_ms, she_ms;
  veil::Tensor expected;
  for (int r = 0; r < runs + 1; ++r) {
    const auto t = Clock::now();
    auto out = (*session)->Run({x});
    if (!out.ok()) return Fail(out.status());
    if (r > 0) local_ms.push_back(Ms(t));
    expected = (*out)[0];
  }
  veil::net::SplitOptions split_options;
  auto split = veil::net::SplitRunner::Create(*graph, split_route, split_options);
  if (!split.ok()) return Fail(split.status());
  for (int r = 0; r < runs + 1; ++r) {
    const auto t = Clock::now();
    auto out = (*split)->Run({x});
    if (!out.ok()) return Fail(out.status());
    if (r > 0) split_ms.push_back(Ms(t));
  }

  veil::she::SheOptions options;
  auto p = veil::she::ParseSheParams(params);
  if (!p.ok()) return Fail(p.status());
  options.params = *p;
  options.client.security = veil::net::LinkSecurity::Insecure();
  const auto setup = Clock::now();
  auto runner = veil::she::SheRunner::Create(*graph, she_route, options);
  if (!runner.ok()) return Fail(runner.status());
  if (Status s = (*runner)->UploadKeys(); !s.ok()) return Fail(s);
  const double setup_ms = Ms(setup);
  uint64_t key_bytes = 0;
  size_t key_count = 0;
  for (const auto& u : (*runner)->key_uploads()) key_bytes += u.bytes, key_count += u.galois_keys;
  veil::she::SheResult last;
  for (int r = 0; r < runs + 1; ++r) {
    const auto t = Clock::now();
    auto out = (*runner)->Run({x});
    if (!out.ok()) return Fail(out.status());
    if (r > 0) she_ms.push_back(Ms(t));
    if (out->outputs[0].i8().size() != expected.i8().size() ||
        !std::equal(out->outputs[0].i8().begin(), out->outputs[0].i8().end(),
                    expected.i8().begin()))
      return Fail(Status::Internal("SHE output differs from Session::Run"));
    last = std::move(out).value();
  }
  const double local = Median(local_ms), sp = Median(split_ms), she = Median(she_ms);
  std::printf("%s  batch %lld  params %s  (%d runs, medians; nodes %s | %s)\n", graph->name.c_str(),
              static_cast<long long>(batch), params.c_str(), runs, segs_a.c_str(), segs_b.c_str());
  std::printf("  plaintext Session::Run (veil run) %10.3f ms\n", local);
  std::printf("  split inference (loopback)        %10.3f ms\n", sp);
  std::printf("  SHE exact mode (loopback)         %10.3f ms   = %.0fx split, %.0fx veil run\n",
              she, she / sp, she / local);
  std::printf(
      "  SHE per request: %zu encrypted layers (round trips), upload %.3f MB "
      "(largest request %.3f MB), download %.3f MB; bit-identical: yes\n",
      last.steps.size(), last.upload_bytes / 1e6, last.max_request_bytes / 1e6,
      last.download_bytes / 1e6);
  for (const auto& s : last.steps)
    std::printf("    node %2d (segment %d): up %8.3f MB  down %8.3f MB  %8.2f ms\n", s.node_index,
                s.segment_index, s.upload_bytes / 1e6, s.download_bytes / 1e6, s.ms);
  std::printf(
      "  one-time setup: keygen + upload of %zu Galois keys (%.1f MB) to %zu node key "
      "sets %.0f ms\n\n",
      key_count, key_bytes / 1e6, (*runner)->key_uploads().size(), setup_ms);
  return 0;
}

int BenchCkks(const std::string& veil, const std::string& onnx, int runs, int64_t images,
              const std::string& params) {
  auto spec = veil::she::LoadCkksModel(onnx);
  if (!spec.ok()) return Fail(spec.status());
  const std::string meta_path = onnx.substr(0, onnx.find_last_of('/') + 1) + "meta.json";
  std::ifstream meta_in(meta_path);
  if (!meta_in) return Fail(Status::NotFound(meta_path));
  const nlohmann::json meta = nlohmann::json::parse(meta_in);
  const double mean = meta["input_mean"].get<double>(), stdev = meta["input_std"].get<double>();
  auto data = veil::LoadFashionMnist(veil::kFashionMnistDebianDir, true);
  if (!data.ok()) return Fail(data.status());
  images = std::min<int64_t>(images, data->count);
  std::vector<std::vector<double>> xs;
  for (int64_t i = 0; i < images; ++i) {
    const auto img = data->image(i);
    std::vector<double> x(img.size());
    for (size_t j = 0; j < img.size(); ++j)
      x[j] = (static_cast<float>(img[j]) / 255.0f - static_cast<float>(mean)) /
             static_cast<float>(stdev);
    xs.push_back(std::move(x));
  }
  Node a, b;
  if (!StartVeil(veil, {"node", "--ckks-model", onnx, "--ckks-layers", "0:2"}, &a) ||
      !StartVeil(veil, {"node", "--ckks-model", onnx, "--ckks-layers", "2:3"}, &b))
    return Fail(Status::Unavailable("could not start the CKKS node processes"));
  veil::she::CkksSheOptions options;
  auto p = veil::she::ParseSheParams(params);
  if (!p.ok()) return Fail(p.status());
  options.params = *p;
  options.client.security = veil::net::LinkSecurity::Insecure();
  const auto setup = Clock::now();
  auto runner =
      veil::she::CkksSheRunner::Create(*spec, {{0, 2, {a.address}}, {2, 3, {b.address}}}, options);
  if (!runner.ok()) return Fail(runner.status());
  if (Status s = (*runner)->UploadKeys(); !s.ok()) return Fail(s);
  const double setup_ms = Ms(setup);
  uint64_t key_bytes = 0;
  for (const auto& u : (*runner)->key_uploads()) key_bytes += u.bytes;
  // Latency of one request: one ciphertext of batch_capacity() images, end to end.
  const size_t cap = (*runner)->batch_capacity();
  const std::vector<std::vector<double>> one(xs.begin(), xs.begin() + static_cast<ptrdiff_t>(cap));
  std::vector<double> req_ms;
  veil::she::CkksSheResult last;
  for (int r = 0; r < runs + 1; ++r) {
    const auto t = Clock::now();
    auto out = (*runner)->Run(one);
    if (!out.ok()) return Fail(out.status());
    if (r > 0) req_ms.push_back(Ms(t));
    last = std::move(out).value();
  }
  // Accuracy over all the images (sequential requests of one ciphertext each).
  const auto t_all = Clock::now();
  auto all = (*runner)->Run(xs);
  if (!all.ok()) return Fail(all.status());
  const double all_ms = Ms(t_all);
  size_t agree = 0, correct = 0, plain_correct = 0;
  double max_err = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto plain = veil::he::EvaluateSpecPlain(**spec, xs[i]);
    if (!plain.ok()) return Fail(plain.status());
    const auto& got = all->outputs[i];
    const auto ec = std::max_element(got.begin(), got.end()) - got.begin();
    const auto pc = std::max_element(plain->begin(), plain->end()) - plain->begin();
    agree += ec == pc;
    correct += ec == data->labels[i];
    plain_correct += pc == data->labels[i];
    for (size_t j = 0; j < got.size(); ++j)
      max_err = std::max(max_err, std::abs(got[j] - (*plain)[j]));
  }
  const double n = static_cast<double>(xs.size());
  std::printf(
      "polymlp  SHE non-interactive CKKS (%s), 2 node processes [0,2) | [2,3), %zu images "
      "per ciphertext (%d runs, median)\n",
      params.c_str(), cap, runs);
  std::printf("  one request (one ciphertext, %zu images) end to end      %10.1f ms\n", cap,
              Median(req_ms));
  for (const auto& h : last.hops)
    std::printf(
        "    layers [%zu,%zu) on the node (incl. call):  %8.1f ms  up %.3f MB  down %.3f MB\n",
        h.first, h.last, h.ms, h.upload_bytes / 1e6, h.download_bytes / 1e6);
  std::printf("    key holder: encode+encrypt %.1f ms, decrypt+decode %.1f ms\n", last.encrypt_ms,
              last.decrypt_ms);
  std::printf(
      "  upload per request: fresh ciphertext %.3f MB (seeded), relayed %.3f MB; download "
      "%.3f MB; round trips to the key holder's decryption: 0\n",
      last.input_bytes / 1e6, (last.upload_bytes - last.input_bytes) / 1e6,
      last.download_bytes / 1e6);
  std::printf(
      "  %zu images in %zu requests: %.1f s (%.1f ms per image); same class as the plain "
      "model %zu/%zu, max |logit error| %.3g\n",
      xs.size(), all->ciphertexts, all_ms / 1e3, all_ms / n, agree, xs.size(), max_err);
  std::printf(
      "  accuracy: CKKS encrypted %.2f%%, plain double %.2f%% (same images), float model "
      "%.2f%% (all 10000, meta.json)\n",
      100.0 * static_cast<double>(correct) / n, 100.0 * static_cast<double>(plain_correct) / n,
      100.0 * meta["float_test_accuracy"].get<double>());
  std::printf(
      "  one-time setup: keygen + upload of Galois + relinearization keys (%.1f MB) to 2 "
      "nodes %.0f ms\n\n",
      key_bytes / 1e6, setup_ms);
  return agree == xs.size() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("veil SHE exact-mode benchmark (loopback, two node processes)");
  std::string veil = "build-she/src/cli/veil", models = "out", params = "N8192";
  int runs = 10;
  int64_t batch = 1;
  app.add_option("--veil", veil, "the veil binary (for the node processes)");
  app.add_option("--models", models, "directory with mlp.veil and cnn.veil");
  app.add_option("--runs", runs, "timed runs per mode")->check(CLI::Range(1, 1000));
  app.add_option("--batch", batch, "images per request")->check(CLI::Range(1, 64));
  app.add_option("--params", params, "N8192 or N16384");
  std::string ckks_model = "models/polymlp/polymlp.onnx", only;
  int64_t ckks_images = 1000;
  app.add_option("--ckks-model", ckks_model, "polynomial-activation ONNX for the CKKS mode");
  app.add_option("--ckks-images", ckks_images, "test images for the CKKS accuracy")
      ->check(CLI::Range(4, 10000));
  app.add_option("--only", only, "bfv or ckks (default: both)")
      ->check(CLI::IsMember({"", "bfv", "ckks"}));
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int rc = 0;
  if (only != "ckks") {
    rc |= Bench(veil, models + "/mlp.veil", "1", "2", runs, batch, params);
    rc |= Bench(veil, models + "/cnn.veil", "0,1", "2", runs, batch, params);
  }
  if (only != "bfv") rc |= BenchCkks(veil, ckks_model, runs, ckks_images, params);
  return rc;
}
