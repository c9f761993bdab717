// Agreement with a real reference engine: the float ONNX models run in ONNX Runtime
// (npm onnxruntime-node, via tools/ort/ort_run.js) against veil's integer outputs.
//
// Error bound. Each int8 activation carries a rounding error of at most half its scale,
// and the error of the logits grows with depth. We bound the per-logit error by
// kBoundInScales output scales, i.e. a few units in the last place of the int8 logits
// per quantized layer, and require top-1 agreement on nearly all images.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "shipped_models.h"
#include "veil/quantization.h"
#include "veil/session.h"

namespace veil {
namespace {

namespace fs = std::filesystem;

struct OrtInput {
  std::string name, dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};

// Runs the model in ONNX Runtime and returns its first output.
std::vector<float> RunOrt(const std::string& model, const std::vector<OrtInput>& inputs) {
  const fs::path dir = fs::temp_directory_path() / ("veil_ort_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  nlohmann::json spec = {{"model", model}, {"out", (dir / "out.bin").string()}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string file = (dir / ("in" + std::to_string(i) + ".bin")).string();
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(inputs[i].bytes.data()), static_cast<std::streamsize>(inputs[i].bytes.size()));
    spec["inputs"].push_back({{"name", inputs[i].name}, {"dtype", inputs[i].dtype}, {"shape", inputs[i].shape}, {"file", file}});
  }
  std::ofstream(dir / "spec.json") << spec.dump();
  const std::string src = testing::SourceDir();
  const std::string cmd = "NODE_PATH=" + src + "/third_party/node/node_modules node " + src +
                          "/tools/ort/ort_run.js " + (dir / "spec.json").string() + " > " + (dir / "dims.json").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "ONNX Runtime failed: " << cmd;
  std::ifstream out(dir / "out.bin", std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  std::vector<float> result(raw.size() / 4);
  std::memcpy(result.data(), raw.data(), result.size() * 4);
  fs::remove_all(dir);
  return result;
}

template <typename T>
std::vector<uint8_t> AsBytes(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  return {p, p + v.size() * sizeof(T)};
}

struct Agreement {
  double top1 = 0;       // fraction of rows with the same argmax
  double max_err = 0;    // max |veil - ort| in output scales
  double mean_err = 0;   // mean |veil - ort| in output scales
};

Agreement Compare(const std::vector<float>& ort, const Tensor& veil_out, double scale, int64_t classes) {
  const std::vector<float> mine = Dequantize(veil_out, scale);
  Agreement a;
  const int64_t rows = static_cast<int64_t>(mine.size()) / classes;
  int64_t same = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = mine.data() + r * classes;
    const float* y = ort.data() + r * classes;
    same += (std::max_element(x, x + classes) - x) == (std::max_element(y, y + classes) - y);
    for (int64_t c = 0; c < classes; ++c) {
      const double e = std::fabs(x[c] - y[c]) / scale;
      a.max_err = std::max(a.max_err, e);
      a.mean_err += e;
    }
  }
  a.top1 = static_cast<double>(same) / static_cast<double>(rows);
  a.mean_err /= static_cast<double>(mine.size());
  return a;
}

struct Case {
  std::string name;
  double min_top1;
  double max_mean_err_scales;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class OrtAgreementTest : public ::testing::TestWithParam<Case> {};

TEST_P(OrtAgreementTest, ClassifierAgreesWithOnnxRuntime) {
  const Case c = GetParam();
  auto g = testing::ImportShipped(c.name);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  constexpr int64_t kImages = 500;
  auto batch = testing::FashionTestImages(c.name, 0, kImages);
  ASSERT_TRUE(batch.ok());
  const std::vector<float> ort =
      RunOrt(testing::ModelDir(c.name) + "/" + c.name + ".onnx",
             {{"input", "float32", {kImages, 1, 28, 28}, AsBytes(batch->floats)}});
  ASSERT_EQ(static_cast<int64_t>(ort.size()), kImages * 10);
  auto session = Session::Create(*g);
  ASSERT_TRUE(session.ok());
  auto out = (*session)->Run({QuantizeInput(g->values[g->inputs[0]], {kImages, 1, 28, 28}, batch->floats)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const double scale = g->values[g->outputs[0]].scale;
  const Agreement a = Compare(ort, (*out)[0], scale, 10);
  std::printf("%s vs ONNX Runtime: top-1 agreement %.1f%%, mean |err| %.2f scales, max |err| %.2f scales (scale %.4g)\n",
              c.name.c_str(), 100 * a.top1, a.mean_err, a.max_err, scale);
  EXPECT_GE(a.top1, c.min_top1);
  EXPECT_LE(a.mean_err, c.max_mean_err_scales);
}

INSTANTIATE_TEST_SUITE_P(Shipped, OrtAgreementTest,
                         ::testing::Values(Case{"mlp", 0.98, 4.0}, Case{"cnn", 0.97, 6.0}, Case{"vit", 0.95, 8.0}),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(OrtAgreementTest, TextModelNextByteAgreesWithOnnxRuntime) {
  auto g = testing::ImportShipped("textgen");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // A window of the calibration text: tokens and positions [1, 64].
  constexpr int64_t kT = 64;
  const std::string text = "In the beginning God created the heaven and the earth. And the ea";
  std::vector<int64_t> tokens(kT), positions(kT);
  for (int64_t i = 0; i < kT; ++i) {
    tokens[i] = static_cast<unsigned char>(text[i]);
    positions[i] = i;
  }
  const std::vector<float> ort = RunOrt(testing::ModelDir("textgen") + "/textgen.onnx",
                                        {{"tokens", "int64", {1, kT}, AsBytes(tokens)},
                                         {"positions", "int64", {1, kT}, AsBytes(positions)}});
  ASSERT_EQ(static_cast<int64_t>(ort.size()), kT * 256);
  auto session = Session::Create(*g);
  ASSERT_TRUE(session.ok());
  Tensor tt(DType::kInt32, {1, kT}), pt(DType::kInt32, {1, kT});
  for (int64_t i = 0; i < kT; ++i) {
    tt.i32()[i] = static_cast<int32_t>(tokens[i]);
    pt.i32()[i] = static_cast<int32_t>(i);
  }
  auto out = (*session)->Run({tt, pt});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Agreement a = Compare(ort, (*out)[0], g->values[g->outputs[0]].scale, 256);
  std::printf("textgen vs ONNX Runtime: next-byte top-1 agreement %.1f%% over %lld positions, mean |err| %.2f scales\n",
              100 * a.top1, static_cast<long long>(kT), a.mean_err);
  EXPECT_GE(a.top1, 0.85);
  EXPECT_LE(a.mean_err, 10.0);
}

}  // namespace
}  // namespace veil
