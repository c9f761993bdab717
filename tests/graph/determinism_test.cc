// Outputs and RunTrace digests are bit-identical for every kernel path and thread count.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "graph_test_util.h"
#include "test_models.h"
#include "veil/kernels.h"
#include "veil/session.h"

namespace veil {
namespace {

using gt::I32;
using gt::RandomTensor8;
using gt::Scalar32;

struct Case {
  std::string name;
  Graph graph;
  std::vector<Tensor> inputs;
};

std::vector<Tensor> DecoderInputs(std::mt19937_64& rng, int64_t batch, int64_t tokens) {
  Tensor ids(DType::kInt32, {batch, tokens}), pos(DType::kInt32, {batch, tokens});
  std::uniform_int_distribution<int32_t> id(0, gt::kDecoderVocab - 1);
  for (int64_t i = 0; i < batch * tokens; ++i) {
    ids.i32()[static_cast<size_t>(i)] = id(rng);
    pos.i32()[static_cast<size_t>(i)] = static_cast<int32_t>(i % tokens);
  }
  return {ids, pos};
}

// Big enough that GemmS8, RequantizeRows and the row-parallel ops split across threads.
Graph MakeWideGraph(std::mt19937_64& rng) {
  gt::GraphBuilder b;
  const int x = b.Input("x", {3, 48, 48});
  const int c = b.Op(OpKind::kConv2d, {x}, {32, 48, 48}, {{"pads", {1, 1, 1, 1}}},
                     {{"weight", RandomTensor8(rng, {32, 3, 3, 3})},
                      {"bias", I32({32}, gt::RandomI32(rng, 32, -9000, 9000))},
                      {"multiplier", Scalar32(1 << 30)},
                      {"shift", Scalar32(39)}});
  const int p =
      b.Op(OpKind::kMaxPool2d, {c}, {32, 24, 24}, {{"kernel", {2, 2}}, {"strides", {2, 2}}});
  const int r = b.Op(OpKind::kReshape, {p}, {32, 576}, {{"shape", {32, 576}}});
  const int l = b.Op(OpKind::kLinear, {r}, {32, 256}, {{"act_min", {0}}},
                     {{"weight", RandomTensor8(rng, {256, 576})},
                      {"bias", I32({256}, gt::RandomI32(rng, 256, -9000, 9000))},
                      {"multiplier", I32({256}, gt::RandomI32(rng, 256, 1 << 30, INT32_MAX))},
                      {"shift", Scalar32(42)}});
  const int s =
      b.Op(OpKind::kSoftmax, {l}, {32, 256}, {}, {{"exp_table", I32({256}, gt::ExpTable(0.05))}});
  b.Output(s);
  b.Output(p);
  return b.graph();
}

std::vector<Case> Cases() {
  std::mt19937_64 rng(77);
  std::vector<Case> cases;
  cases.push_back({"image", gt::MakeImageModel(1), {RandomTensor8(rng, {48, 3, 12, 12})}});
  cases.push_back({"decoder", gt::MakeDecoderModel(2), DecoderInputs(rng, 4, 40)});
  Graph wide = MakeWideGraph(rng);
  cases.push_back({"wide", std::move(wide), {RandomTensor8(rng, {6, 3, 48, 48})}});
  return cases;
}

class DeterminismTest : public ::testing::TestWithParam<KernelPath> {};

TEST_P(DeterminismTest, OutputsAndTracesMatchScalarSingleThread) {
  const KernelPath path = GetParam();
  if (!KernelPathAvailable(path))
    GTEST_SKIP() << "kernel path " << KernelPathName(path) << " is not available here";
  for (const Case& c : Cases()) {
    auto reference = Session::Create(c.graph, {KernelPath::kScalar, 1});
    ASSERT_TRUE(reference.ok()) << c.name << ": " << reference.status().ToString();
    RunTrace reference_trace;
    auto expected = (*reference)->Run(c.inputs, &reference_trace);
    ASSERT_TRUE(expected.ok()) << c.name << ": " << expected.status().ToString();
    ASSERT_EQ(reference_trace.node_indices.size(), c.graph.nodes.size());
    for (int threads : {1, 2, 3}) {
      auto session = Session::Create(c.graph, {path, threads});
      ASSERT_TRUE(session.ok()) << session.status().ToString();
      EXPECT_EQ((*session)->kernel_path(), path);
      RunTrace trace;
      auto out = (*session)->Run(c.inputs, &trace);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ASSERT_EQ(out->size(), expected->size());
      for (size_t i = 0; i < out->size(); ++i)
        EXPECT_TRUE((*out)[i] == (*expected)[i]) << c.name << " output " << i << " differs on "
                                                 << KernelPathName(path) << " x" << threads;
      EXPECT_EQ(trace.node_indices, reference_trace.node_indices);
      EXPECT_EQ(trace.node_digests, reference_trace.node_digests)
          << c.name << " trace differs on " << KernelPathName(path) << " x" << threads;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, DeterminismTest,
                         ::testing::Values(KernelPath::kScalar, KernelPath::kAvx2,
                                           KernelPath::kAvx512, KernelPath::kAvx512Vnni),
                         [](const ::testing::TestParamInfo<KernelPath>& param_info) {
                           std::string name = KernelPathName(param_info.param);
                           std::erase(name, '-');  // gtest names are alphanumeric
                           return name;
                         });

}  // namespace
}  // namespace veil
