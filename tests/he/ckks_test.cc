// CKKS: every operation against a plain complex reference, for every named CKKS set, within
// the stated bounds; a depth test down to the last level; refusals.
#include "veil/he/ckks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "veil/he/context.h"
#include "veil/he/serialize.h"

namespace veil::he {
namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

struct CkksKeys {
  std::shared_ptr<const Context> ctx;
  SecretKey sk;
  PublicKey pk;
  RelinKeys rk;
  GaloisKeys gk;  // steps 1, 2, 4, -1, 5 and the conjugation
  std::unique_ptr<CkksEncoder> encoder;
  std::unique_ptr<CkksEncryptor> pk_enc, sk_enc;
  std::unique_ptr<CkksDecryptor> dec;
  std::unique_ptr<CkksEvaluator> eval;
};

const CkksKeys& Keys(CkksParamSet set) {
  static std::map<CkksParamSet, std::unique_ptr<CkksKeys>> cache;
  auto it = cache.find(set);
  if (it != cache.end()) return *it->second;
  auto k = std::make_unique<CkksKeys>();
  k->ctx = Must(Context::Create(Must(CkksStandardParameters(set))));
  KeyGenerator gen = Must(KeyGenerator::Create(k->ctx));
  k->sk = gen.secret_key();
  k->pk = Must(gen.CreatePublicKey());
  k->rk = Must(gen.CreateRelinKeys());
  k->gk = Must(gen.CreateGaloisKeysForSteps({1, 2, 4, -1, 5}, true));
  k->encoder = std::make_unique<CkksEncoder>(Must(CkksEncoder::Create(k->ctx)));
  k->pk_enc = std::make_unique<CkksEncryptor>(Must(CkksEncryptor::Create(k->ctx, k->pk)));
  k->sk_enc = std::make_unique<CkksEncryptor>(Must(CkksEncryptor::Create(k->ctx, k->sk)));
  k->dec = std::make_unique<CkksDecryptor>(Must(CkksDecryptor::Create(k->ctx, k->sk)));
  k->eval = std::make_unique<CkksEvaluator>(Must(CkksEvaluator::Create(k->ctx)));
  const CkksKeys& ref = *k;
  cache.emplace(set, std::move(k));
  return ref;
}

const double kScale = std::ldexp(1.0, kCkksDefaultScaleBits);
// Stated bounds (docs/he.md, "CKKS precision"): max slot error after one operation (and one
// rescale where the operation needs it), for values of magnitude <= 1 at scale 2^40.
const double kFreshBound = std::ldexp(1.0, -21);
const double kOpBound = std::ldexp(1.0, -17);

// Values in the unit disk (test data only).
std::vector<Complex> RandomValues(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.7, 0.7);
  std::vector<Complex> v(n);
  for (auto& x : v) x = Complex(u(rng), u(rng));
  return v;
}

double MaxError(const std::vector<Complex>& got, const std::vector<Complex>& want) {
  double e = 0;
  for (size_t i = 0; i < want.size(); ++i) e = std::max(e, std::abs(got[i] - want[i]));
  return e;
}

class CkksTest : public ::testing::TestWithParam<CkksParamSet> {
 protected:
  const CkksKeys& k() const { return Keys(GetParam()); }
  size_t slots() const { return k().encoder->slot_count(); }
  CkksCiphertext Enc(const std::vector<Complex>& v, bool symmetric = false) const {
    CkksPlaintext p = Must(k().encoder->Encode(v, kScale));
    return symmetric ? Must(k().sk_enc->EncryptSymmetric(p)) : Must(k().pk_enc->Encrypt(p));
  }
  std::vector<Complex> Dec(const CkksCiphertext& ct) const {
    return Must(k().encoder->Decode(Must(k().dec->Decrypt(ct))));
  }
};

