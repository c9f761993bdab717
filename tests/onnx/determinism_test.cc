// Bit-identical outputs and per-layer hashes for the shipped models across thread
// counts and kernel paths, segment-by-segment execution equal to a whole run, and
// incremental decoding equal to full recomputation. A path this CPU lacks is skipped
// with a message naming it.
#include <gtest/gtest.h>

#include "shipped_models.h"
#include "veil/quantization.h"
#include "veil/segmenter.h"
#include "veil/session.h"

#include <map>

namespace veil {
namespace {

std::vector<Tensor> ModelInputs(const std::string& name, const Graph& g) {
  if (name == "textgen") {
    const std::string text = "And God said, Let there be light: and there was light.";
    const int64_t t = static_cast<int64_t>(text.size());
    Tensor tokens(DType::kInt32, {2, t}), positions(DType::kInt32, {2, t});
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < t; ++i) {
        tokens.i32()[b * t + i] = static_cast<unsigned char>(text[(i + 7 * b) % t]);
        positions.i32()[b * t + i] = static_cast<int32_t>(i);
      }
    return {tokens, positions};
  }
  auto batch = testing::FashionTestImages(name, 100, 16);
  EXPECT_TRUE(batch.ok());
  return {QuantizeInput(g.values[g.inputs[0]], {16, 1, 28, 28}, batch->floats)};
}

class DeterminismTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DeterminismTest, SameBitsAndLayerHashesOnEveryPathAndThreadCount) {
  auto g = testing::ImportShipped(GetParam());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const std::vector<Tensor> inputs = ModelInputs(GetParam(), *g);
  SessionOptions ref_options;
  ref_options.kernel_path = KernelPath::kScalar;
  auto ref = Session::Create(*g, ref_options);
  ASSERT_TRUE(ref.ok());
  RunTrace ref_trace;
  auto ref_out = (*ref)->Run(inputs, &ref_trace);
  ASSERT_TRUE(ref_out.ok()) << ref_out.status().ToString();
  ASSERT_EQ(ref_trace.node_digests.size(), g->nodes.size());
  int compared = 0;
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAvx512Vnni}) {
    if (!KernelPathAvailable(path)) {
      std::printf("note: this CPU lacks the %s path; not compared\n", KernelPathName(path));
      continue;
    }
    for (int threads : {1, 2}) {
      SessionOptions o;
      o.kernel_path = path;
      o.threads = threads;
      auto s = Session::Create(*g, o);
      ASSERT_TRUE(s.ok());
      RunTrace trace;
      auto out = (*s)->Run(inputs, &trace);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ASSERT_EQ(*out, *ref_out) << KernelPathName(path) << " with " << threads << " threads";
      ASSERT_EQ(trace.node_digests, ref_trace.node_digests) << KernelPathName(path) << " with " << threads;
      ++compared;
    }
  }
  EXPECT_GE(compared, 2);
}

TEST_P(DeterminismTest, SegmentsChainedEqualOneRun) {
  auto g = testing::ImportShipped(GetParam());
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(SplitIntoSegments(&*g, 3).ok());
  const std::vector<Tensor> inputs = ModelInputs(GetParam(), *g);
  auto s = Session::Create(*g);
  ASSERT_TRUE(s.ok());
  auto whole = (*s)->Run(inputs);
  ASSERT_TRUE(whole.ok());
  // Values available so far, by id.
  std::map<int, Tensor> known;
  for (size_t i = 0; i < g->inputs.size(); ++i) known[g->inputs[i]] = inputs[i];
  const auto segments = g->EffectiveSegments();
  for (size_t k = 0; k < segments.size(); ++k) {
    std::vector<Tensor> seg_in;
    for (int v : g->SegmentInputs(segments[k])) seg_in.push_back(known.at(v));
    auto seg_out = (*s)->RunSegment(static_cast<int>(k), seg_in);
    ASSERT_TRUE(seg_out.ok()) << seg_out.status().ToString();
    const auto ids = g->SegmentOutputs(segments[k]);
    for (size_t j = 0; j < ids.size(); ++j) known[ids[j]] = (*seg_out)[j];
  }
  for (size_t o = 0; o < g->outputs.size(); ++o) EXPECT_EQ(known.at(g->outputs[o]), (*whole)[o]);
}

INSTANTIATE_TEST_SUITE_P(Shipped, DeterminismTest, ::testing::Values("mlp", "cnn", "vit", "textgen"));

TEST(IncrementalDecodingTest, TextModelTokenByTokenEqualsFullRun) {
  auto g = testing::ImportShipped("textgen");
  ASSERT_TRUE(g.ok());
  auto s = Session::Create(*g);
  ASSERT_TRUE(s.ok());
  const std::string text = "In the beginning God created the heaven";
  const int64_t t = static_cast<int64_t>(text.size());
  Tensor tokens(DType::kInt32, {1, t}), positions(DType::kInt32, {1, t});
  for (int64_t i = 0; i < t; ++i) {
    tokens.i32()[i] = static_cast<unsigned char>(text[i]);
    positions.i32()[i] = static_cast<int32_t>(i);
  }
  auto full = (*s)->Run({tokens, positions});
  ASSERT_TRUE(full.ok());
  const int64_t vocab = (*full)[0].dim(2);
  // Prefill 10 tokens, then one at a time; each step's logits equal the full run's row.
  KvCache cache;
  int64_t done = 0;
  while (done < t) {
    const int64_t n = done == 0 ? 10 : 1;
    Tensor tk(DType::kInt32, {1, n}), ps(DType::kInt32, {1, n});
    for (int64_t i = 0; i < n; ++i) {
      tk.i32()[i] = tokens.i32()[done + i];
      ps.i32()[i] = static_cast<int32_t>(done + i);
    }
    auto step = (*s)->RunIncremental({tk, ps}, &cache);
    ASSERT_TRUE(step.ok()) << step.status().ToString();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t v = 0; v < vocab; ++v)
        ASSERT_EQ((*step)[0].i8()[i * vocab + v], (*full)[0].i8()[(done + i) * vocab + v])
            << "token " << done + i;
    done += n;
  }
  EXPECT_EQ(cache.tokens(), t);
}

}  // namespace
}  // namespace veil
