// Shape and data-movement ops: Identity, Dropout, Flatten, Transpose, Reshape,
// Squeeze/Unsqueeze, Slice, Gather, Concat, Split, Shape, Size, Constant,
// ConstantOfShape, Expand, Range, Tile.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "float_eval_internal.h"

namespace veil::onnx_import::internal {
namespace {

using Kind = FTensor::Kind;

// y[o] = x[offset + sum(idx_d * strides[d])] over `out_shape`. The caller guarantees that
// every address stays inside x.
FTensor StridedCopy(const FTensor& x, const Shape& out_shape, std::vector<int64_t> strides,
                    int64_t offset) {
  FTensor y = MakeTensor(x.kind, out_shape);
  const std::array<std::vector<int64_t>, 1> s = {std::move(strides)};
  if (x.kind == Kind::kFloat) {
    ForEachBroadcast<1>(out_shape, s, [&](int64_t o, const std::array<int64_t, 1>& idx) {
      y.f[static_cast<size_t>(o)] = x.f[static_cast<size_t>(offset + idx[0])];
    });
  } else {
    ForEachBroadcast<1>(out_shape, s, [&](int64_t o, const std::array<int64_t, 1>& idx) {
      y.i[static_cast<size_t>(o)] = x.i[static_cast<size_t>(offset + idx[0])];
    });
  }
  return y;
}

// Appends elements [begin, begin + count) of `src` to `dst` (same kind).
void AppendRange(const FTensor& src, int64_t begin, int64_t count, FTensor* dst) {
  if (src.kind == Kind::kFloat) {
    dst->f.insert(dst->f.end(), src.f.begin() + begin, src.f.begin() + begin + count);
  } else {
    dst->i.insert(dst->i.end(), src.i.begin() + begin, src.i.begin() + begin + count);
  }
}

int64_t Product(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= shape[d];
  return p;
}

// Axes for Squeeze/Unsqueeze: attribute (opset < 13) or input 1 (opset >= 13).
Status ReadAxes(const NodeContext& ctx, std::vector<int64_t>* axes, bool* present) {
  VEIL_RETURN_IF_ERROR(ctx.Ints("axes", axes, present));
  if (ctx.input(1) != nullptr) {
    if (*present) return Status::InvalidArgument("axes given both as attribute and input");
    *present = true;
    return ReadInts(*ctx.input(1), "axes", axes);
  }
  return Status::Ok();
}

// Reads a 1-D integer shape tensor and checks the resulting shape.
Status ReadShapeInput(const FTensor& t, const char* what, Shape* shape) {
  VEIL_RETURN_IF_ERROR(ReadInts(t, what, shape));
  if (static_cast<int64_t>(shape->size()) > kMaxRank) {
    return Status::InvalidArgument(std::string(what) + " has too many entries");
  }
  return Status::Ok();
}

}  // namespace

Status EvalIdentity(const NodeContext& ctx, std::vector<FTensor>* out) {
  (*out)[0] = *ctx.input(0);
  return Status::Ok();
}

Status EvalDropout(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor* training = ctx.input(2);
  if (training != nullptr) {
    double mode = 0.0;
    VEIL_RETURN_IF_ERROR(ReadScalar(*training, "training_mode", &mode));
    if (mode != 0.0) return Status::Unsupported("training_mode=true is not supported");
  }
  const FTensor& x = *ctx.input(0);
  (*out)[0] = x;
  if (out->size() > 1) {
    (*out)[1] = MakeTensor(Kind::kBool, x.shape);
    std::fill((*out)[1].i.begin(), (*out)[1].i.end(), 1);
  }
  return Status::Ok();
}

Status EvalFlatten(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 1;
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", 1, &axis));
  if (axis < -rank || axis > rank) {
    return Status::InvalidArgument("axis " + std::to_string(axis) + " is out of range for rank " +
                                   std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  const size_t a = static_cast<size_t>(axis);
  (*out)[0] = WithShape(x, {Product(x.shape, 0, a), Product(x.shape, a, x.shape.size())});
  return Status::Ok();
}

Status EvalTranspose(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const size_t rank = x.shape.size();
  bool present = false;
  std::vector<int64_t> perm;
  VEIL_RETURN_IF_ERROR(ctx.Ints("perm", &perm, &present));
  if (!present) {
    for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
  }
  std::vector<int64_t> norm;
  if (perm.size() != rank) {
    return Status::InvalidArgument("perm has " + std::to_string(perm.size()) +
                                   " entries for rank " + std::to_string(rank));
  }
  VEIL_RETURN_IF_ERROR(NormalizeAxes(perm, static_cast<int64_t>(rank), "perm entry", &norm));
  const std::vector<int64_t> in_strides = Strides(x.shape);
  Shape out_shape(rank);
  std::vector<int64_t> strides(rank);
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = x.shape[static_cast<size_t>(norm[d])];
    strides[d] = in_strides[static_cast<size_t>(norm[d])];
  }
  (*out)[0] = StridedCopy(x, out_shape, std::move(strides), 0);
  return Status::Ok();
}

Status EvalReshape(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  Shape req;
  VEIL_RETURN_IF_ERROR(ReadShapeInput(*ctx.input(1), "shape", &req));
  int64_t allowzero = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("allowzero", 0, &allowzero));
  Shape shape(req.size());
  int64_t infer = -1;
  for (size_t d = 0; d < req.size(); ++d) {
    const int64_t v = req[d];
    if (v == 0 && allowzero == 0) {
      if (d >= x.shape.size()) {
        return Status::InvalidArgument("shape entry 0 at index " + std::to_string(d) +
                                       " has no input dimension to copy");
      }
      shape[d] = x.shape[d];
    } else if (v == -1) {
      if (infer >= 0) return Status::InvalidArgument("shape has more than one -1");
      infer = static_cast<int64_t>(d);
      shape[d] = 1;
    } else if (v < 0) {
      return Status::InvalidArgument("invalid shape entry " + std::to_string(v));
    } else {
      shape[d] = v;
    }
  }
  Status s = CheckShape(shape);
  if (!s.ok()) return s.WithContext("requested shape");
  const int64_t known = NumElements(shape);
  if (infer >= 0) {
    if (known == 0 || x.size() % known != 0) {
      return Status::InvalidArgument("cannot infer -1 in shape " + ShapeToString(req) +
                                     " for input shape " + ShapeToString(x.shape));
    }
    shape[static_cast<size_t>(infer)] = x.size() / known;
  }
  if (NumElements(shape) != x.size()) {
    return Status::InvalidArgument("cannot reshape " + ShapeToString(x.shape) + " to " +
                                   ShapeToString(req));
  }
  (*out)[0] = WithShape(x, std::move(shape));
  return Status::Ok();
}

Status EvalSqueeze(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  bool present = false;
  std::vector<int64_t> axes;
  VEIL_RETURN_IF_ERROR(ReadAxes(ctx, &axes, &present));
  std::vector<bool> drop(x.shape.size(), false);
  if (!present) {
    for (size_t d = 0; d < x.shape.size(); ++d) drop[d] = x.shape[d] == 1;
  } else {
    std::vector<int64_t> norm;
    VEIL_RETURN_IF_ERROR(NormalizeAxes(axes, rank, "axis", &norm));
    for (int64_t a : norm) {
      if (x.shape[static_cast<size_t>(a)] != 1) {
        return Status::InvalidArgument("cannot squeeze axis " + std::to_string(a) + " of shape " +
                                       ShapeToString(x.shape));
      }
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Shape shape;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (!drop[d]) shape.push_back(x.shape[d]);
  }
  (*out)[0] = WithShape(x, std::move(shape));
  return Status::Ok();
}

Status EvalUnsqueeze(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  bool present = false;
  std::vector<int64_t> axes;
  VEIL_RETURN_IF_ERROR(ReadAxes(ctx, &axes, &present));
  if (!present) return Status::InvalidArgument("axes are required");
  const int64_t out_rank = static_cast<int64_t>(x.shape.size() + axes.size());
  if (out_rank > kMaxRank) return Status::InvalidArgument("output rank is too large");
  std::vector<int64_t> norm;
  VEIL_RETURN_IF_ERROR(NormalizeAxes(axes, out_rank, "axis", &norm));
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : norm) inserted[static_cast<size_t>(a)] = true;
  Shape shape;
  size_t next = 0;
  for (size_t d = 0; d < inserted.size(); ++d) {
    shape.push_back(inserted[d] ? 1 : x.shape[next++]);
  }
  (*out)[0] = WithShape(x, std::move(shape));
  return Status::Ok();
}

Status EvalSlice(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  bool has_axes = false;
  if (ctx.num_inputs() > 1) {
    // Opset >= 10: starts, ends, axes, steps are inputs.
    if (ctx.input(1) == nullptr || ctx.input(2) == nullptr) {
      return Status::InvalidArgument("starts and ends are required");
    }
    VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(1), "starts", &starts));
    VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(2), "ends", &ends));
    if (ctx.input(3) != nullptr) {
      has_axes = true;
      VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(3), "axes", &axes));
    }
    if (ctx.input(4) != nullptr) VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(4), "steps", &steps));
  } else {
    // Opset < 10: attributes.
    bool has_starts = false;
    bool has_ends = false;
    VEIL_RETURN_IF_ERROR(ctx.Ints("starts", &starts, &has_starts));
    VEIL_RETURN_IF_ERROR(ctx.Ints("ends", &ends, &has_ends));
    VEIL_RETURN_IF_ERROR(ctx.Ints("axes", &axes, &has_axes));
    if (!has_starts || !has_ends) return Status::InvalidArgument("starts and ends are required");
  }
  const size_t n = starts.size();
  if (!has_axes) {
    for (size_t k = 0; k < n; ++k) axes.push_back(static_cast<int64_t>(k));
  }
  if (steps.empty()) steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n) {
    return Status::InvalidArgument("starts, ends, axes and steps must have equal lengths");
  }
  std::vector<int64_t> norm;
  VEIL_RETURN_IF_ERROR(NormalizeAxes(axes, rank, "axis", &norm));
  const std::vector<int64_t> in_strides = Strides(x.shape);
  Shape out_shape = x.shape;
  std::vector<int64_t> strides = in_strides;
  int64_t offset = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t a = static_cast<size_t>(norm[k]);
    const int64_t dim = x.shape[a];
    const int64_t step = steps[k];
    if (step == 0) return Status::InvalidArgument("slice step must be nonzero");
    int64_t start = starts[k];
    int64_t end = ends[k];
    if (start < 0) start += dim;  // cannot overflow: start < 0 <= dim
    if (end < 0) end += dim;
    int64_t count = 0;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      // |step| beyond dim selects at most one element; capping avoids overflow.
      const int64_t s = std::min(step, dim + 1);
      count = end > start ? (end - start + s - 1) / s : 0;
    } else if (dim > 0) {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      const int64_t s = step < -(dim + 1) ? dim + 1 : -step;
      count = start > end ? (start - end + s - 1) / s : 0;
    }
    out_shape[a] = count;
    if (count > 0) {
      offset += start * in_strides[a];
      strides[a] = count > 1 ? in_strides[a] * step : 0;
    }
  }
  if (NumElements(out_shape) == 0) offset = 0;
  (*out)[0] = StridedCopy(x, out_shape, std::move(strides), offset);
  return Status::Ok();
}