TEST_P(CkksTest, ParametersAreWithinTheSecurityBound) {
  const Context& c = *k().ctx;
  EXPECT_EQ(c.scheme(), Scheme::kCkks);
  EXPECT_LE(c.total_modulus_bits(), MaxModulusBits128(c.n()));
  EXPECT_FALSE(c.batching_enabled());
  EXPECT_EQ(slots(), c.n() / 2);
}

TEST_P(CkksTest, EncodeDecodeRoundTrip) {
  const auto v = RandomValues(slots(), 1);
  for (size_t limbs : {size_t{1}, k().ctx->data_limbs()}) {
    const auto got = Must(k().encoder->Decode(Must(k().encoder->Encode(v, kScale, limbs))));
    EXPECT_LT(MaxError(got, v), std::ldexp(1.0, -30)) << limbs;
  }
  // Fewer values than slots: the rest decode to zero. Real inputs decode real.
  const std::vector<double> real = {0.5, -0.25, 0.125};
  const auto got = Must(k().encoder->Decode(Must(k().encoder->Encode(real, kScale))));
  for (size_t i = 0; i < slots(); ++i) {
    const double want = i < real.size() ? real[i] : 0.0;
    EXPECT_NEAR(got[i].real(), want, 1e-9);
    EXPECT_NEAR(got[i].imag(), 0.0, 1e-9);
  }
}

TEST_P(CkksTest, EncryptDecryptPublicAndSymmetric) {
  const auto v = RandomValues(slots(), 2);
  const CkksCiphertext a = Enc(v), b = Enc(v), s = Enc(v, true);
  EXPECT_LT(MaxError(Dec(a), v), kFreshBound);
  EXPECT_LT(MaxError(Dec(s), v), kFreshBound);
  EXPECT_TRUE(s.seed.has_value());
  EXPECT_FALSE(a.polys[1] == b.polys[1]);  // fresh randomness per encryption
  EXPECT_EQ(a.limbs(), k().ctx->data_limbs());
}

TEST_P(CkksTest, AddSubNegateAddPlain) {
  const auto x = RandomValues(slots(), 3), y = RandomValues(slots(), 4);
  CkksCiphertext a = Enc(x);
  const CkksCiphertext b = Enc(y, true);
  std::vector<Complex> want(slots());
  ASSERT_TRUE(k().eval->AddInPlace(a, b).ok());
  for (size_t i = 0; i < slots(); ++i) want[i] = x[i] + y[i];
  EXPECT_LT(MaxError(Dec(a), want), kFreshBound);
  ASSERT_TRUE(k().eval->SubInPlace(a, b).ok());
  ASSERT_TRUE(k().eval->SubInPlace(a, b).ok());
  for (size_t i = 0; i < slots(); ++i) want[i] = x[i] - y[i];
  EXPECT_LT(MaxError(Dec(a), want), kFreshBound);
  ASSERT_TRUE(k().eval->NegateInPlace(a).ok());
  for (auto& w : want) w = -w;
  EXPECT_LT(MaxError(Dec(a), want), kFreshBound);
  ASSERT_TRUE(k().eval->AddPlainInPlace(a, Must(k().encoder->Encode(x, kScale))).ok());
  for (size_t i = 0; i < slots(); ++i) want[i] += x[i];
  EXPECT_LT(MaxError(Dec(a), want), kFreshBound);
}

TEST_P(CkksTest, MultiplyPlainAndRescale) {
  const auto x = RandomValues(slots(), 5), w = RandomValues(slots(), 6);
  CkksCiphertext a = Enc(x);
  ASSERT_TRUE(k().eval->MultiplyPlainInPlace(a, Must(k().encoder->Encode(w, kScale))).ok());
  EXPECT_DOUBLE_EQ(a.scale, kScale * kScale);
  const size_t limbs = a.limbs();
  ASSERT_TRUE(k().eval->RescaleInPlace(a).ok());
  EXPECT_EQ(a.limbs(), limbs - 1);
  EXPECT_DOUBLE_EQ(
      a.scale, kScale * kScale / static_cast<double>(k().ctx->data_moduli()[limbs - 1].value()));
  std::vector<Complex> want(slots());
  for (size_t i = 0; i < slots(); ++i) want[i] = x[i] * w[i];
  EXPECT_LT(MaxError(Dec(a), want), kOpBound);
}

