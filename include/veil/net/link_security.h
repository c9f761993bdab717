// LinkSecurity: how a veil link is protected. Either mutual TLS where each end presents a
// self-signed X.509 certificate for its long-lived Ed25519 node identity and accepts the
// other end only if that end's Ed25519 public key passes `peer_allowed` (the registry's
// list of registered keys, or a pinned key), or — for tests and explicit local
// experiments only — plaintext, which is logged as INSECURE wherever it is used.
//
// Why self-signed: trust comes from the registry (which binds node keys to signed node
// records), not from a certificate authority. The TLS handshake proves possession of the
// private key whose public key is in the certificate; the verifier then checks that key.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "veil/status.h"

namespace veil::net {

using PublicKey = std::array<uint8_t, 32>;  // raw Ed25519 public key

// Returns true if a peer presenting `key` may talk to us.
using PeerCheck = std::function<bool(const PublicKey& key)>;

struct LinkSecurity {
  // Plaintext, unauthenticated (tests and explicit --insecure runs only).
  static LinkSecurity Insecure();
  // Mutual TLS for the identity whose Ed25519 seed (the 32-byte private key) is `seed`.
  static Result<LinkSecurity> MutualTls(const std::array<uint8_t, 32>& seed,
                                        PeerCheck peer_allowed);

  bool is_tls() const { return !certificate_pem.empty(); }
  PublicKey public_key{};       // this end's identity
  std::string certificate_pem;  // self-signed, Ed25519, CN = hex of public_key
  std::string private_key_pem;
  PeerCheck peer_allowed;  // required when is_tls()
};

// The raw Ed25519 public key in a PEM certificate; an error if it is not an Ed25519
// certificate whose self-signature verifies.
Result<PublicKey> Ed25519KeyFromCertificate(const std::string& pem);

std::string PublicKeyHex(const PublicKey& key);

}  // namespace veil::net
