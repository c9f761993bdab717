#include "veil/he/context.h"

#include <algorithm>
#include <string>

#include "veil/digest.h"

namespace veil::he {

namespace {

struct PrimeSpec {
  int bits;
  size_t count;
};

Result<std::vector<uint64_t>> PrimesFromSpec(size_t n, const std::vector<PrimeSpec>& specs) {
  std::vector<uint64_t> out;
  for (const PrimeSpec& s : specs) {
    VEIL_ASSIGN_OR_RETURN(std::vector<uint64_t> p, GenerateNttPrimes(s.bits, n, s.count, out));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

}  // namespace

const char* ParamSetName(ParamSet set) {
  switch (set) {
    case ParamSet::kN4096:
      return "N4096";
    case ParamSet::kN8192:
      return "N8192";
    case ParamSet::kN16384:
      return "N16384";
    case ParamSet::kN32768:
      return "N32768";
  }
  return "unknown";
}

Result<EncryptionParameters> StandardParameters(ParamSet set, uint64_t plain_modulus) {
  EncryptionParameters p;
  p.plain_modulus = plain_modulus;
  std::vector<PrimeSpec> spec;
  switch (set) {
    case ParamSet::kN4096:
      p.poly_degree = 4096;
      spec = {{36, 2}, {37, 1}};
      break;
    case ParamSet::kN8192:
      p.poly_degree = 8192;
      spec = {{43, 2}, {44, 3}};
      break;
    case ParamSet::kN16384:
      p.poly_degree = 16384;
      spec = {{48, 3}, {49, 6}};
      break;
    case ParamSet::kN32768:
      p.poly_degree = 32768;
      spec = {{55, 15}, {56, 1}};
      break;
    default:
      return Status::InvalidArgument("unknown parameter set");
  }
  VEIL_ASSIGN_OR_RETURN(p.coeff_modulus, PrimesFromSpec(p.poly_degree, spec));
  // The largest prime becomes the special (key-switching) prime.
  auto largest = std::max_element(p.coeff_modulus.begin(), p.coeff_modulus.end());
  std::rotate(largest, largest + 1, p.coeff_modulus.end());
  return p;
}

const char* CkksParamSetName(CkksParamSet set) {
  switch (set) {
    case CkksParamSet::kN8192:
      return "CKKS-N8192";
    case CkksParamSet::kN16384:
      return "CKKS-N16384";
  }
  return "unknown";
}

Result<EncryptionParameters> CkksStandardParameters(CkksParamSet set) {
  EncryptionParameters p;
  p.scheme = Scheme::kCkks;
  int wide_bits = 0;
  size_t rescale_primes = 0;
  switch (set) {
    case CkksParamSet::kN8192:
      p.poly_degree = 8192;
      wide_bits = 49;
      rescale_primes = 3;
      break;
    case CkksParamSet::kN16384:
      p.poly_degree = 16384;
      wide_bits = 58;
      rescale_primes = 8;
      break;
    default:
      return Status::InvalidArgument("unknown CKKS parameter set");
  }
  // Two wide primes: the largest is the special prime, the next is q_0.
  VEIL_ASSIGN_OR_RETURN(std::vector<uint64_t> wide, GenerateNttPrimes(wide_bits, p.poly_degree, 2));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint64_t> mid,
                        GenerateNttPrimes(kCkksDefaultScaleBits, p.poly_degree, rescale_primes));
  p.coeff_modulus.push_back(wide[1]);
  p.coeff_modulus.insert(p.coeff_modulus.end(), mid.begin(), mid.end());
  p.coeff_modulus.push_back(wide[0]);
  return p;
}

int MaxModulusBits128(size_t n) {
  switch (n) {
    case 1024:
      return 27;
    case 2048:
      return 54;
    case 4096:
      return 109;
    case 8192:
      return 218;
    case 16384:
      return 438;
    case 32768:
      return 881;
    default:
      return 0;
  }
}

Result<std::shared_ptr<const Context>> Context::Create(const EncryptionParameters& params) {
  const size_t n = params.poly_degree;
  if (n < 1024 || n > 32768 || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("ring degree N=" + std::to_string(n) +
                                   " is not a power of two in [1024, 32768]");
  }
  const auto& primes = params.coeff_modulus;
  if (primes.size() < 2) {
    return Status::InvalidArgument(
        "the coefficient modulus needs at least one data prime and the special prime");
  }
  if (primes.size() > 64) return Status::InvalidArgument("more than 64 coefficient primes");
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  for (size_t i = 0; i < primes.size(); ++i) {
    const uint64_t q = primes[i];
    const std::string name = "coefficient prime " + std::to_string(q);
    if (q < 2 || q > kMaxModulus) return Status::InvalidArgument(name + " is not below 2^61");
    if (!IsPrime(q)) return Status::InvalidArgument(name + " is not prime");
    if (q % two_n != 1) {
      return Status::InvalidArgument(name + " is not 1 mod 2N=" + std::to_string(two_n) +
                                     " (not NTT-friendly)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (primes[j] == q) return Status::InvalidArgument(name + " appears twice");
    }
  }
  const int bound = MaxModulusBits128(n);
  const std::vector<uint64_t> qp = BigProduct(primes);
  const int total_bits = BigBitCount(qp);
  if (total_bits > bound) {
    return Status::InvalidArgument(
        "insecure parameters: log2(Q*P) = " + std::to_string(total_bits) +
        " bits exceeds the HomomorphicEncryption.org 128-bit bound of " + std::to_string(bound) +
        " bits for N=" + std::to_string(n) + " (ternary secret)");
  }
  const uint64_t special = primes.back();
  for (size_t i = 0; i + 1 < primes.size(); ++i) {
    if (primes[i] > special) {
      return Status::InvalidArgument(
          "the special (last) prime must be at least as large as every data prime");
    }
  }
  const uint64_t t = params.plain_modulus;
  if (params.scheme == Scheme::kCkks) {
    if (t != 0) {
      return Status::InvalidArgument("CKKS has no plain modulus: plain_modulus must be 0, got " +
                                     std::to_string(t));
    }
  } else if (params.scheme != Scheme::kBfv) {
    return Status::InvalidArgument("unknown HE scheme " +
                                   std::to_string(static_cast<int>(params.scheme)));
  } else {
    if (t < 2 || t >= (uint64_t{1} << 32)) {
      return Status::InvalidArgument("plain modulus t=" + std::to_string(t) +
                                     " is not in [2, 2^32)");
    }
    for (size_t i = 0; i < primes.size(); ++i) {
      if (t >= primes[i]) {
        return Status::InvalidArgument("plain modulus t=" + std::to_string(t) +
                                       " is not below every coefficient prime");
      }
    }
  }

  std::shared_ptr<Context> c(new Context());
  c->params_ = params;
  c->log_n_ = __builtin_ctzll(n);
  c->total_bits_ = total_bits;
  const size_t L = primes.size() - 1;
  for (uint64_t q : primes) c->key_moduli_.emplace_back(q);
  c->data_moduli_.assign(c->key_moduli_.begin(), c->key_moduli_.begin() + L);
  c->data_bits_ = BigBitCount(BigProduct(std::span<const uint64_t>(primes.data(), L)));
  for (const Modulus& m : c->key_moduli_) {
    VEIL_ASSIGN_OR_RETURN(NttTables tab, NttTables::Create(n, m));
    c->key_ntt_.push_back(std::move(tab));
  }
  for (size_t limbs = 1; limbs <= L; ++limbs) {
    c->level_bits_.push_back(
        BigBitCount(BigProduct(std::span<const uint64_t>(primes.data(), limbs))));
    std::vector<ShoupOperand> inv_last;
    const Modulus& last = c->data_moduli_[limbs - 1];
    for (size_t i = 0; i + 1 < limbs; ++i) {
      const Modulus& m = c->data_moduli_[i];
      inv_last.push_back(MakeShoup(InvModPrime(BarrettReduce64(last.value(), m), m), m));
    }
    c->inv_last_mod_q_.push_back(std::move(inv_last));
  }
  if (params.scheme == Scheme::kBfv) {
    VEIL_RETURN_IF_ERROR(c->InitBfv());
  }
  for (size_t i = 0; i < L; ++i) {
    const Modulus& m = c->data_moduli_[i];
    const uint64_t p_mod = special % m.value();
    c->p_mod_q_.push_back(p_mod);
    c->p_inv_mod_q_.push_back(MakeShoup(InvModPrime(p_mod, m), m));
  }

  Sha256Hasher h;
  // BFV keeps its original tag (params_id unchanged); CKKS sets get their own.
  const std::string tag =
      params.scheme == Scheme::kBfv ? "veil.he.bfv.params.v1" : "veil.he.ckks.params.v1";
  h.Update({reinterpret_cast<const uint8_t*>(tag.data()), tag.size()});
  h.UpdateU64(n);
  h.UpdateU64(primes.size());
  for (uint64_t q : primes) h.UpdateU64(q);
  h.UpdateU64(t);
  const Digest d = h.Finish();
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id |= static_cast<uint64_t>(d[i]) << (8 * i);
  c->params_id_ = id;
  return std::shared_ptr<const Context>(std::move(c));
}

Status Context::InitBfv() {
  const auto& primes = params_.coeff_modulus;
  const size_t n = params_.poly_degree;
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  const uint64_t t = params_.plain_modulus;
  const size_t L = data_moduli_.size();
  plain_ = Modulus(t);
  batching_ = IsPrime(t) && t % two_n == 1;
  if (batching_) {
    VEIL_ASSIGN_OR_RETURN(plain_ntt_, NttTables::Create(n, plain_));
  }

  // Q mod t, floor(Q/t) mod q_i = -(Q mod t) * t^-1 mod q_i, t mod q_i.
  uint64_t q_mod_t = 1 % t;
  for (size_t i = 0; i < L; ++i) q_mod_t = MulMod(q_mod_t, primes[i] % t, plain_);
  q_mod_t_ = q_mod_t;
  for (size_t i = 0; i < L; ++i) {
    const Modulus& m = data_moduli_[i];
    const uint64_t t_inv = InvModPrime(t % m.value(), m);
    const uint64_t delta = MulMod(NegateMod(q_mod_t % m.value(), m), t_inv, m);
    delta_mod_q_.push_back(MakeShoup(delta, m));
    t_mod_q_.push_back(MakeShoup(t % m.value(), m));
  }
  // Per level (Q_l = q_0 ... q_{l-1}): Q_l^-1 mod t and the Q_l -> t converter.
  uint64_t ql_mod_t = 1 % t;
  for (size_t limbs = 1; limbs <= L; ++limbs) {
    ql_mod_t = MulMod(ql_mod_t, primes[limbs - 1] % t, plain_);
    VEIL_ASSIGN_OR_RETURN(uint64_t inv, InvMod(ql_mod_t, t));
    q_inv_mod_t_.push_back(inv);
    std::vector<Modulus> base(data_moduli_.begin(),
                              data_moduli_.begin() + static_cast<long>(limbs));
    VEIL_ASSIGN_OR_RETURN(BaseConverter conv, BaseConverter::Create(std::move(base), {plain_}));
    q_to_t_.push_back(std::move(conv));
  }

  // Auxiliary base for multiplication: 60-bit primes with B > t * N * Q * 2^6.
  const int t_bits = 64 - __builtin_clzll(t);
  const int need_bits = data_bits_ + t_bits + log_n_ + 6;
  const size_t aux_count = static_cast<size_t>((need_bits + 58) / 59);
  VEIL_ASSIGN_OR_RETURN(std::vector<uint64_t> aux, GenerateNttPrimes(60, n, aux_count, primes));
  for (uint64_t p : aux) {
    aux_moduli_.emplace_back(p);
    VEIL_ASSIGN_OR_RETURN(NttTables tab, NttTables::Create(n, aux_moduli_.back()));
    aux_ntt_.push_back(std::move(tab));
  }
  VEIL_ASSIGN_OR_RETURN(q_to_aux_, BaseConverter::Create(data_moduli_, aux_moduli_));
  VEIL_ASSIGN_OR_RETURN(aux_to_q_, BaseConverter::Create(aux_moduli_, data_moduli_));
  for (const Modulus& b : aux_moduli_) {
    t_mod_aux_.push_back(MakeShoup(t % b.value(), b));
    uint64_t qb = 1;
    for (size_t i = 0; i < L; ++i) qb = MulMod(qb, primes[i] % b.value(), b);
    q_inv_mod_aux_.push_back(MakeShoup(InvModPrime(qb, b), b));
  }

  return Status::Ok();
}

}  // namespace veil::he
