#include "veil/zk/transcript.h"

#include <vector>

namespace veil::zk {
namespace {

void PutU64(crypto_hash_sha512_state* st, uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  crypto_hash_sha512_update(st, le, 8);
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Transcript::Transcript(std::string_view domain) {
  crypto_hash_sha512_init(&state_);
  Record('P', "veil/zk/transcript/v1", {});
  Record('D', "domain", AsBytes(domain));
}

void Transcript::Record(uint8_t op, std::string_view label, std::span<const uint8_t> data) {
  crypto_hash_sha512_update(&state_, &op, 1);
  PutU64(&state_, label.size());
  crypto_hash_sha512_update(&state_, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  PutU64(&state_, data.size());
  crypto_hash_sha512_update(&state_, data.data(), data.size());
}

void Transcript::AppendBytes(std::string_view label, std::span<const uint8_t> data) {
  Record('A', label, data);
}

void Transcript::AppendU64(std::string_view label, uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  Record('A', label, le);
}

void Transcript::AppendScalar(std::string_view label, const Scalar& s) {
  Record('A', label, s.ToBytes());
}

void Transcript::AppendPoint(std::string_view label, const Point& p) {
  Record('A', label, p.Encode());
}

void Transcript::AppendPoints(std::string_view label, std::span<const Point> points) {
  std::vector<uint8_t> bytes;
  bytes.reserve(32 * points.size());
  for (const Point& p : points) {
    const std::array<uint8_t, 32> e = p.Encode();
    bytes.insert(bytes.end(), e.begin(), e.end());
  }
  Record('A', label, bytes);
}

std::array<uint8_t, 64> Transcript::ChallengeBytes(std::string_view label) {
  Record('C', label, {});
  crypto_hash_sha512_state fork = state_;
  std::array<uint8_t, 64> out;
  crypto_hash_sha512_final(&fork, out.data());
  return out;
}

Scalar Transcript::ChallengeScalar(std::string_view label) {
  return Scalar::FromBytesWide(ChallengeBytes(label));
}

std::vector<Scalar> Transcript::ChallengeScalars(std::string_view label, size_t n) {
  std::vector<Scalar> r(n);
  for (Scalar& x : r) x = ChallengeScalar(label);
  return r;
}

}  // namespace veil::zk
