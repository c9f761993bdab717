#include "veil/zk/pool_proof.h"

#include <algorithm>
#include <string>

#include "op_util.h"
#include "veil/arith.h"
#include "veil/zk/msm.h"
#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxWindowEntries = uint32_t{1} << 24;

void AbsorbStatement(Transcript* t, std::string_view tag, const PoolStatement& s) {
  internal::AbsorbProtocol(t, tag);
  const PoolWindows& w = *s.windows;
  t->AppendU64("pool/rows", s.rows);
  t->AppendU64("pool/in_cols", w.in_cols);
  t->AppendU64("pool/out_cols", w.out_cols);
  t->AppendU64("pool/taps", w.taps);
  // The window structure is public and fixed by the graph; absorb it compactly.
  std::vector<uint8_t> bytes;
  for (const auto* v : {&w.begin, &w.index, &w.divisor})
    for (uint32_t x : *v) WriteU32(&bytes, x);
  t->AppendBytes("pool/windows", bytes);
  internal::AbsorbCommitment(t, "pool/input", s.input);
  internal::AbsorbCommitment(t, "pool/output", s.output);
}

Status CheckStatement(const CommitmentKey& key, const PoolStatement& s, bool max) {
  if (s.windows == nullptr) return Status::Corrupt("pool statement: no windows");
  VEIL_RETURN_IF_ERROR(CheckPoolWindows(*s.windows, max));
  const PoolWindows& w = *s.windows;
  if (s.rows == 0 || s.rows > (uint32_t{1} << 20))
    return Status::Corrupt("pool statement: bad batch");
  if ((size_t{1} << CeilLog2(w.in_cols)) > key.max_vector_length() ||
      (size_t{1} << CeilLog2(w.out_cols)) > key.max_vector_length() ||
      key.max_vector_length() < 256)
    return Status::Corrupt("pool statement: rows longer than the commitment key");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.input, s.rows, w.in_cols, "pool input"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.rows, w.out_cols, "pool output"));
  return Status::Ok();
}

// Σ_{j<count} c_j·G_j (blind 0).
Point PublicRow(const CommitmentKey& key, std::span<const Scalar> c) {
  return MsmAffine(c, key.vector_generators().g_affine().first(c.size()));
}

std::vector<Scalar> ToScalars(std::span<const uint64_t> v) {
  std::vector<Scalar> s(v.size());
  for (size_t i = 0; i < v.size(); ++i) s[i] = Scalar::FromUint64(v[i]);
  return s;
}

// ---- Mean -------------------------------------------------------------------------------

uint32_t MeanBits(const PoolWindows& w) {
  uint32_t n = 1;
  for (uint32_t d : w.divisor) n = std::max(n, d);
  return static_cast<uint32_t>(std::max(1, CeilLog2(uint64_t{2} * n)));
}

// Com(2n − 1 − R) and Com(Y + 128), row by row.
struct MeanDerived {
  HyraxCommitment top, shifted;
};

MeanDerived DeriveMean(const CommitmentKey& key, const PoolStatement& s,
                       const HyraxCommitment& remainder) {
  const PoolWindows& w = *s.windows;
  std::vector<Scalar> top(w.out_cols), ones(w.out_cols, Scalar::One());
  for (uint32_t j = 0; j < w.out_cols; ++j)
    top[j] = Scalar::FromUint64(2 * uint64_t{w.divisor[j]} - 1);
  const Point top_row = PublicRow(key, top);
  const Point shift_row = PublicRow(key, ones).MulVartime(Scalar::FromUint64(128));
  MeanDerived d{remainder, s.output};
  for (Point& r : d.top.rows) r = top_row - r;
  for (Point& r : d.shifted.rows) r = r + shift_row;
  return d;
}

// The public vectors of the identity check at r = (r_b, r_c).
struct MeanVectors {
  std::vector<Scalar> left, right_out, right_in;
  Scalar constant;
};

