#include <fstream>
#include <limits>
#include <sstream>

#include "analysis.h"
#include "lower.h"
#include "onnx/onnx_pb.h"
#include "veil/onnx_import.h"

namespace veil {

namespace {
constexpr int64_t kMinOpset = 11;
constexpr int64_t kMaxOpset = 17;
constexpr size_t kMaxOnnxBytes = size_t{1} << 30;
}  // namespace

Result<Graph> ImportOnnx(std::span<const uint8_t> onnx_bytes, const ImportOptions& options) {
  if (onnx_bytes.empty()) return Status::Corrupt("the ONNX file is empty");
  if (onnx_bytes.size() > kMaxOnnxBytes) return Status::Unsupported("ONNX files over 1 GiB are not supported");
  onnx::ModelProto model;
  if (!model.ParseFromArray(onnx_bytes.data(), static_cast<int>(onnx_bytes.size())))
    return Status::Corrupt("not a valid ONNX protobuf (truncated or corrupt)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    return Status::Corrupt("the ONNX model has no graph nodes");
  int64_t opset = 0;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < kMinOpset || opset > kMaxOpset)
    return Status::Unsupported("ONNX opset " + std::to_string(opset) + " (veil imports opsets " +
                               std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  for (const auto& node : model.graph().node())
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      return Status::Unsupported("op " + node.op_type() + " of domain '" + node.domain() + "' in node '" +
                                 node.name() + "'");

  VEIL_ASSIGN_OR_RETURN(onnx_import::Analysis analysis, onnx_import::Analyze(model, options));
  const std::string name = options.model_name.empty() ? model.graph().name() : options.model_name;
  VEIL_ASSIGN_OR_RETURN(Graph graph, onnx_import::Lower(analysis, name));
  graph.SetMetadata("source.format", "onnx");
  graph.SetMetadata("source.opset", std::to_string(opset));
  if (!model.producer_name().empty())
    graph.SetMetadata("source.producer", model.producer_name() + " " + model.producer_version());
  graph.SetMetadata("calibration.batch", std::to_string(analysis.batch));
  VEIL_RETURN_IF_ERROR(ValidateGraph(graph).WithContext("imported graph failed validation (importer bug)"));
  return graph;
}

Result<Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  auto result = ImportOnnx({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, options);
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

}  // namespace veil
