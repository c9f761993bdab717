#include "veil/zk/fe25519.h"

#include <vector>

#include "constants.h"

namespace veil::zk {
namespace {

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// (a^(2^250 - 1), a^11), the common prefix of the inversion and square-root chains.
void Pow22501(const Fe& a, Fe* t19, Fe* t3) {
  const Fe t0 = FeSquare(a);
  const Fe t1 = FeSquare(FeSquare(t0));
  const Fe t2 = FeMul(a, t1);
  *t3 = FeMul(t0, t2);
  const Fe t4 = FeSquare(*t3);
  const Fe t5 = FeMul(t2, t4);
  const Fe t6 = FePow2k(t5, 5);
  const Fe t7 = FeMul(t6, t5);
  const Fe t8 = FePow2k(t7, 10);
  const Fe t9 = FeMul(t8, t7);
  const Fe t10 = FePow2k(t9, 20);
  const Fe t11 = FeMul(t10, t9);
  const Fe t12 = FePow2k(t11, 10);
  const Fe t13 = FeMul(t12, t7);
  const Fe t14 = FePow2k(t13, 50);
  const Fe t15 = FeMul(t14, t13);
  const Fe t16 = FePow2k(t15, 100);
  const Fe t17 = FeMul(t16, t15);
  const Fe t18 = FePow2k(t17, 50);
  *t19 = FeMul(t18, t13);
}

// a^((p-5)/8) = a^(2^252 - 3).
Fe PowP58(const Fe& a) {
  Fe t19, t3;
  Pow22501(a, &t19, &t3);
  return FeMul(a, FePow2k(t19, 2));
}

}  // namespace

Fe Fe::FromBytes(std::span<const uint8_t, 32> b) {
  const uint8_t* p = b.data();
  return Fe{{Load64(p) & kMask51, (Load64(p + 6) >> 3) & kMask51, (Load64(p + 12) >> 6) & kMask51,
             (Load64(p + 19) >> 1) & kMask51, (Load64(p + 24) >> 12) & kMask51}};
}

void Fe::ToBytes(std::span<uint8_t, 32> out) const {
  // After two weak reductions every limb is <= 2^51, so the value h is < 2p and
  // q = floor((h + 19) / 2^255) is 1 exactly when h >= p.
  Fe r = FeReduce(FeReduce(*this));
  uint64_t q = (r.v[0] + 19) >> 51;
  q = (r.v[1] + q) >> 51;
  q = (r.v[2] + q) >> 51;
  q = (r.v[3] + q) >> 51;
  q = (r.v[4] + q) >> 51;
  // value - q*p = value + 19q - q*2^255.
  r.v[0] += 19 * q;
  r.v[1] += r.v[0] >> 51;
  r.v[0] &= kMask51;
  r.v[2] += r.v[1] >> 51;
  r.v[1] &= kMask51;
  r.v[3] += r.v[2] >> 51;
  r.v[2] &= kMask51;
  r.v[4] += r.v[3] >> 51;
  r.v[3] &= kMask51;
  r.v[4] &= kMask51;
  uint8_t* s = out.data();
  const uint64_t w[4] = {r.v[0] | (r.v[1] << 51), (r.v[1] >> 13) | (r.v[2] << 38),
                         (r.v[2] >> 26) | (r.v[3] << 25), (r.v[3] >> 39) | (r.v[4] << 12)};
  for (int i = 0; i < 32; ++i) s[i] = static_cast<uint8_t>(w[i / 8] >> (8 * (i % 8)));
}

uint8_t Fe::IsNegative() const {
  uint8_t b[32];
  ToBytes(b);
  return b[0] & 1;
}

uint8_t Fe::IsZero() const {
  uint8_t b[32];
  ToBytes(b);
  uint8_t x = 0;
  for (uint8_t c : b) x |= c;
  return static_cast<uint8_t>(((static_cast<unsigned>(x) - 1) >> 8) & 1);
}

uint8_t FeEqual(const Fe& a, const Fe& b) { return FeSub(a, b).IsZero(); }

Fe FePow2k(const Fe& a, int k) {
  Fe r = FeSquare(a);
  for (int i = 1; i < k; ++i) r = FeSquare(r);
  return r;
}

Fe FeInvert(const Fe& a) {
  Fe t19, t3;
  Pow22501(a, &t19, &t3);
  return FeMul(FePow2k(t19, 5), t3);  // a^(2^255 - 21) = a^(p-2)
}

void FeBatchInvert(std::span<Fe> elements) {
  const size_t n = elements.size();
  if (n == 0) return;
  std::vector<Fe> prefix(n);
  Fe acc = Fe::One();
  for (size_t i = 0; i < n; ++i) {
    prefix[i] = acc;
    if (!elements[i].IsZero()) acc = FeMul(acc, elements[i]);
  }
  Fe inv = FeInvert(acc);
  for (size_t i = n; i-- > 0;) {
    if (elements[i].IsZero()) continue;
    const Fe e = elements[i];
    elements[i] = FeMul(inv, prefix[i]);
    inv = FeMul(inv, e);
  }
}

uint8_t FeSqrtRatioM1(const Fe& u, const Fe& v, Fe* root) {
  const Fe v3 = FeMul(FeSquare(v), v);
  const Fe v7 = FeMul(FeSquare(v3), v);
  Fe r = FeMul(FeMul(u, v3), PowP58(FeMul(u, v7)));
  const Fe check = FeMul(v, FeSquare(r));
  const Fe neg_u = FeNeg(u);
  const uint8_t correct_sign = FeEqual(check, u);
  const uint8_t flipped_sign = FeEqual(check, neg_u);
  const uint8_t flipped_sign_i = FeEqual(check, FeMul(neg_u, kSqrtM1));
  const Fe r_prime = FeMul(kSqrtM1, r);
  r = FeSelect(r, r_prime, flipped_sign | flipped_sign_i);
  *root = FeAbs(r);
  return correct_sign | flipped_sign;
}

}  // namespace veil::zk
