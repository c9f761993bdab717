// Microbenchmark of the int8 kernels per path: GemmS8 (GOPS = 2 * M * N * K per second)
// and RequantizeRows (G elements per second). Paths the CPU lacks are reported as skipped.
// Single-threaded runs are timed in CPU time (robust on a shared machine), multi-threaded
// ones in wall time (CPU time would count only the calling thread).
//
//   veil_bench_kernels --benchmark_filter='GemmS8/avx512-vnni/M=1/'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "veil/kernels.h"
#include "veil/thread_pool.h"

namespace veil {
namespace {

constexpr KernelPath kPaths[] = {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512,
                                 KernelPath::kAvx512Vnni};

struct GemmShape {
  int64_t m;
  int64_t n;
  int64_t k;
};

std::vector<int8_t> RandomInt8(std::mt19937& rng, int64_t size) {
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<int8_t> v(static_cast<size_t>(size));
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

void BM_GemmS8(benchmark::State& state, KernelPath path, GemmShape s, int threads) {
  if (!KernelPathAvailable(path)) {
    state.SkipWithError("kernel path not available on this CPU");
    return;
  }
  std::mt19937 rng(1);
  const std::vector<int8_t> a = RandomInt8(rng, s.m * s.k);
  const std::vector<int8_t> b = RandomInt8(rng, s.n * s.k);
  const std::vector<int32_t> bias(static_cast<size_t>(s.n), 1000);
  std::vector<int32_t> c(static_cast<size_t>(s.m * s.n));
  const auto packed = PackWeights(path, s.n, s.k, b.data(), s.k);
  ThreadPool pool(threads);
  ThreadPool* const pool_ptr = threads > 1 ? &pool : nullptr;
  for (auto _ : state) {
    GemmS8(*packed, s.m, a.data(), s.k, bias.data(), c.data(), s.n, pool_ptr);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] = benchmark::Counter(2e-9 * static_cast<double>(s.m * s.n * s.k),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RequantizeRows(benchmark::State& state, KernelPath path, int64_t m, int64_t n) {
  if (!KernelPathAvailable(path)) {
    state.SkipWithError("kernel path not available on this CPU");
    return;
  }
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> acc(-(1 << 20), 1 << 20);
  std::vector<int32_t> c(static_cast<size_t>(m * n));
  for (int32_t& x : c) x = acc(rng);
  const std::vector<int32_t> mult(static_cast<size_t>(n), 1518500250);
  const std::vector<int32_t> shift(static_cast<size_t>(n), 38);
  std::vector<int8_t> out(static_cast<size_t>(m * n));
  for (auto _ : state) {
    RequantizeRows(path, m, n, c.data(), n, mult.data(), shift.data(), /*per_channel=*/true, -127,
                   127, out.data(), n, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["Gelem/s"] = benchmark::Counter(1e-9 * static_cast<double>(m * n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void RegisterAll() {
  const GemmShape shapes[] = {{1, 256, 784},  {1, 768, 768},  {1, 3072, 768},
                              {64, 256, 784}, {64, 768, 768}, {64, 3072, 768}};
  for (KernelPath path : kPaths) {
    for (const GemmShape& s : shapes) {
      for (int threads : {1, 2}) {
        const std::string name = std::string("GemmS8/") + KernelPathName(path) +
                                 "/M=" + std::to_string(s.m) + "/N=" + std::to_string(s.n) +
                                 "/K=" + std::to_string(s.k) +
                                 "/threads:" + std::to_string(threads);
        auto* bench = benchmark::RegisterBenchmark(name.c_str(), BM_GemmS8, path, s, threads);
        if (threads > 1) bench->UseRealTime();
      }
    }
  }
  for (KernelPath path : kPaths) {
    const std::string name = std::string("RequantizeRows/") + KernelPathName(path) + "/M=64/N=768";
    benchmark::RegisterBenchmark(name.c_str(), BM_RequantizeRows, path, 64, 768);
  }
}

}  // namespace
}  // namespace veil

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  veil::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
