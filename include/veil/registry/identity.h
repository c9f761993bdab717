// Identity: a node's (or model owner's) long-lived Ed25519 keypair (libsodium).
//
// The secret key lives in <data_dir>/identity.key, created with mode 0600 and refused on
// load if the group or others can read or write it, if it is not a regular file owned by the
// current user, or if it is truncated or corrupted. File format (72 bytes):
//     "VEILID01" (8 bytes) || Ed25519 seed (32) || public key (32)
// The public key is recomputed from the seed on load and must match the stored one, so any
// flipped bit in the seed or the key is detected. Secret bytes are wiped (sodium_memzero)
// when the Identity is destroyed.
//
// NodeId: the lowercase hex of the full 32-byte public key (64 characters). No truncated
// fingerprint, so two keys never share an id.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "veil/status.h"

namespace veil::registry {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSignatureBytes = 64;
using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;

// Lowercase hex of the public key: the node's name in the registry.
std::string NodeIdOf(const PublicKey& public_key);

class Identity {
 public:
  // Loads <data_dir>/identity.key, or creates data_dir (mode 0700, if missing) and a fresh
  // keypair from the OS CSPRNG. Errors name the file and what was wrong.
  static Result<std::unique_ptr<Identity>> LoadOrCreate(const std::string& data_dir);

  ~Identity();
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;

  const PublicKey& public_key() const { return public_key_; }
  std::string node_id() const { return NodeIdOf(public_key_); }
  // The 32-byte Ed25519 seed (RFC 8032 private key), for building this identity's TLS
  // certificate (veil/net/link_security.h). Secret: the caller wipes its copy.
  std::array<uint8_t, 32> TlsSeed() const;
  // Ed25519 signature of `message` (deterministic, RFC 8032).
  Signature Sign(std::span<const uint8_t> message) const;
  // True iff `signature` is a valid Ed25519 signature of `message` by `public_key`
  // (libsodium: rejects non-canonical and small-order keys and signatures).
  static bool Verify(const PublicKey& public_key, std::span<const uint8_t> message,
                     const Signature& signature);

 private:
  Identity();
  PublicKey public_key_{};
  std::array<uint8_t, 64> secret_key_{};  // libsodium layout: seed || public key
};

}  // namespace veil::registry
