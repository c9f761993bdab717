#include "veil/zk/transpose_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxDim = uint32_t{1} << 20;

size_t Elements(const TransposeStatement& s) {
  size_t n = 1;
  for (uint32_t d : s.shape) n *= d;
  return n;
}

void AbsorbStatement(Transcript* t, const TransposeStatement& s) {
  AbsorbProtocol(t, "veil/zk/transpose/v1");
  t->AppendU64("transpose/batch", s.batch);
  t->AppendU64("transpose/rank", s.shape.size());
  for (uint32_t d : s.shape) t->AppendU64("transpose/shape", d);
  for (uint32_t p : s.perm) t->AppendU64("transpose/perm", p);
  t->AppendPoints("transpose/input", s.input.rows);
  t->AppendPoints("transpose/output", s.output.rows);
}

struct Forms {
  RelationLayout layout;
  ColumnMap id, permuted;
  AffineForm l;
};

// L = y − x∘π.
void MakeForms(const TransposeStatement& s, const HyraxWitness* xw, const HyraxWitness* yw,
               Forms* f) {
  const auto n = static_cast<uint32_t>(Elements(s));
  f->layout = {s.batch, n, 0};
  f->id = ColumnMap::Identity(n);
  f->permuted = {n, n, {}, {}};
  const std::vector<uint32_t> src = TransposeSources(s.shape, s.perm);
  for (uint32_t j = 0; j < n; ++j) f->permuted.entries.push_back({j, src[j], Scalar::One()});
  f->l.Add(&s.output, yw, &f->id).Add(&s.input, xw, &f->permuted, -Scalar::One());
}

}  // namespace

std::vector<uint32_t> TransposeSources(std::span<const uint32_t> shape,
                                       std::span<const uint32_t> perm) {
  const size_t rank = shape.size();
  size_t n = 1;
  for (uint32_t d : shape) n *= d;
  std::vector<size_t> in_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * shape[i];
  std::vector<uint32_t> src(n);
  std::vector<uint32_t> idx(rank, 0);  // output multi-index, row-major over out dims
  for (size_t j = 0; j < n; ++j) {
    size_t in = 0;
    for (size_t i = 0; i < rank; ++i) in += idx[i] * in_stride[perm[i]];
    src[j] = static_cast<uint32_t>(in);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < shape[perm[i]]) break;
      idx[i] = 0;
    }
  }
  return src;
}

std::vector<int8_t> TransposeReference(const TransposeStatement& s, std::span<const int8_t> x) {
  const std::vector<uint32_t> src = TransposeSources(s.shape, s.perm);
  const size_t n = src.size();
  std::vector<int8_t> y(size_t{s.batch} * n);
  for (size_t b = 0; b < s.batch; ++b)
    for (size_t j = 0; j < n; ++j) y[b * n + j] = x[b * n + src[j]];
  return y;
}

Status CheckTransposeStatement(const CommitmentKey& key, const TransposeStatement& s) {
  if (s.batch == 0 || s.batch > kMaxDim || s.shape.empty() || s.shape.size() > 8 ||
      s.perm.size() != s.shape.size())
    return Status::Corrupt("transpose: bad batch, rank or perm length");
  uint64_t n = 1;
  for (uint32_t d : s.shape) {
    if (d == 0 || d > kMaxDim) return Status::Corrupt("transpose: bad dimension");
    n *= d;
    if (n > kMaxDim) return Status::Corrupt("transpose: too many elements per sample");
  }
  std::vector<bool> seen(s.perm.size(), false);
  for (uint32_t p : s.perm) {
    if (p >= s.perm.size() || seen[p])
      return Status::Corrupt("transpose: perm is not a permutation");
    seen[p] = true;
  }
  if ((size_t{1} << CeilLog2(n)) > key.max_vector_length())
    return Status::Corrupt("transpose: rows longer than the commitment key");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.input, s.batch, n, "transpose input"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.batch, n, "transpose output"));
  return Status::Ok();
}

Result<TransposeProof> ProveTranspose(const CommitmentKey& key, const TransposeStatement& s,
                                      const TransposeWitness& w, Transcript* transcript) {
  VEIL_RETURN_IF_ERROR(CheckTransposeStatement(key, s));
  const size_t B = s.batch, N = Elements(s);
  if (w.input.size() != B * N || w.output.size() != B * N || w.input_blinds.size() != B ||
      w.output_blinds.size() != B)
    return Status::InvalidArgument("transpose: witness sizes do not match the statement");
  AbsorbStatement(transcript, s);
  const HyraxWitness xw = MakeWitnessInt8(w.input, B, N, w.input_blinds);
  const HyraxWitness yw = MakeWitnessInt8(w.output, B, N, w.output_blinds);
  Forms f;
  MakeForms(s, &xw, &yw, &f);
  TransposeProof proof;
  VEIL_ASSIGN_OR_RETURN(proof.relation, ProveZeroRelation(key, f.layout, {}, {}, f.l, transcript));
  return proof;
}

Status VerifyTranspose(const CommitmentKey& key, const TransposeStatement& s,
                       const TransposeProof& proof, Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckTransposeStatement(key, s));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  AbsorbStatement(transcript, s);
  Forms f;
  MakeForms(s, nullptr, nullptr, &f);
  Status st = VerifyZeroRelation(key, f.layout, {}, {}, f.l, proof.relation, transcript, b);
  if (st.ok() && batch == nullptr) st = local.Check(key);
  return st.ok() ? st : st.WithContext("transpose proof rejected");
}

void WriteTransposeProof(std::vector<uint8_t>* out, const TransposeProof& p) {
  WriteRelationProof(out, p.relation);
}

Result<TransposeProof> ReadTransposeProof(ZkReader* in, const TransposeStatement&) {
  TransposeProof p;
  VEIL_ASSIGN_OR_RETURN(p.relation, ReadRelationProof(in));
  return p;
}

}  // namespace veil::zk
