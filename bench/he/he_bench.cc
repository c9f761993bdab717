// Per-operation times of veil's BFV at N = 8192 and 16384 (ParamSet::kN8192 / kN16384:
// 4 / 8 data primes + 1 special prime, t = 786433), one thread, CPU time. Before the
// benchmarks it prints the invariant noise budget of fresh and evaluated ciphertexts for
// every named parameter set (--budgets_only prints just that).
//
//   veil_bench_he --benchmark_filter='N8192'
//
// Encrypted Linear layers (veil/he/linear.h) with t = kLinearPlainModulus (30 bits):
// BFV/<set>/Linear<out>x<in> times one Evaluate of a fully packed ciphertext (the layer's
// batch capacity of vectors; "per_vector" = time / capacity). --budgets_only also prints
// the noise budgets with the 30-bit t and after each layer.
//
//   veil_bench_he --benchmark_filter='Linear'
#include <benchmark/benchmark.h>

#include <chrono>
#include <tuple>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/context.h"
#include "veil/he/linear.h"

namespace veil::he {
namespace {

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

void MustOk(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
}

struct Setup {
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> gen;
  PublicKey pk;
  RelinKeys rk;
  GaloisKeys gk;
  std::unique_ptr<Encryptor> pk_enc, sk_enc;
  std::unique_ptr<Decryptor> dec;
  std::unique_ptr<Evaluator> eval;
  std::unique_ptr<BatchEncoder> encoder;
  std::vector<uint64_t> values;
  Plaintext plain;
  PlaintextNtt plain_ntt;
  Ciphertext a, b;
};

const Setup& Get(ParamSet set) {
  static std::map<ParamSet, std::unique_ptr<Setup>> cache;
  auto it = cache.find(set);
  if (it != cache.end()) return *it->second;
  auto s = std::make_unique<Setup>();
  s->ctx = Must(Context::Create(Must(StandardParameters(set))));
  s->gen = std::make_unique<KeyGenerator>(Must(KeyGenerator::Create(s->ctx)));
  s->pk = Must(s->gen->CreatePublicKey());
  s->rk = Must(s->gen->CreateRelinKeys());
  s->gk = Must(s->gen->CreateGaloisKeysForSteps({1}, true));
  s->pk_enc = std::make_unique<Encryptor>(Must(Encryptor::Create(s->ctx, s->pk)));
  s->sk_enc = std::make_unique<Encryptor>(Must(Encryptor::Create(s->ctx, s->gen->secret_key())));
  s->dec = std::make_unique<Decryptor>(Must(Decryptor::Create(s->ctx, s->gen->secret_key())));
  s->eval = std::make_unique<Evaluator>(Must(Evaluator::Create(s->ctx)));
  s->encoder = std::make_unique<BatchEncoder>(Must(BatchEncoder::Create(s->ctx)));
  std::mt19937_64 rng(1);  // benchmark data only
  s->values.resize(s->ctx->n());
  for (auto& v : s->values) v = rng() % kDefaultPlainModulus;
  s->plain = Must(s->encoder->Encode(s->values));
  s->plain_ntt = Must(s->eval->TransformPlain(s->plain));
  s->a = Must(s->pk_enc->Encrypt(s->plain));
  s->b = Must(s->pk_enc->Encrypt(s->plain));
  const Setup& ref = *s;
  cache.emplace(set, std::move(s));
  return ref;
}

ParamSet SetOf(const benchmark::State& st) { return static_cast<ParamSet>(st.range(0)); }

void BM_Encode(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.encoder->Encode(s.values)));
}
void BM_Decode(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.encoder->Decode(s.plain)));
}
void BM_EncryptPublic(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.pk_enc->Encrypt(s.plain)));
}
void BM_EncryptSymmetric(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.sk_enc->EncryptSymmetric(s.plain)));
}
void BM_Decrypt(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.dec->Decrypt(s.a)));
}
void BM_Add(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  Ciphertext c = s.a;
  for (auto _ : st) MustOk(s.eval->AddInPlace(c, s.b));
}
void BM_MulPlain(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  Ciphertext c = s.a;
  for (auto _ : st) {
    st.PauseTiming();
    c = s.a;
    st.ResumeTiming();
    MustOk(s.eval->MultiplyPlainInPlace(c, s.plain_ntt));
  }
}
void BM_MulCt(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  for (auto _ : st) benchmark::DoNotOptimize(Must(s.eval->Multiply(s.a, s.b)));
}
void BM_Relinearize(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  const Ciphertext prod = Must(s.eval->Multiply(s.a, s.b));
  Ciphertext c;
  for (auto _ : st) {
    st.PauseTiming();
    c = prod;
    st.ResumeTiming();
    MustOk(s.eval->RelinearizeInPlace(c, s.rk));
  }
}
void BM_RotateRows(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  Ciphertext c = s.a;
  for (auto _ : st) MustOk(s.eval->RotateRowsInPlace(c, 1, s.gk));
}
void BM_RotateColumns(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  Ciphertext c = s.a;
  for (auto _ : st) MustOk(s.eval->RotateColumnsInPlace(c, s.gk));
}
void BM_NttOnePrime(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  std::vector<uint64_t> x(s.plain.coeffs.begin(), s.plain.coeffs.end());
  for (auto _ : st) {
    s.ctx->key_ntt()[0].Forward(x.data());
    benchmark::DoNotOptimize(x.data());
  }
}
void BM_InverseNttOnePrime(benchmark::State& st) {
  const Setup& s = Get(SetOf(st));
  std::vector<uint64_t> x(s.plain.coeffs.begin(), s.plain.coeffs.end());
  for (auto _ : st) {
    s.ctx->key_ntt()[0].Inverse(x.data());
    benchmark::DoNotOptimize(x.data());
  }
}

