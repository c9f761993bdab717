// Data movement (docs/arithmetic.md §3): Embedding, Reshape, Transpose, Concat, Slice.
// No arithmetic: every output byte is a copy of an input byte (or of a table row).
// Run-time tensors carry the batch axis first; it is never moved, split or sliced.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/ops.h"

namespace veil::ops {
namespace {

constexpr size_t kMaxRank = 8;

// -------------------------------------------------------------------------- Embedding

Status CheckEmbedding(const Node& node, std::span<const Shape>) {
  const Tensor* table = nullptr;
  VEIL_RETURN_IF_ERROR(GetParamRank(node, "table", DType::kInt8, 2, &table));
  if (table->dim(0) > INT32_MAX)
    return Invalid("param 'table' has more rows than int32 ids can address");
  return CheckInt8Range(*table, "table");
}

Status InferEmbedding(const Node& node, std::span<const Shape> in, Shape* out) {
  *out = in[0];
  out->push_back(node.FindParam("table")->dim(1));
  return Status::Ok();
}

// Ids come from the request: one outside [0, V) fails the run, naming it.
Status RunEmbedding(const OpContext&, const Node& node, const PreparedNode&,
                    std::span<const Tensor* const> in, Tensor* out) {
  const Tensor& table = *node.FindParam("table");
  const int64_t vocab = table.dim(0), width = table.dim(1);
  const auto ids = in[0]->i32();
  const int64_t per_sample = in[0]->size() / in[0]->dim(0);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (id < 0 || id >= vocab) {
      const int64_t position = static_cast<int64_t>(i);
      return Invalid("id " + std::to_string(id) + " (sample " +
                     std::to_string(position / per_sample) + ", position " +
                     std::to_string(position % per_sample) + ") is outside [0, " +
                     std::to_string(vocab) + ")");
    }
    std::memcpy(out->i8().data() + i * width, table.i8().data() + id * width,
                static_cast<size_t>(width));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------- Reshape

Status CheckReshape(const Node& node, std::span<const Shape>) {
  VEIL_RETURN_IF_ERROR(CheckAttrList(node, "shape", kDynamicDim, kMaxIndex));
  const auto shape = node.AttrInts("shape");
  if (shape.size() > kMaxRank) return Invalid("attr 'shape' has rank above 8");
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 0 || (shape[i] == kDynamicDim && i != 0))
      return Invalid("attr 'shape' " + ShapeToString(shape) +
                     ": dims must be >= 1, except a leading dynamic dim");
  return Status::Ok();
}

// Product of dims[1:] (or all dims), or -1 above 2^40 (no valid value is that large).
int64_t BoundedProduct(const Shape& dims, size_t begin) {
  int64_t n = 1;
  for (size_t i = begin; i < dims.size(); ++i) {
    if (dims[i] < 1 || n > kMaxIndex / dims[i]) return -1;
    n *= dims[i];
  }
  return n;
}

// A leading dynamic dim in `shape` copies the input's leading dim; the input's dynamic
// leading dim (validation) can only go there.
Status InferReshape(const Node& node, std::span<const Shape> in, Shape* out) {
  const Shape& x = in[0];
  Shape shape = node.AttrInts("shape");
  const bool copy_leading = !shape.empty() && shape[0] == kDynamicDim;
  if (!copy_leading && !x.empty() && x[0] == kDynamicDim)
    return Invalid("input " + ShapeToString(x) + " has a dynamic leading dim, so attr 'shape' " +
                   ShapeToString(shape) + " must start with it");
  if (copy_leading && x.empty()) return Invalid("cannot copy the leading dim of a scalar");
  const size_t from = copy_leading ? 1 : 0;
  const int64_t in_count = BoundedProduct(x, from);
  if (in_count < 0 || in_count != BoundedProduct(shape, from))
    return Invalid("cannot reshape " + ShapeToString(x) + " to " + ShapeToString(shape));
  if (copy_leading) shape[0] = x[0];
  *out = std::move(shape);
  return Status::Ok();
}

Status RunCopy(const OpContext&, const Node&, const PreparedNode&,
               std::span<const Tensor* const> in, Tensor* out) {
  std::memcpy(out->raw(), in[0]->raw(), in[0]->byte_size());
  return Status::Ok();
}

// -------------------------------------------------------------------------- Transpose

Status CheckTranspose(const Node& node, std::span<const Shape> in) {
  const int64_t rank = static_cast<int64_t>(in[0].size());
  VEIL_RETURN_IF_ERROR(CheckAttrList(node, "perm", 0, std::max<int64_t>(0, rank - 1)));
  const auto perm = node.AttrInts("perm");
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  if (static_cast<int64_t>(perm.size()) != rank)
    return Invalid("attr 'perm' has " + std::to_string(perm.size()) + " axes, input has rank " +
                   std::to_string(rank));
  for (int64_t p : perm) {
    if (seen[static_cast<size_t>(p)])
      return Invalid("attr 'perm' repeats axis " + std::to_string(p));
    seen[static_cast<size_t>(p)] = true;
  }
  return Status::Ok();
}

Status InferTranspose(const Node& node, std::span<const Shape> in, Shape* out) {
  const auto perm = node.AttrInts("perm");
  out->resize(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) (*out)[i] = in[0][static_cast<size_t>(perm[i])];
  for (size_t i = 1; i < out->size(); ++i)
    if ((*out)[i] == kDynamicDim)
      return Invalid("attr 'perm' moves the dynamic leading dim of " + ShapeToString(in[0]));
  return Status::Ok();
}

Status RunTranspose(const OpContext&, const Node& node, const PreparedNode&,
                    std::span<const Tensor* const> in, Tensor* out) {
  const Shape& in_shape = in[0]->shape();
  const size_t rank = in_shape.size();  // batch axis included, kept first
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t i = rank - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * in_shape[i + 1];
  // stride[i]: input step for a unit step along output axis i.
  std::vector<int64_t> stride(rank);
  stride[0] = in_stride[0];
  const auto perm = node.AttrInts("perm");
  for (size_t i = 1; i < rank; ++i) stride[i] = in_stride[static_cast<size_t>(perm[i - 1]) + 1];
  const Shape& out_shape = out->shape();
  const int64_t inner = out_shape[rank - 1], inner_stride = stride[rank - 1];
  const int8_t* px = in[0]->i8().data();
  int8_t* py = out->i8().data();
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;  // input offset of output element `index`
  for (int64_t o = 0; o < out->size(); o += inner) {
    for (int64_t j = 0; j < inner; ++j) py[o + j] = px[offset + j * inner_stride];
    for (size_t i = rank - 1; i-- > 0;) {  // odometer over all but the last axis
      offset += stride[i];
      if (++index[i] < out_shape[i]) break;
      offset -= stride[i] * out_shape[i];
      index[i] = 0;
    }
  }
  return Status::Ok();
}

// ----------------------------------------------------------------------------- Concat

Status CheckConcat(const Node& node, std::span<const Shape> in) {
  const int64_t rank = static_cast<int64_t>(in[0].size());
  if (rank == 0) return Invalid("cannot concatenate scalars");
  return CheckAttr(node, "axis", 1, true, 0, rank - 1);
}

// Along the axis the output is the sum of the inputs' dims, dynamic if any of them is.
Status InferConcat(const Node& node, std::span<const Shape> in, Shape* out) {
  const size_t axis = static_cast<size_t>(node.AttrInt("axis", 0));
  *out = in[0];
  for (size_t t = 1; t < in.size(); ++t) {
    const Shape& s = in[t];
    bool ok = s.size() == out->size();
    for (size_t i = 0; ok && i < s.size(); ++i) ok = i == axis || s[i] == (*out)[i];
    if (!ok)
      return Invalid("input " + std::to_string(t) + " has shape " + ShapeToString(s) +
                     ", incompatible with " + ShapeToString(in[0]) + " along axes other than " +
                     std::to_string(axis));
    int64_t& d = (*out)[axis];
    d = (d == kDynamicDim || s[axis] == kDynamicDim) ? kDynamicDim : d + s[axis];
  }
  return Status::Ok();
}

Status RunConcat(const OpContext&, const Node& node, const PreparedNode&,
                 std::span<const Tensor* const> in, Tensor* out) {
  const size_t axis = static_cast<size_t>(node.AttrInt("axis", 0)) + 1;  // + batch axis
  const Shape& out_shape = out->shape();
  const int64_t outer = Product(out_shape, 0, axis);
  const int64_t out_row = Product(out_shape, axis, out_shape.size());
  int64_t column = 0;  // where the current input's block starts within an output row
  for (const Tensor* t : in) {
    const int64_t row = Product(t->shape(), axis, t->rank());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out->i8().data() + o * out_row + column, t->i8().data() + o * row,
                  static_cast<size_t>(row));
    column += row;
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------ Slice

Status CheckSlice(const Node& node, std::span<const Shape> in) {
  const int64_t rank = static_cast<int64_t>(in[0].size());
  if (rank == 0) return Invalid("cannot slice a scalar");
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "axis", 1, true, 0, rank - 1));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "start", 1, true, 0, kMaxIndex));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "end", 1, true, 1, kMaxIndex));
  VEIL_RETURN_IF_ERROR(CheckAttr(node, "step", 1, false, 1, kMaxIndex));
  if (node.AttrInt("start", 0) >= node.AttrInt("end", 0))
    return Invalid("attr 'start' " + std::to_string(node.AttrInt("start", 0)) +
                   " is not below 'end' " + std::to_string(node.AttrInt("end", 0)));
  return Status::Ok();
}

