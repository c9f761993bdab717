// End-to-end latency of veil's Session::Run on imported models (.veil files from
// `veil import`), at given batch sizes, with deterministic inputs that bench/ort_bench.js
// reproduces exactly for ONNX Runtime. bench/run_models_bench.sh runs both and compares.
//
// Inputs (read from DATA_DIR/<model name>/, normally models/):
//   image models (one [1,28,28] input): rows 0.. of calibration.npy (normalised
//     Fashion-MNIST images), repeated cyclically to fill the batch, quantized with
//     QuantizeInput (client-side, outside the timed region; its cost is reported apart);
//   text models (inputs tokens, positions): rows 0.. of calibration_tokens.npy (each a
//     64-byte window), repeated cyclically; positions 0..63 in every row.
//
// Timing: std::chrono::steady_clock around each Session::Run (which includes veil's input
// checks), after warm-up runs; runs continue until both --min-seconds and --min-runs are
// reached (or --max-runs). cpu_ms_per_run is the process CPU time (all threads) of the
// timed loop divided by the runs: unlike wall time it does not grow while the machine's
// other work preempts us, so at 1 thread it is a steadier measure on a shared machine
// (at N threads it counts every thread's CPU, i.e. cost, not latency).
// One JSON line per (model, batch) on stdout:
//   {"engine":"veil","model":"cnn","batch":64,"median_ms":..,"p10_ms":..,"p90_ms":..,...}
//
// --breakdown adds a per-op-kind profile: the graph is re-segmented one node per segment
// (segment boundaries are not part of the computation or its digest) and each node is
// timed through Session::RunSegment. Lines {"engine":"veil","breakdown":"node",...} per node
// (its median over the passes) and {"engine":"veil","breakdown":true,"op":..} per op kind.
// Per-call overhead (input checks, bookkeeping) makes the sum exceed a whole Run a little.
//
//   veil_bench_models --threads 1 out/mlp.veil out/cnn.veil
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstdint>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/kernels.h"
#include "veil/model_file.h"
#include "veil/npy.h"
#include "veil/quantization.h"
#include "veil/session.h"

namespace veil {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::vector<std::string> models;
  std::vector<int64_t> batches{1, 64};
  int threads = 1;
  std::string kernel = "auto";
  std::string data_dir = "models";
  double min_seconds = 1.0;
  int min_runs = 20;
  int max_runs = 100000;
  int warmup_runs = 3;
  bool breakdown = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "veil_bench_models: " << what << "\n";
  std::exit(1);
}

template <typename T>
T OrDie(Result<T> r, const std::string& context) {
  if (!r.ok()) Die(context + ": " + r.status().ToString());
  return std::move(r).value();
}

KernelPath ParseKernel(const std::string& name) {
  for (KernelPath p : {KernelPath::kAuto, KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512,
                       KernelPath::kAvx512Vnni})
    if (name == KernelPathName(p)) {
      if (!KernelPathAvailable(p)) Die("this CPU cannot run the " + name + " kernels");
      return p;
    }
  Die("unknown kernel path '" + name + "' (auto, scalar, avx2, avx512, avx512vnni)");
}

double Percentile(std::vector<double> sorted, double q) {  // linear interpolation
  if (sorted.empty()) return 0.0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

struct Stats {
  double median = 0, p10 = 0, p90 = 0, min = 0, mean = 0;
  double cpu_per_run = 0;  // process CPU time of the timed loop / runs, ms
  int runs = 0;
  double seconds = 0;
};

// CPU time of the whole process (all threads), ms. Read once before and once after the
// timed loop, so the syscall never lands inside a timed run.
double ProcessCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

Stats Summarise(std::vector<double> ms, double seconds) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  s.runs = static_cast<int>(ms.size());
  s.seconds = seconds;
  s.median = Percentile(ms, 0.5);
  s.p10 = Percentile(ms, 0.1);
  s.p90 = Percentile(ms, 0.9);
  s.min = ms.front();
  for (double v : ms) s.mean += v / static_cast<double>(ms.size());
  return s;
}

// Calls fn() (one run) after `warmup` untimed calls until min_seconds and min_runs are
// both reached (or max_runs); returns per-call milliseconds.
template <typename Fn>
Stats TimeRuns(const Args& args, Fn&& fn) {
  for (int i = 0; i < args.warmup_runs; ++i) fn();
  std::vector<double> ms;
  const double cpu0 = ProcessCpuMs();
  const auto start = Clock::now();
  double elapsed = 0;
  while (static_cast<int>(ms.size()) < args.max_runs &&
         (static_cast<int>(ms.size()) < args.min_runs || elapsed < args.min_seconds)) {
    const auto t0 = Clock::now();
    fn();
    const auto t1 = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    elapsed = std::chrono::duration<double>(t1 - start).count();
  }
  const double cpu = ProcessCpuMs() - cpu0;
  Stats stats = Summarise(std::move(ms), elapsed);
  stats.cpu_per_run = cpu / static_cast<double>(stats.runs);
  return stats;
}

