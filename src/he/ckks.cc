#include "veil/he/ckks.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "keyswitch.h"
#include "sampling.h"

namespace veil::he {

using internal::Prng;

namespace {

Status CheckCkksContext(const std::shared_ptr<const Context>& ctx) {
  if (!ctx) return Status::InvalidArgument("null HE context");
  if (!internal::InitSodium()) return Status::Internal("libsodium failed to initialize");
  if (ctx->scheme() != Scheme::kCkks) {
    return Status::InvalidArgument("this is a CKKS object but the context is for BFV");
  }
  return Status::Ok();
}

Status Mismatched(const char* what) {
  return Status::InvalidArgument(std::string(what) + " was made for different parameters");
}

// The scale must leave room for the message: 1 <= scale < Q_l / 2.
Status CheckScale(const Context& ctx, double scale, size_t limbs, const char* what) {
  if (!std::isfinite(scale) || scale < 1.0) {
    return Status::InvalidArgument(std::string(what) + ": scale " + std::to_string(scale) +
                                   " is not a finite number >= 1");
  }
  if (std::log2(scale) >= ctx.level_modulus_bits(limbs) - 1) {
    return Status::InvalidArgument(
        std::string(what) + ": scale 2^" + std::to_string(std::log2(scale)) +
        " does not fit the modulus at " + std::to_string(limbs) + " limbs (" +
        std::to_string(ctx.level_modulus_bits(limbs)) + " bits); rescale first");
  }
  return Status::Ok();
}

bool ScalesMatch(double a, double b) { return std::fabs(a - b) <= std::ldexp(std::fabs(a), -40); }

Status CheckPolys(const Context& ctx, const std::vector<RnsPoly>& polys, const char* what) {
  const size_t limbs = polys.empty() ? 0 : polys[0].limbs();
  if (limbs < 1 || limbs > ctx.data_limbs()) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(limbs) +
                                   " limbs, expected 1.." + std::to_string(ctx.data_limbs()));
  }
  for (const RnsPoly& p : polys) {
    if (p.n() != ctx.n() || p.limbs() != limbs || !p.shape_ok() || !p.ntt_form()) {
      return Status::InvalidArgument(std::string(what) +
                                     " has the wrong shape (N, limbs or not in NTT form)");
    }
  }
  return Status::Ok();
}

using internal::CheckKeyShape;

std::span<const NttTables> Ntt(const Context& ctx, size_t limbs) {
  return {ctx.key_ntt().data(), limbs};
}

