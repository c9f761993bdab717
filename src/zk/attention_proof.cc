#include "veil/zk/attention_proof.h"

#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

constexpr uint32_t kMaxDim = uint32_t{1} << 20;

size_t ScoreCols(const AttentionStatement& s) { return size_t{s.heads} * s.tq * s.tk; }
size_t QCols(const AttentionStatement& s) { return size_t{s.tq} * s.heads * s.dim; }
size_t KCols(const AttentionStatement& s) { return size_t{s.tk} * s.heads * s.dim; }

void AbsorbStatement(Transcript* t, const AttentionStatement& s) {
  AbsorbProtocol(t, "veil/zk/attention/v1");
  for (uint64_t v :
       {uint64_t{s.batch}, uint64_t{s.tq}, uint64_t{s.tk}, uint64_t{s.heads}, uint64_t{s.dim},
        uint64_t{s.causal}, static_cast<uint64_t>(s.score_multiplier),
        static_cast<uint64_t>(s.score_shift), static_cast<uint64_t>(s.multiplier),
        static_cast<uint64_t>(s.shift), static_cast<uint64_t>(static_cast<int64_t>(s.act_min)),
        static_cast<uint64_t>(static_cast<int64_t>(s.act_max))})
    t->AppendU64("attention/param", v);
  for (int32_t e : s.exp_table) t->AppendU64("attention/exp_table", static_cast<uint64_t>(e));
  for (const HyraxCommitment* c : {&s.q, &s.k, &s.v, &s.output})
    t->AppendPoints("attention/io", c->rows);
}

void AbsorbWitness(Transcript* t, const AttentionProof& p) {
  for (const HyraxCommitment* c :
       {&p.score_accumulator, &p.scores, &p.probabilities, &p.output_accumulator})
    t->AppendPoints("attention/witness", c->rows);
}

RequantizeStatement ScoreRequantize(const AttentionStatement& s, const AttentionProof& p) {
  RequantizeStatement r;
  r.rows = s.batch;
  r.cols = static_cast<uint32_t>(ScoreCols(s));
  r.multiplier.assign(r.cols, s.score_multiplier);
  r.shift.assign(r.cols, s.score_shift);
  r.act_min = -127;
  r.act_max = 127;
  r.accumulator = p.score_accumulator;
  r.output = p.scores;
  return r;
}

RequantizeStatement OutputRequantize(const AttentionStatement& s, const AttentionProof& p) {
  RequantizeStatement r;
  r.rows = s.batch;
  r.cols = static_cast<uint32_t>(QCols(s));
  r.multiplier.assign(r.cols, s.multiplier);
  r.shift.assign(r.cols, s.shift);
  r.act_min = s.act_min;
  r.act_max = s.act_max;
  r.accumulator = p.output_accumulator;
  r.output = s.output;
  return r;
}

SoftmaxStatement MakeSoftmax(const AttentionStatement& s, const AttentionProof& p) {
  SoftmaxStatement sm;
  sm.batch = s.batch;
  sm.rows = s.heads * s.tq;
  sm.cols = s.tk;
  sm.exp_table = s.exp_table;
  if (s.causal)
    for (uint32_t h = 0; h < s.heads; ++h)
      for (uint32_t i = 0; i < s.tq; ++i) sm.allowed.push_back(i + s.tk - s.tq + 1);
  sm.input = p.scores;
  sm.output = p.probabilities;
  return sm;
}

// Every intermediate of the honest computation.
struct Intermediates {
  std::vector<int32_t> score_acc, out_acc;
  std::vector<int8_t> scores, probs, output;
};

Intermediates Compute(const AttentionStatement& s, std::span<const int8_t> q,
                      std::span<const int8_t> k, std::span<const int8_t> v) {
  Intermediates m;
  const ProductLayout sl = ProductLayout::AttentionScores(s.tq, s.tk, s.heads, s.dim);
  const ProductLayout vl = ProductLayout::AttentionValues(s.tq, s.tk, s.heads, s.dim);
  AttentionProof shapes;  // only for the statements' public parts
  m.score_acc = ProductReference(sl, q, k, s.batch);
  const RequantizeStatement sr = ScoreRequantize(s, shapes);
  m.scores = RequantizeReference(m.score_acc, s.batch, sr.cols, sr.multiplier, sr.shift, -127, 127);
  m.probs = SoftmaxReference(MakeSoftmax(s, shapes), m.scores);
  m.out_acc = ProductReference(vl, m.probs, v, s.batch);
  const RequantizeStatement orq = OutputRequantize(s, shapes);
  m.output = RequantizeReference(m.out_acc, s.batch, orq.cols, orq.multiplier, orq.shift, s.act_min,
                                 s.act_max);
  return m;
}

}  // namespace

std::vector<int8_t> AttentionReference(const AttentionStatement& s, std::span<const int8_t> q,
                                       std::span<const int8_t> k, std::span<const int8_t> v) {
  return Compute(s, q, k, v).output;
}

