// Multilinear extensions over F_l.
//
// A function f: {0,1}^n -> F_l is stored as its 2^n evaluations. Variable 0 is the MOST
// significant bit of the index: f[x] with x = sum_i x_i * 2^(n-1-i). A row-major matrix
// with 2^a rows and 2^b columns is therefore the function of (row bits, column bits), and
// its extension evaluated at (r_row, r_col) is sum_{i,j} eq(r_row, i) eq(r_col, j) M[i][j].
// This one convention is shared by the sumcheck, the Hyrax commitments and the layer
// proofs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "veil/status.h"
#include "veil/zk/scalar.h"

namespace veil::zk {

// Smallest n with 2^n >= size (0 for size <= 1).
int CeilLog2(uint64_t size);

// eq(r, x) = prod_i (r_i x_i + (1 - r_i)(1 - x_i)) for every x in {0,1}^n, n = r.size(),
// indexed as above. Costs 2^n multiplications.
std::vector<Scalar> EqTable(std::span<const Scalar> r);

// eq(a, b) = prod_i (a_i b_i + (1 - a_i)(1 - b_i)) for two points of equal length.
Scalar EqAt(std::span<const Scalar> a, std::span<const Scalar> b);

// Σ_{i < count} eq(r, i): the weight of the first `count` hypercube points (the real,
// unpadded rows). count <= 2^r.size().
Scalar PrefixEqSum(std::span<const Scalar> r, size_t count);

// The multilinear extension of `evals` (length 2^point.size()) at `point`.
Result<Scalar> EvaluateMle(std::span<const Scalar> evals, std::span<const Scalar> point);

// Binds variable 0 to r: evals (length 2m) becomes g[j] = evals[j] + r (evals[j+m] - evals[j]),
// length m. The sumcheck calls this once per round.
void FoldFirstVariable(std::vector<Scalar>* evals, const Scalar& r);

// Lagrange interpolation: the value at x of the polynomial of degree < values.size() that
// takes values[i] at i = 0, 1, ..., values.size() - 1.
Scalar InterpolateAtSmallPoints(std::span<const Scalar> values, const Scalar& x);

}  // namespace veil::zk
