#include "veil/registry/identity.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace veil::registry {
namespace {

constexpr char kMagic[8] = {'V', 'E', 'I', 'L', 'I', 'D', '0', '1'};
constexpr size_t kSeedBytes = 32;
constexpr size_t kFileBytes = sizeof(kMagic) + kSeedBytes + kPublicKeyBytes;  // 72
constexpr const char* kKeyFileName = "identity.key";

Status SodiumReady() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// Closes the descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("cannot write", path));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string NodeIdOf(const PublicKey& public_key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * public_key.size());
  for (uint8_t b : public_key) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Identity::Identity() { sodium_mlock(secret_key_.data(), secret_key_.size()); }

Identity::~Identity() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
  sodium_munlock(secret_key_.data(), secret_key_.size());
}

std::array<uint8_t, 32> Identity::TlsSeed() const {
  std::array<uint8_t, 32> seed{};
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key_.data());
  return seed;
}

Signature Identity::Sign(std::span<const uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

bool Identity::Verify(const PublicKey& public_key, std::span<const uint8_t> message,
                      const Signature& signature) {
  if (sodium_init() < 0) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Result<std::unique_ptr<Identity>> Identity::LoadOrCreate(const std::string& data_dir) {
  VEIL_RETURN_IF_ERROR(SodiumReady());
  if (data_dir.empty()) return Status::InvalidArgument("identity: empty data directory");
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError(Errno("identity: cannot create directory", data_dir));
  const std::string path = data_dir + "/" + kKeyFileName;
  std::unique_ptr<Identity> id(new Identity());
  // Buffer holding the file image; wiped on every path out because it contains the seed.
  std::array<uint8_t, kFileBytes + 1> image{};
  struct Wipe {
    std::array<uint8_t, kFileBytes + 1>* a;
    ~Wipe() { sodium_memzero(a->data(), a->size()); }
  } wipe{&image};

  Fd in;
  in.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in.fd < 0 && errno != ENOENT) return Status::IoError(Errno("identity: cannot open", path));

  if (in.fd < 0) {
    // Create: a fresh keypair from the OS CSPRNG, written to a private temporary file, then
    // linked into place (link fails if another process created the key meanwhile: load that).
    uint8_t seed[kSeedBytes];
    randombytes_buf(seed, sizeof(seed));
    crypto_sign_seed_keypair(id->public_key_.data(), id->secret_key_.data(), seed);
    std::memcpy(image.data(), kMagic, sizeof(kMagic));
    std::memcpy(image.data() + sizeof(kMagic), seed, kSeedBytes);
    std::memcpy(image.data() + sizeof(kMagic) + kSeedBytes, id->public_key_.data(),
                kPublicKeyBytes);
    sodium_memzero(seed, sizeof(seed));
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    {
      Fd out;
      out.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out.fd < 0) return Status::IoError(Errno("identity: cannot create", tmp));
      Status s = WriteAll(out.fd, image.data(), kFileBytes, tmp);
      if (s.ok() && ::fsync(out.fd) != 0) s = Status::IoError(Errno("identity: cannot sync", tmp));
      if (!s.ok()) {
        ::unlink(tmp.c_str());
        return s;
      }
    }
    const int linked = ::link(tmp.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (linked == 0) return id;
    if (link_errno != EEXIST) {
      errno = link_errno;
      return Status::IoError(Errno("identity: cannot create", path));
    }
    // Lost a creation race: load the winner's key below.
    in.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in.fd < 0) return Status::IoError(Errno("identity: cannot open", path));
  }

  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return Status::IoError(Errno("identity: cannot stat", path));
  if (!S_ISREG(st.st_mode)) return Status::Corrupt("identity: " + path + " is not a regular file");
  if (st.st_uid != ::geteuid())
    return Status::InvalidArgument("identity: " + path + " is owned by uid " +
                                   std::to_string(st.st_uid) + ", not by this user");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument("identity: " + path + " has mode " + mode +
                                   ": the secret key must not be accessible by group or others "
                                   "(chmod 600 " +
                                   path + ")");
  }
  size_t got = 0;
  while (got < image.size()) {
    const ssize_t n = ::read(in.fd, image.data() + got, image.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(Errno("identity: cannot read", path));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != kFileBytes)
    return Status::Corrupt("identity: " + path + " has " +
                           (got > kFileBytes ? std::string("more than ") : std::string()) +
                           std::to_string(got > kFileBytes ? kFileBytes : got) +
                           " bytes, expected " + std::to_string(kFileBytes) +
                           " (truncated or not a veil identity)");
  if (std::memcmp(image.data(), kMagic, sizeof(kMagic)) != 0)
    return Status::Corrupt("identity: " + path + " does not start with VEILID01");
  crypto_sign_seed_keypair(id->public_key_.data(), id->secret_key_.data(),
                           image.data() + sizeof(kMagic));
  if (sodium_memcmp(id->public_key_.data(), image.data() + sizeof(kMagic) + kSeedBytes,
                    kPublicKeyBytes) != 0)
    return Status::Corrupt("identity: " + path +
                           " is corrupted: its public key does not match its secret key");
  return id;
}

}  // namespace veil::registry
