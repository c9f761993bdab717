#include "veil/zk/layernorm_proof.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "veil/zk/multilinear.h"

namespace veil::zk {
namespace {

__extension__ typedef __int128 i128;

constexpr uint32_t kMaxDim = uint32_t{1} << 20;
constexpr int kFractionBits = 12;
constexpr int64_t kNormOffset = int64_t{1} << 20;  // |n| < 2^20

enum RowIndex { kV, kQ, kRho1, kRho1c, kR, kSig1, kSig2, kZ, kR1, kRowCount };
enum ElementIndex { kN, kRho2, kRho2c, kLo, kHi, kElementCount };

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t ISqrt(int64_t v) {
  auto r = static_cast<int64_t>(std::sqrt(static_cast<long double>(v)));
  while (r > 0 && static_cast<i128>(r) * r > v) --r;
  while (static_cast<i128>(r + 1) * (r + 1) <= v) ++r;
  return r;
}

int64_t Rounding(int64_t shift) { return shift == 0 ? 0 : int64_t{1} << (shift - 1); }

uint32_t Log2C(const LayerNormStatement& s) { return static_cast<uint32_t>(CeilLog2(s.cols)); }

std::vector<uint32_t> RowBits(const LayerNormStatement& s) {
  // q, ρ1, ρ1', r, σ1, σ2, r'
  const uint32_t rho = Log2C(s) + 1;
  return {64, rho, rho, 32, 33, 33, 32};
}
constexpr uint32_t kElementBits[] = {21, 33, 33, 64,
                                     64, 8,  8};  // n+2^20, ρ2, ρ2', Lo, Hi, y−lo, hi−y

void AbsorbStatement(Transcript* t, const LayerNormStatement& s) {
  AbsorbProtocol(t, "veil/zk/layernorm/v1");
  for (uint64_t v :
       {uint64_t{s.batch}, uint64_t{s.rows}, uint64_t{s.cols}, static_cast<uint64_t>(s.eps),
        static_cast<uint64_t>(s.shift), static_cast<uint64_t>(static_cast<int64_t>(s.act_min)),
        static_cast<uint64_t>(static_cast<int64_t>(s.act_max))})
    t->AppendU64("layernorm/param", v);
  for (int32_t g : s.gamma) t->AppendU64("layernorm/gamma", static_cast<uint64_t>(int64_t{g}));
  for (int64_t b : s.beta) t->AppendU64("layernorm/beta", static_cast<uint64_t>(b));
  t->AppendPoints("layernorm/input", s.input.rows);
  t->AppendPoints("layernorm/output", s.output.rows);
}

struct Maps {
  RelationLayout narrow, wide, squares;
  ColumnMap id_r, id_n, bc, gamma, d_wide, d_pad;
};

Maps MakeMaps(const LayerNormStatement& s) {
  const uint32_t R = s.rows, C = s.cols, N = R * C, cp = uint32_t{1} << Log2C(s);
  Maps m;
  m.narrow = {s.batch, R, 0};
  m.wide = {s.batch, N, 0};
  m.squares = {s.batch, R * cp, Log2C(s)};
  m.id_r = ColumnMap::Identity(R);
  m.id_n = ColumnMap::Identity(N);
  m.bc = ColumnMap::Broadcast(R, C);
  std::vector<Scalar> g(N);
  for (uint32_t j = 0; j < N; ++j) g[j] = Scalar::FromInt64(s.gamma[j % C]);
  m.gamma = ColumnMap::Scaled(g);
  m.d_wide = {N, N, {}, {}};
  m.d_pad = {R * cp, N, {}, {}};
  const Scalar c_scalar = Scalar::FromUint64(C), minus_one = -Scalar::One();
  for (uint32_t r = 0; r < R; ++r) {
    m.d_wide.blocks.push_back({r * C, C, r * C, C, minus_one});
    m.d_pad.blocks.push_back({r * cp, C, r * C, C, minus_one});
    for (uint32_t c = 0; c < C; ++c) {
      m.d_wide.entries.push_back({r * C + c, r * C + c, c_scalar});
      m.d_pad.entries.push_back({r * cp + c, r * C + c, c_scalar});
    }
  }
  return m;
}

struct Operand {
  const HyraxCommitment* c = nullptr;
  const HyraxWitness* w = nullptr;
};
struct Operands {
  Operand x, y;
  Operand row[kRowCount], el[kElementCount];
};

struct Forms {
  AffineForm sq_d, sq_claim, n1_p, n1_q, n1_l, n2_p, n2_q, w1_p, w1_q, w1_l, w2_p, w2_q, w3_p, w3_q;
};

Forms MakeForms(const LayerNormStatement& s, const Maps& m, const Operands& o,
                std::span<const Scalar> g) {
  const uint32_t R = s.rows, N = s.rows * s.cols;
  const Scalar one = Scalar::One(), two = one + one, C = Scalar::FromUint64(s.cols);
  auto row = [&](int i) { return o.row[i]; };
  Forms f;
  f.sq_d.Add(o.x.c, o.x.w, &m.d_pad);
  f.sq_claim.Add(row(kV).c, row(kV).w, &m.id_r);

  f.n1_p.Add(row(kR).c, row(kR).w, &m.id_r, -one);
  f.n1_q.Add(row(kR).c, row(kR).w, &m.id_r);
  AffineForm& l = f.n1_l;
  l.Add(row(kQ).c, row(kQ).w, &m.id_r).Add(row(kSig1).c, row(kSig1).w, &m.id_r, -one);
  l.AddConstant(Scalar::FromInt64(s.eps), R);
  // γ1(2V + C − 2C·q − ρ1)
  l.Add(row(kV).c, row(kV).w, &m.id_r, g[0] * two)
      .Add(row(kQ).c, row(kQ).w, &m.id_r, -g[0] * two * C);
  l.Add(row(kRho1).c, row(kRho1).w, &m.id_r, -g[0]).AddConstant(g[0] * C, R);
  // γ2(ρ1 + ρ1' − 2C + 1)
  l.Add(row(kRho1).c, row(kRho1).w, &m.id_r, g[1]).Add(row(kRho1c).c, row(kRho1c).w, &m.id_r, g[1]);
  l.AddConstant(g[1] * (one - two * C), R);
  // γ3(σ1 + σ2 − 2r)
  l.Add(row(kSig1).c, row(kSig1).w, &m.id_r, g[2]).Add(row(kSig2).c, row(kSig2).w, &m.id_r, g[2]);
  l.Add(row(kR).c, row(kR).w, &m.id_r, -g[2] * two);
  // γ4(r' − r + 1 − z)
  l.Add(row(kR1).c, row(kR1).w, &m.id_r, g[3]).Add(row(kR).c, row(kR).w, &m.id_r, -g[3]);
  l.Add(row(kZ).c, row(kZ).w, &m.id_r, -g[3]).AddConstant(g[3], R);

  f.n2_p.Add(row(kZ).c, row(kZ).w, &m.id_r);
  f.n2_q.Add(row(kZ).c, row(kZ).w, &m.id_r, -one).Add(row(kR).c, row(kR).w, &m.id_r, g[4]);
  f.n2_q.AddConstant(one, R);

  // W1: (−2r + γ6·z)·n + 2^13·d + r − ρ2 + γ7(ρ2 + ρ2' − 2r + 1 − z)
  f.w1_p.Add(row(kR).c, row(kR).w, &m.bc, -two).Add(row(kZ).c, row(kZ).w, &m.bc, g[5]);
  f.w1_q.Add(o.el[kN].c, o.el[kN].w, &m.id_n);
  AffineForm& w = f.w1_l;
  w.Add(o.x.c, o.x.w, &m.d_wide, Scalar::FromUint64(uint64_t{1} << (kFractionBits + 1)));
  w.Add(row(kR).c, row(kR).w, &m.bc, one - two * g[6]).Add(row(kZ).c, row(kZ).w, &m.bc, -g[6]);
  w.Add(o.el[kRho2].c, o.el[kRho2].w, &m.id_n, g[6] - one);
  w.Add(o.el[kRho2c].c, o.el[kRho2c].w, &m.id_n, g[6]).AddConstant(g[6], N);

  // W2: (Lo − n·γ − (β + R) + y·2^s)·(y − lo); W3: (Hi − y·2^s − (2^s − 1 − β − R) + n·γ)·(hi − y)
  const Scalar pow2 = Scalar::FromUint64(uint64_t{1} << s.shift);
  std::vector<Scalar> low_const(N), high_const(N);
  for (uint32_t j = 0; j < N; ++j) {
    const Scalar b = Scalar::FromInt64(s.beta[j % s.cols]) + Scalar::FromInt64(Rounding(s.shift));
    low_const[j] = -b;
    high_const[j] = b - pow2 + one;
  }
  f.w2_p.Add(o.el[kLo].c, o.el[kLo].w, &m.id_n).Add(o.el[kN].c, o.el[kN].w, &m.gamma, -one);
  f.w2_p.Add(o.y.c, o.y.w, &m.id_n, pow2);
  f.w2_p.constant = low_const;
  f.w2_q.Add(o.y.c, o.y.w, &m.id_n).AddConstant(-Scalar::FromInt64(s.act_min), N);
  f.w3_p.Add(o.el[kHi].c, o.el[kHi].w, &m.id_n).Add(o.el[kN].c, o.el[kN].w, &m.gamma);
  f.w3_p.Add(o.y.c, o.y.w, &m.id_n, -pow2);
  f.w3_p.constant = high_const;
  f.w3_q.Add(o.y.c, o.y.w, &m.id_n, -one).AddConstant(Scalar::FromInt64(s.act_max), N);
  return f;
}

std::vector<Scalar> DrawChallenges(Transcript* t) {
  return t->ChallengeScalars("layernorm/gamma", 7);
}

void AbsorbWitness(Transcript* t, const LayerNormProof& p) {
  for (const HyraxCommitment& c : p.row_values) t->AppendPoints("layernorm/row", c.rows);
  for (const HyraxCommitment& c : p.element_values) t->AppendPoints("layernorm/element", c.rows);
}

Status CheckProofShapes(const LayerNormStatement& s, const LayerNormProof& p) {
  if (p.row_values.size() != kRowCount || p.element_values.size() != kElementCount)
    return Status::Corrupt("layernorm: wrong number of witness commitments");
  for (const HyraxCommitment& c : p.row_values)
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(c, s.batch, s.rows, "layernorm row"));
  for (const HyraxCommitment& c : p.element_values)
    VEIL_RETURN_IF_ERROR(CheckHyraxShape(c, s.batch, size_t{s.rows} * s.cols, "layernorm element"));
  return Status::Ok();
}

// Com(hi − Y) from Com(Y) (rows negated, then hi·Σ G_j added).
HyraxCommitment NegatedOffset(const CommitmentKey& key, const HyraxCommitment& c, uint32_t cols,
                              int64_t offset) {
  HyraxCommitment neg = c;
  for (Point& row : neg.rows) row = -row;
  return OffsetCommitment(key, neg, cols, offset);
}

struct RangeCommitments {
  HyraxCommitment n_shift, y_low, y_high;
};

RangeCommitments MakeRangeCommitments(const CommitmentKey& key, const LayerNormStatement& s,
                                      const LayerNormProof& p) {
  const uint32_t N = s.rows * s.cols;
  return {OffsetCommitment(key, p.element_values[kN], N, kNormOffset),
          OffsetCommitment(key, s.output, N, -int64_t{s.act_min}),
          NegatedOffset(key, s.output, N, s.act_max)};
}

}  // namespace

