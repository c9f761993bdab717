// Signed registry records (proto/veil/v1/registry.proto, docs/registry.md).
//
// A record is published as a SignedRecord: payload (the serialized record message), the
// signer's Ed25519 public key and a signature over "veil/registry/v1/<kind>\0" || payload.
// Verify*Record checks, in this order: the envelope's size and field lengths, the signature,
// the payload's decoding, every field's limits, and that the signer is the key the record
// claims (the node key for a NodeRecord, the owner key for ModelRecord and OwnerKeyRecord).
// Anything else is an error naming the reason; a verified record is safe to use.
// Sign*Record applies the same validation first, so a writer never publishes what readers
// would reject.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "veil/digest.h"
#include "veil/registry/identity.h"
#include "veil/status.h"

namespace veil::registry {

// Limits every reader enforces (docs/registry.md).
inline constexpr size_t kMaxSignedRecordBytes = 256 * 1024;
inline constexpr size_t kMaxAddressChars = 255;
inline constexpr size_t kMaxModelNameChars = 128;
inline constexpr size_t kMaxFetchUriChars = 2048;
inline constexpr size_t kMaxHostedSegments = 1024;
inline constexpr size_t kMaxManifestSegments = 4096;
inline constexpr uint32_t kMaxCores = 1u << 16;

enum class RecordKind { kNode, kModel, kOwnerKey, kState };
// "node", "model", "owner", "state": the <kind> in the signed domain string.
const char* RecordKindName(RecordKind kind);

struct NodeCapacity {
  uint32_t cores = 0;         // 1..kMaxCores
  uint64_t memory_bytes = 0;  // > 0
};

struct HostedSegment {
  Digest model_digest{};
  uint32_t segment_index = 0;
  Digest segment_digest{};
  double throughput_samples_per_s = 0;  // measured; finite and >= 0
};

struct NodeRecord {
  PublicKey node_key{};
  std::string grpc_address;  // "host:port", port 1..65535
  NodeCapacity capacity;
  std::vector<HostedSegment> segments;
  int64_t issued_at_unix_ms = 0;  // > 0
  uint64_t seq = 0;               // > 0, strictly increasing per node
  std::string node_id() const { return NodeIdOf(node_key); }
};

struct SegmentManifestEntry {
  uint32_t index = 0;  // entries are sorted by index with no duplicates
  Digest segment_digest{};
  uint64_t byte_size = 0;  // > 0
  std::string fetch_uri;   // 1..kMaxFetchUriChars printable ASCII
};

struct ModelRecord {
  std::string name;  // 1..kMaxModelNameChars from [A-Za-z0-9._-], not "." or ".."
  Digest model_digest{};
  PublicKey owner_key{};
  std::vector<SegmentManifestEntry> segments;  // at least one
  int64_t issued_at_unix_ms = 0;
  uint64_t seq = 0;
};

struct OwnerKeyRecord {
  std::string model_name;  // same rule as ModelRecord::name
  PublicKey owner_key{};
  int64_t issued_at_unix_ms = 0;
  uint64_t seq = 0;
};

// True iff `name` is a valid model name (it becomes part of a registry key).
bool IsValidModelName(std::string_view name);

// Validate, serialize, sign. The identity must hold the key the record claims.
Result<std::string> SignNodeRecord(const Identity& node, const NodeRecord& record);
Result<std::string> SignModelRecord(const Identity& owner, const ModelRecord& record);
Result<std::string> SignOwnerKeyRecord(const Identity& owner, const OwnerKeyRecord& record);

// Verify and decode a SignedRecord's bytes (see the header comment for the checks).
// State records: opaque bytes a key holder keeps in the registry under its own key (e.g. a
// client's reputation book, docs/consensus.md). The record binds the payload to its signer;
// the payload's owner decodes it strictly. A registry can replay an older state record of
// the same writer, not forge one.
Result<std::string> SignStateRecord(const Identity& writer, const std::string& payload);
// The payload, if `signed_record` is a valid state record signed by `writer`.
Result<std::string> VerifyStateRecord(std::string_view signed_record, const PublicKey& writer);

Result<NodeRecord> VerifyNodeRecord(std::string_view signed_record);
Result<ModelRecord> VerifyModelRecord(std::string_view signed_record);
Result<OwnerKeyRecord> VerifyOwnerKeyRecord(std::string_view signed_record);

// Replay protection: remembers, per (kind, subject, signer), the newest seq seen and the
// SHA-256 of that record's SignedRecord bytes (Ed25519 signatures are deterministic, so the
// same record always has the same bytes). Admit refuses an older seq (a replayed record) and the
// same seq with different content (equivocation); the same record seen again is admitted.
// The subject is the node id for node records and the model name for model/owner records.
class ReplayGuard {
 public:
  Status Admit(RecordKind kind, std::string_view subject, const PublicKey& signer, uint64_t seq,
               const Digest& record_digest);

 private:
  struct Newest {
    uint64_t seq = 0;
    Digest digest{};
  };
  std::map<std::string, Newest> newest_;
};

}  // namespace veil::registry
