#include "veil/zk/hyrax.h"

#include <sodium.h>

#include <string>

#include "veil/zk/msm.h"
#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

Status CheckShape(const CommitmentKey& key, size_t values, size_t rows, size_t cols,
                  size_t blinds) {
  if (rows == 0 || cols == 0 || values != rows * cols)
    return Status::InvalidArgument("Hyrax commitment: " + std::to_string(values) +
                                   " values for a " + std::to_string(rows) + "x" +
                                   std::to_string(cols) + " matrix");
  if (CeilLog2(rows) > static_cast<int>(kHyraxMaxVars) ||
      CeilLog2(cols) > static_cast<int>(kHyraxMaxVars))
    return Status::InvalidArgument("Hyrax commitment: matrix too large");
  if (cols > key.max_vector_length())
    return Status::InvalidArgument("Hyrax commitment: rows of " + std::to_string(cols) +
                                   " entries exceed the key's " +
                                   std::to_string(key.max_vector_length()) + " generators");
  if (blinds != rows)
    return Status::InvalidArgument("Hyrax commitment: " + std::to_string(blinds) + " blinds for " +
                                   std::to_string(rows) + " rows");
  return Status::Ok();
}

// Commits every row with `row_msm(values of row i, generators)`; rows in parallel when there
// are enough of them, otherwise the MSM itself is split.
template <typename T, typename RowMsm>
Result<HyraxCommitment> CommitRows(const CommitmentKey& key, std::span<const T> values, size_t rows,
                                   size_t cols, std::span<const Scalar> blinds, ThreadPool* pool,
                                   RowMsm row_msm) {
  VEIL_RETURN_IF_ERROR(CheckShape(key, values.size(), rows, cols, blinds.size()));
  HyraxCommitment c;
  c.row_vars = static_cast<uint32_t>(CeilLog2(rows));
  c.col_vars = static_cast<uint32_t>(CeilLog2(cols));
  c.rows.resize(rows);
  const std::span<const AffineNielsPoint> gens = key.vector_generators().g_affine().first(cols);
  const bool split_rows =
      pool != nullptr && pool->threads() > 1 && rows >= 2 * static_cast<size_t>(pool->threads());
  auto commit = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const size_t r = static_cast<size_t>(i);
      c.rows[r] = row_msm(values.subspan(r * cols, cols), gens, split_rows ? nullptr : pool) +
                  key.MulH(blinds[r]);
    }
  };
  if (split_rows)
    pool->ParallelFor(static_cast<int64_t>(rows), 1, commit);
  else
    commit(0, static_cast<int64_t>(rows));
  return c;
}

}  // namespace

Scalar DeriveBlind(std::span<const uint8_t, 32> seed, std::string_view label, uint64_t index) {
  constexpr std::string_view kTag = "veil/zk/blind/v1";
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, reinterpret_cast<const uint8_t*>(kTag.data()), kTag.size());
  crypto_hash_sha512_update(&st, seed.data(), seed.size());
  auto put64 = [&](uint64_t v) {
    uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(v >> (8 * i));
    crypto_hash_sha512_update(&st, le, 8);
  };
  put64(label.size());
  crypto_hash_sha512_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  put64(index);
  std::array<uint8_t, 64> h;
  crypto_hash_sha512_final(&st, h.data());
  sodium_memzero(&st, sizeof st);
  const Scalar s = Scalar::FromBytesWide(h);
  sodium_memzero(h.data(), h.size());
  return s;
}

Result<HyraxCommitment> HyraxCommitInt8(const CommitmentKey& key, std::span<const int8_t> values,
                                        size_t rows, size_t cols, std::span<const Scalar> blinds,
                                        ThreadPool* pool) {
  return CommitRows(key, values, rows, cols, blinds, pool,
                    [](std::span<const int8_t> row, std::span<const AffineNielsPoint> g,
                       ThreadPool* p) { return MsmInt8(row, g, p); });
}

