// The key-value layer and the Registry API, run as ONE suite against both backends: the
// EmbeddedRegistryServer and a real etcd 3.4 (/usr/bin/etcd, started by the test on free
// loopback ports with a temporary data dir, killed at the end).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "registry/registry_test_util.h"
#include "veil/registry/embedded_server.h"
#include "veil/registry/kv_store.h"
#include "veil/registry/registry.h"

namespace veil::registry {
namespace {

using namespace std::chrono_literals;
using testing::MakeModelRecord;
using testing::MakeNodeRecord;
using testing::TempDir;
using testing::TestIdentity;
using Clock = std::chrono::steady_clock;

constexpr const char* kEtcdBinary = "/usr/bin/etcd";

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// A single-member etcd on loopback, with short raft timers so leases can be 1 s.
class EtcdProcess {
 public:
  ~EtcdProcess() { Stop(); }

  Status Start() {
    const int client_port = FreeLoopbackPort();
    const int peer_port = FreeLoopbackPort();
    if (client_port == 0 || peer_port == 0) return Status::IoError("no free loopback port");
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    const std::string log_path = dir_.path() + "/etcd.log";
    std::vector<std::string> args = {kEtcdBinary,
                                     "--name=veil-test",
                                     "--data-dir=" + dir_.path() + "/data",
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=veil-test=" + peer,
                                     "--heartbeat-interval=10",
                                     "--election-timeout=100"};
    pid_ = ::fork();
    if (pid_ < 0) return Status::IoError("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed or killed test
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kEtcdBinary, argv.data());
      ::_exit(127);
    }
    endpoint_ = "etcd://127.0.0.1:" + std::to_string(client_port);
    // Ready when a Range succeeds. A fresh client per attempt: a channel that was refused
    // backs off for seconds before reconnecting.
    EtcdKvOptions options;
    options.call_timeout_ms = 500;
    options.log = [](const std::string&) {};
    const auto started = Clock::now();
    const auto deadline = started + 30s;
    while (Clock::now() < deadline) {
      auto kv = EtcdKv::Connect(endpoint_, options);
      if (!kv.ok()) return kv.status();
      if ((*kv)->Range("/").ok()) {
        std::printf("[ measure ] etcd ready after %.3f s\n",
                    std::chrono::duration<double>(Clock::now() - started).count());
        return Status::Ok();
      }
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::IoError("etcd exited during start-up; see " + log_path);
      }
      std::this_thread::sleep_for(50ms);
    }
    return Status::IoError("etcd did not become ready in 30 s; see " + log_path);
  }

  // SIGKILL: the data dir is thrown away, so there is nothing to shut down cleanly.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  const std::string& endpoint() const { return endpoint_; }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string endpoint_;
};

enum class Backend { kEmbedded, kEtcd };

void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kEmbedded ? "embedded" : "etcd");
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kEmbedded ? "Embedded" : "Etcd";
}

// Collects log lines so tests can check why a record was skipped.
struct LogSink {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    };
  }
  bool Contains(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
};

// Waits until `predicate` holds (polled under `mutex`, woken by `cv`) or `timeout` passes.
template <typename Pred>
bool WaitFor(std::mutex& mutex, std::condition_variable& cv, std::chrono::milliseconds timeout,
             Pred predicate) {
  std::unique_lock<std::mutex> lock(mutex);
  return cv.wait_for(lock, timeout, predicate);
}

class RegistryBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kEmbedded) {
      auto server = EmbeddedRegistryServer::Start();
      ASSERT_TRUE(server.ok()) << server.status().ToString();
      embedded_ = std::move(server).value();
      endpoint_ = embedded_->endpoint();
    } else {
      if (::access(kEtcdBinary, X_OK) != 0)
        GTEST_SKIP() << kEtcdBinary << " is not installed (scripts/install-deps.sh installs "
                     << "etcd-server); the etcd backend is not tested";
      // A free port can be taken between probing and etcd binding it: retry a few times.
      Status s = Status::Internal("not started");
      for (int attempt = 0; attempt < 3 && !s.ok(); ++attempt) {
        etcd_ = std::make_unique<EtcdProcess>();
        s = etcd_->Start();
      }
      ASSERT_TRUE(s.ok()) << s.ToString();
      endpoint_ = etcd_->endpoint();
    }
  }

  std::unique_ptr<KvStore> Kv() {
    EtcdKvOptions options;
    options.log = log_.Callback();
    auto kv = EtcdKv::Connect(endpoint_, options);
    EXPECT_TRUE(kv.ok()) << kv.status().ToString();
    return kv.ok() ? std::unique_ptr<KvStore>(std::move(kv).value()) : nullptr;
  }

  std::unique_ptr<Registry> Reg() {
    RegistryOptions options;
    options.log = log_.Callback();
    auto reg = Registry::Connect(endpoint_, options);
    EXPECT_TRUE(reg.ok()) << reg.status().ToString();
    return reg.ok() ? std::move(reg).value() : nullptr;
  }

  LogSink log_;
  std::unique_ptr<EmbeddedRegistryServer> embedded_;
  std::unique_ptr<EtcdProcess> etcd_;
  std::string endpoint_;
};

TEST_P(RegistryBackendTest, PutRangeDelete) {
  auto kv = Kv();
  ASSERT_TRUE(kv);
  auto empty = kv->Range("/t/");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->kvs.empty());
  ASSERT_TRUE(kv->Put("/t/b", "2", 0).ok());
  ASSERT_TRUE(kv->Put("/t/a", "1", 0).ok());
  ASSERT_TRUE(kv->Put("/t/a", "1bis", 0).ok());
  ASSERT_TRUE(kv->Put("/u/a", "other prefix", 0).ok());
  ASSERT_TRUE(kv->Put("/t", "the prefix itself is not under /t/", 0).ok());
  auto r = kv->Range("/t/");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "/t/a");
  EXPECT_EQ(r->kvs[0].value, "1bis");
  EXPECT_EQ(r->kvs[1].key, "/t/b");
  EXPECT_GT(r->revision, empty->revision);
  EXPECT_EQ(r->revision, empty->revision + 5);  // one revision per put
  ASSERT_TRUE(kv->Delete("/t/a").ok());
  ASSERT_TRUE(kv->Delete("/t/missing").ok());
  auto after = kv->Range("/t/");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->kvs.size(), 1u);
  EXPECT_EQ(after->kvs[0].key, "/t/b");
  EXPECT_EQ(after->revision, r->revision + 1);  // deleting nothing is not a revision
  auto all = kv->Range("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->kvs.size(), 3u);
  // Binary keys and values.
  const std::string bin_key = std::string("/t/\0\xff", 5);
  const std::string bin_value = std::string("\0\x01\x80", 3);
  ASSERT_TRUE(kv->Put(bin_key, bin_value, 0).ok());
  auto bin = kv->Range(bin_key);
  ASSERT_TRUE(bin.ok());
  ASSERT_EQ(bin->kvs.size(), 1u);
  EXPECT_EQ(bin->kvs[0].value, bin_value);
  EXPECT_FALSE(kv->Put("", "x", 0).ok());
}

TEST_P(RegistryBackendTest, PutIfAbsentCreatesOnlyOnce) {
  auto kv = Kv();
  ASSERT_TRUE(kv);
  auto first = kv->PutIfAbsent("/p/k", "first", 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = kv->PutIfAbsent("/p/k", "second", 0);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  auto r = kv->Range("/p/k");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "first");
  ASSERT_TRUE(kv->Delete("/p/k").ok());
  auto again = kv->PutIfAbsent("/p/k", "again", 0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
  EXPECT_EQ(kv->PutIfAbsent("/p/other", "v", 0x1234567).status().code(), StatusCode::kNotFound);
}

TEST_P(RegistryBackendTest, LeaseKeepAliveRevokeAndUnknownLease) {
  auto kv = Kv();
  ASSERT_TRUE(kv);
  int64_t ttl = 0;
  auto lease = kv->GrantLease(1, &ttl);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_GE(ttl, 1);
  ASSERT_TRUE(kv->Put("/l/k", "v", *lease).ok());
  // Kept alive well past its TTL.
  const auto until = Clock::now() + std::chrono::seconds(ttl) + 1500ms;
  while (Clock::now() < until) {
    auto remaining = kv->KeepAliveOnce(*lease);
    ASSERT_TRUE(remaining.ok()) << remaining.status().ToString();
    std::this_thread::sleep_for(200ms);
  }
  auto r = kv->Range("/l/");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].lease, *lease);
  // Revoking deletes the key; the lease is then unknown.
  ASSERT_TRUE(kv->RevokeLease(*lease).ok());
  r = kv->Range("/l/");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());
  EXPECT_EQ(kv->KeepAliveOnce(*lease).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(kv->RevokeLease(*lease).code(), StatusCode::kNotFound);
  Status put = kv->Put("/l/k", "v", *lease);
  EXPECT_EQ(put.code(), StatusCode::kNotFound) << put.ToString();
  EXPECT_EQ(kv->Put("/l/k", "v", 0x1234567).code(), StatusCode::kNotFound);
}

