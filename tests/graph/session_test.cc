// Session behaviour: request checks with clear errors, segments, traces, digests.
#include "veil/session.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>

#include "graph_test_util.h"
#include "test_models.h"
#include "veil/digest.h"

namespace veil {
namespace {

using gt::I32;
using gt::I8;
using gt::RandomTensor8;

void ExpectError(const Status& status, StatusCode code, const std::vector<std::string>& needles) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), code) << status.ToString();
  for (const std::string& needle : needles)
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << "message \"" << status.message() << "\" lacks \"" << needle << "\"";
}

TEST(SessionTest, RejectsBadInputsWithClearErrors) {
  auto session = Session::Create(gt::MakeImageModel(1));
  ASSERT_TRUE(session.ok());
  Session& s = **session;
  ExpectError(s.Run({}).status(), StatusCode::kInvalidArgument, {"expected 1 inputs, got 0"});
  ExpectError(s.Run({Tensor(DType::kInt32, {1, 3, 12, 12})}).status(), StatusCode::kInvalidArgument,
              {"input 0 'image'", "dtype int32, expected int8"});
  ExpectError(s.Run({Tensor(DType::kInt8, {1, 3, 12, 11})}).status(), StatusCode::kInvalidArgument,
              {"input 0 'image'", "shape [1,3,12,11]", "expected [B,3,12,12]"});
  ExpectError(s.Run({Tensor(DType::kInt8, {3, 12, 12})}).status(), StatusCode::kInvalidArgument,
              {"expected [B,3,12,12]"});
  ExpectError(s.Run({Tensor(DType::kInt8, {0, 3, 12, 12})}).status(), StatusCode::kInvalidArgument,
              {"shape [0,3,12,12]"});
  Tensor x(DType::kInt8, {2, 3, 12, 12});
  x.i8()[300] = -128;
  ExpectError(s.Run({x}).status(), StatusCode::kInvalidArgument,
              {"input 0 'image' element 300 is -128, outside [-127, 127]"});
  x.i8()[300] = -127;
  EXPECT_TRUE(s.Run({x}).ok());
}

TEST(SessionTest, EmbeddingIdsOutOfRangeAndBatchMismatch) {
  auto session = Session::Create(gt::MakeDecoderModel(1, 1));
  ASSERT_TRUE(session.ok());
  Tensor ids = I32({1, 3}, {1, 2, gt::kDecoderVocab});
  const Tensor pos = I32({1, 3}, {0, 1, 2});
  ExpectError((*session)->Run({ids, pos}).status(), StatusCode::kInvalidArgument,
              {"node 0 'embed0' (Embedding)", "id 40 (sample 0, position 2) is outside [0, 40)"});
  ids.i32()[2] = -1;
  ExpectError((*session)->Run({ids, pos}).status(), StatusCode::kInvalidArgument, {"id -1"});
  ExpectError((*session)->Run({I32({2, 3}, {0, 0, 0, 0, 0, 0}), pos}).status(),
              StatusCode::kInvalidArgument, {"input 1 'positions' has batch 1", "batch 2"});
  // Different token counts in the two inputs: caught where they meet (the Add).
  ExpectError((*session)->Run({I32({1, 2}, {0, 0}), pos}).status(), StatusCode::kInvalidArgument,
              {"(Add)", "not a suffix"});
}

TEST(SessionTest, RejectsBadOptions) {
  ExpectError(Session::Create(gt::MakeImageModel(1), {KernelPath::kAuto, 100000}).status(),
              StatusCode::kInvalidArgument, {"threads"});
  for (KernelPath p : {KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni})
    if (!KernelPathAvailable(p))
      ExpectError(Session::Create(gt::MakeImageModel(1), {p, 1}).status(), StatusCode::kUnsupported,
                  {KernelPathName(p)});
  auto session = Session::Create(gt::MakeImageModel(1));
  ASSERT_TRUE(session.ok());
  EXPECT_NE((*session)->kernel_path(), KernelPath::kAuto);
  Graph bad = gt::MakeImageModel(1);
  bad.nodes[0].inputs = {42};
  ExpectError(Session::Create(bad).status(), StatusCode::kCorrupt, {"node 0"});
}