Status EvalGather(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& data = *ctx.input(0);
  const FTensor& indices = *ctx.input(1);
  if (indices.kind != Kind::kInt64) {
    return Status::InvalidArgument(std::string("indices must be integers, got ") +
                                   KindName(indices.kind));
  }
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  int64_t axis_attr = 0;
  int64_t axis = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", 0, &axis_attr));
  VEIL_RETURN_IF_ERROR(NormalizeAxis(axis_attr, rank, "axis", &axis));
  const size_t a = static_cast<size_t>(axis);
  const int64_t dim = data.shape[a];
  std::vector<int64_t> idx = indices.i;
  for (int64_t& v : idx) {
    if (v < -dim || v >= dim) {
      return Status::InvalidArgument("index " + std::to_string(v) + " is out of range for axis " +
                                     std::to_string(axis) + " of size " + std::to_string(dim));
    }
    if (v < 0) v += dim;
  }
  Shape out_shape(data.shape.begin(), data.shape.begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape.begin(), indices.shape.end());
  out_shape.insert(out_shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  const int64_t outer = Product(data.shape, 0, a);
  const int64_t inner = Product(data.shape, a + 1, data.shape.size());
  FTensor y;
  y.kind = data.kind;
  y.shape = out_shape;
  const size_t total = static_cast<size_t>(NumElements(out_shape));
  if (data.kind == Kind::kFloat) {
    y.f.reserve(total);
  } else {
    y.i.reserve(total);
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t v : idx) AppendRange(data, (o * dim + v) * inner, inner, &y);
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalConcat(const NodeContext& ctx, std::vector<FTensor>* out) {
  int64_t axis_attr = 0;
  if (!ctx.HasAttr("axis")) return Status::InvalidArgument("attribute 'axis' is required");
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", 0, &axis_attr));
  std::vector<const FTensor*> ins;
  for (int k = 0; k < ctx.num_inputs(); ++k) {
    if (ctx.input(k) == nullptr) {
      return Status::InvalidArgument("input " + std::to_string(k) + " is missing");
    }
    ins.push_back(ctx.input(k));
  }
  const FTensor& first = *ins[0];
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  int64_t axis = 0;
  VEIL_RETURN_IF_ERROR(NormalizeAxis(axis_attr, rank, "axis", &axis));
  const size_t a = static_cast<size_t>(axis);
  Shape out_shape = first.shape;
  out_shape[a] = 0;
  for (size_t k = 0; k < ins.size(); ++k) {
    const FTensor& t = *ins[k];
    if (t.kind != first.kind) {
      return Status::InvalidArgument("input " + std::to_string(k) + " has type " +
                                     KindName(t.kind) + ", input 0 has " + KindName(first.kind));
    }
    bool match = t.shape.size() == first.shape.size();
    for (size_t d = 0; match && d < t.shape.size(); ++d) {
      match = d == a || t.shape[d] == first.shape[d];
    }
    if (!match) {
      return Status::InvalidArgument("input shapes " + ShapeToString(first.shape) + " and " +
                                     ShapeToString(t.shape) + " do not concatenate on axis " +
                                     std::to_string(axis));
    }
    out_shape[a] += t.shape[a];
    if (out_shape[a] > kMaxElements) return Status::InvalidArgument("output is too large");
  }
  VEIL_RETURN_IF_ERROR(CheckShape(out_shape));
  const int64_t outer = Product(out_shape, 0, a);
  const int64_t inner = Product(out_shape, a + 1, out_shape.size());
  FTensor y;
  y.kind = first.kind;
  y.shape = out_shape;
  for (int64_t o = 0; o < outer; ++o) {
    for (const FTensor* t : ins) {
      const int64_t chunk = t->shape[a] * inner;
      AppendRange(*t, o * chunk, chunk, &y);
    }
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalSplit(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis_attr = 0;
  int64_t axis = 0;
  VEIL_RETURN_IF_ERROR(ctx.Int("axis", 0, &axis_attr));
  VEIL_RETURN_IF_ERROR(NormalizeAxis(axis_attr, rank, "axis", &axis));
  const size_t a = static_cast<size_t>(axis);
  const int64_t dim = x.shape[a];
  const int64_t n_out = ctx.num_outputs();
  bool present = false;
  std::vector<int64_t> split;
  VEIL_RETURN_IF_ERROR(ctx.Ints("split", &split, &present));
  if (ctx.input(1) != nullptr) {
    if (present) return Status::InvalidArgument("split given both as attribute and input");
    present = true;
    VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(1), "split", &split));
  }
  if (present) {
    if (static_cast<int64_t>(split.size()) != n_out) {
      return Status::InvalidArgument("split has " + std::to_string(split.size()) + " entries for " +
                                     std::to_string(n_out) + " outputs");
    }
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0 || s > dim) {
        return Status::InvalidArgument("invalid split size " + std::to_string(s));
      }
      sum += s;
    }
    if (sum != dim) {
      return Status::InvalidArgument("split sizes sum to " + std::to_string(sum) + ", axis has " +
                                     std::to_string(dim));
    }
  } else {
    if (dim % n_out != 0) {
      return Status::InvalidArgument("axis of size " + std::to_string(dim) +
                                     " does not split evenly into " + std::to_string(n_out));
    }
    split.assign(static_cast<size_t>(n_out), dim / n_out);
  }
  const int64_t outer = Product(x.shape, 0, a);
  const int64_t inner = Product(x.shape, a + 1, x.shape.size());
  int64_t begin = 0;
  for (size_t k = 0; k < split.size(); ++k) {
    FTensor& y = (*out)[k];
    y.kind = x.kind;
    y.shape = x.shape;
    y.shape[a] = split[k];
    for (int64_t o = 0; o < outer; ++o) {
      AppendRange(x, (o * dim + begin) * inner, split[k] * inner, &y);
    }
    begin += split[k];
  }
  return Status::Ok();
}

