#include "veil/zk/sumcheck.h"

#include <string>
#include <string_view>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr int kMaxVars = 40;
constexpr int kMaxDegree = 8;

void AbsorbStatement(Transcript* t, const Scalar& claim, int num_vars, int degree) {
  constexpr std::string_view kProtocol = "veil/zk/sumcheck/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendScalar("sumcheck/claim", claim);
  t->AppendU64("sumcheck/num_vars", static_cast<uint64_t>(num_vars));
  t->AppendU64("sumcheck/degree", static_cast<uint64_t>(degree));
}

Result<int> CheckFactors(const std::vector<std::vector<Scalar>>& factors) {
  if (factors.empty() || factors.size() > kMaxDegree)
    return Status::InvalidArgument("sumcheck: need 1.." + std::to_string(kMaxDegree) +
                                   " factors, got " + std::to_string(factors.size()));
  const size_t len = factors[0].size();
  const int n = CeilLog2(len);
  if (len == 0 || (size_t{1} << n) != len || n > kMaxVars)
    return Status::InvalidArgument("sumcheck: factor length " + std::to_string(len) +
                                   " is not a power of two up to 2^40");
  for (const auto& f : factors)
    if (f.size() != len) return Status::InvalidArgument("sumcheck: factors differ in length");
  return n;
}

// g(t) for t = 0..d: the sum over the remaining hypercube with variable 0 set to t.
std::vector<Scalar> RoundEvaluations(const std::vector<std::vector<Scalar>>& factors) {
  const size_t d = factors.size();
  const size_t half = factors[0].size() / 2;
  std::vector<Scalar> g(d + 1), at(d), slope(d);
  for (size_t b = 0; b < half; ++b) {
    // Each factor restricted to the line x_0 = t is lo + t (hi - lo); walk t = 0..d by
    // repeated addition of the slope.
    for (size_t j = 0; j < d; ++j) {
      at[j] = factors[j][b];
      slope[j] = factors[j][b + half] - factors[j][b];
    }
    for (size_t t = 0; t <= d; ++t) {
      Scalar p = at[0];
      for (size_t j = 1; j < d; ++j) p *= at[j];
      g[t] += p;
      for (size_t j = 0; j < d; ++j) at[j] += slope[j];
    }
  }
  return g;
}

// Coefficients (constant first) of the polynomial of degree < values.size() taking values[i]
// at i = 0, 1, ...: the sum of values[i] times the expanded Lagrange basis polynomial.
std::vector<Scalar> EvaluationsToCoefficients(std::span<const Scalar> values) {
  const size_t n = values.size();
  std::vector<Scalar> coeffs(n);
  for (size_t i = 0; i < n; ++i) {
    std::vector<Scalar> basis{Scalar::One()};  // prod_{j != i} (x - j), low degree first
    Scalar denom = Scalar::One();
    for (size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      std::vector<Scalar> next(basis.size() + 1);
      const Scalar minus_j = -Scalar::FromUint64(j);
      for (size_t k = 0; k < basis.size(); ++k) {
        next[k] += basis[k] * minus_j;
        next[k + 1] += basis[k];
      }
      basis = std::move(next);
      denom *= Scalar::FromInt64(static_cast<int64_t>(i) - static_cast<int64_t>(j));
    }
    const Scalar scale = values[i] * denom.Invert();
    for (size_t k = 0; k < n; ++k) coeffs[k] += basis[k] * scale;
  }
  return coeffs;
}

void AbsorbZkStatement(Transcript* t, const Point& claim, int num_vars, int degree) {
  constexpr std::string_view kProtocol = "veil/zk/zk-sumcheck/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendPoint("zk-sumcheck/claim", claim);
  t->AppendU64("zk-sumcheck/num_vars", static_cast<uint64_t>(num_vars));
  t->AppendU64("zk-sumcheck/degree", static_cast<uint64_t>(degree));
}

}  // namespace

