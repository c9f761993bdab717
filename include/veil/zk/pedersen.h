// Pedersen vector commitments over ristretto255: C = sum_i m_i * G_i + r * H.
//
// Transparent setup: the generators are hash-to-group outputs of a public seed, so nobody
// knows a discrete-log relation among them and there is no secret to destroy:
//   G_i = FromUniformBytes(SHA-512("veil/zk/pedersen/v1" || 0x00 || LE64(|domain|) || domain
//                                  || "G" || LE64(i)))
//   H   = FromUniformBytes(SHA-512("veil/zk/pedersen/v1" || 0x00 || LE64(|domain|) || domain
//                                  || "H"))
// Binding rests on discrete log in ristretto255; hiding is perfect given uniform r.
// Timing: r * H is constant time; the message MSM is variable time in the message (see
// docs/zk.md, "Side channels").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

class PedersenGenerators {
 public:
  // Derives n message generators and the blinding generator for `domain`.
  static PedersenGenerators Derive(std::string_view domain, size_t n, ThreadPool* pool = nullptr);
  // The i-th generator of `domain` alone (what Derive computes for index i).
  static Point DeriveG(std::string_view domain, uint64_t i);
  static Point DeriveH(std::string_view domain);

  size_t size() const { return g_.size(); }
  const std::string& domain() const { return domain_; }
  const std::vector<Point>& g() const { return g_; }
  std::span<const AffineNielsPoint> g_affine() const { return g_affine_; }
  const Point& h() const { return h_; }

 private:
  std::string domain_;
  std::vector<Point> g_;
  std::vector<AffineNielsPoint> g_affine_;
  Point h_;
};

// Commits to m (m.size() <= gens.size(); missing entries count as zero) with blinding r.
Result<Point> PedersenCommit(const PedersenGenerators& gens, std::span<const Scalar> m,
                             const Scalar& r, ThreadPool* pool = nullptr);
// Small-integer fast paths (negative x is l - |x|).
Result<Point> PedersenCommitInt8(const PedersenGenerators& gens, std::span<const int8_t> m,
                                 const Scalar& r, ThreadPool* pool = nullptr);
Result<Point> PedersenCommitInt32(const PedersenGenerators& gens, std::span<const int32_t> m,
                                  const Scalar& r, ThreadPool* pool = nullptr);
// True iff `commitment` opens to (m, r).
bool PedersenVerifyOpening(const PedersenGenerators& gens, const Point& commitment,
                           std::span<const Scalar> m, const Scalar& r);

}  // namespace veil::zk