Status EvalShape(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t start = 0;
  int64_t end = rank;
  VEIL_RETURN_IF_ERROR(ctx.Int("start", 0, &start));
  VEIL_RETURN_IF_ERROR(ctx.Int("end", rank, &end));
  auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  start = clamp(start);
  end = clamp(end);
  std::vector<int64_t> dims;
  if (end > start) dims.assign(x.shape.begin() + start, x.shape.begin() + end);
  const int64_t n = static_cast<int64_t>(dims.size());
  (*out)[0] = FTensor::Int64({n}, std::move(dims));
  return Status::Ok();
}

Status EvalSize(const NodeContext& ctx, std::vector<FTensor>* out) {
  (*out)[0] = FTensor::Int64({}, {ctx.input(0)->size()});
  return Status::Ok();
}

Status EvalConstant(const NodeContext& ctx, std::vector<FTensor>* out) {
  if (ctx.node().attribute_size() != 1) {
    return Status::InvalidArgument("expects exactly one value attribute, got " +
                                   std::to_string(ctx.node().attribute_size()));
  }
  const onnx::AttributeProto& a = ctx.node().attribute(0);
  const std::string& name = a.name();
  FTensor& y = (*out)[0];
  if (name == "value") {
    if (a.type() != onnx::AttributeProto::TENSOR) {
      return Status::InvalidArgument("attribute 'value' must be a tensor");
    }
    Result<FTensor> t = FromTensorProto(a.t());
    if (!t.ok()) return t.status();
    y = std::move(t).value();
  } else if (name == "value_float") {
    float v = 0.0f;
    VEIL_RETURN_IF_ERROR(ctx.Float("value_float", 0.0f, &v));
    y = FTensor::Float({}, {v});
  } else if (name == "value_floats") {
    std::vector<float> v;
    VEIL_RETURN_IF_ERROR(ctx.Floats("value_floats", &v));
    const int64_t n = static_cast<int64_t>(v.size());
    y = FTensor::Float({n}, std::move(v));
  } else if (name == "value_int") {
    int64_t v = 0;
    VEIL_RETURN_IF_ERROR(ctx.Int("value_int", 0, &v));
    y = FTensor::Int64({}, {v});
  } else if (name == "value_ints") {
    std::vector<int64_t> v;
    VEIL_RETURN_IF_ERROR(ctx.Ints("value_ints", &v));
    const int64_t n = static_cast<int64_t>(v.size());
    y = FTensor::Int64({n}, std::move(v));
  } else if (name == "sparse_value" || name == "value_string" || name == "value_strings") {
    return Status::Unsupported("attribute '" + name + "' is not supported");
  } else {
    return Status::InvalidArgument("unknown attribute '" + name + "'");
  }
  return Status::Ok();
}