Result<ZkSumcheckProverOutput> ProveZkSumcheck(const CommitmentKey& key,
                                               std::vector<std::vector<Scalar>> factors,
                                               const CommittedValue& claim,
                                               Transcript* transcript) {
  VEIL_ASSIGN_OR_RETURN(const int n, CheckFactors(factors));
  const int d = static_cast<int>(factors.size());
  AbsorbZkStatement(transcript, claim.commitment, n, d);
  ZkSumcheckProverOutput out;
  CommittedValue current = claim;
  for (int round = 0; round < n; ++round) {
    const std::vector<Scalar> coeffs = EvaluationsToCoefficients(RoundEvaluations(factors));
    ZkSumcheckRound msg;
    std::vector<Scalar> blinds(coeffs.size());
    Point sum_commitment;
    Scalar sum_blind;
    for (size_t k = 0; k < coeffs.size(); ++k) {
      blinds[k] = Scalar::Random();
      msg.coefficients.push_back(key.CommitValue(coeffs[k], blinds[k]));
      // g(0) + g(1) = 2·c_0 + c_1 + ... + c_d.
      const Point& c = msg.coefficients.back();
      sum_commitment += k == 0 ? c + c : c;
      sum_blind += k == 0 ? blinds[k] + blinds[k] : blinds[k];
    }
    transcript->AppendPoints("zk-sumcheck/round", msg.coefficients);
    msg.sum_proof = ProveEquality(key, sum_commitment, sum_blind, current.commitment, current.blind,
                                  transcript);
    const Scalar r = transcript->ChallengeScalar("zk-sumcheck/challenge");
    // New claim: g(r) = sum_k r^k c_k under sum_k r^k C_k.
    Scalar power = Scalar::One();
    CommittedValue next{Scalar::Zero(), Scalar::Zero(), Point()};
    for (size_t k = 0; k < coeffs.size(); ++k) {
      next.value += power * coeffs[k];
      next.blind += power * blinds[k];
      next.commitment += msg.coefficients[k].MulVartime(power);
      power *= r;
    }
    current = next;
    for (auto& f : factors) FoldFirstVariable(&f, r);
    out.point.push_back(r);
    out.proof.rounds.push_back(std::move(msg));
  }
  for (const auto& f : factors) out.factor_evals.push_back(f[0]);
  out.final_claim = current;
  return out;
}

Result<ZkSumcheckVerifierOutput> VerifyZkSumcheck(const CommitmentKey& key,
                                                  const ZkSumcheckProof& proof, const Point& claim,
                                                  int num_vars, int degree,
                                                  Transcript* transcript) {
  if (num_vars < 0 || num_vars > kMaxVars || degree < 1 || degree > kMaxDegree)
    return Status::InvalidArgument("zk sumcheck: bad statement shape");
  if (proof.rounds.size() != static_cast<size_t>(num_vars))
    return Status::Corrupt("zk sumcheck: " + std::to_string(proof.rounds.size()) +
                           " rounds, expected " + std::to_string(num_vars));
  AbsorbZkStatement(transcript, claim, num_vars, degree);
  ZkSumcheckVerifierOutput out;
  Point current = claim;
  for (int round = 0; round < num_vars; ++round) {
    const ZkSumcheckRound& msg = proof.rounds[static_cast<size_t>(round)];
    if (msg.coefficients.size() != static_cast<size_t>(degree) + 1)
      return Status::Corrupt("zk sumcheck: round " + std::to_string(round) + " has " +
                             std::to_string(msg.coefficients.size()) + " coefficients");
    Point sum_commitment;
    for (size_t k = 0; k < msg.coefficients.size(); ++k)
      sum_commitment += k == 0 ? msg.coefficients[k] + msg.coefficients[k] : msg.coefficients[k];
    transcript->AppendPoints("zk-sumcheck/round", msg.coefficients);
    Status s = VerifyEquality(key, sum_commitment, current, msg.sum_proof, transcript);
    if (!s.ok())
      return s.WithContext("zk sumcheck round " + std::to_string(round) +
                           " does not sum to the claim");
    const Scalar r = transcript->ChallengeScalar("zk-sumcheck/challenge");
    Scalar power = Scalar::One();
    Point next;
    for (const Point& c : msg.coefficients) {
      next += c.MulVartime(power);
      power *= r;
    }
    current = next;
    out.point.push_back(r);
  }
  out.final_claim = current;
  return out;
}

