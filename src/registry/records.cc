#include "veil/registry/records.h"

#include <cmath>
#include <cstring>

#include "veil/v1/registry.pb.h"

namespace veil::registry {
namespace {

constexpr const char* kDomainPrefix = "veil/registry/v1/";

// "veil/registry/v1/<kind>" || 0x00 || payload: what the signature covers.
std::string SignedMessage(RecordKind kind, std::string_view payload) {
  std::string m = kDomainPrefix;
  m += RecordKindName(kind);
  m.push_back('\0');
  m.append(payload);
  return m;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ToBytes(const Digest& d) { return std::string(d.begin(), d.end()); }

template <size_t N>
Status FixedBytes(const std::string& in, const char* field, std::array<uint8_t, N>* out) {
  if (in.size() != N)
    return Status::Corrupt(std::string(field) + " must be " + std::to_string(N) + " bytes, got " +
                           std::to_string(in.size()));
  std::memcpy(out->data(), in.data(), N);
  return Status::Ok();
}

bool PrintableAscii(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// "host:port": host is a DNS name, IPv4 literal or bracketed IPv6 literal; port 1..65535.
Status CheckAddress(const std::string& address) {
  if (address.empty() || address.size() > kMaxAddressChars)
    return Status::Corrupt("grpc_address must be 1.." + std::to_string(kMaxAddressChars) +
                           " characters, got " + std::to_string(address.size()));
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return Status::Corrupt("grpc_address must be host:port");
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (port.size() > 5) return Status::Corrupt("grpc_address port out of range");
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Status::Corrupt("grpc_address port must be decimal digits");
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535) return Status::Corrupt("grpc_address port out of range 1..65535");
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  for (char c : bracketed ? host.substr(1, host.size() - 2) : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || (bracketed && c == ':');
    if (!ok) return Status::Corrupt("grpc_address host has a character outside [A-Za-z0-9.-]");
  }
  return Status::Ok();
}

Status CheckStamp(int64_t issued_at_unix_ms, uint64_t seq) {
  if (issued_at_unix_ms <= 0) return Status::Corrupt("issued_at_unix_ms must be positive");
  if (seq == 0) return Status::Corrupt("seq must be positive");
  return Status::Ok();
}

Status ValidateNode(const NodeRecord& r) {
  VEIL_RETURN_IF_ERROR(CheckAddress(r.grpc_address));
  if (r.capacity.cores == 0 || r.capacity.cores > kMaxCores)
    return Status::Corrupt("capacity.cores must be 1.." + std::to_string(kMaxCores));
  if (r.capacity.memory_bytes == 0) return Status::Corrupt("capacity.memory_bytes must be > 0");
  if (r.segments.size() > kMaxHostedSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxHostedSegments) + " hosted segments");
  for (const HostedSegment& s : r.segments) {
    if (!std::isfinite(s.throughput_samples_per_s) || s.throughput_samples_per_s < 0)
      return Status::Corrupt("hosted segment " + std::to_string(s.segment_index) +
                             ": throughput must be finite and >= 0");
  }
  return CheckStamp(r.issued_at_unix_ms, r.seq);
}

Status ValidateModel(const ModelRecord& r) {
  if (!IsValidModelName(r.name)) return Status::Corrupt("invalid model name");
  if (r.segments.empty()) return Status::Corrupt("model record has no segments");
  if (r.segments.size() > kMaxManifestSegments)
    return Status::Corrupt("more than " + std::to_string(kMaxManifestSegments) +
                           " manifest segments");
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const SegmentManifestEntry& s = r.segments[i];
    const std::string what = "manifest segment " + std::to_string(s.index);
    if (i > 0 && s.index <= r.segments[i - 1].index)
      return Status::Corrupt(what + ": indices must be strictly increasing");
    if (s.byte_size == 0) return Status::Corrupt(what + ": byte_size must be > 0");
    if (s.fetch_uri.empty() || s.fetch_uri.size() > kMaxFetchUriChars ||
        !PrintableAscii(s.fetch_uri))
      return Status::Corrupt(what + ": fetch_uri must be 1.." + std::to_string(kMaxFetchUriChars) +
                             " printable ASCII characters");
  }
  return CheckStamp(r.issued_at_unix_ms, r.seq);
}

Status ValidateOwner(const OwnerKeyRecord& r) {
  if (!IsValidModelName(r.model_name)) return Status::Corrupt("invalid model name");
  return CheckStamp(r.issued_at_unix_ms, r.seq);
}

Result<std::string> Seal(const Identity& signer, RecordKind kind, const std::string& payload) {
  const Signature sig = signer.Sign(Bytes(SignedMessage(kind, payload)));
  v1::SignedRecord env;
  env.set_payload(payload);
  env.set_signer_public_key(ToBytes(signer.public_key()));
  env.set_signature(std::string(sig.begin(), sig.end()));
  std::string bytes = env.SerializeAsString();
  // The same limit readers apply, on the same bytes.
  if (bytes.size() > kMaxSignedRecordBytes)
    return Status::InvalidArgument(std::string(RecordKindName(kind)) + " record is too large (" +
                                   std::to_string(bytes.size()) + " bytes, limit " +
                                   std::to_string(kMaxSignedRecordBytes) + ")");
  return bytes;
}

// Envelope checks and signature verification; returns the payload and the signer's key.
Status Open(RecordKind kind, std::string_view bytes, std::string* payload, PublicKey* signer) {
  const std::string kind_name = RecordKindName(kind);
  if (bytes.size() > kMaxSignedRecordBytes)
    return Status::Corrupt(kind_name + " record: " + std::to_string(bytes.size()) +
                           " bytes exceeds the limit of " + std::to_string(kMaxSignedRecordBytes));
  v1::SignedRecord env;
  if (!env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::Corrupt(kind_name + " record: not a SignedRecord");
  VEIL_RETURN_IF_ERROR(
      FixedBytes(env.signer_public_key(), "signer_public_key", signer).WithContext(kind_name));
  Signature sig{};
  VEIL_RETURN_IF_ERROR(FixedBytes(env.signature(), "signature", &sig).WithContext(kind_name));
  if (!Identity::Verify(*signer, Bytes(SignedMessage(kind, env.payload())), sig))
    return Status::Corrupt(kind_name + " record: invalid signature");
  *payload = std::move(*env.mutable_payload());
  return Status::Ok();
}

Status SameSigner(const PublicKey& claimed, const PublicKey& signer, const char* role) {
  if (claimed != signer)
    return Status::Corrupt(std::string("record is signed by a key other than its ") + role);
  return Status::Ok();
}

}  // namespace

const char* RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kNode:
      return "node";
    case RecordKind::kModel:
      return "model";
    case RecordKind::kOwnerKey:
      return "owner";
    case RecordKind::kState:
      return "state";
  }
  return "unknown";
}

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > kMaxModelNameChars || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> SignNodeRecord(const Identity& node, const NodeRecord& r) {
  if (r.node_key != node.public_key())
    return Status::InvalidArgument("node record: node_key is not the signing identity's key");
  {
    Status s = ValidateNode(r);
    if (!s.ok()) return Status::InvalidArgument("node record: " + s.message());
  }
  v1::NodeRecord m;
  m.set_node_public_key(ToBytes(r.node_key));
  m.set_grpc_address(r.grpc_address);
  m.mutable_capacity()->set_cores(r.capacity.cores);
  m.mutable_capacity()->set_memory_bytes(r.capacity.memory_bytes);
  for (const HostedSegment& s : r.segments) {
    v1::HostedSegmentRecord* h = m.add_segments();
    h->set_model_digest(ToBytes(s.model_digest));
    h->set_segment_index(s.segment_index);
    h->set_segment_digest(ToBytes(s.segment_digest));
    h->set_throughput_samples_per_s(s.throughput_samples_per_s);
  }
  m.set_issued_at_unix_ms(r.issued_at_unix_ms);
  m.set_seq(r.seq);
  return Seal(node, RecordKind::kNode, m.SerializeAsString());
}

