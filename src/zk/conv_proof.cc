#include "veil/zk/conv_proof.h"

#include <string>

#include "op_util.h"
#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

using internal::ConcatPoint;

int Lo(const ConvShape& s) { return CeilLog2(s.o); }
int Lp(const ConvShape& s) { return CeilLog2(s.p()); }
int Lk(const ConvShape& s) { return CeilLog2(s.k()); }

void AbsorbStatement(Transcript* t, const ConvStatement& s) {
  internal::AbsorbProtocol(t, "veil/zk/conv/v1");
  const ConvShape& g = s.shape;
  for (uint32_t v :
       {s.batch, g.c, g.h, g.w, g.o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, g.oh, g.ow})
    t->AppendU64("conv/shape", v);
  internal::AbsorbCommitment(t, "conv/weight", s.weight);
  internal::AbsorbCommitment(t, "conv/bias", s.bias);
  internal::AbsorbCommitment(t, "conv/input", s.input);
  internal::AbsorbCommitment(t, "conv/accumulator", s.accumulator);
}

// Ẽ(ρ) = Σ_{o<O, p<P} eq(ρ_o, o)·eq(ρ_p, p)·eq(r_j, o·P + p).
Scalar LayoutWeight(const ConvShape& s, std::span<const Scalar> r_j, std::span<const Scalar> rho) {
  const std::vector<Scalar> eq_j = EqTable(r_j);
  const std::vector<Scalar> eq_o = EqTable(rho.first(static_cast<size_t>(Lo(s))));
  const std::vector<Scalar> eq_p = EqTable(rho.subspan(static_cast<size_t>(Lo(s))));
  const size_t P = s.p();
  Scalar total;
  for (size_t o = 0; o < s.o; ++o) {
    Scalar row;
    for (size_t p = 0; p < P; ++p) row += eq_p[p] * eq_j[o * P + p];
    total += eq_o[o] * row;
  }
  return total;
}

// w_i = Σ_{(p,k): idx(p,k) = i} eq(ρ_p, p)·eq(r_k, k), padded to 2^col_vars of the input.
std::vector<Scalar> InputVector(const ConvShape& s, std::span<const Scalar> rho_p,
                                std::span<const Scalar> r_k, uint32_t col_vars) {
  const std::vector<Scalar> eq_p = EqTable(rho_p), eq_k = EqTable(r_k);
  std::vector<Scalar> w(size_t{1} << col_vars);
  for (size_t p = 0; p < s.p(); ++p)
    for (size_t k = 0; k < s.k(); ++k) {
      const int64_t i = s.Index(p, k);
      if (i >= 0) w[static_cast<size_t>(i)] += eq_p[p] * eq_k[k];
    }
  return w;
}

}  // namespace

int64_t ConvShape::Index(size_t p, size_t k) const {
  const size_t i = p / ow, j = p % ow;
  const size_t ch = k / (size_t{kh} * kw), u = (k / kw) % kh, v = k % kw;
  const int64_t row = static_cast<int64_t>(i * sh + u * dh) - pt;
  const int64_t col = static_cast<int64_t>(j * sw + v * dw) - pl;
  if (row < 0 || row >= h || col < 0 || col >= w) return -1;
  return static_cast<int64_t>(ch * h * w) + row * w + col;
}

std::vector<int32_t> ConvAccumulators(const ConvShape& s, std::span<const int8_t> input,
                                      std::span<const int8_t> weight, std::span<const int32_t> bias,
                                      size_t batch) {
  const size_t P = s.p(), K = s.k(), in = s.in_cols();
  std::vector<int64_t> index(P * K);
  for (size_t p = 0; p < P; ++p)
    for (size_t k = 0; k < K; ++k) index[p * K + k] = s.Index(p, k);
  std::vector<int32_t> acc(batch * s.out_cols());
  for (size_t b = 0; b < batch; ++b)
    for (size_t o = 0; o < s.o; ++o)
      for (size_t p = 0; p < P; ++p) {
        int32_t sum = bias[o];
        for (size_t k = 0; k < K; ++k) {
          const int64_t i = index[p * K + k];
          if (i >= 0) sum += int32_t{input[b * in + static_cast<size_t>(i)]} * weight[o * K + k];
        }
        acc[b * s.out_cols() + o * P + p] = sum;
      }
  return acc;
}

Status CheckConvStatement(const CommitmentKey& key, const ConvStatement& s) {
  const ConvShape& g = s.shape;
  constexpr uint32_t kMaxDim = uint32_t{1} << 20;
  if (s.batch == 0 || s.batch > kMaxDim || g.c == 0 || g.h == 0 || g.w == 0 || g.o == 0 ||
      g.kh == 0 || g.kw == 0 || g.oh == 0 || g.ow == 0 || g.sh == 0 || g.sw == 0 || g.dh == 0 ||
      g.dw == 0 || g.in_cols() > kMaxDim || g.out_cols() > kMaxDim || g.k() > kMaxDim)
    return Status::Corrupt("conv statement: bad dimensions");
  for (size_t n : {g.in_cols(), g.out_cols(), g.k(), size_t{g.o}})
    if ((size_t{1} << CeilLog2(n)) > key.max_vector_length())
      return Status::Corrupt("conv statement: rows longer than the commitment key");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.weight, g.o, g.k(), "conv weight"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.bias, 1, g.o, "conv bias"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.input, s.batch, g.in_cols(), "conv input"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.accumulator, s.batch, g.out_cols(), "conv accumulator"));
  return Status::Ok();
}

