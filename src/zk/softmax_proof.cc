#include "veil/zk/softmax_proof.h"

#include <algorithm>
#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxDim = uint32_t{1} << 20;

uint32_t Allowed(const SoftmaxStatement& s, uint32_t r) {
  return s.allowed.empty() ? s.cols : s.allowed[r];
}

uint32_t RemainderBits(const SoftmaxStatement& s) {
  return 17 + static_cast<uint32_t>(CeilLog2(s.cols));
}

void AbsorbStatement(Transcript* t, const SoftmaxStatement& s) {
  AbsorbProtocol(t, "veil/zk/softmax/v1");
  t->AppendU64("softmax/batch", s.batch);
  t->AppendU64("softmax/rows", s.rows);
  t->AppendU64("softmax/cols", s.cols);
  for (int32_t v : s.exp_table) t->AppendU64("softmax/exp_table", static_cast<uint64_t>(v));
  t->AppendU64("softmax/allowed_count", s.allowed.size());
  for (uint32_t a : s.allowed) t->AppendU64("softmax/allowed", a);
  t->AppendPoints("softmax/input", s.input.rows);
  t->AppendPoints("softmax/output", s.output.rows);
}

struct Maps {
  RelationLayout wide, narrow;
  ColumnMap id_a, bc_a, rs_a, rowsum_a, id_not;
  std::vector<Scalar> sel_a, minus_sel_a, minus_one_rows;
  std::vector<Scalar> mask_right;  // 2^cv: 1 on allowed columns
  bool any_disallowed = false;
};

Maps MakeMaps(const SoftmaxStatement& s) {
  const uint32_t R = s.rows, C = s.cols, N = R * C;
  Maps m;
  m.wide = {s.batch, N, 0};
  m.narrow = {s.batch, R, 0};
  m.id_a = {N, N, {}, {}};
  m.id_not = {N, N, {}, {}};
  m.bc_a = {N, R, {}, {}};
  m.rs_a = {N, N, {}, {}};
  m.rowsum_a = {R, N, {}, {}};
  m.sel_a.assign(N, Scalar::Zero());
  m.mask_right.assign(size_t{1} << CeilLog2(N), Scalar::Zero());
  m.minus_one_rows.assign(R, -Scalar::One());
  for (uint32_t r = 0; r < R; ++r) {
    const uint32_t a = Allowed(s, r);
    m.rowsum_a.blocks.push_back({r, 1, r * C, a, Scalar::One()});
    m.rs_a.blocks.push_back({r * C, a, r * C, a, Scalar::One()});
    for (uint32_t c = 0; c < C; ++c) {
      const uint32_t j = r * C + c;
      if (c >= a) {
        m.id_not.entries.push_back({j, j, Scalar::One()});
        m.any_disallowed = true;
        continue;
      }
      m.id_a.entries.push_back({j, j, Scalar::One()});
      m.bc_a.entries.push_back({j, r, Scalar::One()});
      m.sel_a[j] = Scalar::One();
      m.mask_right[j] = Scalar::One();
    }
  }
  m.minus_sel_a = m.sel_a;
  for (Scalar& v : m.minus_sel_a) v = -v;
  return m;
}

// Commitments (and, for the prover, witnesses) the relations refer to.
struct Operand {
  const HyraxCommitment* c = nullptr;
  const HyraxWitness* w = nullptr;
};
struct Operands {
  Operand x, y, max, onehot, exps, rem, comp, inv;
};

struct Challenges {
  Scalar alpha, beta, gamma, gamma2;
};

struct Forms {
  AffineForm r1_p, r1_q, r1_l, r2_p, r2_q, r3_l, r4_p, r4_q, r4_l;
};