std::vector<int8_t> LayerNormReference(const LayerNormStatement& s, std::span<const int8_t> x) {
  const size_t C = s.cols, N = size_t{s.rows} * C;
  std::vector<int8_t> y(size_t{s.batch} * N);
  const int64_t c = static_cast<int64_t>(C);
  for (size_t b = 0; b < s.batch; ++b)
    for (size_t r = 0; r < s.rows; ++r) {
      const int8_t* xr = x.data() + b * N + r * C;
      int64_t sum = 0;
      for (size_t j = 0; j < C; ++j) sum += xr[j];
      int64_t v = 0;
      for (size_t j = 0; j < C; ++j) v += (c * xr[j] - sum) * (c * xr[j] - sum);
      const int64_t root = ISqrt(FloorDiv(2 * v + c, 2 * c) + s.eps);
      for (size_t j = 0; j < C; ++j) {
        const int64_t d = c * xr[j] - sum;
        const int64_t n =
            root == 0 ? 0 : FloorDiv(2 * d * (int64_t{1} << kFractionBits) + root, 2 * root);
        const i128 u = static_cast<i128>(n) * s.gamma[j] + s.beta[j] + Rounding(s.shift);
        y[b * N + r * C + j] =
            static_cast<int8_t>(std::clamp<i128>(u >> s.shift, s.act_min, s.act_max));
      }
    }
  return y;
}

