// BFV over the RNS ring layer: keys, encryption, decryption, batching and evaluation.
//
// Nouns follow Microsoft SEAL: a Context (validated parameters), a KeyGenerator producing
// SecretKey / PublicKey / RelinKeys / GaloisKeys, an Encryptor (public-key or seeded
// symmetric), a Decryptor (with the invariant noise budget), a BatchEncoder (CRT slots)
// and an Evaluator. Every object records the params_id of the Context that made it; every
// operation checks it and the object's shape before touching data, and returns a Status
// error (never crashes) on a mismatch. Coefficient ranges of objects from the outside are
// checked when they are decoded (veil/he/serialize.h).
//
// Randomness comes only from the operating system's CSPRNG (libsodium randombytes_buf,
// i.e. getrandom(2)); a 32-byte seed is expanded with ChaCha20 (IETF) under a per-purpose
// nonce. Secret and error coefficients are sampled without secret-dependent branches or
// table lookups.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "veil/he/context.h"
#include "veil/he/rns.h"
#include "veil/status.h"

namespace veil::he {

using Seed = std::array<uint8_t, 32>;

// A plaintext polynomial: N coefficients modulo t (coefficient form).
struct Plaintext {
  uint64_t params_id = 0;
  std::vector<uint64_t> coeffs;
};

// A plaintext lifted to Q (centred coefficients) and transformed to NTT form, ready for
// Evaluator::MultiplyPlain. Build once per weight, reuse.
struct PlaintextNtt {
  uint64_t params_id = 0;
  RnsPoly poly;  // L limbs, NTT form
};

// polys[0] + polys[1] * s + polys[2] * s^2 + ...  (coefficient form, l limbs each: L at the
// top level, fewer after modulus switching).
// A fresh symmetric encryption is "seeded": polys[1] was expanded from `seed`, and the
// serializer stores the 32-byte seed instead of that polynomial.
struct Ciphertext {
  uint64_t params_id = 0;
  std::vector<RnsPoly> polys;
  std::optional<Seed> seed;
  size_t size() const { return polys.size(); }
};

// s: uniform ternary; stored in NTT form over all L + 1 key primes.
struct SecretKey {
  uint64_t params_id = 0;
  RnsPoly s;
};

// (b, a) = (-a*s + e, a) over Q, NTT form; a expanded from `seed`.
struct PublicKey {
  uint64_t params_id = 0;
  RnsPoly b, a;
  Seed seed{};
};

// Key switching key from s' to s: for each data prime i, (b_i, a_i) over Q*P in NTT form,
// b_i = -a_i*s + e_i + P * [Q/q_i * ((Q/q_i)^-1 mod q_i)] * s'; a_i expanded from `seed`.
struct KSwitchKey {
  std::vector<RnsPoly> b, a;
  Seed seed{};
};

struct RelinKeys {
  uint64_t params_id = 0;
  KSwitchKey key;  // s' = s^2
};

// Keys for the automorphisms X -> X^g, keyed by the Galois element g (odd, < 2N).
struct GaloisKeys {
  uint64_t params_id = 0;
  std::map<uint32_t, KSwitchKey> keys;
};

// Galois elements for the batch layout: rotate both rows left by `steps`
// (|steps| < N/2, negative = right), and swap the two rows.
Result<uint32_t> GaloisEltForRowRotation(size_t n, int steps);
uint32_t GaloisEltForColumnSwap(size_t n);

class KeyGenerator {
 public:
  // Samples a fresh secret key from the OS CSPRNG.
  static Result<KeyGenerator> Create(std::shared_ptr<const Context> context);
  // Uses an existing secret key (validated against the context).
  static Result<KeyGenerator> Create(std::shared_ptr<const Context> context, const SecretKey& sk);

  const SecretKey& secret_key() const { return sk_; }
  Result<PublicKey> CreatePublicKey() const;
  Result<RelinKeys> CreateRelinKeys() const;
  // Keys for the given Galois elements; empty = every power-of-two row rotation in both
  // directions plus the column swap.
  Result<GaloisKeys> CreateGaloisKeys(const std::vector<uint32_t>& galois_elts = {}) const;
  // Keys for the given row-rotation steps (plus the column swap when `column_swap`).
  Result<GaloisKeys> CreateGaloisKeysForSteps(const std::vector<int>& steps,
                                              bool column_swap) const;

 private:
  Result<KSwitchKey> CreateKSwitchKey(const RnsPoly& s_prime_ntt) const;
  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

class Encryptor {
 public:
  static Result<Encryptor> Create(std::shared_ptr<const Context> context, const PublicKey& pk);
  static Result<Encryptor> Create(std::shared_ptr<const Context> context, const SecretKey& sk);
  // Public-key encryption (needs the public-key constructor).
  Result<Ciphertext> Encrypt(const Plaintext& plain) const;
  // Seeded symmetric encryption (needs the secret-key constructor).
  Result<Ciphertext> EncryptSymmetric(const Plaintext& plain) const;

 private:
  std::shared_ptr<const Context> ctx_;
  std::optional<PublicKey> pk_;
  std::optional<SecretKey> sk_;
};

class Decryptor {
 public:
  static Result<Decryptor> Create(std::shared_ptr<const Context> context, const SecretKey& sk);
  Result<Plaintext> Decrypt(const Ciphertext& ct) const;
  // SEAL's invariant noise budget in bits: log2(Q) - log2(max |[t * ct(s)]_Q|) - 1, where
  // the max runs over all coefficients (centred). Decryption is correct while it is > 0.
  Result<int> InvariantNoiseBudget(const Ciphertext& ct) const;

