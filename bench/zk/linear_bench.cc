// Zero-knowledge proof of one quantized Linear layer, synthetic weights.
//   build-zk/bench/zk/veil_bench_zk_linear [--tokens T] [--in K] [--out N] [--reps R]
//                                          [--requantize 0|1] [--threads N]
// --threads N gives the requantization and GELU provers a pool for their commitments (the
// sumchecks and the accumulator proof stay single-threaded); CPU time then sums threads.
// Default: 768×768 over 128 tokens (issue 5). Reports, as the median of R repetitions:
//   accumulator prover = commit to X and A + ProveLinear (A = X·Wᵀ + b);
//   requantize prover  = commit to Y + ProveRequantize (Y = Requantize(A), with clamping;
//                        skipped with --requantize 0, it is the slow part);
//   GELU prover        = commit to Z + ProveLookup (Z = table[Y + 128], LogUp, public table);
//   verifiers (generators already derived), proof sizes;
//   plain = veil's own integer inference of the same layer (Session, Linear + Requantize,
//   then the GELU Lookup).
// The weight commitment is the model owner's one-time cost and is reported separately.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>

#include "veil/graph.h"
#include "veil/session.h"
#include "veil/thread_pool.h"
#include "veil/zk/linear_proof.h"
#include "veil/zk/lookup_proof.h"
#include "veil/zk/multilinear.h"
#include "veil/zk/requantize_proof.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

