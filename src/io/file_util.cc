#include "io/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace veil::io {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a descriptor on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string message = "cannot open '" + path + "': " + ErrnoText(err);
    if (err == ENOENT) return Status::NotFound(message);
    return Status::IoError(message);
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Status::IoError("cannot stat '" + path + "': " + ErrnoText(errno));
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument("'" + path + "' is a directory");

  std::vector<uint8_t> bytes;
  // st_size is only a hint (the file may change, or be special); the loop enforces the cap.
  if (S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<uint64_t>(st.st_size) <= max_bytes)
    bytes.reserve(static_cast<size_t>(st.st_size));
  uint8_t chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot read '" + path + "': " + ErrnoText(errno));
    }
    if (n == 0) break;
    if (bytes.size() + static_cast<uint64_t>(n) > max_bytes)
      return Status::Corrupt("'" + path + "' is larger than the limit of " +
                             std::to_string(max_bytes) + " bytes");
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes) {
  if (path.empty()) return Status::InvalidArgument("empty output path");
  std::string temp = DirectoryOf(path) + "/.veil-tmp-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return Status::IoError("cannot create a temporary file next to '" + path +
                           "': " + ErrnoText(errno));
  }
  FdCloser closer(fd);
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(closer.Release());
    ::unlink(temp.c_str());
    return Status::IoError(what + " '" + path + "': " + ErrnoText(err));
  };
  // mkstemp creates 0600; outputs are ordinary shareable files.
  if (::fchmod(fd, 0644) != 0) return fail("cannot set permissions for");
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot flush");
  if (::close(closer.Release()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::IoError("cannot close '" + path + "': " + ErrnoText(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::IoError("cannot rename a temporary file to '" + path + "': " + ErrnoText(err));
  }
  return Status::Ok();
}

}  // namespace veil::io
