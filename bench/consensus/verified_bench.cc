// Consensus end to end on loopback (issue 4): latency of a verified request with a committee
// of r = 3 against a single replica, and what hashing and signing add to a segment's time.
//   build/bench/consensus/veil_bench_verified --model out/cnn.veil --batch 1 --requests 200
// The model is cut as [first layer] [all middle layers] [last layer].
// In one run, interleaved (the machine is noisy: compare within a run only):
//   single   split inference through one node per middle segment (no verification)
//   r=1      the verified protocol with a committee of one (selection, commit, reveal)
//   r=3      the verified protocol with r = 3, q = 2 on three nodes
// All nodes are in-process NodeServers with mutual TLS; on a 2-core machine the three
// replicas of r = 3 share the cores, so r = 3 cannot be as fast as on three machines.
// Second table: per middle segment, the segment's run time without per-layer digests, and
// the time hashing (per-layer digests, output digest, trace root) and signing the
// commitment add.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/dispute.h"
#include "veil/model_file.h"
#include "veil/net/network.h"
#include "veil/net/node_server.h"
#include "veil/net/split_inference.h"
#include "veil/net/verified_inference.h"
#include "veil/session.h"

namespace {

using namespace veil;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<Tensor> RandomInputs(const Graph& g, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Tensor> out;
  for (int id : g.inputs) {
    Shape shape = {batch};
    for (int64_t d : g.values[static_cast<size_t>(id)].shape) shape.push_back(d);
    Tensor t(DType::kInt8, shape);
    for (auto& x : t.i8()) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    out.push_back(std::move(t));
  }
  return out;
}

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "veil_bench_verified: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "out/cnn.veil";
  int64_t batch = 1;
  int requests = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model")
      model_path = argv[i + 1];
    else if (flag == "--batch")
      batch = std::atoll(argv[i + 1]);
    else if (flag == "--requests")
      requests = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--model FILE.veil] [--batch B] [--requests N]\n", argv[0]);
      return 2;
    }
  }
  auto graph = LoadModel(model_path);
  if (!graph.ok()) return Fail("load " + model_path, graph.status());
  // One middle segment with every layer but the first and the last: the nodes do nearly
  // all the work, as in a deployment that verifies the model's bulk.
  const int layers = static_cast<int>(graph->nodes.size());
  if (layers < 3) return Fail("model", Status::InvalidArgument("needs >= 3 layers"));
  graph->segments = {{0, 1}, {1, layers - 1}, {layers - 1, layers}};
  const int segments = static_cast<int>(graph->EffectiveSegments().size());
  if (segments < 3) return Fail("model", Status::InvalidArgument("needs >= 3 segments"));
  std::vector<int> middle;
  for (int s = 1; s <= segments - 2; ++s) middle.push_back(s);

  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("veil_bench_verified_" + std::to_string(getpid()));
  fs::create_directories(dir);
  net::KeyRing ring;
  auto client = registry::Identity::LoadOrCreate((dir / "client").string());
  if (!client.ok()) return Fail("identity", client.status());
  ring.Add((*client)->public_key());
  std::vector<std::shared_ptr<const registry::Identity>> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = registry::Identity::LoadOrCreate((dir / ("node" + std::to_string(i))).string());
    if (!id.ok()) return Fail("identity", id.status());
    ids.push_back(std::move(id).value());
    ring.Add(ids.back()->public_key());
  }
  std::vector<std::unique_ptr<net::NodeServer>> nodes;
  std::vector<net::CandidateNode> candidates;
  for (int i = 0; i < 3; ++i) {
    net::NodeServerOptions options;
    options.segments = middle;
    options.identity = ids[static_cast<size_t>(i)];
    auto link = net::IdentityLink(*ids[static_cast<size_t>(i)], ring);
    if (!link.ok()) return Fail("link", link.status());
    options.security = *link;
    auto server = net::NodeServer::Start(*graph, options);
    if (!server.ok()) return Fail("node", server.status());
    candidates.push_back({ids[static_cast<size_t>(i)]->public_key(), (*server)->address(), middle});
    nodes.push_back(std::move(server).value());
  }
  auto client_link = net::IdentityLink(**client, ring);
  if (!client_link.ok()) return Fail("link", client_link.status());

  net::SplitOptions split;
  split.client.security = *client_link;
  net::Route route;
  for (int s : middle) route[s] = {nodes[0]->address()};
  auto single = net::SplitRunner::Create(*graph, route, split);
  if (!single.ok()) return Fail("split runner", single.status());

  auto make_verified =
      [&](uint32_t r,
          consensus::ReputationBook* book) -> Result<std::unique_ptr<net::VerifiedRunner>> {
    net::VerifiedOptions vo;
    vo.committee_size = r;
    vo.client.security = *client_link;
    std::vector<net::CandidateNode> use(candidates.begin(), candidates.begin() + (r == 1 ? 1 : 3));
    return net::VerifiedRunner::Create(*graph, use, vo, book);
  };
  auto book1 = consensus::ReputationBook::Create();
  auto book3 = consensus::ReputationBook::Create();
  auto r1 = make_verified(1, &*book1);
  auto r3 = make_verified(3, &*book3);
  if (!r1.ok()) return Fail("r=1 runner", r1.status());
  if (!r3.ok()) return Fail("r=3 runner", r3.status());

  // Warm-up (trial tasks for new nodes, TLS handshakes, first-touch allocations).
  const auto warm = RandomInputs(*graph, batch, 1);
  for (int i = 0; i < 3; ++i) {
    if (auto a = (*single)->Run(warm); !a.ok()) return Fail("single", a.status());
    if (auto b = (*r1)->Run(warm); !b.ok()) return Fail("r=1", b.status());
    if (auto c = (*r3)->Run(warm); !c.ok()) return Fail("r=3", c.status());
  }
  std::vector<double> t_single, t_r1, t_r3;
  std::vector<double> phases[2][4];  // r=1, r=3: select, commit, reveal, evaluate
  for (int i = 0; i < requests; ++i) {
    const auto inputs = RandomInputs(*graph, batch, 100 + static_cast<uint32_t>(i));
    auto t0 = Clock::now();
    auto a = (*single)->Run(inputs);
    auto t1 = Clock::now();
    auto b = (*r1)->Run(inputs);
    auto t2 = Clock::now();
    auto c = (*r3)->Run(inputs);
    auto t3 = Clock::now();
    if (!a.ok() || !b.ok() || !c.ok())
      return Fail("request", !a.ok() ? a.status() : !b.ok() ? b.status() : c.status());
    if (TensorDigest(a->outputs[0]) != TensorDigest(c->outputs[0]))
      return Fail("request", Status::Internal("r=3 output differs from the single replica's"));
    for (int k = 0; k < 2; ++k) {
      const net::SegmentVerdict& v = (k == 0 ? b : c)->segments.at(0);
      phases[k][0].push_back(v.select_ms);
      phases[k][1].push_back(v.commit_ms);
      phases[k][2].push_back(v.reveal_ms);
      phases[k][3].push_back(v.evaluate_ms);
    }
    t_single.push_back(Ms(t1 - t0));
    t_r1.push_back(Ms(t2 - t1));
    t_r3.push_back(Ms(t3 - t2));
  }
  const double single_ms = Median(t_single);
  std::printf("model %s, batch %lld, %d requests, %d middle segment(s), median latency:\n",
              graph->name.c_str(), static_cast<long long>(batch), requests,
              static_cast<int>(middle.size()));
  std::printf("  %-34s %9.3f ms  1.00x\n", "single replica (split, no verify)", single_ms);
  std::printf("  %-34s %9.3f ms  %.2fx\n", "verified, r=1", Median(t_r1), Median(t_r1) / single_ms);
  std::printf("  %-34s %9.3f ms  %.2fx   (goal <= 1.15x)\n", "verified, r=3 q=2", Median(t_r3),
              Median(t_r3) / single_ms);

  for (int k = 0; k < 2; ++k)
    std::printf("  %s phases: select %.3f  commit %.3f  reveal %.3f  check+receipt %.3f ms\n",
                k == 0 ? "r=1" : "r=3", Median(phases[k][0]), Median(phases[k][1]),
                Median(phases[k][2]), Median(phases[k][3]));

  // Hashing and signing per segment, against the segment's own run time.
  std::printf("\nper segment (in process, %d runs each, median):\n", requests);
  std::printf("  %-8s %12s %14s %14s %9s\n", "segment", "run ms", "+digests ms", "+sign ms",
              "overhead");
  for (int s : middle) {
    auto g = ExtractSegment(*graph, s);
    if (!g.ok()) return Fail("extract", g.status());
    auto session = Session::Create(*g);
    if (!session.ok()) return Fail("session", session.status());
    std::vector<double> plain, traced, signing;
    for (int i = 0; i < requests; ++i) {
      const auto inputs = RandomInputs(*g, batch, 7 + static_cast<uint32_t>(i));
      auto t0 = Clock::now();
      auto out = (*session)->Run(inputs);
      auto t1 = Clock::now();
      RunTrace trace;
      auto out2 = (*session)->Run(inputs, &trace);
      const Digest in_digest = consensus::TensorListDigest(inputs);
      const Digest out_digest = consensus::TensorListDigest(*out2);
      const Digest root = consensus::TraceRoot(trace.node_digests);
      auto t2 = Clock::now();
      auto sub = consensus::CommitOutput(*ids[0], Digest{}, in_digest, out_digest, root);
      auto t3 = Clock::now();
      if (!out.ok() || !out2.ok() || !sub.ok()) return Fail("segment", Status::Internal("run"));
      plain.push_back(Ms(t1 - t0));
      traced.push_back(Ms(t2 - t1));
      signing.push_back(Ms(t3 - t2));
    }
    const double p = Median(plain), t = Median(traced), g2 = Median(signing);
    std::printf("  %-8d %12.4f %14.4f %14.4f %8.2f%%   (goal <= 1%%)\n", s, p, t - p, g2,
                100.0 * (t - p + g2) / p);
  }
  for (auto& n : nodes) n->Shutdown(0);
  fs::remove_all(dir);
  return 0;
}
