#include "veil/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace veil {
namespace {

TEST(DigestTest, KnownAnswer) {
  const std::string abc = "abc";  // FIPS 180-2 test vector
  Digest d = Sha256({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()});
  EXPECT_EQ(DigestToHex(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, HexRoundTripAndRejects) {
  Digest d{};
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7);
  Digest back{};
  ASSERT_TRUE(DigestFromHex(DigestToHex(d), &back));
  EXPECT_EQ(d, back);
  EXPECT_FALSE(DigestFromHex("abc", &back));
  EXPECT_FALSE(DigestFromHex(std::string(64, 'g'), &back));
}

}  // namespace
}  // namespace veil
