#include "veil/zk/relation_proof.h"

#include <string>

#include "veil/zk/msm.h"
#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxOpenings = 64;  // per list, when decoding

// One opening per distinct commitment: its right vector Σ c_i·map_iᵀ·eq(ρ_c).
struct Group {
  const HyraxCommitment* commitment;
  const HyraxWitness* witness;
  std::vector<Scalar> right;
};

Status CheckForm(const RelationLayout& layout, const AffineForm& form, bool prover) {
  if (!form.constant.empty() && form.constant.size() != layout.cols)
    return Status::InvalidArgument("relation: constant of the wrong length");
  for (const RelationTerm& t : form.terms) {
    if (t.commitment == nullptr || t.map == nullptr || (prover && t.witness == nullptr))
      return Status::InvalidArgument("relation: incomplete term");
    if (t.map->base_cols != layout.cols)
      return Status::InvalidArgument("relation: map of the wrong base width");
    for (const ColumnMap::Entry& e : t.map->entries)
      if (e.base >= t.map->base_cols || e.source >= t.map->source_cols)
        return Status::InvalidArgument("relation: map entry out of range");
    for (const ColumnMap::Block& k : t.map->blocks)
      if (uint64_t{k.base_begin} + k.base_count > t.map->base_cols ||
          uint64_t{k.source_begin} + k.source_count > t.map->source_cols)
        return Status::InvalidArgument("relation: map block out of range");
    VEIL_RETURN_IF_ERROR(
        CheckHyraxShape(*t.commitment, layout.rows, t.map->source_cols, "relation term"));
    if (prover && (t.witness->cols != t.map->source_cols || t.witness->rows != layout.rows))
      return Status::InvalidArgument("relation: witness of the wrong shape");
  }
  return Status::Ok();
}

std::vector<Group> Groups(const AffineForm& form, std::span<const Scalar> eq_cols) {
  std::vector<Group> groups;
  for (const RelationTerm& t : form.terms) {
    Group* g = nullptr;
    for (Group& x : groups)
      if (x.commitment == t.commitment) g = &x;
    if (g == nullptr) {
      groups.push_back(
          {t.commitment, t.witness, std::vector<Scalar>(size_t{1} << t.commitment->col_vars)});
      g = &groups.back();
    }
    for (const ColumnMap::Entry& e : t.map->entries)
      g->right[e.source] += t.coefficient * e.weight * eq_cols[e.base];
    for (const ColumnMap::Block& k : t.map->blocks) {
      Scalar mass;
      for (uint32_t i = 0; i < k.base_count; ++i) mass += eq_cols[k.base_begin + i];
      const Scalar w = t.coefficient * k.weight * mass;
      for (uint32_t i = 0; i < k.source_count; ++i) g->right[k.source_begin + i] += w;
    }
  }
  return groups;
}

Scalar ConstantAt(const RelationLayout& layout, const AffineForm& form,
                  std::span<const Scalar> row_point, std::span<const Scalar> eq_cols) {
  if (form.constant.empty()) return Scalar::Zero();
  Scalar s;
  for (uint32_t c = 0; c < layout.cols; ++c) s += eq_cols[c] * form.constant[c];
  return PrefixEqSum(row_point, layout.rows) * s;
}

// The form's values on the padded hypercube 2^(bv+cv).
std::vector<Scalar> FormTable(const RelationLayout& layout, const AffineForm& form) {
  const size_t pc = size_t{1} << layout.col_vars();
  std::vector<Scalar> table(pc << layout.row_vars());
  for (uint32_t b = 0; b < layout.rows; ++b) {
    Scalar* out = table.data() + b * pc;
    for (uint32_t c = 0; c < form.constant.size(); ++c) out[c] = form.constant[c];
    for (const RelationTerm& t : form.terms) {
      const Scalar* src = t.witness->values.data() + size_t{b} * t.witness->cols;
      for (const ColumnMap::Entry& e : t.map->entries)
        out[e.base] += t.coefficient * e.weight * src[e.source];
      for (const ColumnMap::Block& k : t.map->blocks) {
        Scalar sum;
        for (uint32_t i = 0; i < k.source_count; ++i) sum += src[k.source_begin + i];
        const Scalar v = t.coefficient * k.weight * sum;
        for (uint32_t i = 0; i < k.base_count; ++i) out[k.base_begin + i] += v;
      }
    }
  }
  return table;
}

