// BFV encryption parameters and the validated, precomputed Context every other object
// refers to.
//
// Security: a parameter set is accepted only when its ring degree N and the bit count of
// its whole modulus Q*P (data primes and the special key-switching prime) are within the
// HomomorphicEncryption.org standard's bounds for 128-bit classical security with a uniform
// ternary secret and error of standard deviation ~3.2:
//   N      1024  2048  4096  8192  16384  32768
//   log QP   27    54   109   218    438    881
// Anything else is refused with an error that names the violated rule.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "veil/he/modarith.h"
#include "veil/he/ntt.h"
#include "veil/he/rns.h"
#include "veil/status.h"

namespace veil::he {

// BFV: exact arithmetic modulo a plain modulus t. CKKS: approximate arithmetic on scaled
// complex numbers (veil/he/ckks.h); no plain modulus. Keys (KeyGenerator) are the same for
// both; the encoders, encryptors, decryptors and evaluators are per scheme.
enum class Scheme : uint8_t { kBfv = 0, kCkks = 1 };

struct EncryptionParameters {
  Scheme scheme = Scheme::kBfv;
  size_t poly_degree = 0;               // N, a power of two in [1024, 32768]
  std::vector<uint64_t> coeff_modulus;  // data primes q_0..q_{L-1}, then the special prime
  uint64_t plain_modulus = 0;           // BFV: t; batching needs t prime and t = 1 (mod 2N).
                                        // CKKS: must be 0.
};

// Named parameter sets (all 128-bit secure; see docs/he.md for primes and noise budgets).
enum class ParamSet {
  kN4096,   // 2 data primes (36, 36 bits) + special 37: 109 bits
  kN8192,   // 4 data primes (43, 43, 44, 44) + special 44: 218 bits
  kN16384,  // 8 data primes (48, 48, 48, 49x5) + special 49: 438 bits
  kN32768,  // 15 data primes (55 bits) + special 56: 881 bits
};
// Batching plaintext modulus shared by the named sets: 786433 = 12 * 2^16 + 1 (prime,
// 20 bits, = 1 mod 2N for every N <= 32768).
inline constexpr uint64_t kDefaultPlainModulus = 786433;

// The named set's parameters, with plain modulus `plain_modulus` (default above).
Result<EncryptionParameters> StandardParameters(ParamSet set,
                                                uint64_t plain_modulus = kDefaultPlainModulus);
const char* ParamSetName(ParamSet set);

// Named CKKS parameter sets (128-bit secure; docs/he.md lists primes and measured precision).
// The first data prime is wide (it holds the final value), the others are ~2^40 so that
// rescaling by them keeps a 2^40 scale stable; the special prime is the largest.
enum class CkksParamSet {
  kN8192,   // data 49 + 3 x 40, special 49: 218 bits, 3 rescalings, 4096 slots
  kN16384,  // data 58 + 8 x 40, special 58: 436 bits, 8 rescalings, 8192 slots
};
// The scale CKKS sets are designed for: 2^40 (the size of their rescaling primes).
inline constexpr int kCkksDefaultScaleBits = 40;
Result<EncryptionParameters> CkksStandardParameters(CkksParamSet set);
const char* CkksParamSetName(CkksParamSet set);

// The standard's 128-bit bound on log2(Q*P) for degree n; 0 when n is not in the table.
int MaxModulusBits128(size_t n);

class Context {
 public:
  // Validates `params` (see the rules in docs/he.md) and precomputes every table.
  static Result<std::shared_ptr<const Context>> Create(const EncryptionParameters& params);

  const EncryptionParameters& params() const { return params_; }
  Scheme scheme() const { return params_.scheme; }
  // A fingerprint of the parameters (first 8 bytes of SHA-256 over N, primes and t). Every
  // key, ciphertext and plaintext carries it; objects for other parameters are refused.
  uint64_t params_id() const { return params_id_; }
  size_t n() const { return params_.poly_degree; }
  int log_n() const { return log_n_; }
  size_t data_limbs() const { return data_moduli_.size(); }  // L
  size_t key_limbs() const { return key_moduli_.size(); }    // L + 1
  int total_modulus_bits() const { return total_bits_; }     // bit count of Q*P
  // Limbs of a public key: BFV L (mod Q); CKKS L + 1 (mod Q*P, so that encryption can divide
  // its noise by P, as SEAL does). Its moduli are the first limbs of key_moduli().
  size_t public_key_limbs() const {
    return params_.scheme == Scheme::kCkks ? key_moduli_.size() : data_moduli_.size();
  }
  int data_modulus_bits() const { return data_bits_; }  // bit count of Q
  // Bit count of Q_l = q_0 * ... * q_{limbs-1}, for 1 <= limbs <= L.
  int level_modulus_bits(size_t limbs) const { return level_bits_[limbs - 1]; }
  bool batching_enabled() const { return batching_; }

