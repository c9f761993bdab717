// EmbeddedRegistryServer: an in-memory etcd v3 subset (KV, Lease, Watch) over gRPC.
//
// One mutex guards the whole store (keys, leases, event history, watchers): every request is
// small and the registry is not a hot path, so simplicity wins. Watch responses are queued
// per stream and written by that stream's writer thread, so a slow watcher never blocks a
// Put; a watcher whose queue exceeds kMaxQueuedResponses is disconnected.
#include "veil/registry/embedded_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"

namespace veil::registry {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kClusterId = 0x7665696c00000001;  // "veil", arbitrary but fixed
constexpr uint64_t kMemberId = 1;
constexpr int64_t kMaxLeaseTtl = 9'000'000'000;  // etcd's MaxLeaseTTL
constexpr size_t kMaxQueuedResponses = 10'000;
// etcd's error strings, so clients behave the same against both backends.
constexpr const char* kErrEmptyKey = "etcdserver: key is not provided";
constexpr const char* kErrLeaseNotFound = "etcdserver: requested lease not found";
constexpr const char* kErrLeaseExists = "etcdserver: lease already exists";
constexpr const char* kErrTooManyLeases = "veil embedded registry: too many leases";
constexpr const char* kErrStoreFull = "veil embedded registry: store size limit reached";

// [key, range_end) with etcd's conventions: empty range_end = exactly key; "\0" = every
// key >= key.
bool InRange(const std::string& k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  if (k < key) return false;
  if (range_end.size() == 1 && range_end[0] == '\0') return true;
  return k < range_end;
}

struct Entry {
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct Lease {
  int64_t ttl_s = 0;
  SteadyClock::time_point deadline;
  std::set<std::string> keys;
};

// The write side of one Watch stream.
class WatchStream {
 public:
  // False if the queue is full (the watcher is too slow): the caller disconnects it.
  bool Push(etcdserverpb::WatchResponse resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return true;
    if (queue_.size() >= kMaxQueuedResponses) return false;
    queue_.push_back(std::move(resp));
    cv_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    cv_.notify_one();
  }
  void WriteLoop(
      grpc::ServerReaderWriter<etcdserverpb::WatchResponse, etcdserverpb::WatchRequest>* stream,
      grpc::ServerContext* context) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      etcdserverpb::WatchResponse resp = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const bool written = stream->Write(resp);
      lock.lock();
      if (!written) {
        context->TryCancel();  // unblocks the reader side too
        return;
      }
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<etcdserverpb::WatchResponse> queue_;
  bool closed_ = false;
};

struct Watcher {
  std::shared_ptr<WatchStream> stream;
  grpc::ServerContext* context = nullptr;
  int64_t watch_id = 0;
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // events before it are not delivered
};

class Store {
 public:
  explicit Store(const EmbeddedRegistryOptions& options) : options_(options) {
    std::random_device rd;
    next_lease_id_ = (static_cast<int64_t>(rd()) << 20 | static_cast<int64_t>(rd() & 0xfffff)) &
                     0x3fffffffffffffff;
    if (next_lease_id_ == 0) next_lease_id_ = 1;
  }

  std::mutex& mutex() { return mutex_; }

  void FillHeader(etcdserverpb::ResponseHeader* h) const {
    h->set_cluster_id(kClusterId);
    h->set_member_id(kMemberId);
    h->set_revision(revision_);
    h->set_raft_term(1);
  }

