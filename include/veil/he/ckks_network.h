// Non-interactive encrypted inference with CKKS: a feed-forward network of dense layers and
// polynomial activations evaluated on CKKS ciphertexts with public evaluation keys only
// (docs/he.md, "CKKS network").
//
// A model is a CkksNetworkSpec: an input size and a list of layers, each Dense (float
// weight [out, in], bias [out]) or Poly (c0 + c1·x + c2·x², elementwise). Layers are numbered
// in the spec's order; a *segment* is a contiguous range [first, last) of them. One party
// evaluates a segment on a ciphertext with CkksSegment::Evaluate — rotations, products,
// relinearization and rescaling only, no decryption and no round trip — and hands the
// resulting ciphertext to the party holding the next segment. Everybody builds the same
// CkksNetwork from the same model (LoadCkksNetworkSpecFromOnnx, veil/he/ckks_network_onnx.h,
// reads the ONNX file), so the layout, the levels and the folding of the activations'
// coefficients agree without exchanging anything but ciphertexts and keys.
//
// Layout: every vector lives in a block of `width` elements (a power of two >= every padded
// layer size); batch_capacity() = (N/2) / width inputs are interleaved in one ciphertext,
// element j of input b in slot j·capacity + b, so a rotation by k·capacity slots rotates all
// inputs' blocks cyclically by k. A value of padded size p (a power of two) is stored
// repeated with period p over the block.
//
// Levels: a Dense layer and a Poly layer each consume one rescaling (one limb). A network
// of depth D needs an input with at least D + 1 limbs; the key holder encrypts at the top
// level and layer k always runs at the same level (input_limbs(k)).
//
// Folding: a Poly layer followed by a Dense layer is evaluated as v = x·(x + c1/c2) (one
// ct×ct) and the factor c2 and the constant c0 are folded into the next Dense layer's
// weights and bias. A ciphertext leaving a segment that ends right after a Poly layer
// therefore holds (poly(x) − c0) / c2, which is exactly what the next segment expects. The
// last layer must be Dense; every Poly layer needs c2 != 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/ckks.h"
#include "veil/he/context.h"
#include "veil/status.h"

namespace veil::he {

struct CkksLayerSpec {
  enum class Kind { kDense, kPoly };
  Kind kind = Kind::kDense;
  // Dense: y = weight·x + bias, weight [out, in] row-major.
  size_t in = 0, out = 0;
  std::vector<double> weight, bias;
  // Poly: y = c0 + c1·x + c2·x² for every element.
  double c0 = 0, c1 = 0, c2 = 0;
};

struct CkksNetworkSpec {
  size_t input_size = 0;
  std::vector<CkksLayerSpec> layers;
};

// Plaintext reference in double precision (the spec as written, no folding): the outputs
// of layers [first, last) applied to x. Used to compare the encrypted result against.
Result<std::vector<double>> EvaluateSpecPlain(const CkksNetworkSpec& spec,
                                              std::span<const double> x, size_t first = 0,
                                              size_t last = SIZE_MAX);

class CkksNetwork {
 public:
  // Validates the spec (non-empty, sizes chain, finite values, every Poly followed by a
  // Dense with c2 != 0, last layer Dense), computes the layout for the context's N and
  // checks that the context has enough levels (depth + 1 data primes).
  static Result<std::shared_ptr<const CkksNetwork>> Create(std::shared_ptr<const Context> context,
                                                           const CkksNetworkSpec& spec);

  const std::shared_ptr<const Context>& context() const { return ctx_; }
  const CkksNetworkSpec& spec() const { return spec_; }
  size_t layer_count() const { return spec_.layers.size(); }
  size_t width() const { return width_; }
  size_t batch_capacity() const { return capacity_; }
  size_t input_size() const { return spec_.input_size; }
  size_t output_size() const { return spec_.layers.back().out; }
  // Limbs of the ciphertext entering layer k (k = layer_count(): the final output).
  size_t input_limbs(size_t layer) const { return limbs_.at(layer); }
  // Rotation steps (slots, positive, ascending) and whether relinearization keys are needed
  // to evaluate [first, last): generate exactly these with
  // KeyGenerator::CreateGaloisKeysForSteps(steps, false) and CreateRelinKeys().
  Result<std::vector<int>> RequiredGaloisSteps(size_t first, size_t last) const;
  Result<bool> NeedsRelinKeys(size_t first, size_t last) const;

  // Key holder: packs 1..batch_capacity() inputs (each input_size() values) at the top level
  // with the given scale (0 = 2^kCkksDefaultScaleBits).
  Result<CkksPlaintext> EncodeInputs(const CkksEncoder& encoder,
                                     const std::vector<std::vector<double>>& inputs,
                                     double scale = 0) const;
  // Key holder: the first `batch` outputs [batch][output_size()] of a decrypted final result.
  Result<std::vector<std::vector<double>>> DecodeOutputs(const CkksEncoder& encoder,
                                                         const CkksPlaintext& plain,
                                                         size_t batch) const;

 private:
  friend class CkksSegment;
  struct Folded {                      // the layer as evaluated (after folding the previous Poly)
    std::vector<double> weight, bias;  // Dense
    double shift = 0;                  // Poly: x·(x + shift)
  };
  CkksNetwork() = default;
  std::shared_ptr<const Context> ctx_;
  CkksNetworkSpec spec_;
  std::vector<Folded> folded_;
  std::vector<size_t> limbs_;
  size_t width_ = 0, capacity_ = 0;
};

// The precomputed plaintexts of one segment [first, last) — what a node holds. Evaluate is
// const and can be called concurrently.
class CkksSegment {
 public:
  static Result<CkksSegment> Create(std::shared_ptr<const CkksNetwork> network, size_t first,
                                    size_t last);
  size_t first() const { return first_; }
  size_t last() const { return last_; }
  size_t input_limbs() const { return net_->input_limbs(first_); }
  size_t output_limbs() const { return net_->input_limbs(last_); }
  // Key-switching rotations and plaintext products per Evaluate.
  size_t rotations_per_evaluation() const { return rotations_; }
  size_t plain_products() const { return products_; }

  // input: a size-2 ciphertext at input_limbs() (as produced by the key holder or by the
  // previous segment). relin may be null if the segment has no Poly layer; gk must hold
  // network.RequiredGaloisSteps(first, last). Returns a size-2 ciphertext at output_limbs().
  Result<CkksCiphertext> Evaluate(const CkksEvaluator& evaluator, const CkksCiphertext& input,
                                  const RelinKeys* relin, const GaloisKeys& gk) const;

 private:
  struct DenseStage {
    size_t in_pad = 0, out_pad = 0, baby = 0, giant = 0, diagonals = 0;
    // diag[g * baby + b] pre-rotated right by g·baby elements, encoded at the scale of the
    // prime the following rescale divides by; present[i] = 0 for an all-zero diagonal.
    std::vector<CkksPlaintext> diag;
    std::vector<uint8_t> present;
    std::vector<double> bias_block;  // width values, encoded after the rescale
  };
  struct Stage {
    bool dense = false;
    DenseStage d;
    double shift = 0;
  };
  CkksSegment() = default;
  Status EvaluateDense(const CkksEvaluator& ev, const DenseStage& d, CkksCiphertext& x,
                       const GaloisKeys& gk) const;

  std::shared_ptr<const CkksNetwork> net_;
  std::shared_ptr<const CkksEncoder> encoder_;
  size_t first_ = 0, last_ = 0;
  std::vector<Stage> stages_;
  size_t rotations_ = 0, products_ = 0;
};

}  // namespace veil::he
