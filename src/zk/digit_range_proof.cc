#include "veil/zk/digit_range_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kTableCols = 256;  // multiplicities as a 2^(b−8) × 256 matrix

struct Layout {
  size_t rows = 0, cols = 0;   // T, N
  uint32_t tv = 0, nv = 0;     // row and column variables of each V_i
  uint32_t slots = 0, sv = 0;  // Σ d_i and CeilLog2 of it
  uint32_t digit_bits = 0;     // b: 8 or 16 (DigitBitsFor)
  std::vector<uint32_t> first_slot, digits;
  size_t digit_rows() const { return size_t{slots} << tv; }
  uint32_t vars() const { return sv + tv + nv; }
  size_t table_size() const { return size_t{1} << digit_bits; }
  size_t table_rows() const { return table_size() / kTableCols; }
  uint32_t table_row_vars() const { return digit_bits - 8; }
};

// The layout from the public statement alone (no key, no commitments): what the decoder
// needs.
Result<Layout> MakeShapeLayout(size_t rows, size_t cols,
                               std::span<const DigitRangeTarget> targets) {
  if (targets.empty() || targets.size() > kMaxDigitRangeMatrices)
    return Status::InvalidArgument("digit range proof: 1 to 8 matrices");
  if (rows == 0 || cols == 0 || rows > (size_t{1} << 20) || cols > (size_t{1} << 20))
    return Status::InvalidArgument("digit range proof: bad shape");
  Layout l;
  l.rows = rows;
  l.cols = cols;
  l.tv = static_cast<uint32_t>(CeilLog2(rows));
  l.nv = static_cast<uint32_t>(CeilLog2(cols));
  l.digit_bits = DigitBitsFor(rows, cols);
  for (const DigitRangeTarget& t : targets) {
    if (t.bits == 0 || t.bits > 64)
      return Status::InvalidArgument("digit range proof: bits must be in [1, 64]");
    const uint32_t d = (t.bits + l.digit_bits - 1) / l.digit_bits;
    l.first_slot.push_back(l.slots);
    l.digits.push_back(d);
    l.slots += d;
  }
  l.sv = static_cast<uint32_t>(CeilLog2(l.slots));
  if (l.sv + l.tv > kHyraxMaxVars || l.vars() > 30)
    return Status::InvalidArgument("digit range proof: matrices too large");
  return l;
}

Result<Layout> MakeLayout(const CommitmentKey& key, size_t rows, size_t cols,
                          std::span<const DigitRangeTarget> targets) {
  VEIL_ASSIGN_OR_RETURN(Layout l, MakeShapeLayout(rows, cols, targets));
  if (key.max_vector_length() < kTableCols ||
      (size_t{1} << CeilLog2(cols)) > key.max_vector_length())
    return Status::InvalidArgument("digit range proof: the commitment key is too short");
  for (const DigitRangeTarget& t : targets) {
    if (t.commitment == nullptr) return Status::InvalidArgument("digit range proof: no commitment");
    const HyraxCommitment& c = *t.commitment;
    if (c.rows.size() != rows || c.row_vars != l.tv || c.col_vars != l.nv)
      return Status::Corrupt("digit range proof: a checked matrix does not have shape " +
                             std::to_string(rows) + "x" + std::to_string(cols));
  }
  return l;
}

Status CheckShape(const HyraxCommitment& c, size_t rows, uint32_t row_vars, uint32_t col_vars,
                  const char* what) {
  if (c.rows.size() != rows || c.row_vars != row_vars || c.col_vars != col_vars)
    return Status::Corrupt(std::string("digit range proof: the ") + what +
                           " commitment has the wrong shape");
  return Status::Ok();
}

Status CheckProofShapes(const Layout& l, const DigitRangeProof& p, size_t targets) {
  VEIL_RETURN_IF_ERROR(CheckShape(p.digits, l.digit_rows(), l.sv + l.tv, l.nv, "digit"));
  VEIL_RETURN_IF_ERROR(CheckShape(p.inverses, l.digit_rows(), l.sv + l.tv, l.nv, "inverse"));
  VEIL_RETURN_IF_ERROR(
      CheckShape(p.multiplicities, l.table_rows(), l.table_row_vars(), 8, "multiplicity"));
  if (p.value_openings.size() != targets || p.recompositions.size() != targets ||
      p.recomposition_equal.size() != targets)
    return Status::Corrupt("digit range proof: one recomposition per matrix expected");
  return Status::Ok();
}