TEST_P(RegistryBackendTest, ExpiredLeaseDeletesKeysAndWatchSeesTheDeletion) {
  auto kv = Kv();
  ASSERT_TRUE(kv);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<WatchEvent> seen;
  auto watch = kv->Watch("/e/", 0, [&](const std::vector<WatchEvent>& events) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(seen.end(), events.begin(), events.end());
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  int64_t ttl = 0;
  auto lease = kv->GrantLease(1, &ttl);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(kv->Put("/e/a", "A", *lease).ok());
  ASSERT_TRUE(kv->Put("/e/b", "B", *lease).ok());
  const auto granted_at = Clock::now();
  ASSERT_TRUE(WaitFor(mutex, cv, std::chrono::seconds(ttl) + 3s, [&] {
    return std::count_if(seen.begin(), seen.end(), [](const WatchEvent& e) {
             return e.type == WatchEvent::Type::kDelete;
           }) == 2;
  }));
  const double seconds = std::chrono::duration<double>(Clock::now() - granted_at).count();
  std::printf("[ measure ] lease ttl %lld s: keys deleted after %.3f s\n",
              static_cast<long long>(ttl), seconds);
  EXPECT_LE(seconds, static_cast<double>(ttl) + 1.0);
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(seen[0].key, "/e/a");
  EXPECT_EQ(seen[0].value, "A");
  EXPECT_EQ(seen[1].key, "/e/b");
  EXPECT_EQ(seen[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(seen[2].revision, seen[3].revision);  // one expiry, one revision
  std::set<std::string> deleted = {seen[2].key, seen[3].key};
  EXPECT_EQ(deleted, (std::set<std::string>{"/e/a", "/e/b"}));
  auto r = kv->Range("/e/");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());
}

TEST_P(RegistryBackendTest, WatchFromAPastRevisionReplaysAndCancelStops) {
  auto kv = Kv();
  ASSERT_TRUE(kv);
  auto start = kv->Range("/w/");
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(kv->Put("/w/1", "one", 0).ok());
  ASSERT_TRUE(kv->Put("/w/2", "two", 0).ok());
  ASSERT_TRUE(kv->Delete("/w/1").ok());
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<WatchEvent> seen;
  auto watch = kv->Watch("/w/", start->revision + 1, [&](const std::vector<WatchEvent>& events) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(seen.end(), events.begin(), events.end());
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(WaitFor(mutex, cv, 3s, [&] { return seen.size() == 3; }));
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(seen[0].key, "/w/1");
    EXPECT_EQ(seen[0].revision, start->revision + 1);
    EXPECT_EQ(seen[1].key, "/w/2");
    EXPECT_EQ(seen[2].type, WatchEvent::Type::kDelete);
    EXPECT_EQ(seen[2].key, "/w/1");
  }
  (*watch)->Cancel();
  ASSERT_TRUE(kv->Put("/w/3", "three", 0).ok());
  std::this_thread::sleep_for(300ms);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(seen.size(), 3u);
}

TEST_P(RegistryBackendTest, JoinListLeave) {
  auto reg = Reg();
  ASSERT_TRUE(reg);
  TestIdentity a, b;
  ASSERT_TRUE(reg->Join(*a, MakeNodeRecord(*a, "127.0.0.1:7001"), 1).ok());
  auto reg_b = Reg();
  ASSERT_TRUE(reg_b);
  ASSERT_TRUE(reg_b->Join(*b, MakeNodeRecord(*b, "127.0.0.1:7002"), 1).ok());
  auto nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  ASSERT_EQ(nodes->size(), 2u);
  std::set<std::string> ids = {(*nodes)[0].node_id(), (*nodes)[1].node_id()};
  EXPECT_EQ(ids, (std::set<std::string>{a->node_id(), b->node_id()}));
  for (const NodeRecord& n : *nodes) {
    EXPECT_EQ(n.grpc_address, n.node_id() == a->node_id() ? "127.0.0.1:7001" : "127.0.0.1:7002");
    EXPECT_EQ(n.segments.size(), 2u);
    EXPECT_GT(n.seq, 0u);
  }
  // The keep-alive thread holds the 1 s lease well past its TTL.
  std::this_thread::sleep_for(2500ms);
  nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 2u);
  // Join again = update in place, with a higher seq.
  const uint64_t old_seq =
      (*nodes)[0].node_id() == a->node_id() ? (*nodes)[0].seq : (*nodes)[1].seq;
  ASSERT_TRUE(reg->Join(*a, MakeNodeRecord(*a, "127.0.0.1:7101"), 1).ok());
  nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  for (const NodeRecord& n : *nodes)
    if (n.node_id() == a->node_id()) {
      EXPECT_EQ(n.grpc_address, "127.0.0.1:7101");
      EXPECT_GT(n.seq, old_seq);
    }
  // One handle joins as one node.
  EXPECT_FALSE(reg->Join(*b, MakeNodeRecord(*b), 1).ok());
  ASSERT_TRUE(reg->Leave().ok());
  nodes = reg_b->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].node_id(), b->node_id());
  ASSERT_TRUE(reg->Leave().ok());  // idempotent
  reg_b.reset();                   // destruction leaves
  nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE(nodes->empty());
}