Result<std::string> SignModelRecord(const Identity& owner, const ModelRecord& r) {
  if (r.owner_key != owner.public_key())
    return Status::InvalidArgument("model record: owner_key is not the signing identity's key");
  {
    Status s = ValidateModel(r);
    if (!s.ok()) return Status::InvalidArgument("model record: " + s.message());
  }
  v1::ModelRecord m;
  m.set_name(r.name);
  m.set_model_digest(ToBytes(r.model_digest));
  m.set_owner_public_key(ToBytes(r.owner_key));
  for (const SegmentManifestEntry& s : r.segments) {
    v1::SegmentManifestEntry* e = m.add_segments();
    e->set_index(s.index);
    e->set_segment_digest(ToBytes(s.segment_digest));
    e->set_byte_size(s.byte_size);
    e->set_fetch_uri(s.fetch_uri);
  }
  m.set_issued_at_unix_ms(r.issued_at_unix_ms);
  m.set_seq(r.seq);
  return Seal(owner, RecordKind::kModel, m.SerializeAsString());
}

Result<std::string> SignOwnerKeyRecord(const Identity& owner, const OwnerKeyRecord& r) {
  if (r.owner_key != owner.public_key())
    return Status::InvalidArgument("owner record: owner_key is not the signing identity's key");
  {
    Status s = ValidateOwner(r);
    if (!s.ok()) return Status::InvalidArgument("owner record: " + s.message());
  }
  v1::OwnerKeyRecord m;
  m.set_model_name(r.model_name);
  m.set_owner_public_key(ToBytes(r.owner_key));
  m.set_issued_at_unix_ms(r.issued_at_unix_ms);
  m.set_seq(r.seq);
  return Seal(owner, RecordKind::kOwnerKey, m.SerializeAsString());
}

