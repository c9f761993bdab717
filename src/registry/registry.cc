#include "veil/registry/registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

namespace veil::registry {
namespace {

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// seq = max(now in unix ms, previous + 1): strictly increasing within a process and, as long
// as the clock does not step back, across restarts without storing a counter.
uint64_t NextSeq(uint64_t* last) {
  *last = std::max<uint64_t>(static_cast<uint64_t>(UnixMillis()), *last + 1);
  return *last;
}

Digest DigestOf(const std::string& bytes) {
  return Sha256({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

// The value stored under exactly `key` (Range is by prefix).
Result<std::optional<std::string>> GetExact(KvStore& kv, const std::string& key) {
  VEIL_ASSIGN_OR_RETURN(RangeResult r, kv.Range(key));
  for (KeyValue& entry : r.kvs)
    if (entry.key == key) return std::optional<std::string>(std::move(entry.value));
  return std::optional<std::string>();
}

}  // namespace

struct Registry::Reader {
  std::function<void(const std::string&)> log;
  std::mutex mutex;
  ReplayGuard replay;

  void Log(const std::string& line) const {
    if (log)
      log(line);
    else
      std::fprintf(stderr, "veil registry: %s\n", line.c_str());
  }

  Status Admit(RecordKind kind, const std::string& subject, const PublicKey& signer, uint64_t seq,
               const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    return replay.Admit(kind, subject, signer, seq, DigestOf(bytes));
  }

  // Verifies one stored node value; logs and returns an error for anything invalid.
  Result<NodeRecord> CheckNodeValue(const std::string& key, const std::string& value) {
    Result<NodeRecord> node = VerifyNodeRecord(value);
    Status s = node.ok() ? Status::Ok() : node.status();
    if (s.ok() && key != kNodesPrefix + node->node_id())
      s = Status::Corrupt("record of node " + node->node_id() + " stored under the wrong key");
    if (s.ok()) s = Admit(RecordKind::kNode, node->node_id(), node->node_key, node->seq, value);
    if (!s.ok()) {
      Log("skipping " + key + ": " + s.ToString());
      return s;
    }
    return node;
  }
};

Registry::Registry(std::unique_ptr<KvStore> kv, RegistryOptions options)
    : kv_(std::move(kv)), reader_(std::make_shared<Reader>()) {
  reader_->log = std::move(options.log);
}

Registry::~Registry() { (void)Leave(); }

Result<std::unique_ptr<Registry>> Registry::Connect(const std::string& endpoint,
                                                    RegistryOptions options) {
  EtcdKvOptions kv_options;
  kv_options.call_timeout_ms = options.call_timeout_ms;
  kv_options.log = options.log;
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<EtcdKv> kv, EtcdKv::Connect(endpoint, kv_options));
  return std::unique_ptr<Registry>(new Registry(std::move(kv), std::move(options)));
}

Status Registry::PutNodeRecord() { return kv_->Put(node_key_, signed_record_, lease_); }

Status Registry::Join(const Identity& identity, NodeRecord record, int64_t ttl_s) {
  if (ttl_s <= 0) return Status::InvalidArgument("join: lease TTL must be positive seconds");
  std::unique_lock<std::mutex> lock(join_mutex_);
  const std::string key = kNodesPrefix + identity.node_id();
  if (joined_ && key != node_key_)
    return Status::InvalidArgument("join: this registry handle already joined as " + node_key_);
  record.issued_at_unix_ms = UnixMillis();
  record.seq = NextSeq(&last_seq_);
  VEIL_ASSIGN_OR_RETURN(std::string signed_record, SignNodeRecord(identity, record));
  if (joined_) {
    // Update in place under the live lease.
    std::string previous = std::move(signed_record_);
    signed_record_ = std::move(signed_record);
    Status s = PutNodeRecord();
    if (!s.ok()) signed_record_ = std::move(previous);
    return s;
  }
  int64_t granted = 0;
  VEIL_ASSIGN_OR_RETURN(LeaseId lease, kv_->GrantLease(ttl_s, &granted));
  node_key_ = key;
  signed_record_ = std::move(signed_record);
  lease_ = lease;
  ttl_s_ = granted > 0 ? granted : ttl_s;
  if (Status s = PutNodeRecord(); !s.ok()) {
    (void)kv_->RevokeLease(lease);
    return s;
  }
  joined_ = true;
  stop_keepalive_ = false;
  keepalive_thread_ = std::thread([this] { KeepAliveLoop(); });
  return Status::Ok();
}

// Renews the lease every ttl/3. If the lease is lost (expired while the registry was
// unreachable, or revoked), grants a new one and re-publishes the same signed record (same
// seq: readers accept the identical record again); a failed publication is retried on the
// next tick rather than leaving a live lease without a record.
void Registry::KeepAliveLoop() {
  std::unique_lock<std::mutex> lock(join_mutex_);
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(ttl_s_ * 1000 / 3, 100));
  bool published = true;  // Join published under lease_
  while (!stop_keepalive_) {
    join_cv_.wait_for(lock, interval, [this] { return stop_keepalive_; });
    if (stop_keepalive_) break;
    if (published) {
      Result<int64_t> ttl = kv_->KeepAliveOnce(lease_);
      if (ttl.ok()) continue;
      if (ttl.status().code() != StatusCode::kNotFound) {
        reader_->Log("keep-alive for " + node_key_ + " failed: " + ttl.status().ToString());
        continue;
      }
      reader_->Log("lease for " + node_key_ + " was lost; re-joining with a new lease");
    } else {
      Status s = PutNodeRecord();
      if (s.ok()) {
        published = true;
        continue;
      }
      reader_->Log("re-publishing " + node_key_ + " failed: " + s.ToString());
      if (s.code() != StatusCode::kNotFound) continue;  // retry the put; lease still valid
    }
    published = false;
    int64_t granted = 0;
    Result<LeaseId> lease = kv_->GrantLease(ttl_s_, &granted);
    if (!lease.ok()) {
      reader_->Log("re-join of " + node_key_ + " failed: " + lease.status().ToString());
      continue;  // the next tick finds the old lease gone again and retries the grant
    }
    lease_ = *lease;
    Status s = PutNodeRecord();
    if (s.ok())
      published = true;
    else
      reader_->Log("re-publishing " + node_key_ + " failed: " + s.ToString());
  }
}

Status Registry::Leave() {
  std::unique_lock<std::mutex> lock(join_mutex_);
  if (!joined_) return Status::Ok();
  stop_keepalive_ = true;
  join_cv_.notify_all();
  std::thread keepalive = std::move(keepalive_thread_);
  lock.unlock();
  if (keepalive.joinable()) keepalive.join();
  lock.lock();
  joined_ = false;
  Status s = kv_->RevokeLease(lease_);
  if (s.code() == StatusCode::kNotFound) s = kv_->Delete(node_key_);  // expired meanwhile
  lease_ = 0;
  return s;
}

Result<OwnerKeyRecord> Registry::ReadOwner(const std::string& name) {
  const std::string key = kOwnersPrefix + name;
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, GetExact(*kv_, key));
  if (!value) return Status::NotFound("model " + name + " has no owner record");
  Result<OwnerKeyRecord> owner = VerifyOwnerKeyRecord(*value);
  if (!owner.ok()) return owner.status().WithContext(key);
  if (owner->model_name != name)
    return Status::Corrupt(key + ": owner record is for model " + owner->model_name);
  VEIL_RETURN_IF_ERROR(
      reader_->Admit(RecordKind::kOwnerKey, name, owner->owner_key, owner->seq, *value));
  return owner;
}

Status Registry::PublishModel(const Identity& owner, ModelRecord record) {
  if (!IsValidModelName(record.name))
    return Status::InvalidArgument("publish: invalid model name \"" + record.name + "\"");
  uint64_t seq_source = 0;
  {
    std::lock_guard<std::mutex> lock(join_mutex_);
    seq_source = NextSeq(&last_seq_);
  }
  Result<OwnerKeyRecord> current = ReadOwner(record.name);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound)
    return current.status().WithContext("publish: cannot check who owns \"" + record.name +
                                        "\" (an invalid owner record is never overwritten)");
  if (!current.ok()) {
    // Unclaimed: claim it atomically. If another key claimed it between our read and our
    // write, the store keeps that claim (first key wins) and we re-read it below.
    OwnerKeyRecord claim;
    claim.model_name = record.name;
    claim.owner_key = owner.public_key();
    claim.issued_at_unix_ms = UnixMillis();
    claim.seq = seq_source;
    VEIL_ASSIGN_OR_RETURN(std::string signed_claim, SignOwnerKeyRecord(owner, claim));
    VEIL_ASSIGN_OR_RETURN(bool claimed,
                          kv_->PutIfAbsent(kOwnersPrefix + record.name, signed_claim, 0));
    if (!claimed) current = ReadOwner(record.name);
    if (!claimed && !current.ok()) return current.status().WithContext("publish");
  }
  if (current.ok() && current->owner_key != owner.public_key())
    return Status::InvalidArgument("publish: model name \"" + record.name +
                                   "\" is owned by another key (" + NodeIdOf(current->owner_key) +
                                   ")");
  record.issued_at_unix_ms = UnixMillis();
  record.seq = seq_source;
  VEIL_ASSIGN_OR_RETURN(std::string signed_model, SignModelRecord(owner, record));
  return kv_->Put(kModelsPrefix + record.name, signed_model, 0);
}

