// A veil network seen through its registry (docs/net.md): who may connect (KeyRing), where
// each segment runs (routing by expected latency), and the glue that keeps a SplitRunner's
// route current as nodes join, leave or lose their lease.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "veil/graph.h"
#include "veil/net/link_security.h"
#include "veil/net/split_inference.h"
#include "veil/registry/identity.h"
#include "veil/registry/registry.h"
#include "veil/status.h"

namespace veil::net {

// The reserved address (RFC 2606 ".invalid") under which a client registers: clients
// join like nodes that host nothing, so that nodes admit their keys; it is never dialled.
inline constexpr const char* kClientAddress = "client.invalid:1";

// The set of keys allowed to connect, replaced wholesale on every registry change.
class KeyRing {
 public:
  void Replace(std::set<PublicKey> keys);
  void Add(const PublicKey& key);
  bool Contains(const PublicKey& key) const;
  size_t size() const;
  // A PeerCheck reading this ring (which must outlive every link using the check).
  PeerCheck Check() const;

 private:
  mutable std::mutex mutex_;
  std::set<PublicKey> keys_;
};

// Every registered key (nodes and clients) in `nodes`.
std::set<PublicKey> RegisteredKeys(const std::vector<registry::NodeRecord>& nodes);

// Mutual TLS for `identity`, admitting the keys in `ring`.
Result<LinkSecurity> IdentityLink(const registry::Identity& identity, const KeyRing& ring);

// Candidate nodes per middle segment of `model`, each list ordered by expected latency:
// the measured round trip to the node plus its advertised time per sample, plus, for a
// node already chosen for an earlier stage, that stage's cost and kReusePenaltyMs (so
// stages spread over distinct nodes unless one is clearly faster), plus
// kDistrustPenaltyMs * (1 - R) for a node of reputation R in the client's book (nodes the
// book does not rate count as R = kUnratedReputation), so routing prefers reputable nodes.
// Only nodes that advertise the segment with the digest in the model record are
// candidates. `rtt_ms` maps node addresses to measured round trips (a node missing from it
// goes last).
inline constexpr double kReusePenaltyMs = 1.0;
inline constexpr double kDistrustPenaltyMs = 20.0;
inline constexpr double kUnratedReputation = 0.5;
Result<Route> PlanRoute(const registry::ModelRecord& model,
                        const std::vector<registry::NodeRecord>& nodes,
                        const std::map<std::string, double>& rtt_ms,
                        const std::map<PublicKey, double>& reputation = {});

// The registry state record (registry.h PutState) under which a client keeps its
// reputation book (consensus/reputation.h), and the active reputations it holds.
inline constexpr const char* kReputationStateName = "reputation";
std::map<PublicKey, double> LoadReputations(registry::Registry& registry,
                                            const registry::Identity& client);

// Measures the round trip of an Info call to each address (in parallel is not needed at
// this scale: sequentially, with `deadline_ms` each); unreachable nodes are left out.
std::map<std::string, double> MeasureRoundTrips(const std::vector<std::string>& addresses,
                                                const NodeClientOptions& options,
                                                int64_t deadline_ms);

// A client's connection to a network: registers the client's identity (so nodes admit
// it), keeps the ring of registered keys current, and routes models.
class NetworkClient {
 public:
  static Result<std::unique_ptr<NetworkClient>> Connect(const std::string& registry_endpoint,
                                                        const std::string& data_dir,
                                                        int64_t lease_ttl_s = 10);
  ~NetworkClient();

  registry::Registry& registry() { return *registry_; }
  const registry::Identity& identity() const { return *identity_; }
  const LinkSecurity& security() const { return security_; }

  // A runner for `graph`, which must be the model named by `record` (its ModelDigest is
  // checked), routed over the registered nodes and re-routed on every node-set change
  // for as long as the runner is registered here (until the NetworkClient is destroyed).
  Result<std::shared_ptr<SplitRunner>> Runner(const Graph& graph,
                                              const registry::ModelRecord& record,
                                              SplitOptions options = {});

 private:
  NetworkClient() = default;
  void OnNodes(const std::vector<registry::NodeRecord>& nodes);

  std::unique_ptr<registry::Identity> identity_;
  std::unique_ptr<registry::Registry> registry_;
  KeyRing ring_;
  LinkSecurity security_;
  std::unique_ptr<registry::WatchHandle> watch_;
  std::mutex mutex_;
  struct Routed {
    std::weak_ptr<SplitRunner> runner;
    registry::ModelRecord record;
  };
  std::vector<Routed> routed_;
  std::vector<registry::NodeRecord> nodes_;
  std::map<PublicKey, double> reputation_;  // the client's book when the last runner was made
};

}  // namespace veil::net