void AbsorbStatement(Transcript* t, const Layout& l, std::span<const DigitRangeTarget> targets) {
  constexpr std::string_view kProtocol = "veil/zk/digit-range/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendU64("digit-range/rows", l.rows);
  t->AppendU64("digit-range/cols", l.cols);
  t->AppendU64("digit-range/digit_bits", l.digit_bits);
  t->AppendU64("digit-range/count", targets.size());
  for (const DigitRangeTarget& target : targets) {
    t->AppendU64("digit-range/bits", target.bits);
    t->AppendPoints("digit-range/values", target.commitment->rows);
  }
}

// Σ_x eq(τ, x)·sel(x): the real digits are slot < S, t < T, n < N.
Scalar SelectorMass(const Layout& l, std::span<const Scalar> tau) {
  return PrefixEqSum(tau.first(l.sv), l.slots) * PrefixEqSum(tau.subspan(l.sv, l.tv), l.rows) *
         PrefixEqSum(tau.subspan(l.sv + l.tv), l.cols);
}

// c_v = 1/(α + v), v < 2^16.
Result<std::vector<Scalar>> TableInverses(const Layout& l, const Scalar& alpha) {
  std::vector<Scalar> c(l.table_size());
  for (size_t v = 0; v < c.size(); ++v) {
    c[v] = alpha + Scalar::FromUint64(v);
    if (c[v] == Scalar::Zero()) return Status::Corrupt("digit range proof: degenerate challenge");
  }
  BatchInvert(c);
  return c;
}

// (2^(16j) on the slots of matrix i) ⊗ eq(ρ_rows).
std::vector<Scalar> RecompositionLeft(const Layout& l, uint32_t first, uint32_t digits,
                                      std::span<const Scalar> rho_rows) {
  const std::vector<Scalar> eq = EqTable(rho_rows);
  std::vector<Scalar> left(size_t{1} << (l.sv + l.tv));
  for (uint32_t j = 0; j < digits; ++j) {
    const Scalar power = Scalar::FromUint64(uint64_t{1} << (l.digit_bits * j));
    for (size_t t = 0; t < eq.size(); ++t) left[((size_t{first} + j) << l.tv) + t] = power * eq[t];
  }
  return left;
}

}  // namespace