// Process CPU time: the bench is single-threaded, so on the shared (loaded) machine this is
// the figure to compare; wall time includes waiting for a core.
double Cpu() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<veil::zk::Scalar> Blinds(size_t n) {
  std::vector<veil::zk::Scalar> b(n);
  for (auto& x : b) x = veil::zk::Scalar::Random();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  size_t T = 128, K = 768, N = 768;
  int reps = 5;
  bool requantize = true;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens")) T = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--in")) K = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--out")) N = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--requantize")) requantize = std::atoi(argv[i + 1]) != 0;
    if (!std::strcmp(argv[i], "--threads")) threads = std::max(1, std::atoi(argv[i + 1]));
  }
  using namespace veil;
  using namespace veil::zk;
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  std::mt19937_64 rng(3);
  auto i8 = [&](size_t n) {
    std::vector<int8_t> v(n);
    for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    return v;
  };
  const std::vector<int8_t> x = i8(T * K), w = i8(N * K);
  std::vector<int32_t> b(N);
  for (auto& v : b) v = static_cast<int32_t>(rng() % 20001) - 10000;

  // A GELU table as an importer writes it (input scale 1/32, output scale 1/32).
  std::vector<int8_t> gelu(kLookupTableSize);
  for (int j = 0; j < 256; ++j) {
    const double v = (j - 128) / 32.0;
    gelu[static_cast<size_t>(j)] = static_cast<int8_t>(std::clamp<long>(
        std::lround(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))) * 32.0), -127, 127));
  }
  const size_t key_len =
      std::max<size_t>(kLookupTableSize, size_t{1} << std::max(CeilLog2(K), CeilLog2(N)));
  auto t0 = Clock::now();
  const CommitmentKey key = CommitmentKey::Derive(key_len);
  const double keygen = Seconds(t0);

  LinearWitness wit;
  wit.weight_blinds = Blinds(N);
  wit.bias_blinds = Blinds(1);
  LinearStatement st;
  st.tokens = static_cast<uint32_t>(T);
  st.in_features = static_cast<uint32_t>(K);
  st.out_features = static_cast<uint32_t>(N);
  t0 = Clock::now();
  st.weight = *HyraxCommitInt8(key, w, N, K, wit.weight_blinds);
  st.bias = *HyraxCommitInt32(key, b, 1, N, wit.bias_blinds);
  const double weight_commit = Seconds(t0);

  std::vector<double> prove_s, verify_s, plain_s, rq_prove_s, rq_verify_s, lk_prove_s, lk_verify_s;
  size_t proof_bytes = 0, rq_bytes = 0, lk_bytes = 0;
  std::vector<double> prove_cpu, rq_cpu, lk_cpu, verify_cpu, rq_verify_cpu, lk_verify_cpu;
  double c0 = 0;
  const std::vector<int64_t> mult(N, int64_t{1} << 30), shift(N, 44);
  std::vector<int32_t> acc;
  for (int r = 0; r < reps; ++r) {
    t0 = Clock::now();
    c0 = Cpu();
    acc = LinearAccumulators(x, w, b, T, K, N);
    wit.input_blinds = Blinds(T);
    wit.accumulator_blinds = Blinds(T);
    st.input = *HyraxCommitInt8(key, x, T, K, wit.input_blinds);
    st.accumulator = *HyraxCommitInt32(key, acc, T, N, wit.accumulator_blinds);
    wit.input = x;
    wit.weight = w;
    wit.bias = b;
    wit.accumulator = acc;
    Transcript tp("bench");
    auto proof = ProveLinear(key, st, wit, &tp);
    prove_s.push_back(Seconds(t0));
    prove_cpu.push_back(Cpu() - c0);
    if (!proof.ok()) {
      std::fprintf(stderr, "%s\n", proof.status().ToString().c_str());
      return 1;
    }
    std::vector<uint8_t> bytes;
    WriteLinearProof(&bytes, *proof);
    proof_bytes = bytes.size();
    t0 = Clock::now();
    c0 = Cpu();
    Transcript tv("bench");
    const Status ok = VerifyLinear(key, st, *proof, &tv);
    verify_s.push_back(Seconds(t0));
    verify_cpu.push_back(Cpu() - c0);
    if (!ok.ok()) {
      std::fprintf(stderr, "%s\n", ok.ToString().c_str());
      return 1;
    }

    t0 = Clock::now();
    c0 = Cpu();
    const std::vector<int8_t> y = RequantizeReference(acc, T, N, mult, shift, -127, 127);
    RequantizeWitness rw;
    rw.accumulator = acc;
    rw.output = y;
    rw.accumulator_blinds = wit.accumulator_blinds;
    rw.output_blinds = Blinds(T);
    RequantizeStatement rs;
    rs.rows = static_cast<uint32_t>(T);
    rs.cols = static_cast<uint32_t>(N);
    rs.multiplier = mult;
    rs.shift = shift;
    rs.accumulator = st.accumulator;
    rs.output = *HyraxCommitInt8(key, y, T, N, rw.output_blinds);
    if (requantize) {
      auto rp = ProveRequantize(key, rs, rw, &tp, pool.get());
      rq_prove_s.push_back(Seconds(t0));
      rq_cpu.push_back(Cpu() - c0);
      if (!rp.ok()) {
        std::fprintf(stderr, "%s\n", rp.status().ToString().c_str());
        return 1;
      }
      std::vector<uint8_t> rbytes;
      WriteRequantizeProof(&rbytes, *rp);
      rq_bytes = rbytes.size();
      t0 = Clock::now();
      c0 = Cpu();
      const Status rok = VerifyRequantize(key, rs, *rp, &tv);
      rq_verify_s.push_back(Seconds(t0));
      rq_verify_cpu.push_back(Cpu() - c0);
      if (!rok.ok()) {
        std::fprintf(stderr, "%s\n", rok.ToString().c_str());
        return 1;
      }
    } else {
      rq_prove_s.push_back(0);
      rq_cpu.push_back(0);
      rq_verify_s.push_back(0);
      rq_verify_cpu.push_back(0);
    }

    // GELU on the requantized outputs, proved against the public table.
    t0 = Clock::now();
    c0 = Cpu();
    const std::vector<int8_t> z = LookupReference(y, gelu);
    LookupWitness lw;
    lw.input = y;
    lw.output = z;
    lw.input_blinds = rw.output_blinds;
    lw.output_blinds = Blinds(T);
    LookupStatement ls;
    ls.rows = static_cast<uint32_t>(T);
    ls.cols = static_cast<uint32_t>(N);
    ls.table = gelu;
    ls.input = rs.output;
    ls.output = *HyraxCommitInt8(key, z, T, N, lw.output_blinds);
    auto lp = ProveLookup(key, ls, lw, &tp, pool.get());
    lk_prove_s.push_back(Seconds(t0));
    lk_cpu.push_back(Cpu() - c0);
    if (!lp.ok()) {
      std::fprintf(stderr, "%s\n", lp.status().ToString().c_str());
      return 1;
    }
    std::vector<uint8_t> lbytes;
    WriteLookupProof(&lbytes, *lp);
    lk_bytes = lbytes.size();
    t0 = Clock::now();
    c0 = Cpu();
    const Status lok = VerifyLookup(key, ls, *lp, &tv);
    lk_verify_s.push_back(Seconds(t0));
    lk_verify_cpu.push_back(Cpu() - c0);
    if (!lok.ok()) {
      std::fprintf(stderr, "%s\n", lok.ToString().c_str());
      return 1;
    }
  }

  // Plain integer inference of the same layer (with requantization) through veil's Session.
  Graph g;
  const int in =
      g.AddValue({"x", DType::kInt8, {static_cast<int64_t>(T), static_cast<int64_t>(K)}, 1.0});
  const int out =
      g.AddValue({"y", DType::kInt8, {static_cast<int64_t>(T), static_cast<int64_t>(N)}, 1.0});
  const int act =
      g.AddValue({"z", DType::kInt8, {static_cast<int64_t>(T), static_cast<int64_t>(N)}, 1.0});
  g.inputs = {in};
  g.outputs = {act};
  Node node;
  node.kind = OpKind::kLinear;
  node.name = "linear";
  node.inputs = {in};
  node.outputs = {out};
  node.SetParam("weight", Tensor::FromInt8({static_cast<int64_t>(N), static_cast<int64_t>(K)}, w));
  node.SetParam("bias", Tensor::FromInt32({static_cast<int64_t>(N)}, b));
  node.SetParam("multiplier", Tensor::FromInt32({1}, {1 << 30}));
  node.SetParam("shift", Tensor::FromInt32({1}, {44}));
  g.nodes.push_back(node);
  Node lookup;
  lookup.kind = OpKind::kLookup;
  lookup.name = "gelu";
  lookup.inputs = {out};
  lookup.outputs = {act};
  lookup.SetParam("table", Tensor::FromInt8({256}, gelu));
  g.nodes.push_back(lookup);
  auto session = Session::Create(g, {});
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    return 1;
  }
  const Tensor input = Tensor::FromInt8({1, static_cast<int64_t>(T), static_cast<int64_t>(K)}, x);
  for (int r = 0; r < std::max(reps, 5); ++r) {
    t0 = Clock::now();
    auto y = (*session)->Run({input});
    plain_s.push_back(Seconds(t0));
    if (!y.ok()) return 1;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double prove = Median(prove_s), verify = Median(verify_s), plain = Median(plain_s);
  const double rq_prove = Median(rq_prove_s), rq_verify = Median(rq_verify_s);
  const double lk_prove = Median(lk_prove_s), lk_verify = Median(lk_verify_s);
  std::printf("linear %zux%zu over %zu tokens (%d thread%s), median of %d:\n", N, K, T, threads,
              threads > 1 ? "s" : "", reps);
  std::printf(
      "  accumulators: prover %.3f s (cpu %.3f s), verifier %.1f ms (cpu %.1f ms), "
      "proof %zu bytes\n",
      prove, Median(prove_cpu), verify * 1e3, Median(verify_cpu) * 1e3, proof_bytes);
  if (requantize)
    std::printf(
        "  requantize:   prover %.3f s (cpu %.3f s), verifier %.1f ms (cpu %.1f ms), "
        "proof %zu bytes\n",
        rq_prove, Median(rq_cpu), rq_verify * 1e3, Median(rq_verify_cpu) * 1e3, rq_bytes);
  else
    std::printf("  requantize:   not proved (--requantize 0)\n");
  std::printf(
      "  GELU lookup:  prover %.3f s (cpu %.3f s), verifier %.1f ms (cpu %.1f ms), "
      "proof %zu bytes\n",
      lk_prove, Median(lk_cpu), lk_verify * 1e3, Median(lk_verify_cpu) * 1e3, lk_bytes);
  std::printf(
      "  whole layer:  prover %.3f s (cpu %.3f s), verifier %.1f ms (cpu %.1f ms), "
      "proof %zu bytes%s\n",
      prove + rq_prove + lk_prove, Median(prove_cpu) + Median(rq_cpu) + Median(lk_cpu),
      (verify + rq_verify + lk_verify) * 1e3,
      (Median(verify_cpu) + Median(rq_verify_cpu) + Median(lk_verify_cpu)) * 1e3,
      proof_bytes + rq_bytes + lk_bytes, requantize ? "" : " (without requantize)");
  std::printf("  plain veil inference %.3f ms; whole-layer prover / inference = %.0fx\n",
              plain * 1e3, (prove + rq_prove + lk_prove) / plain);
  std::printf("  one-time: generators %.3f s, weight+bias commitment %.3f s\n", keygen,
              weight_commit);
  std::printf("  peak RSS %.1f MB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