Status EvalConstantOfShape(const NodeContext& ctx, std::vector<FTensor>* out) {
  Shape shape;
  VEIL_RETURN_IF_ERROR(ReadShapeInput(*ctx.input(0), "shape", &shape));
  VEIL_RETURN_IF_ERROR(CheckShape(shape));
  FTensor value = FTensor::Float({1}, {0.0f});
  if (const onnx::AttributeProto* a = ctx.FindAttr("value")) {
    if (a->type() != onnx::AttributeProto::TENSOR) {
      return Status::InvalidArgument("attribute 'value' must be a tensor");
    }
    Result<FTensor> t = FromTensorProto(a->t());
    if (!t.ok()) return t.status();
    value = std::move(t).value();
    if (value.size() != 1) {
      return Status::InvalidArgument("attribute 'value' must hold one element");
    }
  }
  FTensor y = MakeTensor(value.kind, shape);
  if (value.kind == Kind::kFloat) {
    std::fill(y.f.begin(), y.f.end(), value.f[0]);
  } else {
    std::fill(y.i.begin(), y.i.end(), value.i[0]);
  }
  (*out)[0] = std::move(y);
  return Status::Ok();
}

Status EvalExpand(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  Shape req;
  VEIL_RETURN_IF_ERROR(ReadShapeInput(*ctx.input(1), "shape", &req));
  for (int64_t d : req) {
    if (d < 0) return Status::InvalidArgument("invalid shape " + ShapeToString(req));
  }
  Shape shape;
  VEIL_RETURN_IF_ERROR(BroadcastShapes(x.shape, req, &shape));
  (*out)[0] = StridedCopy(x, shape, BroadcastStrides(x.shape, shape), 0);
  return Status::Ok();
}