TEST_P(CkksTest, MultiplyRelinearizeRescale) {
  const auto x = RandomValues(slots(), 7), y = RandomValues(slots(), 8);
  const CkksCiphertext a = Enc(x), b = Enc(y, true);
  CkksCiphertext p = Must(k().eval->Multiply(a, b));
  ASSERT_EQ(p.size(), 3u);
  std::vector<Complex> want(slots());
  for (size_t i = 0; i < slots(); ++i) want[i] = x[i] * y[i];
  EXPECT_LT(MaxError(Dec(p), want), kOpBound);  // size-3 decryption
  ASSERT_TRUE(k().eval->RelinearizeInPlace(p, k().rk).ok());
  ASSERT_EQ(p.size(), 2u);
  EXPECT_LT(MaxError(Dec(p), want), kOpBound);
  ASSERT_TRUE(k().eval->RescaleInPlace(p).ok());
  EXPECT_LT(MaxError(Dec(p), want), kOpBound);
}

TEST_P(CkksTest, RotationsConjugationAndHoisting) {
  const auto x = RandomValues(slots(), 9);
  const size_t n = slots();
  const CkksCiphertext a = Enc(x);
  for (int steps : {1, -1, 2, 3, 7, 5, 0}) {
    CkksCiphertext r = a;
    ASSERT_TRUE(k().eval->RotateInPlace(r, steps, k().gk).ok()) << steps;
    std::vector<Complex> want(n);
    for (size_t i = 0; i < n; ++i)
      want[i] = x[(i + n + static_cast<size_t>(steps + static_cast<int>(n))) % n];
    EXPECT_LT(MaxError(Dec(r), want), kOpBound) << steps;
  }
  CkksCiphertext c = a;
  ASSERT_TRUE(k().eval->ConjugateInPlace(c, k().gk).ok());
  std::vector<Complex> conj(n);
  for (size_t i = 0; i < n; ++i) conj[i] = std::conj(x[i]);
  EXPECT_LT(MaxError(Dec(c), conj), kOpBound);
  const std::vector<int> steps = {1, 2, 4, -1, 5, 0};
  const auto hoisted = Must(k().eval->RotateHoisted(a, steps, k().gk));
  ASSERT_EQ(hoisted.size(), steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    std::vector<Complex> want(n);
    for (size_t i = 0; i < n; ++i)
      want[i] = x[(i + n + static_cast<size_t>(steps[s] + static_cast<int>(n))) % n];
    EXPECT_LT(MaxError(Dec(hoisted[s]), want), kOpBound) << steps[s];
  }
  // Below the top level too.
  CkksCiphertext low = a;
  ASSERT_TRUE(k().eval->DropToLimbsInPlace(low, 2).ok());
  ASSERT_TRUE(k().eval->RotateInPlace(low, 1, k().gk).ok());
  std::vector<Complex> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = x[(i + 1) % n];
  EXPECT_LT(MaxError(Dec(low), want), kOpBound);
}

