// Small helpers shared by the per-op proofs of segments (conv_proof.cc, pool_proof.cc,
// segment_proof.cc). Internal to src/zk.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "veil/zk/hyrax.h"
#include "veil/zk/multilinear.h"
#include "veil/zk/transcript.h"

namespace veil::zk::internal {

inline void AbsorbProtocol(Transcript* t, std::string_view tag) {
  t->AppendBytes("protocol", {reinterpret_cast<const uint8_t*>(tag.data()), tag.size()});
}

inline void AbsorbCommitment(Transcript* t, std::string_view label, const HyraxCommitment& c) {
  t->AppendU64(label, c.rows.size());
  t->AppendU64(label, c.row_vars);
  t->AppendU64(label, c.col_vars);
  t->AppendPoints(label, c.rows);
}

inline std::vector<Scalar> ConcatPoint(std::span<const Scalar> a, std::span<const Scalar> b) {
  std::vector<Scalar> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Row-wise linear combination Σ_k c_k·M_k of commitments with one shape (Hyrax rows under
// the same generators add homomorphically).
inline HyraxCommitment CombineCommitments(std::span<const HyraxCommitment* const> parts,
                                          std::span<const Scalar> coeffs) {
  HyraxCommitment out = *parts[0];
  for (size_t r = 0; r < out.rows.size(); ++r) {
    Point acc;
    for (size_t k = 0; k < parts.size(); ++k) acc = acc + parts[k]->rows[r].MulVartime(coeffs[k]);
    out.rows[r] = acc;
  }
  return out;
}

}  // namespace veil::zk::internal