Status CheckLayerNormStatement(const CommitmentKey& key, const LayerNormStatement& s) {
  if (s.batch == 0 || s.rows == 0 || s.cols == 0 || s.batch > kMaxDim || s.rows > kMaxDim ||
      s.cols > 8192 || uint64_t{s.rows} * s.cols > kMaxDim)
    return Status::Corrupt("layernorm: bad dimensions (C <= 8192)");
  const size_t n = size_t{s.rows} * s.cols;
  if ((size_t{1} << CeilLog2(n)) > key.max_vector_length() || key.max_vector_length() < 256)
    return Status::Corrupt("layernorm: rows longer than the commitment key (or key < 256)");
  if (s.gamma.size() != s.cols || s.beta.size() != s.cols)
    return Status::Corrupt("layernorm: gamma and beta need C entries");
  for (uint32_t c = 0; c < s.cols; ++c)
    if (s.gamma[c] <= INT32_MIN || s.beta[c] <= -(int64_t{1} << 61) ||
        s.beta[c] >= (int64_t{1} << 61))
      return Status::Corrupt("layernorm: gamma or beta out of range");
  if (s.eps < 0 || s.eps >= (int64_t{1} << 40) || s.shift < 0 || s.shift > 62)
    return Status::Corrupt("layernorm: eps or shift out of range");
  if (s.act_min < -127 || s.act_max > 127 || s.act_min > s.act_max)
    return Status::Corrupt("layernorm: activation bounds out of range");
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.input, s.batch, n, "layernorm input"));
  VEIL_RETURN_IF_ERROR(CheckHyraxShape(s.output, s.batch, n, "layernorm output"));
  return Status::Ok();
}