MeanVectors MakeMeanVectors(const PoolStatement& s, std::span<const Scalar> r) {
  const PoolWindows& w = *s.windows;
  const uint32_t tv = s.output.row_vars;
  MeanVectors v;
  v.left = EqTable(r.first(tv));
  const std::vector<Scalar> eq_c = EqTable(r.subspan(tv));
  v.right_out.resize(size_t{1} << s.output.col_vars);
  v.right_in.resize(size_t{1} << s.input.col_vars);
  Scalar mass;
  const Scalar two = Scalar::FromUint64(2);
  for (uint32_t j = 0; j < w.out_cols; ++j) {
    const Scalar n = Scalar::FromUint64(w.divisor[j]);
    v.right_out[j] = two * n * eq_c[j];
    mass += eq_c[j] * n;
    const Scalar e2 = two * eq_c[j];
    for (uint32_t k = w.begin[j]; k < w.begin[j + 1]; ++k) v.right_in[w.index[k]] += e2;
  }
  Scalar e_b;
  for (uint32_t b = 0; b < s.rows; ++b) e_b += v.left[b];
  v.constant = e_b * mass;
  return v;
}

Point MeanCombination(const CommitmentKey& key, const MeanVectors& v, const Point& rem,
                      const Point& out, const Point& in) {
  return rem + out - key.g().MulVartime(v.constant) - in;
}

// ---- Max --------------------------------------------------------------------------------

size_t RangeGroups(uint32_t taps) {
  return (taps + kMaxDigitRangeMatrices - 1) / kMaxDigitRangeMatrices;
}

// The right vector Σ_e γ_e Σ_{j: tap(j,e) = i} eq(r_c, j) for the input opening.
std::vector<Scalar> MaxInputVector(const PoolStatement& s, std::span<const Scalar> gamma,
                                   std::span<const Scalar> r_c) {
  const PoolWindows& w = *s.windows;
  const std::vector<Scalar> eq_c = EqTable(r_c);
  std::vector<Scalar> right(size_t{1} << s.input.col_vars);
  for (uint32_t j = 0; j < w.out_cols; ++j)
    for (uint32_t e = 0; e < w.taps; ++e) right[w.index[w.begin[j] + e]] += gamma[e] * eq_c[j];
  return right;
}

HyraxCommitment MaxCombined(const PoolStatement& s, const std::vector<HyraxCommitment>& diffs,
                            std::span<const Scalar> gamma) {
  std::vector<const HyraxCommitment*> parts;
  std::vector<Scalar> coeffs;
  Scalar total;
  for (size_t e = 0; e < diffs.size(); ++e) {
    parts.push_back(&diffs[e]);
    coeffs.push_back(gamma[e]);
    total += gamma[e];
  }
  parts.push_back(&s.output);
  coeffs.push_back(-total);
  return internal::CombineCommitments(parts, coeffs);
}

}  // namespace

PoolWindows Pool2dWindows(uint32_t c, uint32_t h, uint32_t w, uint32_t kh, uint32_t kw, uint32_t sh,
                          uint32_t sw, uint32_t pt, uint32_t pl, uint32_t oh, uint32_t ow,
                          bool fixed_taps, bool count_include_pad) {
  PoolWindows win;
  win.in_cols = c * h * w;
  win.out_cols = c * oh * ow;
  win.taps = fixed_taps ? kh * kw : 0;
  win.begin.push_back(0);
  for (uint32_t ch = 0; ch < c; ++ch)
    for (uint32_t i = 0; i < oh; ++i)
      for (uint32_t j = 0; j < ow; ++j) {
        std::vector<int64_t> taps;
        int64_t first = -1;
        for (uint32_t u = 0; u < kh; ++u)
          for (uint32_t v = 0; v < kw; ++v) {
            const int64_t row = int64_t{i} * sh - pt + u, col = int64_t{j} * sw - pl + v;
            const bool in = row >= 0 && row < h && col >= 0 && col < w;
            const int64_t idx = in ? int64_t{ch} * h * w + row * w + col : -1;
            if (in && first < 0) first = idx;
            if (in || fixed_taps) taps.push_back(idx);
          }
        for (int64_t t : taps) win.index.push_back(static_cast<uint32_t>(t < 0 ? first : t));
        win.begin.push_back(static_cast<uint32_t>(win.index.size()));
        const uint32_t inside = static_cast<uint32_t>(taps.size());
        win.divisor.push_back(fixed_taps ? 0 : count_include_pad ? kh * kw : inside);
      }
  if (fixed_taps) win.divisor.clear();
  return win;
}

