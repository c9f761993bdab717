// EtcdKv: the etcd v3 gRPC client (synchronous gRPC API, one channel).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "veil/registry/kv_store.h"

namespace veil::registry {
namespace {

using Clock = std::chrono::system_clock;

// etcd's prefix convention: range_end = prefix with its last byte incremented (dropping
// trailing 0xff bytes); "\0" means "every key >= key" (used for the empty prefix).
std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Status FromGrpc(const grpc::Status& s, const std::string& what) {
  const std::string m = what + ": " + s.error_message() + " (grpc code " +
                        std::to_string(static_cast<int>(s.error_code())) + ")";
  switch (s.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status::InvalidArgument(m);
    default:
      return Status::IoError(m);
  }
}

// etcd reports a missing lease as NOT_FOUND with this message; the embedded server matches.
bool IsLeaseNotFound(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::NOT_FOUND;
}

}  // namespace

struct EtcdKv::Impl {
  std::string target;
  EtcdKvOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;

  void SetDeadline(grpc::ClientContext* ctx) const {
    ctx->set_deadline(Clock::now() + std::chrono::milliseconds(options.call_timeout_ms));
  }
  void Log(const std::string& line) const {
    if (options.log)
      options.log(line);
    else
      std::fprintf(stderr, "veil registry: %s\n", line.c_str());
  }
};

namespace {

// One watch: a thread that keeps a Watch stream open, reconnecting after the last delivered
// revision when it breaks, until Cancel.
class EtcdWatch final : public WatchHandle {
 public:
  EtcdWatch(std::shared_ptr<EtcdKv::Impl> kv, std::string prefix, int64_t start_revision,
            WatchCallback callback)
      : kv_(kv),
        prefix_(std::move(prefix)),
        next_revision_(start_revision),
        callback_(std::move(callback)) {}
  ~EtcdWatch() override { Cancel(); }

  // Starts the thread and waits (call deadline) for the first stream's "created".
  Status Start() {
    thread_ = std::thread([this] { Run(); });
    std::unique_lock<std::mutex> lock(mutex_);
    const bool done = cv_.wait_for(lock, std::chrono::milliseconds(kv_->options.call_timeout_ms),
                                   [this] { return created_ || !first_error_.ok(); });
    Status result = Status::Ok();
    if (!done)
      result = Status::IoError("watch " + prefix_ + ": server did not confirm the watch in " +
                               std::to_string(kv_->options.call_timeout_ms) + " ms");
    else if (!first_error_.ok())
      result = first_error_;
    lock.unlock();
    if (!result.ok()) Cancel();
    return result;
  }

  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      if (context_) context_->TryCancel();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    int backoff_ms = 100;
    while (true) {
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_) return;
        context_ = &ctx;
      }
      const grpc::Status s = RunStream(&ctx);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        context_ = nullptr;
        if (cancelled_) return;
        if (!created_) {
          // The watch never started: report to Start() instead of retrying silently.
          first_error_ = s.ok() ? Status::IoError("watch " + prefix_ + ": stream ended")
                                : FromGrpc(s, "watch " + prefix_);
          cv_.notify_all();
          return;
        }
      }
      kv_->Log("watch " + prefix_ + ": stream ended (" + s.error_message() +
               "), reconnecting from revision " + std::to_string(next_revision_));
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return cancelled_; });
      backoff_ms = std::min(backoff_ms * 2, 2000);
    }
  }

  // One stream: create, then deliver events until the stream ends.
  grpc::Status RunStream(grpc::ClientContext* ctx) {
    auto stream = kv_->watch->Watch(ctx);
    etcdserverpb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(prefix_.empty() ? std::string(1, '\0') : prefix_);
    create->set_range_end(PrefixRangeEnd(prefix_));
    create->set_start_revision(next_revision_);
    if (!stream->Write(req)) return stream->Finish();
    etcdserverpb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.canceled()) {
        ctx->TryCancel();
        stream->Finish();
        return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                            resp.compact_revision() > 0
                                ? "revision " + std::to_string(next_revision_) +
                                      " was compacted (oldest available " +
                                      std::to_string(resp.compact_revision()) + ")"
                                : "watch canceled by the server: " + resp.cancel_reason());
      }
      if (resp.created()) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!created_) {
          created_ = true;
          // A watch "from now" resumes after the revision it was created at.
          if (next_revision_ == 0) next_revision_ = resp.header().revision() + 1;
          cv_.notify_all();
        }
      }
      if (resp.events_size() == 0) continue;
      std::vector<WatchEvent> events;
      events.reserve(static_cast<size_t>(resp.events_size()));
      for (const mvccpb::Event& e : resp.events()) {
        WatchEvent w;
        w.type =
            e.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
        w.key = e.kv().key();
        if (w.type == WatchEvent::Type::kPut) w.value = e.kv().value();
        w.revision = e.kv().mod_revision();
        events.push_back(std::move(w));
      }
      next_revision_ = events.back().revision + 1;
      callback_(events);
    }
    return stream->Finish();
  }

  const std::shared_ptr<EtcdKv::Impl> kv_;  // the channel outlives the EtcdKv if need be
  const std::string prefix_;
  int64_t next_revision_;  // only the watch thread writes it after Start
  WatchCallback callback_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  grpc::ClientContext* context_ = nullptr;  // the live stream's, for TryCancel
  bool cancelled_ = false;
  bool created_ = false;
  Status first_error_;
};

}  // namespace