TEST_P(CkksTest, DropLevelsThenCombine) {
  const auto x = RandomValues(slots(), 10), y = RandomValues(slots(), 11);
  CkksCiphertext a = Enc(x);
  ASSERT_TRUE(k().eval->MultiplyPlainInPlace(a, Must(k().encoder->Encode(y, kScale))).ok());
  ASSERT_TRUE(k().eval->RescaleInPlace(a).ok());
  // A fresh ciphertext brought down to a's level; its scale must match to add.
  CkksCiphertext b = Must(k().pk_enc->Encrypt(Must(k().encoder->Encode(y, a.scale, a.limbs()))));
  EXPECT_EQ(b.limbs(), a.limbs());
  CkksCiphertext c = Enc(y);
  ASSERT_TRUE(k().eval->DropToLimbsInPlace(c, a.limbs()).ok());
  CkksCiphertext wrong_scale = c;
  EXPECT_FALSE(k().eval->AddInPlace(wrong_scale, a).ok());  // 2^40 vs 2^80 / q
  ASSERT_TRUE(k().eval->AddInPlace(a, b).ok());
  std::vector<Complex> want(slots());
  for (size_t i = 0; i < slots(); ++i) want[i] = x[i] * y[i] + y[i];
  EXPECT_LT(MaxError(Dec(a), want), kOpBound);
  CkksCiphertext top = Enc(x);
  EXPECT_FALSE(k().eval->AddInPlace(top, a).ok());  // different levels
  EXPECT_FALSE(k().eval->Multiply(top, a).ok());
}

// x -> x^2 at every level until the last: values on the unit circle stay there, the
// reference is exact, and the relative error may double per squaring.
TEST_P(CkksTest, MultiplicativeDepthToTheLastLevel) {
  const size_t n = slots();
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> angle(0, 2 * M_PI);
  std::vector<double> theta(n);
  std::vector<Complex> x(n);
  for (size_t i = 0; i < n; ++i) {
    theta[i] = angle(rng);
    x[i] = std::polar(1.0, theta[i]);
  }
  CkksCiphertext a = Enc(x);
  int depth = 0;
  while (a.limbs() > 1) {
    a = Must(k().eval->MultiplyRelin(a, a, k().rk));
    ASSERT_TRUE(k().eval->RescaleInPlace(a).ok());
    ++depth;
    std::vector<Complex> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = std::polar(1.0, std::ldexp(theta[i], depth));
    const double err = MaxError(Dec(a), want);
    EXPECT_LT(err, std::ldexp(kOpBound, depth)) << "depth " << depth;
  }
  EXPECT_EQ(static_cast<size_t>(depth), k().ctx->data_limbs() - 1);
  EXPECT_FALSE(k().eval->RescaleInPlace(a).ok());  // nothing left to divide by
}

