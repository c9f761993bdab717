#include "veil/he/bfv.h"

#include <algorithm>
#include <string>

#include "keyswitch.h"
#include "sampling.h"

namespace veil::he {

using internal::Prng;

namespace {

Status MismatchedParams(const char* what) {
  return Status::InvalidArgument(std::string(what) + " was made for different parameters");
}

Status CheckPolyShape(const RnsPoly& p, size_t n, size_t limbs, bool ntt, const char* what) {
  if (p.n() != n || p.limbs() != limbs || !p.shape_ok() || p.ntt_form() != ntt) {
    return Status::InvalidArgument(
        std::string(what) + " has the wrong shape: N=" + std::to_string(p.n()) + ", " +
        std::to_string(p.limbs()) + " limbs (expected N=" + std::to_string(n) + ", " +
        std::to_string(limbs) + " limbs" + (ntt ? ", NTT form)" : ", coefficient form)"));
  }
  return Status::Ok();
}

Status CheckPolyRange(const RnsPoly& p, std::span<const Modulus> moduli, const char* what) {
  for (size_t l = 0; l < p.limbs(); ++l) {
    const uint64_t q = moduli[l].value();
    const uint64_t* x = p.limb(l);
    for (size_t i = 0; i < p.n(); ++i) {
      if (x[i] >= q) {
        return Status::Corrupt(std::string(what) + ": coefficient " + std::to_string(i) +
                               " of limb " + std::to_string(l) + " is not below its modulus");
      }
    }
  }
  return Status::Ok();
}

// c0 += round(Q * m / t) (or -=), coefficient-wise over the data limbs.
void AddDeltaM(const Context& ctx, const std::vector<uint64_t>& m, RnsPoly& c0, bool subtract) {
  const uint64_t t = ctx.plain_modulus().value();
  const uint64_t q_mod_t = ctx.q_mod_t();
  const uint64_t half_t = t >> 1;
  const size_t n = ctx.n();
  std::vector<uint64_t> frac(n);
  for (size_t i = 0; i < n; ++i) frac[i] = (q_mod_t * m[i] + half_t) / t;  // < t, fits 64 bits
  for (size_t l = 0; l < c0.limbs(); ++l) {
    const Modulus& mod = ctx.data_moduli()[l];
    const ShoupOperand& delta = ctx.delta_mod_q()[l];
    uint64_t* x = c0.limb(l);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t v = AddMod(MulShoup(m[i], delta, mod), frac[i], mod);
      x[i] = subtract ? SubMod(x[i], v, mod) : AddMod(x[i], v, mod);
    }
  }
}

std::span<const NttTables> DataNtt(const Context& ctx) {
  return {ctx.key_ntt().data(), ctx.data_limbs()};
}
std::span<const Modulus> DataMod(const Context& ctx) { return ctx.data_moduli(); }

Status CheckContext(const std::shared_ptr<const Context>& ctx) {
  if (!ctx) return Status::InvalidArgument("null HE context");
  if (!internal::InitSodium()) return Status::Internal("libsodium failed to initialize");
  return Status::Ok();
}

// The BFV classes refuse CKKS contexts (CKKS has its own, veil/he/ckks.h).
Status CheckBfvContext(const std::shared_ptr<const Context>& ctx) {
  VEIL_RETURN_IF_ERROR(CheckContext(ctx));
  if (ctx->scheme() != Scheme::kBfv) {
    return Status::InvalidArgument("this is a BFV object but the context is for CKKS");
  }
  return Status::Ok();
}

// 1 <= limbs <= L and every polynomial has the same number of limbs.
Status CheckLevelShape(const Context& ctx, const std::vector<RnsPoly>& polys, bool ntt,
                       const char* what) {
  const size_t limbs = polys.empty() ? 0 : polys[0].limbs();
  if (limbs < 1 || limbs > ctx.data_limbs()) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(limbs) +
                                   " limbs, expected 1.." + std::to_string(ctx.data_limbs()));
  }
  for (const RnsPoly& p : polys) VEIL_RETURN_IF_ERROR(CheckPolyShape(p, ctx.n(), limbs, ntt, what));
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------- validation

Status ValidatePlaintext(const Context& ctx, const Plaintext& p) {
  if (p.params_id != ctx.params_id()) return MismatchedParams("plaintext");
  if (p.coeffs.size() != ctx.n()) {
    return Status::InvalidArgument("plaintext has " + std::to_string(p.coeffs.size()) +
                                   " coefficients, expected N=" + std::to_string(ctx.n()));
  }
  const uint64_t t = ctx.plain_modulus().value();
  for (uint64_t v : p.coeffs) {
    if (v >= t) return Status::Corrupt("plaintext coefficient is not below t");
  }
  return Status::Ok();
}

Status ValidateCiphertext(const Context& ctx, const Ciphertext& ct) {
  if (ct.params_id != ctx.params_id()) return MismatchedParams("ciphertext");
  if (ct.size() < 2 || ct.size() > 3) {
    return Status::InvalidArgument("ciphertext has " + std::to_string(ct.size()) +
                                   " polynomials, expected 2 or 3");
  }
  if (ctx.scheme() != Scheme::kBfv) {
    return Status::InvalidArgument("BFV ciphertext checked against a CKKS context");
  }
  VEIL_RETURN_IF_ERROR(CheckLevelShape(ctx, ct.polys, false, "ciphertext"));
  for (const RnsPoly& p : ct.polys) {
    VEIL_RETURN_IF_ERROR(CheckPolyRange(p, ctx.data_moduli(), "ciphertext"));
  }
  return Status::Ok();
}

