#include "shipped_models.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "veil/fashion_mnist.h"
#include "veil/npy.h"
#include "veil/onnx_import.h"

namespace veil::testing {

std::string SourceDir() {
  const char* env = std::getenv("VEIL_SOURCE_DIR");
  return env != nullptr ? env : VEIL_SOURCE_DIR;
}

std::string ModelDir(const std::string& name) { return SourceDir() + "/models/" + name; }

namespace {
nlohmann::json Meta(const std::string& name) {
  std::ifstream in(ModelDir(name) + "/meta.json");
  return nlohmann::json::parse(in, nullptr, false);
}

Result<CalibrationInput> Calibration(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(path));
  CalibrationInput in;
  in.shape = a.shape;
  if (a.dtype == NpyDType::kInt64) {
    in.is_int = true;
    VEIL_ASSIGN_OR_RETURN(in.ints, a.ToInt64());
  } else {
    VEIL_ASSIGN_OR_RETURN(in.floats, a.ToFloat32());
  }
  return in;
}
}  // namespace

Result<Graph> ImportShipped(const std::string& name) {
  ImportOptions options;
  options.model_name = name;
  const std::string dir = ModelDir(name);
  std::vector<std::string> files = {dir + "/calibration.npy"};
  if (name == "textgen") files = {dir + "/calibration_tokens.npy", dir + "/calibration_positions.npy"};
  for (const std::string& f : files) {
    VEIL_ASSIGN_OR_RETURN(CalibrationInput in, Calibration(f));
    options.calibration.push_back(std::move(in));
  }
  VEIL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(dir + "/" + name + ".onnx", options));
  const nlohmann::json meta = Meta(name);
  if (meta.contains("context")) g.SetMetadata("context_length", std::to_string(meta["context"].get<int64_t>()));
  return g;
}

double FloatAccuracy(const std::string& name) { return Meta(name)["float_test_accuracy"].get<double>(); }

Result<FashionBatch> FashionTestImages(const std::string& name, int64_t first, int64_t count) {
  const nlohmann::json meta = Meta(name);
  const float mean = meta["input_mean"].get<float>(), stdev = meta["input_std"].get<float>();
  VEIL_ASSIGN_OR_RETURN(FashionMnist data, LoadFashionMnist("/usr/share/datasets/fashion-mnist", true));
  FashionBatch b;
  b.count = count;
  b.floats.resize(static_cast<size_t>(count * 784));
  for (int64_t i = 0; i < count * 784; ++i)
    b.floats[i] = (static_cast<float>(data.images[first * 784 + i]) / 255.0f - mean) / stdev;
  b.labels.assign(data.labels.begin() + first, data.labels.begin() + first + count);
  return b;
}

}  // namespace veil::testing
