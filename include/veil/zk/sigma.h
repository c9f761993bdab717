// Commitment key and the Σ-protocols (made non-interactive with the transcript) that the
// hiding proofs are assembled from (Hyrax, Wahby et al., S&P 2018, §A):
//
//   value commitment   Com(v; r)     = v·g + r·h                       (one scalar)
//   vector commitment  Com(v⃗; r)     = Σ v_i·G_i + r·h                  (Pedersen, prefix of G)
//   EqualityProof      Com(a; r1), Com(a; r2) commit to the same value   (Schnorr on h)
//   ProductProof       X, Y, Z commit to x, y, x·y
//   DotProductProof    C commits to v⃗, Y commits to <v⃗, a⃗> for a public a⃗
//
// Each is special-sound (two accepting transcripts with different challenges yield the
// witness, or a discrete-log relation among g, h, G_i) and honest-verifier zero-knowledge
// (the responses are uniformly distributed given the challenge), so with Fiat–Shamir in the
// ROM the proofs reveal nothing beyond the statement. Prover randomness comes from the OS
// CSPRNG (Scalar::Random).
//
// Generators: G_i and h are PedersenGenerators::Derive("veil/zk/hyrax/v1", n); g is
// PedersenGenerators::DeriveG("veil/zk/hyrax/v1/value", 0). All transparent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/thread_pool.h"
#include "veil/zk/pedersen.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"
#include "veil/zk/serialize.h"
#include "veil/zk/transcript.h"

namespace veil::zk {

class CommitmentKey {
 public:
  // A key for vectors of up to `max_vector_length` entries.
  static CommitmentKey Derive(size_t max_vector_length, ThreadPool* pool = nullptr);

  const PedersenGenerators& vector_generators() const { return vec_; }
  size_t max_vector_length() const { return vec_.size(); }
  const Point& g() const { return g_; }
  const Point& h() const { return vec_.h(); }

  // v·g + r·h, constant time (v and r may be secret; fixed-base tables).
  Point CommitValue(const Scalar& v, const Scalar& r) const;
  // r·h, constant time (the blinding term of every commitment).
  Point MulH(const Scalar& r) const { return h_table_->Mul(r); }
  // Σ v_i·G_i + r·h; variable time in v (docs/zk.md "Side channels").
  Result<Point> CommitVector(std::span<const Scalar> v, const Scalar& r,
                             ThreadPool* pool = nullptr) const;

 private:
  PedersenGenerators vec_;
  Point g_;
  // Shared so that copies of a key stay cheap (each table is 80 KB).
  std::shared_ptr<const FixedBaseTable> g_table_, h_table_;
};

// A committed scalar known to the prover.
struct CommittedValue {
  Scalar value;
  Scalar blind;
  Point commitment;
};
CommittedValue CommitFresh(const CommitmentKey& key, const Scalar& value);

struct EqualityProof {
  Point nonce_commitment;  // k·h
  Scalar response;         // k + c·(r1 - r2)
};
// Proves that c1 and c2 commit to the same value (c1 - c2 is a multiple of h).
EqualityProof ProveEquality(const CommitmentKey& key, const Point& c1, const Scalar& blind1,
                            const Point& c2, const Scalar& blind2, Transcript* transcript);
Status VerifyEquality(const CommitmentKey& key, const Point& c1, const Point& c2,
                      const EqualityProof& proof, Transcript* transcript);

struct ProductProof {
  Point alpha, beta, delta;
  Scalar z1, z2, z3, z4, z5;
};
// x, y, z are committed scalars with z.value = x.value · y.value.
ProductProof ProveProduct(const CommitmentKey& key, const CommittedValue& x,
                          const CommittedValue& y, const CommittedValue& z, Transcript* transcript);
Status VerifyProduct(const CommitmentKey& key, const Point& x, const Point& y, const Point& z,
                     const ProductProof& proof, Transcript* transcript);

// Batch verification of many equations of the form
//     Σ_j s_j·P_j + Σ_k a_k·G_k + b·h = identity
// (G_k, h from one CommitmentKey): each added equation is scaled by a fresh random weight
// from the OS CSPRNG and all are checked with one multi-scalar multiplication. A false
// equation survives with probability 1/l. The dot-product proofs of a whole segment share
// their 2^n-generator MSM this way.
class BatchVerifier {
 public:
  void Add(std::span<const Point> points, std::span<const Scalar> point_scalars,
           std::span<const Scalar> generator_scalars, const Scalar& h_scalar);
  // Ok iff every added equation holds (with overwhelming probability); kCorrupt otherwise.
  Status Check(const CommitmentKey& key) const;
  size_t size() const { return equations_; }

 private:
  std::vector<Point> points_;
  std::vector<Scalar> point_scalars_;
  std::vector<Scalar> generator_scalars_;
  Scalar h_scalar_;
  size_t equations_ = 0;
};

struct DotProductProof {
  Point delta, beta;
  std::vector<Scalar> z;
  Scalar z_delta, z_beta;
};
// `vector_commitment` = Com(v⃗; vector_blind) and `result` commits to <v⃗, a⃗>.
Result<DotProductProof> ProveDotProduct(const CommitmentKey& key, const Point& vector_commitment,
                                        std::span<const Scalar> v, const Scalar& vector_blind,
                                        const CommittedValue& result, std::span<const Scalar> a,
                                        Transcript* transcript);
// With `batch`, the vector check (the 2^n-generator MSM) is deferred into it; the caller
// must then call batch->Check(). Without, everything is checked here.
Status VerifyDotProduct(const CommitmentKey& key, const Point& vector_commitment,
                        const Point& result, std::span<const Scalar> a,
                        const DotProductProof& proof, Transcript* transcript,
                        BatchVerifier* batch = nullptr);

// Wire format (serialize.h conventions).
void WriteEqualityProof(std::vector<uint8_t>* out, const EqualityProof& p);
Result<EqualityProof> ReadEqualityProof(ZkReader* in);
void WriteProductProof(std::vector<uint8_t>* out, const ProductProof& p);
Result<ProductProof> ReadProductProof(ZkReader* in);
void WriteDotProductProof(std::vector<uint8_t>* out, const DotProductProof& p);
Result<DotProductProof> ReadDotProductProof(ZkReader* in, uint32_t max_length);

}  // namespace veil::zk