Result<ConvProof> ProveConv(const CommitmentKey& key, const ConvStatement& s, const ConvWitness& w,
                            Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckConvStatement(key, s));
  const ConvShape& g = s.shape;
  const size_t B = s.batch, O = g.o, P = g.p(), K = g.k(), IN = g.in_cols(), J = g.out_cols();
  if (w.input.size() != B * IN || w.weight.size() != O * K || w.bias.size() != O ||
      w.accumulator.size() != B * J)
    return Status::InvalidArgument("conv proof: witness sizes do not match the statement");
  const HyraxWitness input = MakeWitnessInt8(w.input, B, IN, w.input_blinds);
  const HyraxWitness weight = MakeWitnessInt8(w.weight, O, K, w.weight_blinds);
  const HyraxWitness bias = MakeWitnessInt32(w.bias, 1, O, w.bias_blinds);
  const HyraxWitness acc = MakeWitnessInt32(w.accumulator, B, J, w.accumulator_blinds);
  const int lo = Lo(g), lp = Lp(g), lk = Lk(g);

  AbsorbStatement(transcript, s);
  const std::vector<Scalar> r_b = transcript->ChallengeScalars("conv/r_b", s.input.row_vars);
  const std::vector<Scalar> r_j = transcript->ChallengeScalars("conv/r_j", s.accumulator.col_vars);
  ConvProof proof;
  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening a_open,
      HyraxProveEvaluation(key, s.accumulator, acc, ConcatPoint(r_b, r_j), transcript));
  proof.accumulator_opening = a_open.proof;

  // Layout sumcheck: Σ_{o,p} E(o,p)·G(o,p).
  const std::vector<Scalar> eq_b = EqTable(r_b), eq_j = EqTable(r_j);
  const size_t Pp = size_t{1} << lp;
  std::vector<Scalar> e(size_t{1} << (lo + lp)), gv(size_t{1} << (lo + lp));
  for (size_t o = 0; o < O; ++o)
    for (size_t p = 0; p < P; ++p) {
      e[o * Pp + p] = eq_j[o * P + p];
      Scalar sum;
      for (size_t b = 0; b < B; ++b) sum += eq_b[b] * acc.values[b * J + o * P + p];
      gv[o * Pp + p] = sum;
    }
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput layout,
      ProveZkSumcheck(key, {std::move(e), std::move(gv)}, a_open.evaluation, transcript));
  proof.layout = std::move(layout.proof);
  const std::span<const Scalar> rho(layout.point);
  const std::span<const Scalar> rho_o = rho.first(static_cast<size_t>(lo));
  const std::span<const Scalar> rho_p = rho.subspan(static_cast<size_t>(lo));
  const Scalar e_rho = LayoutWeight(g, r_j, rho);
  if (e_rho.IsZero()) return Status::Internal("conv proof: degenerate challenge");
  const Scalar e_inv = e_rho.Invert();
  CommittedValue v{layout.final_claim.value * e_inv, layout.final_claim.blind * e_inv,
                   layout.final_claim.commitment.MulVartime(e_inv)};

  VEIL_ASSIGN_OR_RETURN(HyraxOpening b_open,
                        HyraxProveEvaluation(key, s.bias, bias, rho_o, transcript));
  proof.bias_opening = b_open.proof;
  const Scalar scale = PrefixEqSum(r_b, B) * PrefixEqSum(rho_p, P);
  CommittedValue claim{v.value - scale * b_open.evaluation.value,
                       v.blind - scale * b_open.evaluation.blind,
                       v.commitment - b_open.evaluation.commitment.MulVartime(scale)};

  // Sumcheck over k: f1(k) = X̃'(r_b, ρ_p, k), f2(k) = W̃(ρ_o, k).
  std::vector<Scalar> xr(IN);
  for (size_t b = 0; b < B; ++b)
    for (size_t i = 0; i < IN; ++i) xr[i] += eq_b[b] * input.values[b * IN + i];
  const std::vector<Scalar> eq_p = EqTable(rho_p), eq_o = EqTable(rho_o);
  std::vector<Scalar> f1(size_t{1} << lk), f2(size_t{1} << lk);
  for (size_t p = 0; p < P; ++p)
    for (size_t k = 0; k < K; ++k) {
      const int64_t i = g.Index(p, k);
      if (i >= 0) f1[k] += eq_p[p] * xr[static_cast<size_t>(i)];
    }
  for (size_t o = 0; o < O; ++o)
    for (size_t k = 0; k < K; ++k) f2[k] += eq_o[o] * weight.values[o * K + k];
  VEIL_ASSIGN_OR_RETURN(ZkSumcheckProverOutput sc,
                        ProveZkSumcheck(key, {std::move(f1), std::move(f2)}, claim, transcript));
  proof.sumcheck = std::move(sc.proof);
  const std::vector<Scalar> right = InputVector(g, rho_p, sc.point, s.input.col_vars);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening x_open,
                        HyraxProveTensor(key, s.input, input, eq_b, right, transcript));
  VEIL_ASSIGN_OR_RETURN(
      HyraxOpening w_open,
      HyraxProveEvaluation(key, s.weight, weight, ConcatPoint(rho_o, sc.point), transcript));
  proof.input_opening = x_open.proof;
  proof.weight_opening = w_open.proof;
  proof.product =
      ProveProduct(key, x_open.evaluation, w_open.evaluation, sc.final_claim, transcript);
  return proof;
}

