#include "veil/zk/matmul_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxDim = uint32_t{1} << 20;

struct CoreMaps {
  std::vector<Scalar> point;  // r_b, r_g, r_m, r_n
  uint32_t bv, gv, mv, kv, nv;
  RelationLayout claim_layout, product_layout;
  ColumnMap c_map, a_map, b_map;
};

CoreMaps MakeCoreMaps(uint32_t batch, const ProductLayout& l, Transcript* t) {
  CoreMaps cm;
  cm.bv = static_cast<uint32_t>(CeilLog2(batch));
  cm.gv = static_cast<uint32_t>(CeilLog2(l.groups));
  cm.mv = static_cast<uint32_t>(CeilLog2(l.m));
  cm.kv = static_cast<uint32_t>(CeilLog2(l.k));
  cm.nv = static_cast<uint32_t>(CeilLog2(l.n));
  t->AppendU64("product/groups", l.groups);
  t->AppendU64("product/m", l.m);
  t->AppendU64("product/k", l.k);
  t->AppendU64("product/n", l.n);
  cm.point = t->ChallengeScalars("product/point", cm.bv + cm.gv + cm.mv + cm.nv);
  const std::span<const Scalar> p(cm.point);
  const std::vector<Scalar> eq_m = EqTable(p.subspan(cm.bv + cm.gv, cm.mv));
  const std::vector<Scalar> eq_n = EqTable(p.subspan(cm.bv + cm.gv + cm.mv, cm.nv));
  cm.claim_layout = {batch, l.groups, 0};
  const uint32_t kp = uint32_t{1} << cm.kv;
  cm.product_layout = {batch, l.groups * kp, cm.kv};
  cm.c_map = {l.groups, l.c_cols, {}, {}};
  cm.a_map = {l.groups * kp, l.a_cols, {}, {}};
  cm.b_map = {l.groups * kp, l.b_cols, {}, {}};
  for (uint32_t g = 0; g < l.groups; ++g) {
    for (uint32_t m = 0; m < l.m; ++m)
      for (uint32_t n = 0; n < l.n; ++n)
        cm.c_map.entries.push_back(
            {g, l.c_index[(size_t{g} * l.m + m) * l.n + n], eq_m[m] * eq_n[n]});
    for (uint32_t m = 0; m < l.m; ++m)
      for (uint32_t k = 0; k < l.k; ++k)
        cm.a_map.entries.push_back(
            {g * kp + k, l.a_index[(size_t{g} * l.m + m) * l.k + k], eq_m[m]});
    for (uint32_t k = 0; k < l.k; ++k)
      for (uint32_t n = 0; n < l.n; ++n)
        cm.b_map.entries.push_back(
            {g * kp + k, l.b_index[(size_t{g} * l.k + k) * l.n + n], eq_n[n]});
  }
  return cm;
}

void AbsorbStatement(Transcript* t, const MatMulStatement& s) {
  AbsorbProtocol(t, "veil/zk/matmul/v1");
  for (uint64_t v :
       {uint64_t{s.batch}, uint64_t{s.m}, uint64_t{s.k}, uint64_t{s.n}, uint64_t{s.transpose_b},
        static_cast<uint64_t>(s.multiplier), static_cast<uint64_t>(s.shift),
        static_cast<uint64_t>(static_cast<int64_t>(s.act_min)),
        static_cast<uint64_t>(static_cast<int64_t>(s.act_max))})
    t->AppendU64("matmul/param", v);
  t->AppendPoints("matmul/a", s.a.rows);
  t->AppendPoints("matmul/b", s.b.rows);
  t->AppendPoints("matmul/output", s.output.rows);
}

RequantizeStatement MakeRequantizeStatement(const MatMulStatement& s, const HyraxCommitment& acc) {
  RequantizeStatement r;
  r.rows = s.batch;
  r.cols = s.m * s.n;
  r.multiplier.assign(r.cols, s.multiplier);
  r.shift.assign(r.cols, s.shift);
  r.act_min = s.act_min;
  r.act_max = s.act_max;
  r.accumulator = acc;
  r.output = s.output;
  return r;
}

}  // namespace

ProductLayout ProductLayout::MatMul(uint32_t m, uint32_t k, uint32_t n, bool transpose_b) {
  ProductLayout l{1, m, k, n, m * k, k * n, m * n, {}, {}, {}};
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < k; ++j) l.a_index.push_back(i * k + j);
  for (uint32_t j = 0; j < k; ++j)
    for (uint32_t c = 0; c < n; ++c) l.b_index.push_back(transpose_b ? c * k + j : j * n + c);
  for (uint32_t i = 0; i < m * n; ++i) l.c_index.push_back(i);
  return l;
}