Status EvalRange(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& start = *ctx.input(0);
  const FTensor& limit = *ctx.input(1);
  const FTensor& delta = *ctx.input(2);
  for (const FTensor* t : {&start, &limit, &delta}) {
    if (t->size() != 1) {
      return Status::InvalidArgument("start, limit and delta must be scalars, got shape " +
                                     ShapeToString(t->shape));
    }
    if (t->kind != start.kind || t->kind == Kind::kBool) {
      return Status::InvalidArgument("start, limit and delta must share a numeric type");
    }
  }
  if (start.kind == Kind::kFloat) {
    const float s = start.f[0];
    const float d = delta.f[0];
    // As onnxruntime: the difference in float, the division and ceil in double.
    const double n = std::ceil(static_cast<double>(limit.f[0] - s) / static_cast<double>(d));
    if (d == 0.0f || std::isnan(n) || n > static_cast<double>(kMaxElements)) {
      return Status::InvalidArgument("invalid range");
    }
    const int64_t count = n > 0.0 ? static_cast<int64_t>(n) : 0;
    std::vector<float> v(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k) {
      v[static_cast<size_t>(k)] = s + static_cast<float>(k) * d;
    }
    (*out)[0] = FTensor::Float({count}, std::move(v));
    return Status::Ok();
  }
  const int64_t s = start.i[0];
  const int64_t l = limit.i[0];
  const int64_t d = delta.i[0];
  if (d == 0) return Status::InvalidArgument("delta must be nonzero");
  // Exact element count in unsigned arithmetic (limit - start may overflow int64).
  uint64_t count = 0;
  if ((d > 0 && l > s) || (d < 0 && l < s)) {
    const uint64_t span = d > 0 ? static_cast<uint64_t>(l) - static_cast<uint64_t>(s)
                                : static_cast<uint64_t>(s) - static_cast<uint64_t>(l);
    const uint64_t mag = d > 0 ? static_cast<uint64_t>(d) : 0 - static_cast<uint64_t>(d);
    count = span / mag + (span % mag != 0 ? 1 : 0);
  }
  if (count > static_cast<uint64_t>(kMaxElements)) {
    return Status::InvalidArgument("range has too many elements");
  }
  std::vector<int64_t> v(static_cast<size_t>(count));
  for (uint64_t k = 0; k < count; ++k) {
    v[k] = static_cast<int64_t>(static_cast<uint64_t>(s) + k * static_cast<uint64_t>(d));
  }
  (*out)[0] = FTensor::Int64({static_cast<int64_t>(count)}, std::move(v));
  return Status::Ok();
}

