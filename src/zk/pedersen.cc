#include "veil/zk/pedersen.h"

#include <sodium.h>

#include "veil/zk/msm.h"

namespace veil::zk {
namespace {

constexpr std::string_view kSeed = "veil/zk/pedersen/v1";

void PutU64(crypto_hash_sha512_state* st, uint64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
  crypto_hash_sha512_update(st, le, 8);
}

// SHA-512 state after "seed || 0x00 || LE64(|domain|) || domain".
crypto_hash_sha512_state DomainState(std::string_view domain) {
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, reinterpret_cast<const uint8_t*>(kSeed.data()), kSeed.size());
  const uint8_t zero = 0;
  crypto_hash_sha512_update(&st, &zero, 1);
  PutU64(&st, domain.size());
  crypto_hash_sha512_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  return st;
}

Point Finish(crypto_hash_sha512_state* st) {
  std::array<uint8_t, 64> h;
  crypto_hash_sha512_final(st, h.data());
  return Point::FromUniformBytes(h);
}

Point GFromState(const crypto_hash_sha512_state& base, uint64_t i) {
  crypto_hash_sha512_state st = base;
  const uint8_t tag = 'G';
  crypto_hash_sha512_update(&st, &tag, 1);
  PutU64(&st, i);
  return Finish(&st);
}

Status CheckLength(size_t m, size_t n) {
  if (m > n)
    return Status::InvalidArgument("Pedersen commitment to " + std::to_string(m) +
                                   " values with only " + std::to_string(n) + " generators");
  return Status::Ok();
}

}  // namespace

Point PedersenGenerators::DeriveG(std::string_view domain, uint64_t i) {
  return GFromState(DomainState(domain), i);
}

Point PedersenGenerators::DeriveH(std::string_view domain) {
  crypto_hash_sha512_state st = DomainState(domain);
  const uint8_t tag = 'H';
  crypto_hash_sha512_update(&st, &tag, 1);
  return Finish(&st);
}

PedersenGenerators PedersenGenerators::Derive(std::string_view domain, size_t n, ThreadPool* pool) {
  PedersenGenerators gens;
  gens.domain_ = std::string(domain);
  gens.g_.resize(n);
  const crypto_hash_sha512_state base = DomainState(domain);
  auto derive = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gens.g_[static_cast<size_t>(i)] = GFromState(base, static_cast<uint64_t>(i));
  };
  if (pool != nullptr)
    pool->ParallelFor(static_cast<int64_t>(n), 1024, derive);
  else
    derive(0, static_cast<int64_t>(n));
  gens.g_affine_ = BatchToAffineNiels(gens.g_);
  gens.h_ = DeriveH(domain);
  return gens;
}

Result<Point> PedersenCommit(const PedersenGenerators& gens, std::span<const Scalar> m,
                             const Scalar& r, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckLength(m.size(), gens.size()));
  return MsmAffine(m, gens.g_affine().first(m.size()), pool) + gens.h().MulCt(r);
}

Result<Point> PedersenCommitInt8(const PedersenGenerators& gens, std::span<const int8_t> m,
                                 const Scalar& r, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckLength(m.size(), gens.size()));
  return MsmInt8(m, gens.g_affine().first(m.size()), pool) + gens.h().MulCt(r);
}

Result<Point> PedersenCommitInt32(const PedersenGenerators& gens, std::span<const int32_t> m,
                                  const Scalar& r, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckLength(m.size(), gens.size()));
  return MsmInt32(m, gens.g_affine().first(m.size()), pool) + gens.h().MulCt(r);
}

bool PedersenVerifyOpening(const PedersenGenerators& gens, const Point& commitment,
                           std::span<const Scalar> m, const Scalar& r) {
  Result<Point> c = PedersenCommit(gens, m, r);
  return c.ok() && *c == commitment;
}

}  // namespace veil::zk
