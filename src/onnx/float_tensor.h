// Float/int64/bool tensors used only inside the importer: to fold constants and to run
// the float model over calibration data. Nothing here reaches the integer graph except
// through quantization.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::onnx_import {

struct FTensor {
  enum class Kind { kFloat, kInt64, kBool };
  Kind kind = Kind::kFloat;
  Shape shape;
  std::vector<float> f;    // kFloat
  std::vector<int64_t> i;  // kInt64 and kBool (0/1)

  int64_t size() const { return NumElements(shape); }
  static FTensor Float(Shape shape, std::vector<float> values);
  static FTensor Int64(Shape shape, std::vector<int64_t> values);
  static FTensor Bool(Shape shape, std::vector<int64_t> values);
};

// Converts an ONNX TensorProto (float, double, int32, int64, bool, int8, uint8; raw_data
// or typed fields) to an FTensor. Floats become kFloat, integers kInt64, bool kBool.
Result<FTensor> FromTensorProto(const onnx::TensorProto& proto);

// Evaluates one ONNX node in float32/int64 on fully known inputs (an empty name in the
// node's input list is passed as nullptr). Fills one FTensor per node output. Errors
// name the node and op. Opset semantics: ONNX opsets 11-17 as exported by PyTorch 1.13.
Status EvalNode(const onnx::NodeProto& node, const std::vector<const FTensor*>& inputs,
                std::vector<FTensor>* outputs);

// Whether EvalNode implements `op_type`.
bool CanEvalOp(const std::string& op_type);

}  // namespace veil::onnx_import
