// Lowering: the analysed float ONNX graph -> veil's integer Graph.
#pragma once

#include "analysis.h"
#include "veil/graph.h"

namespace veil::onnx_import {

// Lowers every dynamic node of `analysis` to integer ops. Static (folded) nodes vanish.
// Fails with Unsupported, naming the op and node, on anything it cannot lower.
Result<Graph> Lower(const Analysis& analysis, const std::string& model_name);

}  // namespace veil::onnx_import