  grpc::Status Range(const etcdserverpb::RangeRequest& req, etcdserverpb::RangeResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (req.key().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, kErrEmptyKey};
    for (auto it = kvs_.lower_bound(req.key()); it != kvs_.end(); ++it) {
      if (!InRange(it->first, req.key(), req.range_end())) break;
      FillKv(it->first, it->second, resp->add_kvs());
    }
    resp->set_count(resp->kvs_size());
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  grpc::Status Put(const etcdserverpb::PutRequest& req, etcdserverpb::PutResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t bytes_delta = 0;
    int64_t new_keys = 0;
    if (grpc::Status s = CheckPutLocked(req, &bytes_delta, &new_keys); !s.ok()) return s;
    if (grpc::Status s = CheckCapacityLocked(bytes_delta, new_keys); !s.ok()) return s;
    ++revision_;
    Publish({ApplyPutLocked(req)});
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  // All puts of the chosen branch happen at one revision, like etcd. Only puts are in the
  // vendored RequestOp; a key may be put at most once per transaction.
  grpc::Status Txn(const etcdserverpb::TxnRequest& req, etcdserverpb::TxnResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    bool succeeded = true;
    for (const etcdserverpb::Compare& c : req.compare()) {
      if (c.key().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, kErrEmptyKey};
      succeeded = succeeded && EvaluateLocked(c);
    }
    const auto& ops = succeeded ? req.success() : req.failure();
    std::set<std::string> keys;
    int64_t bytes_delta = 0;
    int64_t new_keys = 0;
    for (const etcdserverpb::RequestOp& op : ops) {
      if (!op.has_request_put())
        return {grpc::StatusCode::UNIMPLEMENTED,
                "veil embedded registry: only put operations are supported in a txn"};
      if (!keys.insert(op.request_put().key()).second)
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "etcdserver: duplicate key given in txn request"};
      if (grpc::Status s = CheckPutLocked(op.request_put(), &bytes_delta, &new_keys); !s.ok())
        return s;
    }
    if (grpc::Status s = CheckCapacityLocked(bytes_delta, new_keys); !s.ok()) return s;
    if (!ops.empty()) {
      ++revision_;
      std::vector<mvccpb::Event> events;
      for (const etcdserverpb::RequestOp& op : ops) {
        events.push_back(ApplyPutLocked(op.request_put()));
        FillHeader(resp->add_responses()->mutable_response_put()->mutable_header());
      }
      Publish(std::move(events));
    }
    resp->set_succeeded(succeeded);
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  grpc::Status DeleteRange(const etcdserverpb::DeleteRangeRequest& req,
                           etcdserverpb::DeleteRangeResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (req.key().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, kErrEmptyKey};
    std::vector<std::string> doomed;
    for (auto it = kvs_.lower_bound(req.key()); it != kvs_.end(); ++it) {
      if (!InRange(it->first, req.key(), req.range_end())) break;
      doomed.push_back(it->first);
    }
    DeleteKeysLocked(doomed);
    resp->set_deleted(static_cast<int64_t>(doomed.size()));
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  grpc::Status LeaseGrant(const etcdserverpb::LeaseGrantRequest& req,
                          etcdserverpb::LeaseGrantResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int64_t>(leases_.size()) >= options_.max_leases)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, kErrTooManyLeases};
    if (req.ttl() > kMaxLeaseTtl)
      return {grpc::StatusCode::OUT_OF_RANGE, "etcdserver: too large lease TTL"};
    int64_t id = req.id();
    if (id < 0) return {grpc::StatusCode::INVALID_ARGUMENT, "lease ID must be positive"};
    if (id != 0 && leases_.count(id) != 0)
      return {grpc::StatusCode::FAILED_PRECONDITION, kErrLeaseExists};
    if (id == 0) {
      do {
        id = next_lease_id_;
        next_lease_id_ = next_lease_id_ == INT64_MAX ? 1 : next_lease_id_ + 1;
      } while (leases_.count(id) != 0);
    }
    // etcd raises a TTL below its minimum; ours is 1 s.
    const int64_t ttl = std::max<int64_t>(req.ttl(), 1);
    Lease& l = leases_[id];
    l.ttl_s = ttl;
    l.deadline = SteadyClock::now() + std::chrono::seconds(ttl);
    resp->set_id(id);
    resp->set_ttl(ttl);
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  grpc::Status LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& req,
                           etcdserverpb::LeaseRevokeResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (leases_.count(req.id()) == 0) return {grpc::StatusCode::NOT_FOUND, kErrLeaseNotFound};
    RevokeLocked(req.id());
    FillHeader(resp->mutable_header());
    return grpc::Status::OK;
  }

  // Renews the lease; the response TTL is 0 if it does not exist (etcd's convention).
  void KeepAlive(int64_t id, etcdserverpb::LeaseKeepAliveResponse* resp) {
    std::lock_guard<std::mutex> lock(mutex_);
    resp->set_id(id);
    auto it = leases_.find(id);
    if (it == leases_.end()) {
      resp->set_ttl(0);
    } else {
      it->second.deadline = SteadyClock::now() + std::chrono::seconds(it->second.ttl_s);
      resp->set_ttl(it->second.ttl_s);
    }
    FillHeader(resp->mutable_header());
  }

  // Revokes every lease whose deadline has passed.
  void ExpireLeases() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = SteadyClock::now();
    std::vector<int64_t> expired;
    for (const auto& [id, lease] : leases_)
      if (lease.deadline <= now) expired.push_back(id);
    for (int64_t id : expired) RevokeLocked(id);
  }

