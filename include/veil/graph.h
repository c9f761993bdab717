// The integer graph: veil's intermediate representation after import.
//
// A Graph is a list of Nodes in execution (topological) order over Values. Every
// Value is an integer tensor with a per-sample shape (the batch dimension is implicit
// and always leading at run time). For sequence models the first per-sample dimension
// may be kDynamicDim: the number of tokens, chosen at run time.
//
// Each OpKind's integer semantics are defined exactly in docs/arithmetic.md; the
// attribute and parameter names each op expects are listed below and checked by
// ValidateGraph(). Scales (the real value a unit of an integer stands for) are
// metadata for the client's input quantization and output dequantization only: no
// integer result ever depends on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "veil/status.h"
#include "veil/tensor.h"

namespace veil {

inline constexpr int64_t kDynamicDim = -1;

// Activations use the symmetric range [-127, 127]; -128 is never produced.
inline constexpr int32_t kActMin = -127;
inline constexpr int32_t kActMax = 127;

enum class OpKind : uint16_t {
  // Requantizing ops. Common attrs: act_min, act_max (clamp after requantization;
  // act_min = 0 fuses ReLU). Common params: multiplier (int32 [1] or [N]),
  // shift (int32, same shape as multiplier).
  kLinear = 1,    // in x int8 [..., K]. params weight int8 [N,K], bias int32 [N]. out int8 [..., N]
  kConv2d = 2,    // in x int8 [C,H,W]. params weight int8 [O,C/group,KH,KW], bias int32 [O].
                  // attrs strides[2], pads[4] (top,left,bottom,right), dilations[2], group.
  kMatMul = 3,    // in a int8 [..., M, K], b int8 [..., K, N] (or [..., N, K] if attr
                  // transpose_b = 1); leading dims equal. out int8 [..., M, N].
  kAttention = 4, // in q int8 [Tq, H*D], k int8 [Tk, H*D], v int8 [Tk, H*D]. attrs heads, causal.
                  // params score_multiplier/score_shift (QK^T -> softmax logits),
                  // exp_table (int32 [256]), multiplier/shift (PV -> output). out [Tq, H*D].
  kRequantize = 5,  // in x int8. out int8 = clamp(RoundShift(x*M, s)). M may be per last-axis channel.
  kAdd = 6,       // in a, b int8 (b's shape a suffix of a's; or param `constant` instead of b).
                  // params multiplier_a, multiplier_b, shift (int32 [1]).
  kMul = 7,       // in a, b int8 (same broadcast rule, or param `constant`). out = RoundShift(a*b*M, s).
  kLookup = 8,    // in x int8. params table int8 [256]: out = table[x + 128].
  kSoftmax = 9,   // in x int8 [..., C], softmax over the last axis. params exp_table int32 [256].
                  // out int8 in [0, 127] (scale 1/127).
  kLayerNorm = 10,  // in x int8 [..., C]. params gamma int32 [C], beta int64 [C], eps int64 [1],
                    // shift int32 [1]. Normalises over the last axis.
  kRmsNorm = 11,    // as kLayerNorm without mean subtraction; beta is all zeros.
  kMaxPool2d = 12,  // in x int8 [C,H,W]. attrs kernel[2], strides[2], pads[4].
  kAvgPool2d = 13,  // as kMaxPool2d plus attr count_include_pad.
  kReduceMean = 14, // in x int8. attrs axes (per-sample axes), keepdims.
  kEmbedding = 15,  // in ids int32 [...]. params table int8 [V, C]. out int8 [..., C].
  kReshape = 16,    // attrs shape (per-sample; may start with kDynamicDim).
  kTranspose = 17,  // attrs perm (per-sample axes).
  kConcat = 18,     // inputs with equal scale. attrs axis (per-sample).
  kSlice = 19,      // attrs axis, start, end, step (step > 0; start/end already clamped).
};

const char* OpKindName(OpKind kind);

struct Attr {
  std::string name;
  std::vector<int64_t> values;
};

struct Param {
  std::string name;
  Tensor tensor;
};

struct Node {
  OpKind kind = OpKind::kLinear;
  std::string name;  // provenance, e.g. the ONNX node it came from; used in messages
  std::vector<int> inputs;   // value ids
  std::vector<int> outputs;  // value ids
  std::vector<Attr> attrs;
  std::vector<Param> params;

  // Lookup helpers. Missing names return nullptr / the fallback.
  const Attr* FindAttr(const std::string& attr_name) const;
  int64_t AttrInt(const std::string& attr_name, int64_t fallback) const;
  std::vector<int64_t> AttrInts(const std::string& attr_name) const;
  const Tensor* FindParam(const std::string& param_name) const;
  void SetAttr(const std::string& attr_name, std::vector<int64_t> values);
  void SetParam(const std::string& param_name, Tensor tensor);
};

struct Value {
  std::string name;
  DType dtype = DType::kInt8;
  Shape shape;         // per sample; dim 0 may be kDynamicDim
  double scale = 1.0;  // real = scale * integer (metadata; see file comment)
};

// What the model is for; decides how the CLI presents outputs.
enum class ModelTask : uint8_t { kGeneric = 0, kImageClassifier = 1, kTextGenerator = 2 };

// A segment is a contiguous range [begin, end) of nodes, the unit that nodes host,
// that consensus compares and that proofs cover.
struct Segment {
  int begin = 0;
  int end = 0;
};

struct Graph {
  std::string name;
  ModelTask task = ModelTask::kGeneric;
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // value ids fed by the caller
  std::vector<int> outputs;  // value ids returned to the caller
  std::vector<Segment> segments;  // empty means one segment covering all nodes
  // Free-form key/value metadata (labels, preprocessing constants, provenance).
  std::vector<std::pair<std::string, std::string>> metadata;

  int AddValue(Value value);
  const std::string* FindMetadata(const std::string& key) const;
  void SetMetadata(const std::string& key, std::string text);
  // Segments actually in effect (one whole-graph segment when none are set).
  std::vector<Segment> EffectiveSegments() const;
  // Values a segment reads that are produced before it (or are graph inputs), in
  // first-use order; and values it produces that are read after it or are outputs.
  std::vector<int> SegmentInputs(const Segment& segment) const;
  std::vector<int> SegmentOutputs(const Segment& segment) const;
};

// Checks every structural invariant: ids in range, topological order, each op's
// attrs/params present with the right dtypes and shapes, shapes consistent,
// multipliers/shifts/tables in their documented ranges, accumulators that cannot
// overflow int32, segments contiguous and covering the graph. Untrusted graphs (a
// loaded file) must pass this before anything executes them.
Status ValidateGraph(const Graph& graph);

}  // namespace veil