Result<std::string> ParseEtcdEndpoint(const std::string& endpoint) {
  constexpr std::string_view kScheme = "etcd://";
  if (endpoint.rfind(kScheme, 0) != 0)
    return Status::InvalidArgument("registry endpoint must be etcd://host:port, got \"" + endpoint +
                                   "\"");
  const std::string target = endpoint.substr(kScheme.size());
  const size_t colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos || colon == 0 || colon + 1 == target.size() ||
      target.find('/') != std::string::npos)
    return Status::InvalidArgument("registry endpoint must be etcd://host:port, got \"" + endpoint +
                                   "\"");
  for (size_t i = colon + 1; i < target.size(); ++i)
    if (target[i] < '0' || target[i] > '9')
      return Status::InvalidArgument("registry endpoint port must be a number: \"" + endpoint +
                                     "\"");
  return target;
}

EtcdKv::EtcdKv(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdKv::~EtcdKv() = default;

Result<std::unique_ptr<EtcdKv>> EtcdKv::Connect(const std::string& endpoint,
                                                EtcdKvOptions options) {
  if (options.call_timeout_ms <= 0)
    return Status::InvalidArgument("call_timeout_ms must be positive");
  VEIL_ASSIGN_OR_RETURN(std::string target, ParseEtcdEndpoint(endpoint));
  auto impl = std::make_shared<Impl>();
  impl->target = target;
  impl->options = std::move(options);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  impl->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  impl->kv = etcdserverpb::KV::NewStub(impl->channel);
  impl->lease = etcdserverpb::Lease::NewStub(impl->channel);
  impl->watch = etcdserverpb::Watch::NewStub(impl->channel);
  return std::unique_ptr<EtcdKv>(new EtcdKv(std::move(impl)));
}

Status EtcdKv::Put(const std::string& key, const std::string& value, LeaseId lease) {
  if (key.empty()) return Status::InvalidArgument("put: empty key");
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  etcdserverpb::PutResponse resp;
  const grpc::Status s = impl_->kv->Put(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "put " + key);
  return Status::Ok();
}

Result<RangeResult> EtcdKv::Range(const std::string& prefix) {
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  etcdserverpb::RangeRequest req;
  // etcd rejects an empty key; the empty prefix is "every key >= \0".
  req.set_key(prefix.empty() ? std::string(1, '\0') : prefix);
  req.set_range_end(PrefixRangeEnd(prefix));
  etcdserverpb::RangeResponse resp;
  const grpc::Status s = impl_->kv->Range(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "range " + prefix);
  RangeResult out;
  out.revision = resp.header().revision();
  out.kvs.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const mvccpb::KeyValue& kv : resp.kvs())
    out.kvs.push_back(KeyValue{kv.key(), kv.value(), kv.mod_revision(), kv.lease()});
  return out;
}

