#include "ops/common.h"

#include <algorithm>
#include <utility>

namespace veil::ops {

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

std::string NodeLabel(int index, const Node& node) {
  const std::string kind = FindOpDef(node.kind) != nullptr
                               ? std::string(OpKindName(node.kind))
                               : "op kind " + std::to_string(static_cast<int>(node.kind));
  return "node " + std::to_string(index) + " '" + node.name + "' (" + kind + ")";
}

namespace {

std::string Quote(const char* name) { return std::string("'") + name + "'"; }

// Number of elements of a parameter's shape, or -1 if a dim is negative or the product
// exceeds 2^50 (no real parameter comes close).
int64_t SafeCount(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > (int64_t{1} << 50) / d) return -1;
    n *= d;
  }
  return n;
}

Status CheckParamShell(const char* name, const Tensor& t, DType dtype) {
  if (t.dtype() != dtype)
    return Invalid("param " + Quote(name) + " has dtype " + DTypeName(t.dtype()) + ", expected " +
                   DTypeName(dtype));
  if (SafeCount(t.shape()) != t.size())
    return Invalid("param " + Quote(name) + " has shape " + ShapeToString(t.shape()) +
                   " inconsistent with its " + std::to_string(t.size()) + " elements");
  return Status::Ok();
}

}  // namespace

Status CheckAttr(const Node& node, const char* name, size_t count, bool required, int64_t lo,
                 int64_t hi) {
  const Attr* attr = node.FindAttr(name);
  if (attr == nullptr) return required ? Invalid("missing attr " + Quote(name)) : Status::Ok();
  if (attr->values.size() != count)
    return Invalid("attr " + Quote(name) + " has " + std::to_string(attr->values.size()) +
                   " values, expected " + std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    const int64_t v = attr->values[i];
    if (v < lo || v > hi)
      return Invalid("attr " + Quote(name) + "[" + std::to_string(i) + "] = " + std::to_string(v) +
                     " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return Status::Ok();
}

Status CheckAttrList(const Node& node, const char* name, int64_t lo, int64_t hi) {
  const Attr* attr = node.FindAttr(name);
  if (attr == nullptr) return Invalid("missing attr " + Quote(name));
  return CheckAttr(node, name, attr->values.size(), true, lo, hi);
}

std::vector<int64_t> AttrOr(const Node& node, const char* name, std::vector<int64_t> fallback) {
  const Attr* attr = node.FindAttr(name);
  return attr ? attr->values : std::move(fallback);
}

Status CheckActRange(const Node& node) {
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "act_min", 1, false, kActMin, kActMax));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "act_max", 1, false, kActMin, kActMax));
  if (ActMin(node) > ActMax(node))
    return Invalid("act_min " + std::to_string(ActMin(node)) + " > act_max " +
                   std::to_string(ActMax(node)));
  return Status::Ok();
}

int32_t ActMin(const Node& node) { return static_cast<int32_t>(node.AttrInt("act_min", kActMin)); }

int32_t ActMax(const Node& node) { return static_cast<int32_t>(node.AttrInt("act_max", kActMax)); }

Status GetParam(const Node& node, const char* name, DType dtype, const Shape& shape,
                const Tensor** out) {
  const Tensor* t = node.FindParam(name);
  if (t == nullptr) return Invalid("missing param " + Quote(name));
  VEIL_RETURN_IF_ERROR(CheckParamShell(name, *t, dtype));
  if (t->shape() != shape)
    return Invalid("param " + Quote(name) + " has shape " + ShapeToString(t->shape()) +
                   ", expected " + ShapeToString(shape));
  *out = t;
  return Status::Ok();
}

Status GetParamRank(const Node& node, const char* name, DType dtype, size_t rank,
                    const Tensor** out) {
  const Tensor* t = node.FindParam(name);
  if (t == nullptr) return Invalid("missing param " + Quote(name));
  VEIL_RETURN_IF_ERROR(CheckParamShell(name, *t, dtype));
  if (t->rank() != rank)
    return Invalid("param " + Quote(name) + " has shape " + ShapeToString(t->shape()) +
                   ", expected rank " + std::to_string(rank));
  for (int64_t d : t->shape())
    if (d < 1)
      return Invalid("param " + Quote(name) + " has shape " + ShapeToString(t->shape()) +
                     " with an empty dimension");
  *out = t;
  return Status::Ok();
}

Status CheckInt8Range(const Tensor& tensor, const char* name) {
  const auto v = tensor.i8();
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < kActMin)
      return Invalid("param " + Quote(name) + " element " + std::to_string(i) + " is " +
                     std::to_string(v[i]) + ", outside [-127, 127]");
  return Status::Ok();
}