std::vector<Scalar> WeightTable(const RelationLayout& layout, std::span<const Scalar> w) {
  const uint32_t bv = layout.row_vars(), cv = layout.col_vars(), hv = cv - layout.free_vars;
  const std::vector<Scalar> eq = EqTable(w);  // over (row bits, high column bits)
  std::vector<Scalar> table(size_t{1} << (bv + cv));
  for (size_t x = 0; x < table.size(); ++x) {
    const size_t row = x >> cv, high = (x & ((size_t{1} << cv) - 1)) >> layout.free_vars;
    table[x] = eq[(row << hv) | high];
  }
  return table;
}

// W̃(ρ) = eq(w, (ρ_rows, high column coordinates of ρ)).
Scalar WeightAt(const RelationLayout& layout, std::span<const Scalar> w,
                std::span<const Scalar> rho) {
  const uint32_t bv = layout.row_vars(), cv = layout.col_vars();
  std::vector<Scalar> x(rho.begin(), rho.begin() + bv + (cv - layout.free_vars));
  return EqAt(w, x);
}

Status CheckLayout(const RelationLayout& layout) {
  if (layout.rows == 0 || layout.cols == 0 || layout.rows > (uint32_t{1} << 20) ||
      layout.cols > (uint32_t{1} << 24) || layout.free_vars > layout.col_vars() ||
      layout.row_vars() + layout.col_vars() > 40)
    return Status::InvalidArgument("relation: bad layout");
  return Status::Ok();
}

}  // namespace

ColumnMap ColumnMap::Identity(uint32_t cols) {
  ColumnMap m{cols, cols, {}, {}};
  for (uint32_t c = 0; c < cols; ++c) m.entries.push_back({c, c, Scalar::One()});
  return m;
}

ColumnMap ColumnMap::Scaled(std::span<const Scalar> weights) {
  const auto cols = static_cast<uint32_t>(weights.size());
  ColumnMap m{cols, cols, {}, {}};
  for (uint32_t c = 0; c < cols; ++c) m.entries.push_back({c, c, weights[c]});
  return m;
}

ColumnMap ColumnMap::Broadcast(uint32_t rows, uint32_t cols) {
  ColumnMap m{rows * cols, rows, {}, {}};
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) m.entries.push_back({r * cols + c, r, Scalar::One()});
  return m;
}

ColumnMap ColumnMap::RowSumBroadcast(uint32_t rows, uint32_t cols) {
  ColumnMap m{rows * cols, rows * cols, {}, {}};
  for (uint32_t r = 0; r < rows; ++r)
    m.blocks.push_back({r * cols, cols, r * cols, cols, Scalar::One()});
  return m;
}

ColumnMap ColumnMap::RowSum(uint32_t rows, uint32_t cols) {
  ColumnMap m{rows, rows * cols, {}, {}};
  for (uint32_t r = 0; r < rows; ++r) m.blocks.push_back({r, 1, r * cols, cols, Scalar::One()});
  return m;
}

AffineForm& AffineForm::AddConstant(const Scalar& value, uint32_t cols) {
  if (constant.empty()) constant.resize(cols);
  for (Scalar& c : constant) c += value;
  return *this;
}

AffineForm& AffineForm::AddScaled(const AffineForm& other, const Scalar& factor) {
  for (const RelationTerm& t : other.terms)
    terms.push_back({t.commitment, t.witness, t.map, t.coefficient * factor});
  if (!other.constant.empty()) {
    if (constant.empty()) constant.resize(other.constant.size());
    for (size_t c = 0; c < constant.size() && c < other.constant.size(); ++c)
      constant[c] += factor * other.constant[c];
  }
  return *this;
}

