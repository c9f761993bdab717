// ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 §5 with the suite of §5.5 (suite_string 0x03,
// cLen 16, encode_to_curve by try-and-increment with salt = PK_string, RFC 8032 nonces).
#include "veil/consensus/vrf.h"

#include <sodium.h>

#include <cstring>

namespace veil::consensus {
namespace {

constexpr uint8_t kSuite = 0x03;
constexpr size_t kPointBytes = 32;
constexpr size_t kScalarBytes = 32;
constexpr size_t kChallengeBytes = 16;
using Point = std::array<uint8_t, kPointBytes>;
using Scalar = std::array<uint8_t, kScalarBytes>;

Status SodiumReady() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

// Wipes a secret buffer on every path out.
template <size_t N>
struct Secret {
  std::array<uint8_t, N> bytes{};
  ~Secret() { sodium_memzero(bytes.data(), N); }
};

// RFC 8032 §5.1.3 decoding rejects y >= p and (x = 0, sign 1); libsodium's ge25519_frombytes
// (behind crypto_core_ed25519_add) checks neither, so try-and-increment checks them here.
bool IsCanonicalEncoding(const uint8_t* s) {
  const bool sign = (s[31] & 0x80) != 0;
  // y >= p = 2^255 - 19 iff the low 255 bits are 0x7fff..ffed..0x7fff..ffff.
  bool all_ones = (s[31] & 0x7f) == 0x7f;
  for (int i = 1; i < 31 && all_ones; ++i) all_ones = s[i] == 0xff;
  if (all_ones && s[0] >= 0xed) return false;
  if (!sign) return true;
  // x = 0 only for y = 1 and y = p - 1; with the sign bit set that encoding is invalid.
  bool y_is_one = s[0] == 0x01 && (s[31] & 0x7f) == 0;
  for (int i = 1; i < 31 && y_is_one; ++i) y_is_one = s[i] == 0;
  const bool y_is_minus_one = all_ones && s[0] == 0xec;
  return !y_is_one && !y_is_minus_one;
}

// 8 * P by three doublings: crypto_core_ed25519_add accepts any point on the curve, whereas the
// scalar multiplications require the prime-order subgroup. False if P is not on the curve.
bool MultiplyByCofactor(const Point& p, Point* out) {
  Point t = p;
  for (int i = 0; i < 3; ++i) {
    if (crypto_core_ed25519_add(out->data(), t.data(), t.data()) != 0) return false;
    t = *out;
  }
  return true;
}

// ECVRF_encode_to_curve_try_and_increment (RFC 9381 §5.4.1.1), salt = PK_string.
Result<Point> EncodeToCurve(const registry::PublicKey& public_key, std::span<const uint8_t> alpha) {
  for (int ctr = 0; ctr < 256; ++ctr) {
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    const uint8_t head[2] = {kSuite, 0x01};
    crypto_hash_sha512_update(&st, head, sizeof(head));
    crypto_hash_sha512_update(&st, public_key.data(), public_key.size());
    crypto_hash_sha512_update(&st, alpha.data(), alpha.size());
    const uint8_t tail[2] = {static_cast<uint8_t>(ctr), 0x00};
    crypto_hash_sha512_update(&st, tail, sizeof(tail));
    uint8_t hash[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_final(&st, hash);
    if (!IsCanonicalEncoding(hash)) continue;
    Point candidate;
    std::memcpy(candidate.data(), hash, kPointBytes);
    Point h;
    if (MultiplyByCofactor(candidate, &h)) return h;
  }
  // Each try succeeds with probability about 1/2; 256 failures do not happen.
  return Status::Internal("VRF encode_to_curve found no point in 256 tries");
}

// ECVRF_challenge_generation (RFC 9381 §5.4.3): the first cLen bytes of
// SHA-512(suite || 0x02 || P1..P5 || 0x00), as a little-endian scalar.
Scalar Challenge(const Point& p1, const Point& p2, const Point& p3, const Point& p4,
                 const Point& p5) {
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  const uint8_t head[2] = {kSuite, 0x02};
  crypto_hash_sha512_update(&st, head, sizeof(head));
  for (const Point* p : {&p1, &p2, &p3, &p4, &p5}) crypto_hash_sha512_update(&st, p->data(), 32);
  const uint8_t tail = 0x00;
  crypto_hash_sha512_update(&st, &tail, 1);
  uint8_t hash[crypto_hash_sha512_BYTES];
  crypto_hash_sha512_final(&st, hash);
  Scalar c{};
  std::memcpy(c.data(), hash, kChallengeBytes);
  return c;
}

// The secret scalar x (RFC 8032 §5.1.5, reduced mod L) and the nonce key (upper half of
// SHA-512(seed), RFC 9381 §5.4.2.2).
struct ExpandedKey {
  Secret<32> x;
  Secret<32> nonce_key;
};

void Expand(const VrfSecretKey& secret_key, ExpandedKey* out) {
  Secret<64> h;
  crypto_hash_sha512(h.bytes.data(), secret_key.data(), secret_key.size());
  Secret<64> wide;  // clamped lower half, zero-extended to 64 bytes for reduction
  std::memcpy(wide.bytes.data(), h.bytes.data(), 32);
  wide.bytes[0] &= 248;
  wide.bytes[31] &= 127;
  wide.bytes[31] |= 64;
  crypto_core_ed25519_scalar_reduce(out->x.bytes.data(), wide.bytes.data());
  std::memcpy(out->nonce_key.bytes.data(), h.bytes.data() + 32, 32);
}

// s < L, i.e. s is the canonical encoding of its residue.
bool IsReducedScalar(const uint8_t* s) {
  uint8_t wide[64] = {};
  std::memcpy(wide, s, 32);
  uint8_t reduced[32];
  crypto_core_ed25519_scalar_reduce(reduced, wide);
  return std::memcmp(reduced, s, 32) == 0;
}

}  // namespace

Result<registry::PublicKey> VrfPublicKey(const VrfSecretKey& secret_key) {
  VEIL_RETURN_IF_ERROR(SodiumReady());
  ExpandedKey key;
  Expand(secret_key, &key);
  registry::PublicKey y;
  if (crypto_scalarmult_ed25519_base_noclamp(y.data(), key.x.bytes.data()) != 0)
    return Status::Internal("VRF secret scalar is zero");
  return y;
}

Result<VrfProof> VrfProve(const VrfSecretKey& secret_key, std::span<const uint8_t> alpha) {
  VEIL_RETURN_IF_ERROR(SodiumReady());
  ExpandedKey key;
  Expand(secret_key, &key);
  registry::PublicKey y;
  if (crypto_scalarmult_ed25519_base_noclamp(y.data(), key.x.bytes.data()) != 0)
    return Status::Internal("VRF secret scalar is zero");
  VEIL_ASSIGN_OR_RETURN(const Point h, EncodeToCurve(y, alpha));
  Point gamma;
  if (crypto_scalarmult_ed25519_noclamp(gamma.data(), key.x.bytes.data(), h.data()) != 0)
    return Status::Internal("VRF: x * H failed");
  // k = SHA-512(nonce_key || H_string) mod L.
  Secret<64> k_wide;
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, key.nonce_key.bytes.data(), 32);
  crypto_hash_sha512_update(&st, h.data(), h.size());
  crypto_hash_sha512_final(&st, k_wide.bytes.data());
  Secret<32> k;
  crypto_core_ed25519_scalar_reduce(k.bytes.data(), k_wide.bytes.data());
  Point u, v;
  if (crypto_scalarmult_ed25519_base_noclamp(u.data(), k.bytes.data()) != 0 ||
      crypto_scalarmult_ed25519_noclamp(v.data(), k.bytes.data(), h.data()) != 0)
    return Status::Internal("VRF: nonce is zero");
  const Scalar c = Challenge(y, h, gamma, u, v);
  Secret<32> cx;
  crypto_core_ed25519_scalar_mul(cx.bytes.data(), c.data(), key.x.bytes.data());
  Scalar s;
  crypto_core_ed25519_scalar_add(s.data(), k.bytes.data(), cx.bytes.data());
  VrfProof proof;
  std::memcpy(proof.data(), gamma.data(), kPointBytes);
  std::memcpy(proof.data() + kPointBytes, c.data(), kChallengeBytes);
  std::memcpy(proof.data() + kPointBytes + kChallengeBytes, s.data(), kScalarBytes);
  return proof;
}

Result<VrfProof> VrfProve(const registry::Identity& identity, std::span<const uint8_t> alpha) {
  Secret<32> seed;
  seed.bytes = identity.TlsSeed();
  return VrfProve(seed.bytes, alpha);
}

Result<VrfOutput> VrfProofToHash(const VrfProof& proof) {
  VEIL_RETURN_IF_ERROR(SodiumReady());
  Point gamma;
  std::memcpy(gamma.data(), proof.data(), kPointBytes);
  Point gamma8;
  if (!IsCanonicalEncoding(gamma.data()) || !MultiplyByCofactor(gamma, &gamma8))
    return Status::Corrupt("VRF proof: Gamma is not a point on the curve");
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  const uint8_t head[2] = {kSuite, 0x03};
  crypto_hash_sha512_update(&st, head, sizeof(head));
  crypto_hash_sha512_update(&st, gamma8.data(), gamma8.size());
  const uint8_t tail = 0x00;
  crypto_hash_sha512_update(&st, &tail, 1);
  VrfOutput beta;
  crypto_hash_sha512_final(&st, beta.data());
  return beta;
}

Result<VrfOutput> VrfVerify(const registry::PublicKey& public_key, std::span<const uint8_t> alpha,
                            const VrfProof& proof) {
  VEIL_RETURN_IF_ERROR(SodiumReady());
  if (crypto_core_ed25519_is_valid_point(public_key.data()) != 1)
    return Status::Corrupt(
        "VRF public key is not a canonical point of the prime-order subgroup (or has small "
        "order)");
  Point gamma;
  std::memcpy(gamma.data(), proof.data(), kPointBytes);
  if (crypto_core_ed25519_is_valid_point(gamma.data()) != 1)
    return Status::Corrupt("VRF proof: Gamma is not a canonical point of the prime-order subgroup");
  Scalar c{};
  std::memcpy(c.data(), proof.data() + kPointBytes, kChallengeBytes);
  Scalar s;
  std::memcpy(s.data(), proof.data() + kPointBytes + kChallengeBytes, kScalarBytes);
  if (!IsReducedScalar(s.data())) return Status::Corrupt("VRF proof: s is not reduced mod L");
  VEIL_ASSIGN_OR_RETURN(const Point h, EncodeToCurve(public_key, alpha));
  // U = s*B - c*Y, V = s*H - c*Gamma. libsodium refuses a zero scalar or an identity result;
  // an honest proof hits neither except with negligible probability, so both mean "invalid".
  Point sb, cy, sh, cg, u, v;
  if (crypto_scalarmult_ed25519_base_noclamp(sb.data(), s.data()) != 0 ||
      crypto_scalarmult_ed25519_noclamp(cy.data(), c.data(), public_key.data()) != 0 ||
      crypto_scalarmult_ed25519_noclamp(sh.data(), s.data(), h.data()) != 0 ||
      crypto_scalarmult_ed25519_noclamp(cg.data(), c.data(), gamma.data()) != 0 ||
      crypto_core_ed25519_sub(u.data(), sb.data(), cy.data()) != 0 ||
      crypto_core_ed25519_sub(v.data(), sh.data(), cg.data()) != 0)
    return Status::Corrupt("VRF proof: degenerate scalar or point");
  const Scalar expected = Challenge(public_key, h, gamma, u, v);
  if (sodium_memcmp(expected.data(), c.data(), kChallengeBytes) != 0)
    return Status::Corrupt("VRF proof does not verify for this key and input");
  return VrfProofToHash(proof);
}

}  // namespace veil::consensus