Status ValidateSecretKey(const Context& ctx, const SecretKey& sk) {
  if (sk.params_id != ctx.params_id()) return MismatchedParams("secret key");
  VEIL_RETURN_IF_ERROR(CheckPolyShape(sk.s, ctx.n(), ctx.key_limbs(), true, "secret key"));
  return CheckPolyRange(sk.s, ctx.key_moduli(), "secret key");
}

Status ValidatePublicKey(const Context& ctx, const PublicKey& pk) {
  if (pk.params_id != ctx.params_id()) return MismatchedParams("public key");
  for (const RnsPoly* p : {&pk.b, &pk.a}) {
    VEIL_RETURN_IF_ERROR(CheckPolyShape(*p, ctx.n(), ctx.public_key_limbs(), true, "public key"));
    VEIL_RETURN_IF_ERROR(CheckPolyRange(*p, ctx.key_moduli(), "public key"));
  }
  return Status::Ok();
}

namespace {
Status ValidateKSwitch(const Context& ctx, const KSwitchKey& k, const char* what) {
  if (k.b.size() != ctx.data_limbs() || k.a.size() != ctx.data_limbs()) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(k.b.size()) +
                                   " components, expected " + std::to_string(ctx.data_limbs()));
  }
  for (size_t i = 0; i < k.b.size(); ++i) {
    for (const RnsPoly* p : {&k.b[i], &k.a[i]}) {
      VEIL_RETURN_IF_ERROR(CheckPolyShape(*p, ctx.n(), ctx.key_limbs(), true, what));
      VEIL_RETURN_IF_ERROR(CheckPolyRange(*p, ctx.key_moduli(), what));
    }
  }
  return Status::Ok();
}
}  // namespace

Status ValidateRelinKeys(const Context& ctx, const RelinKeys& rk) {
  if (rk.params_id != ctx.params_id()) return MismatchedParams("relinearization key");
  return ValidateKSwitch(ctx, rk.key, "relinearization key");
}