Result<LayerNormProof> ProveLayerNorm(const CommitmentKey& key, const LayerNormStatement& s,
                                      const LayerNormWitness& w, Transcript* transcript,
                                      ThreadPool* pool) {
  VEIL_RETURN_IF_ERROR(CheckLayerNormStatement(key, s));
  const size_t B = s.batch, R = s.rows, C = s.cols, N = R * C;
  if (w.input.size() != B * N || w.output.size() != B * N || w.input_blinds.size() != B ||
      w.output_blinds.size() != B)
    return Status::InvalidArgument("layernorm: witness sizes do not match the statement");
  AbsorbStatement(transcript, s);

  // Honest intermediates (from the witness output: a wrong y fails the slack ranges).
  std::vector<std::vector<uint64_t>> rv(kRowCount, std::vector<uint64_t>(B * R));
  std::vector<std::vector<uint64_t>> ev(kElementCount, std::vector<uint64_t>(B * N));
  std::vector<uint64_t> n_shift(B * N), y_low(B * N), y_high(B * N);
  const int64_t c = static_cast<int64_t>(C);
  for (size_t b = 0; b < B; ++b)
    for (size_t r = 0; r < R; ++r) {
      const size_t row = b * R + r, base = b * N + r * C;
      int64_t sum = 0, v = 0;
      for (size_t j = 0; j < C; ++j) sum += w.input[base + j];
      for (size_t j = 0; j < C; ++j)
        v += (c * w.input[base + j] - sum) * (c * w.input[base + j] - sum);
      const int64_t q = FloorDiv(2 * v + c, 2 * c), rho1 = 2 * v + c - 2 * c * q;
      const int64_t t = q + s.eps, root = ISqrt(t), sig1 = t - root * root;
      const int64_t z = root == 0 ? 1 : 0;
      const int64_t vals[kRowCount] = {
          v, q, rho1, 2 * c - 1 - rho1, root, sig1, 2 * root - sig1, z, root - 1 + z};
      for (int i = 0; i < kRowCount; ++i) rv[i][row] = static_cast<uint64_t>(vals[i]);
      for (size_t j = 0; j < C; ++j) {
        const size_t e = base + j;
        const int64_t d = c * w.input[e] - sum, num = d * (int64_t{1} << (kFractionBits + 1));
        const int64_t n = root == 0 ? 0 : FloorDiv(num + root, 2 * root);
        const int64_t rho2 = num + root - 2 * root * n;
        const i128 u = static_cast<i128>(n) * s.gamma[j] + s.beta[j] + Rounding(s.shift);
        const i128 y = w.output[e], p2 = static_cast<i128>(1) << s.shift;
        ev[kN][e] = static_cast<uint64_t>(n);
        ev[kRho2][e] = static_cast<uint64_t>(rho2);
        ev[kRho2c][e] = static_cast<uint64_t>(2 * root - 1 + z - rho2);
        ev[kLo][e] = y > s.act_min ? static_cast<uint64_t>(u - y * p2) : 0;
        ev[kHi][e] = y < s.act_max ? static_cast<uint64_t>((y + 1) * p2 - 1 - u) : 0;
        n_shift[e] = static_cast<uint64_t>(n + kNormOffset);
        y_low[e] = static_cast<uint64_t>(int64_t{w.output[e]} - s.act_min);
        y_high[e] = static_cast<uint64_t>(s.act_max - int64_t{w.output[e]});
      }
    }
  // Witness values as field elements: n and ρ2 may be negative (two's complement above).
  auto signed_witness = [](const std::vector<uint64_t>& v, size_t rows, size_t cols) {
    std::vector<int64_t> sv(v.size());
    for (size_t i = 0; i < v.size(); ++i) sv[i] = static_cast<int64_t>(v[i]);
    return MakeWitnessInt64(sv, rows, cols, FreshBlinds(rows));
  };
  auto unsigned_witness = [](const std::vector<uint64_t>& v, size_t rows, size_t cols) {
    std::vector<Scalar> sv(v.size());
    for (size_t i = 0; i < v.size(); ++i) sv[i] = Scalar::FromUint64(v[i]);
    return MakeWitnessScalars(std::move(sv), rows, cols, FreshBlinds(rows));
  };
  std::vector<HyraxWitness> row_w, el_w;
  for (int i = 0; i < kRowCount; ++i) row_w.push_back(unsigned_witness(rv[i], B, R));
  for (int i = 0; i < kElementCount; ++i)
    el_w.push_back(i == kN || i == kRho2 || i == kRho2c ? signed_witness(ev[i], B, N)
                                                        : unsigned_witness(ev[i], B, N));
  LayerNormProof proof;
  for (const HyraxWitness& hw : row_w) {
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment cm,
                          HyraxCommitScalars(key, hw.values, hw.rows, hw.cols, hw.blinds, pool));
    proof.row_values.push_back(std::move(cm));
  }
  for (const HyraxWitness& hw : el_w) {
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment cm,
                          HyraxCommitScalars(key, hw.values, hw.rows, hw.cols, hw.blinds, pool));
    proof.element_values.push_back(std::move(cm));
  }
  AbsorbWitness(transcript, proof);
  const std::vector<Scalar> g = DrawChallenges(transcript);

  const HyraxWitness xw = MakeWitnessInt8(w.input, B, N, w.input_blinds);
  const HyraxWitness yw = MakeWitnessInt8(w.output, B, N, w.output_blinds);
  Operands o;
  o.x = {&s.input, &xw};
  o.y = {&s.output, &yw};
  for (int i = 0; i < kRowCount; ++i) o.row[i] = {&proof.row_values[i], &row_w[i]};
  for (int i = 0; i < kElementCount; ++i) o.el[i] = {&proof.element_values[i], &el_w[i]};
  const Maps maps = MakeMaps(s);
  const Forms f = MakeForms(s, maps, o, g);

  const std::vector<Scalar> tau = transcript->ChallengeScalars(
      "layernorm/tau", maps.narrow.row_vars() + maps.narrow.col_vars());
  VEIL_ASSIGN_OR_RETURN(FormOpening v_at,
                        ProveFormAt(key, maps.narrow, f.sq_claim, tau, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.squares, ProveWeightedProduct(key, maps.squares, tau, f.sq_d, f.sq_d,
                                                            v_at.value, transcript));
  proof.squares.claim_openings = std::move(v_at.proofs);
  VEIL_ASSIGN_OR_RETURN(proof.root,
                        ProveZeroRelation(key, maps.narrow, f.n1_p, f.n1_q, f.n1_l, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.flag,
                        ProveZeroRelation(key, maps.narrow, f.n2_p, f.n2_q, {}, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.normalize,
                        ProveZeroRelation(key, maps.wide, f.w1_p, f.w1_q, f.w1_l, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.clamp_low,
                        ProveZeroRelation(key, maps.wide, f.w2_p, f.w2_q, {}, transcript));
  VEIL_ASSIGN_OR_RETURN(proof.clamp_high,
                        ProveZeroRelation(key, maps.wide, f.w3_p, f.w3_q, {}, transcript));

  const std::vector<uint32_t> row_bits = RowBits(s);
  std::vector<DigitRangeTarget> rt;
  for (int i = kQ, k = 0; i <= kR1; ++i) {
    if (i == kZ) continue;
    rt.push_back({&proof.row_values[i], row_bits[k++], &row_w[i], rv[i]});
  }
  VEIL_ASSIGN_OR_RETURN(proof.row_ranges, ProveDigitRange(key, B, R, rt, transcript, pool));
  const RangeCommitments rc = MakeRangeCommitments(key, s, proof);
  std::vector<Scalar> negated(B);
  for (size_t b = 0; b < B; ++b) negated[b] = -w.output_blinds[b];
  const HyraxWitness n_shift_w = MakeWitnessScalars(
      [&] {
        std::vector<Scalar> v(B * N);
        for (size_t e = 0; e < B * N; ++e) v[e] = Scalar::FromUint64(n_shift[e]);
        return v;
      }(),
      B, N, el_w[kN].blinds);
  auto from_u64 = [](const std::vector<uint64_t>& v) {
    std::vector<Scalar> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = Scalar::FromUint64(v[i]);
    return out;
  };
  const HyraxWitness y_low_w = MakeWitnessScalars(from_u64(y_low), B, N, w.output_blinds);
  const HyraxWitness y_high_w = MakeWitnessScalars(from_u64(y_high), B, N, negated);
  const DigitRangeTarget et[] = {
      {&rc.n_shift, kElementBits[0], &n_shift_w, n_shift},
      {&proof.element_values[kRho2], kElementBits[1], &el_w[kRho2], ev[kRho2]},
      {&proof.element_values[kRho2c], kElementBits[2], &el_w[kRho2c], ev[kRho2c]},
      {&proof.element_values[kLo], kElementBits[3], &el_w[kLo], ev[kLo]},
      {&proof.element_values[kHi], kElementBits[4], &el_w[kHi], ev[kHi]},
      {&rc.y_low, kElementBits[5], &y_low_w, y_low},
      {&rc.y_high, kElementBits[6], &y_high_w, y_high}};
  VEIL_ASSIGN_OR_RETURN(proof.element_ranges, ProveDigitRange(key, B, N, et, transcript, pool));
  return proof;
}

Status VerifyLayerNorm(const CommitmentKey& key, const LayerNormStatement& s,
                       const LayerNormProof& p, Transcript* transcript, BatchVerifier* batch) {
  VEIL_RETURN_IF_ERROR(CheckLayerNormStatement(key, s));
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  BatchVerifier local;
  BatchVerifier* b = batch != nullptr ? batch : &local;
  auto step = [](const Status& st, const char* what) {
    return st.ok() ? st : st.WithContext(std::string("layernorm proof rejected at ") + what);
  };
  AbsorbStatement(transcript, s);
  AbsorbWitness(transcript, p);
  const std::vector<Scalar> g = DrawChallenges(transcript);
  Operands o;
  o.x = {&s.input, nullptr};
  o.y = {&s.output, nullptr};
  for (int i = 0; i < kRowCount; ++i) o.row[i] = {&p.row_values[i], nullptr};
  for (int i = 0; i < kElementCount; ++i) o.el[i] = {&p.element_values[i], nullptr};
  const Maps maps = MakeMaps(s);
  const Forms f = MakeForms(s, maps, o, g);
  const std::vector<Scalar> tau = transcript->ChallengeScalars(
      "layernorm/tau", maps.narrow.row_vars() + maps.narrow.col_vars());
  auto v_at =
      VerifyFormAt(key, maps.narrow, f.sq_claim, tau, p.squares.claim_openings, transcript, b);
  if (!v_at.ok()) return step(v_at.status(), "the variance opening");
  VEIL_RETURN_IF_ERROR(step(VerifyWeightedProduct(key, maps.squares, tau, f.sq_d, f.sq_d, *v_at,
                                                  p.squares, transcript, b),
                            "the sum of squares"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.narrow, f.n1_p, f.n1_q, f.n1_l, p.root, transcript, b),
           "the square root"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.narrow, f.n2_p, f.n2_q, {}, p.flag, transcript, b),
           "the zero-root flag"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.w1_p, f.w1_q, f.w1_l, p.normalize, transcript, b),
           "the normalisation"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.w2_p, f.w2_q, {}, p.clamp_low, transcript, b),
           "the low clamp"));
  VEIL_RETURN_IF_ERROR(
      step(VerifyZeroRelation(key, maps.wide, f.w3_p, f.w3_q, {}, p.clamp_high, transcript, b),
           "the high clamp"));
  const std::vector<uint32_t> row_bits = RowBits(s);
  std::vector<DigitRangeTarget> rt;
  for (int i = kQ, k = 0; i <= kR1; ++i) {
    if (i == kZ) continue;
    rt.push_back({&p.row_values[i], row_bits[k++], nullptr, {}});
  }
  VEIL_RETURN_IF_ERROR(step(VerifyDigitRange(key, s.batch, s.rows, rt, p.row_ranges, transcript, b),
                            "the per-row ranges"));
  const RangeCommitments rc = MakeRangeCommitments(key, s, p);
  const DigitRangeTarget et[] = {{&rc.n_shift, kElementBits[0], nullptr, {}},
                                 {&p.element_values[kRho2], kElementBits[1], nullptr, {}},
                                 {&p.element_values[kRho2c], kElementBits[2], nullptr, {}},
                                 {&p.element_values[kLo], kElementBits[3], nullptr, {}},
                                 {&p.element_values[kHi], kElementBits[4], nullptr, {}},
                                 {&rc.y_low, kElementBits[5], nullptr, {}},
                                 {&rc.y_high, kElementBits[6], nullptr, {}}};
  VEIL_RETURN_IF_ERROR(step(
      VerifyDigitRange(key, s.batch, size_t{s.rows} * s.cols, et, p.element_ranges, transcript, b),
      "the per-element ranges"));
  if (batch == nullptr) return step(local.Check(key), "the batched openings");
  return Status::Ok();
}

