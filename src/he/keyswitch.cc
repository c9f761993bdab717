#include "keyswitch.h"

#include <algorithm>

namespace veil::he::internal {

namespace {

// The key prime index of target j (0..l-1 data primes, l = the special prime).
size_t KeyIndex(const Context& ctx, size_t limbs, size_t j) {
  return j < limbs ? j : ctx.data_limbs();
}

// Centred residue of x mod p (x in [0, p)) reduced modulo m: x if x <= p/2, else x - p.
inline uint64_t CentredMod(uint64_t x, uint64_t half_p, uint64_t p_mod_m, const Modulus& m) {
  const uint64_t v = BarrettReduce64(x, m);
  const uint64_t neg = uint64_t{0} - static_cast<uint64_t>(x > half_p);
  return SubMod(v, p_mod_m & neg, m);
}

}  // namespace

const KeySwitchDigits& DecomposeForKeySwitch(const Context& ctx, const RnsPoly& d,
                                             const RnsPoly* d_ntt) {
  const size_t n = ctx.n(), l = d.limbs();
  // Thread-local, reused: every entry is written below before it is read.
  thread_local KeySwitchDigits out;
  out.limbs = l;
  out.data.resize(l * (l + 1) * n);
  for (size_t i = 0; i < l; ++i) {
    const uint64_t* di = d.limb(i);
    for (size_t j = 0; j <= l; ++j) {
      const size_t kj = KeyIndex(ctx, l, j);
      uint64_t* o = out.data.data() + (i * (l + 1) + j) * n;
      if (kj == i && d_ntt != nullptr) {
        // The digit over its own prime is the limb itself: reuse its NTT form.
        std::copy(d_ntt->limb(i), d_ntt->limb(i) + n, o);
        continue;
      }
      if (kj == i) {
        std::copy(di, di + n, o);
      } else {
        const Modulus& m = ctx.key_moduli()[kj];
        for (size_t k = 0; k < n; ++k) o[k] = BarrettReduce64(di[k], m);
      }
      ctx.key_ntt()[kj].Forward(o);
    }
  }
  return out;
}

void KeySwitchFromDigits(const Context& ctx, const KeySwitchDigits& digits, const uint32_t* perm,
                         const KSwitchKey& key, bool ntt_out, RnsPoly& u0, RnsPoly& u1) {
  const size_t n = ctx.n(), l = digits.limbs;
  // Scratch reused across calls on this thread (every value is overwritten before it is
  // read): key switching runs in loops, and fresh multi-megabyte buffers cost page faults.
  thread_local RnsPoly acc0, acc1;
  thread_local std::vector<u128> s0, s1;
  for (RnsPoly* acc : {&acc0, &acc1}) {
    if (acc->n() != n || acc->limbs() != l + 1) *acc = RnsPoly(n, l + 1);
    acc->set_ntt_form(true);
  }
  s0.resize(n);
  s1.resize(n);
  for (size_t j = 0; j <= l; ++j) {
    const size_t kj = KeyIndex(ctx, l, j);
    const Modulus& m = ctx.key_moduli()[kj];
    std::fill(s0.begin(), s0.end(), 0);
    std::fill(s1.begin(), s1.end(), 0);
    // Each product is < 2^122 and l <= 64, so the u128 sums cannot overflow.
    for (size_t i = 0; i < l; ++i) {
      const uint64_t* d = digits.at(i, j, n);
      const uint64_t* kb = key.b[i].limb(kj);
      const uint64_t* ka = key.a[i].limb(kj);
      if (perm != nullptr) {
        for (size_t k = 0; k < n; ++k) {
          const uint64_t x = d[perm[k]];
          s0[k] += static_cast<u128>(x) * kb[k];
          s1[k] += static_cast<u128>(x) * ka[k];
        }
      } else {
        for (size_t k = 0; k < n; ++k) {
          s0[k] += static_cast<u128>(d[k]) * kb[k];
          s1[k] += static_cast<u128>(d[k]) * ka[k];
        }
      }
    }
    uint64_t* o0 = acc0.limb(j);
    uint64_t* o1 = acc1.limb(j);
    for (size_t k = 0; k < n; ++k) {
      o0[k] = BarrettReduce128(s0[k], m);
      o1[k] = BarrettReduce128(s1[k], m);
    }
  }
  DivideBySpecialPrime(ctx, acc0, ntt_out, u0);
  DivideBySpecialPrime(ctx, acc1, ntt_out, u1);
}

void DivideBySpecialPrime(const Context& ctx, RnsPoly& acc, bool ntt_out, RnsPoly& u) {
  // u = (acc - centred [acc]_P) * P^-1 over q_0..q_{l-1}: the rounded quotient acc / P.
  const size_t n = acc.n(), l = acc.limbs() - 1;
  const NttTables& p_ntt = ctx.key_ntt()[ctx.data_limbs()];
  const uint64_t half_p = ctx.key_moduli()[ctx.data_limbs()].value() >> 1;
  std::vector<uint64_t> corr(n);
  p_ntt.Inverse(acc.limb(l));
  const uint64_t* sp = acc.limb(l);
  u = RnsPoly(n, l, ntt_out);
  for (size_t i = 0; i < l; ++i) {
    const Modulus& m = ctx.data_moduli()[i];
    const uint64_t p_mod = ctx.p_mod_q()[i];
    uint64_t* a = acc.limb(i);
    for (size_t k = 0; k < n; ++k) corr[k] = CentredMod(sp[k], half_p, p_mod, m);
    if (ntt_out) {
      ctx.key_ntt()[i].Forward(corr.data());
    } else {
      ctx.key_ntt()[i].Inverse(a);
    }
    uint64_t* o = u.limb(i);
    const ShoupOperand& p_inv = ctx.p_inv_mod_q()[i];
    for (size_t k = 0; k < n; ++k) o[k] = MulShoup(SubMod(a[k], corr[k], m), p_inv, m);
  }
}

void ApplyGaloisNtt(const Context& ctx, const KeySwitchDigits& digits, const RnsPoly& c0_ntt,
                    uint32_t galois_elt, const KSwitchKey& key, RnsPoly& r0, RnsPoly& r1) {
  const std::vector<uint32_t> perm = NttAutomorphismPermutation(ctx.n(), ctx.log_n(), galois_elt);
  RnsPoly u0;
  KeySwitchFromDigits(ctx, digits, perm.data(), key, true, u0, r1);
  ApplyNttPermutation(c0_ntt, perm, r0);
  PolyAddInPlace(r0, u0, ctx.data_moduli());
}

Status CheckKeyShape(const Context& ctx, const KSwitchKey& k) {
  if (k.b.size() != ctx.data_limbs() || k.a.size() != ctx.data_limbs()) {
    return Status::InvalidArgument("key switching key has the wrong number of components");
  }
  for (size_t i = 0; i < k.b.size(); ++i) {
    for (const RnsPoly* p : {&k.b[i], &k.a[i]}) {
      if (p->n() != ctx.n() || p->limbs() != ctx.key_limbs() || !p->shape_ok() || !p->ntt_form()) {
        return Status::InvalidArgument("key switching key has the wrong shape");
      }
    }
  }
  return Status::Ok();
}

std::vector<uint32_t> NttAutomorphismPermutation(size_t n, int log_n, uint32_t galois_elt) {
  // Bit reversal by the recurrence rev(k) = rev(k / 2) / 2 | (k & 1) << (log_n - 1).
  std::vector<uint32_t> rev(n);
  for (size_t k = 1; k < n; ++k) {
    rev[k] = (rev[k >> 1] >> 1) | (static_cast<uint32_t>(k & 1) << (log_n - 1));
  }
  std::vector<uint32_t> perm(n);
  const uint64_t two_n_mask = 2 * static_cast<uint64_t>(n) - 1;
  for (size_t k = 0; k < n; ++k) {
    const uint64_t e = (static_cast<uint64_t>(galois_elt) * (2 * rev[k] + 1)) & two_n_mask;
    perm[k] = rev[(e - 1) >> 1];
  }
  return perm;
}

void ApplyNttPermutation(const RnsPoly& in, const std::vector<uint32_t>& perm, RnsPoly& out) {
  const size_t n = in.n();
  out = RnsPoly(n, in.limbs(), true);
  for (size_t l = 0; l < in.limbs(); ++l) {
    const uint64_t* x = in.limb(l);
    uint64_t* y = out.limb(l);
    for (size_t k = 0; k < n; ++k) y[k] = x[perm[k]];
  }
}

void DivideRoundByLastPrime(const Context& ctx, RnsPoly& p) {
  const size_t n = p.n(), l = p.limbs();
  const size_t last = l - 1;
  const Modulus& ql = ctx.data_moduli()[last];
  const uint64_t half = ql.value() >> 1;
  std::vector<uint64_t> r(p.limb(last), p.limb(last) + n);
  if (p.ntt_form()) ctx.key_ntt()[last].Inverse(r.data());
  std::vector<uint64_t> corr(n);
  const std::vector<ShoupOperand>& inv = ctx.inv_last_mod_q(l);
  for (size_t i = 0; i < last; ++i) {
    const Modulus& m = ctx.data_moduli()[i];
    const uint64_t ql_mod = BarrettReduce64(ql.value(), m);
    for (size_t k = 0; k < n; ++k) corr[k] = CentredMod(r[k], half, ql_mod, m);
    if (p.ntt_form()) ctx.key_ntt()[i].Forward(corr.data());
    uint64_t* x = p.limb(i);
    for (size_t k = 0; k < n; ++k) x[k] = MulShoup(SubMod(x[k], corr[k], m), inv[i], m);
  }
  p.Truncate(last);
}

}  // namespace veil::he::internal