Status ValidateGaloisKeys(const Context& ctx, const GaloisKeys& gk) {
  if (gk.params_id != ctx.params_id()) return MismatchedParams("Galois keys");
  for (const auto& [elt, key] : gk.keys) {
    if ((elt & 1) == 0 || elt >= 2 * ctx.n()) {
      return Status::InvalidArgument("Galois element " + std::to_string(elt) +
                                     " is not odd and below 2N");
    }
    VEIL_RETURN_IF_ERROR(ValidateKSwitch(ctx, key, "Galois key"));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- Galois elements

Result<uint32_t> GaloisEltForRowRotation(size_t n, int steps) {
  const int64_t half = static_cast<int64_t>(n / 2);
  if (steps <= -half || steps >= half) {
    return Status::InvalidArgument("row rotation by " + std::to_string(steps) +
                                   " is outside (-N/2, N/2)");
  }
  const int64_t s = ((steps % half) + half) % half;
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  uint64_t elt = 1;
  for (int64_t i = 0; i < s; ++i) elt = (elt * 3) % two_n;
  return static_cast<uint32_t>(elt);
}

uint32_t GaloisEltForColumnSwap(size_t n) { return static_cast<uint32_t>(2 * n - 1); }

// ---------------------------------------------------------------- keys

Result<KeyGenerator> KeyGenerator::Create(std::shared_ptr<const Context> context) {
  VEIL_RETURN_IF_ERROR(CheckContext(context));
  KeyGenerator g;
  g.sk_.params_id = context->params_id();
  g.sk_.s = RnsPoly(context->n(), context->key_limbs());
  Prng prng(internal::RandomSeed(), internal::kDomainSecret);
  internal::SampleTernary(prng, context->key_moduli(), g.sk_.s);
  PolyToNtt(g.sk_.s, context->key_ntt());
  g.ctx_ = std::move(context);
  return g;
}

Result<KeyGenerator> KeyGenerator::Create(std::shared_ptr<const Context> context,
                                          const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(CheckContext(context));
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(*context, sk));
  KeyGenerator g;
  g.sk_ = sk;
  g.ctx_ = std::move(context);
  return g;
}

Result<PublicKey> KeyGenerator::CreatePublicKey() const {
  const Context& c = *ctx_;
  const size_t limbs = c.public_key_limbs();
  const std::span<const Modulus> mod(c.key_moduli().data(), limbs);
  const std::span<const NttTables> ntt(c.key_ntt().data(), limbs);
  PublicKey pk;
  pk.params_id = c.params_id();
  pk.seed = internal::RandomSeed();
  pk.a = RnsPoly(c.n(), limbs, true);
  {
    Prng prng(pk.seed, internal::kDomainPublicKeyA);
    internal::SampleUniform(prng, mod, pk.a);
  }
  RnsPoly e(c.n(), limbs);
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  internal::SampleError(secret, mod, e);
  PolyToNtt(e, ntt);
  pk.b = pk.a;
  PolyMulInPlace(pk.b, sk_.s, mod);
  PolyNegateInPlace(pk.b, mod);
  PolyAddInPlace(pk.b, e, mod);
  return pk;
}

Result<KSwitchKey> KeyGenerator::CreateKSwitchKey(const RnsPoly& s_prime) const {
  const Context& c = *ctx_;
  const size_t L = c.data_limbs(), K = c.key_limbs();
  KSwitchKey key;
  key.seed = internal::RandomSeed();
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  for (size_t i = 0; i < L; ++i) {
    RnsPoly a(c.n(), K, true);
    {
      Prng prng(key.seed, internal::kDomainKSwitchA | (static_cast<uint64_t>(i) << 8));
      internal::SampleUniform(prng, c.key_moduli(), a);
    }
    RnsPoly e(c.n(), K);
    internal::SampleError(secret, c.key_moduli(), e);
    PolyToNtt(e, c.key_ntt());
    RnsPoly b = a;
    PolyMulInPlace(b, sk_.s, c.key_moduli());
    PolyNegateInPlace(b, c.key_moduli());
    PolyAddInPlace(b, e, c.key_moduli());
    // + P * s' in limb i only (the gadget value is P mod q_i there and 0 elsewhere).
    const Modulus& m = c.key_moduli()[i];
    const ShoupOperand pm = MakeShoup(c.p_mod_q()[i], m);
    uint64_t* bi = b.limb(i);
    const uint64_t* si = s_prime.limb(i);
    for (size_t j = 0; j < c.n(); ++j) bi[j] = AddMod(bi[j], MulShoup(si[j], pm, m), m);
    key.b.push_back(std::move(b));
    key.a.push_back(std::move(a));
  }
  return key;
}

Result<RelinKeys> KeyGenerator::CreateRelinKeys() const {
  RnsPoly s2 = sk_.s;
  PolyMulInPlace(s2, sk_.s, ctx_->key_moduli());
  RelinKeys rk;
  rk.params_id = ctx_->params_id();
  VEIL_ASSIGN_OR_RETURN(rk.key, CreateKSwitchKey(s2));
  return rk;
}

Result<GaloisKeys> KeyGenerator::CreateGaloisKeys(const std::vector<uint32_t>& galois_elts) const {
  const Context& c = *ctx_;
  std::vector<uint32_t> elts = galois_elts;
  if (elts.empty()) {
    for (size_t s = 1; s < c.n() / 2; s <<= 1) {
      VEIL_ASSIGN_OR_RETURN(uint32_t left, GaloisEltForRowRotation(c.n(), static_cast<int>(s)));
      VEIL_ASSIGN_OR_RETURN(uint32_t right, GaloisEltForRowRotation(c.n(), -static_cast<int>(s)));
      elts.push_back(left);
      elts.push_back(right);
    }
    elts.push_back(GaloisEltForColumnSwap(c.n()));
  }
  GaloisKeys gk;
  gk.params_id = c.params_id();
  RnsPoly s_coeff = sk_.s;
  PolyFromNtt(s_coeff, c.key_ntt());
  for (uint32_t elt : elts) {
    if ((elt & 1) == 0 || elt >= 2 * c.n()) {
      return Status::InvalidArgument("Galois element " + std::to_string(elt) +
                                     " is not odd and below 2N");
    }
    if (gk.keys.count(elt) != 0) continue;
    RnsPoly s_g;
    PolyAutomorphism(s_coeff, elt, s_g, c.key_moduli());
    PolyToNtt(s_g, c.key_ntt());
    VEIL_ASSIGN_OR_RETURN(KSwitchKey k, CreateKSwitchKey(s_g));
    gk.keys.emplace(elt, std::move(k));
  }
  return gk;
}

Result<GaloisKeys> KeyGenerator::CreateGaloisKeysForSteps(const std::vector<int>& steps,
                                                          bool column_swap) const {
  std::vector<uint32_t> elts;
  for (int s : steps) {
    VEIL_ASSIGN_OR_RETURN(uint32_t e, GaloisEltForRowRotation(ctx_->n(), s));
    if (e != 1) elts.push_back(e);
  }
  if (column_swap) elts.push_back(GaloisEltForColumnSwap(ctx_->n()));
  if (elts.empty()) {
    GaloisKeys gk;
    gk.params_id = ctx_->params_id();
    return gk;
  }
  return CreateGaloisKeys(elts);
}

// ---------------------------------------------------------------- encryption

Result<Encryptor> Encryptor::Create(std::shared_ptr<const Context> context, const PublicKey& pk) {
  VEIL_RETURN_IF_ERROR(CheckBfvContext(context));
  VEIL_RETURN_IF_ERROR(ValidatePublicKey(*context, pk));
  Encryptor e;
  e.ctx_ = std::move(context);
  e.pk_ = pk;
  return e;
}

Result<Encryptor> Encryptor::Create(std::shared_ptr<const Context> context, const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(CheckBfvContext(context));
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(*context, sk));
  Encryptor e;
  e.ctx_ = std::move(context);
  e.sk_ = sk;
  return e;
}

Result<Ciphertext> Encryptor::Encrypt(const Plaintext& plain) const {
  if (!pk_)
    return Status::InvalidArgument(
        "public-key encryption needs an Encryptor built from a public key");
  const Context& c = *ctx_;
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(c, plain));
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  RnsPoly u(c.n(), c.data_limbs());
  internal::SampleTernary(secret, DataMod(c), u);
  PolyToNtt(u, DataNtt(c));
  Ciphertext ct;
  ct.params_id = c.params_id();
  ct.polys.resize(2);
  for (int k = 0; k < 2; ++k) {
    RnsPoly p = k == 0 ? pk_->b : pk_->a;
    PolyMulInPlace(p, u, DataMod(c));
    PolyFromNtt(p, DataNtt(c));
    RnsPoly e(c.n(), c.data_limbs());
    internal::SampleError(secret, DataMod(c), e);
    PolyAddInPlace(p, e, DataMod(c));
    ct.polys[k] = std::move(p);
  }
  AddDeltaM(c, plain.coeffs, ct.polys[0], false);
  return ct;
}