Status CheckAttentionStatement(const CommitmentKey& key, const AttentionStatement& s) {
  if (s.batch == 0 || s.tq == 0 || s.tk == 0 || s.heads == 0 || s.dim == 0 || s.batch > kMaxDim ||
      s.tq > kMaxDim || s.tk > kMaxDim || s.heads > kMaxDim || s.dim > kMaxDim ||
      uint64_t{s.heads} * s.tq * s.tk > kMaxDim || uint64_t{s.tq} * s.heads * s.dim > kMaxDim ||
      uint64_t{s.tk} * s.heads * s.dim > kMaxDim)
    return Status::Corrupt("attention: bad dimensions");
  if (s.causal && s.tq > s.tk)
    return Status::Corrupt("attention: causal with more queries than keys");
  if (uint64_t{s.dim} * 127 * 127 >= (uint64_t{1} << 31) ||
      uint64_t{s.tk} * 127 * 127 >= (uint64_t{1} << 31))
    return Status::Corrupt("attention: D or Tk too large for int32 accumulators");
  for (size_t cols : {ScoreCols(s), QCols(s), KCols(s)})
    if ((size_t{1} << CeilLog2(cols)) > key.max_vector_length())
      return Status::Corrupt("attention: rows longer than the commitment key");
  for (int64_t m : {s.score_multiplier, s.multiplier})
    if (m < 0 || m >= (int64_t{1} << 31))
      return Status::Corrupt("attention: multiplier out of range");
  for (int64_t sh : {s.score_shift, s.shift})
    if (sh < 0 || sh > 62) return Status::Corrupt("attention: shift out of range");
  if (s.act_min < -127 || s.act_max > 127 || s.act_min > s.act_max)
    return Status::Corrupt("attention: activation bounds out of range");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.q, s.batch, QCols(s), "attention q"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.k, s.batch, KCols(s), "attention k"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.v, s.batch, KCols(s), "attention v"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.batch, QCols(s), "attention output"));
  // The softmax rules on the table (and the rest of its statement).
  AttentionProof shapes;
  shapes.scores = shapes.probabilities =
      HyraxCommitment{static_cast<uint32_t>(CeilLog2(s.batch)),
                      static_cast<uint32_t>(CeilLog2(ScoreCols(s))), std::vector<Point>(s.batch)};
  VEIL_RETURN_IF_ERROR(CheckSoftmaxStatement(key, MakeSoftmax(s, shapes)));
  return Status::Ok();
}

Status CheckProofShapes(const AttentionStatement& s, const AttentionProof& p) {
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(p.score_accumulator, s.batch, ScoreCols(s), "attention scores"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(p.scores, s.batch, ScoreCols(s), "attention scores"));
  VEIL_RETURN_IF_ERROR(
      CheckHyraxShape(p.probabilities, s.batch, ScoreCols(s), "attention probabilities"));
  return CheckHyraxShape(p.output_accumulator, s.batch, QCols(s), "attention accumulator");
}

Result<AttentionProof> ProveAttention(const CommitmentKey& key, const AttentionStatement& s,
                                      const AttentionWitness& w, Transcript* transcript,
                                      ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckAttentionStatement(key, s));
  const size_t B = s.batch, SC = ScoreCols(s), QC = QCols(s), KC = KCols(s);
  if (w.q.size() != B * QC || w.k.size() != B * KC || w.v.size() != B * KC ||
      w.output.size() != B * QC || w.q_blinds.size() != B || w.k_blinds.size() != B ||
      w.v_blinds.size() != B || w.output_blinds.size() != B)
    return Status::InvalidArgument("attention: witness sizes do not match the statement");
  AbsorbStatement(transcript, s);
  const Intermediates m = Compute(s, w.q, w.k, w.v);
  const std::vector<Scalar> sa_b = FreshBlinds(B), z_b = FreshBlinds(B), p_b = FreshBlinds(B),
                            oa_b = FreshBlinds(B);
  AttentionProof proof;
  VEIL_ASSIGN_OR_RETURN(proof.score_accumulator,
                        HyraxCommitInt32(key, m.score_acc, B, SC, sa_b, pool));
  VEIL_ASSIGN_OR_RETURN(proof.scores, HyraxCommitInt8(key, m.scores, B, SC, z_b, pool));
  VEIL_ASSIGN_OR_RETURN(proof.probabilities, HyraxCommitInt8(key, m.probs, B, SC, p_b, pool));
  VEIL_ASSIGN_OR_RETURN(proof.output_accumulator,
                        HyraxCommitInt32(key, m.out_acc, B, QC, oa_b, pool));
  AbsorbWitness(transcript, proof);

  const HyraxWitness qw = MakeWitnessInt8(w.q, B, QC, w.q_blinds);
  const HyraxWitness kw = MakeWitnessInt8(w.k, B, KC, w.k_blinds);
  const HyraxWitness vw = MakeWitnessInt8(w.v, B, KC, w.v_blinds);
  const HyraxWitness saw = MakeWitnessInt32(m.score_acc, B, SC, sa_b);
  const HyraxWitness pw = MakeWitnessInt8(m.probs, B, SC, p_b);
  const HyraxWitness oaw = MakeWitnessInt32(m.out_acc, B, QC, oa_b);
  const ProductLayout sl = ProductLayout::AttentionScores(s.tq, s.tk, s.heads, s.dim);
  const ProductLayout vl = ProductLayout::AttentionValues(s.tq, s.tk, s.heads, s.dim);
  VEIL_ASSIGN_OR_RETURN(
      proof.score_product,
      ProveProductCore(key, s.batch, sl, {&s.q, &s.k, &proof.score_accumulator, &qw, &kw, &saw},
                       transcript));
  RequantizeWitness zr;
  zr.accumulator = m.score_acc;
  zr.output = m.scores;
  zr.accumulator_blinds = sa_b;
  zr.output_blinds = z_b;
  VEIL_ASSIGN_OR_RETURN(proof.score_requantize,
                        ProveRequantize(key, ScoreRequantize(s, proof), zr, transcript, pool));
  SoftmaxWitness sw;
  sw.input = m.scores;
  sw.output = m.probs;
  sw.input_blinds = z_b;
  sw.output_blinds = p_b;
  VEIL_ASSIGN_OR_RETURN(proof.softmax,
                        ProveSoftmax(key, MakeSoftmax(s, proof), sw, transcript, pool));
  VEIL_ASSIGN_OR_RETURN(
      proof.value_product,
      ProveProductCore(key, s.batch, vl,
                       {&proof.probabilities, &s.v, &proof.output_accumulator, &pw, &vw, &oaw},
                       transcript));
  RequantizeWitness orw;
  orw.accumulator = m.out_acc;
  orw.output = w.output;
  orw.accumulator_blinds = oa_b;
  orw.output_blinds = w.output_blinds;
  VEIL_ASSIGN_OR_RETURN(proof.output_requantize,
                        ProveRequantize(key, OutputRequantize(s, proof), orw, transcript, pool));
  return proof;
}

