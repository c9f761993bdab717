// Weight commitment of a synthetic 100M-parameter model (issue 5 goal: <= 60 s on 2 cores).
//   build-zk/bench/zk/veil_bench_zk_commit [--params N] [--threads T]
// The model is a chain of Linear layers with GPT-2-sized [3072, 768] int8 weights and int32
// biases, random values in [-127, 127]. Prints wall time of zk::CommitModel (generator
// derivation included) and the commitment file size.
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "veil/graph.h"
#include "veil/thread_pool.h"
#include "veil/zk/model_commitment.h"

namespace {

veil::Graph SyntheticModel(int64_t target_params) {
  constexpr int64_t kRows = 3072, kCols = 768;
  veil::Graph g;
  std::mt19937_64 rng(1);
  int x = g.AddValue({"x", veil::DType::kInt8, {kCols}, 1.0});
  g.inputs.push_back(x);
  int64_t params = 0;
  for (int layer = 0; params < target_params; ++layer) {
    const int64_t n = layer % 2 == 0 ? kRows : kCols, k = layer % 2 == 0 ? kCols : kRows;
    std::vector<int8_t> w(static_cast<size_t>(n * k));
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> b(static_cast<size_t>(n));
    for (auto& v : b) v = static_cast<int32_t>(rng() % 20001) - 10000;
    veil::Node node;
    node.kind = veil::OpKind::kLinear;
    node.name = "linear" + std::to_string(layer);
    node.inputs = {x};
    x = g.AddValue({node.name + ".out", veil::DType::kInt8, {n}, 1.0});
    node.outputs = {x};
    node.SetParam("weight", veil::Tensor::FromInt8({n, k}, std::move(w)));
    node.SetParam("bias", veil::Tensor::FromInt32({n}, std::move(b)));
    node.SetParam("multiplier", veil::Tensor::FromInt32({1}, {1 << 30}));
    node.SetParam("shift", veil::Tensor::FromInt32({1}, {40}));
    g.nodes.push_back(std::move(node));
    params += n * k + n;
  }
  g.outputs.push_back(x);
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  int64_t target = 100'000'000;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--params") == 0) target = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
  }
  const veil::Graph g = SyntheticModel(target);
  int64_t params = 0;
  for (const auto& n : g.nodes)
    for (const auto& p : n.params) params += p.tensor.size();
  veil::ThreadPool pool(threads);
  veil::zk::CommitmentSeed seed{};
  randombytes_buf(seed.data(), seed.size());
  const auto start = std::chrono::steady_clock::now();
  const auto cpu_start = std::clock();
  auto c = veil::zk::CommitModel(g, seed, &pool);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  if (!c.ok()) {
    std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
    return 1;
  }
  const size_t bytes = veil::zk::SerializeModelCommitment(*c).size();
  std::printf(
      "params %lld (%zu layers) threads %d: commit wall %.2f s, cpu %.2f s, %.3f us/param (wall), "
      "file %zu bytes\n",
      static_cast<long long>(params), g.nodes.size(), threads, wall, cpu,
      wall * 1e6 / static_cast<double>(params), bytes);
  return 0;
}
