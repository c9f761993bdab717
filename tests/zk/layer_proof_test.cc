// A whole quantized Linear layer (accumulators + requantization) proven against veil's own
// executor: the proven relation is the one the integer graph computes.
#include <gtest/gtest.h>

#include <random>

#include "veil/session.h"
#include "veil/zk/linear_proof.h"
#include "veil/zk/requantize_proof.h"

namespace veil::zk {
namespace {

std::vector<Scalar> Blinds(size_t n) {
  std::vector<Scalar> b(n);
  for (auto& x : b) x = Scalar::Random();
  return b;
}

TEST(LayerProof, LinearWithRequantizationMatchesSessionAndVerifies) {
  constexpr int64_t T = 3, K = 20, N = 6;
  std::mt19937_64 rng(11);
  std::vector<int8_t> x(T * K), w(N * K);
  for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int32_t> b(N), mult(N), shift(N);
  for (int64_t n = 0; n < N; ++n) {
    b[n] = static_cast<int32_t>(rng() % 20001) - 10000;
    mult[n] = (1 << 30) + static_cast<int32_t>(rng() % (1 << 30));
    shift[n] = 38 + static_cast<int32_t>(n % 3);
  }
  // veil's executor on a one-node graph (fused ReLU).
  Graph g;
  const int in = g.AddValue({"x", DType::kInt8, {T, K}, 1.0});
  const int out = g.AddValue({"y", DType::kInt8, {T, N}, 1.0});
  g.inputs = {in};
  g.outputs = {out};
  Node node;
  node.kind = OpKind::kLinear;
  node.name = "fc";
  node.inputs = {in};
  node.outputs = {out};
  node.SetAttr("act_min", {0});
  node.SetParam("weight", Tensor::FromInt8({N, K}, w));
  node.SetParam("bias", Tensor::FromInt32({N}, b));
  node.SetParam("multiplier", Tensor::FromInt32({N}, mult));
  node.SetParam("shift", Tensor::FromInt32({N}, shift));
  g.nodes.push_back(node);
  auto session = Session::Create(g, {});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto y_run = (*session)->Run({Tensor::FromInt8({1, T, K}, x)});
  ASSERT_TRUE(y_run.ok()) << y_run.status().ToString();
  const std::span<const int8_t> y_graph = (*y_run)[0].i8();

  const std::vector<int32_t> acc = LinearAccumulators(x, w, b, T, K, N);
  const std::vector<int64_t> m64(mult.begin(), mult.end()), s64(shift.begin(), shift.end());
  const std::vector<int8_t> y = RequantizeReference(acc, T, N, m64, s64, 0, 127);
  ASSERT_EQ(std::vector<int8_t>(y_graph.begin(), y_graph.end()), y);

  const CommitmentKey key = CommitmentKey::Derive(256);  // 256: digit multiplicities
  LinearWitness lw;
  lw.input_blinds = Blinds(T);
  lw.weight_blinds = Blinds(N);
  lw.bias_blinds = Blinds(1);
  lw.accumulator_blinds = Blinds(T);
  lw.input = x;
  lw.weight = w;
  lw.bias = b;
  lw.accumulator = acc;
  LinearStatement ls;
  ls.tokens = T;
  ls.in_features = K;
  ls.out_features = N;
  ls.input = *HyraxCommitInt8(key, x, T, K, lw.input_blinds);
  ls.weight = *HyraxCommitInt8(key, w, N, K, lw.weight_blinds);
  ls.bias = *HyraxCommitInt32(key, b, 1, N, lw.bias_blinds);
  ls.accumulator = *HyraxCommitInt32(key, acc, T, N, lw.accumulator_blinds);
  RequantizeWitness rw;
  rw.accumulator = acc;
  rw.output = y;
  rw.accumulator_blinds = lw.accumulator_blinds;
  rw.output_blinds = Blinds(T);
  RequantizeStatement rs;
  rs.rows = T;
  rs.cols = N;
  rs.multiplier = m64;
  rs.shift = s64;
  rs.act_min = 0;
  rs.act_max = 127;
  rs.accumulator = ls.accumulator;
  rs.output = *HyraxCommitInt8(key, y, T, N, rw.output_blinds);

  Transcript tp("layer-test");
  auto lp = ProveLinear(key, ls, lw, &tp);
  ASSERT_TRUE(lp.ok());
  auto rp = ProveRequantize(key, rs, rw, &tp);
  ASSERT_TRUE(rp.ok());
  Transcript tv("layer-test");
  ASSERT_TRUE(VerifyLinear(key, ls, *lp, &tv).ok());
  const Status s = VerifyRequantize(key, rs, *rp, &tv);
  EXPECT_TRUE(s.ok()) << s.ToString();

  // The output of the graph with one weight changed by 1 cannot be proven against the
  // committed weights (the accumulator proof fails).
  std::vector<int8_t> w2 = w;
  w2[4] = static_cast<int8_t>(w2[4] == 127 ? 126 : w2[4] + 1);
  lw.weight = w2;
  const std::vector<int32_t> acc2 = LinearAccumulators(x, w2, b, T, K, N);
  lw.accumulator = acc2;
  LinearStatement ls2 = ls;
  ls2.accumulator = *HyraxCommitInt32(key, acc2, T, N, lw.accumulator_blinds);
  Transcript tp2("layer-test");
  auto bad = ProveLinear(key, ls2, lw, &tp2);
  ASSERT_TRUE(bad.ok());
  Transcript tv2("layer-test");
  EXPECT_FALSE(VerifyLinear(key, ls2, *bad, &tv2).ok());
}

}  // namespace
}  // namespace veil::zk