Result<Ciphertext> Encryptor::EncryptSymmetric(const Plaintext& plain) const {
  if (!sk_)
    return Status::InvalidArgument(
        "symmetric encryption needs an Encryptor built from a secret key");
  const Context& c = *ctx_;
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(c, plain));
  Ciphertext ct;
  ct.params_id = c.params_id();
  ct.seed = internal::RandomSeed();
  RnsPoly a(c.n(), c.data_limbs());
  {
    Prng prng(*ct.seed, internal::kDomainCiphertextA);
    internal::SampleUniform(prng, DataMod(c), a);
  }
  RnsPoly c0 = a;
  PolyToNtt(c0, DataNtt(c));
  PolyMulInPlace(c0, sk_->s, DataMod(c));
  PolyFromNtt(c0, DataNtt(c));
  PolyNegateInPlace(c0, DataMod(c));
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  RnsPoly e(c.n(), c.data_limbs());
  internal::SampleError(secret, DataMod(c), e);
  PolyAddInPlace(c0, e, DataMod(c));
  AddDeltaM(c, plain.coeffs, c0, false);
  ct.polys.push_back(std::move(c0));
  ct.polys.push_back(std::move(a));
  return ct;
}

// ---------------------------------------------------------------- decryption

Result<Decryptor> Decryptor::Create(std::shared_ptr<const Context> context, const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(CheckBfvContext(context));
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(*context, sk));
  Decryptor d;
  d.ctx_ = std::move(context);
  d.sk_ = sk;
  return d;
}

Result<RnsPoly> Decryptor::Phase(const Ciphertext& ct) const {
  const Context& c = *ctx_;
  if (ct.params_id != c.params_id()) return MismatchedParams("ciphertext");
  if (ct.size() < 2 || ct.size() > 3) {
    return Status::InvalidArgument("ciphertext has " + std::to_string(ct.size()) +
                                   " polynomials, expected 2 or 3");
  }
  VEIL_RETURN_IF_ERROR(CheckLevelShape(c, ct.polys, false, "ciphertext"));
  // Horner in NTT form over c_{k-1} .. c_1, then * s, back, + c_0.
  RnsPoly acc = ct.polys.back();
  PolyToNtt(acc, DataNtt(c));
  for (size_t k = ct.size() - 1; k-- > 1;) {
    PolyMulInPlace(acc, sk_.s, DataMod(c));
    RnsPoly ck = ct.polys[k];
    PolyToNtt(ck, DataNtt(c));
    PolyAddInPlace(acc, ck, DataMod(c));
  }
  PolyMulInPlace(acc, sk_.s, DataMod(c));
  PolyFromNtt(acc, DataNtt(c));
  PolyAddInPlace(acc, ct.polys[0], DataMod(c));
  return acc;
}

Result<Plaintext> Decryptor::Decrypt(const Ciphertext& ct) const {
  const Context& c = *ctx_;
  VEIL_ASSIGN_OR_RETURN(RnsPoly x, Phase(ct));
  const size_t n = c.n();
  // w = t * x mod Q; r = centred [w]_Q in Z_t; m = round(t x / Q) = -r * Q^-1 (mod t).
  for (size_t l = 0; l < x.limbs(); ++l) {
    uint64_t* xl = x.limb(l);
    for (size_t i = 0; i < n; ++i) xl[i] = MulShoup(xl[i], c.t_mod_q()[l], c.data_moduli()[l]);
  }
  std::vector<uint64_t> r(n);
  c.q_to_t(x.limbs()).Convert(x.data().data(), r.data(), n);
  Plaintext p;
  p.params_id = c.params_id();
  p.coeffs.resize(n);
  const Modulus& t = c.plain_modulus();
  for (size_t i = 0; i < n; ++i)
    p.coeffs[i] = MulMod(NegateMod(r[i], t), c.q_inv_mod_t(x.limbs()), t);
  return p;
}