Result<DigitRangeProof> ProveDigitRange(const CommitmentKey& key, size_t rows, size_t cols,
                                        std::span<const DigitRangeTarget> targets,
                                        Transcript* transcript, ThreadPool* pool) {
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeLayout(key, rows, cols, targets));
  for (const DigitRangeTarget& t : targets)
    if (t.witness == nullptr || t.values.size() != rows * cols || t.witness->rows != rows ||
        t.witness->cols != cols)
      return Status::InvalidArgument("digit range proof: witness does not match the statement");
  AbsorbStatement(transcript, l, targets);
  const size_t N = cols, drows = l.digit_rows();

  // Digits and multiplicities (real digits only).
  std::vector<int32_t> digits(drows * N, 0);
  std::vector<int32_t> mult(l.table_size(), 0);
  const uint64_t mask = l.table_size() - 1;
  std::vector<Scalar> digit_blinds(drows);
  for (size_t i = 0; i < targets.size(); ++i)
    for (uint32_t j = 0; j < l.digits[i]; ++j)
      for (size_t t = 0; t < rows; ++t) {
        const size_t row = ((size_t{l.first_slot[i]} + j) << l.tv) + t;
        digit_blinds[row] = Scalar::Random();
        for (size_t n = 0; n < N; ++n) {
          const uint64_t d = (targets[i].values[t * N + n] >> (l.digit_bits * j)) & mask;
          digits[row * N + n] = static_cast<int32_t>(d);
          ++mult[d];
        }
      }
  DigitRangeProof proof;
  VEIL_ASSIGN_OR_RETURN(proof.digits, HyraxCommitInt32(key, digits, drows, N, digit_blinds, pool));
  const std::vector<Scalar> mult_blinds = [&l] {
    std::vector<Scalar> b(l.table_rows());
    for (Scalar& x : b) x = Scalar::Random();
    return b;
  }();
  VEIL_ASSIGN_OR_RETURN(proof.multiplicities,
                        HyraxCommitInt32(key, mult, l.table_rows(), kTableCols, mult_blinds, pool));
  transcript->AppendPoints("digit-range/digits", proof.digits.rows);
  transcript->AppendPoints("digit-range/multiplicities", proof.multiplicities.rows);
  const Scalar alpha = transcript->ChallengeScalar("digit-range/alpha");

  // Inverses on the real digits.
  const HyraxWitness gw = MakeWitnessInt32(digits, drows, N, digit_blinds);
  HyraxWitness hw;
  hw.rows = drows;
  hw.cols = N;
  hw.row_vars = l.sv + l.tv;
  hw.col_vars = l.nv;
  hw.values.assign(drows * N, Scalar::Zero());
  hw.blinds.assign(drows, Scalar::Zero());
  {
    std::vector<Scalar> real;
    real.reserve(size_t{l.slots} * rows * N);
    for (uint32_t s = 0; s < l.slots; ++s)
      for (size_t t = 0; t < rows; ++t)
        for (size_t n = 0; n < N; ++n)
          real.push_back(alpha + gw.values[((size_t{s} << l.tv) + t) * N + n]);
    for (const Scalar& x : real)
      if (x == Scalar::Zero()) return Status::Internal("digit range proof: degenerate challenge");
    BatchInvert(real);
    size_t k = 0;
    for (uint32_t s = 0; s < l.slots; ++s)
      for (size_t t = 0; t < rows; ++t) {
        const size_t row = (size_t{s} << l.tv) + t;
        hw.blinds[row] = Scalar::Random();
        for (size_t n = 0; n < N; ++n) hw.values[row * N + n] = real[k++];
      }
  }
  VEIL_ASSIGN_OR_RETURN(proof.inverses,
                        HyraxCommitScalars(key, hw.values, drows, N, hw.blinds, pool));
  transcript->AppendPoints("digit-range/inverses", proof.inverses.rows);

  // Zero-check: h·(α + G) = sel.
  const uint32_t vars = l.vars();
  const size_t pc = size_t{1} << l.nv;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("digit-range/tau", vars);
  std::vector<Scalar> hp(size_t{1} << vars), vp(size_t{1} << vars, alpha);
  for (size_t row = 0; row < drows; ++row)
    for (size_t n = 0; n < N; ++n) {
      hp[row * pc + n] = hw.values[row * N + n];
      vp[row * pc + n] = alpha + gw.values[row * N + n];
    }
  const Scalar sel = SelectorMass(l, tau);
  const CommittedValue claim{sel, Scalar::Zero(), key.g().MulVartime(sel)};
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput sc,
      ProveZkSumcheck(key, {EqTable(tau), std::move(hp), std::move(vp)}, claim, transcript));
  proof.zero_check = std::move(sc.proof);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening ho,
                        HyraxProveEvaluation(key, proof.inverses, hw, sc.point, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening go,
                        HyraxProveEvaluation(key, proof.digits, gw, sc.point, transcript));
  proof.inverse_opening = ho.proof;
  proof.digit_opening = go.proof;
  const CommittedValue shifted{alpha + go.evaluation.value, go.evaluation.blind,
                               key.g().MulVartime(alpha) + go.evaluation.commitment};
  const CommittedValue z = CommitFresh(key, ho.evaluation.value * shifted.value);
  proof.product_commitment = z.commitment;
  transcript->AppendPoint("digit-range/product", z.commitment);
  proof.product = ProveProduct(key, ho.evaluation, shifted, z, transcript);
  const Scalar e = EqAt(tau, sc.point);
  proof.zero_final = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                   z.commitment.MulVartime(e), e * z.blind, transcript);

  // Σ h = Σ_v m_v / (α + v).
  const std::vector<Scalar> ones_rows(size_t{1} << (l.sv + l.tv), Scalar::One()),
      ones_cols(pc, Scalar::One());
  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening hs, HyraxProveTensor(key, proof.inverses, hw, ones_rows, ones_cols, transcript));
  proof.inverse_sum = hs.proof;
  VEIL_ASSIGN_OR_RETURN(std::vector<Scalar> c, TableInverses(l, alpha));
  const HyraxWitness mw = MakeWitnessInt32(mult, l.table_rows(), kTableCols, mult_blinds);
  VEIL_ASSIGN_OR_RETURN(ZkSumcheckProverOutput ts,
                        ProveZkSumcheck(key, {mw.values, c}, hs.evaluation, transcript));
  proof.table_sum = std::move(ts.proof);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening mo,
                        HyraxProveEvaluation(key, proof.multiplicities, mw, ts.point, transcript));
  proof.multiplicity_opening = mo.proof;
  const Scalar c_at = ts.factor_evals[1];
  proof.table_final = ProveEquality(key, ts.final_claim.commitment, ts.final_claim.blind,
                                    mo.evaluation.commitment.MulVartime(c_at),
                                    mo.evaluation.blind * c_at, transcript);

  // Recomposition of every matrix from its digits.
  const std::vector<Scalar> rho = transcript->ChallengeScalars("digit-range/rho", l.tv + l.nv);
  const std::vector<Scalar> right = EqTable(std::span<const Scalar>(rho).subspan(l.tv));
  for (size_t i = 0; i < targets.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(
        HyraxOpening vo,
        HyraxProveEvaluation(key, *targets[i].commitment, *targets[i].witness, rho, transcript));
    const std::vector<Scalar> left = RecompositionLeft(l, l.first_slot[i], l.digits[i],
                                                       std::span<const Scalar>(rho).first(l.tv));
    VEIL_ASSIGN_OR_RETURN(HyraxOpening ro,
                          HyraxProveTensor(key, proof.digits, gw, left, right, transcript));
    proof.value_openings.push_back(vo.proof);
    proof.recompositions.push_back(ro.proof);
    proof.recomposition_equal.push_back(ProveEquality(key, vo.evaluation.commitment,
                                                      vo.evaluation.blind, ro.evaluation.commitment,
                                                      ro.evaluation.blind, transcript));
  }
  return proof;
}

