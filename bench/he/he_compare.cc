// veil's side of the veil vs node-seal comparison (bench/he/compare_node_seal.py runs both
// in one run). Prints JSON lines:
//   --params : the parameter sets ({"set", "scheme", "n", "primes", "t", "scale_bits"}) so that
//              node_seal_bench.js builds SEAL contexts with exactly the same primes;
//   default  : {"lib":"veil","set":...,"op":...,"us":median} per operation, and
//              {"lib":"veil","set":...,"metric":...,"value":...} for CKKS precision.
// Timing: wall time (steady clock) of one thread, median of --reps samples after one warm-up
// run (a sample repeats a fast operation until it takes >= 2 ms), exactly as the node script
// does with process.hrtime. Wall rather than CPU time because node's process CPU time also
// counts V8's helper threads; on a shared machine, use enough --reps. Hoisted rotation =
// RotateRowsHoisted / RotateHoisted over steps 1..8, reported per rotation.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/ckks.h"
#include "veil/he/context.h"

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

int g_reps = 20;
std::string g_op;  // --op=NAME: time only that operation
constexpr int kHoistedSteps = 8;

void Report(const std::string& set, const char* op, const std::function<void()>& fn,
            double divide = 1.0) {
  if (!g_op.empty() && g_op != op) return;
  auto now_us = [] {
    return std::chrono::duration<double, std::micro>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  // Warm-up, which also sizes a sample: fast operations are repeated so that one sample
  // takes >= 2 ms (CPU clocks are coarse at the microsecond scale).
  const double t_first = now_us();
  fn();
  const double once = std::max(1.0, now_us() - t_first);
  const int inner = std::max(1, static_cast<int>(2000.0 / once));
  std::vector<double> us;
  for (int i = 0; i < g_reps; ++i) {
    const double t0 = now_us();
    for (int k = 0; k < inner; ++k) fn();
    us.push_back((now_us() - t0) / inner / divide);
  }
  std::nth_element(us.begin(), us.begin() + static_cast<long>(us.size() / 2), us.end());
  std::printf("{\"lib\":\"veil\",\"set\":\"%s\",\"op\":\"%s\",\"us\":%.2f}\n", set.c_str(), op,
              us[us.size() / 2]);
  std::fflush(stdout);
}

void Metric(const std::string& set, const char* metric, double value) {
  std::printf("{\"lib\":\"veil\",\"set\":\"%s\",\"metric\":\"%s\",\"value\":%.3f}\n", set.c_str(),
              metric, value);
  std::fflush(stdout);
}

std::string BfvName(ParamSet s) { return std::string("BFV-") + ParamSetName(s); }

void PrintParams(const std::string& name, const EncryptionParameters& p, int scale_bits) {
  std::printf(
      "{\"set\":\"%s\",\"scheme\":\"%s\",\"n\":%zu,\"t\":%llu,\"scale_bits\":%d,\"primes\":[",
      name.c_str(), p.scheme == Scheme::kBfv ? "bfv" : "ckks", p.poly_degree,
      static_cast<unsigned long long>(p.plain_modulus), scale_bits);
  for (size_t i = 0; i < p.coeff_modulus.size(); ++i) {
    std::printf("%s\"%llu\"", i == 0 ? "" : ",",
                static_cast<unsigned long long>(p.coeff_modulus[i]));
  }
  std::printf("]}\n");
}

void RunBfv(ParamSet set) {
  const std::string name = BfvName(set);
  auto ctx = Must(Context::Create(Must(StandardParameters(set))));
  KeyGenerator gen = Must(KeyGenerator::Create(ctx));
  const PublicKey pk = Must(gen.CreatePublicKey());
  const RelinKeys rk = Must(gen.CreateRelinKeys());
  std::vector<int> steps;
  for (int s = 1; s <= kHoistedSteps; ++s) steps.push_back(s);
  const GaloisKeys gk = Must(gen.CreateGaloisKeysForSteps(steps, false));
  Encryptor pk_enc = Must(Encryptor::Create(ctx, pk));
  Encryptor sk_enc = Must(Encryptor::Create(ctx, gen.secret_key()));
  Decryptor dec = Must(Decryptor::Create(ctx, gen.secret_key()));
  Evaluator eval = Must(Evaluator::Create(ctx));
  BatchEncoder enc = Must(BatchEncoder::Create(ctx));
  std::mt19937_64 rng(1);  // benchmark data only
  std::vector<uint64_t> v(ctx->n());
  for (auto& x : v) x = rng() % ctx->plain_modulus().value();
  const Plaintext plain = Must(enc.Encode(v));
  const PlaintextNtt plain_ntt = Must(eval.TransformPlain(plain));
  const Ciphertext a = Must(pk_enc.Encrypt(plain)), b = Must(pk_enc.Encrypt(plain));
  const Ciphertext prod = Must(eval.Multiply(a, b));
  // Destination reused by the copying ops (as node-seal's out-of-place calls reuse theirs).
  Ciphertext d;
  Report(name, "encode", [&] { Must(enc.Encode(v)); });
  Report(name, "decode", [&] { Must(enc.Decode(plain)); });
  Report(name, "encrypt_pk", [&] { Must(pk_enc.Encrypt(plain)); });
  Report(name, "encrypt_sk", [&] { Must(sk_enc.EncryptSymmetric(plain)); });
  Report(name, "decrypt", [&] { Must(dec.Decrypt(a)); });
  Ciphertext c = a;
  Report(name, "add", [&] { MustOk(eval.AddInPlace(c, b)); });
  Report(name, "mul_plain", [&] {
    d = a;
    MustOk(eval.MultiplyPlainInPlace(d, plain_ntt));
  });
  Report(name, "mul_ct", [&] { Must(eval.Multiply(a, b)); });
  Report(name, "relinearize", [&] {
    d = prod;
    MustOk(eval.RelinearizeInPlace(d, rk));
  });
  Report(name, "rotate", [&] {
    d = a;
    MustOk(eval.RotateRowsInPlace(d, 1, gk));
  });
  Report(
      name, "rotate_hoisted", [&] { Must(eval.RotateRowsHoisted(a, steps, gk)); }, kHoistedSteps);
}

void RunCkks(CkksParamSet set) {
  const std::string name = CkksParamSetName(set);
  auto ctx = Must(Context::Create(Must(CkksStandardParameters(set))));
  KeyGenerator gen = Must(KeyGenerator::Create(ctx));
  const PublicKey pk = Must(gen.CreatePublicKey());
  const RelinKeys rk = Must(gen.CreateRelinKeys());
  std::vector<int> steps;
  for (int s = 1; s <= kHoistedSteps; ++s) steps.push_back(s);
  const GaloisKeys gk = Must(gen.CreateGaloisKeysForSteps(steps, false));
  CkksEncryptor pk_enc = Must(CkksEncryptor::Create(ctx, pk));
  CkksEncryptor sk_enc = Must(CkksEncryptor::Create(ctx, gen.secret_key()));
  CkksDecryptor dec = Must(CkksDecryptor::Create(ctx, gen.secret_key()));
  CkksEvaluator eval = Must(CkksEvaluator::Create(ctx));
  CkksEncoder enc = Must(CkksEncoder::Create(ctx));
  const double scale = std::ldexp(1.0, kCkksDefaultScaleBits);
  std::mt19937_64 rng(2);  // benchmark data only
  std::uniform_real_distribution<double> u(-0.7, 0.7);
  // Real values, as node-seal's CKKS encoder takes real vectors.
  std::vector<double> v(enc.slot_count()), w(enc.slot_count());
  for (auto& x : v) x = u(rng);
  for (auto& x : w) x = u(rng);
  const CkksPlaintext plain = Must(enc.Encode(v, scale));
  const CkksPlaintext plain_w = Must(enc.Encode(w, scale));
  const CkksCiphertext a = Must(pk_enc.Encrypt(plain)), b = Must(pk_enc.Encrypt(plain_w));
  const CkksCiphertext prod = Must(eval.Multiply(a, b));
  const CkksCiphertext relin = Must(eval.MultiplyRelin(a, b, rk));
  // Destination reused by the copying ops (as node-seal's out-of-place calls reuse theirs).
  CkksCiphertext d;
  Report(name, "encode", [&] { Must(enc.Encode(v, scale)); });
  Report(name, "decode", [&] { Must(enc.Decode(plain)); });
  Report(name, "encrypt_pk", [&] { Must(pk_enc.Encrypt(plain)); });
  Report(name, "encrypt_sk", [&] { Must(sk_enc.EncryptSymmetric(plain)); });
  Report(name, "decrypt", [&] { Must(dec.Decrypt(a)); });
  CkksCiphertext c = a;  // in place, as node-seal's add(c, b, c); values stay small
  Report(name, "add", [&] { MustOk(eval.AddInPlace(c, b)); });
  Report(name, "mul_plain", [&] {
    d = a;
    MustOk(eval.MultiplyPlainInPlace(d, plain_w));
  });
  Report(name, "mul_ct", [&] { Must(eval.Multiply(a, b)); });
  Report(name, "relinearize", [&] {
    d = prod;
    MustOk(eval.RelinearizeInPlace(d, rk));
  });
  Report(name, "rescale", [&] {
    d = relin;
    MustOk(eval.RescaleInPlace(d));
  });
  Report(name, "rotate", [&] {
    d = a;
    MustOk(eval.RotateInPlace(d, 1, gk));
  });
  Report(
      name, "rotate_hoisted", [&] { Must(eval.RotateHoisted(a, steps, gk)); }, kHoistedSteps);
  // Precision: log2 of the max slot error, fresh and after ct x ct + relinearize + rescale.
  auto max_err = [&](const CkksCiphertext& ct, const std::function<Complex(size_t)>& want) {
    const std::vector<Complex> got = Must(enc.Decode(Must(dec.Decrypt(ct))));
    double e = 0;
    for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(got[i] - want(i)));
    return std::log2(e);
  };
  Metric(name, "precision_fresh_log2", max_err(a, [&](size_t i) { return v[i]; }));
  Metric(name, "precision_fresh_sk_log2",
         max_err(Must(sk_enc.EncryptSymmetric(plain)), [&](size_t i) { return v[i]; }));
  {
    d = a;
    MustOk(eval.MultiplyPlainInPlace(d, plain_w));
    MustOk(eval.RescaleInPlace(d));
    Metric(name, "precision_mul_plain_log2", max_err(d, [&](size_t i) { return v[i] * w[i]; }));
    d = a;
    MustOk(eval.RotateInPlace(d, 1, gk));
    Metric(name, "precision_rotate_log2",
           max_err(d, [&](size_t i) { return v[(i + 1) % v.size()]; }));
  }
  // Depth: x -> x^2 (relinearize, rescale) down to the last level, x on the unit circle so
  // that the reference stays exact; log2 of the max error after each level.
  {
    std::vector<double> theta(enc.slot_count());
    std::vector<Complex> z(enc.slot_count());
    std::uniform_real_distribution<double> angle(0, 2 * std::numbers::pi);
    for (size_t i = 0; i < z.size(); ++i) {
      theta[i] = angle(rng);
      z[i] = std::polar(1.0, theta[i]);
    }
    d = Must(pk_enc.Encrypt(Must(enc.Encode(z, scale))));
    int depth = 0;
    while (d.limbs() > 1) {
      d = Must(eval.MultiplyRelin(d, d, rk));
      MustOk(eval.RescaleInPlace(d));
      ++depth;
      const std::string m = "precision_depth" + std::to_string(depth) + "_log2";
      Metric(name, m.c_str(),
             max_err(d, [&](size_t i) { return std::polar(1.0, std::ldexp(theta[i], depth)); }));
    }
  }
  CkksCiphertext r = relin;
  MustOk(eval.RescaleInPlace(r));
  Metric(name, "precision_mul_log2", max_err(r, [&](size_t i) { return v[i] * w[i]; }));
}

}  // namespace
}  // namespace veil::he

