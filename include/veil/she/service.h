// The node side of SHE: a gRPC service (proto/veil/v1/she.proto) that `veil node` hosts next
// to veil.v1.Node on the same port. Exact mode (BFV): the Linear/Conv2d accumulators of the
// hosted .veil segments. Non-interactive mode (CKKS): whole layer ranges of the hosted CKKS
// networks (options.ckks_segments). It holds only what a node may hold: the plaintext
// weights and the key holders' Galois (rotation) and, for CKKS, relinearization keys, which
// are public evaluation keys. The wire contract has no field for a secret key; a secret or
// public key sent as an evaluation key is refused by the decoders' kind check; the key store
// keeps decoded he::GaloisKeys / he::RelinKeys objects and nothing else (HeldKeys lists them).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/net/node_server.h"
#include "veil/she/common.h"
#include "veil/status.h"

namespace veil::she {

struct SheServiceOptions {
  // Uploaded key sets expire after this long without use, and at most this many (and this
  // many bytes of encoded keys) are held; the least recently used set goes first.
  int64_t key_ttl_ms = 600000;
  int max_key_sets = 8;
  // Decoded keys take about 3x their encoded size in memory (seeded polynomials expanded).
  int64_t max_key_bytes = int64_t{256} << 20;
  // One key=value line per call (may be empty).
  std::function<void(const std::string&)> log;
  // CKKS layer ranges this node evaluates (non-interactive mode); may be empty.
  std::vector<CkksHostedSegment> ckks_segments;
};

// What the node holds for one uploaded key set (for audits and tests).
struct HeldKeySet {
  std::array<uint8_t, 32> key_id{};
  SheParams params = SheParams::kN8192;
  uint64_t params_id = 0;
  bool ckks = false;                  // a CKKS key set (else BFV)
  std::vector<uint32_t> galois_elts;  // the Galois elements of the held keys
  bool relin_keys = false;            // CKKS: relinearization keys held too
  size_t encoded_bytes = 0;
};

class SheService {
 public:
  // `segments` as given to NodeServer::Start (the service keeps its own copy of the graphs;
  // encrypted layers are prepared on first use per parameter set). `segments` may be empty
  // if options.ckks_segments is not (a CKKS-only node).
  static Result<std::unique_ptr<SheService>> Create(const std::vector<net::SegmentToHost>& segments,
                                                    SheServiceOptions options = {});
  ~SheService();
  SheService(const SheService&) = delete;
  SheService& operator=(const SheService&) = delete;

  // A NodeServerOptions::extra_services entry registering this service; the SheService
  // must outlive the NodeServer.
  std::function<void(void*)> Registrar();
  std::vector<HeldKeySet> HeldKeys() const;

 private:
  SheService();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The segments `indices` of `graph`, extracted (ExtractSegment) and digested as
// NodeServer::Start(graph, options) does: for a standalone node's SheService.
Result<std::vector<net::SegmentToHost>> ExtractSegments(const Graph& graph,
                                                        const std::vector<int>& indices);

}  // namespace veil::she
