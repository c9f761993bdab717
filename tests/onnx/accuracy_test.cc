// Integer accuracy of the shipped classifiers on the whole Fashion-MNIST test set
// (10,000 images) against the float model's accuracy recorded at training time.
#include <gtest/gtest.h>

#include <cmath>

#include "shipped_models.h"
#include "veil/quantization.h"
#include "veil/session.h"

namespace veil {
namespace {

class AccuracyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AccuracyTest, IntegerTop1WithinOnePointOfFloat) {
  const std::string name = GetParam();
  auto g = testing::ImportShipped(name);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  SessionOptions options;
  options.threads = 2;
  auto session = Session::Create(*g, options);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const Value& in = g->values[g->inputs[0]];
  int64_t correct = 0;
  constexpr int64_t kImages = 10000, kChunk = 500;
  for (int64_t first = 0; first < kImages; first += kChunk) {
    auto batch = testing::FashionTestImages(name, first, kChunk);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    Tensor x = QuantizeInput(in, {kChunk, 1, 28, 28}, batch->floats);
    auto out = (*session)->Run({x});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const Tensor& logits = (*out)[0];
    const int64_t classes = logits.dim(1);
    for (int64_t i = 0; i < kChunk; ++i) {
      const int8_t* row = logits.i8().data() + i * classes;
      correct += (std::max_element(row, row + classes) - row) == batch->labels[i];
    }
  }
  const double integer_acc = 100.0 * static_cast<double>(correct) / kImages;
  const double float_acc = 100.0 * testing::FloatAccuracy(name);
  std::printf("%s: integer top-1 %.2f%%, float top-1 %.2f%%\n", name.c_str(), integer_acc, float_acc);
  RecordProperty("integer_accuracy", std::to_string(integer_acc));
  EXPECT_LE(std::fabs(integer_acc - float_acc), 1.0);
}

INSTANTIATE_TEST_SUITE_P(ShippedClassifiers, AccuracyTest, ::testing::Values("mlp", "cnn", "vit"));

}  // namespace
}  // namespace veil