ProductLayout ProductLayout::AttentionScores(uint32_t tq, uint32_t tk, uint32_t heads,
                                             uint32_t dim) {
  const uint32_t hd = heads * dim;
  ProductLayout l{heads, tq, dim, tk, tq * hd, tk * hd, heads * tq * tk, {}, {}, {}};
  for (uint32_t h = 0; h < heads; ++h) {
    for (uint32_t i = 0; i < tq; ++i)
      for (uint32_t d = 0; d < dim; ++d) l.a_index.push_back(i * hd + h * dim + d);
    for (uint32_t d = 0; d < dim; ++d)
      for (uint32_t j = 0; j < tk; ++j) l.b_index.push_back(j * hd + h * dim + d);
    for (uint32_t i = 0; i < tq; ++i)
      for (uint32_t j = 0; j < tk; ++j) l.c_index.push_back((h * tq + i) * tk + j);
  }
  return l;
}

ProductLayout ProductLayout::AttentionValues(uint32_t tq, uint32_t tk, uint32_t heads,
                                             uint32_t dim) {
  const uint32_t hd = heads * dim;
  ProductLayout l{heads, tq, tk, dim, heads * tq * tk, tk * hd, tq * hd, {}, {}, {}};
  for (uint32_t h = 0; h < heads; ++h) {
    for (uint32_t i = 0; i < tq; ++i)
      for (uint32_t j = 0; j < tk; ++j) l.a_index.push_back((h * tq + i) * tk + j);
    for (uint32_t j = 0; j < tk; ++j)
      for (uint32_t d = 0; d < dim; ++d) l.b_index.push_back(j * hd + h * dim + d);
    for (uint32_t i = 0; i < tq; ++i)
      for (uint32_t d = 0; d < dim; ++d) l.c_index.push_back(i * hd + h * dim + d);
  }
  return l;
}

Status CheckProductLayout(const ProductLayout& l) {
  if (l.groups == 0 || l.m == 0 || l.k == 0 || l.n == 0 || l.groups > kMaxDim || l.m > kMaxDim ||
      l.k > kMaxDim || l.n > kMaxDim || l.a_cols == 0 || l.b_cols == 0 || l.c_cols == 0 ||
      l.a_cols > kMaxDim * 16 || l.b_cols > kMaxDim * 16 || l.c_cols > kMaxDim * 16)
    return Status::Corrupt("product layout: bad dimensions");
  const uint64_t g = l.groups;
  if ((g << CeilLog2(l.k)) > (uint64_t{1} << 24))
    return Status::Corrupt("product layout: too many groups × K");
  if (l.a_index.size() != g * l.m * l.k || l.b_index.size() != g * l.k * l.n ||
      l.c_index.size() != g * l.m * l.n || l.c_index.size() != l.c_cols)
    return Status::Corrupt("product layout: index tables of the wrong size");
  for (uint32_t i : l.a_index)
    if (i >= l.a_cols) return Status::Corrupt("product layout: a index out of range");
  for (uint32_t i : l.b_index)
    if (i >= l.b_cols) return Status::Corrupt("product layout: b index out of range");
  std::vector<bool> seen(l.c_cols, false);
  for (uint32_t i : l.c_index) {
    if (i >= l.c_cols || seen[i]) return Status::Corrupt("product layout: c index not a bijection");
    seen[i] = true;
  }
  if (static_cast<uint64_t>(l.k) * 127 * 127 >= (uint64_t{1} << 31))
    return Status::Corrupt("product layout: K too large for int32 accumulators");
  return Status::Ok();
}

std::vector<int32_t> ProductReference(const ProductLayout& l, std::span<const int8_t> a,
                                      std::span<const int8_t> b, uint32_t batch) {
  std::vector<int32_t> c(size_t{batch} * l.c_cols);
  for (uint32_t s = 0; s < batch; ++s)
    for (uint32_t g = 0; g < l.groups; ++g)
      for (uint32_t m = 0; m < l.m; ++m)
        for (uint32_t n = 0; n < l.n; ++n) {
          int32_t acc = 0;
          for (uint32_t k = 0; k < l.k; ++k)
            acc += int32_t{a[size_t{s} * l.a_cols + l.a_index[(size_t{g} * l.m + m) * l.k + k]]} *
                   b[size_t{s} * l.b_cols + l.b_index[(size_t{g} * l.k + k) * l.n + n]];
          c[size_t{s} * l.c_cols + l.c_index[(size_t{g} * l.m + m) * l.n + n]] = acc;
        }
  return c;
}