  // Registers a watcher (after queueing "created" and the history it asked for), or queues a
  // compaction cancel if start_revision is older than the retained history.
  void CreateWatch(const std::shared_ptr<WatchStream>& stream, grpc::ServerContext* context,
                   const etcdserverpb::WatchCreateRequest& req, int64_t watch_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    etcdserverpb::WatchResponse created;
    FillHeader(created.mutable_header());
    created.set_watch_id(watch_id);
    created.set_created(true);
    if (req.key().empty()) {
      created.set_canceled(true);
      created.set_cancel_reason(kErrEmptyKey);
      stream->Push(std::move(created));
      return;
    }
    if (req.start_revision() > 0 && req.start_revision() <= compacted_revision_) {
      created.set_canceled(true);
      created.set_compact_revision(compacted_revision_ + 1);
      created.set_cancel_reason("required revision has been compacted");
      stream->Push(std::move(created));
      return;
    }
    Watcher w{stream,          context,
              watch_id,        req.key(),
              req.range_end(), req.start_revision() > 0 ? req.start_revision() : revision_ + 1};
    bool ok = stream->Push(std::move(created));
    // History replay, one response per revision.
    etcdserverpb::WatchResponse batch;
    for (const auto& [rev, ev] : history_) {
      if (rev < w.start_revision || !InRange(ev.kv().key(), w.key, w.range_end)) continue;
      if (batch.events_size() > 0 && batch.events(0).kv().mod_revision() != rev) {
        ok = ok && stream->Push(std::move(batch));
        batch = etcdserverpb::WatchResponse();
      }
      if (batch.events_size() == 0) {
        FillHeader(batch.mutable_header());
        batch.set_watch_id(watch_id);
      }
      *batch.add_events() = ev;
    }
    if (batch.events_size() > 0) ok = ok && stream->Push(std::move(batch));
    if (!ok) {
      context->TryCancel();
      return;
    }
    watchers_.push_back(std::move(w));
  }

  void CancelWatch(const std::shared_ptr<WatchStream>& stream, int64_t watch_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(watchers_,
                  [&](const Watcher& w) { return w.stream == stream && w.watch_id == watch_id; });
    etcdserverpb::WatchResponse resp;
    FillHeader(resp.mutable_header());
    resp.set_watch_id(watch_id);
    resp.set_canceled(true);
    stream->Push(std::move(resp));
  }

  void RemoveStream(const std::shared_ptr<WatchStream>& stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(watchers_, [&](const Watcher& w) { return w.stream == stream; });
  }

 private:
  static void FillKv(const std::string& key, const Entry& e, mvccpb::KeyValue* kv) {
    kv->set_key(key);
    kv->set_value(e.value);
    kv->set_create_revision(e.create_revision);
    kv->set_mod_revision(e.mod_revision);
    kv->set_version(e.version);
    kv->set_lease(e.lease);
  }

