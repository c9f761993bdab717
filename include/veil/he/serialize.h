// Versioned, compact wire format for HE keys and ciphertexts, decoded without trusting the
// bytes.
//
// Every blob starts with a 16-byte header:
//   magic "VLHE" | u16 version (1) | u8 kind | u8 flags | u64 params_id      (little-endian)
// followed by a kind-specific body (docs/he.md has the byte layout). Coefficients of limb
// l are bit-packed at bit_count(q_l) bits each. Seeded objects (fresh symmetric
// ciphertexts, public keys, key-switching keys) carry the 32-byte seed instead of their
// uniformly random polynomial, which the decoder re-expands. Secret keys are packed at
// 2 bits per ternary coefficient.
//
// Decoders check, before allocating or using anything: magic, version, kind, params_id
// against the context, N and limb counts against the context, every length against the
// bytes present, every coefficient against its modulus, every Galois element (odd, < 2N,
// strictly increasing), and that no bytes trail. Any failure is a Status error (kCorrupt or
// kInvalidArgument), never a crash.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/ckks.h"
#include "veil/he/context.h"
#include "veil/status.h"

namespace veil::he {

inline constexpr uint16_t kSerializationVersion = 1;

enum class BlobKind : uint8_t {
  kCiphertext = 1,
  kSecretKey = 2,
  kPublicKey = 3,
  kRelinKeys = 4,
  kGaloisKeys = 5,
  kCkksCiphertext = 6,  // BFV ciphertext body plus the f64 scale; polynomials in NTT form
};

Result<std::vector<uint8_t>> SerializeCiphertext(const Context& ctx, const Ciphertext& ct);
Result<Ciphertext> DeserializeCiphertext(const Context& ctx, std::span<const uint8_t> bytes);

// CKKS: header | u32 N | u32 limbs (1..L) | f64 scale (IEEE-754 bits, LE) | u8 size | seed +
// c0 (seeded) or every polynomial, bit-packed NTT values. The scale must be finite, >= 1
// and below Q_limbs / 2.
Result<std::vector<uint8_t>> SerializeCkksCiphertext(const Context& ctx, const CkksCiphertext& ct);
Result<CkksCiphertext> DeserializeCkksCiphertext(const Context& ctx,
                                                 std::span<const uint8_t> bytes);

Result<std::vector<uint8_t>> SerializeSecretKey(const Context& ctx, const SecretKey& sk);
Result<SecretKey> DeserializeSecretKey(const Context& ctx, std::span<const uint8_t> bytes);

Result<std::vector<uint8_t>> SerializePublicKey(const Context& ctx, const PublicKey& pk);
Result<PublicKey> DeserializePublicKey(const Context& ctx, std::span<const uint8_t> bytes);

Result<std::vector<uint8_t>> SerializeRelinKeys(const Context& ctx, const RelinKeys& rk);
Result<RelinKeys> DeserializeRelinKeys(const Context& ctx, std::span<const uint8_t> bytes);

Result<std::vector<uint8_t>> SerializeGaloisKeys(const Context& ctx, const GaloisKeys& gk);
Result<GaloisKeys> DeserializeGaloisKeys(const Context& ctx, std::span<const uint8_t> bytes);

}  // namespace veil::he