PoolWindows ReduceWindows(std::span<const int64_t> shape, std::span<const int64_t> axes) {
  const size_t rank = shape.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  std::vector<uint64_t> out_stride(rank, 0);
  uint64_t stride = 1, n = 1, total = 1;
  for (size_t i = rank; i-- > 0;) {
    total *= static_cast<uint64_t>(shape[i]);
    if (reduced[i]) {
      n *= static_cast<uint64_t>(shape[i]);
      continue;
    }
    out_stride[i] = stride;
    stride *= static_cast<uint64_t>(shape[i]);
  }
  PoolWindows win;
  win.in_cols = static_cast<uint32_t>(total);
  win.out_cols = static_cast<uint32_t>(stride);
  std::vector<std::vector<uint32_t>> lists(stride);
  std::vector<int64_t> index(rank, 0);
  for (uint64_t e = 0; e < total; ++e) {
    uint64_t o = 0;
    for (size_t i = 0; i < rank; ++i) o += out_stride[i] * static_cast<uint64_t>(index[i]);
    lists[o].push_back(static_cast<uint32_t>(e));
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < shape[i]) break;
      index[i] = 0;
    }
  }
  win.begin.push_back(0);
  for (const auto& l : lists) {
    win.index.insert(win.index.end(), l.begin(), l.end());
    win.begin.push_back(static_cast<uint32_t>(win.index.size()));
    win.divisor.push_back(static_cast<uint32_t>(n));
  }
  return win;
}

Status CheckPoolWindows(const PoolWindows& w, bool max) {
  if (w.in_cols == 0 || w.out_cols == 0 || w.in_cols > (uint32_t{1} << 20) ||
      w.out_cols > (uint32_t{1} << 20) || w.begin.size() != size_t{w.out_cols} + 1 ||
      w.begin[0] != 0 || w.begin.back() != w.index.size() || w.index.size() > kMaxWindowEntries)
    return Status::Corrupt("pool windows: bad shape");
  for (uint32_t j = 0; j < w.out_cols; ++j) {
    if (w.begin[j + 1] <= w.begin[j]) return Status::Corrupt("pool windows: an empty window");
    if (max && w.begin[j + 1] - w.begin[j] != w.taps)
      return Status::Corrupt("pool windows: a window without the fixed tap count");
  }
  for (uint32_t i : w.index)
    if (i >= w.in_cols) return Status::Corrupt("pool windows: index out of range");
  if (max) {
    if (w.taps == 0 || w.taps > kMaxPoolTaps)
      return Status::Unsupported("max pooling over " + std::to_string(w.taps) +
                                 " taps (provable: 1.." + std::to_string(kMaxPoolTaps) + ")");
  } else {
    if (w.divisor.size() != w.out_cols) return Status::Corrupt("pool windows: divisors missing");
    for (uint32_t d : w.divisor)
      if (d == 0 || d > (uint32_t{1} << 24)) return Status::Corrupt("pool windows: bad divisor");
  }
  return Status::Ok();
}

std::vector<int8_t> MeanReference(const PoolWindows& w, std::span<const int8_t> input,
                                  size_t rows) {
  std::vector<int8_t> y(rows * w.out_cols);
  for (size_t b = 0; b < rows; ++b)
    for (uint32_t j = 0; j < w.out_cols; ++j) {
      int64_t sum = 0;
      for (uint32_t k = w.begin[j]; k < w.begin[j + 1]; ++k)
        sum += input[b * w.in_cols + w.index[k]];
      y[b * w.out_cols + j] = static_cast<int8_t>(RoundDiv(sum, w.divisor[j]));
    }
  return y;
}