  // Validates a put without changing the store; adds its size change and whether it creates
  // a key to the running totals.
  grpc::Status CheckPutLocked(const etcdserverpb::PutRequest& req, int64_t* bytes_delta,
                              int64_t* new_keys) const {
    if (req.key().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, kErrEmptyKey};
    if (req.lease() != 0 && leases_.count(req.lease()) == 0)
      return {grpc::StatusCode::NOT_FOUND, kErrLeaseNotFound};
    auto it = kvs_.find(req.key());
    if (it == kvs_.end())
      ++*new_keys;
    else
      *bytes_delta -= static_cast<int64_t>(it->first.size() + it->second.value.size());
    *bytes_delta += static_cast<int64_t>(req.key().size() + req.value().size());
    return grpc::Status::OK;
  }

  grpc::Status CheckCapacityLocked(int64_t bytes_delta, int64_t new_keys) const {
    if (store_bytes_ + bytes_delta > options_.max_store_bytes ||
        static_cast<int64_t>(kvs_.size()) + new_keys > options_.max_keys)
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, kErrStoreFull};
    return grpc::Status::OK;
  }

  // Applies a checked put at the current revision; returns its event.
  mvccpb::Event ApplyPutLocked(const etcdserverpb::PutRequest& req) {
    auto it = kvs_.find(req.key());
    if (it == kvs_.end()) {
      it = kvs_.emplace(req.key(), Entry{}).first;
      it->second.create_revision = revision_;
    } else {
      store_bytes_ -= static_cast<int64_t>(it->first.size() + it->second.value.size());
    }
    Entry& e = it->second;
    if (e.lease != 0 && e.lease != req.lease()) {
      auto old_lease = leases_.find(e.lease);
      if (old_lease != leases_.end()) old_lease->second.keys.erase(req.key());
    }
    if (req.lease() != 0) leases_.at(req.lease()).keys.insert(req.key());
    e.value = req.value();
    e.mod_revision = revision_;
    e.version += 1;
    e.lease = req.lease();
    store_bytes_ += static_cast<int64_t>(it->first.size() + e.value.size());
    mvccpb::Event ev;
    ev.set_type(mvccpb::Event::PUT);
    FillKv(it->first, e, ev.mutable_kv());
    return ev;
  }

  // etcd's rule: a missing key compares as all-zero fields, except that a VALUE comparison
  // on a missing key is false.
  bool EvaluateLocked(const etcdserverpb::Compare& c) const {
    auto it = kvs_.find(c.key());
    const Entry absent;
    const Entry& e = it == kvs_.end() ? absent : it->second;
    int cmp = 0;
    auto three_way = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
    switch (c.target()) {
      case etcdserverpb::Compare::VERSION:
        cmp = three_way(e.version, c.version());
        break;
      case etcdserverpb::Compare::CREATE:
        cmp = three_way(e.create_revision, c.create_revision());
        break;
      case etcdserverpb::Compare::MOD:
        cmp = three_way(e.mod_revision, c.mod_revision());
        break;
      case etcdserverpb::Compare::LEASE:
        cmp = three_way(e.lease, c.lease());
        break;
      case etcdserverpb::Compare::VALUE:
        if (it == kvs_.end()) return false;
        cmp = e.value.compare(c.value());
        cmp = cmp < 0 ? -1 : (cmp > 0 ? 1 : 0);
        break;
      default:
        return false;
    }
    switch (c.result()) {
      case etcdserverpb::Compare::EQUAL:
        return cmp == 0;
      case etcdserverpb::Compare::GREATER:
        return cmp > 0;
      case etcdserverpb::Compare::LESS:
        return cmp < 0;
      case etcdserverpb::Compare::NOT_EQUAL:
        return cmp != 0;
      default:
        return false;
    }
  }

  // Deletes `keys` (all present) at one new revision.
  void DeleteKeysLocked(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    ++revision_;
    std::vector<mvccpb::Event> events;
    for (const std::string& k : keys) {
      auto it = kvs_.find(k);
      if (it == kvs_.end()) continue;
      if (it->second.lease != 0) {
        auto l = leases_.find(it->second.lease);
        if (l != leases_.end()) l->second.keys.erase(k);
      }
      store_bytes_ -= static_cast<int64_t>(k.size() + it->second.value.size());
      kvs_.erase(it);
      mvccpb::Event ev;
      ev.set_type(mvccpb::Event::DELETE);
      ev.mutable_kv()->set_key(k);
      ev.mutable_kv()->set_mod_revision(revision_);
      events.push_back(std::move(ev));
    }
    Publish(std::move(events));
  }