Forms MakeForms(const Maps& m, const Operands& o, const Challenges& ch) {
  Forms f;
  const Scalar one = Scalar::One();
  f.r1_p.Add(o.inv.c, o.inv.w, &m.id_a);
  f.r1_q.Add(o.max.c, o.max.w, &m.bc_a).Add(o.x.c, o.x.w, &m.id_a, -one);
  f.r1_q.Add(o.exps.c, o.exps.w, &m.id_a, ch.beta);
  f.r1_q.constant = m.sel_a;
  for (Scalar& v : f.r1_q.constant) v *= ch.alpha;
  f.r1_l.constant = m.minus_sel_a;

  f.r2_p.Add(o.onehot.c, o.onehot.w, &m.id_a);
  f.r2_q.Add(o.onehot.c, o.onehot.w, &m.id_a, -one).Add(o.max.c, o.max.w, &m.bc_a, ch.gamma);
  f.r2_q.Add(o.x.c, o.x.w, &m.id_a, -ch.gamma);
  f.r2_q.constant = m.sel_a;

  f.r3_l.Add(o.onehot.c, o.onehot.w, &m.rowsum_a);
  f.r3_l.constant = m.minus_one_rows;

  const Scalar two = one + one;
  f.r4_p.Add(o.exps.c, o.exps.w, &m.rs_a, -two);
  f.r4_q.Add(o.y.c, o.y.w, &m.id_a);
  f.r4_l.Add(o.exps.c, o.exps.w, &m.id_a, Scalar::FromInt64(254));
  f.r4_l.Add(o.exps.c, o.exps.w, &m.rs_a, one - ch.gamma2 * two);
  f.r4_l.Add(o.rem.c, o.rem.w, &m.id_a, ch.gamma2 - one);
  f.r4_l.Add(o.comp.c, o.comp.w, &m.id_a, ch.gamma2);
  f.r4_l.constant = m.sel_a;
  for (Scalar& v : f.r4_l.constant) v *= ch.gamma2;
  if (m.any_disallowed) f.r4_l.Add(o.y.c, o.y.w, &m.id_not);
  return f;
}

// c_j = 1/(α + j + β·exp_table[j]); a zero denominator (probability 256/l) is refused.
Result<std::vector<Scalar>> TableInverses(const SoftmaxStatement& s, const Challenges& ch) {
  std::vector<Scalar> c(kExpTableSize);
  for (uint32_t j = 0; j < kExpTableSize; ++j) {
    c[j] = ch.alpha + Scalar::FromUint64(j) + ch.beta * Scalar::FromInt64(s.exp_table[j]);
    if (c[j] == Scalar::Zero()) return Status::Corrupt("softmax: degenerate challenge");
  }
  BatchInvert(c);
  return c;
}

Challenges DrawChallenges(Transcript* t) {
  Challenges ch;
  ch.alpha = t->ChallengeScalar("softmax/alpha");
  ch.beta = t->ChallengeScalar("softmax/beta");
  ch.gamma = t->ChallengeScalar("softmax/gamma");
  ch.gamma2 = t->ChallengeScalar("softmax/gamma2");
  return ch;
}

void AbsorbWitnessCommitments(Transcript* t, const SoftmaxProof& p) {
  for (const HyraxCommitment* c :
       {&p.max, &p.onehot, &p.exps, &p.remainder, &p.complement, &p.multiplicities})
    t->AppendPoints("softmax/witness", c->rows);
}

Status CheckProofShapes(const SoftmaxStatement& s, const SoftmaxProof& p) {
  const size_t B = s.batch, N = size_t{s.rows} * s.cols;
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(p.max, B, s.rows, "softmax max"));
  for (const HyraxCommitment* c : {&p.onehot, &p.exps, &p.remainder, &p.complement})
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(*c, B, N, "softmax witness"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(p.multiplicities, 1, kExpTableSize, "softmax multiplicity"));
  return Status::Ok();
}

}  // namespace

std::vector<int8_t> SoftmaxReference(const SoftmaxStatement& s, std::span<const int8_t> x) {
  const size_t C = s.cols, N = size_t{s.rows} * C;
  std::vector<int8_t> y(size_t{s.batch} * N, 0);
  for (size_t b = 0; b < s.batch; ++b)
    for (uint32_t r = 0; r < s.rows; ++r) {
      const int8_t* xr = x.data() + b * N + r * C;
      const uint32_t a = Allowed(s, r);
      int32_t m = xr[0];
      for (uint32_t c = 1; c < a; ++c) m = std::max<int32_t>(m, xr[c]);
      int64_t sum = 0;
      for (uint32_t c = 0; c < a; ++c) sum += s.exp_table[static_cast<size_t>(m - xr[c])];
      for (uint32_t c = 0; c < a; ++c) {
        const int64_t e = s.exp_table[static_cast<size_t>(m - xr[c])];
        y[b * N + r * C + c] = static_cast<int8_t>((2 * 127 * e + sum) / (2 * sum));
      }
    }
  return y;
}

