// The key holder's side of SHE non-interactive mode (CKKS; docs/he.md, "The SHE protocol —
// non-interactive mode"). The model is a polynomial-activation network (veil/he/ckks_network.h)
// cut into contiguous layer ranges ("hops"), each hosted by `veil node --ckks-model ...
// --ckks-layers FIRST:LAST`. The key holder encrypts the inputs once (seeded symmetric CKKS,
// batch_capacity() inputs per ciphertext), and the ciphertext goes hop after hop: each node
// evaluates its whole range (EvaluateCkks) with the public Galois/relinearization keys it was
// sent, and the key holder relays the still-encrypted result to the next hop (client-driven
// chaining: it never decrypts in between; it checks each relayed ciphertext's encoding and
// level). Only the final ciphertext is decrypted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/ckks_network.h"
#include "veil/net/node_client.h"
#include "veil/she/common.h"
#include "veil/status.h"

namespace veil::she {

// Layers [first, last) on the first usable of `addresses`.
struct CkksHop {
  size_t first = 0, last = 0;
  std::vector<std::string> addresses;
};

// "0:2=HOST:PORT[|ALT...],2:3=HOST:PORT" -> hops (in the given order).
Result<std::vector<CkksHop>> ParseCkksRoute(const std::string& text);

struct CkksSheOptions {
  SheParams params = SheParams::kN8192;  // CkksParamSet::kN8192 / kN16384
  net::NodeClientOptions client;
  std::function<void(const std::string&)> log;  // failovers
  int max_attempts = 3;                         // per hop: other candidates on failure
};

struct CkksHopStep {
  size_t first = 0, last = 0;
  std::string served_by;
  uint64_t upload_bytes = 0, download_bytes = 0;  // summed over the run's ciphertexts
  double ms = 0;                                  // calls, summed
};

struct CkksSheResult {
  std::vector<std::vector<double>> outputs;  // [inputs][output_size]
  std::vector<CkksHopStep> hops;
  size_t ciphertexts = 0;
  uint64_t input_bytes = 0;     // the key holder's fresh (seeded) ciphertexts
  uint64_t upload_bytes = 0;    // everything the key holder sent (fresh + relayed)
  uint64_t download_bytes = 0;  // everything it received
  double encrypt_ms = 0, decrypt_ms = 0;
};

struct CkksKeyUpload {
  std::string address;
  size_t first = 0, last = 0;
  uint64_t bytes = 0;
  size_t galois_keys = 0;
  bool relin_keys = false;
  double ms = 0;
};

class CkksSheRunner {
 public:
  // `hops` must tile [0, layer_count) in order. Generates the CKKS secret key (OS CSPRNG).
  static Result<std::unique_ptr<CkksSheRunner>> Create(
      std::shared_ptr<const he::CkksNetworkSpec> spec, std::vector<CkksHop> hops,
      CkksSheOptions options = {});
  ~CkksSheRunner();

  size_t batch_capacity() const;  // inputs per ciphertext
  size_t input_size() const;
  const Digest& model_digest() const;
  // Evaluation keys (Galois for the hop's rotations, relinearization if it squares) to the
  // first candidate of every hop now (otherwise Run uploads on first use).
  Status UploadKeys();
  std::vector<CkksKeyUpload> key_uploads() const;
  // Runs the network on `inputs` (each input_size() values): the logits.
  Result<CkksSheResult> Run(const std::vector<std::vector<double>>& inputs);
  // The key holder's CKKS secret key (never sent; for tests that search node memory).
  const he::SecretKey& secret_key() const;

 private:
  CkksSheRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::she
