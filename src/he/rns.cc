#include "veil/he/rns.h"

#include <cmath>

namespace veil::he {

void PolyToNtt(RnsPoly& p, std::span<const NttTables> tables) {
  for (size_t i = 0; i < p.limbs(); ++i) tables[i].Forward(p.limb(i));
  p.set_ntt_form(true);
}

void PolyFromNtt(RnsPoly& p, std::span<const NttTables> tables) {
  for (size_t i = 0; i < p.limbs(); ++i) tables[i].Inverse(p.limb(i));
  p.set_ntt_form(false);
}

void PolyAddInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli) {
  const size_t n = a.n();
  for (size_t i = 0; i < a.limbs(); ++i) {
    uint64_t* x = a.limb(i);
    const uint64_t* y = b.limb(i);
    const uint64_t q = moduli[i].value();
    for (size_t j = 0; j < n; ++j) x[j] = CondSub(x[j] + y[j], q);
  }
}

void PolySubInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli) {
  const size_t n = a.n();
  for (size_t i = 0; i < a.limbs(); ++i) {
    uint64_t* x = a.limb(i);
    const uint64_t* y = b.limb(i);
    for (size_t j = 0; j < n; ++j) x[j] = SubMod(x[j], y[j], moduli[i]);
  }
}

void PolyNegateInPlace(RnsPoly& a, std::span<const Modulus> moduli) {
  const size_t n = a.n();
  for (size_t i = 0; i < a.limbs(); ++i) {
    uint64_t* x = a.limb(i);
    for (size_t j = 0; j < n; ++j) x[j] = NegateMod(x[j], moduli[i]);
  }
}

void PolyMulInPlace(RnsPoly& a, const RnsPoly& b, std::span<const Modulus> moduli) {
  const size_t n = a.n();
  for (size_t i = 0; i < a.limbs(); ++i) {
    uint64_t* x = a.limb(i);
    const uint64_t* y = b.limb(i);
    const Modulus& m = moduli[i];
    for (size_t j = 0; j < n; ++j) x[j] = MulMod(x[j], y[j], m);
  }
}

void PolyMulAddInPlace(RnsPoly& out, const RnsPoly& a, const RnsPoly& b,
                       std::span<const Modulus> moduli) {
  const size_t n = out.n();
  for (size_t i = 0; i < out.limbs(); ++i) {
    uint64_t* o = out.limb(i);
    const uint64_t* x = a.limb(i);
    const uint64_t* y = b.limb(i);
    const Modulus& m = moduli[i];
    for (size_t j = 0; j < n; ++j) {
      o[j] = BarrettReduce128(static_cast<u128>(x[j]) * y[j] + o[j], m);
    }
  }
}

void PolyAutomorphism(const RnsPoly& in, uint32_t galois_elt, RnsPoly& out,
                      std::span<const Modulus> moduli) {
  const size_t n = in.n();
  const uint64_t mask = 2 * static_cast<uint64_t>(n) - 1;
  out = RnsPoly(n, in.limbs(), false);
  for (size_t l = 0; l < in.limbs(); ++l) {
    const uint64_t* x = in.limb(l);
    uint64_t* y = out.limb(l);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t index = (static_cast<uint64_t>(i) * galois_elt) & mask;
      if (index < n) {
        y[index] = x[i];
      } else {
        y[index - n] = NegateMod(x[i], moduli[l]);
      }
    }
  }
}

Result<BaseConverter> BaseConverter::Create(std::vector<Modulus> from, std::vector<Modulus> to) {
  if (from.empty() || to.empty()) return Status::InvalidArgument("empty RNS base");
  BaseConverter c;
  const size_t k = from.size(), kb = to.size();
  c.ahat_inv_.resize(k);
  c.inv_a_.resize(k);
  c.ahat_mod_b_.resize(k * kb);
  c.a_mod_b_.resize(kb);
  for (size_t i = 0; i < k; ++i) {
    uint64_t ahat = 1 % from[i].value();
    for (size_t l = 0; l < k; ++l) {
      if (l != i) ahat = MulMod(ahat, BarrettReduce64(from[l].value(), from[i]), from[i]);
    }
    VEIL_ASSIGN_OR_RETURN(uint64_t inv, InvMod(ahat, from[i].value()));
    c.ahat_inv_[i] = MakeShoup(inv, from[i]);
    c.inv_a_[i] = 1.0 / static_cast<double>(from[i].value());
    for (size_t j = 0; j < kb; ++j) {
      uint64_t v = 1 % to[j].value();
      for (size_t l = 0; l < k; ++l) {
        if (l != i) v = MulMod(v, BarrettReduce64(from[l].value(), to[j]), to[j]);
      }
      c.ahat_mod_b_[i * kb + j] = v;
    }
  }
  for (size_t j = 0; j < kb; ++j) {
    uint64_t v = 1 % to[j].value();
    for (size_t l = 0; l < k; ++l) v = MulMod(v, BarrettReduce64(from[l].value(), to[j]), to[j]);
    c.a_mod_b_[j] = v;
  }
  c.from_ = std::move(from);
  c.to_ = std::move(to);
  return c;
}

void BaseConverter::Convert(const uint64_t* in, uint64_t* out, size_t n) const {
  const size_t k = from_.size(), kb = to_.size();
  std::vector<uint64_t> y(k);
  for (size_t c = 0; c < n; ++c) {
    double frac = 0.0;
    for (size_t i = 0; i < k; ++i) {
      y[i] = MulShoup(in[i * n + c], ahat_inv_[i], from_[i]);
      frac += static_cast<double>(y[i]) * inv_a_[i];
    }
    // x = sum y_i * (A / a_i) - v * A with v = round(sum y_i / a_i): the centred value.
    const uint64_t v = static_cast<uint64_t>(std::llround(frac));
    for (size_t j = 0; j < kb; ++j) {
      u128 acc = 0;
      const uint64_t* row = ahat_mod_b_.data() + j;
      for (size_t i = 0; i < k; ++i) acc += static_cast<u128>(y[i]) * row[i * kb];
      acc += static_cast<u128>(to_[j].value() - a_mod_b_[j]) * v;  // - v * A
      out[j * n + c] = BarrettReduce128(acc, to_[j]);
    }
  }
}

std::vector<uint64_t> BigProduct(std::span<const uint64_t> factors) {
  std::vector<uint64_t> r{1};
  for (uint64_t f : factors) {
    uint64_t carry = 0;
    for (auto& w : r) {
      const u128 t = static_cast<u128>(w) * f + carry;
      w = static_cast<uint64_t>(t);
      carry = static_cast<uint64_t>(t >> 64);
    }
    if (carry != 0) r.push_back(carry);
  }
  return r;
}

int BigBitCount(std::span<const uint64_t> x) {
  for (size_t i = x.size(); i-- > 0;) {
    if (x[i] != 0) return static_cast<int>(i * 64) + 64 - __builtin_clzll(x[i]);
  }
  return 0;
}

}  // namespace veil::he
