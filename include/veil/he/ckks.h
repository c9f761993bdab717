// CKKS (approximate arithmetic on complex vectors) over the same RNS ring layer as BFV.
//
// A CKKS context is a Context made from parameters with scheme = Scheme::kCkks (see
// CkksStandardParameters); keys come from the same KeyGenerator (secret, public, relin and
// Galois keys are scheme-independent). The encoder maps N/2 complex slots to a real
// polynomial through the canonical embedding: slot j is m(zeta^(3^j)) with zeta = e^(i pi / N),
// so a Galois element 3^k rotates the slots left by k (the same elements as BFV row
// rotations, hence the same GaloisKeys) and 2N - 1 conjugates them.
//
// Plaintexts and ciphertexts are kept in NTT form (products are pointwise) and carry their
// scale Delta (the message is m / Delta) and their level: `limbs` = number of data primes
// still in the modulus (L at the top; each rescale divides by the last prime, which also
// divides the scale by that prime). Precision is documented per parameter set in docs/he.md.
//
// Nodes evaluating on ciphertexts need only a CkksEvaluator and the public evaluation keys;
// encoding, encryption and decryption belong to the key holder.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/context.h"
#include "veil/he/rns.h"
#include "veil/status.h"

namespace veil::he {

using Complex = std::complex<double>;

// An encoded vector: NTT form over q_0..q_{limbs-1}, message = value / scale.
struct CkksPlaintext {
  uint64_t params_id = 0;
  RnsPoly poly;
  double scale = 0.0;
  size_t limbs() const { return poly.limbs(); }
};

// polys[0] + polys[1] * s (+ polys[2] * s^2) decrypts to scale * message + noise; NTT form,
// every polynomial with the same number of limbs. A fresh symmetric encryption is seeded
// (polys[1] expanded from the seed, in NTT form), as for BFV.
struct CkksCiphertext {
  uint64_t params_id = 0;
  std::vector<RnsPoly> polys;
  double scale = 0.0;
  std::optional<Seed> seed;
  size_t size() const { return polys.size(); }
  size_t limbs() const { return polys.empty() ? 0 : polys[0].limbs(); }
};

class CkksEncoder {
 public:
  static Result<CkksEncoder> Create(std::shared_ptr<const Context> context);
  size_t slot_count() const { return ctx_->n() / 2; }
  // values.size() <= N/2 (missing slots are 0); scale >= 1 and finite; limbs in [1, L]
  // (0 = L). Refuses values whose scaled coefficients would not fit below 2^62 or half the
  // modulus at that level.
  Result<CkksPlaintext> Encode(std::span<const Complex> values, double scale,
                               size_t limbs = 0) const;
  Result<CkksPlaintext> Encode(std::span<const double> values, double scale,
                               size_t limbs = 0) const;
  // The N/2 slot values (centred coefficients divided by the scale, then the embedding).
  Result<std::vector<Complex>> Decode(const CkksPlaintext& plain) const;

 private:
  void Fft(std::vector<Complex>& a, bool inverse) const;  // length N/2, in place
  std::shared_ptr<const Context> ctx_;
  std::vector<uint32_t> slot_to_point_;   // slot j -> index k of the root zeta^(4k+1)
  std::vector<uint8_t> slot_conjugated_;  // 1: slot j's root is the conjugate of that one
  std::vector<Complex> twist_;            // zeta^i, i < N/2
  std::vector<Complex> roots_;            // e^(2 pi i k / (N/2)), k < N/4
};

class CkksEncryptor {
 public:
  static Result<CkksEncryptor> Create(std::shared_ptr<const Context> context, const PublicKey& pk);
  static Result<CkksEncryptor> Create(std::shared_ptr<const Context> context, const SecretKey& sk);
  // At the plaintext's level and scale.
  Result<CkksCiphertext> Encrypt(const CkksPlaintext& plain) const;
  Result<CkksCiphertext> EncryptSymmetric(const CkksPlaintext& plain) const;

 private:
  std::shared_ptr<const Context> ctx_;
  std::optional<PublicKey> pk_;
  std::optional<SecretKey> sk_;
};

class CkksDecryptor {
 public:
  static Result<CkksDecryptor> Create(std::shared_ptr<const Context> context, const SecretKey& sk);
  Result<CkksPlaintext> Decrypt(const CkksCiphertext& ct) const;

 private:
  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

class CkksEvaluator {
 public:
  static Result<CkksEvaluator> Create(std::shared_ptr<const Context> context);

  // Both operands at the same level with matching scales (relative difference <= 2^-40).
  Status AddInPlace(CkksCiphertext& a, const CkksCiphertext& b) const;
  Status SubInPlace(CkksCiphertext& a, const CkksCiphertext& b) const;
  Status NegateInPlace(CkksCiphertext& a) const;
  // The plaintext needs at least a's limbs (extra limbs are ignored) and a's scale.
  Status AddPlainInPlace(CkksCiphertext& a, const CkksPlaintext& p) const;
  // Any plaintext scale; the result's scale is the product (refused if it would not fit
  // the modulus at a's level).
  Status MultiplyPlainInPlace(CkksCiphertext& a, const CkksPlaintext& p) const;
  // Tensor product of two size-2 ciphertexts at the same level: size 3, scale a*b.
  Result<CkksCiphertext> Multiply(const CkksCiphertext& a, const CkksCiphertext& b) const;
  Status RelinearizeInPlace(CkksCiphertext& a, const RelinKeys& rk) const;
  Result<CkksCiphertext> MultiplyRelin(const CkksCiphertext& a, const CkksCiphertext& b,
                                       const RelinKeys& rk) const;
  // Divides by the last prime q of the modulus with rounding and drops it: scale /= q.
  Status RescaleInPlace(CkksCiphertext& a) const;
  // Modulus switching without scaling: keeps the first `limbs` limbs (to bring a fresh
  // operand down to another's level before adding or multiplying). Scale unchanged.
  Status DropToLimbsInPlace(CkksCiphertext& a, size_t limbs) const;
  // Rotates the slots left by `steps` (negative: right), |steps| < N/2; uses the key for
  // that step or composes power-of-two keys, like Evaluator::RotateRowsInPlace.
  Status RotateInPlace(CkksCiphertext& a, int steps, const GaloisKeys& gk) const;
  // Complex conjugation of every slot (needs the column-swap key, element 2N - 1).
  Status ConjugateInPlace(CkksCiphertext& a, const GaloisKeys& gk) const;
  // rot_{steps[i]}(a) for every i with one digit decomposition of a's c1 (exact keys needed).
  Result<std::vector<CkksCiphertext>> RotateHoisted(const CkksCiphertext& a,
                                                    const std::vector<int>& steps,
                                                    const GaloisKeys& gk) const;

 private:
  Status Check(const CkksCiphertext& c, size_t min_size, size_t max_size) const;
  Status CheckPair(const CkksCiphertext& a, const CkksCiphertext& b) const;
  Status ApplyGaloisInPlace(CkksCiphertext& a, uint32_t galois_elt, const GaloisKeys& gk) const;
  std::shared_ptr<const Context> ctx_;
};

// Shape, range, scale and level checks of a CKKS ciphertext against a CKKS context (the
// decoder runs them; hand-built objects can too).
Status ValidateCkksCiphertext(const Context& ctx, const CkksCiphertext& ct);

}  // namespace veil::he