Status VerifyConv(const CommitmentKey& key, const ConvStatement& s, const ConvProof& proof,
                  Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckConvStatement(key, s));
  BatchVerifier local;
  BatchVerifier* bv = batch != nullptr ? batch : &local;
  const ConvShape& g = s.shape;
  const int lo = Lo(g), lp = Lp(g), lk = Lk(g);
  auto fail = [](const Status& st, const char* step) {
    return st.WithContext(std::string("conv proof rejected at ") + step);
  };
  AbsorbStatement(transcript, s);
  const std::vector<Scalar> r_b = transcript->ChallengeScalars("conv/r_b", s.input.row_vars);
  const std::vector<Scalar> r_j = transcript->ChallengeScalars("conv/r_j", s.accumulator.col_vars);
  Status st = HyraxVerifyEvaluation(key, s.accumulator, ConcatPoint(r_b, r_j),
                                    proof.accumulator_opening, transcript, bv);
  if (!st.ok()) return fail(st, "the accumulator opening");
  auto layout = VerifyZkSumcheck(key, proof.layout, proof.accumulator_opening.evaluation, lo + lp,
                                 2, transcript);
  if (!layout.ok()) return fail(layout.status(), "the layout sumcheck");
  const std::span<const Scalar> rho(layout->point);
  const std::span<const Scalar> rho_o = rho.first(static_cast<size_t>(lo));
  const std::span<const Scalar> rho_p = rho.subspan(static_cast<size_t>(lo));
  const Scalar e_rho = LayoutWeight(g, r_j, rho);
  if (e_rho.IsZero()) return Status::Corrupt("conv proof: degenerate challenge");
  const Point v = layout->final_claim.MulVartime(e_rho.Invert());
  st = HyraxVerifyEvaluation(key, s.bias, rho_o, proof.bias_opening, transcript, bv);
  if (!st.ok()) return fail(st, "the bias opening");
  const Scalar scale = PrefixEqSum(r_b, s.batch) * PrefixEqSum(rho_p, g.p());
  const Point claim = v - proof.bias_opening.evaluation.MulVartime(scale);
  auto sc = VerifyZkSumcheck(key, proof.sumcheck, claim, lk, 2, transcript);
  if (!sc.ok()) return fail(sc.status(), "the sumcheck over the kernel");
  const std::vector<Scalar> eq_b = EqTable(r_b);
  const std::vector<Scalar> right = InputVector(g, rho_p, sc->point, s.input.col_vars);
  st = HyraxVerifyTensor(key, s.input, eq_b, right, proof.input_opening, transcript, bv);
  if (!st.ok()) return fail(st, "the input opening");
  st = HyraxVerifyEvaluation(key, s.weight, ConcatPoint(rho_o, sc->point), proof.weight_opening,
                             transcript, bv);
  if (!st.ok()) return fail(st, "the weight opening");
  st = VerifyProduct(key, proof.input_opening.evaluation, proof.weight_opening.evaluation,
                     sc->final_claim, proof.product, transcript);
  if (!st.ok()) return fail(st, "the final product");
  if (batch == nullptr) return fail(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteConvProof(std::vector<uint8_t>* out, const ConvProof& p) {
  WriteHyraxEvaluationProof(out, p.accumulator_opening);
  WriteZkSumcheckProof(out, p.layout);
  WriteHyraxEvaluationProof(out, p.bias_opening);
  WriteZkSumcheckProof(out, p.sumcheck);
  WriteHyraxEvaluationProof(out, p.input_opening);
  WriteHyraxEvaluationProof(out, p.weight_opening);
  WriteProductProof(out, p.product);
}

Result<ConvProof> ReadConvProof(ZkReader* in, const ConvShape& g) {
  ConvProof p;
  VEIL_ASSIGN_OR_RETURN(p.accumulator_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.layout, ReadZkSumcheckProof(in, Lo(g) + Lp(g), 2));
  VEIL_ASSIGN_OR_RETURN(p.bias_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.sumcheck, ReadZkSumcheckProof(in, Lk(g), 2));
  VEIL_ASSIGN_OR_RETURN(p.input_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.weight_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  return p;
}

}  // namespace veil::zk
