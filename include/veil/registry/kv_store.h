// KvStore: the key-value layer under the registry — keys, leases and watches with etcd v3
// semantics — and its one client, EtcdKv, which speaks etcd's v3 gRPC API
// (proto/etcd/, docs/registry.md) to either backend: a real etcd 3.4 server or veil's
// EmbeddedRegistryServer (embedded_server.h).
//
// Every call has a deadline (EtcdKvOptions::call_timeout_ms); a server that does not answer
// in time gives an IoError, never a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/status.h"

namespace veil::registry {

using LeaseId = int64_t;  // 0 = no lease

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  LeaseId lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // sorted by key
  int64_t revision = 0;       // the store revision the result reflects
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value;  // empty for kDelete
  int64_t revision = 0;
};

// Events of one or more revisions, in revision order.
using WatchCallback = std::function<void(const std::vector<WatchEvent>&)>;

// A running watch. Cancel (or destruction) stops it; once Cancel returns the callback is
// not running and will not run again. Do not call Cancel from inside the callback. A handle
// may outlive the store that created it.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
  virtual void Cancel() = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual Status Put(const std::string& key, const std::string& value, LeaseId lease) = 0;
  // Atomically creates `key` if it does not exist (an etcd Txn comparing its
  // create_revision with 0); true if it was created, false if the key already existed.
  virtual Result<bool> PutIfAbsent(const std::string& key, const std::string& value,
                                   LeaseId lease) = 0;
  // Every key starting with `prefix` ("" = all keys).
  virtual Result<RangeResult> Range(const std::string& prefix) = 0;
  // Deletes `key` (exact match); deleting a missing key is not an error.
  virtual Status Delete(const std::string& key) = 0;
  // A lease that expires `ttl_s` seconds after its last keep-alive, deleting its keys.
  // The server may raise the TTL (etcd enforces a minimum, typically 2 s); *granted_ttl_s
  // (optional) receives the TTL actually granted.
  virtual Result<LeaseId> GrantLease(int64_t ttl_s, int64_t* granted_ttl_s) = 0;
  // Renews the lease once; returns its remaining TTL in seconds, or NotFound if the lease
  // has expired or was revoked.
  virtual Result<int64_t> KeepAliveOnce(LeaseId lease) = 0;
  // Revokes the lease and deletes its keys; NotFound if it no longer exists.
  virtual Status RevokeLease(LeaseId lease) = 0;
  // Calls `callback` with every change to keys starting with `prefix` at revisions >=
  // start_revision (0 = from now). Returns once the server has confirmed the watch. If the
  // stream breaks, the watch reconnects and resumes after the last delivered revision.
  virtual Result<std::unique_ptr<WatchHandle>> Watch(const std::string& prefix,
                                                     int64_t start_revision,
                                                     WatchCallback callback) = 0;
};

struct EtcdKvOptions {
  int64_t call_timeout_ms = 3000;
  // Receives one line per notable event (watch reconnects); nullptr = stderr.
  std::function<void(const std::string&)> log;
};

// Parses "etcd://host:port" into "host:port" (the gRPC target).
Result<std::string> ParseEtcdEndpoint(const std::string& endpoint);

// Client of the etcd v3 gRPC API (plaintext gRPC: for loopback and trusted networks; the
// records it carries are signed, see docs/registry.md for what that does and does not cover).
class EtcdKv final : public KvStore {
 public:
  // `endpoint` is "etcd://host:port". Connects lazily; the first call reports an unreachable
  // server as an IoError.
  static Result<std::unique_ptr<EtcdKv>> Connect(const std::string& endpoint,
                                                 EtcdKvOptions options = {});
  ~EtcdKv() override;

  Status Put(const std::string& key, const std::string& value, LeaseId lease) override;
  Result<bool> PutIfAbsent(const std::string& key, const std::string& value,
                           LeaseId lease) override;
  Result<RangeResult> Range(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Result<LeaseId> GrantLease(int64_t ttl_s, int64_t* granted_ttl_s) override;
  Result<int64_t> KeepAliveOnce(LeaseId lease) override;
  Status RevokeLease(LeaseId lease) override;
  Result<std::unique_ptr<WatchHandle>> Watch(const std::string& prefix, int64_t start_revision,
                                             WatchCallback callback) override;

  struct Impl;

 private:
  explicit EtcdKv(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;  // shared with running watches
};

}  // namespace veil::registry