Result<ProductCoreProof> ProveProductCore(const CommitmentKey& key, uint32_t batch,
                                          const ProductLayout& l, const ProductCoreInputs& in,
                                          Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckProductLayout(l));
  CoreMaps cm = MakeCoreMaps(batch, l, transcript);
  AffineForm c_form, a_form, b_form;
  c_form.Add(in.c, in.c_w, &cm.c_map);
  a_form.Add(in.a, in.a_w, &cm.a_map);
  b_form.Add(in.b, in.b_w, &cm.b_map);
  const std::span<const Scalar> p(cm.point);
  VEIL_ASSIGN_OR_RETURN(FormOpening claim, ProveFormAt(key, cm.claim_layout, c_form,
                                                       p.first(cm.bv + cm.gv), transcript));
  ProductCoreProof proof;
  proof.accumulator_opening = std::move(claim.proofs);
  VEIL_ASSIGN_OR_RETURN(proof.product,
                        ProveWeightedProduct(key, cm.product_layout, p.first(cm.bv + cm.gv), a_form,
                                             b_form, claim.value, transcript));
  return proof;
}

Status VerifyProductCore(const CommitmentKey& key, uint32_t batch, const ProductLayout& l,
                         const ProductCoreInputs& in, const ProductCoreProof& proof,
                         Transcript* transcript, BatchVerifier* bv) {
  VEIL_RETURN_IF_ERROR(CheckProductLayout(l));
  CoreMaps cm = MakeCoreMaps(batch, l, transcript);
  AffineForm c_form, a_form, b_form;
  c_form.Add(in.c, nullptr, &cm.c_map);
  a_form.Add(in.a, nullptr, &cm.a_map);
  b_form.Add(in.b, nullptr, &cm.b_map);
  const std::span<const Scalar> p(cm.point);
  VEIL_ASSIGN_OR_RETURN(Point claim,
                        VerifyFormAt(key, cm.claim_layout, c_form, p.first(cm.bv + cm.gv),
                                     proof.accumulator_opening, transcript, bv));
  return VerifyWeightedProduct(key, cm.product_layout, p.first(cm.bv + cm.gv), a_form, b_form,
                               claim, proof.product, transcript, bv);
}

void WriteProductCoreProof(std::vector<uint8_t>* out, const ProductCoreProof& p) {
  WriteU32(out, static_cast<uint32_t>(p.accumulator_opening.size()));
  for (const HyraxEvaluationProof& o : p.accumulator_opening) WriteHyraxEvaluationProof(out, o);
  WriteRelationProof(out, p.product);
}

Result<ProductCoreProof> ReadProductCoreProof(ZkReader* in) {
  ProductCoreProof p;
  VEIL_ASSIGN_OR_RETURN(const uint32_t n, in->ReadU32());
  if (n != 1) return Status::Corrupt("product core: expected one accumulator opening");
  VEIL_ASSIGN_OR_RETURN(HyraxEvaluationProof o, ReadHyraxEvaluationProof(in));
  p.accumulator_opening.push_back(std::move(o));
  VEIL_ASSIGN_OR_RETURN(p.product, ReadRelationProof(in));
  return p;
}

std::vector<int8_t> MatMulReference(const MatMulStatement& s, std::span<const int8_t> a,
                                    std::span<const int8_t> b) {
  const ProductLayout l = ProductLayout::MatMul(s.m, s.k, s.n, s.transpose_b);
  const std::vector<int32_t> acc = ProductReference(l, a, b, s.batch);
  const std::vector<int64_t> mult(l.c_cols, s.multiplier), shift(l.c_cols, s.shift);
  return RequantizeReference(acc, s.batch, l.c_cols, mult, shift, s.act_min, s.act_max);
}

Status CheckMatMulStatement(const CommitmentKey& key, const MatMulStatement& s) {
  if (s.batch == 0 || s.batch > kMaxDim || s.m == 0 || s.k == 0 || s.n == 0 || s.m > kMaxDim ||
      s.k > kMaxDim || s.n > kMaxDim || uint64_t{s.m} * s.k > kMaxDim ||
      uint64_t{s.k} * s.n > kMaxDim || uint64_t{s.m} * s.n > kMaxDim)
    return Status::Corrupt("matmul: bad dimensions");
  if (uint64_t{s.k} * 127 * 127 >= (uint64_t{1} << 31))
    return Status::Corrupt("matmul: K too large for int32 accumulators");
  for (uint64_t cols : {uint64_t{s.m} * s.k, uint64_t{s.k} * s.n, uint64_t{s.m} * s.n})
    if ((uint64_t{1} << CeilLog2(cols)) > key.max_vector_length())
      return Status::Corrupt("matmul: rows longer than the commitment key");
  if (s.multiplier < 0 || s.multiplier >= (int64_t{1} << 31) || s.shift < 0 || s.shift > 62)
    return Status::Corrupt("matmul: multiplier or shift out of range");
  if (s.act_min < -127 || s.act_max > 127 || s.act_min > s.act_max)
    return Status::Corrupt("matmul: activation bounds out of range");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.a, s.batch, size_t{s.m} * s.k, "matmul a"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.b, s.batch, size_t{s.k} * s.n, "matmul b"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.batch, size_t{s.m} * s.n, "matmul output"));
  return Status::Ok();
}