Status EtcdKv::Delete(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("delete: empty key");
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  const grpc::Status s = impl_->kv->DeleteRange(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "delete " + key);
  return Status::Ok();
}

Result<bool> EtcdKv::PutIfAbsent(const std::string& key, const std::string& value, LeaseId lease) {
  if (key.empty()) return Status::InvalidArgument("put: empty key");
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  // Txn: if create_revision(key) == 0 (the key does not exist) then put.
  etcdserverpb::TxnRequest req;
  etcdserverpb::Compare* absent = req.add_compare();
  absent->set_key(key);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  etcdserverpb::TxnResponse resp;
  const grpc::Status s = impl_->kv->Txn(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "put-if-absent " + key);
  return resp.succeeded();
}

Result<LeaseId> EtcdKv::GrantLease(int64_t ttl_s, int64_t* granted_ttl_s) {
  if (ttl_s <= 0) return Status::InvalidArgument("lease TTL must be positive seconds");
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_s);
  etcdserverpb::LeaseGrantResponse resp;
  const grpc::Status s = impl_->lease->LeaseGrant(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s, "lease grant");
  if (!resp.error().empty()) return Status::IoError("lease grant: " + resp.error());
  if (resp.id() == 0) return Status::IoError("lease grant: server returned lease id 0");
  if (granted_ttl_s != nullptr) *granted_ttl_s = resp.ttl();
  return LeaseId{resp.id()};
}

Result<int64_t> EtcdKv::KeepAliveOnce(LeaseId lease) {
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  auto stream = impl_->lease->LeaseKeepAlive(&ctx);
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseKeepAliveResponse resp;
  const bool exchanged = stream->Write(req) && stream->Read(&resp);
  stream->WritesDone();
  if (!exchanged) {
    ctx.TryCancel();
    const grpc::Status s = stream->Finish();
    return FromGrpc(s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed") : s,
                    "lease keep-alive");
  }
  ctx.TryCancel();  // the server keeps the stream open; we are done with it
  (void)stream->Finish();
  // etcd answers a keep-alive for an expired or revoked lease with TTL 0.
  if (resp.ttl() <= 0)
    return Status::NotFound("lease " + std::to_string(lease) + " has expired or was revoked");
  return int64_t{resp.ttl()};
}

Status EtcdKv::RevokeLease(LeaseId lease) {
  grpc::ClientContext ctx;
  impl_->SetDeadline(&ctx);
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(lease);
  etcdserverpb::LeaseRevokeResponse resp;
  const grpc::Status s = impl_->lease->LeaseRevoke(&ctx, req, &resp);
  if (!s.ok()) {
    if (IsLeaseNotFound(s))
      return Status::NotFound("lease " + std::to_string(lease) + " has expired or was revoked");
    return FromGrpc(s, "lease revoke");
  }
  return Status::Ok();
}

Result<std::unique_ptr<WatchHandle>> EtcdKv::Watch(const std::string& prefix,
                                                   int64_t start_revision, WatchCallback callback) {
  if (!callback) return Status::InvalidArgument("watch: no callback");
  if (start_revision < 0) return Status::InvalidArgument("watch: negative start revision");
  auto watch = std::make_unique<EtcdWatch>(impl_, prefix, start_revision, std::move(callback));
  VEIL_RETURN_IF_ERROR(watch->Start());
  return std::unique_ptr<WatchHandle>(std::move(watch));
}

}  // namespace veil::registry