// Runs every segment in order, feeding each with the tensors computed so far, and
// compares the graph outputs (and the concatenated traces) with a whole-graph run.
void CheckSegmentsChainToRun(const Graph& graph, const std::vector<Tensor>& inputs) {
  ASSERT_GE(graph.segments.size(), 3u);
  auto session = Session::Create(graph, {KernelPath::kAuto, 2});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  RunTrace full_trace;
  auto full = (*session)->Run(inputs, &full_trace);
  ASSERT_TRUE(full.ok()) << full.status().ToString();

  std::vector<const Tensor*> known(graph.values.size(), nullptr);
  std::vector<Tensor> storage;
  storage.reserve(graph.values.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    known[static_cast<size_t>(graph.inputs[i])] = &inputs[i];
  RunTrace chained;
  for (size_t s = 0; s < graph.segments.size(); ++s) {
    std::vector<Tensor> seg_inputs;
    for (int v : graph.SegmentInputs(graph.segments[s])) {
      ASSERT_NE(known[static_cast<size_t>(v)], nullptr);
      seg_inputs.push_back(*known[static_cast<size_t>(v)]);
    }
    RunTrace trace;
    auto out = (*session)->RunSegment(static_cast<int>(s), seg_inputs, &trace);
    ASSERT_TRUE(out.ok()) << "segment " << s << ": " << out.status().ToString();
    const std::vector<int> ids = graph.SegmentOutputs(graph.segments[s]);
    ASSERT_EQ(out->size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      storage.push_back((*out)[i]);
      known[static_cast<size_t>(ids[i])] = &storage.back();
    }
    EXPECT_EQ(trace.node_indices.front(), graph.segments[s].begin);
    chained.node_indices.insert(chained.node_indices.end(), trace.node_indices.begin(),
                                trace.node_indices.end());
    chained.node_digests.insert(chained.node_digests.end(), trace.node_digests.begin(),
                                trace.node_digests.end());
  }
  for (size_t i = 0; i < graph.outputs.size(); ++i)
    EXPECT_TRUE(*known[static_cast<size_t>(graph.outputs[i])] == (*full)[i]) << "output " << i;
  EXPECT_EQ(chained.node_indices, full_trace.node_indices);
  EXPECT_EQ(chained.node_digests, full_trace.node_digests);
}

TEST(SessionTest, RunSegmentChainEqualsRun) {
  std::mt19937_64 rng(3);
  CheckSegmentsChainToRun(gt::MakeImageModel(2), {RandomTensor8(rng, {3, 3, 12, 12})});
  Tensor ids(DType::kInt32, {2, 9}), pos(DType::kInt32, {2, 9});
  for (int i = 0; i < 18; ++i) {
    ids.i32()[static_cast<size_t>(i)] = static_cast<int32_t>(rng() % gt::kDecoderVocab);
    pos.i32()[static_cast<size_t>(i)] = i % 9;
  }
  CheckSegmentsChainToRun(gt::MakeDecoderModel(2), {ids, pos});
}

TEST(SessionTest, RunSegmentChecksItsInputs) {
  const Graph g = gt::MakeImageModel(2);
  auto session = Session::Create(g);
  ASSERT_TRUE(session.ok());
  ExpectError((*session)->RunSegment(3, {}).status(), StatusCode::kInvalidArgument,
              {"segment 3 does not exist"});
  ExpectError((*session)->RunSegment(-1, {}).status(), StatusCode::kInvalidArgument,
              {"segment -1"});
  const std::vector<int> in = g.SegmentInputs(g.segments[1]);
  ASSERT_EQ(in.size(), 1u);
  const Value& v = g.values[static_cast<size_t>(in[0])];
  ExpectError((*session)->RunSegment(1, {Tensor(DType::kInt8, {1, 5})}).status(),
              StatusCode::kInvalidArgument, {"segment input 0 '" + v.name + "'", "shape [1,5]"});
  Shape s = v.shape;
  s.insert(s.begin(), 1);
  Tensor t(DType::kInt8, s);
  t.i8()[0] = -128;
  ExpectError((*session)->RunSegment(1, {t}).status(), StatusCode::kInvalidArgument,
              {"element 0 is -128"});
}

TEST(SessionTest, TensorDigestFraming) {
  // SHA-256("veil.tensor.v1" 00 || u64le(dtype=1) || u64le(rank=2) || u64le(2) || u64le(2)
  //         || 01 02 03 fc)
  const Tensor t = I8({2, 2}, {1, 2, 3, -4});
  Sha256Hasher h;
  const std::string tag("veil.tensor.v1\0", 15);
  h.Update({reinterpret_cast<const uint8_t*>(tag.data()), tag.size()});
  for (uint64_t v : {1, 2, 2, 2}) h.UpdateU64(v);
  const uint8_t bytes[] = {1, 2, 3, 0xfc};
  h.Update(bytes);
  EXPECT_EQ(TensorDigest(t), h.Finish());
  EXPECT_EQ(DigestToHex(TensorDigest(t)),
            "f046314d7b623d72da2f20e3dea0c30837c3c6a2d554cf377916a55d0c9563c5");
  // Shape and dtype are part of the digest.
  EXPECT_NE(TensorDigest(t), TensorDigest(I8({4}, {1, 2, 3, -4})));
  EXPECT_NE(TensorDigest(Tensor(DType::kInt8, {4})), TensorDigest(Tensor(DType::kInt32, {1})));
}

TEST(SessionTest, TraceHasOneDigestPerNodeOfItsOutput) {
  const Graph g = gt::MakeImageModel(5);
  auto session = Session::Create(g);
  ASSERT_TRUE(session.ok());
  std::mt19937_64 rng(5);
  RunTrace trace;
  trace.node_indices = {7, 7, 7};  // stale content is replaced
  auto out = (*session)->Run({RandomTensor8(rng, {2, 3, 12, 12})}, &trace);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(trace.node_indices.size(), g.nodes.size());
  ASSERT_EQ(trace.node_digests.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) EXPECT_EQ(trace.node_indices[i], static_cast<int>(i));
  EXPECT_EQ(trace.node_digests.back(), Sha256(TensorDigest((*out)[0])));
}

// The referee's entry points (docs/consensus.md "Disputes"): for every layer, recomputing it
// alone from the values LayerInputs returns reproduces the full run's digest of that layer.
TEST(SessionTest, EveryLayerRecomputedAloneMatchesTheTrace) {
  std::mt19937_64 rng(11);
  Tensor ids(DType::kInt32, {2, 9}), pos(DType::kInt32, {2, 9});
  for (int i = 0; i < 18; ++i) {
    ids.i32()[static_cast<size_t>(i)] = static_cast<int32_t>(rng() % gt::kDecoderVocab);
    pos.i32()[static_cast<size_t>(i)] = i % 9;
  }
  const std::vector<std::pair<Graph, std::vector<Tensor>>> cases = {
      {gt::MakeImageModel(5), {RandomTensor8(rng, {2, 3, 12, 12})}},
      {gt::MakeDecoderModel(2), {ids, pos}}};
  for (const auto& [g, inputs] : cases) {
    auto session = Session::Create(g);
    ASSERT_TRUE(session.ok());
    RunTrace trace;
    ASSERT_TRUE((*session)->Run(inputs, &trace).ok());
    for (int layer = 0; layer < static_cast<int>(g.nodes.size()); ++layer) {
      auto values = (*session)->LayerInputs(inputs, layer);
      ASSERT_TRUE(values.ok()) << values.status().ToString();
      ASSERT_EQ(values->size(), g.nodes[static_cast<size_t>(layer)].inputs.size());
      RunTrace one;
      auto out = (*session)->RunLayer(layer, *values, &one);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ASSERT_EQ(one.node_digests.size(), 1u);
      EXPECT_EQ(one.node_digests[0], trace.node_digests[static_cast<size_t>(layer)]) << layer;
    }
    const int n = static_cast<int>(g.nodes.size());
    ExpectError((*session)->LayerInputs(inputs, n).status(), StatusCode::kInvalidArgument,
                {"layer " + std::to_string(n) + " does not exist"});
    ExpectError((*session)->RunLayer(-1, {}).status(), StatusCode::kInvalidArgument,
                {"layer -1"});
    ExpectError((*session)->RunLayer(0, {}).status(), StatusCode::kInvalidArgument,
                {"layer input"});
  }
}

TEST(SessionTest, OutputsMayRepeatOrBeInputs) {
  gt::GraphBuilder b;
  const int x = b.Input("x", {2});
  const int y = b.Op(OpKind::kRequantize, {x}, {2}, {},
                     {{"multiplier", gt::Scalar32(2)}, {"shift", gt::Scalar32(0)}});
  b.Output(y);
  b.Output(x);
  b.Output(y);
  auto out = gt::MustRun(b.graph(), {I8({1, 2}, {3, -4})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(gt::Values8(out[0]), (std::vector<int8_t>{6, -8}));
  EXPECT_EQ(gt::Values8(out[1]), (std::vector<int8_t>{3, -4}));
  EXPECT_TRUE(out[2] == out[0]);
}

TEST(SessionTest, ConcurrentRunsAreSerialisedAndCorrect) {
  const Graph g = gt::MakeImageModel(6);
  auto session = Session::Create(g, {KernelPath::kAuto, 2});
  ASSERT_TRUE(session.ok());
  std::mt19937_64 rng(6);
  const Tensor x = RandomTensor8(rng, {8, 3, 12, 12});
  auto expected = (*session)->Run({x});
  ASSERT_TRUE(expected.ok());
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 5; ++r) {
        auto out = (*session)->Run({x});
        ok[static_cast<size_t>(t)] += out.ok() && (*out)[0] == (*expected)[0];
      }
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 5);
}

}  // namespace
}  // namespace veil