TEST_P(CkksTest, RejectsMalformedInputs) {
  const CkksKeys& kk = k();
  const auto x = RandomValues(4, 13);
  EXPECT_FALSE(kk.encoder->Encode(x, 0.5).ok());           // scale < 1
  EXPECT_FALSE(kk.encoder->Encode(x, std::nan("")).ok());  // not finite
  EXPECT_FALSE(kk.encoder->Encode(x, kScale, kk.ctx->data_limbs() + 1).ok());
  EXPECT_FALSE(kk.encoder->Encode(std::vector<Complex>(slots() + 1), kScale).ok());
  EXPECT_FALSE(kk.encoder->Encode(std::vector<double>{1e30}, kScale).ok());  // too large
  EXPECT_FALSE(kk.encoder->Encode(std::vector<double>{1.0}, std::ldexp(1.0, 300)).ok());
  CkksCiphertext a = Enc(RandomValues(slots(), 14));
  CkksCiphertext bad = a;
  bad.polys[0].Truncate(1);  // limbs differ between polynomials
  EXPECT_FALSE(kk.eval->AddInPlace(bad, a).ok());
  EXPECT_FALSE(kk.dec->Decrypt(bad).ok());
  bad = a;
  bad.polys.pop_back();
  EXPECT_FALSE(kk.eval->NegateInPlace(bad).ok());
  bad = a;
  bad.params_id ^= 1;
  EXPECT_FALSE(kk.eval->AddInPlace(a, bad).ok());
  bad = a;
  bad.scale = -1;
  EXPECT_FALSE(kk.eval->NegateInPlace(bad).ok());
  bad = a;
  bad.polys[1].set_ntt_form(false);
  EXPECT_FALSE(ValidateCkksCiphertext(*kk.ctx, bad).ok());
  bad = a;
  bad.polys[0].limb(0)[0] = kk.ctx->data_moduli()[0].value();
  EXPECT_FALSE(ValidateCkksCiphertext(*kk.ctx, bad).ok());
  // Missing keys, size-3 rotation, multiplying a size-3 ciphertext.
  CkksCiphertext r = a;
  EXPECT_EQ(kk.eval->RotateInPlace(r, 3 * 1024 + 1, GaloisKeys{kk.ctx->params_id(), {}}).code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(kk.eval->RotateHoisted(a, {6}, kk.gk).ok());
  CkksCiphertext three = Must(kk.eval->Multiply(a, a));
  EXPECT_FALSE(kk.eval->RotateInPlace(three, 1, kk.gk).ok());
  EXPECT_FALSE(kk.eval->Multiply(three, a).ok());
  // Scale overflow: 2^40 * 2^40 * 2^40 ... eventually exceeds Q at this level.
  CkksCiphertext big = a;
  Status s = Status::Ok();
  for (int i = 0; i < 20 && s.ok(); ++i) {
    s = kk.eval->MultiplyPlainInPlace(big, Must(kk.encoder->Encode(x, kScale)));
  }
  EXPECT_FALSE(s.ok());
  // A symmetric-only encryptor cannot do public-key encryption and vice versa.
  const CkksPlaintext p = Must(kk.encoder->Encode(x, kScale));
  EXPECT_FALSE(kk.sk_enc->Encrypt(p).ok());
  EXPECT_FALSE(kk.pk_enc->EncryptSymmetric(p).ok());
}

TEST_P(CkksTest, SerializationRoundTripsAndRejectsMalformedBlobs) {
  const CkksKeys& kk = k();
  const Context& c = *kk.ctx;
  const auto x = RandomValues(slots(), 15);
  const CkksCiphertext seeded = Enc(x, true);
  CkksCiphertext low = Enc(x);
  ASSERT_TRUE(kk.eval->MultiplyPlainInPlace(low, Must(kk.encoder->Encode(x, kScale))).ok());
  ASSERT_TRUE(kk.eval->RescaleInPlace(low).ok());
  const CkksCiphertext three = Must(kk.eval->Multiply(Enc(x), Enc(x)));
  std::vector<size_t> sizes;
  for (const CkksCiphertext* ct : {&seeded, static_cast<const CkksCiphertext*>(&low), &three}) {
    const std::vector<uint8_t> bytes = Must(SerializeCkksCiphertext(c, *ct));
    sizes.push_back(bytes.size());
    const CkksCiphertext back = Must(DeserializeCkksCiphertext(c, bytes));
    EXPECT_EQ(back.scale, ct->scale);
    EXPECT_EQ(back.limbs(), ct->limbs());
    ASSERT_EQ(back.size(), ct->size());
    for (size_t i = 0; i < back.size(); ++i) EXPECT_TRUE(back.polys[i] == ct->polys[i]);
    // Truncation anywhere and one trailing byte are refused.
    for (size_t cut : {size_t{0}, size_t{3}, size_t{16}, size_t{24}, size_t{32}, size_t{33},
                       size_t{60}, bytes.size() / 2, bytes.size() - 1}) {
      EXPECT_FALSE(DeserializeCkksCiphertext(c, {bytes.data(), cut}).ok()) << cut;
    }
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(DeserializeCkksCiphertext(c, longer).ok());
  }
  EXPECT_LT(sizes[0] * 3, sizes[2] * 2);  // seeded: the seed instead of c1
  const std::vector<uint8_t> good = Must(SerializeCkksCiphertext(c, low));
  auto corrupt = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> b = good;
    b[offset] = value;
    return DeserializeCkksCiphertext(c, b).ok();
  };
  EXPECT_FALSE(corrupt(0, 'X'));          // magic
  EXPECT_FALSE(corrupt(4, 9));            // version
  EXPECT_FALSE(corrupt(6, 1));            // kind: a BFV ciphertext
  EXPECT_FALSE(corrupt(7, 0x80));         // unknown flag
  EXPECT_FALSE(corrupt(8, good[8] ^ 1));  // params_id
  EXPECT_FALSE(corrupt(20, 0));           // 0 limbs
  EXPECT_FALSE(corrupt(20, static_cast<uint8_t>(c.data_limbs() + 1)));
  EXPECT_FALSE(corrupt(31, 0x7F));  // scale: exponent all ones (inf / nan)
  EXPECT_FALSE(corrupt(31, 0xBF));  // negative scale
  EXPECT_FALSE(corrupt(32, 4));     // 4 polynomials
  // A coefficient equal to its modulus (first value of c0, limb 0).
  {
    std::vector<uint8_t> b = good;
    const uint64_t q = c.data_moduli()[0].value();
    for (int i = 0; i < c.data_moduli()[0].bit_count(); ++i) {
      const size_t bit = static_cast<size_t>(i);
      uint8_t& byte = b[33 + bit / 8];
      byte = static_cast<uint8_t>((byte & ~(1u << (bit % 8))) | (((q >> i) & 1) << (bit % 8)));
    }
    const auto r = DeserializeCkksCiphertext(c, b);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("modulus"), std::string::npos);
  }
  // CKKS public keys live mod Q*P (L + 1 limbs); they round-trip and encrypt.
  const PublicKey pk = Must(DeserializePublicKey(c, Must(SerializePublicKey(c, kk.pk))));
  EXPECT_EQ(pk.b.limbs(), c.key_limbs());
  const CkksEncryptor enc2 = Must(CkksEncryptor::Create(kk.ctx, pk));
  EXPECT_LT(MaxError(Dec(Must(enc2.Encrypt(Must(kk.encoder->Encode(x, kScale))))), x), kFreshBound);
  PublicKey short_pk = kk.pk;
  short_pk.b.Truncate(c.data_limbs());
  EXPECT_FALSE(CkksEncryptor::Create(kk.ctx, short_pk).ok());
  // Wrong scheme either way.
  auto bfv = Must(Context::Create(Must(StandardParameters(ParamSet::kN8192))));
  EXPECT_FALSE(DeserializeCkksCiphertext(*bfv, good).ok());
  EXPECT_FALSE(DeserializeCiphertext(c, good).ok());
}

