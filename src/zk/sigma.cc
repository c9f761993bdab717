#include "veil/zk/sigma.h"

#include <string>

#include "veil/zk/msm.h"

namespace veil::zk {
namespace {

constexpr std::string_view kVectorDomain = "veil/zk/hyrax/v1";
constexpr std::string_view kValueDomain = "veil/zk/hyrax/v1/value";

Status Reject(const std::string& what) { return Status::Corrupt(what); }

Scalar Dot(std::span<const Scalar> a, std::span<const Scalar> b) {
  Scalar acc;
  for (size_t i = 0; i < a.size(); ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace

CommitmentKey CommitmentKey::Derive(size_t max_vector_length, ThreadPool* pool) {
  CommitmentKey key;
  key.vec_ = PedersenGenerators::Derive(kVectorDomain, max_vector_length, pool);
  key.g_ = PedersenGenerators::DeriveG(kValueDomain, 0);
  key.g_table_ = std::make_shared<const FixedBaseTable>(key.g_);
  key.h_table_ = std::make_shared<const FixedBaseTable>(key.vec_.h());
  return key;
}

Point CommitmentKey::CommitValue(const Scalar& v, const Scalar& r) const {
  return g_table_->Mul(v) + h_table_->Mul(r);
}

Result<Point> CommitmentKey::CommitVector(std::span<const Scalar> v, const Scalar& r,
                                          ThreadPool* pool) const {
  if (v.size() > vec_.size())
    return Status::InvalidArgument("vector commitment to " + std::to_string(v.size()) +
                                   " values with only " + std::to_string(vec_.size()) +
                                   " generators");
  return MsmAffine(v, vec_.g_affine().first(v.size()), pool) + MulH(r);
}

CommittedValue CommitFresh(const CommitmentKey& key, const Scalar& value) {
  CommittedValue c;
  c.value = value;
  c.blind = Scalar::Random();
  c.commitment = key.CommitValue(value, c.blind);
  return c;
}

EqualityProof ProveEquality(const CommitmentKey& key, const Point& c1, const Scalar& blind1,
                            const Point& c2, const Scalar& blind2, Transcript* transcript) {
  transcript->AppendPoint("eq/c1", c1);
  transcript->AppendPoint("eq/c2", c2);
  const Scalar k = Scalar::Random();
  EqualityProof proof;
  proof.nonce_commitment = key.MulH(k);
  transcript->AppendPoint("eq/nonce", proof.nonce_commitment);
  const Scalar c = transcript->ChallengeScalar("eq/challenge");
  proof.response = k + c * (blind1 - blind2);
  return proof;
}

Status VerifyEquality(const CommitmentKey& key, const Point& c1, const Point& c2,
                      const EqualityProof& proof, Transcript* transcript) {
  transcript->AppendPoint("eq/c1", c1);
  transcript->AppendPoint("eq/c2", c2);
  transcript->AppendPoint("eq/nonce", proof.nonce_commitment);
  const Scalar c = transcript->ChallengeScalar("eq/challenge");
  if (key.h().MulVartime(proof.response) != proof.nonce_commitment + (c1 - c2).MulVartime(c))
    return Reject("equality proof does not verify");
  return Status::Ok();
}

ProductProof ProveProduct(const CommitmentKey& key, const CommittedValue& x,
                          const CommittedValue& y, const CommittedValue& z,
                          Transcript* transcript) {
  transcript->AppendPoint("prod/x", x.commitment);
  transcript->AppendPoint("prod/y", y.commitment);
  transcript->AppendPoint("prod/z", z.commitment);
  const Scalar b1 = Scalar::Random(), b2 = Scalar::Random(), b3 = Scalar::Random(),
               b4 = Scalar::Random(), b5 = Scalar::Random();
  ProductProof p;
  p.alpha = key.CommitValue(b1, b2);
  p.beta = key.CommitValue(b3, b4);
  p.delta = x.commitment.MulCt(b3) + key.MulH(b5);
  transcript->AppendPoint("prod/alpha", p.alpha);
  transcript->AppendPoint("prod/beta", p.beta);
  transcript->AppendPoint("prod/delta", p.delta);
  const Scalar c = transcript->ChallengeScalar("prod/challenge");
  p.z1 = b1 + c * x.value;
  p.z2 = b2 + c * x.blind;
  p.z3 = b3 + c * y.value;
  p.z4 = b4 + c * y.blind;
  // z = x·y, so Z - y·X = (r_z - y·r_x)·h: the third check opens that relation.
  p.z5 = b5 + c * (z.blind - x.blind * y.value);
  return p;
}

Status VerifyProduct(const CommitmentKey& key, const Point& x, const Point& y, const Point& z,
                     const ProductProof& p, Transcript* transcript) {
  transcript->AppendPoint("prod/x", x);
  transcript->AppendPoint("prod/y", y);
  transcript->AppendPoint("prod/z", z);
  transcript->AppendPoint("prod/alpha", p.alpha);
  transcript->AppendPoint("prod/beta", p.beta);
  transcript->AppendPoint("prod/delta", p.delta);
  const Scalar c = transcript->ChallengeScalar("prod/challenge");
  const Point& g = key.g();
  const Point& h = key.h();
  if (p.alpha + x.MulVartime(c) != g.MulVartime(p.z1) + h.MulVartime(p.z2))
    return Reject("product proof: first check fails");
  if (p.beta + y.MulVartime(c) != g.MulVartime(p.z3) + h.MulVartime(p.z4))
    return Reject("product proof: second check fails");
  if (p.delta + z.MulVartime(c) != x.MulVartime(p.z3) + h.MulVartime(p.z5))
    return Reject("product proof: third check fails");
  return Status::Ok();
}

Result<DotProductProof> ProveDotProduct(const CommitmentKey& key, const Point& vector_commitment,
                                        std::span<const Scalar> v, const Scalar& vector_blind,
                                        const CommittedValue& result, std::span<const Scalar> a,
                                        Transcript* transcript) {
  if (v.size() != a.size() || v.size() > key.max_vector_length())
    return Status::InvalidArgument("dot-product proof: vector lengths " + std::to_string(v.size()) +
                                   " and " + std::to_string(a.size()) + " (key holds " +
                                   std::to_string(key.max_vector_length()) + ")");
  transcript->AppendU64("dot/n", v.size());
  transcript->AppendPoint("dot/c", vector_commitment);
  transcript->AppendPoint("dot/y", result.commitment);
  std::vector<Scalar> d(v.size());
  for (Scalar& x : d) x = Scalar::Random();
  const Scalar r_delta = Scalar::Random(), r_beta = Scalar::Random();
  DotProductProof p;
  VEIL_ASSIGN_OR_RETURN(p.delta, key.CommitVector(d, r_delta));
  p.beta = key.CommitValue(Dot(a, d), r_beta);
  transcript->AppendPoint("dot/delta", p.delta);
  transcript->AppendPoint("dot/beta", p.beta);
  const Scalar c = transcript->ChallengeScalar("dot/challenge");
  p.z.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) p.z[i] = c * v[i] + d[i];
  p.z_delta = c * vector_blind + r_delta;
  p.z_beta = c * result.blind + r_beta;
  return p;
}

Status VerifyDotProduct(const CommitmentKey& key, const Point& vector_commitment,
                        const Point& result, std::span<const Scalar> a, const DotProductProof& p,
                        Transcript* transcript, BatchVerifier* batch) {
  if (p.z.size() != a.size() || a.size() > key.max_vector_length())
    return Reject("dot-product proof has " + std::to_string(p.z.size()) + " responses, expected " +
                  std::to_string(a.size()));
  transcript->AppendU64("dot/n", a.size());
  transcript->AppendPoint("dot/c", vector_commitment);
  transcript->AppendPoint("dot/y", result);
  transcript->AppendPoint("dot/delta", p.delta);
  transcript->AppendPoint("dot/beta", p.beta);
  const Scalar c = transcript->ChallengeScalar("dot/challenge");
  if (result.MulVartime(c) + p.beta !=
      key.g().MulVartime(Dot(p.z, a)) + key.h().MulVartime(p.z_beta))
    return Reject("dot-product proof: inner-product check fails");
  // Vector check: c·C + δ − Σ z_i G_i − z_δ·h = identity.
  if (batch != nullptr) {
    std::vector<Scalar> neg_z(p.z.size());
    for (size_t i = 0; i < p.z.size(); ++i) neg_z[i] = -p.z[i];
    const Point points[2] = {vector_commitment, p.delta};
    const Scalar scalars[2] = {c, Scalar::One()};
    batch->Add(points, scalars, neg_z, -p.z_delta);
    return Status::Ok();
  }
  const Point lhs1 = vector_commitment.MulVartime(c) + p.delta;
  const Point rhs1 = MsmAffine(p.z, key.vector_generators().g_affine().first(p.z.size())) +
                     key.h().MulVartime(p.z_delta);
  if (lhs1 != rhs1) return Reject("dot-product proof: vector check fails");
  return Status::Ok();
}

void BatchVerifier::Add(std::span<const Point> points, std::span<const Scalar> point_scalars,
                        std::span<const Scalar> generator_scalars, const Scalar& h_scalar) {
  const Scalar rho = Scalar::Random();
  for (size_t j = 0; j < points.size(); ++j) {
    points_.push_back(points[j]);
    point_scalars_.push_back(rho * point_scalars[j]);
  }
  if (generator_scalars_.size() < generator_scalars.size())
    generator_scalars_.resize(generator_scalars.size());
  for (size_t k = 0; k < generator_scalars.size(); ++k)
    generator_scalars_[k] += rho * generator_scalars[k];
  h_scalar_ += rho * h_scalar;
  ++equations_;
}

Status BatchVerifier::Check(const CommitmentKey& key) const {
  if (equations_ == 0) return Status::Ok();
  if (generator_scalars_.size() > key.max_vector_length())
    return Reject("batched check uses more generators than the key holds");
  const Point total =
      Msm(point_scalars_, points_) +
      MsmAffine(generator_scalars_,
                key.vector_generators().g_affine().first(generator_scalars_.size())) +
      key.h().MulVartime(h_scalar_);
  if (!total.IsIdentity())
    return Reject("batched dot-product vector check fails (one of " + std::to_string(equations_) +
                  " openings is invalid)");
  return Status::Ok();
}

void WriteEqualityProof(std::vector<uint8_t>* out, const EqualityProof& p) {
  WritePoint(out, p.nonce_commitment);
  WriteScalar(out, p.response);
}

Result<EqualityProof> ReadEqualityProof(ZkReader* in) {
  EqualityProof p;
  VEIL_ASSIGN_OR_RETURN(p.nonce_commitment, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.response, in->ReadScalar());
  return p;
}

void WriteProductProof(std::vector<uint8_t>* out, const ProductProof& p) {
  WritePoint(out, p.alpha);
  WritePoint(out, p.beta);
  WritePoint(out, p.delta);
  for (const Scalar* s : {&p.z1, &p.z2, &p.z3, &p.z4, &p.z5}) WriteScalar(out, *s);
}

Result<ProductProof> ReadProductProof(ZkReader* in) {
  ProductProof p;
  VEIL_ASSIGN_OR_RETURN(p.alpha, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.beta, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.delta, in->ReadPoint());
  for (Scalar* s : {&p.z1, &p.z2, &p.z3, &p.z4, &p.z5}) {
    VEIL_ASSIGN_OR_RETURN(*s, in->ReadScalar());
  }
  return p;
}

void WriteDotProductProof(std::vector<uint8_t>* out, const DotProductProof& p) {
  WritePoint(out, p.delta);
  WritePoint(out, p.beta);
  WriteScalars(out, p.z);
  WriteScalar(out, p.z_delta);
  WriteScalar(out, p.z_beta);
}

Result<DotProductProof> ReadDotProductProof(ZkReader* in, uint32_t max_length) {
  DotProductProof p;
  VEIL_ASSIGN_OR_RETURN(p.delta, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.beta, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.z, in->ReadScalars(max_length));
  VEIL_ASSIGN_OR_RETURN(p.z_delta, in->ReadScalar());
  VEIL_ASSIGN_OR_RETURN(p.z_beta, in->ReadScalar());
  return p;
}

}  // namespace veil::zk