std::vector<int8_t> MaxReference(const PoolWindows& w, std::span<const int8_t> input, size_t rows) {
  std::vector<int8_t> y(rows * w.out_cols);
  for (size_t b = 0; b < rows; ++b)
    for (uint32_t j = 0; j < w.out_cols; ++j) {
      int8_t m = input[b * w.in_cols + w.index[w.begin[j]]];
      for (uint32_t k = w.begin[j]; k < w.begin[j + 1]; ++k)
        m = std::max(m, input[b * w.in_cols + w.index[k]]);
      y[b * w.out_cols + j] = m;
    }
  return y;
}

Result<MeanProof> ProveMean(const CommitmentKey& key, const PoolStatement& s, const PoolWitness& wt,
                            Transcript* transcript, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckStatement(key, s, false));
  const PoolWindows& w = *s.windows;
  const size_t B = s.rows, I = w.in_cols, J = w.out_cols;
  if (wt.input.size() != B * I || wt.output.size() != B * J || wt.input_blinds.size() != B ||
      wt.output_blinds.size() != B)
    return Status::InvalidArgument("mean proof: witness sizes do not match the statement");
  AbsorbStatement(transcript, "veil/zk/mean/v1", s);
  std::vector<uint64_t> rem(B * J), top(B * J), shifted(B * J);
  for (size_t b = 0; b < B; ++b)
    for (size_t j = 0; j < J; ++j) {
      int64_t sum = 0;
      for (uint32_t k = w.begin[j]; k < w.begin[j + 1]; ++k) sum += wt.input[b * I + w.index[k]];
      const int64_t n = w.divisor[j], y = wt.output[b * J + j];
      const int64_t r = 2 * sum + n - 2 * n * y;
      if (r < 0 || r >= 2 * n) return Status::InvalidArgument("mean proof: output is not the mean");
      rem[b * J + j] = static_cast<uint64_t>(r);
      top[b * J + j] = static_cast<uint64_t>(2 * n - 1 - r);
      shifted[b * J + j] = static_cast<uint64_t>(y + 128);
    }
  MeanProof proof;
  const HyraxWitness rem_w = MakeWitnessScalars(ToScalars(rem), B, J, FreshBlinds(B));
  VEIL_ASSIGN_OR_RETURN(proof.remainder,
                        HyraxCommitScalars(key, rem_w.values, B, J, rem_w.blinds, pool));
  internal::AbsorbCommitment(transcript, "mean/remainder", proof.remainder);
  const MeanDerived d = DeriveMean(key, s, proof.remainder);
  std::vector<Scalar> neg(B);
  for (size_t b = 0; b < B; ++b) neg[b] = -rem_w.blinds[b];
  const HyraxWitness top_w = MakeWitnessScalars(ToScalars(top), B, J, neg);
  const HyraxWitness shifted_w = MakeWitnessScalars(ToScalars(shifted), B, J, wt.output_blinds);
  const uint32_t bits = MeanBits(w);
  const DigitRangeTarget targets[] = {{&proof.remainder, bits, &rem_w, rem},
                                      {&d.top, bits, &top_w, top},
                                      {&d.shifted, 8, &shifted_w, shifted}};
  VEIL_ASSIGN_OR_RETURN(proof.ranges, ProveDigitRange(key, B, J, targets, transcript, pool));

  const std::vector<Scalar> r =
      transcript->ChallengeScalars("mean/r", s.output.row_vars + s.output.col_vars);
  const MeanVectors v = MakeMeanVectors(s, r);
  const HyraxWitness out_w = MakeWitnessInt8(wt.output, B, J, wt.output_blinds);
  const HyraxWitness in_w = MakeWitnessInt8(wt.input, B, I, wt.input_blinds);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening ro,
                        HyraxProveEvaluation(key, proof.remainder, rem_w, r, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening yo,
                        HyraxProveTensor(key, s.output, out_w, v.left, v.right_out, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening xo,
                        HyraxProveTensor(key, s.input, in_w, v.left, v.right_in, transcript));
  proof.remainder_opening = ro.proof;
  proof.output_opening = yo.proof;
  proof.input_opening = xo.proof;
  const Point c = MeanCombination(key, v, ro.evaluation.commitment, yo.evaluation.commitment,
                                  xo.evaluation.commitment);
  proof.identity =
      ProveEquality(key, c, ro.evaluation.blind + yo.evaluation.blind - xo.evaluation.blind,
                    Point(), Scalar::Zero(), transcript);
  return proof;
}

