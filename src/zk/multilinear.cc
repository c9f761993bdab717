#include "veil/zk/multilinear.h"

#include <string>

namespace veil::zk {

int CeilLog2(uint64_t size) {
  int n = 0;
  while (n < 64 && (uint64_t{1} << n) < size) ++n;
  return n;
}

Scalar EqAt(std::span<const Scalar> a, std::span<const Scalar> b) {
  Scalar e = Scalar::One();
  for (size_t i = 0; i < a.size(); ++i)
    e *= a[i] * b[i] + (Scalar::One() - a[i]) * (Scalar::One() - b[i]);
  return e;
}

Scalar PrefixEqSum(std::span<const Scalar> r, size_t count) {
  const std::vector<Scalar> eq = EqTable(r);
  Scalar s;
  for (size_t i = 0; i < count; ++i) s += eq[i];
  return s;
}

std::vector<Scalar> EqTable(std::span<const Scalar> r) {
  // Built variable by variable: after step i the table holds eq over the first i+1
  // variables, each entry splitting into (1 - r_i)·e (bit 0) and r_i·e (bit 1). Splitting in
  // place from the top keeps variable 0 the most significant bit.
  std::vector<Scalar> table(size_t{1} << r.size());
  table[0] = Scalar::One();
  size_t len = 1;
  for (const Scalar& ri : r) {
    for (size_t j = len; j-- > 0;) {
      const Scalar hi = table[j] * ri;
      table[2 * j + 1] = hi;
      table[2 * j] = table[j] - hi;
    }
    len *= 2;
  }
  return table;
}

Result<Scalar> EvaluateMle(std::span<const Scalar> evals, std::span<const Scalar> point) {
  if (point.size() >= 63 || evals.size() != (size_t{1} << point.size()))
    return Status::InvalidArgument("multilinear evaluation: " + std::to_string(evals.size()) +
                                   " values for " + std::to_string(point.size()) + " variables");
  std::vector<Scalar> work(evals.begin(), evals.end());
  for (const Scalar& r : point) FoldFirstVariable(&work, r);
  return work[0];
}

void FoldFirstVariable(std::vector<Scalar>* evals, const Scalar& r) {
  const size_t half = evals->size() / 2;
  Scalar* e = evals->data();
  for (size_t j = 0; j < half; ++j) e[j] += r * (e[j + half] - e[j]);
  evals->resize(half);
}

Scalar InterpolateAtSmallPoints(std::span<const Scalar> values, const Scalar& x) {
  // value = sum_i values[i] * prod_{j != i} (x - j) / (i - j). The denominators are small
  // public integers, so one batch inversion suffices.
  const size_t n = values.size();
  if (n == 0) return Scalar::Zero();
  std::vector<Scalar> numer(n, Scalar::One()), denom(n, Scalar::One());
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      numer[i] *= x - Scalar::FromUint64(j);
      denom[i] *= Scalar::FromInt64(static_cast<int64_t>(i) - static_cast<int64_t>(j));
    }
  }
  BatchInvert(denom);
  Scalar acc;
  for (size_t i = 0; i < n; ++i) acc += values[i] * numer[i] * denom[i];
  return acc;
}

}  // namespace veil::zk