Status VerifyDigitRange(const CommitmentKey& key, size_t rows, size_t cols,
                        std::span<const DigitRangeTarget> targets, const DigitRangeProof& proof,
                        Transcript* transcript, BatchVerifier* batch) {
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeLayout(key, rows, cols, targets));
  VEIL_RETURN_IF_ERROR(CheckProofShapes(l, proof, targets.size()));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("digit range proof rejected at ") + what);
  };
  AbsorbStatement(transcript, l, targets);
  transcript->AppendPoints("digit-range/digits", proof.digits.rows);
  transcript->AppendPoints("digit-range/multiplicities", proof.multiplicities.rows);
  const Scalar alpha = transcript->ChallengeScalar("digit-range/alpha");
  transcript->AppendPoints("digit-range/inverses", proof.inverses.rows);
  const uint32_t vars = l.vars();
  const std::vector<Scalar> tau = transcript->ChallengeScalars("digit-range/tau", vars);
  const Scalar sel = SelectorMass(l, tau);
  auto sc = VerifyZkSumcheck(key, proof.zero_check, key.g().MulVartime(sel), static_cast<int>(vars),
                             3, transcript);
  if (!sc.ok()) return step(sc.status(), "the zero-check sumcheck");
  VEIL_RETURN_IF_ERROR(step(
      HyraxVerifyEvaluation(key, proof.inverses, sc->point, proof.inverse_opening, transcript, b),
      "the inverse opening"));
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyEvaluation(key, proof.digits, sc->point, proof.digit_opening, transcript, b),
           "the digit opening"));
  const Point shifted = key.g().MulVartime(alpha) + proof.digit_opening.evaluation;
  transcript->AppendPoint("digit-range/product", proof.product_commitment);
  VEIL_RETURN_IF_ERROR(step(VerifyProduct(key, proof.inverse_opening.evaluation, shifted,
                                          proof.product_commitment, proof.product, transcript),
                            "the product"));
  const Scalar e = EqAt(tau, sc->point);
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, sc->final_claim, proof.product_commitment.MulVartime(e),
                          proof.zero_final, transcript),
           "the zero-check's final value"));
  const std::vector<Scalar> ones_rows(size_t{1} << (l.sv + l.tv), Scalar::One()),
      ones_cols(size_t{1} << l.nv, Scalar::One());
  VEIL_RETURN_IF_ERROR(step(HyraxVerifyTensor(key, proof.inverses, ones_rows, ones_cols,
                                              proof.inverse_sum, transcript, b),
                            "the inverse sum"));
  auto ts = VerifyZkSumcheck(key, proof.table_sum, proof.inverse_sum.evaluation,
                             static_cast<int>(l.digit_bits), 2, transcript);
  if (!ts.ok()) return step(ts.status(), "the table sumcheck");
  VEIL_RETURN_IF_ERROR(step(HyraxVerifyEvaluation(key, proof.multiplicities, ts->point,
                                                  proof.multiplicity_opening, transcript, b),
                            "the multiplicity opening"));
  auto c = TableInverses(l, alpha);
  if (!c.ok()) return step(c.status(), "the table");
  auto c_at = EvaluateMle(*c, ts->point);
  if (!c_at.ok()) return step(c_at.status(), "the table");
  VEIL_RETURN_IF_ERROR(step(
      VerifyEquality(key, ts->final_claim, proof.multiplicity_opening.evaluation.MulVartime(*c_at),
                     proof.table_final, transcript),
      "the LogUp sums"));
  const std::vector<Scalar> rho = transcript->ChallengeScalars("digit-range/rho", l.tv + l.nv);
  const std::vector<Scalar> right = EqTable(std::span<const Scalar>(rho).subspan(l.tv));
  for (size_t i = 0; i < targets.size(); ++i) {
    VEIL_RETURN_IF_ERROR(step(HyraxVerifyEvaluation(key, *targets[i].commitment, rho,
                                                    proof.value_openings[i], transcript, b),
                              "a value opening"));
    const std::vector<Scalar> left = RecompositionLeft(l, l.first_slot[i], l.digits[i],
                                                       std::span<const Scalar>(rho).first(l.tv));
    VEIL_RETURN_IF_ERROR(step(
        HyraxVerifyTensor(key, proof.digits, left, right, proof.recompositions[i], transcript, b),
        "a recomposition opening"));
    VEIL_RETURN_IF_ERROR(step(
        VerifyEquality(key, proof.value_openings[i].evaluation, proof.recompositions[i].evaluation,
                       proof.recomposition_equal[i], transcript),
        "a recomposition"));
  }
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteDigitRangeProof(std::vector<uint8_t>* out, const DigitRangeProof& p) {
  WriteHyraxCommitment(out, p.digits);
  WriteHyraxCommitment(out, p.multiplicities);
  WriteHyraxCommitment(out, p.inverses);
  WriteZkSumcheckProof(out, p.zero_check);
  WriteHyraxEvaluationProof(out, p.inverse_opening);
  WriteHyraxEvaluationProof(out, p.digit_opening);
  WritePoint(out, p.product_commitment);
  WriteProductProof(out, p.product);
  WriteEqualityProof(out, p.zero_final);
  WriteHyraxEvaluationProof(out, p.inverse_sum);
  WriteZkSumcheckProof(out, p.table_sum);
  WriteHyraxEvaluationProof(out, p.multiplicity_opening);
  WriteEqualityProof(out, p.table_final);
  for (size_t i = 0; i < p.value_openings.size(); ++i) {
    WriteHyraxEvaluationProof(out, p.value_openings[i]);
    WriteHyraxEvaluationProof(out, p.recompositions[i]);
    WriteEqualityProof(out, p.recomposition_equal[i]);
  }
}

