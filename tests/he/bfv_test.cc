#include "veil/he/bfv.h"

#include <gtest/gtest.h>

#include <string>

#include "he_test_util.h"
#include "veil/he/context.h"
#include "veil/he/serialize.h"

namespace veil::he {
namespace {

using testing::DecryptSlots;
using testing::EncryptSlots;
using testing::Keys;
using testing::Must;
using testing::RandomSlots;

constexpr uint64_t kT = kDefaultPlainModulus;

uint64_t MulT(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>(static_cast<u128>(a) * b % kT);
}

// ---------------------------------------------------------------- parameters

TEST(HeParams, StandardSetsAreWithinTheBound) {
  for (ParamSet set : {ParamSet::kN4096, ParamSet::kN8192, ParamSet::kN16384, ParamSet::kN32768}) {
    EncryptionParameters p = Must(StandardParameters(set));
    Result<std::shared_ptr<const Context>> ctx = Context::Create(p);
    ASSERT_TRUE(ctx.ok()) << ParamSetName(set) << ": " << ctx.status().ToString();
    EXPECT_LE((*ctx)->total_modulus_bits(), MaxModulusBits128(p.poly_degree));
    EXPECT_GE((*ctx)->total_modulus_bits(), MaxModulusBits128(p.poly_degree) - 2);
    EXPECT_TRUE((*ctx)->batching_enabled());
  }
}

void ExpectRefused(const EncryptionParameters& p, const std::string& why) {
  Result<std::shared_ptr<const Context>> ctx = Context::Create(p);
  ASSERT_FALSE(ctx.ok()) << "accepted parameters that should be refused: " << why;
  EXPECT_NE(ctx.status().message().find(why), std::string::npos) << ctx.status().message();
}

TEST(HeParams, InsecureAndMalformedParametersAreRefused) {
  const EncryptionParameters good = Must(StandardParameters(ParamSet::kN8192));
  {
    EncryptionParameters p = good;  // 6 x 44 bits = 264 > 218
    p.coeff_modulus = Must(GenerateNttPrimes(44, 8192, 6));
    ExpectRefused(p, "insecure parameters: log2(Q*P) = 264 bits exceeds");
  }
  {
    EncryptionParameters p = good;  // 218 + a 20-bit prime
    p.coeff_modulus.insert(p.coeff_modulus.begin(), Must(GenerateNttPrimes(20, 8192, 1))[0]);
    ExpectRefused(p, "exceeds the HomomorphicEncryption.org 128-bit bound of 218");
  }
  {
    EncryptionParameters p = Must(StandardParameters(ParamSet::kN16384));
    p.poly_degree = 8192;  // 438-bit modulus at N = 8192 (primes are also 1 mod 16384 * 2 / 2)
    ExpectRefused(p, "insecure parameters");
  }
  {
    EncryptionParameters p = good;
    p.poly_degree = 65536;
    ExpectRefused(p, "is not a power of two in [1024, 32768]");
    p.poly_degree = 6000;
    ExpectRefused(p, "is not a power of two in [1024, 32768]");
    p.poly_degree = 512;
    ExpectRefused(p, "is not a power of two in [1024, 32768]");
  }
  {
    EncryptionParameters p = good;
    p.coeff_modulus[0] += 2 * 8192;  // 1 mod 2N still, but (almost surely) composite
    while (IsPrime(p.coeff_modulus[0])) p.coeff_modulus[0] += 2 * 8192;
    ExpectRefused(p, "is not prime");
  }
  {
    EncryptionParameters p = good;
    p.coeff_modulus[1] = p.coeff_modulus[0];
    ExpectRefused(p, "appears twice");
  }
  {
    EncryptionParameters p = good;
    p.coeff_modulus[0] = 1000000007;  // prime, not 1 mod 16384
    ExpectRefused(p, "not NTT-friendly");
  }
  {
    EncryptionParameters p = good;
    p.coeff_modulus = {p.coeff_modulus[0]};
    ExpectRefused(p, "at least one data prime and the special prime");
  }
  {
    EncryptionParameters p = good;
    std::swap(p.coeff_modulus.front(), p.coeff_modulus.back());
    if (p.coeff_modulus.back() < p.coeff_modulus.front()) {
      ExpectRefused(p, "special (last) prime must be at least as large");
    }
  }
  {
    EncryptionParameters p = good;
    p.plain_modulus = 1;
    ExpectRefused(p, "plain modulus t=1 is not in [2, 2^32)");
    p.plain_modulus = uint64_t{1} << 33;
    ExpectRefused(p, "is not in [2, 2^32)");
  }
}

TEST(HeParams, NonBatchingPlainModulus) {
  EncryptionParameters p = Must(StandardParameters(ParamSet::kN4096, 1024));
  std::shared_ptr<const Context> ctx = Must(Context::Create(p));
  EXPECT_FALSE(ctx->batching_enabled());
  EXPECT_FALSE(BatchEncoder::Create(ctx).ok());
  // Coefficient encoding still works: encrypt a raw plaintext polynomial and decrypt it.
  KeyGenerator gen = Must(KeyGenerator::Create(ctx));
  Encryptor enc = Must(Encryptor::Create(ctx, gen.secret_key()));
  Decryptor dec = Must(Decryptor::Create(ctx, gen.secret_key()));
  Plaintext pt{ctx->params_id(), RandomSlots(4096, 1024, 7)};
  EXPECT_EQ(Must(dec.Decrypt(Must(enc.EncryptSymmetric(pt)))).coeffs, pt.coeffs);
}

// ---------------------------------------------------------------- per parameter set

class BfvTest : public ::testing::TestWithParam<ParamSet> {};

TEST_P(BfvTest, BatchEncoderRoundTrip) {
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n();
  const std::vector<uint64_t> v = RandomSlots(n, kT, 11);
  EXPECT_EQ(Must(k.encoder->Decode(Must(k.encoder->Encode(v)))), v);
  std::vector<int64_t> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<int64_t>(i % 255) - 127;
  EXPECT_EQ(Must(k.encoder->DecodeSigned(Must(k.encoder->EncodeSigned(s)))), s);
  EXPECT_FALSE(k.encoder->Encode(std::vector<uint64_t>(n + 1, 0)).ok());
  EXPECT_FALSE(k.encoder->Encode({kT}).ok());
  EXPECT_FALSE(k.encoder->EncodeSigned({static_cast<int64_t>(kT)}).ok());
}

TEST_P(BfvTest, EncryptDecryptRoundTrip) {
  const auto& k = Keys(GetParam());
  const std::vector<uint64_t> v = RandomSlots(k.ctx->n(), kT, 12);
  for (bool symmetric : {false, true}) {
    const Ciphertext ct = EncryptSlots(k, v, symmetric);
    EXPECT_EQ(ct.seed.has_value(), symmetric);
    EXPECT_EQ(DecryptSlots(k, ct), v);
    const int budget = Must(k.dec->InvariantNoiseBudget(ct));
    EXPECT_GT(budget, 20) << (symmetric ? "symmetric" : "public key");
  }
  // Edge values.
  std::vector<uint64_t> edge(k.ctx->n(), kT - 1);
  edge[0] = 0;
  EXPECT_EQ(DecryptSlots(k, EncryptSlots(k, edge, false)), edge);
}

TEST_P(BfvTest, EncryptionsAreRandomized) {
  const auto& k = Keys(GetParam());
  const std::vector<uint64_t> v = RandomSlots(k.ctx->n(), kT, 13);
  for (bool symmetric : {false, true}) {
    const Ciphertext a = EncryptSlots(k, v, symmetric), b = EncryptSlots(k, v, symmetric);
    EXPECT_FALSE(a.polys[0] == b.polys[0]);
    EXPECT_FALSE(a.polys[1] == b.polys[1]);
    if (symmetric) {
      EXPECT_NE(*a.seed, *b.seed);
    }
  }
}

TEST_P(BfvTest, AddSubNegatePlain) {
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n();
  const auto x = RandomSlots(n, kT, 21), y = RandomSlots(n, kT, 22), z = RandomSlots(n, kT, 23);
  Ciphertext cx = EncryptSlots(k, x, false);
  const Ciphertext cy = EncryptSlots(k, y, true);
  ASSERT_TRUE(k.eval->AddInPlace(cx, cy).ok());
  ASSERT_TRUE(k.eval->AddPlainInPlace(cx, Must(k.encoder->Encode(z))).ok());
  std::vector<uint64_t> expect(n);
  for (size_t i = 0; i < n; ++i) expect[i] = (x[i] + y[i] + z[i]) % kT;
  EXPECT_EQ(DecryptSlots(k, cx), expect);
  ASSERT_TRUE(k.eval->SubInPlace(cx, cy).ok());
  ASSERT_TRUE(k.eval->SubPlainInPlace(cx, Must(k.encoder->Encode(z))).ok());
  EXPECT_EQ(DecryptSlots(k, cx), x);
  ASSERT_TRUE(k.eval->NegateInPlace(cx).ok());
  for (size_t i = 0; i < n; ++i) expect[i] = (kT - x[i]) % kT;
  EXPECT_EQ(DecryptSlots(k, cx), expect);
}

TEST_P(BfvTest, MultiplyPlain) {
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n();
  const auto x = RandomSlots(n, kT, 31), w = RandomSlots(n, kT, 32);
  Ciphertext c = EncryptSlots(k, x, true);
  const int before = Must(k.dec->InvariantNoiseBudget(c));
  ASSERT_TRUE(
      k.eval->MultiplyPlainInPlace(c, Must(k.eval->TransformPlain(Must(k.encoder->Encode(w)))))
          .ok());
  std::vector<uint64_t> expect(n);
  for (size_t i = 0; i < n; ++i) expect[i] = MulT(x[i], w[i]);
  EXPECT_EQ(DecryptSlots(k, c), expect);
  const int after = Must(k.dec->InvariantNoiseBudget(c));
  EXPECT_LT(after, before);
  EXPECT_GT(after, 0);
}

TEST_P(BfvTest, Int8DotProductAccumulators) {
  // The use case: int8 activations times int8 weights, slot-wise, accumulated over K terms;
  // signed results must come back exactly (|sum| < t/2 for K <= 24 at t = 786433).
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n();
  std::mt19937_64 rng(41);
  std::vector<int64_t> expect(n, 0);
  Ciphertext acc;
  for (int term = 0; term < 8; ++term) {
    std::vector<int64_t> a(n), w(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = static_cast<int64_t>(rng() % 256) - 128;
      w[i] = static_cast<int64_t>(rng() % 255) - 127;
      expect[i] += a[i] * w[i];
    }
    Ciphertext c = Must(k.pk_enc->Encrypt(Must(k.encoder->EncodeSigned(a))));
    ASSERT_TRUE(k.eval
                    ->MultiplyPlainInPlace(
                        c, Must(k.eval->TransformPlain(Must(k.encoder->EncodeSigned(w)))))
                    .ok());
    if (term == 0) {
      acc = std::move(c);
    } else {
      ASSERT_TRUE(k.eval->AddInPlace(acc, c).ok());
    }
  }
  EXPECT_EQ(Must(k.encoder->DecodeSigned(Must(k.dec->Decrypt(acc)))), expect);
}

TEST_P(BfvTest, MultiplyAndRelinearize) {
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n();
  const auto x = RandomSlots(n, kT, 51), y = RandomSlots(n, kT, 52);
  const Ciphertext cx = EncryptSlots(k, x, false), cy = EncryptSlots(k, y, true);
  Ciphertext prod = Must(k.eval->Multiply(cx, cy));
  ASSERT_EQ(prod.size(), 3u);
  std::vector<uint64_t> expect(n);
  for (size_t i = 0; i < n; ++i) expect[i] = MulT(x[i], y[i]);
  EXPECT_EQ(DecryptSlots(k, prod), expect);  // size-3 decryption
  const int b3 = Must(k.dec->InvariantNoiseBudget(prod));
  ASSERT_TRUE(k.eval->RelinearizeInPlace(prod, k.rk).ok());
  ASSERT_EQ(prod.size(), 2u);
  EXPECT_EQ(DecryptSlots(k, prod), expect);
  const int b2 = Must(k.dec->InvariantNoiseBudget(prod));
  EXPECT_GT(b2, 0);
  EXPECT_GE(b2, b3 - 2);  // relinearization adds little noise
  // ct x ct then ct + ct with a fresh ciphertext, and squaring.
  Ciphertext sq = Must(k.eval->MultiplyRelin(cx, cx, k.rk));
  ASSERT_TRUE(k.eval->AddInPlace(sq, cy).ok());
  for (size_t i = 0; i < n; ++i) expect[i] = (MulT(x[i], x[i]) + y[i]) % kT;
  EXPECT_EQ(DecryptSlots(k, sq), expect);
  // Relinearizing a size-2 ciphertext is an error, not a crash.
  EXPECT_FALSE(k.eval->RelinearizeInPlace(sq, k.rk).ok());
}

TEST_P(BfvTest, RotationsAndColumnSwap) {
  const auto& k = Keys(GetParam());
  const size_t n = k.ctx->n(), row = n / 2;
  std::vector<uint64_t> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = (i * 7 + 3) % kT;  // a non-symmetric ramp
  const Ciphertext cx = EncryptSlots(k, x, true);
  for (int steps : {1, 2, 3, 4, 7, -1, -3, 0}) {
    Ciphertext c = cx;
    Status s = k.eval->RotateRowsInPlace(c, steps, k.gk);
    ASSERT_TRUE(s.ok()) << steps << ": " << s.ToString();
    std::vector<uint64_t> expect(n);
    for (size_t r = 0; r < 2; ++r) {
      for (size_t i = 0; i < row; ++i) {
        const size_t src =
            (i + row + static_cast<size_t>(steps % static_cast<int>(row) + static_cast<int>(row))) %
            row;
        expect[r * row + i] = x[r * row + src];
      }
    }
    EXPECT_EQ(DecryptSlots(k, c), expect) << "steps " << steps;
  }
  Ciphertext c = cx;
  ASSERT_TRUE(k.eval->RotateColumnsInPlace(c, k.gk).ok());
  std::vector<uint64_t> expect(n);
  for (size_t i = 0; i < row; ++i) {
    expect[i] = x[row + i];
    expect[row + i] = x[i];
  }
  EXPECT_EQ(DecryptSlots(k, c), expect);
  EXPECT_GT(Must(k.dec->InvariantNoiseBudget(c)), 0);
  // Missing keys and bad elements are errors.
  GaloisKeys only_swap = k.gk;
  only_swap.keys.erase(Must(GaloisEltForRowRotation(n, 1)));
  Ciphertext d = cx;
  Status s = k.eval->RotateRowsInPlace(d, 1, only_swap);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_FALSE(k.eval->ApplyGaloisInPlace(d, 2, k.gk).ok());
  EXPECT_FALSE(k.eval->RotateRowsInPlace(d, static_cast<int>(row), k.gk).ok());
}

TEST_P(BfvTest, MismatchedObjectsAreRefused) {
  const auto& k = Keys(GetParam());
  const auto& other = Keys(GetParam() == ParamSet::kN4096 ? ParamSet::kN8192 : ParamSet::kN4096);
  Ciphertext c = EncryptSlots(k, {1, 2, 3}, true);
  const Ciphertext foreign = EncryptSlots(other, {1, 2, 3}, true);
  EXPECT_FALSE(k.dec->Decrypt(foreign).ok());
  EXPECT_FALSE(k.eval->AddInPlace(c, foreign).ok());
  EXPECT_FALSE(k.eval->RelinearizeInPlace(c, other.rk).ok());
  EXPECT_FALSE(Encryptor::Create(k.ctx, other.pk).ok());
  EXPECT_FALSE(Decryptor::Create(k.ctx, other.sk).ok());
  Ciphertext broken = c;
  broken.polys[1].Truncate(1);
  EXPECT_FALSE(k.eval->AddInPlace(c, broken).ok());
  EXPECT_FALSE(k.dec->Decrypt(broken).ok());
  broken = c;
  broken.polys.resize(1);
  EXPECT_FALSE(k.eval->NegateInPlace(broken).ok());
  EXPECT_FALSE(k.eval->Multiply(c, broken).ok());
  EXPECT_FALSE(k.pk_enc->EncryptSymmetric(Must(k.encoder->Encode({1}))).ok());
  EXPECT_FALSE(k.sk_enc->Encrypt(Must(k.encoder->Encode({1}))).ok());
}

TEST_P(BfvTest, NoiseBudgetDecreasesAndDecryptionHoldsUntilItIsGone) {
  const auto& k = Keys(GetParam());
  if (k.ctx->n() > 8192) GTEST_SKIP() << "run in he_slow_test";
  const size_t n = k.ctx->n();
  std::vector<uint64_t> plain = RandomSlots(n, kT, 61);
  Ciphertext c = EncryptSlots(k, plain, false);
  int budget = Must(k.dec->InvariantNoiseBudget(c));
  int rounds = 0;
  while (budget > 0) {
    EXPECT_EQ(DecryptSlots(k, c), plain) << "after " << rounds << " squarings, budget " << budget;
    c = Must(k.eval->MultiplyRelin(c, c, k.rk));
    for (auto& v : plain) v = MulT(v, v);
    const int next = Must(k.dec->InvariantNoiseBudget(c));
    EXPECT_LT(next, budget);
    budget = next;
    ++rounds;
  }
  // N=4096 has room for one squaring, N=8192 for three.
  EXPECT_GE(rounds, k.ctx->n() == 4096 ? 1 : 3);
}

INSTANTIATE_TEST_SUITE_P(Sets, BfvTest,
                         ::testing::Values(ParamSet::kN4096, ParamSet::kN8192, ParamSet::kN16384),
                         [](const ::testing::TestParamInfo<ParamSet>& param_info) {
                           return std::string(ParamSetName(param_info.param));
                         });

TEST(HeSampling, SecretKeysDifferAndAreTernary) {
  const auto& k = Keys(ParamSet::kN4096);
  KeyGenerator a = Must(KeyGenerator::Create(k.ctx)), b = Must(KeyGenerator::Create(k.ctx));
  EXPECT_FALSE(a.secret_key().s == b.secret_key().s);
  RnsPoly s = a.secret_key().s;
  PolyFromNtt(s, k.ctx->key_ntt());
  size_t counts[3] = {0, 0, 0};
  const uint64_t q0 = k.ctx->key_moduli()[0].value();
  for (size_t i = 0; i < s.n(); ++i) {
    const uint64_t v = s.limb(0)[i];
    ASSERT_TRUE(v == 0 || v == 1 || v == q0 - 1);
    ++counts[v == 0 ? 0 : v == 1 ? 1 : 2];
  }
  for (size_t c : counts) {  // 4096 / 3 = 1365 each; 6 sigma ~ 180
    EXPECT_GT(c, 1185u);
    EXPECT_LT(c, 1545u);
  }
}

// ---------------------------------------------------------------- modulus switching

TEST(BfvModSwitch, ShrinksAndStillDecryptsExactly) {
  for (ParamSet set : {ParamSet::kN8192, ParamSet::kN16384}) {
    const auto& k = Keys(set);
    const size_t n = k.ctx->n(), L = k.ctx->data_limbs();
    const auto x = RandomSlots(n, kT, 41), w = RandomSlots(n, kT, 42);
    Ciphertext ct = EncryptSlots(k, x, true);
    ASSERT_TRUE(
        k.eval->MultiplyPlainInPlace(ct, Must(k.eval->TransformPlain(Must(k.encoder->Encode(w)))))
            .ok());
    std::vector<uint64_t> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = MulT(x[i], w[i]);
    const size_t full_bytes = Must(SerializeCiphertext(*k.ctx, ct)).size();
    int budget = Must(k.dec->InvariantNoiseBudget(ct));
    for (size_t limbs = L - 1; limbs >= 1 && budget > 0; --limbs) {
      ASSERT_TRUE(k.eval->ModSwitchToNextInPlace(ct).ok());
      ASSERT_EQ(ct.polys[0].limbs(), limbs);
      budget = Must(k.dec->InvariantNoiseBudget(ct));
      if (budget == 0) break;
      EXPECT_EQ(DecryptSlots(k, ct), want) << ParamSetName(set) << " limbs " << limbs;
      // Below the top level: rotation and serialization (smaller, same plaintext).
      Ciphertext rot = ct;
      ASSERT_TRUE(k.eval->RotateRowsInPlace(rot, 1, k.gk).ok());
      const std::vector<uint64_t> got = DecryptSlots(k, rot);
      EXPECT_EQ(got[0], want[1]);
      const std::vector<uint8_t> bytes = Must(SerializeCiphertext(*k.ctx, ct));
      EXPECT_LT(bytes.size(), full_bytes);
      EXPECT_EQ(DecryptSlots(k, Must(DeserializeCiphertext(*k.ctx, bytes))), want);
    }
    // ct x ct and plain add/sub need the top level; mixed levels are refused.
    Ciphertext top = EncryptSlots(k, x, false);
    Ciphertext low = top;
    ASSERT_TRUE(k.eval->ModSwitchToInPlace(low, 1).ok());
    EXPECT_FALSE(k.eval->ModSwitchToNextInPlace(low).ok());
    EXPECT_FALSE(k.eval->Multiply(low, low).ok());
    EXPECT_FALSE(k.eval->AddInPlace(top, low).ok());
    EXPECT_FALSE(k.eval->AddPlainInPlace(low, Must(k.encoder->Encode(x))).ok());
    EXPECT_FALSE(k.eval->ModSwitchToInPlace(top, L + 1).ok());
    EXPECT_EQ(DecryptSlots(k, low), x);  // a fresh ciphertext survives the switch to 1 limb
  }
}

}  // namespace
}  // namespace veil::he