Result<HyraxCommitment> HyraxCommitInt32(const CommitmentKey& key, std::span<const int32_t> values,
                                         size_t rows, size_t cols, std::span<const Scalar> blinds,
                                         ThreadPool* pool) {
  return CommitRows(key, values, rows, cols, blinds, pool,
                    [](std::span<const int32_t> row, std::span<const AffineNielsPoint> g,
                       ThreadPool* p) { return MsmInt32(row, g, p); });
}

Result<HyraxCommitment> HyraxCommitScalars(const CommitmentKey& key, std::span<const Scalar> values,
                                           size_t rows, size_t cols, std::span<const Scalar> blinds,
                                           ThreadPool* pool) {
  return CommitRows(key, values, rows, cols, blinds, pool,
                    [](std::span<const Scalar> row, std::span<const AffineNielsPoint> g,
                       ThreadPool* p) { return MsmAffine(row, g, p); });
}

HyraxWitness MakeWitnessInt8(std::span<const int8_t> values, size_t rows, size_t cols,
                             std::vector<Scalar> blinds) {
  std::array<Scalar, 256> table;
  for (int v = -128; v < 128; ++v) table[static_cast<size_t>(v + 128)] = Scalar::FromInt64(v);
  HyraxWitness w;
  w.rows = rows;
  w.cols = cols;
  w.row_vars = static_cast<uint32_t>(CeilLog2(rows));
  w.col_vars = static_cast<uint32_t>(CeilLog2(cols));
  w.values.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    w.values[i] = table[static_cast<size_t>(values[i] + 128)];
  w.blinds = std::move(blinds);
  return w;
}

Status CheckHyraxShape(const HyraxCommitment& c, size_t rows, size_t cols,
                       const std::string& what) {
  if (c.rows.size() != rows || c.row_vars != static_cast<uint32_t>(CeilLog2(rows)) ||
      c.col_vars != static_cast<uint32_t>(CeilLog2(cols)))
    return Status::Corrupt(what + " commitment does not have shape " + std::to_string(rows) + "x" +
                           std::to_string(cols));
  return Status::Ok();
}

HyraxWitness MakeWitnessScalars(std::vector<Scalar> values, size_t rows, size_t cols,
                                std::vector<Scalar> blinds) {
  HyraxWitness w;
  w.rows = rows;
  w.cols = cols;
  w.row_vars = static_cast<uint32_t>(CeilLog2(rows));
  w.col_vars = static_cast<uint32_t>(CeilLog2(cols));
  w.values = std::move(values);
  w.blinds = std::move(blinds);
  return w;
}

HyraxWitness MakeWitnessInt64(std::span<const int64_t> values, size_t rows, size_t cols,
                              std::vector<Scalar> blinds) {
  std::vector<Scalar> v(values.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = Scalar::FromInt64(values[i]);
  return MakeWitnessScalars(std::move(v), rows, cols, std::move(blinds));
}

std::vector<Scalar> FreshBlinds(size_t n) {
  std::vector<Scalar> b(n);
  for (Scalar& x : b) x = Scalar::Random();
  return b;
}

HyraxWitness MakeWitnessInt32(std::span<const int32_t> values, size_t rows, size_t cols,
                              std::vector<Scalar> blinds) {
  HyraxWitness w;
  w.rows = rows;
  w.cols = cols;
  w.row_vars = static_cast<uint32_t>(CeilLog2(rows));
  w.col_vars = static_cast<uint32_t>(CeilLog2(cols));
  w.values.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) w.values[i] = Scalar::FromInt64(values[i]);
  w.blinds = std::move(blinds);
  return w;
}

namespace {

Status CheckPoint(const HyraxCommitment& c, std::span<const Scalar> point) {
  if (c.row_vars > kHyraxMaxVars || c.col_vars > kHyraxMaxVars ||
      point.size() != static_cast<size_t>(c.row_vars) + c.col_vars ||
      c.rows.size() > (size_t{1} << c.row_vars))
    return Status::Corrupt("Hyrax evaluation: point has " + std::to_string(point.size()) +
                           " coordinates for a commitment with " + std::to_string(c.row_vars) +
                           "+" + std::to_string(c.col_vars) + " variables");
  return Status::Ok();
}

void AbsorbCommitment(Transcript* t, const HyraxCommitment& c, std::span<const Scalar> point) {
  t->AppendU64("hyrax/row_vars", c.row_vars);
  t->AppendU64("hyrax/col_vars", c.col_vars);
  t->AppendPoints("hyrax/rows", c.rows);
  for (const Scalar& r : point) t->AppendScalar("hyrax/point", r);
}

}  // namespace

