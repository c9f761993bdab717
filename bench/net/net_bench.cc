// Network benchmarks (issue 3), on loopback, with mutual TLS between every pair of
// endpoints (Ed25519 identities; plaintext figures are printed alongside for reference).
//
// 1. Per-hop overhead for a 16 KiB activation: a chain of k stages, each an identity
//    lookup over int8 [16384], called as one chained request (the client calls stage 1,
//    each stage pushes to the next, the last returns). Per-hop overhead = (median latency
//    of the k-stage chain - median of the 1-stage call) / (k - 1) - the median time to run
//    one stage locally. Goal: <= 0.25 ms.
// 2. Pipeline throughput: MODEL.veil split in 5 segments, the 3 middle ones on 3 nodes
//    (in this process, each with its own gRPC server and session), driven by C concurrent
//    client threads through one SplitRunner; against single-process veil: one Session with
//    as many threads as the machine has cores, running the same batches back to back.
//    Goal: >= 0.9x.
//
// 3. Proof mode against split mode (issue 5, docs/zk.md "In the network"): with
//    --proof-model MLP.veil, the model split in 4 segments, each middle segment on its own node
//    (mutual TLS) holding the owner's commitment and seed; median end-to-end latency of one
//    request (batch --proof-batch) through a ProofRunner (segment 0 local, commit, prove on
//    each node, verify each proof on the client, last segment local) and through a
//    SplitRunner over the same nodes; prints both and their ratio.
//
//   veil_bench_net --model out/cnn.veil [--batch 32] [--clients 4] [--seconds 5]
//   veil_bench_net --proof-model out/mlp.veil [--proof-batch 1] [--proof-reps 7]
#include <openssl/rand.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "veil/model_file.h"
#include "veil/net/network.h"
#include "veil/net/node_client.h"
#include "veil/net/node_server.h"
#include "veil/net/proof_inference.h"
#include "veil/net/split_inference.h"
#include "veil/segmenter.h"

namespace veil::net {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One LinkSecurity per endpoint, all admitted by one shared ring (plaintext if !tls).
class Identities {
 public:
  explicit Identities(bool tls) : tls_(tls) {}
  LinkSecurity Make() {
    if (!tls_) return LinkSecurity::Insecure();
    std::array<uint8_t, 32> seed{};
    RAND_bytes(seed.data(), static_cast<int>(seed.size()));
    auto link = LinkSecurity::MutualTls(seed, ring_.Check());
    if (!link.ok()) {
      std::cerr << link.status().ToString() << "\n";
      std::exit(1);
    }
    ring_.Add(link->public_key);
    return *link;
  }

