// Negacyclic number-theoretic transform over Z_q[X]/(X^N + 1), N = 2^k, 2 <= N <= 32768.
//
// Forward: Cooley-Tukey with powers of a primitive 2N-th root psi in bit-reversed order,
// Harvey's lazy butterflies (values kept in [0, 4q)); natural-order input, bit-reversed
// output: out[j] = a(psi^(2 * bitrev(j) + 1)). Inverse: Gentleman-Sande, the exact inverse.
// Pointwise products in this domain are negacyclic convolutions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "veil/he/modarith.h"
#include "veil/status.h"

namespace veil::he {

inline constexpr size_t kMaxDegree = 32768;

class NttTables {
 public:
  // Error unless n is a power of two in [2, 32768], q is prime below 2^61 and
  // q = 1 (mod 2n).
  static Result<NttTables> Create(size_t n, const Modulus& modulus);

  size_t n() const { return n_; }
  const Modulus& modulus() const { return modulus_; }
  uint64_t psi() const { return psi_; }

  // In place; input coefficients in [0, q), output in [0, q).
  void Forward(uint64_t* a) const;
  void Inverse(uint64_t* a) const;

 private:
  size_t n_ = 0;
  int log_n_ = 0;
  Modulus modulus_;
  uint64_t psi_ = 0;
  std::vector<ShoupOperand> psi_rev_;      // psi^bitrev(i)
  std::vector<ShoupOperand> psi_inv_rev_;  // psi^-bitrev(i), in the order the inverse uses
  ShoupOperand n_inv_;
};

uint32_t ReverseBits(uint32_t x, int bits);

}  // namespace veil::he