inline Complex Mul(Complex a, Complex b) {
  // Plain formula (std::complex's operator* handles inf/nan via a slow libgcc call).
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// Centred coefficients of a coefficient-form polynomial mod Q_l as doubles (exact CRT in
// multi-precision, then rounded to double).
std::vector<double> CentredToDouble(const Context& ctx, const RnsPoly& p) {
  const size_t n = p.n(), l = p.limbs();
  std::vector<double> out(n);
  if (l == 1) {
    const uint64_t q = ctx.data_moduli()[0].value();
    const uint64_t* x = p.limb(0);
    for (size_t i = 0; i < n; ++i) {
      out[i] = x[i] > q / 2 ? -static_cast<double>(q - x[i]) : static_cast<double>(x[i]);
    }
    return out;
  }
  const std::vector<uint64_t> primes(ctx.params().coeff_modulus.begin(),
                                     ctx.params().coeff_modulus.begin() + static_cast<long>(l));
  const size_t words = l + 1;
  std::vector<std::vector<uint64_t>> qhat(l);
  std::vector<ShoupOperand> qhat_inv(l);
  for (size_t i = 0; i < l; ++i) {
    std::vector<uint64_t> others;
    uint64_t v = 1;
    for (size_t j = 0; j < l; ++j) {
      if (j == i) continue;
      others.push_back(primes[j]);
      v = MulMod(v, primes[j] % primes[i], ctx.data_moduli()[i]);
    }
    qhat[i] = BigProduct(others);
    qhat[i].resize(words, 0);
    qhat_inv[i] = MakeShoup(InvModPrime(v, ctx.data_moduli()[i]), ctx.data_moduli()[i]);
  }
  std::vector<uint64_t> q = BigProduct(primes);
  q.resize(words, 0);
  std::vector<uint64_t> half(words);
  for (size_t w = 0; w < words; ++w) half[w] = (q[w] >> 1) | (w + 1 < words ? q[w + 1] << 63 : 0);
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
  auto to_double = [&](const std::vector<uint64_t>& a) {
    double r = 0.0;
    for (size_t w = words; w-- > 0;) r = r * 18446744073709551616.0 + static_cast<double>(a[w]);
    return r;
  };
  std::vector<uint64_t> acc(words), neg(words);
  for (size_t i = 0; i < n; ++i) {
    std::fill(acc.begin(), acc.end(), 0);
    for (size_t j = 0; j < l; ++j) {
      const uint64_t y = MulShoup(p.limb(j)[i], qhat_inv[j], ctx.data_moduli()[j]);
      uint64_t carry = 0;
      for (size_t w = 0; w < words; ++w) {
        const u128 s = static_cast<u128>(qhat[j][w]) * y + acc[w] + carry;
        acc[w] = static_cast<uint64_t>(s);
        carry = static_cast<uint64_t>(s >> 64);
      }
    }
    while (geq(acc, q)) sub(acc, q);  // acc < l * Q
    if (geq(acc, half)) {
      neg = q;
      sub(neg, acc);
      out[i] = -to_double(neg);
    } else {
      out[i] = to_double(acc);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- validation

Status ValidateCkksCiphertext(const Context& ctx, const CkksCiphertext& ct) {
  if (ct.params_id != ctx.params_id()) return Mismatched("CKKS ciphertext");
  if (ctx.scheme() != Scheme::kCkks) {
    return Status::InvalidArgument("CKKS ciphertext checked against a BFV context");
  }
  if (ct.size() < 2 || ct.size() > 3) {
    return Status::InvalidArgument("CKKS ciphertext has " + std::to_string(ct.size()) +
                                   " polynomials, expected 2 or 3");
  }
  VEIL_RETURN_IF_ERROR(CheckPolys(ctx, ct.polys, "CKKS ciphertext"));
  VEIL_RETURN_IF_ERROR(CheckScale(ctx, ct.scale, ct.limbs(), "CKKS ciphertext"));
  for (const RnsPoly& p : ct.polys) {
    for (size_t l = 0; l < p.limbs(); ++l) {
      const uint64_t q = ctx.data_moduli()[l].value();
      const uint64_t* x = p.limb(l);
      for (size_t i = 0; i < p.n(); ++i) {
        if (x[i] >= q) {
          return Status::Corrupt("CKKS ciphertext: coefficient " + std::to_string(i) + " of limb " +
                                 std::to_string(l) + " is not below its modulus");
        }
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- encoder

Result<CkksEncoder> CkksEncoder::Create(std::shared_ptr<const Context> context) {
  VEIL_RETURN_IF_ERROR(CheckCkksContext(context));
  CkksEncoder e;
  const size_t n = context->n(), m = n / 2;
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  e.slot_to_point_.resize(m);
  e.slot_conjugated_.resize(m);
  // Slot j is the root zeta^r, r = 3^j mod 2N. Exactly one of r, -r is 1 mod 4; the
  // polynomial is evaluated at the roots zeta^(4k+1) only (the others are conjugates).
  uint64_t r = 1;
  for (size_t j = 0; j < m; ++j) {
    if (r % 4 == 1) {
      e.slot_to_point_[j] = static_cast<uint32_t>((r - 1) / 4);
      e.slot_conjugated_[j] = 0;
    } else {
      e.slot_to_point_[j] = static_cast<uint32_t>((two_n - r - 1) / 4);
      e.slot_conjugated_[j] = 1;
    }
    r = (r * 3) % two_n;
  }
  e.twist_.resize(m);
  for (size_t i = 0; i < m; ++i) {
    const double angle = std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
    e.twist_[i] = {std::cos(angle), std::sin(angle)};
  }
  e.roots_.resize(m / 2);
  for (size_t k = 0; k < m / 2; ++k) {
    const double angle = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(m);
    e.roots_[k] = {std::cos(angle), std::sin(angle)};
  }
  e.ctx_ = std::move(context);
  return e;
}

void CkksEncoder::Fft(std::vector<Complex>& a, bool inverse) const {
  // out[k] = sum_i a[i] * e^(+-2 pi i k i / M); radix 2, bit-reversed input order.
  const size_t m = a.size();
  for (size_t i = 1, j = 0; i < m; ++i) {
    size_t bit = m >> 1;
    for (; (j & bit) != 0; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= m; len <<= 1) {
    const size_t half = len / 2, step = m / len;
    for (size_t i = 0; i < m; i += len) {
      for (size_t k = 0; k < half; ++k) {
        Complex w = roots_[k * step];
        if (inverse) w = std::conj(w);
        const Complex u = a[i + k];
        const Complex v = Mul(a[i + k + half], w);
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
    }
  }
}

Result<CkksPlaintext> CkksEncoder::Encode(std::span<const Complex> values, double scale,
                                          size_t limbs) const {
  const Context& c = *ctx_;
  const size_t n = c.n(), m = n / 2;
  if (limbs == 0) limbs = c.data_limbs();
  if (limbs > c.data_limbs()) {
    return Status::InvalidArgument("CKKS encode: " + std::to_string(limbs) +
                                   " limbs, the parameters have " + std::to_string(c.data_limbs()));
  }
  if (values.size() > m) {
    return Status::InvalidArgument(std::to_string(values.size()) + " values exceed the " +
                                   std::to_string(m) + " CKKS slots");
  }
  VEIL_RETURN_IF_ERROR(CheckScale(c, scale, limbs, "CKKS encode"));
  std::vector<Complex> v(m, Complex(0.0, 0.0));
  for (size_t j = 0; j < values.size(); ++j) {
    if (!std::isfinite(values[j].real()) || !std::isfinite(values[j].imag())) {
      return Status::InvalidArgument("CKKS encode: value " + std::to_string(j) + " is not finite");
    }
    v[slot_to_point_[j]] = slot_conjugated_[j] ? std::conj(values[j]) : values[j];
  }
  Fft(v, /*inverse=*/true);
  // Coefficients i and i + N/2 are the real and imaginary parts of v_i zeta^-i / M.
  const double factor = scale / static_cast<double>(m);
  const double bound = std::ldexp(1.0, std::min(62, c.level_modulus_bits(limbs) - 2));
  CkksPlaintext p;
  p.params_id = c.params_id();
  p.scale = scale;
  p.poly = RnsPoly(n, limbs);
  for (size_t i = 0; i < m; ++i) {
    const Complex w = Mul(v[i], std::conj(twist_[i]));
    const double parts[2] = {std::nearbyint(w.real() * factor), std::nearbyint(w.imag() * factor)};
    for (int h = 0; h < 2; ++h) {
      if (!(std::fabs(parts[h]) < bound)) {
        return Status::InvalidArgument(
            "CKKS encode: value x scale is too large for the modulus at this level (a "
            "coefficient reaches 2^" +
            std::to_string(std::log2(std::fabs(parts[h]))) + ")");
      }
      const int64_t coeff = static_cast<int64_t>(parts[h]);
      const uint64_t mag = static_cast<uint64_t>(coeff < 0 ? -coeff : coeff);
      const uint64_t neg = uint64_t{0} - static_cast<uint64_t>(coeff < 0);
      const size_t index = i + static_cast<size_t>(h) * m;
      for (size_t l = 0; l < limbs; ++l) {
        const Modulus& mod = c.data_moduli()[l];
        const uint64_t r = BarrettReduce64(mag, mod);
        // -r mod q when negative, branch-free.
        p.poly.limb(l)[index] = (r & ~neg) | (NegateMod(r, mod) & neg);
      }
    }
  }
  PolyToNtt(p.poly, Ntt(c, limbs));
  return p;
}

Result<CkksPlaintext> CkksEncoder::Encode(std::span<const double> values, double scale,
                                          size_t limbs) const {
  std::vector<Complex> z(values.begin(), values.end());
  return Encode(std::span<const Complex>(z), scale, limbs);
}

Result<std::vector<Complex>> CkksEncoder::Decode(const CkksPlaintext& plain) const {
  const Context& c = *ctx_;
  if (plain.params_id != c.params_id()) return Mismatched("CKKS plaintext");
  VEIL_RETURN_IF_ERROR(CheckPolys(c, {plain.poly}, "CKKS plaintext"));
  VEIL_RETURN_IF_ERROR(CheckScale(c, plain.scale, plain.limbs(), "CKKS decode"));
  const size_t n = c.n(), m = n / 2;
  RnsPoly x = plain.poly;
  PolyFromNtt(x, Ntt(c, x.limbs()));
  const std::vector<double> coeffs = CentredToDouble(c, x);
  std::vector<Complex> v(m);
  const double inv_scale = 1.0 / plain.scale;
  for (size_t i = 0; i < m; ++i) {
    v[i] = Mul(Complex(coeffs[i] * inv_scale, coeffs[i + m] * inv_scale), twist_[i]);
  }
  Fft(v, /*inverse=*/false);
  std::vector<Complex> out(m);
  for (size_t j = 0; j < m; ++j) {
    const Complex z = v[slot_to_point_[j]];
    out[j] = slot_conjugated_[j] ? std::conj(z) : z;
  }
  return out;
}

// ---------------------------------------------------------------- encryption

Result<CkksEncryptor> CkksEncryptor::Create(std::shared_ptr<const Context> context,
                                            const PublicKey& pk) {
  VEIL_RETURN_IF_ERROR(CheckCkksContext(context));
  VEIL_RETURN_IF_ERROR(ValidatePublicKey(*context, pk));
  CkksEncryptor e;
  e.ctx_ = std::move(context);
  e.pk_ = pk;
  return e;
}

Result<CkksEncryptor> CkksEncryptor::Create(std::shared_ptr<const Context> context,
                                            const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(CheckCkksContext(context));
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(*context, sk));
  CkksEncryptor e;
  e.ctx_ = std::move(context);
  e.sk_ = sk;
  return e;
}

namespace {
Status CheckPlainForEncryption(const Context& c, const CkksPlaintext& p) {
  if (p.params_id != c.params_id()) return Mismatched("CKKS plaintext");
  VEIL_RETURN_IF_ERROR(CheckPolys(c, {p.poly}, "CKKS plaintext"));
  return CheckScale(c, p.scale, p.limbs(), "CKKS plaintext");
}
}  // namespace

Result<CkksCiphertext> CkksEncryptor::Encrypt(const CkksPlaintext& plain) const {
  if (!pk_) {
    return Status::InvalidArgument(
        "public-key encryption needs a CkksEncryptor built from a public key");
  }
  const Context& c = *ctx_;
  VEIL_RETURN_IF_ERROR(CheckPlainForEncryption(c, plain));
  const size_t l = plain.limbs(), L = c.data_limbs();
  // (c0, c1) = (round((b u + e0) / P) + m, round((a u + e1) / P)) over q_0..q_{l-1}: the
  // public key lives mod Q*P, the encryption of zero is made over q_0..q_{l-1} and P, and
  // dividing by P leaves only rounding noise (SEAL's method; ~4 bits more precision than
  // encrypting mod Q directly).
  std::vector<Modulus> mod(c.data_moduli().begin(), c.data_moduli().begin() + static_cast<long>(l));
  mod.push_back(c.key_moduli()[L]);
  auto table = [&](size_t j) -> const NttTables& { return c.key_ntt()[j < l ? j : L]; };
  auto to_ntt = [&](RnsPoly& p) {
    for (size_t j = 0; j <= l; ++j) table(j).Forward(p.limb(j));
    p.set_ntt_form(true);
  };
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  RnsPoly u(c.n(), l + 1);
  internal::SampleTernary(secret, mod, u);
  to_ntt(u);
  CkksCiphertext ct;
  ct.params_id = c.params_id();
  ct.scale = plain.scale;
  for (int k = 0; k < 2; ++k) {
    const RnsPoly& key = k == 0 ? pk_->b : pk_->a;
    RnsPoly p(c.n(), l + 1, true);
    for (size_t j = 0; j <= l; ++j) {
      const Modulus& m = mod[j];
      const uint64_t* x = u.limb(j);
      const uint64_t* y = key.limb(j < l ? j : L);
      uint64_t* o = p.limb(j);
      for (size_t i = 0; i < c.n(); ++i) o[i] = MulMod(x[i], y[i], m);
    }
    RnsPoly e(c.n(), l + 1);
    internal::SampleError(secret, mod, e);
    to_ntt(e);
    PolyAddInPlace(p, e, mod);
    RnsPoly q;
    internal::DivideBySpecialPrime(c, p, true, q);
    if (k == 0) PolyAddInPlace(q, plain.poly, mod);
    ct.polys.push_back(std::move(q));
  }
  return ct;
}

Result<CkksCiphertext> CkksEncryptor::EncryptSymmetric(const CkksPlaintext& plain) const {
  if (!sk_) {
    return Status::InvalidArgument(
        "symmetric encryption needs a CkksEncryptor built from a secret key");
  }
  const Context& c = *ctx_;
  VEIL_RETURN_IF_ERROR(CheckPlainForEncryption(c, plain));
  const size_t l = plain.limbs();
  const std::span<const Modulus> mod(c.data_moduli().data(), l);
  CkksCiphertext ct;
  ct.params_id = c.params_id();
  ct.scale = plain.scale;
  ct.seed = internal::RandomSeed();
  // a is uniform, so it is sampled directly as NTT values; c0 = -a s + e + m.
  RnsPoly a(c.n(), l, true);
  {
    Prng prng(*ct.seed, internal::kDomainCiphertextA);
    internal::SampleUniform(prng, mod, a);
  }
  RnsPoly c0 = a;
  PolyMulInPlace(c0, sk_->s, mod);
  PolyNegateInPlace(c0, mod);
  Prng secret(internal::RandomSeed(), internal::kDomainSecret);
  RnsPoly e(c.n(), l);
  internal::SampleError(secret, mod, e);
  PolyToNtt(e, Ntt(c, l));
  PolyAddInPlace(c0, e, mod);
  PolyAddInPlace(c0, plain.poly, mod);
  ct.polys.push_back(std::move(c0));
  ct.polys.push_back(std::move(a));
  return ct;
}

// ---------------------------------------------------------------- decryption

Result<CkksDecryptor> CkksDecryptor::Create(std::shared_ptr<const Context> context,
                                            const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(CheckCkksContext(context));
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(*context, sk));
  CkksDecryptor d;
  d.ctx_ = std::move(context);
  d.sk_ = sk;
  return d;
}

Result<CkksPlaintext> CkksDecryptor::Decrypt(const CkksCiphertext& ct) const {
  const Context& c = *ctx_;
  if (ct.params_id != c.params_id()) return Mismatched("CKKS ciphertext");
  if (ct.size() < 2 || ct.size() > 3) {
    return Status::InvalidArgument("CKKS ciphertext has " + std::to_string(ct.size()) +
                                   " polynomials, expected 2 or 3");
  }
  VEIL_RETURN_IF_ERROR(CheckPolys(c, ct.polys, "CKKS ciphertext"));
  VEIL_RETURN_IF_ERROR(CheckScale(c, ct.scale, ct.limbs(), "CKKS ciphertext"));
  const std::span<const Modulus> mod(c.data_moduli().data(), ct.limbs());
  // Horner: ((c_{k-1} s + c_{k-2}) s + ...) s + c_0, pointwise in NTT form.
  RnsPoly acc = ct.polys.back();
  for (size_t k = ct.size() - 1; k-- > 0;) {
    PolyMulInPlace(acc, sk_.s, mod);
    PolyAddInPlace(acc, ct.polys[k], mod);
  }
  CkksPlaintext p;
  p.params_id = c.params_id();
  p.poly = std::move(acc);
  p.scale = ct.scale;
  return p;
}

// ---------------------------------------------------------------- evaluation

Result<CkksEvaluator> CkksEvaluator::Create(std::shared_ptr<const Context> context) {
  VEIL_RETURN_IF_ERROR(CheckCkksContext(context));
  CkksEvaluator e;
  e.ctx_ = std::move(context);
  return e;
}

Status CkksEvaluator::Check(const CkksCiphertext& c, size_t min_size, size_t max_size) const {
  if (c.params_id != ctx_->params_id()) return Mismatched("CKKS ciphertext");
  if (c.size() < min_size || c.size() > max_size) {
    return Status::InvalidArgument("CKKS ciphertext has " + std::to_string(c.size()) +
                                   " polynomials, expected " + std::to_string(min_size) + ".." +
                                   std::to_string(max_size));
  }
  VEIL_RETURN_IF_ERROR(CheckPolys(*ctx_, c.polys, "CKKS ciphertext"));
  return CheckScale(*ctx_, c.scale, c.limbs(), "CKKS ciphertext");
}

Status CkksEvaluator::CheckPair(const CkksCiphertext& a, const CkksCiphertext& b) const {
  if (a.limbs() != b.limbs()) {
    return Status::InvalidArgument("CKKS ciphertexts are at different levels (" +
                                   std::to_string(a.limbs()) + " vs " + std::to_string(b.limbs()) +
                                   " limbs); drop one first");
  }
  return Status::Ok();
}

Status CkksEvaluator::AddInPlace(CkksCiphertext& a, const CkksCiphertext& b) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  VEIL_RETURN_IF_ERROR(Check(b, 2, 3));
  VEIL_RETURN_IF_ERROR(CheckPair(a, b));
  if (!ScalesMatch(a.scale, b.scale)) {
    return Status::InvalidArgument("CKKS add: scales differ (" + std::to_string(a.scale) + " vs " +
                                   std::to_string(b.scale) + ")");
  }
  const std::span<const Modulus> mod(ctx_->data_moduli().data(), a.limbs());
  while (a.size() < b.size()) a.polys.emplace_back(ctx_->n(), a.limbs(), true);
  for (size_t k = 0; k < b.size(); ++k) PolyAddInPlace(a.polys[k], b.polys[k], mod);
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::SubInPlace(CkksCiphertext& a, const CkksCiphertext& b) const {
  CkksCiphertext nb = b;
  VEIL_RETURN_IF_ERROR(NegateInPlace(nb));
  return AddInPlace(a, nb);
}

Status CkksEvaluator::NegateInPlace(CkksCiphertext& a) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  const std::span<const Modulus> mod(ctx_->data_moduli().data(), a.limbs());
  for (RnsPoly& p : a.polys) PolyNegateInPlace(p, mod);
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::AddPlainInPlace(CkksCiphertext& a, const CkksPlaintext& p) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  if (p.params_id != ctx_->params_id()) return Mismatched("CKKS plaintext");
  VEIL_RETURN_IF_ERROR(CheckPolys(*ctx_, {p.poly}, "CKKS plaintext"));
  if (p.limbs() < a.limbs()) {
    return Status::InvalidArgument(
        "CKKS add plain: the plaintext has fewer limbs than the "
        "ciphertext");
  }
  if (!ScalesMatch(a.scale, p.scale)) {
    return Status::InvalidArgument("CKKS add plain: scales differ (" + std::to_string(a.scale) +
                                   " vs " + std::to_string(p.scale) + ")");
  }
  PolyAddInPlace(a.polys[0], p.poly, {ctx_->data_moduli().data(), a.limbs()});
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::MultiplyPlainInPlace(CkksCiphertext& a, const CkksPlaintext& p) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  if (p.params_id != ctx_->params_id()) return Mismatched("CKKS plaintext");
  VEIL_RETURN_IF_ERROR(CheckPolys(*ctx_, {p.poly}, "CKKS plaintext"));
  if (p.limbs() < a.limbs()) {
    return Status::InvalidArgument(
        "CKKS multiply plain: the plaintext has fewer limbs than "
        "the ciphertext");
  }
  const double scale = a.scale * p.scale;
  VEIL_RETURN_IF_ERROR(CheckScale(*ctx_, scale, a.limbs(), "CKKS multiply plain"));
  const std::span<const Modulus> mod(ctx_->data_moduli().data(), a.limbs());
  for (RnsPoly& q : a.polys) PolyMulInPlace(q, p.poly, mod);
  a.scale = scale;
  a.seed.reset();
  return Status::Ok();
}

Result<CkksCiphertext> CkksEvaluator::Multiply(const CkksCiphertext& a,
                                               const CkksCiphertext& b) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 2));
  VEIL_RETURN_IF_ERROR(Check(b, 2, 2));
  VEIL_RETURN_IF_ERROR(CheckPair(a, b));
  const double scale = a.scale * b.scale;
  VEIL_RETURN_IF_ERROR(CheckScale(*ctx_, scale, a.limbs(), "CKKS multiply"));
  const size_t n = ctx_->n(), l = a.limbs();
  CkksCiphertext out;
  out.params_id = a.params_id;
  out.scale = scale;
  out.polys.assign(3, RnsPoly(n, l, true));
  for (size_t j = 0; j < l; ++j) {
    const Modulus& m = ctx_->data_moduli()[j];
    const uint64_t *x0 = a.polys[0].limb(j), *x1 = a.polys[1].limb(j);
    const uint64_t *y0 = b.polys[0].limb(j), *y1 = b.polys[1].limb(j);
    uint64_t *o0 = out.polys[0].limb(j), *o1 = out.polys[1].limb(j), *o2 = out.polys[2].limb(j);
    for (size_t i = 0; i < n; ++i) {
      o0[i] = BarrettReduce128(static_cast<u128>(x0[i]) * y0[i], m);
      o1[i] =
          BarrettReduce128(static_cast<u128>(x0[i]) * y1[i] + static_cast<u128>(x1[i]) * y0[i], m);
      o2[i] = BarrettReduce128(static_cast<u128>(x1[i]) * y1[i], m);
    }
  }
  return out;
}

Status CkksEvaluator::RelinearizeInPlace(CkksCiphertext& a, const RelinKeys& rk) const {
  VEIL_RETURN_IF_ERROR(Check(a, 3, 3));
  if (rk.params_id != ctx_->params_id()) return Mismatched("relinearization key");
  VEIL_RETURN_IF_ERROR(CheckKeyShape(*ctx_, rk.key));
  RnsPoly d = a.polys[2];
  PolyFromNtt(d, Ntt(*ctx_, d.limbs()));
  const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(*ctx_, d, &a.polys[2]);
  RnsPoly u0, u1;
  internal::KeySwitchFromDigits(*ctx_, digits, nullptr, rk.key, true, u0, u1);
  const std::span<const Modulus> mod(ctx_->data_moduli().data(), a.limbs());
  PolyAddInPlace(a.polys[0], u0, mod);
  PolyAddInPlace(a.polys[1], u1, mod);
  a.polys.pop_back();
  a.seed.reset();
  return Status::Ok();
}

Result<CkksCiphertext> CkksEvaluator::MultiplyRelin(const CkksCiphertext& a,
                                                    const CkksCiphertext& b,
                                                    const RelinKeys& rk) const {
  VEIL_ASSIGN_OR_RETURN(CkksCiphertext out, Multiply(a, b));
  VEIL_RETURN_IF_ERROR(RelinearizeInPlace(out, rk));
  return out;
}

Status CkksEvaluator::RescaleInPlace(CkksCiphertext& a) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  if (a.limbs() < 2) {
    return Status::InvalidArgument("CKKS rescale: the ciphertext is at the last level");
  }
  const double q = static_cast<double>(ctx_->data_moduli()[a.limbs() - 1].value());
  if (a.scale / q < 1.0) {
    return Status::InvalidArgument("CKKS rescale: scale " + std::to_string(a.scale) +
                                   " is smaller than the prime it would be divided by");
  }
  for (RnsPoly& p : a.polys) internal::DivideRoundByLastPrime(*ctx_, p);
  a.scale /= q;
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::DropToLimbsInPlace(CkksCiphertext& a, size_t limbs) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 3));
  if (limbs < 1 || limbs > a.limbs()) {
    return Status::InvalidArgument("cannot drop a " + std::to_string(a.limbs()) +
                                   "-limb CKKS ciphertext to " + std::to_string(limbs) + " limbs");
  }
  VEIL_RETURN_IF_ERROR(CheckScale(*ctx_, a.scale, limbs, "CKKS drop level"));
  for (RnsPoly& p : a.polys) p.Truncate(limbs);
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::ApplyGaloisInPlace(CkksCiphertext& a, uint32_t galois_elt,
                                         const GaloisKeys& gk) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 2));
  if (gk.params_id != ctx_->params_id()) return Mismatched("Galois keys");
  auto it = gk.keys.find(galois_elt);
  if (it == gk.keys.end()) {
    return Status::NotFound("no Galois key for element " + std::to_string(galois_elt));
  }
  VEIL_RETURN_IF_ERROR(CheckKeyShape(*ctx_, it->second));
  const Context& c = *ctx_;
  RnsPoly d = a.polys[1];
  PolyFromNtt(d, Ntt(c, d.limbs()));
  const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(c, d, &a.polys[1]);
  RnsPoly r0, r1;
  internal::ApplyGaloisNtt(c, digits, a.polys[0], galois_elt, it->second, r0, r1);
  a.polys[0] = std::move(r0);
  a.polys[1] = std::move(r1);
  a.seed.reset();
  return Status::Ok();
}