Result<std::string> SignStateRecord(const Identity& writer, const std::string& payload) {
  return Seal(writer, RecordKind::kState, payload);
}

Result<std::string> VerifyStateRecord(std::string_view bytes, const PublicKey& writer) {
  std::string payload;
  PublicKey signer{};
  VEIL_RETURN_IF_ERROR(Open(RecordKind::kState, bytes, &payload, &signer));
  VEIL_RETURN_IF_ERROR(SameSigner(writer, signer, "writer"));
  return payload;
}

Result<NodeRecord> VerifyNodeRecord(std::string_view bytes) {
  std::string payload;
  PublicKey signer{};
  VEIL_RETURN_IF_ERROR(Open(RecordKind::kNode, bytes, &payload, &signer));
  v1::NodeRecord m;
  if (!m.ParseFromString(payload)) return Status::Corrupt("node record: payload does not decode");
  if (static_cast<size_t>(m.segments_size()) > kMaxHostedSegments)
    return Status::Corrupt("node record: more than " + std::to_string(kMaxHostedSegments) +
                           " hosted segments");
  NodeRecord r;
  VEIL_RETURN_IF_ERROR(
      FixedBytes(m.node_public_key(), "node_public_key", &r.node_key).WithContext("node record"));
  r.grpc_address = m.grpc_address();
  r.capacity.cores = m.capacity().cores();
  r.capacity.memory_bytes = m.capacity().memory_bytes();
  for (const v1::HostedSegmentRecord& h : m.segments()) {
    HostedSegment s;
    VEIL_RETURN_IF_ERROR(
        FixedBytes(h.model_digest(), "hosted segment model_digest", &s.model_digest)
            .WithContext("node record"));
    s.segment_index = h.segment_index();
    VEIL_RETURN_IF_ERROR(
        FixedBytes(h.segment_digest(), "hosted segment segment_digest", &s.segment_digest)
            .WithContext("node record"));
    s.throughput_samples_per_s = h.throughput_samples_per_s();
    r.segments.push_back(s);
  }
  r.issued_at_unix_ms = m.issued_at_unix_ms();
  r.seq = m.seq();
  VEIL_RETURN_IF_ERROR(ValidateNode(r).WithContext("node record"));
  VEIL_RETURN_IF_ERROR(SameSigner(r.node_key, signer, "node key").WithContext("node record"));
  return r;
}