// A dynamic sliced dim is checked against `end` at run time.
Status InferSlice(const Node& node, std::span<const Shape> in, Shape* out) {
  const size_t axis = static_cast<size_t>(node.AttrInt("axis", 0));
  const int64_t start = node.AttrInt("start", 0), end = node.AttrInt("end", 0);
  const int64_t step = node.AttrInt("step", 1);
  const int64_t dim = in[0][axis];
  if (dim != kDynamicDim && end > dim)
    return Invalid("slice end " + std::to_string(end) + " exceeds dim " + std::to_string(dim) +
                   " of axis " + std::to_string(axis) + " of " + ShapeToString(in[0]));
  *out = in[0];
  (*out)[axis] = (end - start + step - 1) / step;
  return Status::Ok();
}

Status RunSlice(const OpContext&, const Node& node, const PreparedNode&,
                std::span<const Tensor* const> in, Tensor* out) {
  const size_t axis = static_cast<size_t>(node.AttrInt("axis", 0)) + 1;  // + batch axis
  const int64_t start = node.AttrInt("start", 0), step = node.AttrInt("step", 1);
  const Shape& in_shape = in[0]->shape();
  const int64_t outer = Product(in_shape, 0, axis);
  const int64_t inner = Product(in_shape, axis + 1, in_shape.size());
  const int64_t in_dim = in_shape[axis], out_dim = out->dim(axis);
  const int8_t* px = in[0]->i8().data();
  int8_t* py = out->i8().data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < out_dim; ++i)
      std::memcpy(py + (o * out_dim + i) * inner, px + (o * in_dim + start + i * step) * inner,
                  static_cast<size_t>(inner));
  return Status::Ok();
}

}  // namespace