Result<int> Decryptor::InvariantNoiseBudget(const Ciphertext& ct) const {
  const Context& c = *ctx_;
  VEIL_ASSIGN_OR_RETURN(RnsPoly x, Phase(ct));
  const size_t n = c.n(), L = x.limbs();
  std::vector<uint64_t> primes(c.params().coeff_modulus.begin(),
                               c.params().coeff_modulus.begin() + static_cast<long>(L));
  const std::vector<uint64_t> q_big = BigProduct(primes);
  const size_t words = q_big.size() + 1;
  // Qhat_i = Q / q_i and (Qhat_i)^-1 mod q_i.
  std::vector<std::vector<uint64_t>> qhat(L);
  std::vector<ShoupOperand> qhat_inv(L);
  for (size_t i = 0; i < L; ++i) {
    std::vector<uint64_t> others;
    for (size_t j = 0; j < L; ++j) {
      if (j != i) others.push_back(primes[j]);
    }
    qhat[i] = BigProduct(others);
    qhat[i].resize(words, 0);
    uint64_t v = 1;
    for (uint64_t o : others) v = MulMod(v, o % primes[i], c.data_moduli()[i]);
    qhat_inv[i] = MakeShoup(InvModPrime(v, c.data_moduli()[i]), c.data_moduli()[i]);
  }
  std::vector<uint64_t> q_ext = q_big;
  q_ext.resize(words, 0);
  auto geq = [&](const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    for (size_t w = words; w-- > 0;) {
      if (a[w] != b[w]) return a[w] > b[w];
    }
    return true;
  };
  auto sub = [&](std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    uint64_t borrow = 0;
    for (size_t w = 0; w < words; ++w) {
      const u128 d = static_cast<u128>(a[w]) - b[w] - borrow;
      a[w] = static_cast<uint64_t>(d);
      borrow = static_cast<uint64_t>(d >> 64) & 1;
    }
  };
  std::vector<uint64_t> half = q_ext;  // floor(Q / 2)
  for (size_t w = 0; w < words; ++w) {
    half[w] = (half[w] >> 1) | (w + 1 < words ? half[w + 1] << 63 : 0);
  }
  int max_bits = 0;
  std::vector<uint64_t> acc(words), diff(words);
  for (size_t i = 0; i < n; ++i) {
    std::fill(acc.begin(), acc.end(), 0);
    for (size_t l = 0; l < L; ++l) {
      const uint64_t w = MulShoup(x.limb(l)[i], c.t_mod_q()[l], c.data_moduli()[l]);
      const uint64_t y = MulShoup(w, qhat_inv[l], c.data_moduli()[l]);
      uint64_t carry = 0;
      for (size_t k = 0; k < words; ++k) {
        const u128 s = static_cast<u128>(qhat[l][k]) * y + acc[k] + carry;
        acc[k] = static_cast<uint64_t>(s);
        carry = static_cast<uint64_t>(s >> 64);
      }
    }
    while (geq(acc, q_ext)) sub(acc, q_ext);
    if (geq(acc, half)) {  // negative: |r| = Q - acc
      diff = q_ext;
      sub(diff, acc);
      max_bits = std::max(max_bits, BigBitCount(diff));
    } else {
      max_bits = std::max(max_bits, BigBitCount(acc));
    }
  }
  return std::max(0, c.level_modulus_bits(L) - max_bits - 1);
}

// ---------------------------------------------------------------- batching

Result<BatchEncoder> BatchEncoder::Create(std::shared_ptr<const Context> context) {
  VEIL_RETURN_IF_ERROR(CheckBfvContext(context));
  if (!context->batching_enabled()) {
    return Status::InvalidArgument("batching needs a prime plain modulus t = 1 (mod 2N); t=" +
                                   std::to_string(context->plain_modulus().value()));
  }
  BatchEncoder b;
  const size_t n = context->n();
  const size_t row = n / 2;
  const uint64_t m = 2 * static_cast<uint64_t>(n);
  b.index_map_.resize(n);
  uint64_t pos = 1;
  for (size_t i = 0; i < row; ++i) {
    const uint64_t index1 = (pos - 1) >> 1;
    const uint64_t index2 = (m - pos - 1) >> 1;
    b.index_map_[i] = ReverseBits(static_cast<uint32_t>(index1), context->log_n());
    b.index_map_[row + i] = ReverseBits(static_cast<uint32_t>(index2), context->log_n());
    pos = (pos * 3) & (m - 1);
  }
  b.ctx_ = std::move(context);
  return b;
}

Result<Plaintext> BatchEncoder::Encode(const std::vector<uint64_t>& values) const {
  const size_t n = ctx_->n();
  if (values.size() > n) {
    return Status::InvalidArgument(std::to_string(values.size()) + " values exceed " +
                                   std::to_string(n) + " slots");
  }
  const uint64_t t = ctx_->plain_modulus().value();
  Plaintext p;
  p.params_id = ctx_->params_id();
  p.coeffs.assign(n, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] >= t) return Status::InvalidArgument("slot value is not below t");
    p.coeffs[index_map_[i]] = values[i];
  }
  ctx_->plain_ntt().Inverse(p.coeffs.data());
  return p;
}

Result<Plaintext> BatchEncoder::EncodeSigned(const std::vector<int64_t>& values) const {
  const int64_t t = static_cast<int64_t>(ctx_->plain_modulus().value());
  std::vector<uint64_t> u(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t v = values[i];
    if (v > t / 2 || v <= -((t + 1) / 2)) {
      return Status::InvalidArgument("signed slot value " + std::to_string(v) +
                                     " is outside (-t/2, t/2]");
    }
    u[i] = static_cast<uint64_t>(v < 0 ? v + t : v);
  }
  return Encode(u);
}

Result<std::vector<uint64_t>> BatchEncoder::Decode(const Plaintext& plain) const {
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(*ctx_, plain));
  std::vector<uint64_t> tmp = plain.coeffs;
  ctx_->plain_ntt().Forward(tmp.data());
  std::vector<uint64_t> out(ctx_->n());
  for (size_t i = 0; i < out.size(); ++i) out[i] = tmp[index_map_[i]];
  return out;
}

Result<std::vector<int64_t>> BatchEncoder::DecodeSigned(const Plaintext& plain) const {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint64_t> u, Decode(plain));
  const uint64_t t = ctx_->plain_modulus().value();
  std::vector<int64_t> out(u.size());
  for (size_t i = 0; i < u.size(); ++i) {
    out[i] = u[i] > t / 2 ? static_cast<int64_t>(u[i]) - static_cast<int64_t>(t)
                          : static_cast<int64_t>(u[i]);
  }
  return out;
}

// ---------------------------------------------------------------- evaluation