// Row r of a [R, ...] array repeated cyclically into `batch` rows.
template <typename T>
std::vector<T> CycleRows(const std::vector<T>& rows, int64_t row_size, int64_t batch) {
  const int64_t available = static_cast<int64_t>(rows.size()) / row_size;
  std::vector<T> out(static_cast<size_t>(batch * row_size));
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(rows.begin() + (b % available) * row_size, row_size, out.begin() + b * row_size);
  return out;
}

// The deterministic request for `graph` at `batch`, and the time QuantizeInput took.
std::vector<Tensor> MakeInputs(const Graph& graph, const std::string& name, const Args& args, int64_t batch,
                               double* quantize_ms) {
  *quantize_ms = 0;
  const std::string dir = args.data_dir + "/" + name + "/";
  if (graph.inputs.size() == 1 && graph.values[graph.inputs[0]].shape == Shape{1, 28, 28}) {
    const std::string path = dir + "calibration.npy";
    const NpyArray array = OrDie(ReadNpy(path), path);
    if (array.shape.size() != 4 || array.shape[1] != 1 || array.shape[2] != 28 || array.shape[3] != 28)
      Die(path + ": expected [N,1,28,28], got " + ShapeToString(array.shape));
    const std::vector<float> rows = OrDie(array.ToFloat32(), path);
    const std::vector<float> floats = CycleRows(rows, 784, batch);
    const auto t0 = Clock::now();
    Tensor q = QuantizeInput(graph.values[graph.inputs[0]], {batch, 1, 28, 28}, floats);
    *quantize_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return {std::move(q)};
  }
  if (graph.task == ModelTask::kTextGenerator && graph.inputs.size() == 2) {
    const std::string path = dir + "calibration_tokens.npy";
    const NpyArray array = OrDie(ReadNpy(path), path);
    if (array.shape.size() != 2) Die(path + ": expected [N,T], got " + ShapeToString(array.shape));
    const int64_t t = array.shape[1];
    const std::vector<int64_t> rows = OrDie(array.ToInt64(), path);
    const std::vector<int64_t> ids = CycleRows(rows, t, batch);
    Tensor tokens(DType::kInt32, {batch, t}), positions(DType::kInt32, {batch, t});
    for (int64_t i = 0; i < batch * t; ++i) {
      tokens.i32()[i] = static_cast<int32_t>(ids[i]);
      positions.i32()[i] = static_cast<int32_t>(i % t);
    }
    return {std::move(tokens), std::move(positions)};
  }
  Die(name + ": neither an image model with one [1,28,28] input nor a (tokens, positions) text model");
}

nlohmann::json StatsJson(const Stats& s) {
  return {{"median_ms", s.median}, {"p10_ms", s.p10}, {"p90_ms", s.p90}, {"min_ms", s.min},
          {"mean_ms", s.mean},     {"runs", s.runs},  {"seconds", s.seconds},
          {"cpu_ms_per_run", s.cpu_per_run}};
}