// The registry lost the node's lease (here: revoked behind its back, as after an outage
// longer than the TTL): the keep-alive thread notices, grants a new lease and re-publishes.
TEST_P(RegistryBackendTest, JoinedNodeRepublishesAfterLosingItsLease) {
  auto reg = Reg();
  auto kv = Kv();
  ASSERT_TRUE(reg && kv);
  TestIdentity node;
  ASSERT_TRUE(reg->Join(*node, MakeNodeRecord(*node), 1).ok());
  auto before = kv->Range(kNodesPrefix);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->kvs.size(), 1u);
  const LeaseId first_lease = before->kvs[0].lease;
  ASSERT_TRUE(kv->RevokeLease(first_lease).ok());
  auto gone = kv->Range(kNodesPrefix);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->kvs.empty());
  const auto deadline = Clock::now() + 3s;
  bool back = false;
  while (!back && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    auto r = kv->Range(kNodesPrefix);
    ASSERT_TRUE(r.ok());
    back = r->kvs.size() == 1 && r->kvs[0].lease != first_lease && r->kvs[0].lease != 0;
  }
  EXPECT_TRUE(back);
  EXPECT_TRUE(log_.Contains("was lost"));
  auto nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].node_id(), node->node_id());
}

// A node that stops heartbeating (its process died): its record is published exactly as
// Join does, but nobody keeps the lease alive. Watchers see it disappear within TTL + 1 s.
TEST_P(RegistryBackendTest, NodeWhoseLeaseExpiresDisappearsFromWatchers) {
  auto reg = Reg();
  auto kv = Kv();
  ASSERT_TRUE(reg && kv);
  TestIdentity live, dying;
  ASSERT_TRUE(reg->Join(*live, MakeNodeRecord(*live, "127.0.0.1:7001"), 1).ok());

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::vector<std::string>> views;  // node ids per delivery
  auto watch = reg->WatchNodes([&](const std::vector<NodeRecord>& nodes) {
    std::vector<std::string> ids;
    for (const NodeRecord& n : nodes) ids.push_back(n.node_id());
    std::lock_guard<std::mutex> lock(mutex);
    views.push_back(ids);
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(WaitFor(mutex, cv, 3s, [&] {
    return !views.empty() && views.back() == std::vector<std::string>{live->node_id()};
  }));

  NodeRecord record = MakeNodeRecord(*dying, "127.0.0.1:7002");
  auto signed_record = SignNodeRecord(*dying, record);
  ASSERT_TRUE(signed_record.ok());
  int64_t ttl = 0;
  auto lease = kv->GrantLease(1, &ttl);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(kv->Put(kNodesPrefix + dying->node_id(), *signed_record, *lease).ok());
  const auto last_heartbeat = Clock::now();
  ASSERT_TRUE(WaitFor(mutex, cv, 3s, [&] { return views.back().size() == 2; }));
  ASSERT_TRUE(WaitFor(mutex, cv, std::chrono::seconds(ttl) + 3s,
                      [&] { return views.back() == std::vector<std::string>{live->node_id()}; }));
  const double seconds = std::chrono::duration<double>(Clock::now() - last_heartbeat).count();
  std::printf("[ measure ] node lease ttl %lld s: gone from the watched set after %.3f s\n",
              static_cast<long long>(ttl), seconds);
  EXPECT_LE(seconds, static_cast<double>(ttl) + 1.0);

  // A leaving node disappears too.
  ASSERT_TRUE(reg->Leave().ok());
  ASSERT_TRUE(WaitFor(mutex, cv, 3s, [&] { return views.back().empty(); }));
  (*watch)->Cancel();
}

TEST_P(RegistryBackendTest, NodeWatchMayOutliveItsRegistry) {
  auto watcher = Reg();
  auto joiner = Reg();
  ASSERT_TRUE(watcher && joiner);
  std::mutex mutex;
  std::condition_variable cv;
  size_t last_size = 0;
  int deliveries = 0;
  auto watch = watcher->WatchNodes([&](const std::vector<NodeRecord>& nodes) {
    std::lock_guard<std::mutex> lock(mutex);
    last_size = nodes.size();
    ++deliveries;
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok());
  watcher.reset();
  TestIdentity node;
  ASSERT_TRUE(joiner->Join(*node, MakeNodeRecord(*node), 1).ok());
  EXPECT_TRUE(WaitFor(mutex, cv, 3s, [&] { return last_size == 1; }));
  (*watch)->Cancel();
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_GE(deliveries, 2);
}

TEST_P(RegistryBackendTest, InvalidAndReplayedNodeRecordsAreSkipped) {
  auto reg = Reg();
  auto kv = Kv();
  ASSERT_TRUE(reg && kv);
  TestIdentity honest, other;
  auto old_record = SignNodeRecord(*honest, MakeNodeRecord(*honest, "127.0.0.1:7001", 1));
  ASSERT_TRUE(old_record.ok());
  ASSERT_TRUE(reg->Join(*honest, MakeNodeRecord(*honest, "127.0.0.1:7002"), 1).ok());
  auto nodes = reg->ListNodes();  // the reader now knows the current seq
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);

  // Garbage, a valid record under another node's key, and an old record replayed.
  ASSERT_TRUE(kv->Put(std::string(kNodesPrefix) + "garbage", "not a record", 0).ok());
  auto misplaced = SignNodeRecord(*other, MakeNodeRecord(*other));
  ASSERT_TRUE(misplaced.ok());
  ASSERT_TRUE(kv->Put(std::string(kNodesPrefix) + "0000", *misplaced, 0).ok());
  ASSERT_TRUE(kv->Put(kNodesPrefix + honest->node_id(), *old_record, 0).ok());
  nodes = reg->ListNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE(nodes->empty());
  EXPECT_TRUE(log_.Contains("garbage"));
  EXPECT_TRUE(log_.Contains("stored under the wrong key"));
  EXPECT_TRUE(log_.Contains("replayed"));
  // A fresh reader has no history, so it cannot tell the replay (a stated limit).
  auto fresh = Reg();
  ASSERT_TRUE(fresh);
  nodes = fresh->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].grpc_address, "127.0.0.1:7001");
}

