#include "veil/zk/linear_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

Status CheckShape(const HyraxCommitment& c, size_t rows, size_t cols, const char* what) {
  if (c.rows.size() != rows || c.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
      c.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
    return Status::Corrupt(std::string("linear statement: the ") + what +
                           " commitment does not have shape " + std::to_string(rows) + "x" +
                           std::to_string(cols));
  return Status::Ok();
}

void AbsorbStatement(Transcript* t, const LinearStatement& s) {
  constexpr std::string_view kProtocol = "veil/zk/linear/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendU64("linear/tokens", s.tokens);
  t->AppendU64("linear/in_features", s.in_features);
  t->AppendU64("linear/out_features", s.out_features);
  if (s.group != 1) t->AppendU64("linear/group", s.group);
  for (const HyraxCommitment* c : {&s.weight, &s.bias, &s.input, &s.accumulator}) {
    t->AppendU64("linear/commitment_rows", c->rows.size());
    t->AppendPoints("linear/commitment", c->rows);
  }
}

std::vector<Scalar> Concat(std::span<const Scalar> a, std::span<const Scalar> b) {
  std::vector<Scalar> out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// The row-combined vector Σ_i eq(r_row, i)·M[i][·] over the tokens of w (each of its rows
// holds `group` tokens of `width` entries; token (i, g) is virtual row i·2^⌈log group⌉ + g),
// zero-padded to 2^⌈log width⌉.
std::vector<Scalar> CombineRows(const HyraxWitness& w, std::span<const Scalar> r_row, size_t group,
                                size_t width) {
  const std::vector<Scalar> left = EqTable(r_row);
  const int lg = CeilLog2(group);
  std::vector<Scalar> v(size_t{1} << CeilLog2(width));
  for (size_t i = 0; i < w.rows; ++i) {
    for (size_t g = 0; g < group; ++g) {
      const Scalar li = left[(i << lg) | g];
      const Scalar* row = w.values.data() + i * w.cols + g * width;
      for (size_t j = 0; j < width; ++j) v[j] += li * row[j];
    }
  }
  return v;
}

bool IsPowerOfTwo(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

// e_T: Σ of eq(r_t, ·) over the real tokens (rows t < T, tokens g < G).
Scalar TokenEqSum(const LinearStatement& s, std::span<const Scalar> r_t) {
  if (s.group == 1) return PrefixEqSum(r_t, s.tokens);
  const size_t rv = s.input.row_vars;
  return PrefixEqSum(r_t.subspan(0, rv), s.tokens) * PrefixEqSum(r_t.subspan(rv), s.group);
}

}  // namespace

std::vector<int32_t> LinearAccumulators(std::span<const int8_t> input,
                                        std::span<const int8_t> weight,
                                        std::span<const int32_t> bias, size_t tokens,
                                        size_t in_features, size_t out_features) {
  std::vector<int32_t> acc(tokens * out_features);
  for (size_t t = 0; t < tokens; ++t) {
    const int8_t* x = input.data() + t * in_features;
    for (size_t n = 0; n < out_features; ++n) {
      const int8_t* w = weight.data() + n * in_features;
      int32_t s = bias[n];
      for (size_t k = 0; k < in_features; ++k) s += static_cast<int32_t>(x[k]) * w[k];
      acc[t * out_features + n] = s;
    }
  }
  return acc;
}

Status CheckLinearStatement(const CommitmentKey& key, const LinearStatement& s) {
  constexpr uint32_t kMaxDim = uint32_t{1} << 20;
  if (s.tokens == 0 || s.in_features == 0 || s.out_features == 0 || s.group == 0 ||
      s.tokens > kMaxDim || s.in_features > kMaxDim || s.out_features > kMaxDim ||
      s.group > kMaxDim)
    return Status::Corrupt("linear statement: bad dimensions");
  if (s.group != 1 && (!IsPowerOfTwo(s.in_features) || !IsPowerOfTwo(s.out_features)))
    return Status::Corrupt("linear statement: several tokens per row need power-of-two widths");
  const size_t gk = size_t{s.group} * s.in_features, gn = size_t{s.group} * s.out_features;
  if ((size_t{1} << CeilLog2(gk)) > key.max_vector_length() ||
      (size_t{1} << CeilLog2(gn)) > key.max_vector_length())
    return Status::Corrupt("linear statement: rows longer than the commitment key");
  if ((size_t{1} << CeilLog2(s.in_features)) > key.max_vector_length() ||
      (size_t{1} << CeilLog2(s.out_features)) > key.max_vector_length())
    return Status::Corrupt("linear statement: rows longer than the commitment key");
  VEIL_RETURN_IF_ERROR(CheckShape(s.weight, s.out_features, s.in_features, "weight"));
  VEIL_RETURN_IF_ERROR(CheckShape(s.bias, 1, s.out_features, "bias"));
  VEIL_RETURN_IF_ERROR(CheckShape(s.input, s.tokens, gk, "input"));
  VEIL_RETURN_IF_ERROR(CheckShape(s.accumulator, s.tokens, gn, "accumulator"));
  return Status::Ok();
}

Result<LinearProof> ProveLinear(const CommitmentKey& key, const LinearStatement& s,
                                const LinearWitness& w, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckLinearStatement(key, s));
  const size_t T = s.tokens, K = s.in_features, N = s.out_features, G = s.group;
  if (w.input.size() != T * G * K || w.weight.size() != N * K || w.bias.size() != N ||
      w.accumulator.size() != T * G * N)
    return Status::InvalidArgument("linear proof: witness sizes do not match the statement");
  const HyraxWitness input = MakeWitnessInt8(w.input, T, G * K, w.input_blinds);
  const HyraxWitness weight = MakeWitnessInt8(w.weight, N, K, w.weight_blinds);
  const HyraxWitness bias = MakeWitnessInt32(w.bias, 1, N, w.bias_blinds);
  const HyraxWitness acc = MakeWitnessInt32(w.accumulator, T, G * N, w.accumulator_blinds);

  AbsorbStatement(transcript, s);
  const std::vector<Scalar> r_t =
      transcript->ChallengeScalars("linear/r_t", s.input.row_vars + CeilLog2(s.group));
  const std::vector<Scalar> r_n = transcript->ChallengeScalars("linear/r_n", s.weight.row_vars);

  LinearProof proof;
  VEIL_ASSIGN_OR_RETURN(HyraxOpening a_open, HyraxProveEvaluation(key, s.accumulator, acc,
                                                                  Concat(r_t, r_n), transcript));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening b_open,
                        HyraxProveEvaluation(key, s.bias, bias, r_n, transcript));
  proof.accumulator_opening = a_open.proof;
  proof.bias_opening = b_open.proof;

  const Scalar e_t = TokenEqSum(s, r_t);
  CommittedValue claim;
  claim.value = a_open.evaluation.value - e_t * b_open.evaluation.value;
  claim.blind = a_open.evaluation.blind - e_t * b_open.evaluation.blind;
  claim.commitment = a_open.evaluation.commitment - b_open.evaluation.commitment.MulVartime(e_t);

  std::vector<std::vector<Scalar>> factors{CombineRows(input, r_t, G, K),
                                           CombineRows(weight, r_n, 1, K)};
  VEIL_ASSIGN_OR_RETURN(ZkSumcheckProverOutput sc,
                        ProveZkSumcheck(key, std::move(factors), claim, transcript));
  proof.sumcheck = std::move(sc.proof);

  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening x_open,
      HyraxProveEvaluation(key, s.input, input, Concat(r_t, sc.point), transcript));
  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening w_open,
      HyraxProveEvaluation(key, s.weight, weight, Concat(r_n, sc.point), transcript));
  proof.input_opening = x_open.proof;
  proof.weight_opening = w_open.proof;
  proof.product =
      ProveProduct(key, x_open.evaluation, w_open.evaluation, sc.final_claim, transcript);
  return proof;
}