Result<ModelRecord> Registry::CheckModelValue(const std::string& key, const std::string& value) {
  Result<ModelRecord> model = VerifyModelRecord(value);
  Status s = model.ok() ? Status::Ok() : model.status();
  const std::string name = key.substr(std::string(kModelsPrefix).size());
  if (s.ok() && model->name != name)
    s = Status::Corrupt("record of model " + model->name + " stored under the wrong key");
  if (s.ok()) {
    Result<OwnerKeyRecord> owner = ReadOwner(name);
    if (!owner.ok())
      s = owner.status();
    else if (owner->owner_key != model->owner_key)
      s = Status::Corrupt("model record is signed by " + NodeIdOf(model->owner_key) +
                          ", but the name is owned by " + NodeIdOf(owner->owner_key));
  }
  if (s.ok()) s = reader_->Admit(RecordKind::kModel, name, model->owner_key, model->seq, value);
  if (!s.ok()) {
    reader_->Log("skipping " + key + ": " + s.ToString());
    return s;
  }
  return model;
}

Result<std::vector<NodeRecord>> Registry::ListNodes() {
  VEIL_ASSIGN_OR_RETURN(RangeResult r, kv_->Range(kNodesPrefix));
  std::vector<NodeRecord> nodes;
  for (const KeyValue& entry : r.kvs) {
    Result<NodeRecord> node = reader_->CheckNodeValue(entry.key, entry.value);
    if (node.ok()) nodes.push_back(std::move(node).value());
  }
  return nodes;
}