Status CheckSoftmaxStatement(const CommitmentKey& key, const SoftmaxStatement& s) {
  if (s.batch == 0 || s.rows == 0 || s.cols == 0 || s.batch > kMaxDim || s.rows > kMaxDim ||
      s.cols > kMaxDim || uint64_t{s.rows} * s.cols > kMaxDim)
    return Status::Corrupt("softmax: bad dimensions");
  const size_t n = size_t{s.rows} * s.cols;
  if ((size_t{1} << CeilLog2(n)) > key.max_vector_length() ||
      key.max_vector_length() < kExpTableSize)
    return Status::Corrupt("softmax: rows longer than the commitment key (or key < 256)");
  if (s.exp_table.size() != kExpTableSize || s.exp_table[0] != 65536)
    return Status::Corrupt("softmax: exp_table must have 256 entries with exp_table[0] = 65536");
  for (size_t d = 1; d < kExpTableSize; ++d)
    if (s.exp_table[d] < 0 || s.exp_table[d] > s.exp_table[d - 1])
      return Status::Corrupt("softmax: exp_table must be non-increasing in [0, 65536]");
  if (!s.allowed.empty()) {
    if (s.allowed.size() != s.rows) return Status::Corrupt("softmax: one allowed count per row");
    for (uint32_t a : s.allowed)
      if (a == 0 || a > s.cols) return Status::Corrupt("softmax: allowed count out of range");
  }
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.input, s.batch, n, "softmax input"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.batch, n, "softmax output"));
  return Status::Ok();
}

