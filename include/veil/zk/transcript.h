// Fiat-Shamir transcript (Merlin-style framing over SHA-512).
//
// The transcript is a running SHA-512 computation over framed records
//   op (1 byte) || LE64(|label|) || label || LE64(|data|) || data
// with op 'P' for the protocol tag "veil/zk/transcript/v1", 'D' for the domain separator,
// 'A' for absorbed messages and 'C' for challenge requests (data empty). A challenge is the
// SHA-512 of everything absorbed so far, including its own 'C' record; the 64 bytes are
// reduced mod l (bias ~2^-260). Because the 'C' record stays in the running state, later
// challenges depend on every earlier one. Framing is injective, so distinct transcripts
// (labels, lengths, order) never hash the same input.
//
// Security: challenges are modelled as random oracle outputs (docs/zk.md). Absorb the full
// statement (public inputs, commitments) before the first challenge.
#pragma once

#include <sodium/crypto_hash_sha512.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

class Transcript {
 public:
  explicit Transcript(std::string_view domain);

  void AppendBytes(std::string_view label, std::span<const uint8_t> data);
  void AppendU64(std::string_view label, uint64_t v);
  void AppendScalar(std::string_view label, const Scalar& s);
  void AppendPoint(std::string_view label, const Point& p);  // canonical encoding
  void AppendPoints(std::string_view label, std::span<const Point> points);

  std::array<uint8_t, 64> ChallengeBytes(std::string_view label);
  Scalar ChallengeScalar(std::string_view label);
  // n challenges under the same label, in order (each call advances the transcript).
  std::vector<Scalar> ChallengeScalars(std::string_view label, size_t n);

 private:
  void Record(uint8_t op, std::string_view label, std::span<const uint8_t> data);
  crypto_hash_sha512_state state_;
};

}  // namespace veil::zk
