#include "veil/zk/lookup_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

Status CheckShape(const HyraxCommitment& c, size_t rows, size_t cols, const char* what) {
  if (c.rows.size() != rows || c.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
      c.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
    return Status::Corrupt(std::string("lookup: the ") + what + " commitment does not have shape " +
                           std::to_string(rows) + "x" + std::to_string(cols));
  return Status::Ok();
}

void AbsorbStatement(Transcript* t, const LookupStatement& s) {
  constexpr std::string_view kProtocol = "veil/zk/lookup/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendU64("lookup/rows", s.rows);
  t->AppendU64("lookup/cols", s.cols);
  t->AppendBytes("lookup/table",
                 {reinterpret_cast<const uint8_t*>(s.table.data()), s.table.size()});
  t->AppendPoints("lookup/input", s.input.rows);
  t->AppendPoints("lookup/output", s.output.rows);
}

// c_j = 1/(α + (j − 128) + β·table[j]). Zero denominators (probability 256/l over α) are
// refused by both sides rather than inverted.
Result<std::vector<Scalar>> TableInverses(const LookupStatement& s, const Scalar& alpha,
                                          const Scalar& beta) {
  std::vector<Scalar> c(kLookupTableSize);
  for (uint32_t j = 0; j < kLookupTableSize; ++j) {
    c[j] = alpha + Scalar::FromInt64(static_cast<int64_t>(j) - 128) +
           beta * Scalar::FromInt64(s.table[j]);
    if (c[j] == Scalar::Zero()) return Status::Corrupt("lookup: degenerate challenge");
  }
  BatchInvert(c);
  return c;
}

// The public sides of the final checks: Com(α + X̃(r) + β·Ỹ(r)) from the two openings.
Point FoldedCommitment(const CommitmentKey& key, const Scalar& alpha, const Scalar& beta,
                       const Point& x, const Point& y) {
  return key.g().MulVartime(alpha) + x + y.MulVartime(beta);
}

}  // namespace

std::vector<int8_t> LookupReference(std::span<const int8_t> input, std::span<const int8_t> table) {
  std::vector<int8_t> y(input.size());
  for (size_t i = 0; i < input.size(); ++i) y[i] = table[static_cast<size_t>(input[i] + 128)];
  return y;
}

Status CheckLookupStatement(const CommitmentKey& key, const LookupStatement& s) {
  constexpr uint32_t kMaxDim = uint32_t{1} << 20;
  if (s.rows == 0 || s.cols == 0 || s.rows > kMaxDim || s.cols > kMaxDim)
    return Status::Corrupt("lookup: bad dimensions");
  if ((size_t{1} << CeilLog2(s.cols)) > key.max_vector_length() ||
      key.max_vector_length() < kLookupTableSize)
    return Status::Corrupt("lookup: rows or the table longer than the commitment key");
  if (s.table.size() != kLookupTableSize)
    return Status::Corrupt("lookup: the table must have 256 entries");
  for (int8_t v : s.table)
    if (v < -127) return Status::Corrupt("lookup: table entry -128 (entries are in [-127, 127])");
  VEIL_RETURN_IF_ERROR(CheckShape(s.input, s.rows, s.cols, "input"));
  VEIL_RETURN_IF_ERROR(CheckShape(s.output, s.rows, s.cols, "output"));
  return Status::Ok();
}