 private:
  bool tls_;
  KeyRing ring_;
};

// x int8 [16384] -> identity lookup, `stages` times, one segment each.
Graph LookupChain(int stages) {
  Graph g;
  g.name = "hops";
  int prev = g.AddValue({"x", DType::kInt8, {16384}, 1.0});
  g.inputs = {prev};
  std::vector<int8_t> table(256);
  for (int k = 0; k < 256; ++k)
    table[static_cast<size_t>(k)] = static_cast<int8_t>(std::max(-127, k - 128));
  for (int i = 0; i < stages; ++i) {
    const int out = g.AddValue({"y" + std::to_string(i), DType::kInt8, {16384}, 1.0});
    Node n;
    n.kind = OpKind::kLookup;
    n.name = "lookup" + std::to_string(i);
    n.inputs = {prev};
    n.outputs = {out};
    n.SetParam("table", Tensor::FromInt8({256}, table));
    g.nodes.push_back(n);
    g.segments.push_back({i, i + 1});
    prev = out;
  }
  g.outputs = {prev};
  return g;
}

nlohmann::json PerHop(bool tls, int iterations) {
  constexpr int kStages = 4;
  const Graph graph = LookupChain(kStages);
  Identities ids(tls);
  std::vector<std::unique_ptr<NodeServer>> nodes;
  for (int s = 0; s < kStages; ++s) {
    NodeServerOptions options;
    options.segments = {s};
    options.security = ids.Make();
    auto node = NodeServer::Start(graph, options);
    if (!node.ok()) {
      std::cerr << node.status().ToString() << "\n";
      std::exit(1);
    }
    nodes.push_back(std::move(node).value());
  }
  NodeClientOptions client_options;
  client_options.security = ids.Make();
  auto client = NodeClient::Connect(nodes[0]->address(), client_options);
  Tensor x(DType::kInt8, {1, 16384});
  for (size_t i = 0; i < x.i8().size(); ++i) x.i8()[i] = static_cast<int8_t>(i % 255 - 127);
  auto call_with = [&](int stages) {
    SegmentCall call;
    call.request_id = "hop";
    call.model_digest = ModelDigest(graph);
    call.segment_index = 0;
    call.segment_digest = SegmentDigest(graph, 0);
    call.inputs = {x};
    for (int s = 1; s < stages; ++s)
      call.forward.push_back(
          {nodes[static_cast<size_t>(s)]->address(), s, SegmentDigest(graph, s), {0}, {}});
    return call;
  };
  auto time_calls = [&](int stages) {
    const SegmentCall call = call_with(stages);
    std::vector<double> t;
    for (int i = 0; i < iterations + 20; ++i) {
      const auto start = Clock::now();
      auto r = (*client)->Call(call);
      if (!r.ok()) {
        std::cerr << r.status().ToString() << "\n";
        std::exit(1);
      }
      if (i >= 20) t.push_back(Ms(Clock::now() - start));
    }
    return Median(t);
  };
  // Interleave to share the machine's noise between the two measurements.
  std::vector<double> one, many;
  for (int round = 0; round < 5; ++round) {
    one.push_back(time_calls(1));
    many.push_back(time_calls(kStages));
  }
  auto segment = ExtractSegment(graph, 1);
  auto session = Session::Create(*segment);
  std::vector<double> compute;
  for (int i = 0; i < iterations; ++i) {
    const auto start = Clock::now();
    (void)(*session)->Run({x});
    compute.push_back(Ms(Clock::now() - start));
  }
  const double t1 = Median(one), tk = Median(many), c = Median(compute);
  const double per_hop = (tk - t1) / (kStages - 1) - c;
  return {{"bench", "per_hop"},
          {"tls", tls},
          {"activation_bytes", 16384},
          {"one_stage_ms", t1},
          {"stages", kStages},
          {"chain_ms", tk},
          {"stage_compute_ms", c},
          {"per_hop_overhead_ms", per_hop},
          {"goal_ms", 0.25}};
}

nlohmann::json Pipeline(const std::string& path, int64_t batch, int clients, double seconds,
                        bool tls, int node_threads) {
  auto loaded = LoadModel(path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().ToString() << "\n";
    std::exit(1);
  }
  Graph graph = std::move(loaded).value();
  if (!SplitIntoSegments(&graph, 5).ok()) std::exit(1);
  Shape shape = {batch};
  const Value& in = graph.values[static_cast<size_t>(graph.inputs[0])];
  for (int64_t d : in.shape) shape.push_back(d);
  Tensor x(in.dtype, shape);
  for (size_t i = 0; i < x.i8().size(); ++i) x.i8()[i] = static_cast<int8_t>(i * 7 % 255 - 127);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

  // Single-process veil: one session, all cores, batches back to back.
  SessionOptions all_cores;
  all_cores.threads = static_cast<int>(cores);
  auto session = Session::Create(graph, all_cores);
  (void)(*session)->Run({x});
  int64_t local_samples = 0;
  auto start = Clock::now();
  while (Ms(Clock::now() - start) < seconds * 1000) {
    (void)(*session)->Run({x});
    local_samples += batch;
  }
  const double local_rate = local_samples / (Ms(Clock::now() - start) / 1000);

  Identities ids(tls);
  std::vector<std::unique_ptr<NodeServer>> nodes;
  Route route;
  for (int s = 1; s <= 3; ++s) {
    NodeServerOptions options;
    options.session.threads = node_threads;
    options.segments = {s};
    options.security = ids.Make();
    auto node = NodeServer::Start(graph, options);
    if (!node.ok()) std::exit(1);
    route[s] = {(*node)->address()};
    nodes.push_back(std::move(node).value());
  }
  SplitOptions split;
  split.client.security = ids.Make();
  split.session.threads = node_threads;
  auto runner = SplitRunner::Create(graph, route, split);
  if (!runner.ok()) std::exit(1);
  auto expected = (*session)->Run({x});
  auto check = (*runner)->Run({x});
  if (!check.ok() || !(check->outputs[0] == (*expected)[0])) {
    std::cerr << "pipeline output differs from the single-process run\n";
    std::exit(1);
  }
  std::atomic<int64_t> samples{0};
  std::atomic<bool> failed{false};
  start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      while (Ms(Clock::now() - start) < seconds * 1000) {
        if (!(*runner)->Run({x}).ok()) failed = true;
        samples += batch;
      }
    });
  for (auto& t : threads) t.join();
  const double pipeline_rate = samples.load() / (Ms(Clock::now() - start) / 1000);
  return {{"bench", "pipeline"},
          {"model", graph.name},
          {"batch", batch},
          {"clients", clients},
          {"stages", 3},
          {"tls", tls},
          {"cores", cores},
          {"node_threads", node_threads},
          {"single_process_samples_per_s", local_rate},
          {"pipeline_samples_per_s", pipeline_rate},
          {"ratio", pipeline_rate / local_rate},
          {"goal_ratio", 0.9},
          {"errors", failed.load()}};
}