void WriteZkSumcheckProof(std::vector<uint8_t>* out, const ZkSumcheckProof& p) {
  // The shape (rounds, degree) is part of the statement, so rounds are written without counts.
  for (const ZkSumcheckRound& r : p.rounds) {
    for (const Point& c : r.coefficients) WritePoint(out, c);
    WriteEqualityProof(out, r.sum_proof);
  }
}

Result<ZkSumcheckProof> ReadZkSumcheckProof(ZkReader* in, int num_vars, int degree) {
  if (num_vars < 0 || num_vars > kMaxVars || degree < 1 || degree > kMaxDegree)
    return Status::Corrupt("zk sumcheck: bad shape in proof header");
  ZkSumcheckProof p;
  for (int i = 0; i < num_vars; ++i) {
    ZkSumcheckRound r;
    for (int k = 0; k <= degree; ++k) {
      VEIL_ASSIGN_OR_RETURN(Point c, in->ReadPoint());
      r.coefficients.push_back(c);
    }
    VEIL_ASSIGN_OR_RETURN(r.sum_proof, ReadEqualityProof(in));
    p.rounds.push_back(std::move(r));
  }
  return p;
}

Result<Scalar> SumOfProducts(const std::vector<std::vector<Scalar>>& factors) {
  VEIL_RETURN_IF_ERROR(CheckFactors(factors).status());
  Scalar sum;
  for (size_t x = 0; x < factors[0].size(); ++x) {
    Scalar p = factors[0][x];
    for (size_t j = 1; j < factors.size(); ++j) p *= factors[j][x];
    sum += p;
  }
  return sum;
}

Result<SumcheckProverOutput> ProveSumcheck(std::vector<std::vector<Scalar>> factors,
                                           const Scalar& claim, Transcript* transcript) {
  VEIL_ASSIGN_OR_RETURN(const int n, CheckFactors(factors));
  const int d = static_cast<int>(factors.size());
  AbsorbStatement(transcript, claim, n, d);
  SumcheckProverOutput out;
  for (int round = 0; round < n; ++round) {
    std::vector<Scalar> g = RoundEvaluations(factors);
    for (int t = 0; t <= d; ++t) transcript->AppendScalar("sumcheck/round", g[t]);
    const Scalar r = transcript->ChallengeScalar("sumcheck/challenge");
    for (auto& f : factors) FoldFirstVariable(&f, r);
    out.point.push_back(r);
    out.proof.round_polys.push_back(std::move(g));
  }
  for (const auto& f : factors) out.factor_evals.push_back(f[0]);
  return out;
}

Result<SumcheckVerifierOutput> VerifySumcheck(const SumcheckProof& proof, const Scalar& claim,
                                              int num_vars, int degree, Transcript* transcript) {
  if (num_vars < 0 || num_vars > kMaxVars || degree < 1 || degree > kMaxDegree)
    return Status::InvalidArgument("sumcheck: bad statement shape");
  if (proof.round_polys.size() != static_cast<size_t>(num_vars))
    return Status::Corrupt("sumcheck: " + std::to_string(proof.round_polys.size()) +
                           " rounds, expected " + std::to_string(num_vars));
  AbsorbStatement(transcript, claim, num_vars, degree);
  SumcheckVerifierOutput out;
  Scalar current = claim;
  for (int round = 0; round < num_vars; ++round) {
    const std::vector<Scalar>& g = proof.round_polys[static_cast<size_t>(round)];
    if (g.size() != static_cast<size_t>(degree) + 1)
      return Status::Corrupt("sumcheck: round " + std::to_string(round) + " has " +
                             std::to_string(g.size()) + " values, expected " +
                             std::to_string(degree + 1));
    if (g[0] + g[1] != current)
      return Status::Corrupt("sumcheck: round " + std::to_string(round) +
                             " does not sum to the claim");
    for (const Scalar& v : g) transcript->AppendScalar("sumcheck/round", v);
    const Scalar r = transcript->ChallengeScalar("sumcheck/challenge");
    current = InterpolateAtSmallPoints(g, r);
    out.point.push_back(r);
  }
  out.final_claim = current;
  return out;
}

}  // namespace veil::zk