Status VerifyMean(const CommitmentKey& key, const PoolStatement& s, const MeanProof& proof,
                  Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckStatement(key, s, false));
  const PoolWindows& w = *s.windows;
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(proof.remainder, s.rows, w.out_cols, "mean remainder"));
  BatchVerifier local;
  BatchVerifier* bv = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("mean proof rejected at ") + what);
  };
  AbsorbStatement(transcript, "veil/zk/mean/v1", s);
  internal::AbsorbCommitment(transcript, "mean/remainder", proof.remainder);
  const MeanDerived d = DeriveMean(key, s, proof.remainder);
  const uint32_t bits = MeanBits(w);
  const DigitRangeTarget targets[] = {{&proof.remainder, bits, nullptr, {}},
                                      {&d.top, bits, nullptr, {}},
                                      {&d.shifted, 8, nullptr, {}}};
  VEIL_RETURN_IF_ERROR(
      step(VerifyDigitRange(key, s.rows, w.out_cols, targets, proof.ranges, transcript, bv),
           "the remainder and output ranges"));
  const std::vector<Scalar> r =
      transcript->ChallengeScalars("mean/r", s.output.row_vars + s.output.col_vars);
  const MeanVectors v = MakeMeanVectors(s, r);
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyEvaluation(key, proof.remainder, r, proof.remainder_opening, transcript, bv),
           "the remainder opening"));
  VEIL_RETURN_IF_ERROR(step(
      HyraxVerifyTensor(key, s.output, v.left, v.right_out, proof.output_opening, transcript, bv),
      "the output opening"));
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyTensor(key, s.input, v.left, v.right_in, proof.input_opening, transcript, bv),
           "the input opening"));
  const Point c = MeanCombination(key, v, proof.remainder_opening.evaluation,
                                  proof.output_opening.evaluation, proof.input_opening.evaluation);
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, c, Point(), proof.identity, transcript), "the mean identity"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteMeanProof(std::vector<uint8_t>* out, const MeanProof& p) {
  WriteHyraxCommitment(out, p.remainder);
  WriteDigitRangeProof(out, p.ranges);
  WriteHyraxEvaluationProof(out, p.remainder_opening);
  WriteHyraxEvaluationProof(out, p.output_opening);
  WriteHyraxEvaluationProof(out, p.input_opening);
  WriteEqualityProof(out, p.identity);
}

Result<MeanProof> ReadMeanProof(ZkReader* in, const PoolStatement& s) {
  if (s.windows == nullptr) return Status::Corrupt("mean proof: no windows");
  VEIL_RETURN_IF_ERROR(CheckPoolWindows(*s.windows, false));
  MeanProof p;
  VEIL_ASSIGN_OR_RETURN(p.remainder, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(p.remainder, s.rows, s.windows->out_cols, "mean remainder"));
  const uint32_t bits = MeanBits(*s.windows);
  const DigitRangeTarget targets[] = {
      {nullptr, bits, nullptr, {}}, {nullptr, bits, nullptr, {}}, {nullptr, 8, nullptr, {}}};
  VEIL_ASSIGN_OR_RETURN(p.ranges, ReadDigitRangeProof(in, s.rows, s.windows->out_cols, targets));
  VEIL_ASSIGN_OR_RETURN(p.remainder_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.output_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.input_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.identity, ReadEqualityProof(in));
  return p;
}

