#include "veil/registry/identity.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "registry/registry_test_util.h"

namespace veil::registry {
namespace {

using testing::TempDir;

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(RegistryIdentityTest, CreatesPrivateKeyFileAndLoadsTheSameKey) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/data";  // does not exist yet
  auto created = Identity::LoadOrCreate(dir);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 72);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto loaded = Identity::LoadOrCreate(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->public_key(), (*created)->public_key());
  // Same secret key: a signature by one verifies under the other's public key and is
  // byte-identical (Ed25519 is deterministic).
  const std::string msg = "hello";
  EXPECT_EQ((*loaded)->Sign(Bytes(msg)), (*created)->Sign(Bytes(msg)));
}

TEST(RegistryIdentityTest, DifferentDirectoriesGetDifferentKeys) {
  TempDir a, b;
  auto ia = Identity::LoadOrCreate(a.path());
  auto ib = Identity::LoadOrCreate(b.path());
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_NE((*ia)->public_key(), (*ib)->public_key());
}

TEST(RegistryIdentityTest, NodeIdIsLowercaseHexOfThePublicKey) {
  TempDir tmp;
  auto id = Identity::LoadOrCreate(tmp.path());
  ASSERT_TRUE(id.ok());
  const std::string node_id = (*id)->node_id();
  ASSERT_EQ(node_id.size(), 64u);
  for (size_t i = 0; i < 32; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof(byte), "%02x", (*id)->public_key()[i]);
    EXPECT_EQ(node_id.substr(2 * i, 2), byte);
  }
}

TEST(RegistryIdentityTest, RefusesKeyFileAccessibleByGroupOrOthers) {
  TempDir tmp;
  ASSERT_TRUE(Identity::LoadOrCreate(tmp.path()).ok());
  const std::string path = tmp.path() + "/identity.key";
  for (mode_t mode : {0640, 0604, 0660, 0602, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = Identity::LoadOrCreate(tmp.path());
    ASSERT_FALSE(r.ok()) << "mode " << std::oct << mode;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos) << r.status().message();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);  // read-only for the owner is fine
  EXPECT_TRUE(Identity::LoadOrCreate(tmp.path()).ok());
}

TEST(RegistryIdentityTest, RefusesTruncatedOrOverlongKeyFile) {
  TempDir tmp;
  ASSERT_TRUE(Identity::LoadOrCreate(tmp.path()).ok());
  const std::string path = tmp.path() + "/identity.key";
  const std::vector<uint8_t> good = ReadFile(path);
  ASSERT_EQ(good.size(), 72u);
  for (size_t size : {size_t{0}, size_t{8}, size_t{40}, size_t{71}}) {
    WriteFile(path, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(size)));
    auto r = Identity::LoadOrCreate(tmp.path());
    ASSERT_FALSE(r.ok()) << size;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  WriteFile(path, longer);
  EXPECT_EQ(Identity::LoadOrCreate(tmp.path()).status().code(), StatusCode::kCorrupt);
  // A load failure never replaces the file with a new key.
  EXPECT_EQ(ReadFile(path), longer);
}

TEST(RegistryIdentityTest, RefusesCorruptedKeyFile) {
  TempDir tmp;
  ASSERT_TRUE(Identity::LoadOrCreate(tmp.path()).ok());
  const std::string path = tmp.path() + "/identity.key";
  const std::vector<uint8_t> good = ReadFile(path);
  // A flipped bit anywhere (magic, seed or public key) is detected.
  for (size_t byte = 0; byte < good.size(); ++byte) {
    std::vector<uint8_t> bad = good;
    bad[byte] ^= 0x10;
    WriteFile(path, bad);
    auto r = Identity::LoadOrCreate(tmp.path());
    ASSERT_FALSE(r.ok()) << "flipped byte " << byte;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  }
  WriteFile(path, good);
  EXPECT_TRUE(Identity::LoadOrCreate(tmp.path()).ok());
}

TEST(RegistryIdentityTest, RefusesSymlinkAndDirectoryInPlaceOfTheKey) {
  TempDir tmp;
  TempDir other;
  ASSERT_TRUE(Identity::LoadOrCreate(other.path()).ok());
  ASSERT_EQ(
      ::symlink((other.path() + "/identity.key").c_str(), (tmp.path() + "/identity.key").c_str()),
      0);
  EXPECT_FALSE(Identity::LoadOrCreate(tmp.path()).ok());
  TempDir third;
  ASSERT_EQ(::mkdir((third.path() + "/identity.key").c_str(), 0700), 0);
  EXPECT_FALSE(Identity::LoadOrCreate(third.path()).ok());
}

TEST(RegistryIdentityTest, TlsSeedIsTheSeedOfTheSameKeypair) {
  TempDir tmp;
  auto id = Identity::LoadOrCreate(tmp.path());
  ASSERT_TRUE(id.ok());
  std::array<uint8_t, 32> seed = (*id)->TlsSeed();
  PublicKey pk{};
  std::array<uint8_t, 64> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  EXPECT_EQ(pk, (*id)->public_key());
  // And it is the seed stored in the key file (bytes 8..40).
  const std::vector<uint8_t> file = ReadFile(tmp.path() + "/identity.key");
  ASSERT_EQ(file.size(), 72u);
  EXPECT_TRUE(std::equal(seed.begin(), seed.end(), file.begin() + 8));
  sodium_memzero(seed.data(), seed.size());
  sodium_memzero(sk.data(), sk.size());
}

TEST(RegistryIdentityTest, SignaturesVerifyAndForgeriesDoNot) {
  TempDir a, b;
  auto alice = Identity::LoadOrCreate(a.path());
  auto bob = Identity::LoadOrCreate(b.path());
  ASSERT_TRUE(alice.ok() && bob.ok());
  const std::string msg = "veil/registry/v1/node";
  const Signature sig = (*alice)->Sign(Bytes(msg));
  EXPECT_TRUE(Identity::Verify((*alice)->public_key(), Bytes(msg), sig));
  // Wrong key, tampered message, tampered signature (every byte), all-zero signature.
  EXPECT_FALSE(Identity::Verify((*bob)->public_key(), Bytes(msg), sig));
  std::string tampered = msg;
  tampered[3] ^= 1;
  EXPECT_FALSE(Identity::Verify((*alice)->public_key(), Bytes(tampered), sig));
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Identity::Verify((*alice)->public_key(), Bytes(msg), bad)) << i;
  }
  EXPECT_FALSE(Identity::Verify((*alice)->public_key(), Bytes(msg), Signature{}));
  // A small-order public key (the identity point) with an all-zero-ish signature: the
  // classic forgery on lax verifiers.
  PublicKey identity_point{};
  identity_point[0] = 1;
  Signature trivial{};
  trivial[0] = 1;
  EXPECT_FALSE(Identity::Verify(identity_point, Bytes(msg), trivial));
}

}  // namespace
}  // namespace veil::registry
