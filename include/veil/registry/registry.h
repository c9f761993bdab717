// Registry: the API the rest of veil uses to find nodes and models (docs/registry.md).
//
// Layout in the key-value store (either backend, both spoken to as etcd v3):
//     /veil/v1/nodes/<node id>   signed NodeRecord, attached to the node's lease
//     /veil/v1/owners/<name>     signed OwnerKeyRecord: the first key to claim <name>
//     /veil/v1/models/<name>     signed ModelRecord, signed by the owner key
//     /veil/v1/state/<name>/<id> signed state record of key <id> (e.g. a reputation book)
// Readers verify every record (records.h) and skip invalid, misplaced, replayed (older seq)
// or unowned ones with a logged reason; nothing unverified is ever returned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "veil/registry/identity.h"
#include "veil/registry/kv_store.h"
#include "veil/registry/records.h"
#include "veil/status.h"

namespace veil::registry {

inline constexpr const char* kNodesPrefix = "/veil/v1/nodes/";
inline constexpr const char* kOwnersPrefix = "/veil/v1/owners/";
inline constexpr const char* kModelsPrefix = "/veil/v1/models/";
inline constexpr const char* kStatePrefix = "/veil/v1/state/";

struct RegistryOptions {
  int64_t call_timeout_ms = 3000;
  // Receives one line per skipped record or lost lease; nullptr = stderr.
  std::function<void(const std::string&)> log;
};

class Registry {
 public:
  // `endpoint` is "etcd://host:port": a real etcd 3.4 or an EmbeddedRegistryServer.
  static Result<std::unique_ptr<Registry>> Connect(const std::string& endpoint,
                                                   RegistryOptions options = {});
  ~Registry();  // Leave()
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Grants a lease of `ttl_s` seconds, stamps `record` (issued_at = now, seq = max(now in
  // unix ms, previous seq + 1)), signs it and puts it under /veil/v1/nodes/<node id> with the
  // lease, then keeps the lease alive from a background thread (every ttl/3) until Leave().
  // If the lease is lost anyway (e.g. the registry was unreachable for longer than the TTL),
  // the thread grants a new lease and re-publishes. record.node_key must be identity's key.
  // Calling Join again while joined re-publishes the new record under the same lease.
  Status Join(const Identity& identity, NodeRecord record, int64_t ttl_s);
  // Stops the keep-alive thread and revokes the lease, which removes the node record.
  // No-op if not joined.
  Status Leave();

  // Claims `record.name` for the owner's key if unclaimed (atomically: first key wins, see
  // docs/registry.md), then publishes the stamped, signed model record (issued_at and seq as
  // in Join). Fails if another key owns the name or its owner record is invalid.
  Status PublishModel(const Identity& owner, ModelRecord record);

  // The verified node records currently registered, sorted by node id.
  Result<std::vector<NodeRecord>> ListNodes();
  // The verified model record for `name`; NotFound if absent or not validly owned.
  Result<ModelRecord> GetModel(const std::string& name);
  // Every verified, validly owned model record, sorted by name.
  Result<std::vector<ModelRecord>> ListModels();

  // Stores `payload` as the signed state record /veil/v1/state/<name>/<writer id> (no
  // lease: it persists). `name` follows the model-name rule.
  Status PutState(const Identity& writer, const std::string& name, const std::string& payload);
  // The payload of writer's state record `name`; NotFound if absent, Corrupt if invalid.
  Result<std::string> GetState(const PublicKey& writer, const std::string& name);
  // The same record as signed bytes (verified, so VerifyStateRecord(result, writer) holds):
  // for snapshots that let others check the writer's signature offline.
  Result<std::string> GetSignedState(const PublicKey& writer, const std::string& name);

  // Calls `on_change` with the verified node set: once with the current set before returning
  // (on the calling thread), then from a background thread after every change (a node
  // joining, updating, leaving or whose lease expired) until the handle is cancelled or
  // destroyed. The handle may outlive the Registry.
  using NodesCallback = std::function<void(const std::vector<NodeRecord>&)>;
  Result<std::unique_ptr<WatchHandle>> WatchNodes(NodesCallback on_change);

 private:
  struct Reader;  // record verification + replay state, shared with running watches

  Registry(std::unique_ptr<KvStore> kv, RegistryOptions options);
  void KeepAliveLoop();
  Status PutNodeRecord();
  Result<OwnerKeyRecord> ReadOwner(const std::string& name);
  Result<ModelRecord> CheckModelValue(const std::string& key, const std::string& value);

  std::unique_ptr<KvStore> kv_;
  std::shared_ptr<Reader> reader_;

  // Join state (guarded by join_mutex_).
  std::mutex join_mutex_;
  std::condition_variable join_cv_;
  bool joined_ = false;
  bool stop_keepalive_ = false;
  std::string node_key_;       // /veil/v1/nodes/<id>
  std::string signed_record_;  // what Join published
  LeaseId lease_ = 0;
  int64_t ttl_s_ = 0;
  uint64_t last_seq_ = 0;
  std::thread keepalive_thread_;
};

}  // namespace veil::registry