Result<MaxProof> ProveMax(const CommitmentKey& key, const PoolStatement& s, const PoolWitness& wt,
                          Transcript* transcript, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckStatement(key, s, true));
  const PoolWindows& w = *s.windows;
  const size_t B = s.rows, I = w.in_cols, J = w.out_cols, E = w.taps;
  if (wt.input.size() != B * I || wt.output.size() != B * J || wt.input_blinds.size() != B ||
      wt.output_blinds.size() != B)
    return Status::InvalidArgument("max proof: witness sizes do not match the statement");
  AbsorbStatement(transcript, "veil/zk/max/v1", s);
  MaxProof proof;
  std::vector<std::vector<uint64_t>> diff(E, std::vector<uint64_t>(B * J));
  std::vector<HyraxWitness> diff_w;
  for (size_t e = 0; e < E; ++e) {
    for (size_t b = 0; b < B; ++b)
      for (size_t j = 0; j < J; ++j) {
        const int64_t dv =
            int64_t{wt.output[b * J + j]} - wt.input[b * I + w.index[w.begin[j] + e]];
        if (dv < 0) return Status::InvalidArgument("max proof: output is not the maximum");
        diff[e][b * J + j] = static_cast<uint64_t>(dv);
      }
    diff_w.push_back(MakeWitnessScalars(ToScalars(diff[e]), B, J, FreshBlinds(B)));
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment c,
                          HyraxCommitScalars(key, diff_w[e].values, B, J, diff_w[e].blinds, pool));
    internal::AbsorbCommitment(transcript, "max/diff", c);
    proof.diffs.push_back(std::move(c));
  }
  for (size_t g = 0; g < RangeGroups(w.taps); ++g) {
    std::vector<DigitRangeTarget> targets;
    for (size_t e = g * kMaxDigitRangeMatrices; e < std::min(E, (g + 1) * kMaxDigitRangeMatrices);
         ++e)
      targets.push_back({&proof.diffs[e], 8, &diff_w[e], diff[e]});
    VEIL_ASSIGN_OR_RETURN(DigitRangeProof rp,
                          ProveDigitRange(key, B, J, targets, transcript, pool));
    proof.ranges.push_back(std::move(rp));
  }
  // Linear identity Σ γ_e D_e − Γ·Y = −Σ γ_e X∘tap_e at r.
  const std::vector<Scalar> gamma = transcript->ChallengeScalars("max/gamma", E);
  const uint32_t tv = s.output.row_vars, cv = s.output.col_vars;
  const std::vector<Scalar> r = transcript->ChallengeScalars("max/r", tv + cv);
  const HyraxCommitment combined = MaxCombined(s, proof.diffs, gamma);
  Scalar total;
  for (const Scalar& g : gamma) total += g;
  std::vector<Scalar> cvals(B * J), cblinds(B);
  for (size_t b = 0; b < B; ++b) {
    cblinds[b] = -total * wt.output_blinds[b];
    for (size_t e = 0; e < E; ++e) cblinds[b] += gamma[e] * diff_w[e].blinds[b];
    for (size_t j = 0; j < J; ++j) {
      Scalar v = -total * Scalar::FromInt64(wt.output[b * J + j]);
      for (size_t e = 0; e < E; ++e) v += gamma[e] * diff_w[e].values[b * J + j];
      cvals[b * J + j] = v;
    }
  }
  const HyraxWitness comb_w = MakeWitnessScalars(std::move(cvals), B, J, std::move(cblinds));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening mo,
                        HyraxProveEvaluation(key, combined, comb_w, r, transcript));
  const std::vector<Scalar> left = EqTable(std::span(r).first(tv));
  const std::vector<Scalar> right = MaxInputVector(s, gamma, std::span(r).subspan(tv));
  const HyraxWitness in_w = MakeWitnessInt8(wt.input, B, I, wt.input_blinds);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening xo,
                        HyraxProveTensor(key, s.input, in_w, left, right, transcript));
  proof.combined_opening = mo.proof;
  proof.input_opening = xo.proof;
  proof.identity =
      ProveEquality(key, mo.evaluation.commitment + xo.evaluation.commitment,
                    mo.evaluation.blind + xo.evaluation.blind, Point(), Scalar::Zero(), transcript);
  // Zero-check Σ_x eq(τ, x)·Π_e D_e(x) = 0.
  const std::vector<Scalar> tau = transcript->ChallengeScalars("max/tau", tv + cv);
  const size_t padded = size_t{1} << cv;
  std::vector<std::vector<Scalar>> factors{EqTable(tau)};
  for (size_t e = 0; e < E; ++e) {
    std::vector<Scalar> f(size_t{1} << (tv + cv));
    for (size_t b = 0; b < B; ++b)
      for (size_t j = 0; j < J; ++j) f[b * padded + j] = diff_w[e].values[b * J + j];
    factors.push_back(std::move(f));
  }
  const CommittedValue zero{Scalar::Zero(), Scalar::Zero(), Point()};
  VEIL_ASSIGN_OR_RETURN(ZkSumcheckProverOutput sc,
                        ProveZkSumcheck(key, std::move(factors), zero, transcript));
  proof.zero_check = std::move(sc.proof);
  std::vector<CommittedValue> opened;
  for (size_t e = 0; e < E; ++e) {
    VEIL_ASSIGN_OR_RETURN(
        HyraxOpening o, HyraxProveEvaluation(key, proof.diffs[e], diff_w[e], sc.point, transcript));
    proof.diff_openings.push_back(o.proof);
    opened.push_back(o.evaluation);
  }
  CommittedValue acc = opened[0];
  for (size_t e = 1; e < E; ++e) {
    const CommittedValue z = CommitFresh(key, acc.value * opened[e].value);
    proof.partial_products.push_back(z.commitment);
    transcript->AppendPoint("max/partial", z.commitment);
    proof.products.push_back(ProveProduct(key, acc, opened[e], z, transcript));
    acc = z;
  }
  const Scalar eqv = EqAt(tau, sc.point);
  proof.final_equal = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                    acc.commitment.MulVartime(eqv), eqv * acc.blind, transcript);
  return proof;
}