namespace {

Status CheckWitness(const HyraxCommitment& commitment, const HyraxWitness& witness) {
  if (witness.row_vars != commitment.row_vars || witness.col_vars != commitment.col_vars ||
      witness.rows != commitment.rows.size() || witness.blinds.size() != witness.rows ||
      witness.values.size() != witness.rows * witness.cols)
    return Status::InvalidArgument("Hyrax opening: witness does not match the commitment");
  return Status::Ok();
}

// Proves <left ⊗ right, M> after the caller absorbed what identifies the vectors.
Result<HyraxOpening> ProveTensorAbsorbed(const CommitmentKey& key,
                                         const HyraxCommitment& commitment,
                                         const HyraxWitness& witness, std::span<const Scalar> left,
                                         std::span<const Scalar> right, Transcript* transcript) {
  // v = Lᵀ·M (padded to 2^col_vars) and its blind Σ L_i r_i.
  std::vector<Scalar> v(right.size());
  Scalar v_blind;
  for (size_t i = 0; i < witness.rows; ++i) {
    const Scalar li = left[i];
    const Scalar* row = witness.values.data() + i * witness.cols;
    for (size_t j = 0; j < witness.cols; ++j) v[j] += li * row[j];
    v_blind += li * witness.blinds[i];
  }
  Scalar y;
  for (size_t j = 0; j < v.size(); ++j) y += v[j] * right[j];
  HyraxOpening out;
  out.evaluation = CommitFresh(key, y);
  out.proof.evaluation = out.evaluation.commitment;
  const Point combined =
      MsmAffine(left.first(commitment.rows.size()), BatchToAffineNiels(commitment.rows));
  VEIL_ASSIGN_OR_RETURN(out.proof.proof, ProveDotProduct(key, combined, v, v_blind, out.evaluation,
                                                         right, transcript));
  return out;
}

Status VerifyTensorAbsorbed(const CommitmentKey& key, const HyraxCommitment& commitment,
                            std::span<const Scalar> left, std::span<const Scalar> right,
                            const HyraxEvaluationProof& proof, Transcript* transcript,
                            BatchVerifier* batch) {
  if ((size_t{1} << commitment.col_vars) > key.max_vector_length())
    return Status::Corrupt("Hyrax opening: commitment rows wider than the key");
  const Point combined =
      MsmAffine(left.first(commitment.rows.size()), BatchToAffineNiels(commitment.rows));
  Status s =
      VerifyDotProduct(key, combined, proof.evaluation, right, proof.proof, transcript, batch);
  if (!s.ok()) return s.WithContext("Hyrax opening");
  return Status::Ok();
}

Status CheckTensorShape(const HyraxCommitment& c, std::span<const Scalar> left,
                        std::span<const Scalar> right) {
  if (c.row_vars > kHyraxMaxVars || c.col_vars > kHyraxMaxVars ||
      left.size() != (size_t{1} << c.row_vars) || right.size() != (size_t{1} << c.col_vars) ||
      c.rows.size() > left.size())
    return Status::Corrupt("Hyrax opening: vectors of " + std::to_string(left.size()) + " and " +
                           std::to_string(right.size()) + " entries for a commitment with " +
                           std::to_string(c.row_vars) + "+" + std::to_string(c.col_vars) +
                           " variables");
  return Status::Ok();
}

void AbsorbTensor(Transcript* t, const HyraxCommitment& c, std::span<const Scalar> left,
                  std::span<const Scalar> right) {
  t->AppendU64("hyrax/row_vars", c.row_vars);
  t->AppendU64("hyrax/col_vars", c.col_vars);
  t->AppendPoints("hyrax/rows", c.rows);
  for (const Scalar& x : left) t->AppendScalar("hyrax/left", x);
  for (const Scalar& x : right) t->AppendScalar("hyrax/right", x);
}

}  // namespace

