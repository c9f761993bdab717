#include "cli_common.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "veil/fashion_mnist.h"
#include "veil/npy.h"
#include "veil/quantization.h"

namespace veil::cli {

Result<KernelPath> ParseKernelPath(const std::string& name) {
  for (KernelPath p : {KernelPath::kAuto, KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512,
                       KernelPath::kAvx512Vnni})
    if (name == KernelPathName(p)) {
      if (!KernelPathAvailable(p)) return Status::Unsupported("this CPU cannot run the " + name + " kernels");
      return p;
    }
  return Status::InvalidArgument("unknown kernel path '" + name + "' (auto, scalar, avx2, avx512, avx512vnni)");
}

namespace {
// Checks that `shape` is [B] + per-sample shape (dynamic dims match anything >= 1).
Status CheckShape(const Value& value, const Shape& shape, const std::string& what) {
  bool ok = shape.size() == value.shape.size() + 1 && shape[0] >= 1;
  for (size_t i = 0; ok && i < value.shape.size(); ++i)
    ok = value.shape[i] == kDynamicDim ? shape[i + 1] >= 1 : shape[i + 1] == value.shape[i];
  if (!ok)
    return Status::InvalidArgument(what + " has shape " + ShapeToString(shape) + " but input '" + value.name +
                                   "' expects [batch" + (value.shape.empty() ? "" : ",") +
                                   ShapeToString(value.shape).substr(1));
  return Status::Ok();
}
}  // namespace

Result<Tensor> LoadInputNpy(const Graph& graph, const std::string& path) {
  if (graph.inputs.size() != 1)
    return Status::InvalidArgument("this model has " + std::to_string(graph.inputs.size()) +
                                   " inputs; --input feeds single-input models");
  const Value& value = graph.values[graph.inputs[0]];
  VEIL_ASSIGN_OR_RETURN(NpyArray array, ReadNpy(path));
  VEIL_RETURN_IF_ERROR(CheckShape(value, array.shape, path));
  if (value.dtype == DType::kInt32) {
    VEIL_ASSIGN_OR_RETURN(std::vector<int64_t> ids, array.ToInt64());
    Tensor t(DType::kInt32, array.shape);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < INT32_MIN || ids[i] > INT32_MAX) return Status::InvalidArgument(path + ": token id out of range");
      t.i32()[i] = static_cast<int32_t>(ids[i]);
    }
    return t;
  }
  if (array.dtype == NpyDType::kInt8) {  // already quantized: check the range
    Tensor t(DType::kInt8, array.shape);
    std::copy(array.data.begin(), array.data.end(), t.raw());
    for (int8_t v : t.i8())
      if (v < kActMin) return Status::InvalidArgument(path + ": int8 input contains -128 (outside [-127, 127])");
    return t;
  }
  if (array.dtype != NpyDType::kFloat32 && array.dtype != NpyDType::kFloat64)
    return Status::InvalidArgument(path + ": expected float32 values (or int8 already quantized), got " +
                                   NpyDTypeDescr(array.dtype));
  VEIL_ASSIGN_OR_RETURN(std::vector<float> floats, array.ToFloat32());
  for (float f : floats)
    if (!std::isfinite(f)) return Status::InvalidArgument(path + ": input contains NaN or infinity");
  return QuantizeInput(value, array.shape, floats);
}

Result<Tensor> LoadFashionMnistInputs(const Graph& graph, int64_t first, int64_t count, std::vector<int>* labels) {
  if (graph.inputs.size() != 1 || graph.values[graph.inputs[0]].shape != Shape{1, 28, 28})
    return Status::InvalidArgument("Fashion-MNIST images need a model with one [1,28,28] input");
  const std::string* mean_s = graph.FindMetadata("input_mean");
  const std::string* std_s = graph.FindMetadata("input_std");
  if (mean_s == nullptr || std_s == nullptr)
    return Status::InvalidArgument("the model has no input_mean/input_std metadata (import it with --meta)");
  const float mean = std::stof(*mean_s), stdev = std::stof(*std_s);
  VEIL_ASSIGN_OR_RETURN(FashionMnist data, LoadFashionMnist(kFashionMnistDir, /*test_split=*/true));
  const int64_t n = static_cast<int64_t>(data.labels.size());
  if (first < 0 || count < 1 || first + count > n)
    return Status::InvalidArgument("image range [" + std::to_string(first) + ", " + std::to_string(first + count) +
                                   ") is outside the " + std::to_string(n) + " test images");
  std::vector<float> floats(static_cast<size_t>(count * 784));
  for (int64_t i = 0; i < count * 784; ++i)
    floats[i] = (static_cast<float>(data.images[first * 784 + i]) / 255.0f - mean) / stdev;
  labels->assign(data.labels.begin() + first, data.labels.begin() + first + count);
  return QuantizeInput(graph.values[graph.inputs[0]], {count, 1, 28, 28}, floats);
}

Status ParseImageRange(const std::string& spec, int64_t* first, int64_t* count) {
  try {
    size_t colon = spec.find(':');
    size_t used = 0;
    if (colon == std::string::npos) {
      *first = std::stoll(spec, &used);
      if (used != spec.size()) throw std::invalid_argument(spec);
      *count = 1;
    } else {
      const int64_t a = colon == 0 ? 0 : std::stoll(spec.substr(0, colon));
      const int64_t b = std::stoll(spec.substr(colon + 1), &used);
      if (used != spec.size() - colon - 1 || b <= a) throw std::invalid_argument(spec);
      *first = a;
      *count = b - a;
    }
  } catch (const std::exception&) {
    return Status::InvalidArgument("image selector '" + spec + "' is not N or A:B");
  }
  return Status::Ok();
}

Tensor BatchRows(const Tensor& t, int64_t first, int64_t count) {
  Shape shape = t.shape();
  shape[0] = count;
  Tensor part(t.dtype(), shape);
  const size_t row = t.byte_size() / static_cast<size_t>(t.dim(0));
  std::copy(t.raw() + static_cast<size_t>(first) * row, t.raw() + static_cast<size_t>(first + count) * row,
            part.raw());
  return part;
}

void AppendBatch(Tensor* all, const Tensor& part) {
  if (all->byte_size() == 0) {
    *all = part;
    return;
  }
  Shape shape = all->shape();
  shape[0] += part.dim(0);
  Tensor merged(all->dtype(), shape);
  std::copy(all->raw(), all->raw() + all->byte_size(), merged.raw());
  std::copy(part.raw(), part.raw() + part.byte_size(), merged.raw() + all->byte_size());
  *all = std::move(merged);
}

std::vector<int> ArgmaxRows(const Tensor& t) {
  const int64_t cols = t.shape().back();
  const int64_t rows = t.size() / std::max<int64_t>(cols, 1);
  std::vector<int> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* row = t.i8().data() + r * cols;
    out[r] = static_cast<int>(std::max_element(row, row + cols) - row);
  }
  return out;
}

std::string ClassName(const Graph& graph, int index) {
  const std::string* names = graph.FindMetadata("class_names");
  if (names != nullptr) {
    std::stringstream ss(*names);
    std::string item;
    for (int i = 0; std::getline(ss, item, '\n'); ++i)
      if (i == index) return item;
  }
  return "class " + std::to_string(index);
}

}  // namespace veil::cli
