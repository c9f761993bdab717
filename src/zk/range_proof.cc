#include "veil/zk/range_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

struct Layout {
  uint32_t bit_vars, row_vars, col_vars;  // of j, t, c
  size_t rows;                            // committed bit rows: bits · 2^row_vars
};

Result<Layout> MakeLayout(const HyraxCommitment& c, uint32_t bits) {
  if (bits == 0 || bits > kMaxRangeBits)
    return Status::InvalidArgument("range proof: bits must be in [1, 64], got " +
                                   std::to_string(bits));
  Layout l;
  l.bit_vars = static_cast<uint32_t>(CeilLog2(bits));
  l.row_vars = c.row_vars;
  l.col_vars = c.col_vars;
  if (l.bit_vars + l.row_vars > kHyraxMaxVars || l.bit_vars + l.row_vars + l.col_vars > 30)
    return Status::InvalidArgument("range proof: matrix too large");
  l.rows = static_cast<size_t>(bits) << l.row_vars;
  return l;
}

void AbsorbStatement(Transcript* t, const HyraxCommitment& c, uint32_t bits) {
  constexpr std::string_view kProtocol = "veil/zk/range/v1";
  t->AppendBytes("protocol",
                 {reinterpret_cast<const uint8_t*>(kProtocol.data()), kProtocol.size()});
  t->AppendU64("range/bits", bits);
  t->AppendU64("range/row_vars", c.row_vars);
  t->AppendU64("range/col_vars", c.col_vars);
  t->AppendPoints("range/values", c.rows);
}

// (2^j)_{j < bits} ⊗ eq(ρ_rows), padded to 2^(bit_vars + row_vars).
std::vector<Scalar> RecompositionLeft(const Layout& l, uint32_t bits,
                                      std::span<const Scalar> rho_rows) {
  const std::vector<Scalar> eq = EqTable(rho_rows);
  std::vector<Scalar> left(size_t{1} << (l.bit_vars + l.row_vars));
  Scalar power = Scalar::One();
  for (uint32_t j = 0; j < bits; ++j) {
    for (size_t t = 0; t < eq.size(); ++t) left[(size_t{j} << l.row_vars) + t] = power * eq[t];
    power += power;
  }
  return left;
}

}  // namespace

Result<RangeProof> ProveRange(const CommitmentKey& key, const HyraxCommitment& commitment,
                              const HyraxWitness& witness, std::span<const uint64_t> values,
                              uint32_t bits, Transcript* transcript) {
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeLayout(commitment, bits));
  if (values.size() != witness.rows * witness.cols || witness.rows != commitment.rows.size())
    return Status::InvalidArgument("range proof: values do not match the commitment");
  AbsorbStatement(transcript, commitment, bits);
  const size_t cols = witness.cols;
  const size_t padded_cols = size_t{1} << l.col_vars;
  // Bit rows: row j·2^tv + t holds bit j of row t (zero for padding rows t >= rows).
  std::vector<int8_t> bit_matrix(l.rows * cols, 0);
  for (uint32_t j = 0; j < bits; ++j)
    for (size_t t = 0; t < witness.rows; ++t)
      for (size_t c = 0; c < cols; ++c)
        bit_matrix[((size_t{j} << l.row_vars) + t) * cols + c] =
            static_cast<int8_t>((values[t * cols + c] >> j) & 1);
  std::vector<Scalar> bit_blinds(l.rows);
  for (uint32_t j = 0; j < bits; ++j)
    for (size_t t = 0; t < witness.rows; ++t)
      bit_blinds[(size_t{j} << l.row_vars) + t] = Scalar::Random();
  RangeProof proof;
  VEIL_ASSIGN_OR_RETURN(proof.bits, HyraxCommitInt8(key, bit_matrix, l.rows, cols, bit_blinds));
  // CeilLog2(bits · 2^tv) = bit_vars + tv: the row index is (j, t).
  const HyraxWitness bit_witness = MakeWitnessInt8(bit_matrix, l.rows, cols, bit_blinds);
  transcript->AppendPoints("range/bits", proof.bits.rows);

  // Booleanity.
  const uint32_t total_vars = l.bit_vars + l.row_vars + l.col_vars;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("range/tau", total_vars);
  std::vector<Scalar> b_full(size_t{1} << total_vars),
      one_minus(size_t{1} << total_vars, Scalar::One());
  for (size_t r = 0; r < l.rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const Scalar& v = bit_witness.values[r * cols + c];
      b_full[r * padded_cols + c] = v;
      one_minus[r * padded_cols + c] = Scalar::One() - v;
    }
  const CommittedValue zero{Scalar::Zero(), Scalar::Zero(), Point()};
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput sc,
      ProveZkSumcheck(key, {EqTable(tau), std::move(b_full), std::move(one_minus)}, zero,
                      transcript));
  proof.booleanity = std::move(sc.proof);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening b_open,
                        HyraxProveEvaluation(key, proof.bits, bit_witness, sc.point, transcript));
  proof.bit_opening = b_open.proof;
  const CommittedValue one_minus_b{Scalar::One() - b_open.evaluation.value,
                                   -b_open.evaluation.blind,
                                   key.g() - b_open.evaluation.commitment};
  const CommittedValue z = CommitFresh(key, b_open.evaluation.value * one_minus_b.value);
  proof.bit_product = z.commitment;
  transcript->AppendPoint("range/bit_product", z.commitment);
  proof.product = ProveProduct(key, b_open.evaluation, one_minus_b, z, transcript);
  const Scalar e = EqAt(tau, sc.point);
  proof.booleanity_final = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                         z.commitment.MulVartime(e), e * z.blind, transcript);

  // Recomposition.
  const std::vector<Scalar> rho =
      transcript->ChallengeScalars("range/rho", l.row_vars + l.col_vars);
  VEIL_ASSIGN_OR_RETURN(HyraxOpening v_open,
                        HyraxProveEvaluation(key, commitment, witness, rho, transcript));
  const std::vector<Scalar> left =
      RecompositionLeft(l, bits, std::span<const Scalar>(rho).first(l.row_vars));
  const std::vector<Scalar> right = EqTable(std::span<const Scalar>(rho).subspan(l.row_vars));
  VEIL_ASSIGN_OR_RETURN(HyraxOpening rec,
                        HyraxProveTensor(key, proof.bits, bit_witness, left, right, transcript));
  proof.value_opening = v_open.proof;
  proof.recomposition = rec.proof;
  proof.recomposition_equal =
      ProveEquality(key, v_open.evaluation.commitment, v_open.evaluation.blind,
                    rec.evaluation.commitment, rec.evaluation.blind, transcript);
  return proof;
}

