#include "veil/he/modarith.h"

#include <algorithm>
#include <string>

namespace veil::he {

Modulus::Modulus(uint64_t q) : q_(q) {
  bits_ = q == 0 ? 0 : 64 - __builtin_clzll(q);
  if (q >= 2) {
    const u128 ratio = ~static_cast<u128>(0) / q;  // floor((2^128 - 1) / q)
    // floor(2^128 / q) differs from floor((2^128 - 1) / q) only when q divides 2^128.
    const u128 r = (q & (q - 1)) == 0 ? ratio + 1 : ratio;
    ratio_hi_ = static_cast<uint64_t>(r >> 64);
    ratio_lo_ = static_cast<uint64_t>(r);
  }
}

uint64_t PowMod(uint64_t base, uint64_t exponent, const Modulus& m) {
  uint64_t result = 1 % m.value();
  uint64_t b = BarrettReduce64(base, m);
  while (exponent != 0) {
    if (exponent & 1) result = MulMod(result, b, m);
    b = MulMod(b, b, m);
    exponent >>= 1;
  }
  return result;
}

uint64_t InvModPrime(uint64_t a, const Modulus& m) { return PowMod(a, m.value() - 2, m); }

Result<uint64_t> InvMod(uint64_t a, uint64_t m) {
  if (m < 2) return Status::InvalidArgument("modular inverse needs a modulus >= 2");
  __extension__ typedef __int128 i128;
  i128 old_r = a % m, r = m, old_s = 1, s = 0;
  while (r != 0) {
    const i128 quotient = old_r / r;
    i128 tmp = old_r - quotient * r;
    old_r = r;
    r = tmp;
    tmp = old_s - quotient * s;
    old_s = s;
    s = tmp;
  }
  if (old_r != 1) {
    return Status::InvalidArgument(std::to_string(a) + " is not invertible modulo " +
                                   std::to_string(m));
  }
  i128 result = old_s % static_cast<i128>(m);
  if (result < 0) result += m;
  return static_cast<uint64_t>(result);
}

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  static constexpr uint64_t kSmall[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  for (uint64_t p : kSmall) {
    if (n % p == 0) return n == p;
  }
  uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++s;
  }
  auto mulmod = [n](uint64_t a, uint64_t b) {
    return static_cast<uint64_t>(static_cast<u128>(a) * b % n);
  };
  // These bases are a deterministic witness set for all n < 2^64.
  for (uint64_t a : kSmall) {
    uint64_t x = 1, b = a % n, e = d;
    while (e != 0) {
      if (e & 1) x = mulmod(x, b);
      b = mulmod(b, b);
      e >>= 1;
    }
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int i = 1; i < s; ++i) {
      x = mulmod(x, x);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

Result<std::vector<uint64_t>> GenerateNttPrimes(int bits, size_t n, size_t count,
                                                const std::vector<uint64_t>& exclude) {
  if (n < 2 || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("NTT primes need a power-of-two degree, got " +
                                   std::to_string(n));
  }
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  const int min_bits = 64 - __builtin_clzll(two_n) + 1;
  if (bits < min_bits || bits > 61) {
    return Status::InvalidArgument("NTT prime size " + std::to_string(bits) +
                                   " bits is outside [" + std::to_string(min_bits) + ", 61]");
  }
  std::vector<uint64_t> primes;
  const uint64_t upper = uint64_t{1} << bits;
  const uint64_t lower = uint64_t{1} << (bits - 1);
  // Largest candidate below 2^bits that is 1 mod 2n.
  for (uint64_t p = upper - two_n + 1; p > lower && primes.size() < count; p -= two_n) {
    if (std::find(exclude.begin(), exclude.end(), p) != exclude.end()) continue;
    if (IsPrime(p)) primes.push_back(p);
  }
  if (primes.size() < count) {
    return Status::InvalidArgument("not enough " + std::to_string(bits) +
                                   "-bit primes congruent to 1 mod " + std::to_string(two_n));
  }
  return primes;
}

Result<uint64_t> FindPrimitiveRoot(uint64_t two_n, const Modulus& m) {
  const uint64_t q = m.value();
  if (two_n < 2 || (two_n & (two_n - 1)) != 0 || (q - 1) % two_n != 0) {
    return Status::InvalidArgument("no primitive " + std::to_string(two_n) +
                                   "-th root of unity modulo " + std::to_string(q));
  }
  const uint64_t cofactor = (q - 1) / two_n;
  uint64_t best = 0;
  for (uint64_t g = 2; g < q && g < 1000000; ++g) {
    const uint64_t root = PowMod(g, cofactor, m);
    // root has order dividing 2n; it is primitive iff root^(n) = -1.
    if (PowMod(root, two_n / 2, m) != q - 1) continue;
    // Choose the smallest primitive root among the powers root^(odd) for determinism.
    best = root;
    uint64_t gen_sq = MulMod(root, root, m), current = root;
    for (uint64_t i = 0; i < two_n / 2; ++i) {
      if (current < best) best = current;
      current = MulMod(current, gen_sq, m);
    }
    return best;
  }
  return Status::InvalidArgument("no primitive root found modulo " + std::to_string(q));
}

}  // namespace veil::he
