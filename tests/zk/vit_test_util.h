// Helpers shared by the ViT op proof tests (matmul, softmax, attention, layernorm, transpose).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <set>
#include <span>
#include <vector>

#include "veil/zk/hyrax.h"
#include "veil/zk/sigma.h"
#include "zk/zk_test_util.h"

namespace veil::zk::testing {

// Long enough for [1, 16·64] activations and [1, 4·16·16] attention scores.
inline const CommitmentKey& VitKey() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(1024));
  return *key;
}

inline std::vector<Scalar> Blinds(size_t n) {
  std::vector<Scalar> b(n);
  for (auto& x : b) x = Scalar::Random();
  return b;
}

inline std::vector<int8_t> RandomInt8(size_t n, int lo = -127, int hi = 127) {
  std::vector<int8_t> v(n);
  for (auto& x : v)
    x = static_cast<int8_t>(lo + static_cast<int>(Rng()() % static_cast<uint64_t>(hi - lo + 1)));
  return v;
}

inline HyraxCommitment CommitI8(std::span<const int8_t> v, size_t rows, size_t cols,
                                std::span<const Scalar> blinds) {
  return *HyraxCommitInt8(VitKey(), v, rows, cols, blinds);
}

// Serialized proof bytes must verify; a trailing byte, truncations and single-bit flips at
// ~`positions` offsets must be rejected (decoding or verification).
inline void ExpectTamperRejected(
    const std::vector<uint8_t>& bytes,
    const std::function<Status(std::span<const uint8_t>)>& decode_verify, size_t positions = 60) {
  ASSERT_TRUE(decode_verify(bytes).ok()) << decode_verify(bytes).ToString();
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_verify(longer).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / positions) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x10;
    EXPECT_FALSE(decode_verify(flipped).ok()) << "flip at " << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << "truncated at " << pos;
  }
}

inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Process CPU seconds (the provers are single-threaded; wall time on a loaded VM is not).
inline double CpuSeconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace veil::zk::testing

namespace veil::zk::testing {

// Zero-knowledge sanity check: two proofs of one statement share no 32-byte element
// (commitments, responses); only framing counts and shapes may repeat.
inline size_t SharedWords(const std::vector<uint8_t>& b1, const std::vector<uint8_t>& b2) {
  std::set<std::vector<uint8_t>> words;
  for (size_t i = 0; i + 32 <= b1.size(); ++i) words.insert({b1.begin() + i, b1.begin() + i + 32});
  size_t shared = 0;
  for (size_t i = 0; i + 32 <= b2.size(); i += 4)
    shared += words.count({b2.begin() + i, b2.begin() + i + 32});
  return shared;
}

}  // namespace veil::zk::testing