Status CkksEvaluator::RotateInPlace(CkksCiphertext& a, int steps, const GaloisKeys& gk) const {
  const size_t n = ctx_->n();
  VEIL_RETURN_IF_ERROR(Check(a, 2, 2));
  VEIL_ASSIGN_OR_RETURN(uint32_t elt, GaloisEltForRowRotation(n, steps));
  if (elt == 1) return Status::Ok();
  if (gk.keys.count(elt) != 0) return ApplyGaloisInPlace(a, elt, gk);
  const int sign = steps < 0 ? -1 : 1;
  const int64_t magnitude = steps < 0 ? -static_cast<int64_t>(steps) : steps;
  std::vector<uint32_t> plan;
  for (int64_t bit = 1; bit <= magnitude; bit <<= 1) {
    if ((magnitude & bit) == 0) continue;
    VEIL_ASSIGN_OR_RETURN(uint32_t e, GaloisEltForRowRotation(n, sign * static_cast<int>(bit)));
    if (gk.keys.count(e) == 0) {
      return Status::NotFound("no Galois key for a rotation by " + std::to_string(steps) +
                              " (missing the step " + std::to_string(sign * bit) + ")");
    }
    plan.push_back(e);
  }
  for (uint32_t e : plan) VEIL_RETURN_IF_ERROR(ApplyGaloisInPlace(a, e, gk));
  return Status::Ok();
}