Status VerifyMax(const CommitmentKey& key, const PoolStatement& s, const MaxProof& proof,
                 Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckStatement(key, s, true));
  const PoolWindows& w = *s.windows;
  const size_t E = w.taps;
  if (proof.diffs.size() != E || proof.ranges.size() != RangeGroups(w.taps) ||
      proof.diff_openings.size() != E || proof.partial_products.size() != E - 1 ||
      proof.products.size() != E - 1)
    return Status::Corrupt("max proof: wrong number of parts");
  for (const HyraxCommitment& c : proof.diffs)
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(c, s.rows, w.out_cols, "max difference"));
  BatchVerifier local;
  BatchVerifier* bv = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("max proof rejected at ") + what);
  };
  AbsorbStatement(transcript, "veil/zk/max/v1", s);
  for (const HyraxCommitment& c : proof.diffs)
    internal::AbsorbCommitment(transcript, "max/diff", c);
  for (size_t g = 0; g < proof.ranges.size(); ++g) {
    std::vector<DigitRangeTarget> targets;
    for (size_t e = g * kMaxDigitRangeMatrices; e < std::min(E, (g + 1) * kMaxDigitRangeMatrices);
         ++e)
      targets.push_back({&proof.diffs[e], 8, nullptr, {}});
    VEIL_RETURN_IF_ERROR(
        step(VerifyDigitRange(key, s.rows, w.out_cols, targets, proof.ranges[g], transcript, bv),
             "the difference ranges"));
  }
  const std::vector<Scalar> gamma = transcript->ChallengeScalars("max/gamma", E);
  const uint32_t tv = s.output.row_vars, cv = s.output.col_vars;
  const std::vector<Scalar> r = transcript->ChallengeScalars("max/r", tv + cv);
  const HyraxCommitment combined = MaxCombined(s, proof.diffs, gamma);
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyEvaluation(key, combined, r, proof.combined_opening, transcript, bv),
           "the combined opening"));
  const std::vector<Scalar> left = EqTable(std::span(r).first(tv));
  const std::vector<Scalar> right = MaxInputVector(s, gamma, std::span(r).subspan(tv));
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyTensor(key, s.input, left, right, proof.input_opening, transcript, bv),
           "the input opening"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, proof.combined_opening.evaluation + proof.input_opening.evaluation,
                          Point(), proof.identity, transcript),
           "the difference identity"));
  const std::vector<Scalar> tau = transcript->ChallengeScalars("max/tau", tv + cv);
  auto sc = VerifyZkSumcheck(key, proof.zero_check, Point(), static_cast<int>(tv + cv),
                             static_cast<int>(E) + 1, transcript);
  if (!sc.ok()) return step(sc.status(), "the product zero-check");
  for (size_t e = 0; e < E; ++e)
    VEIL_RETURN_IF_ERROR(step(HyraxVerifyEvaluation(key, proof.diffs[e], sc->point,
                                                    proof.diff_openings[e], transcript, bv),
                              "a difference opening"));
  Point acc = proof.diff_openings[0].evaluation;
  for (size_t e = 1; e < E; ++e) {
    transcript->AppendPoint("max/partial", proof.partial_products[e - 1]);
    VEIL_RETURN_IF_ERROR(
        step(VerifyProduct(key, acc, proof.diff_openings[e].evaluation,
                           proof.partial_products[e - 1], proof.products[e - 1], transcript),
             "a partial product"));
    acc = proof.partial_products[e - 1];
  }
  const Scalar eqv = EqAt(tau, sc->point);
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, sc->final_claim, acc.MulVartime(eqv), proof.final_equal, transcript),
           "the product zero-check's final value"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteMaxProof(std::vector<uint8_t>* out, const MaxProof& p) {
  for (const HyraxCommitment& c : p.diffs) WriteHyraxCommitment(out, c);
  for (const DigitRangeProof& r : p.ranges) WriteDigitRangeProof(out, r);
  WriteHyraxEvaluationProof(out, p.combined_opening);
  WriteHyraxEvaluationProof(out, p.input_opening);
  WriteEqualityProof(out, p.identity);
  WriteZkSumcheckProof(out, p.zero_check);
  for (const HyraxEvaluationProof& o : p.diff_openings) WriteHyraxEvaluationProof(out, o);
  for (size_t i = 0; i < p.partial_products.size(); ++i) {
    WritePoint(out, p.partial_products[i]);
    WriteProductProof(out, p.products[i]);
  }
  WriteEqualityProof(out, p.final_equal);
}