void WriteLayerNormProof(std::vector<uint8_t>* out, const LayerNormProof& p) {
  for (const HyraxCommitment& c : p.row_values) WriteHyraxCommitment(out, c);
  for (const HyraxCommitment& c : p.element_values) WriteHyraxCommitment(out, c);
  for (const RelationProof* r :
       {&p.squares, &p.root, &p.flag, &p.normalize, &p.clamp_low, &p.clamp_high})
    WriteRelationProof(out, *r);
  WriteDigitRangeProof(out, p.row_ranges);
  WriteDigitRangeProof(out, p.element_ranges);
}

Result<LayerNormProof> ReadLayerNormProof(ZkReader* in, const LayerNormStatement& s) {
  LayerNormProof p;
  for (int i = 0; i < int{kRowCount} + int{kElementCount}; ++i) {
    VEIL_ASSIGN_OR_RETURN(HyraxCommitment c, ReadHyraxCommitment(in));
    (i < kRowCount ? p.row_values : p.element_values).push_back(std::move(c));
  }
  VEIL_RETURN_IF_ERROR(CheckProofShapes(s, p));
  for (RelationProof* r :
       {&p.squares, &p.root, &p.flag, &p.normalize, &p.clamp_low, &p.clamp_high}) {
    VEIL_ASSIGN_OR_RETURN(*r, ReadRelationProof(in));
  }
  const std::vector<uint32_t> row_bits = RowBits(s);
  std::vector<DigitRangeTarget> rt;
  for (uint32_t bits : row_bits) rt.push_back({nullptr, bits, nullptr, {}});
  VEIL_ASSIGN_OR_RETURN(p.row_ranges, ReadDigitRangeProof(in, s.batch, s.rows, rt));
  std::vector<DigitRangeTarget> et;
  for (uint32_t bits : kElementBits) et.push_back({nullptr, bits, nullptr, {}});
  VEIL_ASSIGN_OR_RETURN(p.element_ranges,
                        ReadDigitRangeProof(in, s.batch, size_t{s.rows} * s.cols, et));
  return p;
}

}  // namespace veil::zk
