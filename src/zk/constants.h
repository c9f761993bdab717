// Curve constants (radix 2^51 limbs), generated and checked with Python against their
// defining equations (RFC 9496 §4.1 and RFC 8032 §5.1): D = -121665/121666,
// SQRT_M1^2 = -1, SQRT_AD_MINUS_ONE^2 = a*d - 1, INVSQRT_A_MINUS_D^2 * (a - d) = 1,
// ONE_MINUS_D_SQ = 1 - d^2, D_MINUS_ONE_SQ = (d - 1)^2 (a = -1). Tests re-check them.
#pragma once

#include "veil/zk/fe25519.h"

namespace veil::zk {

constexpr Fe kD{{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL, 0x739c663a03cbbULL, 0x52036cee2b6ffULL}};
constexpr Fe kD2{{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL, 0x6738cc7407977ULL, 0x2406d9dc56dffULL}};
constexpr Fe kSqrtM1{{0x61b274a0ea0b0ULL, 0xd5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL, 0x2b8324804fc1dULL}};
constexpr Fe kSqrtAdMinusOne{{0x7f6a0497b2e1bULL, 0x1836f0a97afd2ULL, 0x7d747f6be7638ULL, 0x456079e7e6498ULL, 0x376931bf2b834ULL}};
constexpr Fe kInvSqrtAMinusD{{0xfdaa805d40eaULL, 0x2eb482e57d339ULL, 0x7610274bc58ULL, 0x6510b613dc8ffULL, 0x786c8905cfaffULL}};
constexpr Fe kOneMinusDSq{{0x409c1945fc176ULL, 0x719abc6a1fc4fULL, 0x1c37f90b20684ULL, 0x6bccca55eedfULL, 0x29072a8b2b3eULL}};
constexpr Fe kDMinusOneSq{{0x55aaa44ed4d20ULL, 0x59603c3332635ULL, 0x26d3baf4a7928ULL, 0x120a66e6997a9ULL, 0x5968b37af66c2ULL}};
// The Ed25519 base point (x, y = 4/5, t = xy); its ristretto255 encoding is the RFC 9496 generator.
constexpr Fe kBaseX{{0x62d608f25d51aULL, 0x412a4b4f6592aULL, 0x75b7171a4b31dULL, 0x1ff60527118feULL, 0x216936d3cd6e5ULL}};
constexpr Fe kBaseY{{0x6666666666658ULL, 0x4ccccccccccccULL, 0x1999999999999ULL, 0x3333333333333ULL, 0x6666666666666ULL}};
constexpr Fe kBaseT{{0x68ab3a5b7dda3ULL, 0xeea2a5eadbbULL, 0x2af8df483c27eULL, 0x332b375274732ULL, 0x67875f0fd78b7ULL}};

}  // namespace veil::zk
