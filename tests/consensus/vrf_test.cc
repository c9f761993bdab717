// ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 Appendix B.3 (Examples 16-18), and negative
// tests: tampered proof, alpha and key; non-canonical and invalid encodings; s >= L.
#include "veil/consensus/vrf.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>

#include "consensus_test_util.h"

namespace veil::consensus {
namespace {

using testing::ArrayFromHex;
using testing::FromHex;

struct Vector {
  const char* sk;
  const char* pk;
  const char* alpha;
  const char* pi;
  const char* beta;
};

// RFC 9381 Appendix B.3, Examples 16, 17, 18.
const Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f4"
     "79d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
     "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af0"
     "26798e8f81cd2e333de5cdf4f3e140fdd8ae"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c9"
     "2a465301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
     "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb5e33821bc613efb94db5e5b54c70"
     "a848a0bef4553a41befc57663b56373a5031"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf8096bb474e53895c362d8628ee9f9"
     "ea3c0e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
     "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c452118fec1219202a0edcf038bb637"
     "3241578be7217ba85a2687f7a0310b2df19f"},
};

TEST(ConsensusVrfTest, Rfc9381Vectors) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.pk);
    const auto sk = ArrayFromHex<32>(v.sk);
    const auto pk = ArrayFromHex<32>(v.pk);
    const std::vector<uint8_t> alpha = FromHex(v.alpha);
    const auto pi = ArrayFromHex<80>(v.pi);
    const auto beta = ArrayFromHex<64>(v.beta);

    auto derived = VrfPublicKey(sk);
    ASSERT_TRUE(derived.ok());
    EXPECT_EQ(*derived, pk);
    auto proof = VrfProve(sk, alpha);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(*proof, pi);
    auto hash = VrfProofToHash(pi);
    ASSERT_TRUE(hash.ok());
    EXPECT_EQ(*hash, beta);
    auto verified = VrfVerify(pk, alpha, pi);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    EXPECT_EQ(*verified, beta);
  }
}

TEST(ConsensusVrfTest, PublicKeyEqualsEd25519PublicKey) {
  testing::Nodes nodes(1);
  std::array<uint8_t, 32> seed = nodes[0].TlsSeed();
  auto pk = VrfPublicKey(seed);
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(*pk, nodes[0].public_key());
  const std::vector<uint8_t> alpha = {1, 2, 3};
  auto a = VrfProve(seed, alpha);
  auto b = VrfProve(nodes[0], alpha);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(VrfVerify(nodes[0].public_key(), alpha, *b).ok());
  sodium_memzero(seed.data(), seed.size());
}