uint32_t RelationLayout::row_vars() const { return static_cast<uint32_t>(CeilLog2(rows)); }
uint32_t RelationLayout::col_vars() const { return static_cast<uint32_t>(CeilLog2(cols)); }

Result<FormOpening> ProveFormAt(const CommitmentKey& key, const RelationLayout& layout,
                                const AffineForm& form, std::span<const Scalar> point,
                                Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckForm(layout, form, true));
  const uint32_t bv = layout.row_vars();
  if (point.size() != bv + layout.col_vars())
    return Status::InvalidArgument("relation: point of the wrong length");
  const std::vector<Scalar> left = EqTable(point.first(bv));
  const std::vector<Scalar> eq_cols = EqTable(point.subspan(bv));
  FormOpening out;
  const Scalar k = ConstantAt(layout, form, point.first(bv), eq_cols);
  out.value = {k, Scalar::Zero(), key.g().MulVartime(k)};
  for (const Group& g : Groups(form, eq_cols)) {
    VEIL_ASSIGN_OR_RETURN(HyraxOpening o, HyraxProveTensor(key, *g.commitment, *g.witness, left,
                                                           g.right, transcript));
    out.value.value += o.evaluation.value;
    out.value.blind += o.evaluation.blind;
    out.value.commitment += o.evaluation.commitment;
    out.proofs.push_back(std::move(o.proof));
  }
  return out;
}

Result<Point> VerifyFormAt(const CommitmentKey& key, const RelationLayout& layout,
                           const AffineForm& form, std::span<const Scalar> point,
                           std::span<const HyraxEvaluationProof> proofs, Transcript* transcript,
                           BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckForm(layout, form, false));
  const uint32_t bv = layout.row_vars();
  if (point.size() != bv + layout.col_vars())
    return Status::InvalidArgument("relation: point of the wrong length");
  const std::vector<Scalar> left = EqTable(point.first(bv));
  const std::vector<Scalar> eq_cols = EqTable(point.subspan(bv));
  const std::vector<Group> groups = Groups(form, eq_cols);
  if (groups.size() != proofs.size())
    return Status::Corrupt("relation: " + std::to_string(proofs.size()) + " openings, expected " +
                           std::to_string(groups.size()));
  Point value = key.g().MulVartime(ConstantAt(layout, form, point.first(bv), eq_cols));
  for (size_t i = 0; i < groups.size(); ++i) {
    VEIL_RETURN_IF_ERROR(HyraxVerifyTensor(key, *groups[i].commitment, left, groups[i].right,
                                           proofs[i], transcript, batch));
    value += proofs[i].evaluation;
  }
  return value;
}

Result<RelationProof> ProveWeightedProduct(const CommitmentKey& key, const RelationLayout& layout,
                                           std::span<const Scalar> weight_point,
                                           const AffineForm& p, const AffineForm& q,
                                           const CommittedValue& claim, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckLayout(layout));
  VEIL_RETURN_IF_ERROR(CheckForm(layout, p, true));
  VEIL_RETURN_IF_ERROR(CheckForm(layout, q, true));
  const uint32_t vars = layout.row_vars() + layout.col_vars();
  if (weight_point.size() != vars - layout.free_vars)
    return Status::InvalidArgument("relation: weight point of the wrong length");
  RelationProof proof;
  proof.has_product = 1;
  VEIL_ASSIGN_OR_RETURN(
      ZkSumcheckProverOutput sc,
      ProveZkSumcheck(
          key, {WeightTable(layout, weight_point), FormTable(layout, p), FormTable(layout, q)},
          claim, transcript));
  proof.sumcheck = std::move(sc.proof);
  VEIL_ASSIGN_OR_RETURN(FormOpening po, ProveFormAt(key, layout, p, sc.point, transcript));
  VEIL_ASSIGN_OR_RETURN(FormOpening qo, ProveFormAt(key, layout, q, sc.point, transcript));
  proof.p_openings = std::move(po.proofs);
  proof.q_openings = std::move(qo.proofs);
  const CommittedValue z = CommitFresh(key, po.value.value * qo.value.value);
  proof.product_commitment = z.commitment;
  transcript->AppendPoint("relation/product", z.commitment);
  proof.product = ProveProduct(key, po.value, qo.value, z, transcript);
  const Scalar w = WeightAt(layout, weight_point, sc.point);
  proof.final_equal = ProveEquality(key, sc.final_claim.commitment, sc.final_claim.blind,
                                    z.commitment.MulVartime(w), w * z.blind, transcript);
  return proof;
}