  void RevokeLocked(int64_t id) {
    auto it = leases_.find(id);
    if (it == leases_.end()) return;
    const std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
    leases_.erase(it);
    DeleteKeysLocked(keys);
  }

  // Records events of the current revision in the history and sends them to every matching
  // watcher; disconnects watchers that cannot keep up.
  void Publish(std::vector<mvccpb::Event> events) {
    for (const mvccpb::Event& ev : events) history_.emplace_back(revision_, ev);
    while (static_cast<int64_t>(history_.size()) > options_.max_watch_history) {
      compacted_revision_ = history_.front().first;
      history_.pop_front();
    }
    std::vector<grpc::ServerContext*> too_slow;
    for (const Watcher& w : watchers_) {
      if (revision_ < w.start_revision) continue;
      etcdserverpb::WatchResponse resp;
      for (const mvccpb::Event& ev : events)
        if (InRange(ev.kv().key(), w.key, w.range_end)) *resp.add_events() = ev;
      if (resp.events_size() == 0) continue;
      FillHeader(resp.mutable_header());
      resp.set_watch_id(w.watch_id);
      if (!w.stream->Push(std::move(resp))) too_slow.push_back(w.context);
    }
    for (grpc::ServerContext* c : too_slow) c->TryCancel();
  }

  const EmbeddedRegistryOptions options_;
  std::mutex mutex_;
  int64_t revision_ = 1;  // etcd's empty store is at revision 1
  std::map<std::string, Entry> kvs_;
  int64_t store_bytes_ = 0;
  std::map<int64_t, Lease> leases_;
  int64_t next_lease_id_ = 1;
  std::deque<std::pair<int64_t, mvccpb::Event>> history_;
  int64_t compacted_revision_ = 0;  // history holds every event after it
  std::vector<Watcher> watchers_;
};

class KvService final : public etcdserverpb::KV::Service {
 public:
  explicit KvService(Store* store) : store_(store) {}
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    return store_->Range(*req, resp);
  }
  grpc::Status Put(grpc::ServerContext*, const etcdserverpb::PutRequest* req,
                   etcdserverpb::PutResponse* resp) override {
    return store_->Put(*req, resp);
  }
  grpc::Status DeleteRange(grpc::ServerContext*, const etcdserverpb::DeleteRangeRequest* req,
                           etcdserverpb::DeleteRangeResponse* resp) override {
    return store_->DeleteRange(*req, resp);
  }
  grpc::Status Txn(grpc::ServerContext*, const etcdserverpb::TxnRequest* req,
                   etcdserverpb::TxnResponse* resp) override {
    return store_->Txn(*req, resp);
  }

 private:
  Store* store_;
};