Result<LookupProof> ProveLookup(const CommitmentKey& key, const LookupStatement& s,
                                const LookupWitness& w, Transcript* transcript, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckLookupStatement(key, s));
  const size_t T = s.rows, N = s.cols;
  if (w.input.size() != T * N || w.output.size() != T * N || w.input_blinds.size() != T ||
      w.output_blinds.size() != T)
    return Status::InvalidArgument("lookup: witness sizes do not match the statement");
  AbsorbStatement(transcript, s);

  // Multiplicities (an honest prover's; a wrong output is caught by the checks below).
  std::vector<int32_t> mult(kLookupTableSize, 0);
  for (int8_t x : w.input) ++mult[static_cast<size_t>(x + 128)];
  LookupProof proof;
  const std::vector<Scalar> mult_blind{Scalar::Random()};
  VEIL_ASSIGN_OR_RETURN(proof.multiplicities,
                        HyraxCommitInt32(key, mult, 1, kLookupTableSize, mult_blind));
  transcript->AppendPoints("lookup/multiplicities", proof.multiplicities.rows);
  const Scalar alpha = transcript->ChallengeScalar("lookup/alpha");
  const Scalar beta = transcript->ChallengeScalar("lookup/beta");

  // h_e = 1/(α + X_e + β·Y_e).
  std::vector<Scalar> h(T * N);
  for (size_t e = 0; e < T * N; ++e) {
    h[e] = alpha + Scalar::FromInt64(w.input[e]) + beta * Scalar::FromInt64(w.output[e]);
    if (h[e] == Scalar::Zero()) return Status::Internal("lookup: degenerate challenge");
  }
  BatchInvert(h);
  HyraxWitness hw;
  hw.rows = T;
  hw.cols = N;
  hw.row_vars = static_cast<uint32_t>(CeilLog2(T));
  hw.col_vars = static_cast<uint32_t>(CeilLog2(N));
  hw.values = std::move(h);
  hw.blinds.resize(T);
  for (Scalar& b : hw.blinds) b = Scalar::Random();
  VEIL_ASSIGN_OR_RETURN(proof.inverses, HyraxCommitScalars(key, hw.values, T, N, hw.blinds, pool));
  transcript->AppendPoints("lookup/inverses", proof.inverses.rows);

  // Zero-check: Σ_x eq(τ,x)·h(x)·(α + X(x) + β·Y(x)) = Σ_x eq(τ,x)·sel(x).
  const uint32_t tv = hw.row_vars, nv = hw.col_vars;
  const size_t pc = size_t{1} << nv, size = size_t{1} << (tv + nv);
  const std::vector<Scalar> tau = transcript->ChallengeScalars("lookup/tau", tv + nv);
  std::vector<Scalar> hp(size), vp(size, alpha);
  for (size_t t = 0; t < T; ++t)
    for (size_t n = 0; n < N; ++n) {
      const size_t e = t * N + n;
      hp[t * pc + n] = hw.values[e];
      vp[t * pc + n] =
          alpha + Scalar::FromInt64(w.input[e]) + beta * Scalar::FromInt64(w.output[e]);
    }
  const Scalar claim =
      PrefixEqSum(std::span(tau).first(tv), T) * PrefixEqSum(std::span(tau).subspan(tv), N);
  const CommittedValue claim_c{claim, Scalar::Zero(), key.g().MulVartime(claim)};
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput sc,
      ProveZkSumcheck(key, {EqTable(tau), std::move(hp), std::move(vp)}, claim_c, transcript));
  proof.sumcheck = std::move(sc.proof);
  const HyraxWitness xw = MakeWitnessInt8(w.input, T, N, w.input_blinds);
  const HyraxWitness yw = MakeWitnessInt8(w.output, T, N, w.output_blinds);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening ho,
                        HyraxProveEvaluation(key, proof.inverses, hw, sc.point, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening xo,
                        HyraxProveEvaluation(key, s.input, xw, sc.point, transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening yo,
                        HyraxProveEvaluation(key, s.output, yw, sc.point, transcript));
  proof.inverse_opening = ho.proof;
  proof.input_opening = xo.proof;
  proof.output_opening = yo.proof;
  const CommittedValue folded{
      alpha + xo.evaluation.value + beta * yo.evaluation.value,
      xo.evaluation.blind + beta * yo.evaluation.blind,
      FoldedCommitment(key, alpha, beta, xo.evaluation.commitment, yo.evaluation.commitment)};
  const CommittedValue z = CommitFresh(key, ho.evaluation.value * folded.value);
  proof.product_commitment = z.commitment;
  transcript->AppendPoint("lookup/product", z.commitment);
  proof.product = ProveProduct(key, ho.evaluation, folded, z, transcript);
  const Scalar e = EqAt(tau, sc.point);
  proof.final_equal = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                    z.commitment.MulVartime(e), e * z.blind, transcript);

  // Σ_x h(x) = Σ_j m_j·c_j.
  const std::vector<Scalar> ones_rows(size_t{1} << tv, Scalar::One()), ones_cols(pc, Scalar::One());
  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening hs, HyraxProveTensor(key, proof.inverses, hw, ones_rows, ones_cols, transcript));
  VEIL_ASSIGN_OR_RETURN(std::vector<Scalar> c, TableInverses(s, alpha, beta));
  const HyraxWitness mw = MakeWitnessInt32(mult, 1, kLookupTableSize, mult_blind);
  const std::vector<Scalar> one{Scalar::One()};
  VEIL_ASSIGN_OR_RETURN(HyraxOpening ms,
                        HyraxProveTensor(key, proof.multiplicities, mw, one, c, transcript));
  proof.inverse_sum = hs.proof;
  proof.table_sum = ms.proof;
  proof.sums_equal = ProveEquality(key, hs.evaluation.commitment, hs.evaluation.blind,
                                   ms.evaluation.commitment, ms.evaluation.blind, transcript);
  return proof;
}

