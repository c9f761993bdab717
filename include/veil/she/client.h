// The key holder's side of SHE exact mode (docs/he.md, "The SHE protocol"). The key holder
// runs the graph node by node: the Linear and Conv2d nodes of every routed segment go to a
// node hosting that segment as BFV ciphertexts and come back as encrypted accumulators
// acc = bias + W·x, which the key holder decrypts and requantizes with the graph's own
// kernel (RequantizeRows); every other node, and the nodes of segments without a route,
// run on the key holder through a one-node Session (the graph's own op code). The result
// is bit-identical to Session::Run.
//
// Keys: one BFV secret key per SheRunner (OS CSPRNG), never sent; each node gets, once, the
// Galois keys for the rotations of the layers it evaluates (one-time upload, reported in
// SheKeyUpload). Inputs are encrypted with the seeded symmetric encryption, so a request
// carries one polynomial plus a 32-byte seed per ciphertext.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/he/bfv.h"
#include "veil/net/node_client.h"
#include "veil/net/split_inference.h"
#include "veil/session.h"
#include "veil/she/common.h"
#include "veil/status.h"
#include "veil/tensor.h"

namespace veil::she {

struct SheOptions {
  SheParams params = SheParams::kN8192;
  SessionOptions session;                       // for the key holder's own (plaintext) nodes
  net::NodeClientOptions client;                // deadline, message cap and link security
  std::function<void(const std::string&)> log;  // failovers
  int max_attempts = 3;                         // per remote layer: another candidate on failure
  // The BFV secret key to use (a delegate key holder's long-lived key); null: a fresh one.
  std::shared_ptr<const he::SecretKey> secret_key;
};

// One remote layer evaluation.
struct SheStep {
  int node_index = 0;  // in the graph
  int segment_index = 0;
  std::string served_by;
  uint64_t upload_bytes = 0;    // encoded ciphertexts sent
  uint64_t download_bytes = 0;  // encoded ciphertexts received
  double ms = 0;                // encrypt + call + decrypt + requantize
};

struct SheResult {
  std::vector<Tensor> outputs;
  std::vector<SheStep> steps;
  uint64_t upload_bytes = 0, download_bytes = 0;
  uint64_t max_request_bytes = 0;  // largest single request (ciphertexts)
};

struct SheKeyUpload {
  std::string address;
  uint64_t bytes = 0;
  size_t galois_keys = 0;
  double ms = 0;  // key generation excluded
};

class SheRunner {
 public:
  // `route`: candidate node addresses per segment; segments without an entry run on the
  // key holder. Generates the secret key.
  static Result<std::unique_ptr<SheRunner>> Create(const Graph& graph, const net::Route& route,
                                                   SheOptions options = {});
  ~SheRunner();

  // Runs the graph on `inputs` (as Session::Run). Uploads keys to a node on first use.
  Result<SheResult> Run(const std::vector<Tensor>& inputs);
  // Generates the Galois keys and uploads them to the first candidate of every routed
  // segment now (otherwise Run does it on first use).
  Status UploadKeys();
  std::vector<SheKeyUpload> key_uploads() const;
  // The key holder's BFV secret key (never sent; e.g. to hand to a delegate key holder).
  const he::SecretKey& secret_key() const;

 private:
  SheRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::she