TEST_P(RegistryBackendTest, PublishAndReadModels) {
  auto reg = Reg();
  auto kv = Kv();
  ASSERT_TRUE(reg && kv);
  TestIdentity owner, squatter;
  ASSERT_TRUE(reg->PublishModel(*owner, MakeModelRecord(*owner, "fashion_cnn")).ok());
  ASSERT_TRUE(reg->PublishModel(*owner, MakeModelRecord(*owner, "tiny_lm")).ok());
  auto model = reg->GetModel("fashion_cnn");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->owner_key, owner->public_key());
  EXPECT_EQ(model->segments.size(), 2u);
  const uint64_t first_seq = model->seq;
  EXPECT_EQ(reg->GetModel("absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg->GetModel("../x").status().code(), StatusCode::kInvalidArgument);

  // First key wins: another key cannot take the name over through the API...
  Status taken = reg->PublishModel(*squatter, MakeModelRecord(*squatter, "fashion_cnn"));
  EXPECT_EQ(taken.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(taken.message().find("owned by another key"), std::string::npos);
  // ...nor by writing its own signed record straight into the store: readers check the owner.
  auto forged = SignModelRecord(*squatter, MakeModelRecord(*squatter, "fashion_cnn", 99));
  ASSERT_TRUE(forged.ok());
  ASSERT_TRUE(kv->Put(std::string(kModelsPrefix) + "fashion_cnn", *forged, 0).ok());
  auto hijacked = reg->GetModel("fashion_cnn");
  EXPECT_EQ(hijacked.status().code(), StatusCode::kNotFound);
  EXPECT_NE(hijacked.status().message().find("owned by"), std::string::npos);

  // The owner re-publishes (an update) with a higher seq.
  ModelRecord update = MakeModelRecord(*owner, "fashion_cnn");
  update.segments.pop_back();
  ASSERT_TRUE(reg->PublishModel(*owner, update).ok());
  model = reg->GetModel("fashion_cnn");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->segments.size(), 1u);
  EXPECT_GT(model->seq, first_seq);

  auto models = reg->ListModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].name, "fashion_cnn");
  EXPECT_EQ((*models)[1].name, "tiny_lm");
  // A model record without an owner claim is not listed.
  TestIdentity loner;
  auto unclaimed = SignModelRecord(*loner, MakeModelRecord(*loner, "unclaimed"));
  ASSERT_TRUE(unclaimed.ok());
  ASSERT_TRUE(kv->Put(std::string(kModelsPrefix) + "unclaimed", *unclaimed, 0).ok());
  models = reg->ListModels();
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(models->size(), 2u);
  EXPECT_TRUE(log_.Contains("no owner record"));
}

