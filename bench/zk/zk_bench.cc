// zk primitives: field and group operations, MSM, Pedersen commitments.
//   build/bench/zk/veil_bench_zk [--benchmark_filter=...]
// Results are recorded in docs/benchmarks.md ("Zero-knowledge proofs (issue 5, in progress)").
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <random>
#include <vector>

#include "veil/thread_pool.h"
#include "veil/zk/msm.h"
#include "veil/zk/pedersen.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"
#include "veil/zk/transcript.h"

namespace veil::zk {
namespace {

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(1);
  return rng;
}

Scalar RandScalar() {
  std::array<uint8_t, 64> b;
  for (auto& x : b) x = static_cast<uint8_t>(Rng()());
  return Scalar::FromBytesWide(b);
}

Point RandPoint() {
  std::array<uint8_t, 64> b;
  for (auto& x : b) x = static_cast<uint8_t>(Rng()());
  return Point::FromUniformBytes(b);
}

// n distinct points P_0 + i*Q (cheap to make; an MSM does not care how they were made).
const std::vector<Point>& Points(size_t n) {
  static std::vector<Point> pts;
  if (pts.size() < n) {
    const Point q = RandPoint();
    const CachedPoint qc = q.ToCached();
    Point p = RandPoint();
    pts.clear();
    pts.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      pts.push_back(p);
      p = p.Add(qc);
    }
  }
  return pts;
}

const std::vector<AffineNielsPoint>& Affine(size_t n) {
  static std::vector<AffineNielsPoint> a;
  if (a.size() < n) a = BatchToAffineNiels(Points(n));
  return a;
}

