// Multi-scalar multiplication: sum_i s_i * P_i by Pippenger's bucket method with signed
// digits. VARIABLE TIME in the scalars: use only where the scalars are public, or where
// timing side channels are outside the threat model (docs/zk.md).
#pragma once

#include <cstdint>
#include <span>

#include "veil/thread_pool.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

// The window width (bits) Pippenger uses for n points and scalars of `scalar_bits` bits.
int MsmWindowBits(size_t n, int scalar_bits);

// sum scalars[i] * points[i]. The spans must have equal length. With a pool of more than one
// thread the points are split into one chunk per thread.
Point Msm(std::span<const Scalar> scalars, std::span<const Point> points,
          ThreadPool* pool = nullptr);
Point MsmAffine(std::span<const Scalar> scalars, std::span<const AffineNielsPoint> points,
                ThreadPool* pool = nullptr);

// Small signed integers (negative values count as l - |v|): windows cover only the bits the
// largest magnitude needs, so int8 data costs one mixed addition per point.
Point MsmInt8(std::span<const int8_t> values, std::span<const AffineNielsPoint> points,
              ThreadPool* pool = nullptr);
Point MsmInt32(std::span<const int32_t> values, std::span<const AffineNielsPoint> points,
               ThreadPool* pool = nullptr);
Point MsmInt64(std::span<const int64_t> values, std::span<const AffineNielsPoint> points,
               ThreadPool* pool = nullptr);

// Reference: sum of MulVartime products (for tests).
Point MsmNaive(std::span<const Scalar> scalars, std::span<const Point> points);

}  // namespace veil::zk