Result<ModelRecord> VerifyModelRecord(std::string_view bytes) {
  std::string payload;
  PublicKey signer{};
  VEIL_RETURN_IF_ERROR(Open(RecordKind::kModel, bytes, &payload, &signer));
  v1::ModelRecord m;
  if (!m.ParseFromString(payload)) return Status::Corrupt("model record: payload does not decode");
  if (static_cast<size_t>(m.segments_size()) > kMaxManifestSegments)
    return Status::Corrupt("model record: more than " + std::to_string(kMaxManifestSegments) +
                           " manifest segments");
  ModelRecord r;
  r.name = m.name();
  VEIL_RETURN_IF_ERROR(
      FixedBytes(m.model_digest(), "model_digest", &r.model_digest).WithContext("model record"));
  VEIL_RETURN_IF_ERROR(FixedBytes(m.owner_public_key(), "owner_public_key", &r.owner_key)
                           .WithContext("model record"));
  for (const v1::SegmentManifestEntry& e : m.segments()) {
    SegmentManifestEntry s;
    s.index = e.index();
    VEIL_RETURN_IF_ERROR(
        FixedBytes(e.segment_digest(), "manifest segment_digest", &s.segment_digest)
            .WithContext("model record"));
    s.byte_size = e.byte_size();
    s.fetch_uri = e.fetch_uri();
    r.segments.push_back(std::move(s));
  }
  r.issued_at_unix_ms = m.issued_at_unix_ms();
  r.seq = m.seq();
  VEIL_RETURN_IF_ERROR(ValidateModel(r).WithContext("model record"));
  VEIL_RETURN_IF_ERROR(SameSigner(r.owner_key, signer, "owner key").WithContext("model record"));
  return r;
}

Result<OwnerKeyRecord> VerifyOwnerKeyRecord(std::string_view bytes) {
  std::string payload;
  PublicKey signer{};
  VEIL_RETURN_IF_ERROR(Open(RecordKind::kOwnerKey, bytes, &payload, &signer));
  v1::OwnerKeyRecord m;
  if (!m.ParseFromString(payload)) return Status::Corrupt("owner record: payload does not decode");
  OwnerKeyRecord r;
  r.model_name = m.model_name();
  VEIL_RETURN_IF_ERROR(FixedBytes(m.owner_public_key(), "owner_public_key", &r.owner_key)
                           .WithContext("owner record"));
  r.issued_at_unix_ms = m.issued_at_unix_ms();
  r.seq = m.seq();
  VEIL_RETURN_IF_ERROR(ValidateOwner(r).WithContext("owner record"));
  VEIL_RETURN_IF_ERROR(SameSigner(r.owner_key, signer, "owner key").WithContext("owner record"));
  return r;
}

Status ReplayGuard::Admit(RecordKind kind, std::string_view subject, const PublicKey& signer,
                          uint64_t seq, const Digest& record_digest) {
  std::string key = RecordKindName(kind);
  key += '/';
  key.append(subject);
  key += '/';
  key += NodeIdOf(signer);
  auto [it, inserted] = newest_.try_emplace(key, Newest{seq, record_digest});
  if (inserted) return Status::Ok();
  Newest& n = it->second;
  if (seq < n.seq)
    return Status::Corrupt(std::string(RecordKindName(kind)) + " record for " +
                           std::string(subject) + ": seq " + std::to_string(seq) +
                           " is older than the newest seen (" + std::to_string(n.seq) +
                           "): replayed");
  if (seq == n.seq && record_digest != n.digest)
    return Status::Corrupt(std::string(RecordKindName(kind)) + " record for " +
                           std::string(subject) + ": two different records with seq " +
                           std::to_string(seq));
  n = Newest{seq, record_digest};
  return Status::Ok();
}

}  // namespace veil::registry
