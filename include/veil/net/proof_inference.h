// Proofs in the network (docs/zk.md "In the network", docs/net.md "Proof mode").
//
// Publication: the model owner publishes its model commitment (zk::ModelCommitment, the
// MODEL.commit file) next to the model record, as a registry state record signed by the
// owner key (registry.h PutState) named "zkc.<model name>", whose payload binds the model
// name and model digest to the commitment file. Readers verify the owner's signature, the
// name and model digest against the model record, and parse the commitment strictly.
//
// Nodes: a node that hosts segment i and holds the owner's blinding seed proves the segment
// on request (veil.v1.Node/ProveSegment). It proves with ProverGraph: the commitment's
// public model with its own segment's weights spliced in, checked to be exactly the hosted
// segment (SegmentDigest).
//
// Client (ProofRunner): runs segment 0 itself, commits to the outputs the middle segments
// read (fresh blinds), sends each node the openings of its segment's inputs (by value id),
// verifies the returned proof at once (zk::VerifySegment, then linkage: its input commitments
// are the ones the client sent, its output commitments those of the returned openings), keeps
// the verified output openings for the next nodes, and runs the last segment on the opened
// values. Nothing unverified reaches the output: a proof that fails is an error naming the
// segment and node.
//
// Receipt: version 2, mode proof (consensus/receipt.h): model digest, request id, model
// commitment digest, the input commitments, the proofs in order, the output commitments.
// VerifyProofReceipt checks it against a published commitment.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "veil/consensus/receipt.h"
#include "veil/digest.h"
#include "veil/graph.h"
#include "veil/net/node_client.h"
#include "veil/net/split_inference.h"
#include "veil/registry/identity.h"
#include "veil/registry/records.h"
#include "veil/registry/registry.h"
#include "veil/session.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/zk/model_commitment.h"

namespace veil::net {

// Largest batch a node proves in one call (proof cost grows linearly with the batch).
inline constexpr int64_t kMaxProofBatch = 64;
// Largest published commitment payload (it must fit a registry record, records.h).
inline constexpr size_t kMaxPublishedCommitmentBytes = 240 * 1024;

// ---- Publication ----

// Payload of the state record "zkc.<model name>":
//   "VEILPMC\0" | u32 version = 1 | u32 |name| | name | 32-byte model digest |
//   u32 |commitment| | commitment file (zk model_commitment.h format)
// little-endian; decoding is strict (exact lengths, no trailing bytes).
struct PublishedCommitment {
  std::string model_name;
  Digest model_digest{};
  std::vector<uint8_t> commitment_file;
};
std::string EncodePublishedCommitment(const PublishedCommitment& published);
Result<PublishedCommitment> DecodePublishedCommitment(std::string_view payload);

// "zkc.<model name>"; InvalidArgument if that is not a valid state name.
Result<std::string> CommitmentStateName(const std::string& model_name);

// Publishes `commitment` for the model of `record` (signed by `owner`, who must be the
// record's owner).
Status PublishModelCommitment(registry::Registry& registry, const registry::Identity& owner,
                              const registry::ModelRecord& record,
                              const zk::ModelCommitment& commitment);

// Checks a signed commitment record offline: signed by `record`'s owner key, for its name and
// model digest; returns the parsed commitment (its digest recomputed by the parser).
Result<zk::ModelCommitment> OpenModelCommitment(std::string_view signed_record,
                                                const registry::ModelRecord& record);

// Reads the published commitment of `record`'s model; NotFound if the owner published none.
// `signed_record` (optional) receives the signed bytes, for snapshots.
Result<zk::ModelCommitment> FetchModelCommitment(registry::Registry& registry,
                                                 const registry::ModelRecord& record,
                                                 std::string* signed_record = nullptr);

// ---- Node side ----

// The whole-model graph a node proves segment `segment_index` with: zk::PublicModel of the
// commitment with the params of `segment_graph` (an ExtractSegment of the owner's model)
// spliced into that segment. Corrupt unless the result's SegmentDigest equals
// `segment_digest` (so the node proves exactly what it hosts) and the segment's ops and
// param shapes match the commitment.
Result<Graph> ProverGraph(const zk::ModelCommitment& commitment, const Graph& segment_graph,
                          int segment_index, const Digest& segment_digest);

// ---- Client ----

struct ProofOptions {
  SessionOptions session;  // for the client's own first and last segments
  NodeClientOptions client;
  // Called with one line per event (a node failing before it answered, ...); may be empty.
  std::function<void(const std::string&)> log;
};

struct ProvenStage {
  int segment_index = 0;
  std::string served_by;  // node address
  size_t proof_bytes = 0;
  double call_ms = 0;    // the ProveSegment call (run + prove + transfer)
  double verify_ms = 0;  // the client's verification of the proof and opening
};

struct ProofRunResult {
  std::vector<Tensor> outputs;  // graph outputs, as Session::Run
  std::vector<ProvenStage> stages;
  std::string request_id;
  std::string receipt_bytes;  // consensus::EncodeReceipt of the proof receipt
};

class ProofRunner {
 public:
  // `graph` is the whole model (the client runs the first and last segments); it must match
  // `commitment` (zk::CheckCommitmentMatchesGraph) and every middle segment must be provable
  // (zk::CheckSegmentProvable; the error names the first op that is not) and read only
  // values earlier segments produce. `route` names candidate nodes for every middle segment; a node
  // that fails to answer is replaced by the next candidate, a node whose proof does not
  // verify is not (the request fails naming the segment).
  static Result<std::unique_ptr<ProofRunner>> Create(const Graph& graph,
                                                     const zk::ModelCommitment& commitment,
                                                     const Route& route, ProofOptions options = {});
  ~ProofRunner();

  // Runs `inputs` (batch <= kMaxProofBatch). Thread-compatible, not thread-safe.
  Result<ProofRunResult> Run(const std::vector<Tensor>& inputs);

 private:
  ProofRunner();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Receipts ----

// Checks a proof receipt against the published commitment of the model whose digest is
// `model_digest`: the receipt names that model and commitment, every proof decodes and
// verifies (zk::VerifyChain: consecutive segments from first_segment, input commitments of
// values an earlier proof produced equal to its output commitments), and the receipt's input
// and output commitments are exactly the chain's external inputs and the outputs later
// segments read. Errors say which check failed (and which segment).
Result<consensus::ReceiptReport> VerifyProofReceipt(std::string_view bytes,
                                                    const zk::ModelCommitment& commitment,
                                                    const Digest& model_digest);

}  // namespace veil::net