Status VerifyAttention(const CommitmentKey& key, const AttentionStatement& s,
                       const AttentionProof& p, Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckAttentionStatement(key, s));
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("attention proof rejected at ") + what);
  };
  AbsorbStatement(transcript, s);
  AbsorbWitness(transcript, p);
  const ProductLayout sl = ProductLayout::AttentionScores(s.tq, s.tk, s.heads, s.dim);
  const ProductLayout vl = ProductLayout::AttentionValues(s.tq, s.tk, s.heads, s.dim);
  VEIL_RETURN_IF_ERROR(
      step(VerifyProductCore(key, s.batch, sl,
                             {&s.q, &s.k, &p.score_accumulator, nullptr, nullptr, nullptr},
                             p.score_product, transcript, b),
           "q·kᵀ"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyRequantize(key, ScoreRequantize(s, p), p.score_requantize, transcript, b),
           "the score requantization"));
  VEIL_RETURN_IF_ERROR(
      step(VerifySoftmax(key, MakeSoftmax(s, p), p.softmax, transcript, b), "the softmax"));
  VEIL_RETURN_IF_ERROR(step(
      VerifyProductCore(key, s.batch, vl,
                        {&p.probabilities, &s.v, &p.output_accumulator, nullptr, nullptr, nullptr},
                        p.value_product, transcript, b),
      "p·v"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyRequantize(key, OutputRequantize(s, p), p.output_requantize, transcript, b),
           "the output requantization"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteAttentionProof(std::vector<uint8_t>* out, const AttentionProof& p) {
  for (const HyraxCommitment* c :
       {&p.score_accumulator, &p.scores, &p.probabilities, &p.output_accumulator})
    WriteHyraxCommitment(out, *c);
  WriteProductCoreProof(out, p.score_product);
  WriteRequantizeProof(out, p.score_requantize);
  WriteSoftmaxProof(out, p.softmax);
  WriteProductCoreProof(out, p.value_product);
  WriteRequantizeProof(out, p.output_requantize);
}

Result<AttentionProof> ReadAttentionProof(ZkReader* in, const AttentionStatement& s) {
  AttentionProof p;
  for (HyraxCommitment* c :
       {&p.score_accumulator, &p.scores, &p.probabilities, &p.output_accumulator}) {
    VEIL_ASSIGN_OR_RETURN(*c, ReadHyraxCommitment(in));
  }
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  VEIL_ASSIGN_OR_RETURN(p.score_product, ReadProductCoreProof(in));
  VEIL_ASSIGN_OR_RETURN(p.score_requantize, ReadRequantizeProof(in, ScoreRequantize(s, p)));
  VEIL_ASSIGN_OR_RETURN(p.softmax, ReadSoftmaxProof(in, MakeSoftmax(s, p)));
  VEIL_ASSIGN_OR_RETURN(p.value_product, ReadProductCoreProof(in));
  VEIL_ASSIGN_OR_RETURN(p.output_requantize, ReadRequantizeProof(in, OutputRequantize(s, p)));
  return p;
}

}  // namespace veil::zk