nlohmann::json ProofVsSplit(const std::string& path, int64_t batch, int reps) {
  auto loaded = LoadModel(path);
  if (!loaded.ok()) {
    std::cerr << loaded.status().ToString() << "\n";
    std::exit(1);
  }
  Graph graph = std::move(loaded).value();
  if (!SplitIntoSegments(&graph, 4).ok()) std::exit(1);
  auto proving = std::make_shared<SegmentProving>();
  RAND_bytes(proving->seed.data(), static_cast<int>(proving->seed.size()));
  auto commitment = zk::CommitModel(graph, proving->seed);
  if (!commitment.ok()) {
    std::cerr << commitment.status().ToString() << "\n";
    std::exit(1);
  }
  proving->commitment = std::move(commitment).value();
  Identities ids(true);
  std::vector<std::unique_ptr<NodeServer>> nodes;
  Route route;
  for (int s = 1; s <= 2; ++s) {
    NodeServerOptions options;
    options.segments = {s};
    options.security = ids.Make();
    options.proving = proving;
    auto node = NodeServer::Start(graph, options);
    if (!node.ok()) {
      std::cerr << node.status().ToString() << "\n";
      std::exit(1);
    }
    route[s] = {(*node)->address()};
    nodes.push_back(std::move(node).value());
  }
  const LinkSecurity client = ids.Make();
  SplitOptions split;
  split.client.security = client;
  auto split_runner = SplitRunner::Create(graph, route, split);
  ProofOptions po;
  po.client.security = client;
  auto proof_runner = ProofRunner::Create(graph, proving->commitment, route, po);
  if (!split_runner.ok() || !proof_runner.ok()) {
    std::cerr << "cannot create the runners\n";
    std::exit(1);
  }
  Shape shape = {batch};
  const Value& in = graph.values[static_cast<size_t>(graph.inputs[0])];
  for (int64_t d : in.shape) shape.push_back(d);
  Tensor x(in.dtype, shape);
  for (size_t i = 0; i < x.i8().size(); ++i) x.i8()[i] = static_cast<int8_t>(i * 7 % 255 - 127);
  std::vector<double> split_ms, proof_ms, verify_ms, call_ms;
  size_t proof_bytes = 0;
  for (int r = 0; r < reps + 1; ++r) {  // the first round warms up both
    auto start = Clock::now();
    auto a = (*split_runner)->Run({x});
    const double ts = Ms(Clock::now() - start);
    start = Clock::now();
    auto b = (*proof_runner)->Run({x});
    const double tp = Ms(Clock::now() - start);
    if (!a.ok() || !b.ok() || !(a->outputs[0] == b->outputs[0])) {
      std::cerr << "proof mode failed or differs from split mode\n";
      std::exit(1);
    }
    if (r == 0) continue;
    split_ms.push_back(ts);
    proof_ms.push_back(tp);
    double v = 0, c = 0;
    proof_bytes = 0;
    for (const auto& st : b->stages) {
      v += st.verify_ms;
      c += st.call_ms;
      proof_bytes += st.proof_bytes;
    }
    verify_ms.push_back(v);
    call_ms.push_back(c);
  }
  const double s = Median(split_ms), p = Median(proof_ms);
  return {{"bench", "proof_vs_split"},
          {"model", graph.name},
          {"batch", batch},
          {"segments_proven", 2},
          {"tls", true},
          {"reps", reps},
          {"split_ms", s},
          {"proof_ms", p},
          {"ratio", p / s},
          {"prove_calls_ms", Median(call_ms)},
          {"client_verify_ms", Median(verify_ms)},
          {"proof_bytes", proof_bytes}};
}

}  // namespace
}  // namespace veil::net

int main(int argc, char** argv) {
  CLI::App app{"veil network benchmarks (loopback, mutual TLS)"};
  std::string model;
  int64_t batch = 32;
  int clients = 4, iterations = 200, node_threads = 1;
  bool plaintext_pipeline = false;
  std::string proof_model;
  int64_t proof_batch = 1;
  int proof_reps = 7;
  double seconds = 5;
  app.add_option("--model", model, ".veil model for the pipeline benchmark");
  app.add_option("--batch", batch, "samples per request");
  app.add_option("--clients", clients, "concurrent client threads");
  app.add_option("--seconds", seconds, "duration of each throughput measurement");
  app.add_option("--iterations", iterations, "calls per latency sample");
  app.add_option("--node-threads", node_threads, "session threads per node and client segment");
  app.add_flag("--plaintext-pipeline", plaintext_pipeline, "pipeline without TLS (reference)");
  app.add_option("--proof-model", proof_model,
                 "proof mode vs split mode latency for this model (e.g. out/mlp.veil) only");
  app.add_option("--proof-batch", proof_batch, "samples per proof-mode request");
  app.add_option("--proof-reps", proof_reps, "requests per mode (median reported)");
  CLI11_PARSE(app, argc, argv);
  if (!proof_model.empty()) {
    std::cout << veil::net::ProofVsSplit(proof_model, proof_batch, proof_reps).dump() << std::endl;
    return 0;
  }
  for (bool tls : {true, false}) {
    const auto r = veil::net::PerHop(tls, iterations);
    std::cout << r.dump() << std::endl;
  }
  if (!model.empty())
    std::cout << veil::net::Pipeline(model, batch, clients, seconds, !plaintext_pipeline,
                                     node_threads)
                     .dump()
              << std::endl;
  return 0;
}