Result<SoftmaxProof> ProveSoftmax(const CommitmentKey& key, const SoftmaxStatement& s,
                                  const SoftmaxWitness& w, Transcript* transcript,
                                  ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckSoftmaxStatement(key, s));
  const size_t B = s.batch, R = s.rows, C = s.cols, N = R * C;
  if (w.input.size() != B * N || w.output.size() != B * N || w.input_blinds.size() != B ||
      w.output_blinds.size() != B)
    return Status::InvalidArgument("softmax: witness sizes do not match the statement");
  if (!w.row_max_override.empty() && w.row_max_override.size() != B * R)
    return Status::InvalidArgument("softmax: row_max_override needs one entry per row");
  AbsorbStatement(transcript, s);

  // The honest intermediate values (from the witness output y: a wrong y makes ρ or ρ'
  // leave its range and the proof fail).
  std::vector<int64_t> max(B * R), onehot(B * N), exps(B * N), rem(B * N), comp(B * N);
  std::vector<int32_t> mult(kExpTableSize, 0);
  std::vector<uint64_t> y_u(B * N), rem_u(B * N), comp_u(B * N);
  for (size_t b = 0; b < B; ++b)
    for (size_t r = 0; r < R; ++r) {
      const size_t row = b * N + r * C;
      const uint32_t a = Allowed(s, static_cast<uint32_t>(r));
      size_t star = 0;
      for (size_t c = 1; c < a; ++c)
        if (w.input[row + c] > w.input[row + star]) star = c;
      int64_t m = w.input[row + star];
      if (!w.row_max_override.empty()) {
        m = w.row_max_override[b * R + r];
        for (size_t c = 0; c < a; ++c)
          if (w.input[row + c] == m) star = c;
      }
      max[b * R + r] = m;
      onehot[row + star] = 1;
      int64_t sum = 0;
      for (size_t c = 0; c < a; ++c) {
        const int64_t d = m - w.input[row + c];
        if (d < 0 || d >= int64_t{kExpTableSize}) continue;  // dishonest max: fails below
        exps[row + c] = s.exp_table[static_cast<size_t>(d)];
        ++mult[static_cast<size_t>(d)];
        sum += exps[row + c];
      }
      for (size_t c = 0; c < a; ++c) {
        rem[row + c] = 254 * exps[row + c] + sum - 2 * sum * w.output[row + c];
        comp[row + c] = 2 * sum - 1 - rem[row + c];
      }
    }
  for (size_t e = 0; e < B * N; ++e) {
    y_u[e] = static_cast<uint64_t>(static_cast<int64_t>(w.output[e]));
    rem_u[e] = static_cast<uint64_t>(rem[e]);
    comp_u[e] = static_cast<uint64_t>(comp[e]);
  }
  const HyraxWitness xw = MakeWitnessInt8(w.input, B, N, w.input_blinds);
  const HyraxWitness yw = MakeWitnessInt8(w.output, B, N, w.output_blinds);
  const HyraxWitness max_w = MakeWitnessInt64(max, B, R, FreshBlinds(B));
  const HyraxWitness onehot_w = MakeWitnessInt64(onehot, B, N, FreshBlinds(B));
  const HyraxWitness exps_w = MakeWitnessInt64(exps, B, N, FreshBlinds(B));
  const HyraxWitness rem_w = MakeWitnessInt64(rem, B, N, FreshBlinds(B));
  const HyraxWitness comp_w = MakeWitnessInt64(comp, B, N, FreshBlinds(B));
  const std::vector<Scalar> mult_blind = FreshBlinds(1);
  SoftmaxProof proof;
  auto commit = [&](const HyraxWitness& hw) {
    return HyraxCommitScalars(key, hw.values, hw.rows, hw.cols, hw.blinds, pool);
  };
  VEIL_ASSIGN_OR_RETURN(proof.max, commit(max_w));
  VEIL_ASSIGN_OR_RETURN(proof.onehot, commit(onehot_w));
  VEIL_ASSIGN_OR_RETURN(proof.exps, commit(exps_w));
  VEIL_ASSIGN_OR_RETURN(proof.remainder, commit(rem_w));
  VEIL_ASSIGN_OR_RETURN(proof.complement, commit(comp_w));
  VEIL_ASSIGN_OR_RETURN(proof.multiplicities,
                        HyraxCommitInt32(key, mult, 1, kExpTableSize, mult_blind));
  AbsorbWitnessCommitments(transcript, proof);
  const Challenges ch = DrawChallenges(transcript);

  const Maps maps = MakeMaps(s);
  std::vector<Scalar> h(B * N);
  for (size_t e = 0; e < B * N; ++e) {
    if (maps.sel_a[e % N] == Scalar::Zero()) continue;
    h[e] = ch.alpha + Scalar::FromInt64(max[(e / N) * R + (e % N) / C] - w.input[e]) +
           ch.beta * Scalar::FromInt64(exps[e]);
    if (h[e] == Scalar::Zero()) return Status::Internal("softmax: degenerate challenge");
  }
  BatchInvert(h);  // zeros stay zero
  const HyraxWitness inv_w = MakeWitnessScalars(std::move(h), B, N, FreshBlinds(B));
  VEIL_ASSIGN_OR_RETURN(proof.inverses, commit(inv_w));
  transcript->AppendPoints("softmax/inverses", proof.inverses.rows);

  const Operands o{{&s.input, &xw},
                   {&s.output, &yw},
                   {&proof.max, &max_w},
                   {&proof.onehot, &onehot_w},
                   {&proof.exps, &exps_w},
                   {&proof.remainder, &rem_w},
                   {&proof.complement, &comp_w},
                   {&proof.inverses, &inv_w}};
  const Forms f = MakeForms(maps, o, ch);
  VEIL_ASSIGN_OR_RETURN(proof.lookup,
                        ProveZeroRelation(key, maps.wide, f.r1_p, f.r1_q, f.r1_l, transcript));
  const std::vector<Scalar> ones_rows(size_t{1} << CeilLog2(B), Scalar::One());
  VEIL_ASSIGN_OR_RETURN(HyraxOpening hs, HyraxProveTensor(key, proof.inverses, inv_w, ones_rows,
                                                          maps.mask_right, transcript));
  VEIL_ASSIGN_OR_RETURN(std::vector<Scalar> table_inv, TableInverses(s, ch));
  const HyraxWitness mult_w = MakeWitnessInt32(mult, 1, kExpTableSize, mult_blind);
  const std::vector<Scalar> one{Scalar::One()};
  VEIL_ASSIGN_OR_RETURN(HyraxOpening ms, HyraxProveTensor(key, proof.multiplicities, mult_w, one,
                                                          table_inv, transcript));
  proof.inverse_sum = hs.proof;
  proof.table_sum = ms.proof;
  proof.sums_equal = ProveEquality(key, hs.evaluation.commitment, hs.evaluation.blind,
                                   ms.evaluation.commitment, ms.evaluation.blind, transcript);
  VEIL_ASSIGN_OR_RETURN(proof.onehot_check,
                        ProveZeroRelation(key, maps.wide, f.r2_p, f.r2_q, {}, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.onehot_sum,
                        ProveZeroRelation(key, maps.narrow, {}, {}, f.r3_l, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.division,
                        ProveZeroRelation(key, maps.wide, f.r4_p, f.r4_q, f.r4_l, transcript));
  const uint32_t bits = RemainderBits(s);
  const DigitRangeTarget targets[] = {{&s.output, 8, &yw, y_u},
                                      {&proof.remainder, bits, &rem_w, rem_u},
                                      {&proof.complement, bits, &comp_w, comp_u}};
  VEIL_ASSIGN_OR_RETURN(proof.ranges, ProveDigitRange(key, B, N, targets, transcript, pool));
  return proof;
}

Status VerifySoftmax(const CommitmentKey& key, const SoftmaxStatement& s, const SoftmaxProof& p,
                     Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckSoftmaxStatement(key, s));
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(p.inverses, s.batch, size_t{s.rows} * s.cols, "softmax inverse"));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("softmax proof rejected at ") + what);
  };
  AbsorbStatement(transcript, s);
  AbsorbWitnessCommitments(transcript, p);
  const Challenges ch = DrawChallenges(transcript);
  transcript->AppendPoints("softmax/inverses", p.inverses.rows);
  const Maps maps = MakeMaps(s);
  const Operands o{{&s.input, nullptr},      {&s.output, nullptr},  {&p.max, nullptr},
                   {&p.onehot, nullptr},     {&p.exps, nullptr},    {&p.remainder, nullptr},
                   {&p.complement, nullptr}, {&p.inverses, nullptr}};
  const Forms f = MakeForms(maps, o, ch);
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.r1_p, f.r1_q, f.r1_l, p.lookup, transcript, b),
           "the lookup's inverses"));
  const std::vector<Scalar> ones_rows(size_t{1} << CeilLog2(s.batch), Scalar::One());
  VEIL_RETURN_IF_ERROR(step(
      HyraxVerifyTensor(key, p.inverses, ones_rows, maps.mask_right, p.inverse_sum, transcript, b),
      "the inverse sum"));
  auto table_inv = TableInverses(s, ch);
  if (!table_inv.ok()) return step(table_inv.status(), "the table");
  const std::vector<Scalar> one{Scalar::One()};
  VEIL_RETURN_IF_ERROR(
      step(HyraxVerifyTensor(key, p.multiplicities, one, *table_inv, p.table_sum, transcript, b),
           "the table sum"));
  VEIL_RETURN_IF_ERROR(step(VerifyEquality(key, p.inverse_sum.evaluation, p.table_sum.evaluation,
                                           p.sums_equal, transcript),
                            "the LogUp sums"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.r2_p, f.r2_q, {}, p.onehot_check, transcript, b),
           "the one-hot check"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.narrow, {}, {}, f.r3_l, p.onehot_sum, transcript, b),
           "the one-hot row sums"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.r4_p, f.r4_q, f.r4_l, p.division, transcript, b),
           "the division"));
  const uint32_t bits = RemainderBits(s);
  const DigitRangeTarget targets[] = {{&s.output, 8, nullptr, {}},
                                      {&p.remainder, bits, nullptr, {}},
                                      {&p.complement, bits, nullptr, {}}};
  VEIL_RETURN_IF_ERROR(step(
      VerifyDigitRange(key, s.batch, size_t{s.rows} * s.cols, targets, p.ranges, transcript, b),
      "the ranges"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteSoftmaxProof(std::vector<uint8_t>* out, const SoftmaxProof& p) {
  for (const HyraxCommitment* c :
       {&p.max, &p.onehot, &p.exps, &p.remainder, &p.complement, &p.multiplicities, &p.inverses})
    WriteHyraxCommitment(out, *c);
  for (const RelationProof* r : {&p.lookup, &p.onehot_check, &p.onehot_sum, &p.division})
    WriteRelationProof(out, *r);
  WriteHyraxEvaluationProof(out, p.inverse_sum);
  WriteHyraxEvaluationProof(out, p.table_sum);
  WriteEqualityProof(out, p.sums_equal);
  WriteDigitRangeProof(out, p.ranges);
}

Result<SoftmaxProof> ReadSoftmaxProof(ZkReader* in, const SoftmaxStatement& s) {
  SoftmaxProof p;
  for (HyraxCommitment* c :
       {&p.max, &p.onehot, &p.exps, &p.remainder, &p.complement, &p.multiplicities, &p.inverses}) {
    VEIL_ASSIGN_OR_RETURN(*c, ReadHyraxCommitment(in));
  }
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(p.inverses, s.batch, size_t{s.rows} * s.cols, "softmax inverse"));
  for (RelationProof* r : {&p.lookup, &p.onehot_check, &p.onehot_sum, &p.division}) {
    VEIL_ASSIGN_OR_RETURN(*r, ReadRelationProof(in));
  }
  VEIL_ASSIGN_OR_RETURN(p.inverse_sum, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.table_sum, ReadHyraxEvaluationProof(in));
  VEIL_ASSIGN_OR_RETURN(p.sums_equal, ReadEqualityProof(in));
  const DigitRangeTarget targets[] = {{nullptr, 8, nullptr, {}},
                                      {nullptr, RemainderBits(s), nullptr, {}},
                                      {nullptr, RemainderBits(s), nullptr, {}}};
  VEIL_ASSIGN_OR_RETURN(p.ranges,
                        ReadDigitRangeProof(in, s.batch, size_t{s.rows} * s.cols, targets));
  return p;
}

}  // namespace veil::zk