TEST_P(RegistryBackendTest, StateRecordsAreBoundToTheirWriter) {
  auto reg = Reg();
  auto kv = Kv();
  ASSERT_TRUE(reg && kv);
  TestIdentity client, other;
  EXPECT_EQ(reg->GetState(client->public_key(), "reputation").status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(reg->PutState(*client, "reputation", "book v1").ok());
  ASSERT_TRUE(reg->PutState(*client, "reputation", "book v2").ok());
  auto state = reg->GetState(client->public_key(), "reputation");
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(*state, "book v2");
  EXPECT_EQ(reg->PutState(*client, "../x", "y").code(), StatusCode::kInvalidArgument);
  // Another key's record written under the client's name is refused, and so is a tampered one.
  const std::string key = std::string(kStatePrefix) + "reputation/" + client->node_id();
  auto forged = SignStateRecord(*other, "forged book");
  ASSERT_TRUE(forged.ok());
  ASSERT_TRUE(kv->Put(key, *forged, 0).ok());
  EXPECT_EQ(reg->GetState(client->public_key(), "reputation").status().code(),
            StatusCode::kCorrupt);
  auto genuine = SignStateRecord(*client, "book v3");
  ASSERT_TRUE(genuine.ok());
  std::string tampered = *genuine;
  tampered[tampered.size() / 2] ^= 1;
  ASSERT_TRUE(kv->Put(key, tampered, 0).ok());
  EXPECT_EQ(reg->GetState(client->public_key(), "reputation").status().code(),
            StatusCode::kCorrupt);
}

// Two owners racing for the same new names: exactly one wins each name, the loser is told,
// and readers see the winner's model.
TEST_P(RegistryBackendTest, RacingOwnersFirstClaimWins) {
  auto reg_a = Reg();
  auto reg_b = Reg();
  ASSERT_TRUE(reg_a && reg_b);
  TestIdentity a, b;
  constexpr int kNames = 8;
  std::vector<Status> results_a(kNames), results_b(kNames);
  std::thread ta([&] {
    for (int i = 0; i < kNames; ++i)
      results_a[i] = reg_a->PublishModel(*a, MakeModelRecord(*a, "race" + std::to_string(i)));
  });
  std::thread tb([&] {
    for (int i = 0; i < kNames; ++i)
      results_b[i] = reg_b->PublishModel(*b, MakeModelRecord(*b, "race" + std::to_string(i)));
  });
  ta.join();
  tb.join();
  for (int i = 0; i < kNames; ++i) {
    SCOPED_TRACE(i);
    EXPECT_NE(results_a[i].ok(), results_b[i].ok())
        << results_a[i].ToString() << " / " << results_b[i].ToString();
    const Status& lost = results_a[i].ok() ? results_b[i] : results_a[i];
    EXPECT_NE(lost.message().find("owned by another key"), std::string::npos) << lost.ToString();
    auto model = reg_a->GetModel("race" + std::to_string(i));
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_EQ(model->owner_key, results_a[i].ok() ? a->public_key() : b->public_key());
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, RegistryBackendTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kEtcd), BackendName);

TEST(RegistryConnectTest, BadEndpointsAndUnreachableServer) {
  for (const char* bad : {"", "127.0.0.1:2379", "http://127.0.0.1:2379", "etcd://", "etcd://host",
                          "etcd://host:port", "etcd://host:1/path"}) {
    auto r = Registry::Connect(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  RegistryOptions options;
  options.call_timeout_ms = 300;
  auto reg = Registry::Connect("etcd://127.0.0.1:" + std::to_string(FreeLoopbackPort()), options);
  ASSERT_TRUE(reg.ok());
  const auto start = Clock::now();
  auto nodes = (*reg)->ListNodes();
  EXPECT_EQ(nodes.status().code(), StatusCode::kIoError);
  EXPECT_LT(Clock::now() - start, 2s);
  TestIdentity id;
  EXPECT_FALSE((*reg)->Join(*id, MakeNodeRecord(*id), 1).ok());
}

TEST(RegistryEmbeddedServerTest, EnforcesStoreLimits) {
  EmbeddedRegistryOptions options;
  options.max_store_bytes = 1000;
  options.max_leases = 2;
  auto server = EmbeddedRegistryServer::Start(options);
  ASSERT_TRUE(server.ok());
  auto kv = EtcdKv::Connect((*server)->endpoint());
  ASSERT_TRUE(kv.ok());
  EXPECT_TRUE((*kv)->Put("/k", std::string(900, 'v'), 0).ok());
  Status full = (*kv)->Put("/k2", std::string(200, 'v'), 0);
  EXPECT_FALSE(full.ok());
  EXPECT_NE(full.message().find("limit"), std::string::npos) << full.ToString();
  EXPECT_TRUE((*kv)->Put("/k", std::string(950, 'w'), 0).ok());  // replacing is accounted
  ASSERT_TRUE((*kv)->GrantLease(10, nullptr).ok());
  ASSERT_TRUE((*kv)->GrantLease(10, nullptr).ok());
  EXPECT_FALSE((*kv)->GrantLease(10, nullptr).ok());
  EXPECT_FALSE(EmbeddedRegistryServer::Start({.listen_address = "nonsense"}).ok());
}

// `veil up` stops the embedded server while nodes are joined and routers watch: shutdown is
// prompt, and clients then fail within their deadline instead of hanging.
TEST(RegistryEmbeddedServerTest, ShutdownWithOpenStreamsIsPrompt) {
  auto server = EmbeddedRegistryServer::Start();
  ASSERT_TRUE(server.ok());
  LogSink log;
  RegistryOptions options;
  options.call_timeout_ms = 500;
  options.log = log.Callback();
  auto reg = Registry::Connect((*server)->endpoint(), options);
  ASSERT_TRUE(reg.ok());
  TestIdentity node;
  ASSERT_TRUE((*reg)->Join(*node, MakeNodeRecord(*node), 1).ok());
  auto watch = (*reg)->WatchNodes([](const std::vector<NodeRecord>&) {});
  ASSERT_TRUE(watch.ok());
  auto start = Clock::now();
  (*server)->Shutdown();
  EXPECT_LT(Clock::now() - start, 2s);
  start = Clock::now();
  EXPECT_EQ((*reg)->ListNodes().status().code(), StatusCode::kIoError);
  EXPECT_FALSE((*reg)->Leave().ok());  // the revoke cannot reach the server
  (*watch)->Cancel();
  EXPECT_LT(Clock::now() - start, 3s);
}

}  // namespace
}  // namespace veil::registry