Result<Evaluator> Evaluator::Create(std::shared_ptr<const Context> context) {
  VEIL_RETURN_IF_ERROR(CheckBfvContext(context));
  Evaluator e;
  e.ctx_ = std::move(context);
  return e;
}

Status Evaluator::CheckCiphertext(const Ciphertext& ct, size_t min_size, size_t max_size) const {
  if (ct.params_id != ctx_->params_id()) return MismatchedParams("ciphertext");
  if (ct.size() < min_size || ct.size() > max_size) {
    return Status::InvalidArgument("ciphertext has " + std::to_string(ct.size()) +
                                   " polynomials, expected " + std::to_string(min_size) + ".." +
                                   std::to_string(max_size));
  }
  return CheckLevelShape(*ctx_, ct.polys, false, "ciphertext");
}

Status Evaluator::CheckTopLevel(const Ciphertext& ct, const char* op) const {
  if (ct.polys[0].limbs() != ctx_->data_limbs()) {
    return Status::InvalidArgument(std::string(op) + " needs a ciphertext at the top level (" +
                                   std::to_string(ctx_->data_limbs()) + " limbs), got " +
                                   std::to_string(ct.polys[0].limbs()) +
                                   " limbs after modulus switching");
  }
  return Status::Ok();
}

Status Evaluator::CheckSameLevel(const Ciphertext& a, const Ciphertext& b) const {
  if (a.polys[0].limbs() != b.polys[0].limbs()) {
    return Status::InvalidArgument("ciphertexts are at different levels (" +
                                   std::to_string(a.polys[0].limbs()) + " vs " +
                                   std::to_string(b.polys[0].limbs()) + " limbs)");
  }
  return Status::Ok();
}

Status Evaluator::ModSwitchToNextInPlace(Ciphertext& a) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  if (a.polys[0].limbs() < 2) {
    return Status::InvalidArgument("ciphertext is at the last level; cannot switch modulus");
  }
  for (RnsPoly& p : a.polys) internal::DivideRoundByLastPrime(*ctx_, p);
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::ModSwitchToInPlace(Ciphertext& a, size_t limbs) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  if (limbs < 1 || limbs > a.polys[0].limbs()) {
    return Status::InvalidArgument("cannot switch a " + std::to_string(a.polys[0].limbs()) +
                                   "-limb ciphertext to " + std::to_string(limbs) + " limbs");
  }
  while (a.polys[0].limbs() > limbs) VEIL_RETURN_IF_ERROR(ModSwitchToNextInPlace(a));
  return Status::Ok();
}

Status Evaluator::CheckPlain(const Plaintext& p) const {
  if (p.params_id != ctx_->params_id()) return MismatchedParams("plaintext");
  if (p.coeffs.size() != ctx_->n()) return Status::InvalidArgument("plaintext has the wrong size");
  return Status::Ok();
}

Status Evaluator::CheckKSwitchKey(const KSwitchKey& k) const {
  if (k.b.size() != ctx_->data_limbs() || k.a.size() != ctx_->data_limbs()) {
    return Status::InvalidArgument("key switching key has the wrong number of components");
  }
  for (size_t i = 0; i < k.b.size(); ++i) {
    VEIL_RETURN_IF_ERROR(CheckPolyShape(k.b[i], ctx_->n(), ctx_->key_limbs(), true, "key"));
    VEIL_RETURN_IF_ERROR(CheckPolyShape(k.a[i], ctx_->n(), ctx_->key_limbs(), true, "key"));
  }
  return Status::Ok();
}

Status Evaluator::AddInPlace(Ciphertext& a, const Ciphertext& b) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckCiphertext(b, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckSameLevel(a, b));
  while (a.size() < b.size()) a.polys.emplace_back(ctx_->n(), b.polys[0].limbs());
  for (size_t k = 0; k < b.size(); ++k) PolyAddInPlace(a.polys[k], b.polys[k], DataMod(*ctx_));
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::SubInPlace(Ciphertext& a, const Ciphertext& b) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckCiphertext(b, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckSameLevel(a, b));
  while (a.size() < b.size()) a.polys.emplace_back(ctx_->n(), b.polys[0].limbs());
  for (size_t k = 0; k < b.size(); ++k) PolySubInPlace(a.polys[k], b.polys[k], DataMod(*ctx_));
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::NegateInPlace(Ciphertext& a) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  for (RnsPoly& p : a.polys) PolyNegateInPlace(p, DataMod(*ctx_));
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::AddPlainInPlace(Ciphertext& a, const Plaintext& p) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckTopLevel(a, "adding a plaintext"));
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(*ctx_, p));
  AddDeltaM(*ctx_, p.coeffs, a.polys[0], false);
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::SubPlainInPlace(Ciphertext& a, const Plaintext& p) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckTopLevel(a, "subtracting a plaintext"));
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(*ctx_, p));
  AddDeltaM(*ctx_, p.coeffs, a.polys[0], true);
  a.seed.reset();
  return Status::Ok();
}

Result<PlaintextNtt> Evaluator::TransformPlain(const Plaintext& p) const {
  VEIL_RETURN_IF_ERROR(ValidatePlaintext(*ctx_, p));
  const Context& c = *ctx_;
  const uint64_t t = c.plain_modulus().value();
  PlaintextNtt out;
  out.params_id = c.params_id();
  out.poly = RnsPoly(c.n(), c.data_limbs());
  for (size_t i = 0; i < c.n(); ++i) {
    const int64_t v = p.coeffs[i] > t / 2
                          ? static_cast<int64_t>(p.coeffs[i]) - static_cast<int64_t>(t)
                          : static_cast<int64_t>(p.coeffs[i]);
    for (size_t l = 0; l < c.data_limbs(); ++l) {
      out.poly.limb(l)[i] = internal::SignedToResidue(v, c.data_moduli()[l].value());
    }
  }
  PolyToNtt(out.poly, DataNtt(c));
  return out;
}