Status CheckRequantParams(const Node& node, const char* multiplier, const char* shift,
                          int64_t channels) {
  const Tensor* tensors[2] = {node.FindParam(multiplier), node.FindParam(shift)};
  const char* names[2] = {multiplier, shift};
  for (int i = 0; i < 2; ++i) {
    const Tensor* t = tensors[i];
    if (t == nullptr) return Invalid("missing param " + Quote(names[i]));
    VEIL_RETURN_IF_ERROR(CheckParamShell(names[i], *t, DType::kInt32));
    if (t->shape() != Shape{1} && t->shape() != Shape{channels})
      return Invalid("param " + Quote(names[i]) + " has shape " + ShapeToString(t->shape()) +
                     ", expected [1] or [" + std::to_string(channels) + "]");
    const int32_t hi = i == 0 ? INT32_MAX : 62;
    const auto v = t->i32();
    for (size_t j = 0; j < v.size(); ++j)
      if (v[j] < 0 || v[j] > hi)
        return Invalid("param " + Quote(names[i]) + " element " + std::to_string(j) + " is " +
                       std::to_string(v[j]) + ", outside [0, " +
                       (i == 0 ? std::string("2^31)") : std::string("62]")));
  }
  return Status::Ok();
}

Status CheckAccumulatorBound(int64_t k, const Tensor* bias) {
  int64_t max_bias = 0;
  if (bias != nullptr)
    for (int32_t b : bias->i32()) max_bias = std::max<int64_t>(max_bias, b < 0 ? -int64_t{b} : b);
  if (k < 0 || k > kInt32Limit / kMaxProduct || k * kMaxProduct + max_bias >= kInt32Limit)
    return Invalid("accumulator may overflow int32: K = " + std::to_string(k) +
                   ", K * 127^2 + max|bias| = " +
                   std::to_string(std::min(k, kInt32Limit) * kMaxProduct + max_bias) + " >= 2^31");
  return Status::Ok();
}

Status CheckExpTable(const Node& node, const char* name) {
  const Tensor* t = nullptr;
  VEIL_RETURN_IF_ERROR(GetParam(node, name, DType::kInt32, {256}, &t));
  const auto v = t->i32();
  if (v[0] != 65536)
    return Invalid("param " + Quote(name) + "[0] is " + std::to_string(v[0]) + ", expected 65536");
  for (size_t d = 1; d < v.size(); ++d) {
    if (v[d] < 0 || v[d] > 65536)
      return Invalid("param " + Quote(name) + "[" + std::to_string(d) + "] is " +
                     std::to_string(v[d]) + ", outside [0, 65536]");
    if (v[d] > v[d - 1])
      return Invalid("param " + Quote(name) + " increases at index " + std::to_string(d) + " (" +
                     std::to_string(v[d - 1]) + " -> " + std::to_string(v[d]) + ")");
  }
  return Status::Ok();
}

int32_t ScalarParam(const Node& node, const char* name) {
  const Tensor* t = node.FindParam(name);
  return t->i32()[0];
}

void ExpandRequantParams(const Node& node, const char* multiplier, const char* shift,
                         PreparedNode* prepared) {
  const auto m = node.FindParam(multiplier)->i32();
  const auto s = node.FindParam(shift)->i32();
  const size_t n = std::max(m.size(), s.size());  // validated: each is 1 or the channels
  prepared->multiplier.resize(n);
  prepared->shift.resize(n);
  for (size_t i = 0; i < n; ++i) {
    prepared->multiplier[i] = m.size() == 1 ? m[0] : m[i];
    prepared->shift[i] = s.size() == 1 ? s[0] : s[i];
  }
}

Shape SampleShape(const Tensor& tensor) {
  return Shape(tensor.shape().begin() + 1, tensor.shape().end());
}

int64_t Product(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= shape[i];
  return n;
}

int64_t WindowOutDim(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                     int64_t dilation) {
  const int64_t span = in + pad_begin + pad_end - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

void ParallelRows(ThreadPool* pool, int64_t rows, int64_t work_per_row,
                  const std::function<void(int64_t, int64_t)>& fn) {
  // Below ~32K elements of work per chunk, waking a worker costs more than it saves.
  constexpr int64_t kMinWorkPerChunk = int64_t{1} << 15;
  const int64_t grain = std::max<int64_t>(1, kMinWorkPerChunk / std::max<int64_t>(1, work_per_row));
  if (pool == nullptr || pool->threads() <= 1 || rows <= grain) {
    if (rows > 0) fn(0, rows);
    return;
  }
  pool->ParallelFor(rows, grain, fn);
}

}  // namespace veil::ops
