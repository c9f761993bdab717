// Test helpers for src/graph: a small graph builder, tensor constructors and random
// parameter generators. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "veil/graph.h"
#include "veil/session.h"
#include "veil/tensor.h"

// `gt`: graph-test helpers (not ::testing, which is gtest's).
namespace veil::gt {

inline Tensor I8(Shape shape, std::vector<int8_t> values) {
  return Tensor::FromInt8(std::move(shape), std::move(values));
}
inline Tensor I32(Shape shape, std::vector<int32_t> values) {
  return Tensor::FromInt32(std::move(shape), std::move(values));
}
inline Tensor I64(Shape shape, std::vector<int64_t> values) {
  return Tensor::FromInt64(std::move(shape), std::move(values));
}
inline Tensor Scalar32(int32_t v) { return I32({1}, {v}); }

inline std::vector<int8_t> Values8(const Tensor& t) {
  return std::vector<int8_t>(t.i8().begin(), t.i8().end());
}

// Builds graphs one value and node at a time.
class GraphBuilder {
 public:
  int Input(const std::string& name, Shape shape, DType dtype = DType::kInt8) {
    const int v = graph_.AddValue({name, dtype, std::move(shape), 1.0});
    graph_.inputs.push_back(v);
    return v;
  }
  // Adds a node of `kind` reading `inputs` and producing a new int8 value of `shape`;
  // returns the value id.
  int Op(OpKind kind, std::vector<int> inputs, Shape shape, std::vector<Attr> attrs = {},
         std::vector<Param> params = {}, std::string name = "") {
    const int out =
        graph_.AddValue({name.empty() ? "v" + std::to_string(graph_.values.size()) : name + ".out",
                         DType::kInt8, std::move(shape), 1.0});
    Node node;
    node.kind = kind;
    node.name =
        name.empty() ? std::string(OpKindName(kind)) + std::to_string(graph_.nodes.size()) : name;
    node.inputs = std::move(inputs);
    node.outputs = {out};
    node.attrs = std::move(attrs);
    node.params = std::move(params);
    graph_.nodes.push_back(std::move(node));
    return out;
  }
  void Output(int v) { graph_.outputs.push_back(v); }
  Graph& graph() { return graph_; }

 private:
  Graph graph_;
};

// Runs a graph once; fails the test on any error.
inline std::vector<Tensor> MustRun(const Graph& graph, const std::vector<Tensor>& inputs,
                                   SessionOptions options = {}) {
  auto session = Session::Create(graph, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  auto out = (*session)->Run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  return std::move(out).value();
}

// A single-node graph: inputs with the given per-sample shapes, one node, its output.
inline Graph SingleOp(OpKind kind, std::vector<Shape> input_shapes, Shape out_shape,
                      std::vector<Attr> attrs, std::vector<Param> params,
                      DType input_dtype = DType::kInt8) {
  GraphBuilder b;
  std::vector<int> ins;
  for (size_t i = 0; i < input_shapes.size(); ++i)
    ins.push_back(b.Input("in" + std::to_string(i), input_shapes[i], input_dtype));
  b.Output(b.Op(kind, ins, std::move(out_shape), std::move(attrs), std::move(params), "op"));
  return b.graph();
}

// ---- Random data ----

inline std::vector<int8_t> RandomI8(std::mt19937_64& rng, size_t n, int lo = -127, int hi = 127) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(rng));
  return v;
}

inline Tensor RandomTensor8(std::mt19937_64& rng, Shape shape, int lo = -127, int hi = 127) {
  const size_t n = static_cast<size_t>(NumElements(shape));
  return I8(std::move(shape), RandomI8(rng, n, lo, hi));
}

inline std::vector<int32_t> RandomI32(std::mt19937_64& rng, size_t n, int32_t lo, int32_t hi) {
  std::uniform_int_distribution<int32_t> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A multiplier in [2^30, 2^31) and a shift that maps accumulators of a K-term dot
// product of random int8 values to a useful int8 spread (some clamping, few zeros).
inline std::pair<int32_t, int32_t> RandomRequant(std::mt19937_64& rng, int64_t k) {
  int log_k = 0;
  while ((int64_t{1} << log_k) < k) ++log_k;
  std::uniform_int_distribution<int32_t> m(1 << 30, INT32_MAX);
  std::uniform_int_distribution<int> jitter(-1, 1);
  return {m(rng), 30 + 7 + log_k / 2 + jitter(rng)};
}

// exp_table[d] = round(2^16 · exp(−d · scale)) for d <= 254, 0 at 255: the importer's rule.
inline std::vector<int32_t> ExpTable(double scale) {
  std::vector<int32_t> t(256);
  for (int d = 0; d < 256; ++d)
    t[static_cast<size_t>(d)] =
        d == 255 ? 0 : static_cast<int32_t>(std::lround(65536.0 * std::exp(-d * scale)));
  return t;
}

}  // namespace veil::gt