  // Q's moduli followed by the special prime P.
  const std::vector<Modulus>& key_moduli() const { return key_moduli_; }
  const std::vector<Modulus>& data_moduli() const { return data_moduli_; }
  const std::vector<NttTables>& key_ntt() const { return key_ntt_; }
  const Modulus& plain_modulus() const { return plain_; }
  const NttTables& plain_ntt() const { return plain_ntt_; }  // valid iff batching_enabled()

  // Dividing by the last prime of a `limbs`-limb polynomial (CKKS rescale, BFV modulus
  // switching): q_{limbs-1}^-1 mod q_i for i < limbs - 1; 2 <= limbs <= L.
  const std::vector<ShoupOperand>& inv_last_mod_q(size_t limbs) const {
    return inv_last_mod_q_[limbs - 1];
  }

  // --- BFV precomputation (used by the encryptor, decryptor and evaluator; empty for CKKS) ---
  // floor(Q / t) mod q_i and Q mod t, for scaling plaintexts by Q/t with rounding.
  const std::vector<ShoupOperand>& delta_mod_q() const { return delta_mod_q_; }
  uint64_t q_mod_t() const { return q_mod_t_; }
  // t mod q_i.
  const std::vector<ShoupOperand>& t_mod_q() const { return t_mod_q_; }
  // Conversion of Q_l residues to t and Q_l^-1 mod t, for a ciphertext with `limbs` limbs
  // (decryption after modulus switching).
  const BaseConverter& q_to_t(size_t limbs) const { return q_to_t_[limbs - 1]; }
  uint64_t q_inv_mod_t(size_t limbs) const { return q_inv_mod_t_[limbs - 1]; }
  // Auxiliary base B (never part of any ciphertext) used by ct x ct: B > t * N * Q * 16.
  const std::vector<Modulus>& aux_moduli() const { return aux_moduli_; }
  const std::vector<NttTables>& aux_ntt() const { return aux_ntt_; }
  const BaseConverter& q_to_aux() const { return q_to_aux_; }
  const BaseConverter& aux_to_q() const { return aux_to_q_; }
  const std::vector<ShoupOperand>& t_mod_aux() const { return t_mod_aux_; }
  const std::vector<ShoupOperand>& q_inv_mod_aux() const { return q_inv_mod_aux_; }
  // Key switching with the special prime P: P mod q_i and P^-1 mod q_i.
  const std::vector<uint64_t>& p_mod_q() const { return p_mod_q_; }
  const std::vector<ShoupOperand>& p_inv_mod_q() const { return p_inv_mod_q_; }

 private:
  Context() = default;
  Status InitBfv();  // the BFV-only tables below

  EncryptionParameters params_;
  uint64_t params_id_ = 0;
  int log_n_ = 0;
  int total_bits_ = 0, data_bits_ = 0;
  std::vector<int> level_bits_;
  std::vector<std::vector<ShoupOperand>> inv_last_mod_q_;
  bool batching_ = false;
  std::vector<Modulus> key_moduli_, data_moduli_;
  std::vector<NttTables> key_ntt_;
  Modulus plain_;
  NttTables plain_ntt_;
  std::vector<ShoupOperand> delta_mod_q_, t_mod_q_;
  uint64_t q_mod_t_ = 0;
  std::vector<uint64_t> q_inv_mod_t_;
  std::vector<BaseConverter> q_to_t_;
  std::vector<Modulus> aux_moduli_;
  std::vector<NttTables> aux_ntt_;
  BaseConverter q_to_aux_, aux_to_q_;
  std::vector<ShoupOperand> t_mod_aux_, q_inv_mod_aux_;
  std::vector<uint64_t> p_mod_q_;
  std::vector<ShoupOperand> p_inv_mod_q_;
};

}  // namespace veil::he
