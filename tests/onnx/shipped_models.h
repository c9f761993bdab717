// Test helpers: import the models shipped under models/ with their calibration data,
// and prepare Fashion-MNIST test images the way the training scripts did.
#pragma once

#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/status.h"

namespace veil::testing {

std::string SourceDir();
std::string ModelDir(const std::string& name);

// Imports models/<name>/<name>.onnx with its calibration .npy file(s).
Result<Graph> ImportShipped(const std::string& name);

// The float test-set accuracy the training script recorded in models/<name>/meta.json.
double FloatAccuracy(const std::string& name);

struct FashionBatch {
  std::vector<float> floats;  // normalised, [count, 1, 28, 28]
  std::vector<int> labels;
  int64_t count = 0;
};
// Test images [first, first + count) normalised with models/<name>/meta.json constants.
Result<FashionBatch> FashionTestImages(const std::string& name, int64_t first, int64_t count);

}  // namespace veil::testing
