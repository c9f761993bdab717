#include "veil/net/network.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "veil/consensus/reputation.h"
#include "veil/model_file.h"

namespace veil::net {

void KeyRing::Replace(std::set<PublicKey> keys) {
  std::lock_guard<std::mutex> lock(mutex_);
  keys_ = std::move(keys);
}

void KeyRing::Add(const PublicKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  keys_.insert(key);
}

bool KeyRing::Contains(const PublicKey& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_.count(key) != 0;
}

size_t KeyRing::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_.size();
}

PeerCheck KeyRing::Check() const {
  return [this](const PublicKey& key) { return Contains(key); };
}

std::set<PublicKey> RegisteredKeys(const std::vector<registry::NodeRecord>& nodes) {
  std::set<PublicKey> keys;
  for (const auto& n : nodes) keys.insert(n.node_key);
  return keys;
}

Result<LinkSecurity> IdentityLink(const registry::Identity& identity, const KeyRing& ring) {
  std::array<uint8_t, 32> seed = identity.TlsSeed();
  Result<LinkSecurity> link = LinkSecurity::MutualTls(seed, ring.Check());
  sodium_memzero(seed.data(), seed.size());
  return link;
}

namespace {

struct Candidate {
  double own_ms;  // round trip + compute time per sample
  std::string address;
};

// Expected cost of choosing candidate choice[s] for every stage s: the stages' own costs,
// plus, for each stage on a node already used by an earlier stage, that node's earlier
// cost and kReusePenaltyMs (see network.h).
// Only the first `stage_count` stages are counted.
double RouteCost(const std::vector<std::vector<Candidate>>& stages,
                 const std::vector<size_t>& choice, size_t stage_count) {
  std::map<std::string, double> placed;
  double total = 0;
  for (size_t s = 0; s < stage_count; ++s) {
    const Candidate& c = stages[s][choice[s]];
    const auto it = placed.find(c.address);
    total += c.own_ms + (it == placed.end() ? 0 : it->second);
    placed[c.address] += c.own_ms + kReusePenaltyMs;
  }
  return total;
}

// The cheapest assignment: exhaustive when the search space is small (it is, for the
// handful of candidates per segment a deployment has), else greedy stage by stage.
std::vector<size_t> BestAssignment(const std::vector<std::vector<Candidate>>& stages) {
  constexpr double kExhaustiveLimit = 1 << 16;
  double space = 1;
  for (const auto& c : stages) space *= static_cast<double>(c.size());
  std::vector<size_t> choice(stages.size(), 0);
  if (space > kExhaustiveLimit) {
    for (size_t s = 0; s < stages.size(); ++s) {
      size_t arg = 0;
      double best = 0;
      for (size_t k = 0; k < stages[s].size(); ++k) {
        choice[s] = k;
        const double cost = RouteCost(stages, choice, s + 1);
        if (k == 0 || cost < best) {
          best = cost;
          arg = k;
        }
      }
      choice[s] = arg;
    }
    return choice;
  }
  std::vector<size_t> best = choice, current = choice;
  double best_cost = RouteCost(stages, best, stages.size());
  while (true) {  // odometer over every assignment
    size_t s = 0;
    while (s < stages.size() && ++current[s] == stages[s].size()) current[s++] = 0;
    if (s == stages.size()) break;
    const double cost = RouteCost(stages, current, stages.size());
    if (cost < best_cost) {
      best_cost = cost;
      best = current;
    }
  }
  return best;
}

}  // namespace

Result<Route> PlanRoute(const registry::ModelRecord& model,
                        const std::vector<registry::NodeRecord>& nodes,
                        const std::map<std::string, double>& rtt_ms,
                        const std::map<PublicKey, double>& reputation) {
  const int count = static_cast<int>(model.segments.size());
  if (count < 3)
    return Status::InvalidArgument("model " + model.name + " has " + std::to_string(count) +
                                   " segments; split inference needs at least 3");
  std::vector<std::vector<Candidate>> stages;
  for (int s = 1; s <= count - 2; ++s) {
    const registry::SegmentManifestEntry& entry = model.segments[static_cast<size_t>(s)];
    std::vector<Candidate> candidates;
    for (const auto& node : nodes)
      for (const auto& hosted : node.segments) {
        if (hosted.model_digest != model.model_digest ||
            hosted.segment_index != static_cast<uint32_t>(s) ||
            hosted.segment_digest != entry.segment_digest)
          continue;
        const auto rtt = rtt_ms.find(node.grpc_address);
        const double compute_ms = hosted.throughput_samples_per_s > 0
                                      ? 1000.0 / hosted.throughput_samples_per_s
                                      : 1e6;  // unmeasured: after every measured node
        const auto rated = reputation.find(node.node_key);
        const double r = rated == reputation.end() ? kUnratedReputation : rated->second;
        candidates.push_back({(rtt == rtt_ms.end() ? 1e9 : rtt->second) + compute_ms +
                                  kDistrustPenaltyMs * (1.0 - std::clamp(r, 0.0, 1.0)),
                              node.grpc_address});
      }
    if (candidates.empty())
      return Status::Unavailable("no registered node hosts segment " + std::to_string(s) +
                                 " of model " + model.name);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.own_ms < b.own_ms; });
    stages.push_back(std::move(candidates));
  }
  // Primary per segment from the best assignment; the other candidates follow as
  // failover alternates in order of their own cost.
  const std::vector<size_t> best = BestAssignment(stages);
  Route route;
  for (size_t i = 0; i < stages.size(); ++i) {
    std::vector<std::string>& list = route[static_cast<int>(i) + 1];
    list.push_back(stages[i][best[i]].address);
    for (size_t k = 0; k < stages[i].size(); ++k)
      if (k != best[i]) list.push_back(stages[i][k].address);
  }
  return route;
}

