// The exact integer primitives every veil op is built from (docs/arithmetic.md §2).
// These definitions are normative: kernels, the prover and the HE evaluator must
// agree with them bit for bit. All functions are total on their documented domains.
#pragma once

#include <cstdint>

namespace veil {

// Round-half-up arithmetic right shift: floor((v + 2^(s-1)) / 2^s) for s >= 1, v for s == 0.
// Domain: 0 <= s <= 62 and |v| < 2^62 (so the addition cannot overflow).
constexpr int64_t RoundShift(int64_t v, int s) {
  if (s == 0) return v;
  return (v + (int64_t{1} << (s - 1))) >> s;  // >> on negative int64 is floor in C++20
}

// Round-half-up division: floor((2a + b) / (2b)) for b > 0. Domain: |a| < 2^61, 0 < b < 2^61.
constexpr int64_t RoundDiv(int64_t a, int64_t b) {
  const int64_t num = 2 * a + b;
  const int64_t den = 2 * b;
  int64_t q = num / den;           // C++ truncates toward zero...
  if ((num % den != 0) && (num < 0)) --q;  // ...so step down to floor for negatives
  return q;
}

constexpr int32_t Clamp(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int32_t>(v));
}

// The requantization of an int32 accumulator: clamp(RoundShift(acc * M, s), lo, hi).
// Domain: 0 <= M < 2^31, 0 <= s <= 62 (|acc * M| < 2^62 then holds for any int32 acc).
constexpr int32_t Requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t lo,
                             int32_t hi) {
  return Clamp(RoundShift(int64_t{acc} * multiplier, shift), lo, hi);
}

// floor(sqrt(v)) for 0 <= v < 2^62, by integer Newton iteration (no floating point).
constexpr int64_t ISqrt(int64_t v) {
  if (v < 2) return v;
  // Start above the root: 2^ceil(bits/2).
  int bits = 0;
  for (int64_t t = v; t > 0; t >>= 1) ++bits;
  int64_t x = int64_t{1} << ((bits + 1) / 2);
  while (true) {
    const int64_t y = (x + v / x) / 2;
    if (y >= x) return x;
    x = y;
  }
}

}  // namespace veil
