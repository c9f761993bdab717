#include "veil/he/ntt.h"

#include <string>

namespace veil::he {

uint32_t ReverseBits(uint32_t x, int bits) {
  uint32_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | ((x >> i) & 1);
  }
  return r;
}

Result<NttTables> NttTables::Create(size_t n, const Modulus& modulus) {
  if (n < 2 || n > kMaxDegree || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("NTT degree must be a power of two in [2, 32768], got " +
                                   std::to_string(n));
  }
  const uint64_t q = modulus.value();
  if (q < 3 || q > kMaxModulus || !IsPrime(q)) {
    return Status::InvalidArgument("NTT modulus " + std::to_string(q) +
                                   " is not a prime below 2^61");
  }
  VEIL_ASSIGN_OR_RETURN(uint64_t psi, FindPrimitiveRoot(2 * n, modulus));
  NttTables t;
  t.n_ = n;
  t.log_n_ = __builtin_ctzll(n);
  t.modulus_ = modulus;
  t.psi_ = psi;
  t.psi_rev_.resize(n);
  t.psi_inv_rev_.resize(n);
  const uint64_t psi_inv = InvModPrime(psi, modulus);
  uint64_t power = 1, inv_power = 1;
  std::vector<uint64_t> pw(n), ipw(n);
  for (size_t i = 0; i < n; ++i) {
    pw[i] = power;
    ipw[i] = inv_power;
    power = MulMod(power, psi, modulus);
    inv_power = MulMod(inv_power, psi_inv, modulus);
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = ReverseBits(static_cast<uint32_t>(i), t.log_n_);
    t.psi_rev_[i] = MakeShoup(pw[r], modulus);
    t.psi_inv_rev_[i] = MakeShoup(ipw[r], modulus);
  }
  t.n_inv_ = MakeShoup(InvModPrime(static_cast<uint64_t>(n) % q, modulus), modulus);
  return t;
}

void NttTables::Forward(uint64_t* a) const {
  const uint64_t q = modulus_.value();
  const uint64_t two_q = 2 * q;
  size_t t = n_;
  for (size_t m = 1; m < n_; m <<= 1) {
    t >>= 1;
    for (size_t i = 0; i < m; ++i) {
      const size_t j1 = 2 * i * t;
      const ShoupOperand w = psi_rev_[m + i];
      uint64_t* x = a + j1;
      uint64_t* y = x + t;
      for (size_t j = 0; j < t; ++j) {
        // Harvey: x in [0, 4q) -> [0, 2q); y * w in [0, 2q); outputs in [0, 4q).
        const uint64_t u = CondSub(x[j], two_q);
        const uint64_t v = MulShoupLazy(y[j], w, q);
        x[j] = u + v;
        y[j] = u - v + two_q;
      }
    }
  }
  for (size_t i = 0; i < n_; ++i) {
    a[i] = CondSub(CondSub(a[i], two_q), q);
  }
}

void NttTables::Inverse(uint64_t* a) const {
  const uint64_t q = modulus_.value();
  const uint64_t two_q = 2 * q;
  size_t t = 1;
  for (size_t m = n_; m > 1; m >>= 1) {
    const size_t h = m >> 1;
    size_t j1 = 0;
    for (size_t i = 0; i < h; ++i) {
      const ShoupOperand w = psi_inv_rev_[h + i];
      uint64_t* x = a + j1;
      uint64_t* y = x + t;
      for (size_t j = 0; j < t; ++j) {
        // Inputs in [0, 2q), outputs in [0, 2q).
        const uint64_t u = x[j];
        const uint64_t v = y[j];
        x[j] = CondSub(u + v, two_q);
        y[j] = MulShoupLazy(u - v + two_q, w, q);
      }
      j1 += 2 * t;
    }
    t <<= 1;
  }
  for (size_t i = 0; i < n_; ++i) {
    a[i] = CondSub(MulShoupLazy(a[i], n_inv_, q), q);
  }
}

}  // namespace veil::he
