// Key switching and modulus reduction shared by BFV and CKKS (internal).
//
// A ciphertext at "limbs" l (1 <= l <= L) lives modulo Q_l = q_0 ... q_{l-1}. Key switching
// a polynomial d (mod Q_l) with a KSwitchKey (made over all L data primes and the special
// prime P) uses the RNS digits [d]_{q_i}, i < l, the key components i < l restricted to the
// primes q_0..q_{l-1} and P, and divides by P with rounding. Working on a prefix of the
// primes is sound because the gadget of component i is zero modulo every q_j, j != i.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/context.h"
#include "veil/he/rns.h"

namespace veil::he::internal {

// The digits of a coefficient-form polynomial d with l = d.limbs() limbs, each in NTT form
// over the l + 1 target primes (q_0..q_{l-1}, then P): digit i over target j is at
// data()[(i * (l + 1) + j) * N].
struct KeySwitchDigits {
  size_t limbs = 0;
  std::vector<uint64_t> data;
  const uint64_t* at(size_t i, size_t j, size_t n) const {
    return data.data() + (i * (limbs + 1) + j) * n;
  }
};
// `d_ntt`, when given, is the same polynomial in NTT form: digit i over its own prime q_i is
// then copied from it instead of being transformed again. The result is a thread-local
// buffer (no multi-megabyte allocation per key switch): valid until the next call on this
// thread, so use it before decomposing anything else.
const KeySwitchDigits& DecomposeForKeySwitch(const Context& ctx, const RnsPoly& d_coeff,
                                             const RnsPoly* d_ntt = nullptr);

// (u0, u1) with u0 + u1 * s = sigma(d) * s' + small (mod Q_l), where s' is the key's source
// secret and sigma the automorphism whose NTT-slot permutation is `perm` (nullptr: none;
// the digits are of d, and sigma(d_i) is still a digit of sigma(d) because sigma only
// permutes and negates coefficients). Outputs have l limbs, in NTT form when `ntt_out`.
void KeySwitchFromDigits(const Context& ctx, const KeySwitchDigits& digits, const uint32_t* perm,
                         const KSwitchKey& key, bool ntt_out, RnsPoly& u0, RnsPoly& u1);

// sigma_g applied to an NTT-form pair (c0, c1) whose c1 was decomposed into `digits`:
// r0 = sigma(c0) + u0, r1 = u1 with (u0, u1) the key switch of sigma(c1); NTT form,
// digits.limbs limbs. The same routine serves single, hoisted (one decomposition, many g)
// and in-layer rotations.
void ApplyGaloisNtt(const Context& ctx, const KeySwitchDigits& digits, const RnsPoly& c0_ntt,
                    uint32_t galois_elt, const KSwitchKey& key, RnsPoly& r0, RnsPoly& r1);

// Shape of a key-switching key against the context (ranges are checked when keys are made or
// decoded; this is the cheap per-use check).
Status CheckKeyShape(const Context& ctx, const KSwitchKey& key);

// acc: l + 1 limbs in NTT form over q_0..q_{l-1} and the special prime P (last). Sets u to
// round(acc / P) over q_0..q_{l-1} (NTT form when `ntt_out`, else coefficient form); acc's
// limbs are overwritten.
void DivideBySpecialPrime(const Context& ctx, RnsPoly& acc, bool ntt_out, RnsPoly& u);

// NTT slot k of sigma_g(x) is NTT slot perm[k] of x (slot k holds x(psi^(2 bitrev(k) + 1))).
std::vector<uint32_t> NttAutomorphismPermutation(size_t n, int log_n, uint32_t galois_elt);
// out = sigma_g(in) for an NTT-form polynomial (a permutation of every limb).
void ApplyNttPermutation(const RnsPoly& in, const std::vector<uint32_t>& perm, RnsPoly& out);

// p <- round(p / q_last) over the remaining primes, dropping the last limb (p.limbs() >= 2).
// Works in either form: the last limb is brought to coefficient form, centred, reduced
// modulo each remaining prime (and transformed back to NTT form when p is in NTT form).
// CKKS rescaling and BFV modulus switching are both this operation.
void DivideRoundByLastPrime(const Context& ctx, RnsPoly& p);

}  // namespace veil::he::internal
