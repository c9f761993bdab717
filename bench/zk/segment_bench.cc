// Zero-knowledge proofs of whole model segments (docs/zk.md), e.g. the shipped CNN:
//   build-zk/bench/zk/veil_bench_zk_segment out/cnn.veil [--segment S] [--batch B] [--reps R]
// Commits the model (seed fixed, time reported once), runs the segments before S with veil's
// own integer inference to get S's inputs (random int8 images for the graph input), commits
// them and reports for segment S (every segment without --segment):
//   plain   = Session::RunSegment of S alone (median of R),
//   prover  = ProveSegment (CPU and wall; single-threaded),
//   verify  = VerifySegment (CPU and wall),
//   proof   = serialized size, and the process's peak RSS (run one segment per process for a
//             per-segment figure).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <string>

#include "veil/model_file.h"
#include "veil/session.h"
#include "veil/zk/segment_proof.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}
double Cpu() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

int Die(const veil::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.veil [--segment S] [--batch B] [--reps R]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  int only = -1, batch = 1, reps = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--segment") == 0) only = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--batch") == 0) batch = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(1, std::atoi(argv[i + 1]));
  }
  auto graph = veil::LoadModel(path);
  if (!graph.ok()) return Die(graph.status());
  veil::zk::CommitmentSeed seed{};
  seed[0] = 42;
  auto t0 = Clock::now();
  auto commitment = veil::zk::CommitModel(*graph, seed);
  if (!commitment.ok()) return Die(commitment.status());
  std::printf("model %s: %zu segments, weight commitment %.3f s\n", path.c_str(),
              graph->EffectiveSegments().size(), Seconds(t0));
  auto session = veil::Session::Create(*graph, {});
  if (!session.ok()) return Die(session.status());
  const veil::zk::CommitmentKey key = veil::zk::SegmentProofKey(*graph, *commitment);

  std::mt19937_64 rng(7);
  const veil::Value& in_value = graph->values[static_cast<size_t>(graph->inputs[0])];
  veil::Shape in_shape{batch};
  in_shape.insert(in_shape.end(), in_value.shape.begin(), in_value.shape.end());
  std::vector<int8_t> x(static_cast<size_t>(veil::NumElements(in_shape)));
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::map<int, veil::Tensor> values{{graph->inputs[0], veil::Tensor::FromInt8(in_shape, x)}};

  const std::vector<veil::Segment> segments = graph->EffectiveSegments();
  std::printf("%-8s %10s %10s %10s %10s %10s %12s %9s %10s\n", "segment", "plain ms", "prove cpu",
              "prove wall", "verify cpu", "verify ms", "proof bytes", "RSS MB", "prove/plain");
  for (size_t s = 0; s < segments.size(); ++s) {
    std::vector<veil::Tensor> in;
    for (int v : graph->SegmentInputs(segments[s])) in.push_back(values.at(v));
    std::vector<double> plain;
    std::vector<veil::Tensor> out;
    for (int r = 0; r < (only < 0 || only == static_cast<int>(s) ? reps : 1); ++r) {
      auto t = Clock::now();
      auto o = (*session)->RunSegment(static_cast<int>(s), in);
      plain.push_back(Seconds(t));
      if (!o.ok()) return Die(o.status());
      out = std::move(o).value();
    }
    const std::vector<int> out_ids = graph->SegmentOutputs(segments[s]);
    for (size_t k = 0; k < out_ids.size(); ++k) values[out_ids[k]] = out[k];
    if (only >= 0 && only != static_cast<int>(s)) continue;
    std::sort(plain.begin(), plain.end());
    const double plain_s = plain[plain.size() / 2];

    std::vector<veil::zk::ActivationOpening> openings;
    for (const veil::Tensor& t : in) {
      auto a = veil::zk::CommitActivation(key, t);
      if (!a.ok()) return Die(a.status());
      openings.push_back(std::move(a).value());
    }
    const double c0 = Cpu();
    t0 = Clock::now();
    auto proved = veil::zk::ProveSegment(*graph, *commitment, seed, static_cast<int>(s), openings);
    const double prove_wall = Seconds(t0), prove_cpu = Cpu() - c0;
    if (!proved.ok()) return Die(proved.status());
    const std::vector<uint8_t> bytes = veil::zk::SerializeSegmentProof(proved->proof);
    auto parsed = veil::zk::ParseSegmentProof(bytes, *graph);
    if (!parsed.ok()) return Die(parsed.status());
    const double v0 = Cpu();
    t0 = Clock::now();
    const veil::Status ok = veil::zk::VerifySegment(*graph, *commitment, *parsed);
    const double verify_wall = Seconds(t0), verify_cpu = Cpu() - v0;
    if (!ok.ok()) return Die(ok);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("%-8zu %10.3f %10.3f %10.3f %10.3f %10.1f %12zu %9ld %10.0f\n", s, plain_s * 1e3,
                prove_cpu, prove_wall, verify_cpu, verify_wall * 1e3, bytes.size(),
                ru.ru_maxrss / 1024, prove_cpu / plain_s);
  }
  return 0;
}