Status VerifyWeightedProduct(const CommitmentKey& key, const RelationLayout& layout,
                             std::span<const Scalar> weight_point, const AffineForm& p,
                             const AffineForm& q, const Point& claim, const RelationProof& proof,
                             Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckLayout(layout));
  const uint32_t vars = layout.row_vars() + layout.col_vars();
  if (weight_point.size() != vars - layout.free_vars)
    return Status::InvalidArgument("relation: weight point of the wrong length");
  if (proof.has_product != 1) return Status::Corrupt("relation: product part missing");
  auto sc = VerifyZkSumcheck(key, proof.sumcheck, claim, static_cast<int>(vars), 3, transcript);
  if (!sc.ok()) return sc.status();
  VEIL_ASSIGN_OR_RETURN(
      Point pv, VerifyFormAt(key, layout, p, sc->point, proof.p_openings, transcript, batch));
  VEIL_ASSIGN_OR_RETURN(
      Point qv, VerifyFormAt(key, layout, q, sc->point, proof.q_openings, transcript, batch));
  transcript->AppendPoint("relation/product", proof.product_commitment);
  VEIL_RETURN_IF_ERROR(
      VerifyProduct(key, pv, qv, proof.product_commitment, proof.product, transcript));
  const Scalar w = WeightAt(layout, weight_point, sc->point);
  return VerifyEquality(key, sc->final_claim, proof.product_commitment.MulVartime(w),
                        proof.final_equal, transcript);
}

Result<RelationProof> ProveZeroRelation(const CommitmentKey& key, const RelationLayout& layout,
                                        const AffineForm& p, const AffineForm& q,
                                        const AffineForm& l, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckLayout(layout));
  if (layout.free_vars != 0 || p.empty() != q.empty())
    return Status::InvalidArgument("relation: malformed zero relation");
  const std::vector<Scalar> tau =
      transcript->ChallengeScalars("relation/tau", layout.row_vars() + layout.col_vars());
  VEIL_ASSIGN_OR_RETURN(FormOpening lo, ProveFormAt(key, layout, l, tau, transcript));
  if (p.empty()) {
    RelationProof proof;
    proof.claim_openings = std::move(lo.proofs);
    proof.final_equal = ProveEquality(key, lo.value.commitment, lo.value.blind, Point(),
                                      Scalar::Zero(), transcript);
    return proof;
  }
  const CommittedValue claim{-lo.value.value, -lo.value.blind, -lo.value.commitment};
  VEIL_ASSIGN_OR_RETURN(RelationProof proof,
                        ProveWeightedProduct(key, layout, tau, p, q, claim, transcript));
  proof.claim_openings = std::move(lo.proofs);
  return proof;
}

