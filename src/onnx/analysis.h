// The importer's float pass: folds everything computable without the inputs' values
// (initializers, Constant nodes, shape arithmetic) and runs the float model over the
// calibration batch, recording the range of every dynamic tensor.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "float_tensor.h"
#include "onnx/onnx_pb.h"
#include "veil/onnx_import.h"

namespace veil::onnx_import {

struct TensorInfo {
  bool is_static = false;  // known without the inputs' values (then `value` holds it)
  FTensor value;           // static tensors only (dynamic values are freed after use)
  FTensor::Kind kind = FTensor::Kind::kFloat;
  Shape shape;             // shape in the calibration run (leading dim = batch)
  float max_abs = 0.0f;    // dynamic tensors: max |v| over the calibration batch
};

struct Analysis {
  const onnx::GraphProto* graph = nullptr;
  std::map<std::string, TensorInfo> tensors;
  std::vector<std::string> inputs;   // real graph inputs (not initializers), in order
  std::vector<bool> input_has_dynamic_seq;  // dim 1 of the input is symbolic
  std::vector<std::string> outputs;
  std::map<std::string, int> producer;                // tensor -> node index
  std::map<std::string, std::vector<int>> consumers;  // tensor -> node indices
  int64_t batch = 0;    // calibration batch size
  int64_t seq_len = 0;  // calibration sequence length when some input has a dynamic seq dim

  const TensorInfo* Find(const std::string& name) const;
  bool IsStatic(const std::string& name) const;
  // The static value of `name`, or nullptr if it is dynamic or unknown.
  const FTensor* Static(const std::string& name) const;
  // Indices of the nodes that read `name`.
  const std::vector<int>& Consumers(const std::string& name) const;
  // The node producing `name`, or nullptr for graph inputs/initializers.
  const onnx::NodeProto* Producer(const std::string& name) const;
};

Result<Analysis> Analyze(const onnx::ModelProto& model, const ImportOptions& options);

}  // namespace veil::onnx_import
