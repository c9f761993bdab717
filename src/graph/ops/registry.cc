// Maps each OpKind to its OpDef.
#include "ops/ops.h"

namespace veil::ops {

const OpDef* FindOpDef(OpKind kind) {
  switch (kind) {
    case OpKind::kLinear:
      return &LinearDef();
    case OpKind::kConv2d:
      return &Conv2dDef();
    case OpKind::kMatMul:
      return &MatMulDef();
    case OpKind::kAttention:
      return &AttentionDef();
    case OpKind::kRequantize:
      return &RequantizeDef();
    case OpKind::kAdd:
      return &AddDef();
    case OpKind::kMul:
      return &MulDef();
    case OpKind::kLookup:
      return &LookupDef();
    case OpKind::kSoftmax:
      return &SoftmaxDef();
    case OpKind::kLayerNorm:
      return &LayerNormDef();
    case OpKind::kRmsNorm:
      return &RmsNormDef();
    case OpKind::kMaxPool2d:
      return &MaxPool2dDef();
    case OpKind::kAvgPool2d:
      return &AvgPool2dDef();
    case OpKind::kReduceMean:
      return &ReduceMeanDef();
    case OpKind::kEmbedding:
      return &EmbeddingDef();
    case OpKind::kReshape:
      return &ReshapeDef();
    case OpKind::kTranspose:
      return &TransposeDef();
    case OpKind::kConcat:
      return &ConcatDef();
    case OpKind::kSlice:
      return &SliceDef();
  }
  return nullptr;  // a value outside the enumeration (e.g. from a corrupt file)
}

}  // namespace veil::ops