Status VerifyZeroRelation(const CommitmentKey& key, const RelationLayout& layout,
                          const AffineForm& p, const AffineForm& q, const AffineForm& l,
                          const RelationProof& proof, Transcript* transcript,
                          BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckLayout(layout));
  if (layout.free_vars != 0 || p.empty() != q.empty())
    return Status::InvalidArgument("relation: malformed zero relation");
  const std::vector<Scalar> tau =
      transcript->ChallengeScalars("relation/tau", layout.row_vars() + layout.col_vars());
  VEIL_ASSIGN_OR_RETURN(Point lv,
                        VerifyFormAt(key, layout, l, tau, proof.claim_openings, transcript, batch));
  if (p.empty()) {
    if (proof.has_product != 0) return Status::Corrupt("relation: unexpected product part");
    return VerifyEquality(key, lv, Point(), proof.final_equal, transcript);
  }
  return VerifyWeightedProduct(key, layout, tau, p, q, -lv, proof, transcript, batch);
}

void WriteRelationProof(std::vector<uint8_t>* out, const RelationProof& p) {
  auto write_list = [out](const std::vector<HyraxEvaluationProof>& v) {
    WriteU32(out, static_cast<uint32_t>(v.size()));
    for (const HyraxEvaluationProof& o : v) WriteHyraxEvaluationProof(out, o);
  };
  write_list(p.claim_openings);
  WriteU32(out, p.has_product);
  if (p.has_product != 0) {
    WriteU32(out, static_cast<uint32_t>(p.sumcheck.rounds.size()));
    WriteZkSumcheckProof(out, p.sumcheck);
    write_list(p.p_openings);
    write_list(p.q_openings);
    WritePoint(out, p.product_commitment);
    WriteProductProof(out, p.product);
  }
  WriteEqualityProof(out, p.final_equal);
}

Result<RelationProof> ReadRelationProof(ZkReader* in) {
  auto read_list = [in](std::vector<HyraxEvaluationProof>* v) -> Status {
    VEIL_ASSIGN_OR_RETURN(const uint32_t n, in->ReadU32());
    if (n > kMaxOpenings) return Status::Corrupt("relation: too many openings");
    for (uint32_t i = 0; i < n; ++i) {
      VEIL_ASSIGN_OR_RETURN(HyraxEvaluationProof o, ReadHyraxEvaluationProof(in));
      v->push_back(std::move(o));
    }
    return Status::Ok();
  };
  RelationProof p;
  VEIL_RETURN_IF_ERROR(read_list(&p.claim_openings));
  VEIL_ASSIGN_OR_RETURN(p.has_product, in->ReadU32());
  if (p.has_product > 1) return Status::Corrupt("relation: bad product flag");
  if (p.has_product != 0) {
    VEIL_ASSIGN_OR_RETURN(const uint32_t rounds, in->ReadU32());
    if (rounds > 40) return Status::Corrupt("relation: too many sumcheck rounds");
    VEIL_ASSIGN_OR_RETURN(p.sumcheck, ReadZkSumcheckProof(in, static_cast<int>(rounds), 3));
    VEIL_RETURN_IF_ERROR(read_list(&p.p_openings));
    VEIL_RETURN_IF_ERROR(read_list(&p.q_openings));
    VEIL_ASSIGN_OR_RETURN(p.product_commitment, in->ReadPoint());
    VEIL_ASSIGN_OR_RETURN(p.product, ReadProductProof(in));
  }
  VEIL_ASSIGN_OR_RETURN(p.final_equal, ReadEqualityProof(in));
  return p;
}

HyraxCommitment OffsetCommitment(const CommitmentKey& key, const HyraxCommitment& c, uint32_t cols,
                                 int64_t offset) {
  const std::vector<Scalar> ones(cols, Scalar::One());
  const Point shift = MsmAffine(ones, key.vector_generators().g_affine().first(cols))
                          .MulVartime(Scalar::FromInt64(offset));
  HyraxCommitment out = c;
  for (Point& row : out.rows) row += shift;
  return out;
}

void AbsorbProtocol(Transcript* t, std::string_view tag) {
  t->AppendBytes("protocol", {reinterpret_cast<const uint8_t*>(tag.data()), tag.size()});
}

}  // namespace veil::zk