Status VerifyRange(const CommitmentKey& key, const HyraxCommitment& commitment, uint32_t bits,
                   const RangeProof& proof, Transcript* transcript, BatchVerifier* batch) {
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeLayout(commitment, bits));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  if (proof.bits.row_vars != l.bit_vars + l.row_vars || proof.bits.col_vars != l.col_vars ||
      proof.bits.rows.size() > l.rows)
    return Status::Corrupt("range proof: bit commitment has the wrong shape");
  AbsorbStatement(transcript, commitment, bits);
  transcript->AppendPoints("range/bits", proof.bits.rows);
  const uint32_t total_vars = l.bit_vars + l.row_vars + l.col_vars;
  const std::vector<Scalar> tau = transcript->ChallengeScalars("range/tau", total_vars);
  auto sc =
      VerifyZkSumcheck(key, proof.booleanity, Point(), static_cast<int>(total_vars), 3, transcript);
  if (!sc.ok()) return sc.status().WithContext("range proof: booleanity sumcheck");
  Status s = HyraxVerifyEvaluation(key, proof.bits, sc->point, proof.bit_opening, transcript, b);
  if (!s.ok()) return s.WithContext("range proof: bit opening");
  transcript->AppendPoint("range/bit_product", proof.bit_product);
  s = VerifyProduct(key, proof.bit_opening.evaluation, key.g() - proof.bit_opening.evaluation,
                    proof.bit_product, proof.product, transcript);
  if (!s.ok()) return s.WithContext("range proof: bit product");
  const Scalar e = EqAt(tau, sc->point);
  s = VerifyEquality(key, sc->final_claim, proof.bit_product.MulVartime(e), proof.booleanity_final,
                     transcript);
  if (!s.ok()) return s.WithContext("range proof: booleanity");
  const std::vector<Scalar> rho =
      transcript->ChallengeScalars("range/rho", l.row_vars + l.col_vars);
  s = HyraxVerifyEvaluation(key, commitment, rho, proof.value_opening, transcript, b);
  if (!s.ok()) return s.WithContext("range proof: value opening");
  const std::vector<Scalar> left =
      RecompositionLeft(l, bits, std::span<const Scalar>(rho).first(l.row_vars));
  const std::vector<Scalar> right = EqTable(std::span<const Scalar>(rho).subspan(l.row_vars));
  s = HyraxVerifyTensor(key, proof.bits, left, right, proof.recomposition, transcript, b);
  if (!s.ok()) return s.WithContext("range proof: recomposition opening");
  s = VerifyEquality(key, proof.value_opening.evaluation, proof.recomposition.evaluation,
                     proof.recomposition_equal, transcript);
  if (!s.ok()) return s.WithContext("range proof: recomposition");
  if (batch == nullptr) return local.Check(key);
  return Status::Ok();
}

void WriteRangeProof(std::vector<uint8_t>* out, const RangeProof& p) {
  WriteHyraxCommitment(out, p.bits);
  WriteZkSumcheckProof(out, p.booleanity);
  WriteHyraxEvaluationProof(out, p.bit_opening);
  WritePoint(out, p.bit_product);
  WriteProductProof(out, p.product);
  WriteEqualityProof(out, p.booleanity_final);
  WriteHyraxEvaluationProof(out, p.value_opening);
  WriteHyraxEvaluationProof(out, p.recomposition);
  WriteEqualityProof(out, p.recomposition_equal);
}

Result<RangeProof> ReadRangeProof(ZkReader* in, const HyraxCommitment& commitment, uint32_t bits) {
  VEIL_ASSIGN_OR_RETURN(const Layout l, MakeLayout(commitment, bits));
  RangeProof p;
  VEIL_ASSIGN_OR_RETURN(p.bits, ReadHyraxCommitment(in));
  if (p.bits.row_vars != l.bit_vars + l.row_vars || p.bits.col_vars != l.col_vars)
    return Status::Corrupt("range proof: bit commitment has the wrong shape");
  VEIL_ASSIGN_OR_RETURN(
      p.booleanity,
      ReadZkSumcheckProof(in, static_cast<int>(l.bit_vars + l.row_vars + l.col_vars), 3));
  VEIL_ASSIGN_OR_RETURN(p.bit_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.bit_product, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  VEIL_ASSIGN_OR_RETURN(p.booleanity_final, ReadEqualityProof(in));
  VEIL_ASSIGN_OR_RETURN(p.value_opening, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.recomposition, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.recomposition_equal, ReadEqualityProof(in));
  return p;
}

}  // namespace veil::zk