Status VerifyLinear(const CommitmentKey& key, const LinearStatement& s, const LinearProof& proof,
                    Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckLinearStatement(key, s));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  AbsorbStatement(transcript, s);
  const std::vector<Scalar> r_t =
      transcript->ChallengeScalars("linear/r_t", s.input.row_vars + CeilLog2(s.group));
  const std::vector<Scalar> r_n = transcript->ChallengeScalars("linear/r_n", s.weight.row_vars);
  auto fail = [](const Status& st, const char* step) {
    return st.WithContext(std::string("linear proof rejected at ") + step);
  };
  Status st = HyraxVerifyEvaluation(key, s.accumulator, Concat(r_t, r_n), proof.accumulator_opening,
                                    transcript);
  if (!st.ok()) return fail(st, "the accumulator opening");
  st = HyraxVerifyEvaluation(key, s.bias, r_n, proof.bias_opening, transcript, b);
  if (!st.ok()) return fail(st, "the bias opening");
  const Scalar e_t = TokenEqSum(s, r_t);
  const Point claim =
      proof.accumulator_opening.evaluation - proof.bias_opening.evaluation.MulVartime(e_t);
  auto sc = VerifyZkSumcheck(key, proof.sumcheck, claim, CeilLog2(s.in_features), 2, transcript);
  if (!sc.ok()) return fail(sc.status(), "the sumcheck");
  st = HyraxVerifyEvaluation(key, s.input, Concat(r_t, sc->point), proof.input_opening, transcript,
                             b);
  if (!st.ok()) return fail(st, "the input opening");
  st = HyraxVerifyEvaluation(key, s.weight, Concat(r_n, sc->point), proof.weight_opening,
                             transcript);
  if (!st.ok()) return fail(st, "the weight opening");
  st = VerifyProduct(key, proof.input_opening.evaluation, proof.weight_opening.evaluation,
                     sc->final_claim, proof.product, transcript);
  if (!st.ok()) return fail(st, "the final product");
  if (batch == nullptr) return fail(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteLinearProof(std::vector<uint8_t>* out, const LinearProof& p) {
  WriteHyraxEvaluationProof(out, p.accumulator_opening);
  WriteHyraxEvaluationProof(out, p.bias_opening);
  WriteZkSumcheckProof(out, p.sumcheck);
  WriteHyraxEvaluationProof(out, p.input_opening);
  WriteHyraxEvaluationProof(out, p.weight_opening);
  WriteProductProof(out, p.product);
}

Result<LinearProof> ReadLinearProof(ZkReader* in, const LinearStatement& s) {
  LinearProof p;
  VEIL_ASSIGN_OR_RETURN(p.accumulator_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.bias_opening, ReadHyraxEvaluationProof(in));
  // ⌈log K⌉ rounds (K from the statement, else the input's width).
  const int rounds =
      s.in_features != 0 ? CeilLog2(s.in_features) : static_cast<int>(s.input.col_vars);
  VEIL_ASSIGN_OR_RETURN(p.sumcheck, ReadZkSumcheckProof(in, rounds, 2));
  VEIL_ASSIGN_OR_RETURN(p.input_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.weight_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  return p;
}

}  // namespace veil::zk