std::map<PublicKey, double> LoadReputations(registry::Registry& registry,
                                            const registry::Identity& client) {
  std::map<PublicKey, double> out;
  auto stored = registry.GetState(client.public_key(), kReputationStateName);
  if (!stored.ok()) return out;  // none yet (or unreadable): every node is unrated
  auto book = consensus::ReputationBook::Create();
  if (!book.ok() || !book->Decode(*stored).ok()) return out;
  for (const auto& [key, entry] : book->entries())
    if (entry.standing == consensus::Standing::kActive) out[key] = entry.reputation;
  return out;
}

std::map<std::string, double> MeasureRoundTrips(const std::vector<std::string>& addresses,
                                                const NodeClientOptions& options,
                                                int64_t deadline_ms) {
  std::map<std::string, double> rtt;
  for (const std::string& address : addresses) {
    auto client = NodeClient::Connect(address, options);
    if (!client.ok()) continue;
    // The first call pays for the TLS handshake; the median of the next three is the
    // round trip.
    if (!(*client)->Info(deadline_ms).ok()) continue;
    std::vector<double> samples;
    for (int i = 0; i < 3; ++i) {
      const auto start = std::chrono::steady_clock::now();
      if (!(*client)->Info(deadline_ms).ok()) break;
      samples.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    if (samples.size() < 3) continue;
    std::sort(samples.begin(), samples.end());
    rtt[address] = samples[1];
  }
  return rtt;
}

Result<std::unique_ptr<NetworkClient>> NetworkClient::Connect(const std::string& registry_endpoint,
                                                              const std::string& data_dir,
                                                              int64_t lease_ttl_s) {
  std::unique_ptr<NetworkClient> client(new NetworkClient());
  VEIL_ASSIGN_OR_RETURN(client->identity_, registry::Identity::LoadOrCreate(data_dir));
  registry::RegistryOptions options;
  options.log = [](const std::string& line) { std::cerr << "veil: registry: " << line << "\n"; };
  VEIL_ASSIGN_OR_RETURN(client->registry_, registry::Registry::Connect(registry_endpoint, options));
  // Register, so that nodes admit this client's key.
  registry::NodeRecord me;
  me.node_key = client->identity_->public_key();
  me.grpc_address = kClientAddress;
  me.capacity.cores = 1;
  me.capacity.memory_bytes = 1;
  VEIL_RETURN_IF_ERROR(client->registry_->Join(*client->identity_, me, lease_ttl_s));
  VEIL_ASSIGN_OR_RETURN(client->security_, IdentityLink(*client->identity_, client->ring_));
  NetworkClient* self = client.get();
  VEIL_ASSIGN_OR_RETURN(client->watch_, client->registry_->WatchNodes(
                                            [self](const std::vector<registry::NodeRecord>& nodes) {
                                              self->OnNodes(nodes);
                                            }));
  // The watch delivers the current set before returning; make sure it is in place.
  VEIL_ASSIGN_OR_RETURN(std::vector<registry::NodeRecord> nodes, client->registry_->ListNodes());
  client->OnNodes(nodes);
  return client;
}

NetworkClient::~NetworkClient() {
  if (watch_ != nullptr) watch_->Cancel();
  watch_.reset();
  if (registry_ != nullptr) (void)registry_->Leave();
}

void NetworkClient::OnNodes(const std::vector<registry::NodeRecord>& nodes) {
  std::set<PublicKey> keys = RegisteredKeys(nodes);
  keys.insert(identity_->public_key());
  ring_.Replace(std::move(keys));
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_ = nodes;
  for (auto it = routed_.begin(); it != routed_.end();) {
    std::shared_ptr<SplitRunner> runner = it->runner.lock();
    if (runner == nullptr) {
      it = routed_.erase(it);
      continue;
    }
    // Round trips were measured when the runner was created; a new node goes last until
    // the next runner measures it, which is fine for failover candidates.
    auto route = PlanRoute(it->record, nodes_, {}, reputation_);
    if (route.ok()) {
      (void)runner->UpdateRoute(*route);
    }
    ++it;
  }
}

Result<std::shared_ptr<SplitRunner>> NetworkClient::Runner(const Graph& graph,
                                                           const registry::ModelRecord& record,
                                                           SplitOptions options) {
  if (ModelDigest(graph) != record.model_digest)
    return Status::Corrupt("the model file's digest " +
                           DigestToHex(ModelDigest(graph)).substr(0, 16) +
                           " is not the registered digest " +
                           DigestToHex(record.model_digest).substr(0, 16) + " of " + record.name);
  std::vector<registry::NodeRecord> nodes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    nodes = nodes_;
  }
  options.client.security = security_;
  std::vector<std::string> addresses;
  for (const auto& n : nodes)
    if (!n.segments.empty()) addresses.push_back(n.grpc_address);
  const auto rtt = MeasureRoundTrips(addresses, options.client, 2000);
  const std::map<PublicKey, double> reputation = LoadReputations(*registry_, *identity_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reputation_ = reputation;
  }
  VEIL_ASSIGN_OR_RETURN(Route route, PlanRoute(record, nodes, rtt, reputation));
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<SplitRunner> made,
                        SplitRunner::Create(graph, route, std::move(options)));
  std::shared_ptr<SplitRunner> runner(std::move(made));
  std::lock_guard<std::mutex> lock(mutex_);
  routed_.push_back({runner, record});
  return runner;
}

}  // namespace veil::net
