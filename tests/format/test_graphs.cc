#include "format/test_graphs.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace veil::testing {
namespace {

std::vector<int8_t> Int8Ramp(size_t n, int period) {
  std::vector<int8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<int8_t>(static_cast<int>(i % period) - period / 2);
  return v;
}

}  // namespace

Graph MakeTinyModel() {
  Graph g;
  g.name = "tiny";
  g.task = ModelTask::kGeneric;
  g.SetMetadata("labels", "a,b,c");
  g.SetMetadata("source", "test_graphs.cc");
  const int tokens = g.AddValue({"tokens", DType::kInt32, {4}, 1.0});
  const int emb = g.AddValue({"emb", DType::kInt8, {4, 8}, 0.05});
  const int hidden = g.AddValue({"hidden", DType::kInt8, {4, 6}, 0.1});
  const int norm = g.AddValue({"norm", DType::kInt8, {4, 6}, 0.02});
  const int logits = g.AddValue({"logits", DType::kInt8, {4, 3}, 0.25});
  g.inputs = {tokens};
  g.outputs = {logits};

  Node embed;
  embed.kind = OpKind::kEmbedding;
  embed.name = "embed";
  embed.inputs = {tokens};
  embed.outputs = {emb};
  embed.SetParam("table", Tensor::FromInt8({16, 8}, Int8Ramp(16 * 8, 61)));
  g.nodes.push_back(std::move(embed));

  Node fc1;
  fc1.kind = OpKind::kLinear;
  fc1.name = "fc1";
  fc1.inputs = {emb};
  fc1.outputs = {hidden};
  fc1.SetAttr("act_min", {-127});
  fc1.SetAttr("act_max", {127});
  fc1.SetParam("weight", Tensor::FromInt8({6, 8}, Int8Ramp(6 * 8, 17)));
  fc1.SetParam("bias", Tensor::FromInt32({6}, {-300, -100, 0, 7, 100, 300}));
  fc1.SetParam("multiplier", Tensor::FromInt32({1}, {1 << 30}));
  fc1.SetParam("shift", Tensor::FromInt32({1}, {36}));
  g.nodes.push_back(std::move(fc1));

  Node ln;
  ln.kind = OpKind::kLayerNorm;
  ln.name = "ln";
  ln.inputs = {hidden};
  ln.outputs = {norm};
  ln.SetParam("gamma", Tensor::FromInt32({6}, {256, 256, 300, 200, 256, 256}));
  ln.SetParam("beta", Tensor::FromInt64({6}, {0, 1, -1, 2, -2, 0}));
  ln.SetParam("eps", Tensor::FromInt64({1}, {1}));
  ln.SetParam("shift", Tensor::FromInt32({1}, {8}));
  g.nodes.push_back(std::move(ln));

  Node fc2;
  fc2.kind = OpKind::kLinear;
  fc2.name = "fc2";
  fc2.inputs = {norm};
  fc2.outputs = {logits};
  fc2.SetAttr("act_min", {0});
  fc2.SetParam("weight", Tensor::FromInt8({3, 6}, Int8Ramp(3 * 6, 11)));
  fc2.SetParam("bias", Tensor::FromInt32({3}, {5, -5, 0}));
  fc2.SetParam("multiplier", Tensor::FromInt32({3}, {1 << 30, 1 << 29, 1 << 28}));
  fc2.SetParam("shift", Tensor::FromInt32({3}, {38, 37, 36}));
  g.nodes.push_back(std::move(fc2));

  g.segments = {{0, 1}, {1, 3}, {3, 4}};
  return g;
}

Graph MakeStructuralGraph() {
  Graph g;
  g.name = std::string("structural\0graph", 16);
  g.task = ModelTask::kTextGenerator;
  g.SetMetadata("", "empty key");
  g.SetMetadata("big", std::string(1 << 20, 'x'));
  g.SetMetadata("utf8", "\xce\xbb \xe2\x86\x92 \xf0\x9f\x98\x80");
  const int a = g.AddValue({"a", DType::kInt8, {kDynamicDim, 16}, 0.5});
  const int b = g.AddValue({"", DType::kInt32, {}, 1e-300});
  const int c = g.AddValue({"c", DType::kInt64, {0, 3, 1, 1, 1, 1, 1, 2}, 1e300});
  const int d = g.AddValue({"d", DType::kInt8, {kDynamicDim}, 1.0});
  g.inputs = {a, b, a};
  g.outputs = {d, c};
  for (int k = static_cast<int>(OpKind::kLinear); k <= static_cast<int>(OpKind::kSlice); ++k) {
    Node node;
    node.kind = static_cast<OpKind>(k);
    node.name = "node" + std::to_string(k);
    if (k % 3 != 0) node.inputs = {a, b};
    node.outputs = {k % 2 ? c : d};
    node.SetAttr("neg", {-1, INT64_MIN, INT64_MAX, 0});
    node.SetAttr("empty", {});
    node.SetParam("scalar8", Tensor::FromInt8({}, {-128}));
    node.SetParam("none32", Tensor(DType::kInt32, {0, 5}));
    node.SetParam("w64", Tensor::FromInt64({2, 1}, {INT64_MIN, k}));
    g.nodes.push_back(std::move(node));
  }
  g.segments = {{0, 5}, {5, 6}, {6, 19}};
  return g;
}

Graph MakeLookupChain(int stages, int64_t width) {
  Graph g;
  g.name = "lookup-chain";
  int prev = g.AddValue({"x", DType::kInt8, {width}, 1.0});
  g.inputs = {prev};
  for (int i = 0; i < stages; ++i) {
    const int out = g.AddValue({"y" + std::to_string(i), DType::kInt8, {width}, 1.0});
    Node n;
    n.kind = OpKind::kLookup;
    n.name = "lookup" + std::to_string(i);
    n.inputs = {prev};
    n.outputs = {out};
    std::vector<int8_t> table(256);
    for (int k = 0; k < 256; ++k)
      table[static_cast<size_t>(k)] =
          static_cast<int8_t>(std::max(-127, std::min(127, (k - 128) / 2 + i)));
    n.SetParam("table", Tensor::FromInt8({256}, table));
    g.nodes.push_back(n);
    g.segments.push_back({i, i + 1});
    prev = out;
  }
  g.outputs = {prev};
  return g;
}

}  // namespace veil::testing
