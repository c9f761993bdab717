// Shared pieces of the `veil` command-line front end: model loading, input preparation
// (.npy files and Fashion-MNIST images named by index), and output formatting.
#pragma once

#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/kernels.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::cli {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Parses "auto", "scalar", "avx2", "avx512", "avx512vnni".
Result<KernelPath> ParseKernelPath(const std::string& name);

// A float32 batch from a .npy file, checked against the graph input's per-sample shape.
// Integer graph inputs (token ids) are read as int32.
Result<Tensor> LoadInputNpy(const Graph& graph, const std::string& path);

// Fashion-MNIST test images [first, first + count), preprocessed with the model's
// input_mean/input_std metadata and quantized; labels are returned too.
Result<Tensor> LoadFashionMnistInputs(const Graph& graph, int64_t first, int64_t count,
                                      std::vector<int>* labels);

// Parses an image selector "N" or "A:B" (half-open) into first/count.
Status ParseImageRange(const std::string& spec, int64_t* first, int64_t* count);

// Rows [first, first + count) of a batch (its leading dimension).
Tensor BatchRows(const Tensor& t, int64_t first, int64_t count);

// Appends `part` to `*all` along the batch dimension (`*all` may be empty).
void AppendBatch(Tensor* all, const Tensor& part);

// Index of the largest element in each row of [rows, cols] int8 data (first on ties).
std::vector<int> ArgmaxRows(const Tensor& t);

// Class name i from the "class_names" metadata ("class i" if absent).
std::string ClassName(const Graph& graph, int index);

}  // namespace veil::cli
