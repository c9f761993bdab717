// EmbeddedRegistryServer: the default registry backend — an in-process, in-memory server of
// the same etcd v3 gRPC subset a real etcd serves (proto/etcd/: KV Range/Put/DeleteRange,
// Lease Grant/Revoke/KeepAlive, Watch), on a loopback port. Clients reach it exactly as they
// reach etcd ("etcd://127.0.0.1:<port>"), so there is one client protocol for both backends.
//
// Semantics follow etcd: one store revision incremented by every change; leases expire TTL
// seconds after their last keep-alive and delete their keys (one revision per expiry); watches
// deliver PUT and DELETE events (expiry deletions included) in revision order and can start
// from a past revision still in the event history. State is lost when the server stops.
// docs/registry.md lists the differences from etcd.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "veil/status.h"

namespace veil::registry {

struct EmbeddedRegistryOptions {
  // "host:port"; port 0 picks a free port (see port()).
  std::string listen_address = "127.0.0.1:0";
  // Resource caps: a request over them gets RESOURCE_EXHAUSTED, never unbounded memory.
  int64_t max_request_bytes = int64_t{2} << 20;
  int64_t max_store_bytes = int64_t{256} << 20;  // keys + values
  int64_t max_keys = 1'000'000;
  int64_t max_leases = 100'000;
  int64_t max_watch_history = 100'000;  // events kept for watches from a past revision
};

class EmbeddedRegistryServer {
 public:
  static Result<std::unique_ptr<EmbeddedRegistryServer>> Start(
      EmbeddedRegistryOptions options = {});
  ~EmbeddedRegistryServer();  // Shutdown()
  EmbeddedRegistryServer(const EmbeddedRegistryServer&) = delete;
  EmbeddedRegistryServer& operator=(const EmbeddedRegistryServer&) = delete;

  int port() const;
  // "etcd://host:port" with the bound port: the connection string for EtcdKv and Registry.
  std::string endpoint() const;
  // Stops serving (open watch and keep-alive streams are cancelled). Idempotent.
  void Shutdown();
  // Blocks until Shutdown is called from another thread.
  void Wait();

 private:
  EmbeddedRegistryServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::registry