Status EvalTile(const NodeContext& ctx, std::vector<FTensor>* out) {
  const FTensor& x = *ctx.input(0);
  std::vector<int64_t> repeats;
  VEIL_RETURN_IF_ERROR(ReadInts(*ctx.input(1), "repeats", &repeats));
  if (repeats.size() != x.shape.size()) {
    return Status::InvalidArgument("repeats has " + std::to_string(repeats.size()) +
                                   " entries for rank " + std::to_string(x.shape.size()));
  }
  // Tile == broadcast of x viewed as [1, d0, 1, d1, ...] to [r0, d0, r1, d1, ...].
  Shape wide;
  std::vector<int64_t> strides;
  Shape shape;
  const std::vector<int64_t> in_strides = Strides(x.shape);
  for (size_t d = 0; d < repeats.size(); ++d) {
    if (repeats[d] < 0) {
      return Status::InvalidArgument("negative repeat " + std::to_string(repeats[d]));
    }
    wide.push_back(repeats[d]);
    wide.push_back(x.shape[d]);
    strides.push_back(0);
    strides.push_back(in_strides[d]);
  }
  Status s = CheckShape(wide);
  if (!s.ok()) return s.WithContext("tiled output");
  for (size_t d = 0; d < repeats.size(); ++d) shape.push_back(repeats[d] * x.shape[d]);
  FTensor y = StridedCopy(x, wide, std::move(strides), 0);
  y.shape = std::move(shape);
  (*out)[0] = std::move(y);
  return Status::Ok();
}

}  // namespace veil::onnx_import::internal