 private:
  Result<RnsPoly> Phase(const Ciphertext& ct) const;  // [ct(s)]_Q, coefficient form
  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

// CRT batching: N slots modulo t arranged as a 2 x N/2 matrix; slot-wise add and multiply
// map to ciphertext add and multiply; RotateRows rotates each row, RotateColumns swaps them.
class BatchEncoder {
 public:
  static Result<BatchEncoder> Create(std::shared_ptr<const Context> context);
  size_t slot_count() const { return ctx_->n(); }
  // values.size() <= N, each < t; missing slots are zero.
  Result<Plaintext> Encode(const std::vector<uint64_t>& values) const;
  // Signed values in (-t/2, t/2], mapped to [0, t).
  Result<Plaintext> EncodeSigned(const std::vector<int64_t>& values) const;
  Result<std::vector<uint64_t>> Decode(const Plaintext& plain) const;
  // Values in [0, t) mapped to (-t/2, t/2].
  Result<std::vector<int64_t>> DecodeSigned(const Plaintext& plain) const;

 private:
  std::shared_ptr<const Context> ctx_;
  std::vector<uint32_t> index_map_;  // slot -> NTT position
};

class Evaluator {
 public:
  static Result<Evaluator> Create(std::shared_ptr<const Context> context);

  Status AddInPlace(Ciphertext& a, const Ciphertext& b) const;
  Status SubInPlace(Ciphertext& a, const Ciphertext& b) const;
  Status NegateInPlace(Ciphertext& a) const;
  Status AddPlainInPlace(Ciphertext& a, const Plaintext& p) const;
  Status SubPlainInPlace(Ciphertext& a, const Plaintext& p) const;
  // Lifts p to Q with centred coefficients and applies the NTT.
  Result<PlaintextNtt> TransformPlain(const Plaintext& p) const;
  Status MultiplyPlainInPlace(Ciphertext& a, const PlaintextNtt& p) const;
  // Tensor product of two size-2 ciphertexts scaled by t/Q (exact RNS scaling through the
  // auxiliary base); the result has size 3.
  Result<Ciphertext> Multiply(const Ciphertext& a, const Ciphertext& b) const;
  // Size 3 -> size 2 with the relinearization key.
  Status RelinearizeInPlace(Ciphertext& a, const RelinKeys& rk) const;
  Result<Ciphertext> MultiplyRelin(const Ciphertext& a, const Ciphertext& b,
                                   const RelinKeys& rk) const;
  Status ApplyGaloisInPlace(Ciphertext& a, uint32_t galois_elt, const GaloisKeys& gk) const;
  // Rotates both rows left by `steps` (negative: right). Uses the key for that exact step
  // if present, otherwise composes power-of-two steps.
  Status RotateRowsInPlace(Ciphertext& a, int steps, const GaloisKeys& gk) const;
  Status RotateColumnsInPlace(Ciphertext& a, const GaloisKeys& gk) const;
  // Modulus switching: divides by the last prime of the ciphertext's modulus with rounding
  // and drops that limb. Decrypts to the same plaintext while the noise budget is > 0
  // (switching costs almost no budget once the noise exceeds the dropped prime), and the
  // ciphertext shrinks by one limb. Below the top level, add/sub/negate, ct x pt,
  // rotations, relinearization, decryption and serialization work; ct x ct and
  // add/sub plain need the top level.
  Status ModSwitchToNextInPlace(Ciphertext& a) const;
  // Switches down to `limbs` limbs (1 <= limbs <= current).
  Status ModSwitchToInPlace(Ciphertext& a, size_t limbs) const;
  // Hoisted rotations: rot_{steps[i]}(a) for every i, sharing one RNS digit decomposition
  // (and its NTTs) of a's second polynomial across all rotations. Each step needs its exact
  // key in gk (no power-of-two composition); step 0 returns a copy. Decrypts like
  // RotateRowsInPlace (the digits are permuted, not recomputed, so the ciphertexts differ).
  Result<std::vector<Ciphertext>> RotateRowsHoisted(const Ciphertext& a,
                                                    const std::vector<int>& steps,
                                                    const GaloisKeys& gk) const;

 private:
  Status CheckCiphertext(const Ciphertext& c, size_t min_size, size_t max_size) const;
  Status CheckTopLevel(const Ciphertext& c, const char* op) const;
  Status CheckSameLevel(const Ciphertext& a, const Ciphertext& b) const;
  Status CheckPlain(const Plaintext& p) const;
  Status CheckKSwitchKey(const KSwitchKey& k) const;
  // (u0, u1) with u0 + u1*s = d*s' + small, for d in coefficient form over Q.
  void KeySwitch(const RnsPoly& d, const KSwitchKey& key, RnsPoly& u0, RnsPoly& u1) const;
  void AddScaledPlain(Ciphertext& a, const Plaintext& p, bool subtract) const;
  std::shared_ptr<const Context> ctx_;
};

// Shape and coefficient-range checks of objects against a context (used by the decoders;
// callers that build objects by hand can use them too).
Status ValidateCiphertext(const Context& ctx, const Ciphertext& ct);
Status ValidatePlaintext(const Context& ctx, const Plaintext& p);
Status ValidateSecretKey(const Context& ctx, const SecretKey& sk);
Status ValidatePublicKey(const Context& ctx, const PublicKey& pk);
Status ValidateRelinKeys(const Context& ctx, const RelinKeys& rk);
Status ValidateGaloisKeys(const Context& ctx, const GaloisKeys& gk);

}  // namespace veil::he
