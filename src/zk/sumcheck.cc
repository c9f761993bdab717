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

}  // namespace

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
  std::vector<Scalar> at(static_cast<size_t>(d));
  for (int round = 0; round < n; ++round) {
    const size_t half = factors[0].size() / 2;
    std::vector<Scalar> g(static_cast<size_t>(d) + 1);
    for (size_t b = 0; b < half; ++b) {
      // Each factor restricted to the line x_0 = t is lo + t (hi - lo); walk t = 0..d by
      // repeated addition of the slope.
      std::vector<Scalar> slope(static_cast<size_t>(d));
      for (int j = 0; j < d; ++j) {
        at[j] = factors[j][b];
        slope[j] = factors[j][b + half] - factors[j][b];
      }
      for (int t = 0; t <= d; ++t) {
        Scalar p = at[0];
        for (int j = 1; j < d; ++j) p *= at[j];
        g[t] += p;
        for (int j = 0; j < d; ++j) at[j] += slope[j];
      }
    }
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
