#include "veil/he/ntt.h"

#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VEIL_HE_AVX512 1
#endif

namespace veil::he {

#ifdef VEIL_HE_AVX512
namespace {

// AVX-512 butterflies for the stages whose blocks are >= 8 coefficients long (all but the
// last three forward / first three inverse stages). Same arithmetic as the scalar code (Harvey
// lazy reduction, Shoup products), so the results are identical; branch-free like it.
#define VEIL_AVX512_TARGET __attribute__((target("avx512f,avx512dq")))

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return has;
}

// High 64 bits of the unsigned 64x64 products, from four 32x32 products.
VEIL_AVX512_TARGET inline __m512i MulHi64(__m512i a, __m512i b) {
  const __m512i lo_mask = _mm512_set1_epi64(0xffffffff);
  const __m512i a_hi = _mm512_srli_epi64(a, 32);
  const __m512i b_hi = _mm512_srli_epi64(b, 32);
  const __m512i ll = _mm512_mul_epu32(a, b);
  const __m512i hl = _mm512_mul_epu32(a_hi, b);
  const __m512i lh = _mm512_mul_epu32(a, b_hi);
  const __m512i hh = _mm512_mul_epu32(a_hi, b_hi);
  const __m512i t = _mm512_add_epi64(hl, _mm512_srli_epi64(ll, 32));
  const __m512i u = _mm512_add_epi64(lh, _mm512_and_si512(t, lo_mask));
  return _mm512_add_epi64(_mm512_add_epi64(hh, _mm512_srli_epi64(t, 32)), _mm512_srli_epi64(u, 32));
}

// x - q if x >= q else x (unsigned; x - q wraps above x otherwise).
VEIL_AVX512_TARGET inline __m512i CondSubV(__m512i x, __m512i q) {
  return _mm512_min_epu64(x, _mm512_sub_epi64(x, q));
}

// x * w mod q in [0, 2q) (MulShoupLazy on 8 lanes).
VEIL_AVX512_TARGET inline __m512i MulShoupLazyV(__m512i x, __m512i w, __m512i w_quot, __m512i q) {
  const __m512i hi = MulHi64(x, w_quot);
  return _mm512_sub_epi64(_mm512_mullo_epi64(x, w), _mm512_mullo_epi64(hi, q));
}

VEIL_AVX512_TARGET void ForwardAvx512(uint64_t* a, size_t n, const ShoupOperand* psi_rev,
                                      uint64_t q) {
  const uint64_t two_q = 2 * q;
  const __m512i vq = _mm512_set1_epi64(static_cast<long long>(q));
  const __m512i v2q = _mm512_set1_epi64(static_cast<long long>(two_q));
  size_t t = n;
  for (size_t m = 1; m < n; m <<= 1) {
    t >>= 1;
    for (size_t i = 0; i < m; ++i) {
      const ShoupOperand w = psi_rev[m + i];
      uint64_t* x = a + 2 * i * t;
      uint64_t* y = x + t;
      if (t >= 8) {
        const __m512i vw = _mm512_set1_epi64(static_cast<long long>(w.value));
        const __m512i vwq = _mm512_set1_epi64(static_cast<long long>(w.quotient));
        for (size_t j = 0; j < t; j += 8) {
          const __m512i u = CondSubV(_mm512_loadu_si512(x + j), v2q);
          const __m512i v = MulShoupLazyV(_mm512_loadu_si512(y + j), vw, vwq, vq);
          _mm512_storeu_si512(x + j, _mm512_add_epi64(u, v));
          _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(u, v), v2q));
        }
      } else {
        for (size_t j = 0; j < t; ++j) {
          const uint64_t u = CondSub(x[j], two_q);
          const uint64_t v = MulShoupLazy(y[j], w, q);
          x[j] = u + v;
          y[j] = u - v + two_q;
        }
      }
    }
  }
  for (size_t i = 0; i < n; i += 8) {
    const __m512i x = _mm512_loadu_si512(a + i);
    _mm512_storeu_si512(a + i, CondSubV(CondSubV(x, v2q), vq));
  }
}

VEIL_AVX512_TARGET void InverseAvx512(uint64_t* a, size_t n, const ShoupOperand* psi_inv_rev,
                                      ShoupOperand n_inv, uint64_t q) {
  const uint64_t two_q = 2 * q;
  const __m512i vq = _mm512_set1_epi64(static_cast<long long>(q));
  const __m512i v2q = _mm512_set1_epi64(static_cast<long long>(two_q));
  size_t t = 1;
  for (size_t m = n; m > 1; m >>= 1) {
    const size_t h = m >> 1;
    size_t j1 = 0;
    for (size_t i = 0; i < h; ++i) {
      const ShoupOperand w = psi_inv_rev[h + i];
      uint64_t* x = a + j1;
      uint64_t* y = x + t;
      if (t >= 8) {
        const __m512i vw = _mm512_set1_epi64(static_cast<long long>(w.value));
        const __m512i vwq = _mm512_set1_epi64(static_cast<long long>(w.quotient));
        for (size_t j = 0; j < t; j += 8) {
          const __m512i u = _mm512_loadu_si512(x + j);
          const __m512i v = _mm512_loadu_si512(y + j);
          _mm512_storeu_si512(x + j, CondSubV(_mm512_add_epi64(u, v), v2q));
          _mm512_storeu_si512(
              y + j, MulShoupLazyV(_mm512_add_epi64(_mm512_sub_epi64(u, v), v2q), vw, vwq, vq));
        }
      } else {
        for (size_t j = 0; j < t; ++j) {
          const uint64_t u = x[j];
          const uint64_t v = y[j];
          x[j] = CondSub(u + v, two_q);
          y[j] = MulShoupLazy(u - v + two_q, w, q);
        }
      }
      j1 += 2 * t;
    }
    t <<= 1;
  }
  const __m512i vn = _mm512_set1_epi64(static_cast<long long>(n_inv.value));
  const __m512i vnq = _mm512_set1_epi64(static_cast<long long>(n_inv.quotient));
  for (size_t i = 0; i < n; i += 8) {
    const __m512i x = _mm512_loadu_si512(a + i);
    _mm512_storeu_si512(a + i, CondSubV(MulShoupLazyV(x, vn, vnq, vq), vq));
  }
}

}  // namespace
#endif

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
#ifdef VEIL_HE_AVX512
  if (n_ >= 16 && HasAvx512()) return ForwardAvx512(a, n_, psi_rev_.data(), modulus_.value());
#endif
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
#ifdef VEIL_HE_AVX512
  if (n_ >= 16 && HasAvx512()) {
    return InverseAvx512(a, n_, psi_inv_rev_.data(), n_inv_, modulus_.value());
  }
#endif
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