Status Evaluator::MultiplyPlainInPlace(Ciphertext& a, const PlaintextNtt& p) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 3));
  if (p.params_id != ctx_->params_id()) return MismatchedParams("plaintext");
  VEIL_RETURN_IF_ERROR(CheckPolyShape(p.poly, ctx_->n(), ctx_->data_limbs(), true, "plaintext"));
  for (RnsPoly& q : a.polys) {
    PolyToNtt(q, DataNtt(*ctx_));
    PolyMulInPlace(q, p.poly, DataMod(*ctx_));
    PolyFromNtt(q, DataNtt(*ctx_));
  }
  a.seed.reset();
  return Status::Ok();
}

Result<Ciphertext> Evaluator::Multiply(const Ciphertext& a, const Ciphertext& b) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 2));
  VEIL_RETURN_IF_ERROR(CheckCiphertext(b, 2, 2));
  VEIL_RETURN_IF_ERROR(CheckTopLevel(a, "ct x ct"));
  VEIL_RETURN_IF_ERROR(CheckTopLevel(b, "ct x ct"));
  const Context& c = *ctx_;
  const size_t n = c.n(), L = c.data_limbs(), B = c.aux_moduli().size(), E = L + B;
  auto modulus = [&](size_t l) -> const Modulus& {
    return l < L ? c.data_moduli()[l] : c.aux_moduli()[l - L];
  };
  auto table = [&](size_t l) -> const NttTables& {
    return l < L ? c.key_ntt()[l] : c.aux_ntt()[l - L];
  };
  // Lift each input polynomial to Q u B (centred) and transform.
  auto extend = [&](const RnsPoly& p) {
    RnsPoly x(n, E);
    std::copy(p.data().begin(), p.data().end(), x.data().begin());
    c.q_to_aux().Convert(p.data().data(), x.limb(L), n);
    for (size_t l = 0; l < E; ++l) table(l).Forward(x.limb(l));
    return x;
  };
  const RnsPoly a0 = extend(a.polys[0]), a1 = extend(a.polys[1]);
  const RnsPoly b0 = extend(b.polys[0]), b1 = extend(b.polys[1]);
  Ciphertext out;
  out.params_id = c.params_id();
  for (int k = 0; k < 3; ++k) {
    RnsPoly x(n, E);
    for (size_t l = 0; l < E; ++l) {
      const Modulus& m = modulus(l);
      const uint64_t *x0 = a0.limb(l), *x1 = a1.limb(l), *y0 = b0.limb(l), *y1 = b1.limb(l);
      uint64_t* o = x.limb(l);
      for (size_t i = 0; i < n; ++i) {
        u128 s;
        if (k == 0) {
          s = static_cast<u128>(x0[i]) * y0[i];
        } else if (k == 1) {
          s = static_cast<u128>(x0[i]) * y1[i] + static_cast<u128>(x1[i]) * y0[i];
        } else {
          s = static_cast<u128>(x1[i]) * y1[i];
        }
        o[i] = BarrettReduce128(s, m);
      }
      table(l).Inverse(o);
      // w = t * x.
      const ShoupOperand& tm = l < L ? c.t_mod_q()[l] : c.t_mod_aux()[l - L];
      for (size_t i = 0; i < n; ++i) o[i] = MulShoup(o[i], tm, m);
    }
    // y = (w - [w]_Q) / Q in base B, then back to Q (both conversions centred and exact).
    std::vector<uint64_t> r(n * B);
    c.q_to_aux().Convert(x.limb(0), r.data(), n);
    for (size_t j = 0; j < B; ++j) {
      const Modulus& m = c.aux_moduli()[j];
      uint64_t* w = x.limb(L + j);
      const uint64_t* rj = r.data() + j * n;
      for (size_t i = 0; i < n; ++i)
        w[i] = MulShoup(SubMod(w[i], rj[i], m), c.q_inv_mod_aux()[j], m);
    }
    RnsPoly y(n, L);
    c.aux_to_q().Convert(x.limb(L), y.limb(0), n);
    out.polys.push_back(std::move(y));
  }
  return out;
}

void Evaluator::KeySwitch(const RnsPoly& d, const KSwitchKey& key, RnsPoly& u0, RnsPoly& u1) const {
  const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(*ctx_, d);
  internal::KeySwitchFromDigits(*ctx_, digits, nullptr, key, false, u0, u1);
}

Status Evaluator::RelinearizeInPlace(Ciphertext& a, const RelinKeys& rk) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 3, 3));
  if (rk.params_id != ctx_->params_id()) return MismatchedParams("relinearization key");
  VEIL_RETURN_IF_ERROR(CheckKSwitchKey(rk.key));
  RnsPoly u0, u1;
  KeySwitch(a.polys[2], rk.key, u0, u1);
  PolyAddInPlace(a.polys[0], u0, DataMod(*ctx_));
  PolyAddInPlace(a.polys[1], u1, DataMod(*ctx_));
  a.polys.pop_back();
  a.seed.reset();
  return Status::Ok();
}

