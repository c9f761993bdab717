#include "veil/he/serialize.h"

#include <gtest/gtest.h>

#include <random>

#include "he_test_util.h"

namespace veil::he {
namespace {

using testing::DecryptSlots;
using testing::EncryptSlots;
using testing::Keys;
using testing::Must;
using testing::RandomSlots;

constexpr size_t kHeader = 16;

TEST(HeSerialize, CiphertextRoundTripSeededAndFull) {
  const auto& k = Keys(ParamSet::kN4096);
  const auto v = RandomSlots(k.ctx->n(), kDefaultPlainModulus, 1);
  const Ciphertext seeded = EncryptSlots(k, v, true);
  const Ciphertext full = EncryptSlots(k, v, false);
  const auto bs = Must(SerializeCiphertext(*k.ctx, seeded));
  const auto bf = Must(SerializeCiphertext(*k.ctx, full));
  // Seeded: one polynomial + 32 bytes; full: two; both bit-packed at 36/36 bits.
  const size_t poly = 2 * 4096 * 36 / 8;
  EXPECT_EQ(bf.size(), kHeader + 9 + 2 * poly);
  EXPECT_EQ(bs.size(), kHeader + 9 + 32 + poly);
  const Ciphertext s2 = Must(DeserializeCiphertext(*k.ctx, bs));
  const Ciphertext f2 = Must(DeserializeCiphertext(*k.ctx, bf));
  EXPECT_TRUE(s2.polys == seeded.polys);
  EXPECT_TRUE(f2.polys == full.polys);
  EXPECT_EQ(DecryptSlots(k, s2), v);
  EXPECT_EQ(DecryptSlots(k, f2), v);
  // An evaluated ciphertext is no longer seeded; size-3 ciphertexts serialize too.
  Ciphertext prod = Must(k.eval->Multiply(seeded, full));
  const auto bp = Must(SerializeCiphertext(*k.ctx, prod));
  EXPECT_EQ(bp.size(), kHeader + 9 + 3 * poly);
  EXPECT_TRUE(Must(DeserializeCiphertext(*k.ctx, bp)).polys == prod.polys);
  // A "seeded" ciphertext whose c1 was changed by hand is written in full.
  Ciphertext tampered = seeded;
  tampered.polys[1].data()[0] ^= 1;
  EXPECT_EQ(Must(SerializeCiphertext(*k.ctx, tampered)).size(), bf.size());
}

TEST(HeSerialize, KeysRoundTrip) {
  const auto& k = Keys(ParamSet::kN4096);
  const SecretKey sk = Must(DeserializeSecretKey(*k.ctx, Must(SerializeSecretKey(*k.ctx, k.sk))));
  EXPECT_TRUE(sk.s == k.sk.s);
  EXPECT_EQ(Must(SerializeSecretKey(*k.ctx, k.sk)).size(), kHeader + 8 + 4096 / 4);
  const PublicKey pk = Must(DeserializePublicKey(*k.ctx, Must(SerializePublicKey(*k.ctx, k.pk))));
  EXPECT_TRUE(pk.a == k.pk.a && pk.b == k.pk.b);
  const RelinKeys rk = Must(DeserializeRelinKeys(*k.ctx, Must(SerializeRelinKeys(*k.ctx, k.rk))));
  ASSERT_EQ(rk.key.b.size(), k.rk.key.b.size());
  for (size_t i = 0; i < rk.key.b.size(); ++i) {
    EXPECT_TRUE(rk.key.b[i] == k.rk.key.b[i] && rk.key.a[i] == k.rk.key.a[i]);
  }
  const GaloisKeys gk = Must(DeserializeGaloisKeys(*k.ctx, Must(SerializeGaloisKeys(*k.ctx, k.gk))));
  EXPECT_EQ(gk.keys.size(), k.gk.keys.size());
  // The decoded keys work.
  const auto v = RandomSlots(4096, kDefaultPlainModulus, 2);
  Encryptor enc = Must(Encryptor::Create(k.ctx, pk));
  Ciphertext c = Must(enc.Encrypt(Must(k.encoder->Encode(v))));
  c = Must(k.eval->MultiplyRelin(c, c, rk));
  ASSERT_TRUE(k.eval->RotateColumnsInPlace(c, gk).ok());
  Decryptor dec = Must(Decryptor::Create(k.ctx, sk));
  const auto out = Must(k.encoder->Decode(Must(dec.Decrypt(c))));
  for (size_t i = 0; i < 2048; ++i) {
    EXPECT_EQ(out[i], v[2048 + i] * v[2048 + i] % kDefaultPlainModulus);
  }
}

// Overwrites bits [bit, bit + width) of the byte string (little-endian bit order).
void SetBits(std::vector<uint8_t>& b, size_t bit, int width, uint64_t value) {
  for (int i = 0; i < width; ++i, ++bit) {
    const uint8_t mask = static_cast<uint8_t>(1u << (bit & 7));
    if ((value >> i) & 1) {
      b[bit >> 3] |= mask;
    } else {
      b[bit >> 3] &= static_cast<uint8_t>(~mask);
    }
  }
}

void PutU32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

template <typename Decode>
void ExpectRejected(const std::vector<uint8_t>& bytes, Decode decode, const std::string& why) {
  auto r = decode(bytes);
  ASSERT_FALSE(r.ok()) << "accepted: " << why;
  EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
}

TEST(HeSerialize, MalformedCiphertextsAreRejected) {
  const auto& k = Keys(ParamSet::kN4096);
  const auto& other = Keys(ParamSet::kN8192);
  const Context& ctx = *k.ctx;
  auto decode = [&](const std::vector<uint8_t>& b) { return DeserializeCiphertext(ctx, b); };
  const auto good = Must(SerializeCiphertext(ctx, EncryptSlots(k, {5, 6, 7}, false)));
  ASSERT_TRUE(decode(good).ok());
  // Truncation at every structural boundary and inside the data.
  for (size_t len : {size_t{0}, size_t{3}, size_t{15}, size_t{16}, size_t{20}, size_t{24},
                     size_t{25}, size_t{100}, good.size() / 2, good.size() - 1}) {
    ExpectRejected(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(len)),
                   decode, "truncated");
  }
  auto extra = good;
  extra.push_back(0);
  ExpectRejected(extra, decode, "trailing bytes");
  auto bad = good;
  bad[0] = 'X';
  ExpectRejected(bad, decode, "bad magic");
  bad = good;
  bad[4] = 2;  // version 2
  ExpectRejected(bad, decode, "unsupported version 2");
  bad = good;
  bad[6] = static_cast<uint8_t>(BlobKind::kPublicKey);
  ExpectRejected(bad, decode, "blob kind");
  bad = good;
  bad[7] = 0x80;
  ExpectRejected(bad, decode, "unknown flags");
  bad = good;
  bad[8] ^= 1;  // params id
  ExpectRejected(bad, decode, "different encryption parameters");
  bad = good;
  PutU32(bad, kHeader, 8192);
  ExpectRejected(bad, decode, "N=8192 does not match");
  bad = good;
  PutU32(bad, kHeader + 4, 3);
  ExpectRejected(bad, decode, "3 limbs, the parameters allow 1..2");
  bad = good;
  PutU32(bad, kHeader + 4, 0);
  ExpectRejected(bad, decode, "0 limbs, the parameters allow 1..2");
  bad = good;
  bad[kHeader + 8] = 4;
  ExpectRejected(bad, decode, "4 polynomials");
  bad = good;
  bad[kHeader + 8] = 1;
  ExpectRejected(bad, decode, "1 polynomials");
  // Coefficient >= modulus: set coefficient 17 of limb 1 of poly 0 to 2^36 - 1 > q_1.
  bad = good;
  SetBits(bad, (kHeader + 9) * 8 + (4096 + 17) * 36, 36, (uint64_t{1} << 36) - 1);
  ExpectRejected(bad, decode, "coefficient 17 of limb 1 is not below its modulus");
  // Exactly the modulus is also rejected.
  bad = good;
  SetBits(bad, (kHeader + 9) * 8, 36, ctx.data_moduli()[0].value());
  ExpectRejected(bad, decode, "coefficient 0 of limb 0 is not below its modulus");
  // A ciphertext for other parameters.
  const auto foreign = Must(SerializeCiphertext(*other.ctx, EncryptSlots(other, {1}, true)));
  ExpectRejected(foreign, decode, "different encryption parameters");
  // A seeded ciphertext claiming three polynomials.
  auto seeded = Must(SerializeCiphertext(ctx, EncryptSlots(k, {1}, true)));
  ASSERT_EQ(seeded[7], 1);
  seeded[kHeader + 8] = 3;
  ExpectRejected(seeded, decode, "seeded ciphertext");
}

TEST(HeSerialize, MalformedKeysAreRejected) {
  const auto& k = Keys(ParamSet::kN4096);
  const Context& ctx = *k.ctx;
  // Secret key: a code-3 coefficient is not ternary.
  auto sk = Must(SerializeSecretKey(ctx, k.sk));
  auto sk_decode = [&](const std::vector<uint8_t>& b) { return DeserializeSecretKey(ctx, b); };
  auto bad = sk;
  SetBits(bad, (kHeader + 8) * 8 + 2 * 100, 2, 3);
  ExpectRejected(bad, sk_decode, "not ternary");
  ExpectRejected(std::vector<uint8_t>(sk.begin(), sk.end() - 1), sk_decode, "truncated");
  bad = sk;
  PutU32(bad, kHeader + 4, 2);  // the key carries L + 1 = 3 limbs
  ExpectRejected(bad, sk_decode, "2 limbs, the parameters need 3");
  // Public key.
  auto pk = Must(SerializePublicKey(ctx, k.pk));
  auto pk_decode = [&](const std::vector<uint8_t>& b) { return DeserializePublicKey(ctx, b); };
  ExpectRejected(std::vector<uint8_t>(pk.begin(), pk.end() - 7), pk_decode, "truncated");
  bad = pk;
  SetBits(bad, (kHeader + 8 + 32) * 8 + 5 * 36, 36, (uint64_t{1} << 36) - 1);
  ExpectRejected(bad, pk_decode, "not below its modulus");
  bad = pk;
  bad[7] = 0;
  ExpectRejected(bad, pk_decode, "must be seeded");
  bad = pk;
  bad[6] = static_cast<uint8_t>(BlobKind::kCiphertext);
  ExpectRejected(bad, pk_decode, "blob kind");
  // Relinearization keys.
  auto rk = Must(SerializeRelinKeys(ctx, k.rk));
  auto rk_decode = [&](const std::vector<uint8_t>& b) { return DeserializeRelinKeys(ctx, b); };
  ExpectRejected(std::vector<uint8_t>(rk.begin(), rk.end() - 1), rk_decode, "truncated");
  bad = rk;
  bad.push_back(1);
  ExpectRejected(bad, rk_decode, "trailing bytes");
  bad = rk;
  PutU32(bad, kHeader, 2048);
  ExpectRejected(bad, rk_decode, "N=2048 does not match");
  bad = rk;
  bad[5] = 1;  // version 257
  ExpectRejected(bad, rk_decode, "unsupported version");
  // Galois keys: even element, count mismatch, out-of-order elements.
  auto gk = Must(SerializeGaloisKeys(ctx, k.gk));
  auto gk_decode = [&](const std::vector<uint8_t>& b) { return DeserializeGaloisKeys(ctx, b); };
  bad = gk;
  PutU32(bad, kHeader + 12, 4);  // first element 4 (even)
  ExpectRejected(bad, gk_decode, "element 4 is not odd");
  bad = gk;
  PutU32(bad, kHeader + 8, 1000);
  ExpectRejected(bad, gk_decode, "1000 keys do not match");
  bad = gk;
  PutU32(bad, kHeader + 8, 0xFFFFFFFFu);
  ExpectRejected(bad, gk_decode, "keys do not match");
  bad = gk;
  PutU32(bad, kHeader + 12, 2 * 4096 + 1);
  ExpectRejected(bad, gk_decode, "is not odd, below 2N");
}

TEST(HeSerialize, RandomCorruptionNeverCrashes) {
  const auto& k = Keys(ParamSet::kN4096);
  const Context& ctx = *k.ctx;
  const std::vector<std::vector<uint8_t>> blobs = {
      Must(SerializeCiphertext(ctx, EncryptSlots(k, {1, 2}, true))),
      Must(SerializeSecretKey(ctx, k.sk)), Must(SerializePublicKey(ctx, k.pk))};
  std::mt19937_64 rng(9);
  for (int iter = 0; iter < 300; ++iter) {
    auto b = blobs[static_cast<size_t>(iter) % blobs.size()];
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    if (rng() % 3 == 0) b.resize(rng() % b.size());
    // Each decoder must either fail cleanly or produce an object that validates.
    auto c = DeserializeCiphertext(ctx, b);
    if (c.ok()) {
      EXPECT_TRUE(ValidateCiphertext(ctx, *c).ok());
    }
    auto s = DeserializeSecretKey(ctx, b);
    if (s.ok()) {
      EXPECT_TRUE(ValidateSecretKey(ctx, *s).ok());
    }
    auto p = DeserializePublicKey(ctx, b);
    if (p.ok()) {
      EXPECT_TRUE(ValidatePublicKey(ctx, *p).ok());
    }
    (void)DeserializeRelinKeys(ctx, b);
    (void)DeserializeGaloisKeys(ctx, b);
  }
}

}  // namespace
}  // namespace veil::he
