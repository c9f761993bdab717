// The delegate key holder (docs/he.md, "Delegate key holder"): a process the client chooses
// (`veil keyholder`) that holds the BFV secret key and runs SHE exact mode on the client's
// behalf — it uploads the nodes' Galois keys, sends each Linear/Conv2d layer to the nodes
// as ciphertexts and does the decrypt–requantize–re-encrypt step between them (a SheRunner
// with its own long-lived key). Service veil.v1.SheKeyHolder (proto/veil/v1/she.proto).
//
// The client fetches the delegate's BFV public key (Info), encrypts its quantized int8
// input under it (public-key BFV, N values per ciphertext) and calls Run with the model
// digest and the route; it receives the int8 output in the clear over the channel (mutual
// TLS in a network, plaintext only with --insecure). Trust: the delegate learns what any key
// holder learns — the input, every accumulator, the output; the nodes learn nothing but
// shapes and timing, and never hold a secret key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/he/bfv.h"
#include "veil/net/split_inference.h"
#include "veil/she/client.h"
#include "veil/she/common.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::she {

struct KeyHolderOptions {
  SheParams params = SheParams::kN8192;
  // The delegate's BFV secret key; null: generate one (OS CSPRNG) for this process's life.
  std::shared_ptr<const he::SecretKey> secret_key;
  SessionOptions session;         // the delegate's own plaintext nodes
  net::NodeClientOptions client;  // to the nodes: deadline, message cap, link security
  std::function<void(const std::string&)> log;
  int max_runners = 4;  // cached (model, route) runners, least recently used evicted
  // Largest input accepted, in ciphertexts of N values.
  int max_input_ciphertexts = 16;
};

class KeyHolderService {
 public:
  static Result<std::unique_ptr<KeyHolderService>> Create(std::vector<Graph> models,
                                                          KeyHolderOptions options = {});
  ~KeyHolderService();
  KeyHolderService(const KeyHolderService&) = delete;
  KeyHolderService& operator=(const KeyHolderService&) = delete;
  // A registrar for SheServer / NodeServerOptions::extra_services; must outlive the server.
  std::function<void(void*)> Registrar();
  const Digest& public_key_digest() const;

 private:
  KeyHolderService();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The client's side: runs `input` (int8, [B] + the graph input's shape) through the delegate
// at `address`, which evaluates the segments of `route` encrypted on the nodes.
struct DelegateRunResult {
  Tensor output;
  std::vector<SheStep> steps;  // as reported by the delegate
  uint64_t input_bytes = 0;    // the client's encrypted input (to the delegate)
  uint64_t upload_bytes = 0, download_bytes = 0, max_request_bytes = 0;  // delegate <-> nodes
};
Result<DelegateRunResult> RunThroughDelegate(const std::string& address, const Graph& graph,
                                             const net::Route& route, const Tensor& input,
                                             SheParams params,
                                             const net::NodeClientOptions& client);

// Reads a serialized BFV secret key (veil/he/serialize.h) for `params`. The file must be a
// regular file owned by this user with no group/other permissions (as identity files).
Result<std::shared_ptr<const he::SecretKey>> LoadSecretKeyFile(const std::string& path,
                                                               SheParams params);
// Writes `sk` to a new file (mode 0600; refuses to overwrite).
Status WriteSecretKeyFile(const std::string& path, SheParams params, const he::SecretKey& sk);

}  // namespace veil::she