Status CkksEvaluator::ConjugateInPlace(CkksCiphertext& a, const GaloisKeys& gk) const {
  return ApplyGaloisInPlace(a, GaloisEltForColumnSwap(ctx_->n()), gk);
}

Result<std::vector<CkksCiphertext>> CkksEvaluator::RotateHoisted(const CkksCiphertext& a,
                                                                 const std::vector<int>& steps,
                                                                 const GaloisKeys& gk) const {
  VEIL_RETURN_IF_ERROR(Check(a, 2, 2));
  if (gk.params_id != ctx_->params_id()) return Mismatched("Galois keys");
  const Context& c = *ctx_;
  std::vector<uint32_t> elts;
  for (int step : steps) {
    VEIL_ASSIGN_OR_RETURN(uint32_t e, GaloisEltForRowRotation(c.n(), step));
    if (e != 1) {
      auto it = gk.keys.find(e);
      if (it == gk.keys.end()) {
        return Status::NotFound("no Galois key for a hoisted rotation by " + std::to_string(step));
      }
      VEIL_RETURN_IF_ERROR(CheckKeyShape(c, it->second));
    }
    elts.push_back(e);
  }
  RnsPoly d = a.polys[1];
  PolyFromNtt(d, Ntt(c, d.limbs()));
  const internal::KeySwitchDigits& digits = internal::DecomposeForKeySwitch(c, d, &a.polys[1]);
  const std::span<const Modulus> mod(c.data_moduli().data(), a.limbs());
  std::vector<CkksCiphertext> out;
  out.reserve(elts.size());
  for (uint32_t elt : elts) {
    if (elt == 1) {
      CkksCiphertext copy = a;
      copy.seed.reset();
      out.push_back(std::move(copy));
      continue;
    }
    CkksCiphertext r;
    r.params_id = a.params_id;
    r.scale = a.scale;
    r.polys.resize(2);
    internal::ApplyGaloisNtt(c, digits, a.polys[0], elt, gk.keys.at(elt), r.polys[0], r.polys[1]);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace veil::he