TEST(ConsensusVrfTest, RejectsEveryFlippedProofBit) {
  const Vector& v = kVectors[1];
  const auto pk = ArrayFromHex<32>(v.pk);
  const std::vector<uint8_t> alpha = FromHex(v.alpha);
  const auto pi = ArrayFromHex<80>(v.pi);
  for (size_t bit = 0; bit < 8 * pi.size(); ++bit) {
    VrfProof bad = pi;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = VrfVerify(pk, alpha, bad);
    EXPECT_FALSE(r.ok()) << "flipped bit " << bit;
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
}

TEST(ConsensusVrfTest, RejectsOtherAlphaAndOtherKey) {
  const auto pk0 = ArrayFromHex<32>(kVectors[0].pk);
  const auto pk1 = ArrayFromHex<32>(kVectors[1].pk);
  const auto pi1 = ArrayFromHex<80>(kVectors[1].pi);
  const std::vector<uint8_t> alpha1 = FromHex(kVectors[1].alpha);
  EXPECT_FALSE(VrfVerify(pk1, std::vector<uint8_t>{0x73}, pi1).ok());  // alpha 0x72 -> 0x73
  EXPECT_FALSE(VrfVerify(pk1, std::vector<uint8_t>{}, pi1).ok());
  EXPECT_FALSE(VrfVerify(pk1, std::vector<uint8_t>{0x72, 0x00}, pi1).ok());
  EXPECT_FALSE(VrfVerify(pk0, alpha1, pi1).ok());
  // Another proof for the same key and alpha cannot be substituted (uniqueness in practice).
  const auto pi2 = ArrayFromHex<80>(kVectors[2].pi);
  EXPECT_FALSE(VrfVerify(pk1, alpha1, pi2).ok());
}

TEST(ConsensusVrfTest, RejectsInvalidKeys) {
  const std::vector<uint8_t> alpha = FromHex(kVectors[0].alpha);
  const auto pi = ArrayFromHex<80>(kVectors[0].pi);
  registry::PublicKey identity{};
  identity[0] = 1;  // the neutral element: small order
  EXPECT_FALSE(VrfVerify(identity, alpha, pi).ok());
  registry::PublicKey zero{};  // (x=?, y=0): order 4
  EXPECT_FALSE(VrfVerify(zero, alpha, pi).ok());
  // Non-canonical: y = p + 1 encodes the same y as 1 but is >= p.
  registry::PublicKey noncanonical;
  noncanonical.fill(0xff);
  noncanonical[0] = 0xee;
  noncanonical[31] = 0x7f;
  EXPECT_FALSE(VrfVerify(noncanonical, alpha, pi).ok());
  // The valid key with its sign bit flipped is a different point: the proof does not verify.
  auto pk = ArrayFromHex<32>(kVectors[0].pk);
  pk[31] ^= 0x80;
  EXPECT_FALSE(VrfVerify(pk, alpha, pi).ok());
}

TEST(ConsensusVrfTest, RejectsUnreducedScalarAndBadGamma) {
  const auto pk = ArrayFromHex<32>(kVectors[0].pk);
  const std::vector<uint8_t> alpha = FromHex(kVectors[0].alpha);
  const auto pi = ArrayFromHex<80>(kVectors[0].pi);
  // s + L: the same residue, not reduced. L = 2^252 + 27742317777372353535851937790883648493.
  const auto l =
      ArrayFromHex<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  VrfProof bad = pi;
  unsigned carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    const unsigned sum = bad[48 + i] + l[i] + carry;
    bad[48 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  auto r = VrfVerify(pk, alpha, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reduced"), std::string::npos) << r.status().message();
  // Gamma replaced by the neutral element / a non-canonical encoding.
  VrfProof neutral = pi;
  std::fill(neutral.begin(), neutral.begin() + 32, 0);
  neutral[0] = 1;
  EXPECT_FALSE(VrfVerify(pk, alpha, neutral).ok());
  VrfProof high = pi;
  std::fill(high.begin(), high.begin() + 32, 0xff);
  EXPECT_FALSE(VrfVerify(pk, alpha, high).ok());
  EXPECT_FALSE(VrfProofToHash(high).ok());
}

TEST(ConsensusVrfTest, Timing) {
  // Not a pass/fail timing test: prints the cost for docs/consensus.md (bench numbers).
  const auto sk = ArrayFromHex<32>(kVectors[0].sk);
  const auto pk = ArrayFromHex<32>(kVectors[0].pk);
  std::vector<uint8_t> alpha(200, 7);
  constexpr int kIters = 200;
  auto t0 = std::chrono::steady_clock::now();
  VrfProof proof{};
  for (int i = 0; i < kIters; ++i) {
    alpha[0] = static_cast<uint8_t>(i);
    auto p = VrfProve(sk, alpha);
    ASSERT_TRUE(p.ok());
    proof = *p;
  }
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i) ASSERT_TRUE(VrfVerify(pk, alpha, proof).ok());
  auto t2 = std::chrono::steady_clock::now();
  const double prove_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kIters;
  const double verify_us = std::chrono::duration<double, std::micro>(t2 - t1).count() / kIters;
  std::printf("VRF prove %.1f us, verify %.1f us (alpha 200 bytes, %d iterations)\n", prove_us,
              verify_us, kIters);
}

}  // namespace
}  // namespace veil::consensus