Status VerifyLookup(const CommitmentKey& key, const LookupStatement& s, const LookupProof& proof,
                    Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckLookupStatement(key, s));
  VEIL_RETURN_IF_ERROR(CheckShape(proof.multiplicities, 1, kLookupTableSize, "multiplicity"));
  VEIL_RETURN_IF_ERROR(CheckShape(proof.inverses, s.rows, s.cols, "inverse"));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("lookup proof rejected at ") + what);
  };
  AbsorbStatement(transcript, s);
  transcript->AppendPoints("lookup/multiplicities", proof.multiplicities.rows);
  const Scalar alpha = transcript->ChallengeScalar("lookup/alpha");
  const Scalar beta = transcript->ChallengeScalar("lookup/beta");
  transcript->AppendPoints("lookup/inverses", proof.inverses.rows);
  const uint32_t tv = s.output.row_vars, nv = s.output.col_vars;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("lookup/tau", tv + nv);
  const Scalar claim = PrefixEqSum(std::span(tau).first(tv), s.rows) *
                       PrefixEqSum(std::span(tau).subspan(tv), s.cols);
  auto sc = VerifyZkSumcheck(key, proof.sumcheck, key.g().MulVartime(claim),
                             static_cast<int>(tv + nv), 3, transcript);
  if (!sc.ok()) return step(sc.status(), "the zero-check sumcheck");
  VEIL_RETURN_IF_ERROR(step(
      HyraxVerifyEvaluation(key, proof.inverses, sc->point, proof.inverse_opening, transcript, b),
      "the inverse opening"));
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyEvaluation(key, s.input, sc->point, proof.input_opening, transcript, b),
           "the input opening"));
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyEvaluation(key, s.output, sc->point, proof.output_opening, transcript, b),
           "the output opening"));
  const Point folded = FoldedCommitment(key, alpha, beta, proof.input_opening.evaluation,
                                        proof.output_opening.evaluation);
  transcript->AppendPoint("lookup/product", proof.product_commitment);
  VEIL_RETURN_IF_ERROR(step(VerifyProduct(key, proof.inverse_opening.evaluation, folded,
                                          proof.product_commitment, proof.product, transcript),
                            "the product"));
  const Scalar e = EqAt(tau, sc->point);
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, sc->final_claim, proof.product_commitment.MulVartime(e),
                          proof.final_equal, transcript),
           "the zero-check's final value"));
  const std::vector<Scalar> ones_rows(size_t{1} << tv, Scalar::One()),
      ones_cols(size_t{1} << nv, Scalar::One());
  VEIL_RETURN_IF_ERROR(step(HyraxVerifyTensor(key, proof.inverses, ones_rows, ones_cols,
                                              proof.inverse_sum, transcript, b),
                            "the inverse sum"));
  auto c = TableInverses(s, alpha, beta);
  if (!c.ok()) return step(c.status(), "the table");
  const std::vector<Scalar> one{Scalar::One()};
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyTensor(key, proof.multiplicities, one, *c, proof.table_sum, transcript, b),
           "the table sum"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyEquality(key, proof.inverse_sum.evaluation, proof.table_sum.evaluation,
                          proof.sums_equal, transcript),
           "the LogUp sums"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteLookupProof(std::vector<uint8_t>* out, const LookupProof& p) {
  WriteHyraxCommitment(out, p.multiplicities);
  WriteHyraxCommitment(out, p.inverses);
  WriteZkSumcheckProof(out, p.sumcheck);
  for (const HyraxEvaluationProof* o : {&p.inverse_opening, &p.input_opening, &p.output_opening})
    WriteHyraxEvaluationProof(out, *o);
  WritePoint(out, p.product_commitment);
  WriteProductProof(out, p.product);
  WriteEqualityProof(out, p.final_equal);
  WriteHyraxEvaluationProof(out, p.inverse_sum);
  WriteHyraxEvaluationProof(out, p.table_sum);
  WriteEqualityProof(out, p.sums_equal);
}

Result<LookupProof> ReadLookupProof(ZkReader* in, const LookupStatement& s) {
  LookupProof p;
  VEIL_ASSIGN_OR_RETURN(p.multiplicities, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckShape(p.multiplicities, 1, kLookupTableSize, "multiplicity"));
  VEIL_ASSIGN_OR_RETURN(p.inverses, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(CheckShape(p.inverses, s.rows, s.cols, "inverse"));
  const int rounds = static_cast<int>(p.inverses.row_vars + p.inverses.col_vars);
  VEIL_ASSIGN_OR_RETURN(p.sumcheck, ReadZkSumcheckProof(in, rounds, 3));
  for (HyraxEvaluationProof* o : {&p.inverse_opening, &p.input_opening, &p.output_opening}) {
    VEIL_ASSIGN_OR_RETURN(*o, ReadHyraxEvaluationProof(in));
  }
  VEIL_ASSIGN_OR_RETURN(p.product_commitment, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  VEIL_ASSIGN_OR_RETURN(p.final_equal, ReadEqualityProof(in));
  VEIL_ASSIGN_OR_RETURN(p.inverse_sum, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.table_sum, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.sums_equal, ReadEqualityProof(in));
  return p;
}

}  // namespace veil::zk