void BM_ScalarMul(benchmark::State& state) {
  Scalar a = RandScalar();
  const Scalar b = RandScalar();
  for (auto _ : state) {
    a = a * b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ScalarMul);

void BM_ScalarInvert(benchmark::State& state) {
  Scalar a = RandScalar();
  for (auto _ : state) {
    a = a.Invert();
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_ScalarInvert);

void BM_FeMul(benchmark::State& state) {
  Fe a = RandPoint().x();
  const Fe b = RandPoint().y();
  for (auto _ : state) {
    a = FeMul(a, b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FeMul);

void BM_FeSquare(benchmark::State& state) {
  Fe a = RandPoint().x();
  for (auto _ : state) {
    a = FeSquare(a);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FeSquare);

void BM_PointAdd(benchmark::State& state) {  // extended + extended (converts to cached)
  Point a = RandPoint();
  const Point b = RandPoint();
  for (auto _ : state) {
    a = a + b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_PointAdd);

void BM_PointAddCached(benchmark::State& state) {
  Point a = RandPoint();
  const CachedPoint b = RandPoint().ToCached();
  for (auto _ : state) {
    a = a.Add(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_PointAddCached);

void BM_PointAddAffine(benchmark::State& state) {  // the MSM bucket addition
  Point a = RandPoint();
  const AffineNielsPoint b = Affine(1)[0];
  for (auto _ : state) {
    a = a.Add(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_PointAddAffine);

void BM_PointDouble(benchmark::State& state) {
  Point a = RandPoint();
  for (auto _ : state) {
    a = a.Double();
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_PointDouble);

void BM_MulCt(benchmark::State& state) {
  const Point p = RandPoint();
  const Scalar s = RandScalar();
  for (auto _ : state) benchmark::DoNotOptimize(p.MulCt(s));
}
BENCHMARK(BM_MulCt)->Unit(benchmark::kMicrosecond);

void BM_MulVartime(benchmark::State& state) {
  const Point p = RandPoint();
  const Scalar s = RandScalar();
  for (auto _ : state) benchmark::DoNotOptimize(p.MulVartime(s));
}
BENCHMARK(BM_MulVartime)->Unit(benchmark::kMicrosecond);

void BM_SodiumScalarMult(benchmark::State& state) {
  const auto p = RandPoint().Encode();
  const auto s = RandScalar().ToBytes();
  std::array<uint8_t, 32> out;
  for (auto _ : state) benchmark::DoNotOptimize(crypto_scalarmult_ristretto255(out.data(), s.data(), p.data()));
}
BENCHMARK(BM_SodiumScalarMult)->Unit(benchmark::kMicrosecond);

void BM_Encode(benchmark::State& state) {
  const Point p = RandPoint();
  for (auto _ : state) benchmark::DoNotOptimize(p.Encode());
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMicrosecond);

void BM_Decode(benchmark::State& state) {
  const auto e = RandPoint().Encode();
  for (auto _ : state) benchmark::DoNotOptimize(Point::Decode(e));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMicrosecond);

void BM_FromUniformBytes(benchmark::State& state) {
  std::array<uint8_t, 64> b{};
  for (auto _ : state) {
    b[0]++;
    benchmark::DoNotOptimize(Point::FromUniformBytes(b));
  }
}
BENCHMARK(BM_FromUniformBytes)->Unit(benchmark::kMicrosecond);

void BM_SodiumFromHash(benchmark::State& state) {
  std::array<uint8_t, 64> b{};
  std::array<uint8_t, 32> out;
  for (auto _ : state) {
    b[0]++;
    crypto_core_ristretto255_from_hash(out.data(), b.data());
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SodiumFromHash)->Unit(benchmark::kMicrosecond);

// MSM of 2^k points with full-size random scalars; arg 1 = threads.
void BM_Msm(benchmark::State& state) {
  const size_t n = size_t{1} << state.range(0);
  ThreadPool pool(static_cast<int>(state.range(1)));
  std::vector<Scalar> scalars(n);
  for (auto& s : scalars) s = RandScalar();
  const std::span<const AffineNielsPoint> pts(Affine(n).data(), n);
  for (auto _ : state) benchmark::DoNotOptimize(MsmAffine(scalars, pts, &pool));
  state.counters["ns_per_point"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
  state.counters["window"] = MsmWindowBits((n + state.range(1) - 1) / state.range(1), 253);
}
BENCHMARK(BM_Msm)
    ->Args({10, 1})->Args({10, 2})->Args({14, 1})->Args({14, 2})
    ->Args({16, 1})->Args({16, 2})->Args({20, 1})->Args({20, 2})
    ->Unit(benchmark::kMillisecond)->MinTime(0.5);

// The naive alternative on libsodium's API: one crypto_scalarmult_ristretto255 and one
// crypto_core_ristretto255_add per point (compressed points in and out).
void BM_SodiumNaiveMsm(benchmark::State& state) {
  const size_t n = size_t{1} << state.range(0);
  std::vector<std::array<uint8_t, 32>> pts(n), sc(n);
  for (size_t i = 0; i < n; ++i) {
    pts[i] = Points(n)[i].Encode();
    sc[i] = RandScalar().ToBytes();
  }
  for (auto _ : state) {
    std::array<uint8_t, 32> acc{}, term;
    for (size_t i = 0; i < n; ++i) {
      if (crypto_scalarmult_ristretto255(term.data(), sc[i].data(), pts[i].data()) != 0)
        state.SkipWithError("identity product");
      crypto_core_ristretto255_add(acc.data(), acc.data(), term.data());
    }
    benchmark::DoNotOptimize(acc);
  }
}
BENCHMARK(BM_SodiumNaiveMsm)->Arg(10)->Unit(benchmark::kMillisecond)->Iterations(2);

// Pedersen commitment of 2^20 int8 values (including r*H); arg = threads.
void BM_CommitInt8_1M(benchmark::State& state) {
  constexpr size_t n = size_t{1} << 20;
  static const PedersenGenerators* gens = [] {
    ThreadPool pool(2);
    return new PedersenGenerators(PedersenGenerators::Derive("bench", n, &pool));
  }();
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::vector<int8_t> m(n);
  for (auto& x : m) x = static_cast<int8_t>(Rng()());
  const Scalar r = Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(PedersenCommitInt8(*gens, m, r, &pool));
}
BENCHMARK(BM_CommitInt8_1M)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(0.5);

// Transparent setup: derive 2^16 generators (hash-to-group + batch normalisation).
void BM_DeriveGenerators(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(PedersenGenerators::Derive("bench-derive", size_t{1} << 16, &pool));
}
BENCHMARK(BM_DeriveGenerators)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_TranscriptChallenge(benchmark::State& state) {
  Transcript t("bench");
  const Point p = RandPoint();
  for (auto _ : state) {
    t.AppendPoint("p", p);
    benchmark::DoNotOptimize(t.ChallengeScalar("c"));
  }
}
BENCHMARK(BM_TranscriptChallenge)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace veil::zk

BENCHMARK_MAIN();