Result<Ciphertext> Evaluator::MultiplyRelin(const Ciphertext& a, const Ciphertext& b,
                                            const RelinKeys& rk) const {
  VEIL_ASSIGN_OR_RETURN(Ciphertext out, Multiply(a, b));
  VEIL_RETURN_IF_ERROR(RelinearizeInPlace(out, rk));
  return out;
}

Status Evaluator::ApplyGaloisInPlace(Ciphertext& a, uint32_t galois_elt,
                                     const GaloisKeys& gk) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 2));
  if (gk.params_id != ctx_->params_id()) return MismatchedParams("Galois keys");
  if ((galois_elt & 1) == 0 || galois_elt >= 2 * ctx_->n()) {
    return Status::InvalidArgument("Galois element " + std::to_string(galois_elt) +
                                   " is not odd and below 2N");
  }
  if (galois_elt == 1) return Status::Ok();
  auto it = gk.keys.find(galois_elt);
  if (it == gk.keys.end()) {
    return Status::NotFound("no Galois key for element " + std::to_string(galois_elt));
  }
  VEIL_RETURN_IF_ERROR(CheckKSwitchKey(it->second));
  RnsPoly c0, c1;
  PolyAutomorphism(a.polys[0], galois_elt, c0, DataMod(*ctx_));
  PolyAutomorphism(a.polys[1], galois_elt, c1, DataMod(*ctx_));
  RnsPoly u0, u1;
  KeySwitch(c1, it->second, u0, u1);
  PolyAddInPlace(c0, u0, DataMod(*ctx_));
  a.polys[0] = std::move(c0);
  a.polys[1] = std::move(u1);
  a.seed.reset();
  return Status::Ok();
}

Status Evaluator::RotateRowsInPlace(Ciphertext& a, int steps, const GaloisKeys& gk) const {
  const size_t n = ctx_->n();
  VEIL_ASSIGN_OR_RETURN(uint32_t elt, GaloisEltForRowRotation(n, steps));
  if (elt == 1) return CheckCiphertext(a, 2, 2);
  if (gk.keys.count(elt) != 0) return ApplyGaloisInPlace(a, elt, gk);
  // Compose rotations by powers of two in the direction of `steps`.
  const int sign = steps < 0 ? -1 : 1;
  const int64_t magnitude = steps < 0 ? -static_cast<int64_t>(steps) : steps;
  std::vector<uint32_t> plan;
  for (int64_t bit = 1; bit <= magnitude; bit <<= 1) {
    if ((magnitude & bit) == 0) continue;
    VEIL_ASSIGN_OR_RETURN(uint32_t e, GaloisEltForRowRotation(n, sign * static_cast<int>(bit)));
    if (gk.keys.count(e) == 0) {
      return Status::NotFound("no Galois key for a row rotation by " + std::to_string(steps) +
                              " (missing the step " + std::to_string(sign * bit) + ")");
    }
    plan.push_back(e);
  }
  for (uint32_t e : plan) VEIL_RETURN_IF_ERROR(ApplyGaloisInPlace(a, e, gk));
  return Status::Ok();
}

Result<std::vector<Ciphertext>> Evaluator::RotateRowsHoisted(const Ciphertext& a,
                                                             const std::vector<int>& steps,
                                                             const GaloisKeys& gk) const {
  VEIL_RETURN_IF_ERROR(CheckCiphertext(a, 2, 2));
  if (gk.params_id != ctx_->params_id()) return MismatchedParams("Galois keys");
  const size_t n = ctx_->n();
  std::vector<uint32_t> elts;
  for (int step : steps) {
    VEIL_ASSIGN_OR_RETURN(uint32_t e, GaloisEltForRowRotation(n, step));
    if (e != 1) {
      auto it = gk.keys.find(e);
      if (it == gk.keys.end()) {
        return Status::NotFound("no Galois key for a hoisted row rotation by " +
                                std::to_string(step));
      }
      VEIL_RETURN_IF_ERROR(CheckKSwitchKey(it->second));
    }
    elts.push_back(e);
  }
  // One digit decomposition of c1 (and its NTTs) for every rotation: an automorphism
  // commutes with the NTT up to a permutation of the evaluation points, and sigma(d_i) is
  // still a digit of sigma(c1), so key switching sigma(c1) reuses these NTTs.
  const Context& c = *ctx_;
  const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(c, a.polys[1]);
  std::vector<Ciphertext> out;
  out.reserve(elts.size());
  for (uint32_t elt : elts) {
    if (elt == 1) {
      Ciphertext copy = a;
      copy.seed.reset();
      out.push_back(std::move(copy));
      continue;
    }
    const std::vector<uint32_t> perm = internal::NttAutomorphismPermutation(c.n(), c.log_n(), elt);
    Ciphertext r;
    r.params_id = a.params_id;
    r.polys.resize(2);
    RnsPoly u0;
    internal::KeySwitchFromDigits(c, digits, perm.data(), gk.keys.at(elt), false, u0, r.polys[1]);
    PolyAutomorphism(a.polys[0], elt, r.polys[0], DataMod(c));
    PolyAddInPlace(r.polys[0], u0, DataMod(c));
    out.push_back(std::move(r));
  }
  return out;
}

Status Evaluator::RotateColumnsInPlace(Ciphertext& a, const GaloisKeys& gk) const {
  return ApplyGaloisInPlace(a, GaloisEltForColumnSwap(ctx_->n()), gk);
}

}  // namespace veil::he
