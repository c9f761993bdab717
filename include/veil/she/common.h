// SHE (docs/he.md, "The SHE protocol"): pieces shared by the key holder
// (veil/she/client.h, veil/she/ckks_client.h, veil/she/key_holder.h) and the evaluating node
// (veil/she/service.h). Exact mode is BFV; non-interactive mode is CKKS.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/he/ckks_network.h"
#include "veil/he/context.h"
#include "veil/he/linear.h"
#include "veil/status.h"

namespace veil::she {

inline constexpr uint32_t kSheProtocolVersion = 1;

// The BFV parameter sets the protocol accepts, all with t = he::kLinearPlainModulus.
// Values match proto veil.v1.SheParamSet.
enum class SheParams : uint8_t { kN8192 = 1, kN16384 = 2 };
const char* SheParamsName(SheParams p);
Result<SheParams> ParseSheParams(const std::string& name);  // "N8192" / "N16384"
// Validated BFV context for `p` (Context::Create applies the 128-bit security bound).
Result<std::shared_ptr<const he::Context>> MakeSheContext(SheParams p);

// Whether a graph node's linear part is evaluated under encryption: Linear, and Conv2d
// with group 1 and dilation 1 (the shapes veil/he/linear.h packs).
bool IsEncryptable(const Node& node);

// The encrypted form of one Linear or Conv2d node of a graph whose input value has the
// per-sample shape `input_shape`. With `weights` false the layer is built with zero weights
// and bias: the same layout and Galois steps (they depend only on shapes), none of the
// precomputation — what the key holder needs to pack inputs and unpack results.
struct SheLayer {
  std::optional<he::EncryptedLinearLayer> dense;  // Linear
  std::optional<he::EncryptedConv2dLayer> conv;   // Conv2d
  int64_t rows = 1;          // Linear: vectors per sample (product of the leading per-sample dims)
  int64_t out_features = 0;  // Linear: N; Conv2d: O
  bool is_conv() const { return conv.has_value(); }
  const he::EncryptedLinearLayer& linear() const;  // Conv2d: its patch product
  // Ciphertexts a request with `batch` samples carries / gets back.
  size_t InputCiphertexts(int64_t batch) const;
  size_t OutputCiphertexts(int64_t batch) const;
  // Largest batch one request may carry.
  int64_t MaxBatch() const;
};
Result<SheLayer> MakeSheLayer(std::shared_ptr<const he::Context> context, const Graph& graph,
                              int node_index, bool weights);

// ---- Non-interactive mode (CKKS) ----

// The CKKS context for `p`: kN8192 = he::CkksParamSet::kN8192, kN16384 = kN16384.
Result<std::shared_ptr<const he::Context>> MakeSheCkksContext(SheParams p);

// The name a CKKS model goes by on the wire: SHA-256 over a canonical encoding of the spec
// (input size; per layer its kind, sizes and the IEEE-754 bits of every weight, bias and
// coefficient). Two parties that loaded the same model compute the same digest, whatever
// file it came from.
Digest CkksModelDigest(const he::CkksNetworkSpec& spec);

// A CKKS model and the layer range [first, last) a node evaluates.
struct CkksHostedSegment {
  std::shared_ptr<const he::CkksNetworkSpec> spec;
  size_t first = 0, last = 0;
};

// "0:2,2:3" -> {{0, 2}, {2, 3}}: non-empty, first < last, at most 64 ranges.
Result<std::vector<std::pair<size_t, size_t>>> ParseLayerRanges(const std::string& text);

// Loads a CKKS network spec from an ONNX file (he::LoadCkksNetworkSpecFromOnnx).
Result<std::shared_ptr<const he::CkksNetworkSpec>> LoadCkksModel(const std::string& onnx_path);

}  // namespace veil::she
