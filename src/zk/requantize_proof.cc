#include "veil/zk/requantize_proof.h"

#include <algorithm>
#include <string>

#include "veil/zk/msm.h"
#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

__extension__ typedef __int128 i128;

// Slacks are proven in [0, 2^64), Y − lo and hi − Y in [0, 2^8) rounded up to one digit
// (so [0, 2^16) with 16-bit digits; since (Y − lo) + (hi − Y) = hi − lo, either way
// lo <= Y <= hi).
constexpr uint32_t kSlackBits = 64;
constexpr uint32_t kOutputBits = 8;

Status CheckShape(const HyraxCommitment& c, size_t rows, size_t cols, const char* what) {
  if (c.rows.size() != rows || c.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
      c.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
    return Status::Corrupt(std::string("requantize: the ") + what +
                           " commitment does not have shape " + std::to_string(rows) + "x" +
                           std::to_string(cols));
  return Status::Ok();
}

void AbsorbStatement(Transcript* t, const RequantizeStatement& s) {
  constexpr std::string_view kProtocol = "veil/zk/requantize/v2";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendU64("requantize/rows", s.rows);
  t->AppendU64("requantize/cols", s.cols);
  for (int64_t m : s.multiplier) t->AppendU64("requantize/multiplier", static_cast<uint64_t>(m));
  for (int64_t sh : s.shift) t->AppendU64("requantize/shift", static_cast<uint64_t>(sh));
  t->AppendU64("requantize/act_min", static_cast<uint64_t>(static_cast<int64_t>(s.act_min)));
  t->AppendU64("requantize/act_max", static_cast<uint64_t>(static_cast<int64_t>(s.act_max)));
  t->AppendPoints("requantize/accumulator", s.accumulator.rows);
  t->AppendPoints("requantize/output", s.output.rows);
}

int64_t Rounding(int64_t shift) { return shift == 0 ? 0 : int64_t{1} << (shift - 1); }

// Everything both sides derive from the public statement.
struct Public {
  std::vector<Scalar> mult, pow2;             // per channel: M_n, 2^{s_n}
  std::vector<Scalar> kappa_low, kappa_high;  // R_n and 2^{s_n} − 1 − R_n
  Point ones;                                 // Σ_{j<N} G_j (commitment to N ones, blind 0)
};

Public MakePublic(const CommitmentKey& key, const RequantizeStatement& s) {
  Public p;
  for (uint32_t n = 0; n < s.cols; ++n) {
    const int64_t sh = s.shift[n];
    p.mult.push_back(Scalar::FromInt64(s.multiplier[n]));
    p.pow2.push_back(Scalar::FromUint64(uint64_t{1} << sh));
    p.kappa_low.push_back(Scalar::FromInt64(Rounding(sh)));
    p.kappa_high.push_back(
        Scalar::FromUint64((uint64_t{1} << sh) - 1 - static_cast<uint64_t>(Rounding(sh))));
  }
  const std::vector<Scalar> ones(s.cols, Scalar::One());
  p.ones = MsmAffine(ones, key.vector_generators().g_affine().first(s.cols));
  return p;
}

// Com(Y − lo) (sign +1) or Com(hi − Y) (sign −1), row by row, from Com(Y).
HyraxCommitment ShiftedOutput(const HyraxCommitment& output, const Point& ones, int32_t bound,
                              int sign) {
  HyraxCommitment c = output;
  const Point shift = ones.MulVartime(Scalar::FromInt64(bound));
  for (Point& row : c.rows) row = sign > 0 ? row - shift : shift - row;
  return c;
}

// The public pieces of one zero-check at point r = (r_t, r_n): e_T, and the row vectors
// for the tensor openings.
struct CheckVectors {
  std::vector<Scalar> left;        // eq(r_t)
  std::vector<Scalar> right_mult;  // eq(r_n) ∘ M (padded)
  std::vector<Scalar> right_pow2;  // eq(r_n) ∘ 2^s (padded)
  Scalar kappa_term;               // e_T · Σ_n eq(r_n, n) κ_n
  Scalar real_mass;                // e_T · Σ_{n<N} eq(r_n, n)
};

CheckVectors MakeCheckVectors(const RequantizeStatement& s, const Public& pub, bool low,
                              std::span<const Scalar> r, uint32_t tv) {
  CheckVectors v;
  v.left = EqTable(r.first(tv));
  const std::vector<Scalar> eq_n = EqTable(r.subspan(tv));
  Scalar e_t, kappa, mass;
  for (uint32_t t = 0; t < s.rows; ++t) e_t += v.left[t];
  v.right_mult.resize(eq_n.size());
  v.right_pow2.resize(eq_n.size());
  const std::vector<Scalar>& k = low ? pub.kappa_low : pub.kappa_high;
  for (uint32_t n = 0; n < s.cols; ++n) {
    v.right_mult[n] = eq_n[n] * pub.mult[n];
    v.right_pow2[n] = eq_n[n] * pub.pow2[n];
    kappa += eq_n[n] * k[n];
    mass += eq_n[n];
  }
  v.kappa_term = e_t * kappa;
  v.real_mass = e_t * mass;
  return v;
}

// P = slack − σ·(A∘M) + σ·(Y∘2^s) − κ and Q = ρ·(Y − c) at r, as commitments; σ = ρ = +1,
// c = lo for the low check and σ = ρ = −1, c = hi for the high check.
struct CombinedCommitments {
  Point p, q;
};

CombinedCommitments Combine(const CommitmentKey& key, bool low, int32_t c, const CheckVectors& v,
                            const Point& slack, const Point& acc_mult, const Point& out_pow2,
                            const Point& out) {
  const Point sigma_part = out_pow2 - acc_mult;  // σ = +1 form
  CombinedCommitments cc;
  cc.p = (low ? slack + sigma_part : slack - sigma_part) - key.g().MulVartime(v.kappa_term);
  const Point y_minus_c = out - key.g().MulVartime(Scalar::FromInt64(c) * v.real_mass);
  cc.q = low ? y_minus_c : -y_minus_c;
  return cc;
}

struct ProverMatrices {
  const HyraxCommitment* acc_c;
  const HyraxCommitment* out_c;
  const HyraxWitness* acc;
  const HyraxWitness* out;
};

Result<ZeroCheckProof> ProveZeroCheck(const CommitmentKey& key, const RequantizeStatement& s,
                                      const Public& pub, bool low, const HyraxCommitment& slack_c,
                                      const HyraxWitness& slack, const ProverMatrices& m,
                                      Transcript* transcript) {
  const uint32_t tv = s.output.row_vars, nv = s.output.col_vars;
  const size_t padded_cols = size_t{1} << nv;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("requantize/tau", tv + nv);
  const Scalar sigma = low ? Scalar::One() : -Scalar::One();
  const int32_t c = low ? s.act_min : s.act_max;
  const std::vector<Scalar>& kappa = low ? pub.kappa_low : pub.kappa_high;
  std::vector<Scalar> p(size_t{1} << (tv + nv)), q(size_t{1} << (tv + nv));
  for (uint32_t t = 0; t < s.rows; ++t)
    for (uint32_t n = 0; n < s.cols; ++n) {
      const size_t e = size_t{t} * s.cols + n;
      const Scalar& a = m.acc->values[e];
      const Scalar& y = m.out->values[e];
      p[t * padded_cols + n] =
          slack.values[e] - sigma * (a * pub.mult[n]) + sigma * (y * pub.pow2[n]) - kappa[n];
      q[t * padded_cols + n] = sigma * (y - Scalar::FromInt64(c));
    }
  const CommittedValue zero{Scalar::Zero(), Scalar::Zero(), Point()};
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput sc,
      ProveZkSumcheck(key, {EqTable(tau), std::move(p), std::move(q)}, zero, transcript));
  ZeroCheckProof proof;
  proof.sumcheck = std::move(sc.proof);
  const CheckVectors v = MakeCheckVectors(s, pub, low, sc.point, tv);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening slack_open,
                        HyraxProveEvaluation(key, slack_c, slack, sc.point, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening am,
                        HyraxProveTensor(key, *m.acc_c, *m.acc, v.left, v.right_mult, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening y2s,
                        HyraxProveTensor(key, *m.out_c, *m.out, v.left, v.right_pow2, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening y,
                        HyraxProveEvaluation(key, *m.out_c, *m.out, sc.point, transcript));
  proof.slack_opening = slack_open.proof;
  proof.accumulator_opening = am.proof;
  proof.output_scaled_opening = y2s.proof;
  proof.output_opening = y.proof;
  // The same combinations on values and blinds as Combine() does on commitments.
  const CombinedCommitments cc =
      Combine(key, low, c, v, slack_open.evaluation.commitment, am.evaluation.commitment,
              y2s.evaluation.commitment, y.evaluation.commitment);
  const Scalar cs = Scalar::FromInt64(c);
  CommittedValue pc{
      slack_open.evaluation.value - sigma * am.evaluation.value + sigma * y2s.evaluation.value -
          v.kappa_term,
      slack_open.evaluation.blind - sigma * am.evaluation.blind + sigma * y2s.evaluation.blind,
      cc.p};
  CommittedValue qc{sigma * (y.evaluation.value - cs * v.real_mass), sigma * y.evaluation.blind,
                    cc.q};
  const CommittedValue z = CommitFresh(key, pc.value * qc.value);
  proof.product_commitment = z.commitment;
  transcript->AppendPoint("requantize/product", z.commitment);
  proof.product = ProveProduct(key, pc, qc, z, transcript);
  const Scalar e = EqAt(tau, sc.point);
  proof.final_equal = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                    z.commitment.MulVartime(e), e * z.blind, transcript);
  return proof;
}

Status VerifyZeroCheck(const CommitmentKey& key, const RequantizeStatement& s, const Public& pub,
                       bool low, const HyraxCommitment& slack_c, const ZeroCheckProof& proof,
                       Transcript* transcript, BatchVerifier* b) {
  const uint32_t tv = s.output.row_vars, nv = s.output.col_vars;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("requantize/tau", tv + nv);
  auto sc =
      VerifyZkSumcheck(key, proof.sumcheck, Point(), static_cast<int>(tv + nv), 3, transcript);
  if (!sc.ok()) return sc.status();
  const CheckVectors v = MakeCheckVectors(s, pub, low, sc->point, tv);
  VEIL_RETURN_IF_ERROR(
      HyraxVerifyEvaluation(key, slack_c, sc->point, proof.slack_opening, transcript, b));
  VEIL_RETURN_IF_ERROR(HyraxVerifyTensor(key, s.accumulator, v.left, v.right_mult,
                                         proof.accumulator_opening, transcript, b));
  VEIL_RETURN_IF_ERROR(HyraxVerifyTensor(key, s.output, v.left, v.right_pow2,
                                         proof.output_scaled_opening, transcript, b));
  VEIL_RETURN_IF_ERROR(
      HyraxVerifyEvaluation(key, s.output, sc->point, proof.output_opening, transcript, b));
  const CombinedCommitments cc =
      Combine(key, low, low ? s.act_min : s.act_max, v, proof.slack_opening.evaluation,
              proof.accumulator_opening.evaluation, proof.output_scaled_opening.evaluation,
              proof.output_opening.evaluation);
  transcript->AppendPoint("requantize/product", proof.product_commitment);
  VEIL_RETURN_IF_ERROR(
      VerifyProduct(key, cc.p, cc.q, proof.product_commitment, proof.product, transcript));
  const Scalar e = EqAt(tau, sc->point);
  return VerifyEquality(key, sc->final_claim, proof.product_commitment.MulVartime(e),
                        proof.final_equal, transcript);
}

void WriteZeroCheck(std::vector<uint8_t>* out, const ZeroCheckProof& p) {
  WriteZkSumcheckProof(out, p.sumcheck);
  for (const HyraxEvaluationProof* o :
       {&p.slack_opening, &p.accumulator_opening, &p.output_scaled_opening, &p.output_opening})
    WriteHyraxEvaluationProof(out, *o);
  WritePoint(out, p.product_commitment);
  WriteProductProof(out, p.product);
  WriteEqualityProof(out, p.final_equal);
}

Result<ZeroCheckProof> ReadZeroCheck(ZkReader* in, int rounds) {
  ZeroCheckProof p;
  VEIL_ASSIGN_OR_RETURN(p.sumcheck, ReadZkSumcheckProof(in, rounds, 3));
  for (HyraxEvaluationProof* o :
       {&p.slack_opening, &p.accumulator_opening, &p.output_scaled_opening, &p.output_opening}) {
    VEIL_ASSIGN_OR_RETURN(*o, ReadHyraxEvaluationProof(in));
  }
  VEIL_ASSIGN_OR_RETURN(p.product_commitment, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  VEIL_ASSIGN_OR_RETURN(p.final_equal, ReadEqualityProof(in));
  return p;
}

}  // namespace

std::vector<int8_t> RequantizeReference(std::span<const int32_t> accumulator, size_t rows,
                                        size_t cols, std::span<const int64_t> multiplier,
                                        std::span<const int64_t> shift, int32_t act_min,
                                        int32_t act_max) {
  std::vector<int8_t> y(rows * cols);
  for (size_t t = 0; t < rows; ++t)
    for (size_t n = 0; n < cols; ++n) {
      const i128 u =
          static_cast<i128>(accumulator[t * cols + n]) * multiplier[n] + Rounding(shift[n]);
      // floor(u / 2^s) for negative u too (arithmetic shift of a 128-bit value).
      const i128 q = u >> shift[n];
      y[t * cols + n] = static_cast<int8_t>(std::clamp<i128>(q, act_min, act_max));
    }
  return y;
}

Status CheckRequantizeStatement(const CommitmentKey& key, const RequantizeStatement& s) {
  constexpr uint32_t kMaxDim = uint32_t{1} << 20;
  if (s.rows == 0 || s.cols == 0 || s.rows > kMaxDim || s.cols > kMaxDim)
    return Status::Corrupt("requantize: bad dimensions");
  if ((size_t{1} << CeilLog2(s.cols)) > key.max_vector_length() || key.max_vector_length() < 256)
    return Status::Corrupt("requantize: rows longer than the commitment key (or key < 256)");
  if (s.multiplier.size() != s.cols || s.shift.size() != s.cols)
    return Status::Corrupt("requantize: need one multiplier and shift per channel");
  for (uint32_t n = 0; n < s.cols; ++n)
    if (s.multiplier[n] < 0 || s.multiplier[n] >= (int64_t{1} << 31) || s.shift[n] < 0 ||
        s.shift[n] > 62)
      return Status::Corrupt("requantize: multiplier or shift out of range at channel " +
                             std::to_string(n));
  if (s.act_min < -127 || s.act_max > 127 || s.act_min > s.act_max)
    return Status::Corrupt("requantize: activation bounds out of range");
  VEIL_RETURN_IF_ERROR(CheckShape(s.accumulator, s.rows, s.cols, "accumulator"));
  VEIL_RETURN_IF_ERROR(CheckShape(s.output, s.rows, s.cols, "output"));
  return Status::Ok();
}

Result<RequantizeProof> ProveRequantize(const CommitmentKey& key, const RequantizeStatement& s,
                                        const RequantizeWitness& w, Transcript* transcript,
                                        ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckRequantizeStatement(key, s));
  const size_t T = s.rows, N = s.cols;
  const bool wide = !w.accumulator64.empty();
  if ((wide ? w.accumulator64.size() : w.accumulator.size()) != T * N || w.output.size() != T * N ||
      w.accumulator_blinds.size() != T || w.output_blinds.size() != T)
    return Status::InvalidArgument("requantize: witness sizes do not match the statement");
  AbsorbStatement(transcript, s);
  const Public pub = MakePublic(key, s);
  HyraxWitness acc;
  if (wide) {
    std::vector<Scalar> values(T * N);
    for (size_t i = 0; i < T * N; ++i) {
      if (w.accumulator64[i] >= (int64_t{1} << 39) || w.accumulator64[i] <= -(int64_t{1} << 39))
        return Status::InvalidArgument("requantize: accumulator outside (-2^39, 2^39)");
      values[i] = Scalar::FromInt64(w.accumulator64[i]);
    }
    acc = MakeWitnessScalars(std::move(values), T, N, w.accumulator_blinds);
  } else {
    acc = MakeWitnessInt32(w.accumulator, T, N, w.accumulator_blinds);
  }
  const HyraxWitness out = MakeWitnessInt8(w.output, T, N, w.output_blinds);

  // Slacks, computed exactly and reduced to 64 bits (an honest witness fits; a wrong output
  // wraps and then fails the zero-checks or the range proofs).
  std::vector<uint64_t> low(T * N), high(T * N), y_low(T * N), y_high(T * N);
  for (size_t t = 0; t < T; ++t)
    for (size_t n = 0; n < N; ++n) {
      const size_t e = t * N + n;
      const int64_t y = w.output[e];
      const i128 a = wide ? static_cast<i128>(w.accumulator64[e]) : w.accumulator[e];
      const i128 u = a * s.multiplier[n] + Rounding(s.shift[n]);
      const i128 p2 = static_cast<i128>(1) << s.shift[n];
      low[e] = y > s.act_min ? static_cast<uint64_t>(u - y * p2) : 0;
      high[e] = y < s.act_max ? static_cast<uint64_t>((y + 1) * p2 - 1 - u) : 0;
      y_low[e] = static_cast<uint64_t>(y - s.act_min);
      y_high[e] = static_cast<uint64_t>(s.act_max - y);
    }
  auto to_scalars = [](const std::vector<uint64_t>& v) {
    std::vector<Scalar> scalars(v.size());
    for (size_t i = 0; i < v.size(); ++i) scalars[i] = Scalar::FromUint64(v[i]);
    return scalars;
  };
  auto fresh = [](size_t n) {
    std::vector<Scalar> b(n);
    for (Scalar& x : b) x = Scalar::Random();
    return b;
  };
  RequantizeProof proof;
  const HyraxWitness low_w = MakeWitnessScalars(to_scalars(low), T, N, fresh(T));
  const HyraxWitness high_w = MakeWitnessScalars(to_scalars(high), T, N, fresh(T));
  VEIL_ASSIGN_OR_RETURN(proof.low_slack,
                        HyraxCommitScalars(key, low_w.values, T, N, low_w.blinds, pool));
  VEIL_ASSIGN_OR_RETURN(proof.high_slack,
                        HyraxCommitScalars(key, high_w.values, T, N, high_w.blinds, pool));
  transcript->AppendPoints("requantize/low_slack", proof.low_slack.rows);
  transcript->AppendPoints("requantize/high_slack", proof.high_slack.rows);

  std::vector<Scalar> negated(T);
  for (size_t t = 0; t < T; ++t) negated[t] = -w.output_blinds[t];
  const HyraxWitness y_low_w = MakeWitnessScalars(to_scalars(y_low), T, N, w.output_blinds);
  const HyraxWitness y_high_w = MakeWitnessScalars(to_scalars(y_high), T, N, negated);
  const HyraxCommitment y_low_c = ShiftedOutput(s.output, pub.ones, s.act_min, +1);
  const HyraxCommitment y_high_c = ShiftedOutput(s.output, pub.ones, s.act_max, -1);
  const DigitRangeTarget targets[] = {{&proof.low_slack, kSlackBits, &low_w, low},
                                      {&proof.high_slack, kSlackBits, &high_w, high},
                                      {&y_low_c, kOutputBits, &y_low_w, y_low},
                                      {&y_high_c, kOutputBits, &y_high_w, y_high}};
  VEIL_ASSIGN_OR_RETURN(proof.ranges, ProveDigitRange(key, T, N, targets, transcript, pool));
  const ProverMatrices m{&s.accumulator, &s.output, &acc, &out};
  VEIL_ASSIGN_OR_RETURN(proof.low_check,
                        ProveZeroCheck(key, s, pub, true, proof.low_slack, low_w, m, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.high_check, ProveZeroCheck(key, s, pub, false, proof.high_slack,
                                                         high_w, m, transcript));
  return proof;
}

Status VerifyRequantize(const CommitmentKey& key, const RequantizeStatement& s,
                        const RequantizeProof& proof, Transcript* transcript,
                        BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckRequantizeStatement(key, s));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  VEIL_RETURN_IF_ERROR(CheckShape(proof.low_slack, s.rows, s.cols, "low slack"));
  VEIL_RETURN_IF_ERROR(CheckShape(proof.high_slack, s.rows, s.cols, "high slack"));
  AbsorbStatement(transcript, s);
  const Public pub = MakePublic(key, s);
  transcript->AppendPoints("requantize/low_slack", proof.low_slack.rows);
  transcript->AppendPoints("requantize/high_slack", proof.high_slack.rows);
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("requantize proof rejected at ") + what);
  };
  const HyraxCommitment y_low_c = ShiftedOutput(s.output, pub.ones, s.act_min, +1);
  const HyraxCommitment y_high_c = ShiftedOutput(s.output, pub.ones, s.act_max, -1);
  const DigitRangeTarget targets[] = {{&proof.low_slack, kSlackBits, nullptr, {}},
                                      {&proof.high_slack, kSlackBits, nullptr, {}},
                                      {&y_low_c, kOutputBits, nullptr, {}},
                                      {&y_high_c, kOutputBits, nullptr, {}}};
  VEIL_RETURN_IF_ERROR(
      step(VerifyDigitRange(key, s.rows, s.cols, targets, proof.ranges, transcript, b),
           "the slack and output ranges"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroCheck(key, s, pub, true, proof.low_slack, proof.low_check, transcript, b),
           "the low zero-check"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroCheck(key, s, pub, false, proof.high_slack, proof.high_check, transcript, b),
           "the high zero-check"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteRequantizeProof(std::vector<uint8_t>* out, const RequantizeProof& p) {
  WriteHyraxCommitment(out, p.low_slack);
  WriteHyraxCommitment(out, p.high_slack);
  WriteDigitRangeProof(out, p.ranges);
  WriteZeroCheck(out, p.low_check);
  WriteZeroCheck(out, p.high_check);
}

Result<RequantizeProof> ReadRequantizeProof(ZkReader* in, const RequantizeStatement& s) {
  RequantizeProof p;
  VEIL_ASSIGN_OR_RETURN(p.low_slack, ReadHyraxCommitment(in));
  VEIL_ASSIGN_OR_RETURN(p.high_slack, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckShape(p.low_slack, s.rows, s.cols, "low slack"));
  VEIL_RETURN_IF_ERROR(CheckShape(p.high_slack, s.rows, s.cols, "high slack"));
  const DigitRangeTarget targets[] = {{nullptr, kSlackBits, nullptr, {}},
                                      {nullptr, kSlackBits, nullptr, {}},
                                      {nullptr, kOutputBits, nullptr, {}},
                                      {nullptr, kOutputBits, nullptr, {}}};
  VEIL_ASSIGN_OR_RETURN(p.ranges, ReadDigitRangeProof(in, s.rows, s.cols, targets));
  const int rounds = static_cast<int>(s.output.row_vars + s.output.col_vars);
  VEIL_ASSIGN_OR_RETURN(p.low_check, ReadZeroCheck(in, rounds));
  VEIL_ASSIGN_OR_RETURN(p.high_check, ReadZeroCheck(in, rounds));
  return p;
}

}  // namespace veil::zk