const OpDef& EmbeddingDef() {
  static const OpDef def = {
      .input_dtype = DType::kInt32,
      .attrs = {},
      .params = {"table"},
      .check = CheckEmbedding,
      .infer = InferEmbedding,
      .run = RunEmbedding,
  };
  return def;
}

const OpDef& ReshapeDef() {
  static const OpDef def = {
      .attrs = {"shape"},
      .params = {},
      .check = CheckReshape,
      .infer = InferReshape,
      .run = RunCopy,
  };
  return def;
}

const OpDef& TransposeDef() {
  static const OpDef def = {
      .attrs = {"perm"},
      .params = {},
      .check = CheckTranspose,
      .infer = InferTranspose,
      .run = RunTranspose,
  };
  return def;
}

const OpDef& ConcatDef() {
  static const OpDef def = {
      .min_inputs = 1,
      .max_inputs = kUnbounded,
      .attrs = {"axis"},
      .params = {},
      .check = CheckConcat,
      .infer = InferConcat,
      .run = RunConcat,
  };
  return def;
}

const OpDef& SliceDef() {
  static const OpDef def = {
      .attrs = {"axis", "start", "end", "step"},
      .params = {},
      .check = CheckSlice,
      .infer = InferSlice,
      .run = RunSlice,
  };
  return def;
}

}  // namespace veil::ops