Result<MatMulProof> ProveMatMul(const CommitmentKey& key, const MatMulStatement& s,
                                const MatMulWitness& w, Transcript* transcript, ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckMatMulStatement(key, s));
  const size_t B = s.batch, MK = size_t{s.m} * s.k, KN = size_t{s.k} * s.n, MN = size_t{s.m} * s.n;
  if (w.a.size() != B * MK || w.b.size() != B * KN || w.output.size() != B * MN ||
      w.a_blinds.size() != B || w.b_blinds.size() != B || w.output_blinds.size() != B)
    return Status::InvalidArgument("matmul: witness sizes do not match the statement");
  const ProductLayout l = ProductLayout::MatMul(s.m, s.k, s.n, s.transpose_b);
  AbsorbStatement(transcript, s);
  const std::vector<int32_t> acc = ProductReference(l, w.a, w.b, s.batch);
  MatMulProof proof;
  const std::vector<Scalar> acc_blinds = FreshBlinds(B);
  VEIL_ASSIGN_OR_RETURN(proof.accumulator, HyraxCommitInt32(key, acc, B, MN, acc_blinds, pool));
  transcript->AppendPoints("matmul/accumulator", proof.accumulator.rows);
  const HyraxWitness aw = MakeWitnessInt8(w.a, B, MK, w.a_blinds);
  const HyraxWitness bw = MakeWitnessInt8(w.b, B, KN, w.b_blinds);
  const HyraxWitness cw = MakeWitnessInt32(acc, B, MN, acc_blinds);
  const ProductCoreInputs in{&s.a, &s.b, &proof.accumulator, &aw, &bw, &cw};
  VEIL_ASSIGN_OR_RETURN(proof.core, ProveProductCore(key, s.batch, l, in, transcript));
  const RequantizeStatement rs = MakeRequantizeStatement(s, proof.accumulator);
  RequantizeWitness rw;
  rw.accumulator = acc;
  rw.output = w.output;
  rw.accumulator_blinds = acc_blinds;
  rw.output_blinds = w.output_blinds;
  VEIL_ASSIGN_OR_RETURN(proof.requantize, ProveRequantize(key, rs, rw, transcript, pool));
  return proof;
}

Status VerifyMatMul(const CommitmentKey& key, const MatMulStatement& s, const MatMulProof& proof,
                    Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckMatMulStatement(key, s));
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(proof.accumulator, s.batch, size_t{s.m} * s.n, "matmul accumulator"));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("matmul proof rejected at ") + what);
  };
  const ProductLayout l = ProductLayout::MatMul(s.m, s.k, s.n, s.transpose_b);
  AbsorbStatement(transcript, s);
  transcript->AppendPoints("matmul/accumulator", proof.accumulator.rows);
  const ProductCoreInputs in{&s.a, &s.b, &proof.accumulator, nullptr, nullptr, nullptr};
  VEIL_RETURN_IF_ERROR(step(VerifyProductCore(key, s.batch, l, in, proof.core, transcript, b),
                            "the product sumcheck"));
  const RequantizeStatement rs = MakeRequantizeStatement(s, proof.accumulator);
  VEIL_RETURN_IF_ERROR(
      step(VerifyRequantize(key, rs, proof.requantize, transcript, b), "the requantization"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteMatMulProof(std::vector<uint8_t>* out, const MatMulProof& p) {
  WriteHyraxCommitment(out, p.accumulator);
  WriteProductCoreProof(out, p.core);
  WriteRequantizeProof(out, p.requantize);
}

Result<MatMulProof> ReadMatMulProof(ZkReader* in, const MatMulStatement& s) {
  MatMulProof p;
  VEIL_ASSIGN_OR_RETURN(p.accumulator, ReadHyraxCommitment(in));
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(p.accumulator, s.batch, size_t{s.m} * s.n, "matmul accumulator"));
  VEIL_ASSIGN_OR_RETURN(p.core, ReadProductCoreProof(in));
  const RequantizeStatement rs = MakeRequantizeStatement(s, p.accumulator);
  VEIL_ASSIGN_OR_RETURN(p.requantize, ReadRequantizeProof(in, rs));
  return p;
}

}  // namespace veil::zk
