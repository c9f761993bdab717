// RNS polynomials: an element of Z_Q[X]/(X^N + 1), Q = q_0 * ... * q_{L-1}, stored as L
// limbs of N residues each (limb-major: limb i's N coefficients are contiguous), either in
// coefficient form or in NTT form (then pointwise products are ring products).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "veil/he/modarith.h"
#include "veil/he/ntt.h"

namespace veil::he {

class RnsPoly {
 public:
  RnsPoly() = default;
  RnsPoly(size_t n, size_t limbs, bool ntt_form = false)
      : n_(n), limbs_(limbs), ntt_form_(ntt_form), data_(n * limbs, 0) {}

  size_t n() const { return n_; }
  size_t limbs() const { return limbs_; }
  bool ntt_form() const { return ntt_form_; }
  void set_ntt_form(bool v) { ntt_form_ = v; }
  uint64_t* limb(size_t i) { return data_.data() + i * n_; }
  const uint64_t* limb(size_t i) const { return data_.data() + i * n_; }
  std::vector<uint64_t>& data() { return data_; }
  const std::vector<uint64_t>& data() const { return data_; }
  // Keeps the first `limbs` limbs.
  void Truncate(size_t limbs) {
    limbs_ = limbs;
    data_.resize(n_ * limbs);
  }
  // True when the shape is consistent (data size = n * limbs).
  bool shape_ok() const { return data_.size() == n_ * limbs_; }

  bool operator==(const RnsPoly& o) const {
    return n_ == o.n_ && limbs_ == o.limbs_ && ntt_form_ == o.ntt_form_ && data_ == o.data_;
  }

 private:
  size_t n_ = 0;
  size_t limbs_ = 0;
  bool ntt_form_ = false;
  std::vector<uint64_t> data_;
};

// Limb-wise ring operations; `moduli` / `tables` give the modulus of each limb (at least
// poly.limbs() entries). Shapes must match (checked by the callers in the evaluator).
void PolyToNtt(RnsPoly& p, std::span<const NttTables> tables);
void PolyFromNtt(RnsPoly& p, std::span<const NttTables> tables);
void PolyAddInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli);
void PolySubInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli);
void PolyNegateInPlace(RnsPoly& a, std::span<const Modulus> moduli);
// a *= b pointwise (both in NTT form for a ring product).
void PolyMulInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli);
// out += a * b pointwise.
void PolyMulAddInPlace(RnsPoly& out, const RnsPoly& a, const RnsPoly& b,
                       std::span<const Modulus> moduli);
// The Galois automorphism X -> X^g (g odd, < 2N) on a coefficient-form polynomial.
void PolyAutomorphism(const RnsPoly& in, uint32_t galois_elt, RnsPoly& out,
                      std::span<const Modulus> moduli);

// Exact conversion of RNS residues from base A to base B (A and B coprime), with the
// centred representative: for x in base A, out = x' mod b_j where x' = x (mod A) and
// x' in [-A/2, A/2). The overflow count is computed in double precision as in
// Halevi-Polyakov-Shoup (2018); it can be off by one only when |x'| is within
// A * 2^-50 or so of A/2, which for ciphertexts adds +-A to one coefficient, a
// negligible noise change.
class BaseConverter {
 public:
  BaseConverter() = default;
  static Result<BaseConverter> Create(std::vector<Modulus> from, std::vector<Modulus> to);

  size_t from_size() const { return from_.size(); }
  size_t to_size() const { return to_.size(); }
  // in: from_size() limbs of n residues (limb-major); out: to_size() limbs of n.
  void Convert(const uint64_t* in, uint64_t* out, size_t n) const;

 private:
  std::vector<Modulus> from_, to_;
  std::vector<ShoupOperand> ahat_inv_;   // (A / a_i)^-1 mod a_i
  std::vector<double> inv_a_;            // 1 / a_i
  std::vector<uint64_t> ahat_mod_b_;     // (A / a_i) mod b_j, [i * to + j]
  std::vector<uint64_t> a_mod_b_;        // A mod b_j
};

// Little multi-precision helpers (used for parameter checks and noise measurement).
// Numbers are little-endian vectors of 64-bit words.
std::vector<uint64_t> BigProduct(std::span<const uint64_t> factors);
int BigBitCount(std::span<const uint64_t> x);

}  // namespace veil::he
