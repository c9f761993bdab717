// ONNX import: float ONNX model + calibration batch -> integer veil Graph.
//
// The importer folds constants and shape computations, runs the float model over the
// calibration batch to measure every activation's range, then lowers the graph to
// veil's integer ops (docs/arithmetic.md): per-output-channel symmetric int8 weights,
// symmetric int8 activations with max-abs calibrated scales, fused BatchNorm/bias/ReLU,
// elementwise functions (GELU, SiLU, ...) as lookup tables, attention, normalisation.
// Anything it cannot lower exactly is an Unsupported error naming the op and node;
// no partial graph is ever returned.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/status.h"

namespace veil {

// One calibration batch for one ONNX graph input (leading dimension = batch).
struct CalibrationInput {
  Shape shape;
  std::vector<float> floats;  // for float inputs
  std::vector<int64_t> ints;  // for integer inputs (token ids, positions)
  bool is_int = false;
};

struct ImportOptions {
  std::string model_name;
  // One entry per ONNX graph input (initializer-backed inputs excluded), in order.
  std::vector<CalibrationInput> calibration;
};

Result<Graph> ImportOnnx(std::span<const uint8_t> onnx_bytes, const ImportOptions& options);
Result<Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options);

}  // namespace veil
