// Fixed-width little-endian encoding for the .veil format (docs/format.md, "Primitives").
//
// ByteSink is where encoded bytes go: a buffer when serializing a file, a SHA-256 when
// computing a digest. Both consume the same primitive encoding, which is what lets the
// digests be defined in terms of the file's own section payloads.
//
// ByteReader is the only way the decoder touches input bytes. Every read checks the
// remaining length first and reports failures as Corrupt with the absolute byte offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/digest.h"
#include "veil/status.h"

namespace veil::format {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void Append(std::span<const uint8_t> bytes) = 0;

  void PutU8(uint8_t v) { Append({&v, 1}); }
  void PutU16(uint16_t v);
  void PutU32(uint32_t v);
  void PutU64(uint64_t v);
  void PutI64(int64_t v) { PutU64(static_cast<uint64_t>(v)); }
  void PutF64(double v);  // IEEE-754 binary64 bit pattern
  // u32 byte length, then the bytes. The caller guarantees s.size() < 2^32.
  void PutString(const std::string& s);
};

class VectorSink final : public ByteSink {
 public:
  explicit VectorSink(std::vector<uint8_t>* out) : out_(out) {}
  void Append(std::span<const uint8_t> bytes) override {
    out_->insert(out_->end(), bytes.begin(), bytes.end());
  }

 private:
  std::vector<uint8_t>* out_;
};

class HashSink final : public ByteSink {
 public:
  explicit HashSink(Sha256Hasher* hasher) : hasher_(hasher) {}
  void Append(std::span<const uint8_t> bytes) override { hasher_->Update(bytes); }

 private:
  Sha256Hasher* hasher_;
};

// Writes a little-endian value at a fixed position of an existing buffer.
void PatchU64(std::vector<uint8_t>* out, size_t pos, uint64_t v);

class ByteReader {
 public:
  // `bytes` starts at absolute file offset `base_offset` (used only in messages).
  ByteReader(std::span<const uint8_t> bytes, uint64_t base_offset)
      : bytes_(bytes), base_(base_offset) {}

  uint64_t offset() const { return base_ + pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool empty() const { return pos_ == bytes_.size(); }

  // `what` names the field in error messages ("value 3 name").
  Status ReadU8(uint8_t* v, const std::string& what);
  Status ReadU16(uint16_t* v, const std::string& what);
  Status ReadU32(uint32_t* v, const std::string& what);
  Status ReadU64(uint64_t* v, const std::string& what);
  Status ReadI64(int64_t* v, const std::string& what);
  Status ReadF64(double* v, const std::string& what);
  // A u32-length-prefixed string of at most `max_len` bytes.
  Status ReadString(std::string* s, size_t max_len, const std::string& what);
  // A view of the next `n` bytes (valid as long as the input is).
  Status ReadBytes(uint64_t n, std::span<const uint8_t>* out, const std::string& what);
  // A u32 element count, rejected unless `count * min_record_bytes` fits in what remains,
  // so a container may be reserved to that size without trusting the input.
  Status ReadCount(uint32_t* count, size_t min_record_bytes, const std::string& what);
  // Splits off the next `n` bytes as a reader of their own (a section payload).
  Status ReadSub(uint64_t n, ByteReader* sub, const std::string& what);

  // Corrupt("model file: <message> at byte <offset>"); `at` defaults to offset().
  Status Error(const std::string& message) const { return ErrorAt(message, offset()); }
  static Status ErrorAt(const std::string& message, uint64_t at);

 private:
  Status Need(uint64_t n, const std::string& what) const;
  const uint8_t* Take(size_t n) {
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }

  std::span<const uint8_t> bytes_;
  uint64_t base_;
  size_t pos_ = 0;
};

}  // namespace veil::format
