#include "idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>

namespace veil::io {
namespace {

// Owns a gzFile (which also reads uncompressed files transparently).
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {}
  ~GzReader() {
    if (file_) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  bool is_open() const { return file_ != nullptr; }

  // Reads up to `n` bytes; *got < n only at end of data.
  Status Read(uint8_t* out, size_t n, size_t* got) {
    *got = 0;
    while (*got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - *got, 1 << 20));
      int r = gzread(file_, out + *got, chunk);
      if (r < 0) {
        int errnum = 0;
        const char* message = gzerror(file_, &errnum);
        return Status::Corrupt("'" + path_ + "': " + (message ? message : "decompression error"));
      }
      if (r == 0) break;
      *got += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

 private:
  std::string path_;
  gzFile file_;
};

}  // namespace

Result<IdxArray> ReadIdxUbyte(const std::string& path, uint64_t max_data_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("cannot open '" + path + "'");
  GzReader reader(path);
  if (!reader.is_open()) return Status::IoError("cannot open '" + path + "'");
  auto corrupt = [&](const std::string& what) {
    return Status::Corrupt("'" + path + "': " + what);
  };

  uint8_t magic[4];
  size_t got = 0;
  VEIL_RETURN_IF_ERROR(reader.Read(magic, 4, &got));
  if (got != 4) return corrupt("truncated IDX magic");
  if (magic[0] != 0 || magic[1] != 0) return corrupt("bad IDX magic");
  if (magic[2] != 0x08)
    return corrupt("IDX element type " + std::to_string(magic[2]) + " is not ubyte");
  const size_t rank = magic[3];
  if (rank == 0 || rank > kMaxIdxRank)
    return corrupt("IDX rank " + std::to_string(rank) + " unsupported");

  IdxArray array;
  uint64_t total = 1;
  for (size_t i = 0; i < rank; ++i) {
    uint8_t b[4];
    VEIL_RETURN_IF_ERROR(reader.Read(b, 4, &got));
    if (got != 4) return corrupt("truncated IDX dimensions");
    const uint32_t d = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    array.dims.push_back(d);
    // Compare before multiplying: total <= max_data_bytes keeps the product in range.
    if (d != 0 && total > max_data_bytes / d)
      return corrupt("IDX data exceeds the limit of " + std::to_string(max_data_bytes) + " bytes");
    total *= d;
  }

  // Grow with the data actually present, so a lying header cannot force a large
  // allocation: at most one chunk beyond what was decompressed.
  constexpr size_t kChunk = 1 << 20;
  while (array.data.size() < total) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, total - array.data.size()));
    const size_t old = array.data.size();
    array.data.resize(old + want);
    VEIL_RETURN_IF_ERROR(reader.Read(array.data.data() + old, want, &got));
    if (got != want) {
      return corrupt("truncated IDX data (" + std::to_string(old + got) + " of " +
                     std::to_string(total) + " bytes)");
    }
  }
  uint8_t extra;
  VEIL_RETURN_IF_ERROR(reader.Read(&extra, 1, &got));
  if (got != 0) return corrupt("unexpected bytes after the IDX data");
  return array;
}

}  // namespace veil::io