class LeaseService final : public etcdserverpb::Lease::Service {
 public:
  explicit LeaseService(Store* store) : store_(store) {}
  grpc::Status LeaseGrant(grpc::ServerContext*, const etcdserverpb::LeaseGrantRequest* req,
                          etcdserverpb::LeaseGrantResponse* resp) override {
    return store_->LeaseGrant(*req, resp);
  }
  grpc::Status LeaseRevoke(grpc::ServerContext*, const etcdserverpb::LeaseRevokeRequest* req,
                           etcdserverpb::LeaseRevokeResponse* resp) override {
    return store_->LeaseRevoke(*req, resp);
  }
  grpc::Status LeaseKeepAlive(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<etcdserverpb::LeaseKeepAliveResponse,
                               etcdserverpb::LeaseKeepAliveRequest>* stream) override {
    etcdserverpb::LeaseKeepAliveRequest req;
    while (stream->Read(&req)) {
      etcdserverpb::LeaseKeepAliveResponse resp;
      store_->KeepAlive(req.id(), &resp);
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

 private:
  Store* store_;
};

class WatchService final : public etcdserverpb::Watch::Service {
 public:
  explicit WatchService(Store* store) : store_(store) {}
  grpc::Status Watch(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<etcdserverpb::WatchResponse,
                                              etcdserverpb::WatchRequest>* stream) override {
    auto ws = std::make_shared<WatchStream>();
    std::thread writer([&] { ws->WriteLoop(stream, context); });
    std::set<int64_t> ids;  // this stream's watch ids
    int64_t next_id = 0;
    etcdserverpb::WatchRequest req;
    while (stream->Read(&req)) {
      if (req.has_create_request()) {
        int64_t id = req.create_request().watch_id();
        if (id == 0 || ids.count(id) != 0) {
          while (ids.count(next_id) != 0) ++next_id;
          id = next_id;
        }
        ids.insert(id);
        store_->CreateWatch(ws, context, req.create_request(), id);
      } else if (req.has_cancel_request()) {
        ids.erase(req.cancel_request().watch_id());
        store_->CancelWatch(ws, req.cancel_request().watch_id());
      }
    }
    store_->RemoveStream(ws);
    ws->Close();
    writer.join();
    return grpc::Status::OK;
  }

 private:
  Store* store_;
};

}  // namespace

struct EmbeddedRegistryServer::Impl {
  explicit Impl(const EmbeddedRegistryOptions& o)
      : options(o), store(o), kv(&store), lease(&store), watch(&store) {}
  EmbeddedRegistryOptions options;
  Store store;
  KvService kv;
  LeaseService lease;
  WatchService watch;
  std::unique_ptr<grpc::Server> server;
  std::string host;
  int port = 0;

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread expiry_thread;
};

EmbeddedRegistryServer::EmbeddedRegistryServer() = default;
EmbeddedRegistryServer::~EmbeddedRegistryServer() { Shutdown(); }

Result<std::unique_ptr<EmbeddedRegistryServer>> EmbeddedRegistryServer::Start(
    EmbeddedRegistryOptions options) {
  const size_t colon = options.listen_address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("embedded registry: listen address must be host:port, got \"" +
                                   options.listen_address + "\"");
  if (options.max_request_bytes <= 0 || options.max_request_bytes > (int64_t{1} << 30) ||
      options.max_store_bytes <= 0 || options.max_keys <= 0 || options.max_leases <= 0 ||
      options.max_watch_history <= 0)
    return Status::InvalidArgument("embedded registry: limits must be positive");
  std::unique_ptr<EmbeddedRegistryServer> server(new EmbeddedRegistryServer());
  server->impl_ = std::make_unique<Impl>(options);
  Impl& impl = *server->impl_;
  impl.host = options.listen_address.substr(0, colon);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &impl.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_request_bytes));
  builder.RegisterService(&impl.kv);
  builder.RegisterService(&impl.lease);
  builder.RegisterService(&impl.watch);
  impl.server = builder.BuildAndStart();
  if (!impl.server || impl.port == 0)
    return Status::IoError("embedded registry: cannot listen on " + options.listen_address);
  impl.expiry_thread = std::thread([&impl] {
    std::unique_lock<std::mutex> lock(impl.stop_mutex);
    while (!impl.stopping) {
      impl.stop_cv.wait_for(lock, std::chrono::milliseconds(50));
      lock.unlock();
      impl.store.ExpireLeases();
      lock.lock();
    }
  });
  return server;
}

int EmbeddedRegistryServer::port() const { return impl_->port; }

std::string EmbeddedRegistryServer::endpoint() const {
  return "etcd://" + impl_->host + ":" + std::to_string(impl_->port);
}

void EmbeddedRegistryServer::Shutdown() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->stop_mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  // Open Watch and LeaseKeepAlive streams are cancelled at the deadline.
  if (impl_->server)
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  if (impl_->expiry_thread.joinable()) impl_->expiry_thread.join();
}

void EmbeddedRegistryServer::Wait() {
  if (impl_ && impl_->server) impl_->server->Wait();
}

}  // namespace veil::registry