Result<MaxProof> ReadMaxProof(ZkReader* in, const PoolStatement& s) {
  if (s.windows == nullptr) return Status::Corrupt("max proof: no windows");
  VEIL_RETURN_IF_ERROR(CheckPoolWindows(*s.windows, true));
  const PoolWindows& w = *s.windows;
  const size_t E = w.taps;
  MaxProof p;
  for (size_t e = 0; e < E; ++e) {
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment c, ReadHyraxCommitment(in));
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(c, s.rows, w.out_cols, "max difference"));
    p.diffs.push_back(std::move(c));
  }
  for (size_t g = 0; g < RangeGroups(w.taps); ++g) {
    const size_t count = std::min(E, (g + 1) * kMaxDigitRangeMatrices) - g * kMaxDigitRangeMatrices;
    std::vector<DigitRangeTarget> targets(count, DigitRangeTarget{nullptr, 8, nullptr, {}});
    VEIL_ASSIGN_OR_RETURN(DigitRangeProof rp, ReadDigitRangeProof(in, s.rows, w.out_cols, targets));
    p.ranges.push_back(std::move(rp));
  }
  VEIL_ASSIGN_OR_RETURN(p.combined_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.input_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.identity, ReadEqualityProof(in));
  const int rounds = CeilLog2(s.rows) + CeilLog2(w.out_cols);
  VEIL_ASSIGN_OR_RETURN(p.zero_check, ReadZkSumcheckProof(in, rounds, static_cast<int>(E) + 1));
  for (size_t e = 0; e < E; ++e) {
    VEIL_ASSIGN_OR_RETURN(HyraxEvaluationProof o, ReadHyraxEvaluationProof(in));
    p.diff_openings.push_back(std::move(o));
  }
  for (size_t e = 1; e < E; ++e) {
    VEIL_ASSIGN_OR_RETURN(Point z, in->ReadPoint());
    VEIL_ASSIGN_OR_RETURN(ProductProof pp, ReadProductProof(in));
    p.partial_products.push_back(z);
    p.products.push_back(pp);
  }
  VEIL_ASSIGN_OR_RETURN(p.final_equal, ReadEqualityProof(in));
  return p;
}

}  // namespace veil::zk
