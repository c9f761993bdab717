// Incremental decoding with a KvCache reproduces the full run exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "graph_test_util.h"
#include "test_models.h"
#include "veil/session.h"

namespace veil {
namespace {

constexpr int64_t kBatch = 2;
constexpr int64_t kTokens = 13;

struct Sequence {
  Tensor ids;        // int32 [B, T]
  Tensor positions;  // int32 [B, T]
};

Sequence RandomSequence(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, gt::kDecoderVocab - 1);
  Sequence s{Tensor(DType::kInt32, {kBatch, kTokens}), Tensor(DType::kInt32, {kBatch, kTokens})};
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t t = 0; t < kTokens; ++t) {
      s.ids.i32()[static_cast<size_t>(b * kTokens + t)] = id(rng);
      s.positions.i32()[static_cast<size_t>(b * kTokens + t)] = static_cast<int32_t>(t);
    }
  return s;
}

// Columns [t0, t1) of an int32 [B, T] tensor.
Tensor Columns(const Tensor& x, int64_t t0, int64_t t1) {
  Tensor out(DType::kInt32, {x.dim(0), t1 - t0});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t t = t0; t < t1; ++t)
      out.i32()[static_cast<size_t>(b * (t1 - t0) + t - t0)] =
          x.i32()[static_cast<size_t>(b * x.dim(1) + t)];
  return out;
}

// Rows [t0, t1) along axis 1 of an int8 [B, T, C] tensor.
Tensor Tokens(const Tensor& x, int64_t t0, int64_t t1) {
  const int64_t c = x.dim(2);
  Tensor out(DType::kInt8, {x.dim(0), t1 - t0, c});
  for (int64_t b = 0; b < x.dim(0); ++b)
    std::memcpy(out.i8().data() + b * (t1 - t0) * c, x.i8().data() + (b * x.dim(1) + t0) * c,
                static_cast<size_t>((t1 - t0) * c));
  return out;
}

class IncrementalTest : public ::testing::TestWithParam<int> {};  // thread count

TEST_P(IncrementalTest, ChunkedDecodingEqualsFullRun) {
  const Graph graph = gt::MakeDecoderModel(5);
  const Sequence seq = RandomSequence(6);
  auto session = Session::Create(graph, {KernelPath::kAuto, GetParam()});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto full = (*session)->Run({seq.ids, seq.positions});
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  const Tensor& logits = (*full)[0];
  ASSERT_EQ(logits.shape(), (Shape{kBatch, kTokens, gt::kDecoderVocab}));

  // Token by token, then in uneven chunks.
  for (const std::vector<int64_t>& chunks :
       {std::vector<int64_t>(kTokens, 1), std::vector<int64_t>{5, 1, 4, 3}}) {
    KvCache cache;
    int64_t t = 0;
    for (int64_t n : chunks) {
      RunTrace trace;
      auto step = (*session)->RunIncremental(
          {Columns(seq.ids, t, t + n), Columns(seq.positions, t, t + n)}, &cache, &trace);
      ASSERT_TRUE(step.ok()) << step.status().ToString();
      EXPECT_EQ(trace.node_indices.size(), graph.nodes.size());
      EXPECT_TRUE((*step)[0] == Tokens(logits, t, t + n))
          << "tokens [" << t << ", " << t + n << ") differ from the full run";
      t += n;
      EXPECT_EQ(cache.tokens(), t);
    }
    ASSERT_EQ(t, kTokens);
  }
  // The logits are not trivially constant.
  int64_t distinct = 0;
  for (int64_t i = 1; i < logits.size(); ++i) distinct += logits.i8()[i] != logits.i8()[i - 1];
  EXPECT_GT(distinct, logits.size() / 2);
}

INSTANTIATE_TEST_SUITE_P(Threads, IncrementalTest, ::testing::Values(1, 2));

TEST(IncrementalErrorsTest, FailedStepLeavesCacheUntouched) {
  const Graph graph = gt::MakeDecoderModel(7, 1);
  const Sequence seq = RandomSequence(8);
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok());
  auto full = (*session)->Run({seq.ids, seq.positions});
  ASSERT_TRUE(full.ok());
  KvCache cache;
  ASSERT_TRUE((*session)
                  ->RunIncremental({Columns(seq.ids, 0, 4), Columns(seq.positions, 0, 4)}, &cache)
                  .ok());

  // An out-of-range token id: the run fails naming it; the cache keeps 4 tokens.
  Tensor bad = Columns(seq.ids, 4, 5);
  bad.i32()[1] = 1000;
  auto step = (*session)->RunIncremental({bad, Columns(seq.positions, 4, 5)}, &cache);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("id 1000"), std::string::npos) << step.status().message();
  EXPECT_EQ(cache.tokens(), 4);

  // Another batch size than the cached one.
  auto wrong_batch = (*session)->RunIncremental(
      {Tensor(DType::kInt32, {3, 1}), Tensor(DType::kInt32, {3, 1})}, &cache);
  ASSERT_FALSE(wrong_batch.ok());
  EXPECT_EQ(wrong_batch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_batch.status().message().find("KvCache"), std::string::npos);

  // Different token counts across inputs.
  auto ragged =
      (*session)->RunIncremental({Columns(seq.ids, 4, 6), Columns(seq.positions, 4, 5)}, &cache);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("tokens"), std::string::npos);

  // Decoding resumes correctly.
  auto rest = (*session)->RunIncremental(
      {Columns(seq.ids, 4, kTokens), Columns(seq.positions, 4, kTokens)}, &cache);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_TRUE((*rest)[0] == Tokens((*full)[0], 4, kTokens));

  cache.Clear();
  EXPECT_EQ(cache.tokens(), 0);
  auto again =
      (*session)->RunIncremental({Columns(seq.ids, 0, 2), Columns(seq.positions, 0, 2)}, &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0] == Tokens((*full)[0], 0, 2));
  EXPECT_FALSE((*session)->RunIncremental({seq.ids, seq.positions}, nullptr).ok());
}

TEST(IncrementalErrorsTest, NonTokenWiseGraphIsUnsupported) {
  auto session = Session::Create(gt::MakeImageModel(3));
  ASSERT_TRUE(session.ok());
  KvCache cache;
  auto out = (*session)->RunIncremental({Tensor(DType::kInt8, {1, 3, 12, 12})}, &cache);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("image"), std::string::npos) << out.status().message();
}

TEST(IncrementalErrorsTest, NonCausalAttentionIsUnsupported) {
  Graph graph = gt::MakeDecoderModel(9, 1);
  for (Node& node : graph.nodes)
    if (node.kind == OpKind::kAttention) node.SetAttr("causal", {0});
  auto session = Session::Create(graph);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  KvCache cache;
  auto out = (*session)->RunIncremental(
      {Tensor(DType::kInt32, {1, 1}), Tensor(DType::kInt32, {1, 1})}, &cache);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(out.status().message().find("(Attention): attention is not causal"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace veil