int main(int argc, char** argv) {
  using namespace veil::he;
  // SEAL allocates from its own memory pool; veil uses malloc. Keep glibc from returning
  // freed multi-megabyte blocks to the OS between operations (which costs page faults on
  // the next allocation), so both sides measure arithmetic, not the allocator.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  bool params = false;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--params") == 0) params = true;
    if (std::strncmp(argv[i], "--reps=", 7) == 0) g_reps = std::max(1, std::atoi(argv[i] + 7));
    if (std::strncmp(argv[i], "--set=", 6) == 0) only.emplace_back(argv[i] + 6);
    if (std::strncmp(argv[i], "--op=", 5) == 0) g_op = argv[i] + 5;
  }
  auto wanted = [&](const std::string& s) {
    return only.empty() || std::find(only.begin(), only.end(), s) != only.end();
  };
  for (ParamSet s : {ParamSet::kN8192, ParamSet::kN16384}) {
    if (!wanted(BfvName(s))) continue;
    if (params) {
      PrintParams(BfvName(s), Must(StandardParameters(s)), 0);
    } else {
      RunBfv(s);
    }
  }
  for (CkksParamSet s : {CkksParamSet::kN8192, CkksParamSet::kN16384}) {
    if (!wanted(CkksParamSetName(s))) continue;
    if (params) {
      PrintParams(CkksParamSetName(s), Must(CkksStandardParameters(s)), kCkksDefaultScaleBits);
    } else {
      RunCkks(s);
    }
  }
  return 0;
}