void Register() {
  const std::pair<const char*, void (*)(benchmark::State&)> ops[] = {
      {"Encode", BM_Encode},           {"Decode", BM_Decode},
      {"EncryptPublic", BM_EncryptPublic}, {"EncryptSymmetric", BM_EncryptSymmetric},
      {"Decrypt", BM_Decrypt},         {"Add", BM_Add},
      {"MulPlain", BM_MulPlain},       {"MulCt", BM_MulCt},
      {"Relinearize", BM_Relinearize}, {"RotateRows", BM_RotateRows},
      {"RotateColumns", BM_RotateColumns}, {"NttOnePrime", BM_NttOnePrime},
      {"InverseNttOnePrime", BM_InverseNttOnePrime}};
  for (ParamSet set : {ParamSet::kN8192, ParamSet::kN16384}) {
    for (const auto& [name, fn] : ops) {
      benchmark::RegisterBenchmark((std::string("BFV/") + ParamSetName(set) + "/" + name).c_str(), fn)
          ->Arg(static_cast<int>(set))
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

void PrintBudgets() {
  std::printf("# invariant noise budget (bits), t = %llu\n",
              static_cast<unsigned long long>(kDefaultPlainModulus));
  std::printf("%-8s %6s %10s %10s %10s %12s %14s %s\n", "set", "logQP", "fresh_pk", "fresh_sk",
              "after_ctxpt", "after_ctxct", "after_rotate", "squarings_until_0 (budgets)");
  for (ParamSet set : {ParamSet::kN4096, ParamSet::kN8192, ParamSet::kN16384, ParamSet::kN32768}) {
    const Setup& s = Get(set);
    const int pk = Must(s.dec->InvariantNoiseBudget(s.a));
    const int sk = Must(s.dec->InvariantNoiseBudget(Must(s.sk_enc->EncryptSymmetric(s.plain))));
    Ciphertext c = s.a;
    MustOk(s.eval->MultiplyPlainInPlace(c, s.plain_ntt));
    const int ctpt = Must(s.dec->InvariantNoiseBudget(c));
    const Ciphertext m = Must(s.eval->MultiplyRelin(s.a, s.b, s.rk));
    const int ctct = Must(s.dec->InvariantNoiseBudget(m));
    Ciphertext r = s.a;
    MustOk(s.eval->RotateRowsInPlace(r, 1, s.gk));
    const int rot = Must(s.dec->InvariantNoiseBudget(r));
    std::string chain;
    Ciphertext sq = s.a;
    int budget = pk, rounds = 0;
    while (budget > 0) {
      sq = Must(s.eval->MultiplyRelin(sq, sq, s.rk));
      budget = Must(s.dec->InvariantNoiseBudget(sq));
      chain += " " + std::to_string(budget);
      ++rounds;
    }
    std::printf("%-8s %6d %10d %10d %10d %12d %14d %d (%s )\n", ParamSetName(set),
                s.ctx->total_modulus_bits(), pk, sk, ctpt, ctct, rot, rounds - 1, chain.c_str());
  }
  std::fflush(stdout);
}


// --- Encrypted Linear layers ---------------------------------------------------------

struct LinearSetup {
  std::shared_ptr<const Context> ctx;
  std::unique_ptr<KeyGenerator> gen;
  std::unique_ptr<Encryptor> sk_enc;
  std::unique_ptr<Decryptor> dec;
  std::unique_ptr<Evaluator> eval;
  std::unique_ptr<BatchEncoder> encoder;
  std::unique_ptr<EncryptedLinearLayer> layer;
  GaloisKeys gk;
  std::vector<Ciphertext> inputs;
  double create_ms = 0, keygen_ms = 0;
};

std::shared_ptr<const Context> LinearContext(ParamSet set) {
  static std::map<ParamSet, std::shared_ptr<const Context>> cache;
  auto& c = cache[set];
  if (!c) c = Must(Context::Create(Must(StandardParameters(set, kLinearPlainModulus))));
  return c;
}

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// One cached setup at a time (Galois keys and diagonals of a 1024x1024 layer at N = 8192
// take ~0.4 GB).
LinearSetup& GetLinear(ParamSet set, size_t out, size_t in) {
  static std::unique_ptr<LinearSetup> current;
  static std::tuple<ParamSet, size_t, size_t> key{};
  if (current && key == std::make_tuple(set, out, in)) return *current;
  current.reset();
  key = std::make_tuple(set, out, in);
  auto s = std::make_unique<LinearSetup>();
  s->ctx = LinearContext(set);
  s->gen = std::make_unique<KeyGenerator>(Must(KeyGenerator::Create(s->ctx)));
  s->sk_enc = std::make_unique<Encryptor>(Must(Encryptor::Create(s->ctx, s->gen->secret_key())));
  s->dec = std::make_unique<Decryptor>(Must(Decryptor::Create(s->ctx, s->gen->secret_key())));
  s->eval = std::make_unique<Evaluator>(Must(Evaluator::Create(s->ctx)));
  s->encoder = std::make_unique<BatchEncoder>(Must(BatchEncoder::Create(s->ctx)));
  std::mt19937_64 rng(7);  // benchmark data only
  std::vector<int8_t> w(out * in);
  for (auto& x : w) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int32_t> bias(out);
  for (auto& b : bias) b = static_cast<int32_t>(rng() % 20001) - 10000;
  auto t0 = std::chrono::steady_clock::now();
  s->layer = std::make_unique<EncryptedLinearLayer>(
      Must(EncryptedLinearLayer::Create(s->ctx, out, in, w, bias)));
  s->create_ms = MsSince(t0);
  t0 = std::chrono::steady_clock::now();
  s->gk = Must(s->gen->CreateGaloisKeysForSteps(s->layer->RequiredGaloisSteps(), false));
  s->keygen_ms = MsSince(t0);
  std::vector<std::vector<int8_t>> xs(s->layer->batch_capacity(), std::vector<int8_t>(in));
  for (auto& x : xs) {
    for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  }
  for (const Plaintext& p : Must(s->layer->EncodeInputs(*s->encoder, xs))) {
    s->inputs.push_back(Must(s->sk_enc->EncryptSymmetric(p)));
  }
  current = std::move(s);
  return *current;
}

void BM_Linear(benchmark::State& st) {
  const ParamSet set = SetOf(st);
  const size_t out = static_cast<size_t>(st.range(1)), in = static_cast<size_t>(st.range(2));
  LinearSetup& s = GetLinear(set, out, in);
  Ciphertext r;
  for (auto _ : st) r = Must(s.layer->Evaluate(*s.eval, s.inputs, s.gk));
  const double cap = static_cast<double>(s.layer->batch_capacity());
  st.counters["batch"] = cap;
  st.counters["rotations"] = static_cast<double>(s.layer->rotations_per_evaluation());
  st.counters["products"] = static_cast<double>(s.layer->plain_products());
  st.counters["galois_keys"] = static_cast<double>(s.gk.keys.size());
  st.counters["create_ms"] = s.create_ms;
  st.counters["keygen_ms"] = s.keygen_ms;
  st.counters["budget_left"] = Must(s.dec->InvariantNoiseBudget(r));
  // Seconds of wall time per packed vector (printed with an SI prefix: 98m = 98 ms).
  st.counters["s_per_vector"] = benchmark::Counter(
      cap, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void RegisterLinear() {
  const struct {
    ParamSet set;
    int64_t out, in;
  } cases[] = {{ParamSet::kN8192, 1024, 1024},
               {ParamSet::kN8192, 256, 784},
               {ParamSet::kN16384, 256, 784}};
  for (const auto& c : cases) {
    benchmark::RegisterBenchmark((std::string("BFV/") + ParamSetName(c.set) + "/Linear" +
                                  std::to_string(c.out) + "x" + std::to_string(c.in)).c_str(),
                                 BM_Linear)
        ->Args({static_cast<int64_t>(c.set), c.out, c.in})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

void PrintLinearBudgets() {
  std::printf("# invariant noise budget (bits), t = %llu (kLinearPlainModulus)\n",
              static_cast<unsigned long long>(kLinearPlainModulus));
  std::printf("%-8s %10s %10s %12s %12s\n", "set", "fresh_pk", "fresh_sk", "after_ctxpt",
              "after_ctxct");
  for (ParamSet set : {ParamSet::kN4096, ParamSet::kN8192, ParamSet::kN16384, ParamSet::kN32768}) {
    auto ctx = LinearContext(set);
    KeyGenerator gen = Must(KeyGenerator::Create(ctx));
    Encryptor pk_enc = Must(Encryptor::Create(ctx, Must(gen.CreatePublicKey())));
    Encryptor sk_enc = Must(Encryptor::Create(ctx, gen.secret_key()));
    Decryptor dec = Must(Decryptor::Create(ctx, gen.secret_key()));
    Evaluator eval = Must(Evaluator::Create(ctx));
    BatchEncoder enc = Must(BatchEncoder::Create(ctx));
    const RelinKeys rk = Must(gen.CreateRelinKeys());
    std::mt19937_64 rng(3);  // benchmark data only
    std::vector<uint64_t> v(ctx->n());
    for (auto& x : v) x = rng() % kLinearPlainModulus;
    const Plaintext p = Must(enc.Encode(v));
    const Ciphertext a = Must(pk_enc.Encrypt(p));
    Ciphertext c = a;
    MustOk(eval.MultiplyPlainInPlace(c, Must(eval.TransformPlain(p))));
    const int ctct = Must(dec.InvariantNoiseBudget(Must(eval.MultiplyRelin(a, a, rk))));
    std::printf("%-8s %10d %10d %12d %12d\n", ParamSetName(set), Must(dec.InvariantNoiseBudget(a)),
                Must(dec.InvariantNoiseBudget(Must(sk_enc.EncryptSymmetric(p)))),
                Must(dec.InvariantNoiseBudget(c)), ctct);
  }
  std::printf("# budget after one encrypted Linear layer (seeded sk input, full batch)\n");
  const struct {
    ParamSet set;
    size_t out, in;
  } cases[] = {{ParamSet::kN8192, 1024, 1024}, {ParamSet::kN8192, 256, 784},
               {ParamSet::kN8192, 128, 256},   {ParamSet::kN8192, 10, 128},
               {ParamSet::kN16384, 256, 784}};
  for (const auto& c : cases) {
    LinearSetup& s = GetLinear(c.set, c.out, c.in);
    const Ciphertext r = Must(s.layer->Evaluate(*s.eval, s.inputs, s.gk));
    std::printf("%-8s Linear %zux%zu: budget %d, batch %zu, %zu products, %zu rotations, "
                "%zu Galois keys, create %.0f ms, keygen %.0f ms\n",
                ParamSetName(c.set), c.out, c.in, Must(s.dec->InvariantNoiseBudget(r)),
                s.layer->batch_capacity(), s.layer->plain_products(),
                s.layer->rotations_per_evaluation(), s.gk.keys.size(), s.create_ms, s.keygen_ms);
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace veil::he

int main(int argc, char** argv) {
  bool budgets_only = false;
  for (int i = 1; i < argc; ++i) budgets_only |= std::strcmp(argv[i], "--budgets_only") == 0;
  veil::he::PrintBudgets();
  if (budgets_only) {
    veil::he::PrintLinearBudgets();
    return 0;
  }
  veil::he::Register();
  veil::he::RegisterLinear();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