Result<ModelRecord> Registry::GetModel(const std::string& name) {
  if (!IsValidModelName(name))
    return Status::InvalidArgument("invalid model name \"" + name + "\"");
  const std::string key = kModelsPrefix + name;
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, GetExact(*kv_, key));
  if (!value) return Status::NotFound("model " + name + " is not published");
  Result<ModelRecord> model = CheckModelValue(key, *value);
  if (!model.ok())
    return Status::NotFound("model " + name + " has no valid record: " + model.status().message());
  return model;
}

Status Registry::PutState(const Identity& writer, const std::string& name,
                          const std::string& payload) {
  if (!IsValidModelName(name))
    return Status::InvalidArgument("invalid state name \"" + name + "\"");
  VEIL_ASSIGN_OR_RETURN(std::string record, SignStateRecord(writer, payload));
  return kv_->Put(kStatePrefix + name + "/" + writer.node_id(), record, 0);
}

Result<std::string> Registry::GetState(const PublicKey& writer, const std::string& name) {
  if (!IsValidModelName(name))
    return Status::InvalidArgument("invalid state name \"" + name + "\"");
  const std::string key = kStatePrefix + name + "/" + NodeIdOf(writer);
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, GetExact(*kv_, key));
  if (!value) return Status::NotFound("no state " + name + " for this key");
  return VerifyStateRecord(*value, writer);
}

Result<std::string> Registry::GetSignedState(const PublicKey& writer, const std::string& name) {
  if (!IsValidModelName(name))
    return Status::InvalidArgument("invalid state name \"" + name + "\"");
  const std::string key = kStatePrefix + name + "/" + NodeIdOf(writer);
  VEIL_ASSIGN_OR_RETURN(std::optional<std::string> value, GetExact(*kv_, key));
  if (!value) return Status::NotFound("no state " + name + " for this key");
  VEIL_RETURN_IF_ERROR(VerifyStateRecord(*value, writer).status());
  return *value;
}

Result<std::vector<ModelRecord>> Registry::ListModels() {
  VEIL_ASSIGN_OR_RETURN(RangeResult r, kv_->Range(kModelsPrefix));
  std::vector<ModelRecord> models;
  for (const KeyValue& entry : r.kvs) {
    Result<ModelRecord> model = CheckModelValue(entry.key, entry.value);
    if (model.ok()) models.push_back(std::move(model).value());
  }
  return models;
}

namespace {

// Verified node set maintained from watch events; only changed values are re-verified.
struct NodeSetState {
  std::mutex mutex;
  std::map<std::string, std::pair<std::string, std::optional<NodeRecord>>> by_key;

  std::vector<NodeRecord> Snapshot() const {
    std::vector<NodeRecord> out;
    for (const auto& [key, entry] : by_key)
      if (entry.second) out.push_back(*entry.second);
    return out;
  }
};

}  // namespace

Result<std::unique_ptr<WatchHandle>> Registry::WatchNodes(NodesCallback on_change) {
  if (!on_change) return Status::InvalidArgument("watch nodes: no callback");
  auto state = std::make_shared<NodeSetState>();
  VEIL_ASSIGN_OR_RETURN(RangeResult r, kv_->Range(kNodesPrefix));
  for (const KeyValue& entry : r.kvs) {
    Result<NodeRecord> node = reader_->CheckNodeValue(entry.key, entry.value);
    state->by_key[entry.key] = {entry.value,
                                node.ok() ? std::optional<NodeRecord>(*node) : std::nullopt};
  }
  on_change(state->Snapshot());
  auto callback = [reader = reader_, state, on_change](const std::vector<WatchEvent>& events) {
    std::vector<NodeRecord> snapshot;
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      for (const WatchEvent& e : events) {
        if (e.type == WatchEvent::Type::kDelete) {
          state->by_key.erase(e.key);
          continue;
        }
        auto it = state->by_key.find(e.key);
        if (it != state->by_key.end() && it->second.first == e.value) continue;
        Result<NodeRecord> node = reader->CheckNodeValue(e.key, e.value);
        state->by_key[e.key] = {e.value,
                                node.ok() ? std::optional<NodeRecord>(*node) : std::nullopt};
      }
      snapshot = state->Snapshot();
    }
    on_change(snapshot);
  };
  return kv_->Watch(kNodesPrefix, r.revision + 1, std::move(callback));
}

}  // namespace veil::registry