// Times every node on its own (one segment per node) and prints per-op-kind totals.
void Breakdown(const Graph& graph, const std::string& name, const std::vector<Tensor>& inputs, int64_t batch,
               const SessionOptions& options, const Args& args, double whole_run_ms) {
  Graph g = graph;
  g.segments.clear();
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) g.segments.push_back({i, i + 1});
  auto session = OrDie(Session::Create(g, options), name + ": Session::Create (per-node segments)");
  // One pass to materialise every node's inputs.
  std::map<int, Tensor> env;
  for (size_t i = 0; i < g.inputs.size(); ++i) env[g.inputs[i]] = inputs[i];
  std::vector<std::vector<Tensor>> node_inputs(g.nodes.size());
  for (int s = 0; s < static_cast<int>(g.segments.size()); ++s) {
    for (int v : g.SegmentInputs(g.segments[static_cast<size_t>(s)])) node_inputs[s].push_back(env.at(v));
    auto out = OrDie(session->RunSegment(s, node_inputs[s]), name + ": RunSegment");
    const std::vector<int> ids = g.SegmentOutputs(g.segments[static_cast<size_t>(s)]);
    for (size_t k = 0; k < ids.size(); ++k) env[ids[k]] = std::move(out[k]);
  }
  // Passes over all nodes, timing each; per-node median over the passes.
  std::vector<std::vector<double>> per_node(g.nodes.size());
  Args pass_args = args;
  pass_args.warmup_runs = 1;
  TimeRuns(pass_args, [&] {
    for (int s = 0; s < static_cast<int>(g.nodes.size()); ++s) {
      const auto t0 = Clock::now();
      auto out = session->RunSegment(s, node_inputs[s]);
      per_node[s].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!out.ok()) Die(name + ": RunSegment: " + out.status().ToString());
    }
  });
  struct Kind {
    int nodes = 0;
    double ms = 0;
  };
  std::map<std::string, Kind> kinds;
  double total = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    std::vector<double> v(per_node[n].begin() + 1, per_node[n].end());  // drop the warm-up pass
    std::sort(v.begin(), v.end());
    const double median = Percentile(v, 0.5);
    Kind& k = kinds[OpKindName(g.nodes[n].kind)];
    ++k.nodes;
    k.ms += median;
    total += median;
    std::cout << nlohmann::json{{"engine", "veil"},
                                {"breakdown", "node"},
                                {"model", name},
                                {"batch", batch},
                                {"threads", args.threads},
                                {"node", n},
                                {"op", OpKindName(g.nodes[n].kind)},
                                {"name", g.nodes[n].name},
                                {"output_shape", g.values[static_cast<size_t>(g.nodes[n].outputs[0])].shape},
                                {"ms", median}}
                     .dump()
              << "\n";
  }
  for (const auto& [op, k] : kinds)
    std::cout << nlohmann::json{{"engine", "veil"},   {"breakdown", true},   {"model", name},
                                {"batch", batch},     {"threads", args.threads},
                                {"op", op},           {"nodes", k.nodes},    {"ms", k.ms},
                                {"share", k.ms / total}}
                     .dump()
              << "\n";
  std::cout << nlohmann::json{{"engine", "veil"},         {"breakdown", true},
                              {"model", name},            {"batch", batch},
                              {"threads", args.threads},  {"op", "(sum of per-node medians)"},
                              {"nodes", g.nodes.size()},  {"ms", total},
                              {"whole_run_median_ms", whole_run_ms}}
                   .dump()
            << "\n";
}

int Main(const Args& args) {
  SessionOptions options;
  options.kernel_path = ParseKernel(args.kernel);
  options.threads = args.threads;
  for (const std::string& path : args.models) {
    const Graph graph = OrDie(LoadModel(path), path);
    const std::string name = graph.name;
    auto session = OrDie(Session::Create(graph, options), path + ": Session::Create");
    for (int64_t batch : args.batches) {
      double quantize_ms = 0;
      const std::vector<Tensor> inputs = MakeInputs(graph, name, args, batch, &quantize_ms);
      std::vector<Tensor> last;
      const Stats stats = TimeRuns(args, [&] {
        auto out = session->Run(inputs);
        if (!out.ok()) Die(path + ": Run: " + out.status().ToString());
        last = std::move(out).value();
      });
      nlohmann::json j = {{"engine", "veil"},
                          {"model", name},
                          {"batch", batch},
                          {"threads", args.threads},
                          {"kernel", KernelPathName(session->kernel_path())}};
      j.update(StatsJson(stats));
      j["quantize_input_ms"] = quantize_ms;
      j["output_digest"] = DigestToHex(TensorDigest(last.at(0))).substr(0, 16);
      std::cout << j.dump() << std::endl;
      if (args.breakdown) Breakdown(graph, name, inputs, batch, options, args, stats.median);
    }
  }
  return 0;
}

}  // namespace
}  // namespace veil

int main(int argc, char** argv) {
  veil::Args args;
  CLI::App app("veil end-to-end model latency (JSON lines on stdout)");
  app.add_option("models", args.models, ".veil model files (from `veil import`)")->required();
  app.add_option("--batches", args.batches, "batch sizes")->delimiter(',');
  app.add_option("--threads", args.threads, "worker threads")->check(CLI::Range(1, 256));
  app.add_option("--kernel", args.kernel, "kernel path: auto, scalar, avx2, avx512, avx512vnni");
  app.add_option("--data-dir", args.data_dir, "folder holding <model>/calibration*.npy (default models)");
  app.add_option("--min-seconds", args.min_seconds, "time each (model, batch) at least this long");
  app.add_option("--min-runs", args.min_runs, "and at least this many runs");
  app.add_option("--max-runs", args.max_runs, "but at most this many");
  app.add_option("--warmup-runs", args.warmup_runs, "untimed runs first");
  app.add_flag("--breakdown", args.breakdown, "also time each node alone; print per-op-kind totals");
  CLI11_PARSE(app, argc, argv);
  return veil::Main(args);
}