Result<HyraxOpening> HyraxProveEvaluation(const CommitmentKey& key,
                                          const HyraxCommitment& commitment,
                                          const HyraxWitness& witness,
                                          std::span<const Scalar> point, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckPoint(commitment, point));
  VEIL_RETURN_IF_ERROR(CheckWitness(commitment, witness));
  AbsorbCommitment(transcript, commitment, point);
  const std::vector<Scalar> left = EqTable(point.first(commitment.row_vars));
  const std::vector<Scalar> right = EqTable(point.subspan(commitment.row_vars));
  return ProveTensorAbsorbed(key, commitment, witness, left, right, transcript);
}

Status HyraxVerifyEvaluation(const CommitmentKey& key, const HyraxCommitment& commitment,
                             std::span<const Scalar> point, const HyraxEvaluationProof& proof,
                             Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckPoint(commitment, point));
  AbsorbCommitment(transcript, commitment, point);
  const std::vector<Scalar> left = EqTable(point.first(commitment.row_vars));
  const std::vector<Scalar> right = EqTable(point.subspan(commitment.row_vars));
  return VerifyTensorAbsorbed(key, commitment, left, right, proof, transcript, batch);
}

Result<HyraxOpening> HyraxProveTensor(const CommitmentKey& key, const HyraxCommitment& commitment,
                                      const HyraxWitness& witness, std::span<const Scalar> left,
                                      std::span<const Scalar> right, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckTensorShape(commitment, left, right));
  VEIL_RETURN_IF_ERROR(CheckWitness(commitment, witness));
  AbsorbTensor(transcript, commitment, left, right);
  return ProveTensorAbsorbed(key, commitment, witness, left, right, transcript);
}

Status HyraxVerifyTensor(const CommitmentKey& key, const HyraxCommitment& commitment,
                         std::span<const Scalar> left, std::span<const Scalar> right,
                         const HyraxEvaluationProof& proof, Transcript* transcript,
                         BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckTensorShape(commitment, left, right));
  AbsorbTensor(transcript, commitment, left, right);
  return VerifyTensorAbsorbed(key, commitment, left, right, proof, transcript, batch);
}

void WriteHyraxCommitment(std::vector<uint8_t>* out, const HyraxCommitment& c) {
  WriteU32(out, c.row_vars);
  WriteU32(out, c.col_vars);
  WritePoints(out, c.rows);
}

Result<HyraxCommitment> ReadHyraxCommitment(ZkReader* in) {
  HyraxCommitment c;
  VEIL_ASSIGN_OR_RETURN(c.row_vars, in->ReadU32());
  VEIL_ASSIGN_OR_RETURN(c.col_vars, in->ReadU32());
  if (c.row_vars > kHyraxMaxVars || c.col_vars > kHyraxMaxVars)
    return Status::Corrupt("Hyrax commitment with " + std::to_string(c.row_vars) + "+" +
                           std::to_string(c.col_vars) + " variables exceeds the limit");
  VEIL_ASSIGN_OR_RETURN(c.rows, in->ReadPoints(uint32_t{1} << c.row_vars));
  return c;
}

void WriteHyraxEvaluationProof(std::vector<uint8_t>* out, const HyraxEvaluationProof& p) {
  WritePoint(out, p.evaluation);
  WriteDotProductProof(out, p.proof);
}

Result<HyraxEvaluationProof> ReadHyraxEvaluationProof(ZkReader* in) {
  HyraxEvaluationProof p;
  VEIL_ASSIGN_OR_RETURN(p.evaluation, in->ReadPoint());
  VEIL_ASSIGN_OR_RETURN(p.proof, ReadDotProductProof(in, uint32_t{1} << kHyraxMaxVars));
  return p;
}

}  // namespace veil::zk
