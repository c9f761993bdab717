// ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite string 0x03) on libsodium's Ed25519
// arithmetic (libsodium has no VRF).
//
// A VRF is a keyed hash whose output anyone can check against the key holder's public key:
// Prove(sk, alpha) gives a proof pi; ProofToHash(pi) gives the 64-byte output beta;
// Verify(pk, alpha, pi) accepts iff pi was made by the holder of pk for exactly alpha. For a
// given (pk, alpha) only one beta verifies (uniqueness), so the key holder cannot choose
// among outputs, and nobody without sk can predict beta (pseudorandomness).
//
// Keys are ordinary Ed25519 keys (RFC 8032 §5.1.5): the 32-byte seed is the VRF secret key and
// the Ed25519 public key is the VRF public key, so a node's registry::Identity doubles as its
// VRF key.
//
// Validation (docs/consensus.md): the public key and Gamma must be canonical encodings of
// points of the prime-order subgroup, not of small order (libsodium's
// crypto_core_ed25519_is_valid_point); s must be < L. This is RFC 9381 verification with
// validate_key = TRUE, and additionally refuses a Gamma carrying a torsion component, which
// an honest prover never produces (Gamma = x * H with H cleared of its cofactor).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "veil/registry/identity.h"
#include "veil/status.h"

namespace veil::consensus {

inline constexpr size_t kVrfSecretKeyBytes = 32;  // the RFC 8032 seed
inline constexpr size_t kVrfProofBytes = 80;      // Gamma (32) || c (16) || s (32)
inline constexpr size_t kVrfOutputBytes = 64;     // SHA-512 output

using VrfSecretKey = std::array<uint8_t, kVrfSecretKeyBytes>;
using VrfProof = std::array<uint8_t, kVrfProofBytes>;
using VrfOutput = std::array<uint8_t, kVrfOutputBytes>;

// The Ed25519 public key of `secret_key` (equal to crypto_sign_seed_keypair's).
Result<registry::PublicKey> VrfPublicKey(const VrfSecretKey& secret_key);

// ECVRF_prove. Deterministic. Fails only if libsodium cannot initialise.
Result<VrfProof> VrfProve(const VrfSecretKey& secret_key, std::span<const uint8_t> alpha);

// Convenience: proves with a node identity's key (its seed is wiped after use).
Result<VrfProof> VrfProve(const registry::Identity& identity, std::span<const uint8_t> alpha);

// ECVRF_proof_to_hash: beta from a proof, without checking it. Corrupt if Gamma does not
// decode. Call it on proofs that VrfVerify accepted; to obtain a trusted beta use VrfVerify.
Result<VrfOutput> VrfProofToHash(const VrfProof& proof);

// ECVRF_verify: beta if `proof` is a valid proof by `public_key` for `alpha`; otherwise an
// error naming the reason (invalid key, undecodable Gamma, s out of range, wrong challenge).
Result<VrfOutput> VrfVerify(const registry::PublicKey& public_key, std::span<const uint8_t> alpha,
                            const VrfProof& proof);

}  // namespace veil::consensus