INSTANTIATE_TEST_SUITE_P(Sets, CkksTest,
                         ::testing::Values(CkksParamSet::kN8192, CkksParamSet::kN16384),
                         [](const auto& param_info) {
                           return std::string(CkksParamSetName(param_info.param) + 5);
                         });

TEST(CkksParams, RefusesInsecureAndMismatchedParameters) {
  EncryptionParameters p = Must(CkksStandardParameters(CkksParamSet::kN8192));
  EXPECT_TRUE(Context::Create(p).ok());
  EncryptionParameters with_t = p;
  with_t.plain_modulus = 65537;
  const auto r1 = Context::Create(with_t);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("plain_modulus must be 0"), std::string::npos);
  // One more 40-bit prime: 258 bits > 218.
  EncryptionParameters big = p;
  big.coeff_modulus.insert(big.coeff_modulus.begin() + 1,
                           Must(GenerateNttPrimes(40, 8192, 4)).back());
  const auto r2 = Context::Create(big);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("insecure"), std::string::npos);
  // Scheme-specific classes refuse the other scheme's context.
  auto ckks = Must(Context::Create(p));
  auto bfv = Must(Context::Create(Must(StandardParameters(ParamSet::kN8192))));
  EXPECT_FALSE(CkksEncoder::Create(bfv).ok());
  EXPECT_FALSE(CkksEvaluator::Create(bfv).ok());
  EXPECT_FALSE(Evaluator::Create(ckks).ok());
  EXPECT_FALSE(BatchEncoder::Create(ckks).ok());
  EXPECT_NE(ckks->params_id(), bfv->params_id());
}

}  // namespace
}  // namespace veil::he