Result<DigitRangeProof> ReadDigitRangeProof(ZkReader* in, size_t rows, size_t cols,
                                            std::span<const DigitRangeTarget> targets) {
  // Shapes only (the decoder has no key): the key check happens in VerifyDigitRange.
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeShapeLayout(rows, cols, targets));
  DigitRangeProof p;
  VEIL_ASSIGN_OR_RETURN(p.digits, ReadHyraxCommitment(in));
  VEIL_ASSIGN_OR_RETURN(p.multiplicities, ReadHyraxCommitment(in));
  VEIL_ASSIGN_OR_RETURN(p.inverses, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckShape(p.digits, l.digit_rows(), l.sv + l.tv, l.nv, "digit"));
  VEIL_RETURN_IF_ERROR(CheckShape(p.inverses, l.digit_rows(), l.sv + l.tv, l.nv, "inverse"));
  VEIL_RETURN_IF_ERROR(
      CheckShape(p.multiplicities, l.table_rows(), l.table_row_vars(), 8, "multiplicity"));
  VEIL_ASSIGN_OR_RETURN(p.zero_check, ReadZkSumcheckProof(in, static_cast<int>(l.vars()), 3));
  VEIL_ASSIGN_OR_RETURN(p.inverse_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.digit_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.product_commitment, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  VEIL_ASSIGN_OR_RETURN(p.zero_final, ReadEqualityProof(in));
  VEIL_ASSIGN_OR_RETURN(p.inverse_sum, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.table_sum, ReadZkSumcheckProof(in, static_cast<int>(l.digit_bits), 2));
  VEIL_ASSIGN_OR_RETURN(p.multiplicity_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.table_final, ReadEqualityProof(in));
  for (size_t i = 0; i < targets.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(HyraxEvaluationProof v, ReadHyraxEvaluationProof(in));
    VEIL_ASSIGN_OR_RETURN(HyraxEvaluationProof r, ReadHyraxEvaluationProof(in));
    VEIL_ASSIGN_OR_RETURN(EqualityProof e, ReadEqualityProof(in));
    p.value_openings.push_back(std::move(v));
    p.recompositions.push_back(std::move(r));
    p.recomposition_equal.push_back(e);
  }
  return p;
}

}  // namespace veil::zk
