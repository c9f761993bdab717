// The delegate key holder: veil.v1.SheKeyHolder (veil/she/key_holder.h).
#include "veil/she/key_holder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <sstream>

#include "internal.h"
#include "veil/he/serialize.h"
#include "veil/model_file.h"
#include "veil/net/grpc_status.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {
namespace {

using Clock = std::chrono::steady_clock;
using internal::AsBytes;

grpc::Status Invalid(const std::string& m) { return net::InvalidRequest(m); }

constexpr int kMaxRouteEntries = 64;
constexpr int kMaxAddresses = 16;

bool ValidAddress(const std::string& a) {
  if (a.empty() || a.size() > 255) return false;
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size() || a.size() - colon > 6)
    return false;
  for (size_t i = colon + 1; i < a.size(); ++i)
    if (a[i] < '0' || a[i] > '9') return false;
  for (size_t i = 0; i < colon; ++i) {
    const char c = a[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '[' || c == ']' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

struct KeyHolderService::Impl final : public v1::SheKeyHolder::Service {
  KeyHolderOptions options;
  std::map<Digest, Graph> models;
  std::shared_ptr<const he::Context> ctx;
  std::shared_ptr<const he::SecretKey> sk;
  std::optional<he::Decryptor> decryptor;
  std::optional<he::BatchEncoder> encoder;
  std::string public_key;  // serialized
  Digest public_key_digest{};

  struct Runner {
    std::string key;
    std::shared_ptr<SheRunner> runner;
  };
  std::mutex mutex;
  std::list<Runner> runners;  // most recently used first

  void Log(const std::string& line) {
    if (options.log) options.log(line);
  }

  Result<std::shared_ptr<SheRunner>> RunnerFor(const Digest& model, const net::Route& route) {
    std::string key = internal::ToString(model);
    for (const auto& [seg, addrs] : route) {
      key += "|" + std::to_string(seg);
      for (const auto& a : addrs) key += "," + a;
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = runners.begin(); it != runners.end(); ++it)
      if (it->key == key) {
        runners.splice(runners.begin(), runners, it);
        return runners.front().runner;
      }
    SheOptions so;
    so.params = options.params;
    so.session = options.session;
    so.client = options.client;
    so.log = options.log;
    so.secret_key = sk;
    VEIL_ASSIGN_OR_RETURN(auto r, SheRunner::Create(models.at(model), route, so));
    runners.push_front({key, std::shared_ptr<SheRunner>(std::move(r))});
    while (static_cast<int>(runners.size()) > options.max_runners) runners.pop_back();
    return runners.front().runner;
  }

  grpc::Status Info(grpc::ServerContext* context, const v1::SheKeyHolderInfoRequest* request,
                    v1::SheKeyHolderInfoReply* reply) override {
    if (request->version() != kSheProtocolVersion)
      return Invalid("version " + std::to_string(request->version()) + ", this key holder speaks " +
                     std::to_string(kSheProtocolVersion));
    if (request->param_set() != static_cast<v1::SheParamSet>(options.params))
      return {grpc::StatusCode::FAILED_PRECONDITION,
              std::string("this key holder's key is for ") + SheParamsName(options.params)};
    reply->set_param_set(static_cast<v1::SheParamSet>(options.params));
    reply->set_public_key(public_key);
    reply->set_key_digest(internal::ToString(public_key_digest));
    for (const auto& [d, g] : models) reply->add_model_digests(internal::ToString(d));
    Log("event=keyholder_info peer=" + context->peer());
    return grpc::Status::OK;
  }

  grpc::Status Run(grpc::ServerContext* context, const v1::SheDelegateRunRequest* request,
                   v1::SheDelegateRunReply* reply) override {
    const auto start = Clock::now();
    grpc::Status s = HandleRun(*request, reply);
    std::ostringstream line;
    line << "event=keyholder_run request_id="
         << (internal::ValidRequestId(request->request_id()) ? request->request_id() : "<invalid>")
         << " ciphertexts=" << request->inputs_size() << " peer=" << context->peer()
         << " status=" << (s.ok() ? "OK" : "ERROR(" + std::to_string(s.error_code()) + ")")
         << " ms=" << std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!s.ok()) line << " error=\"" << s.error_message() << "\"";
    Log(line.str());
    return s;
  }

  grpc::Status HandleRun(const v1::SheDelegateRunRequest& request, v1::SheDelegateRunReply* reply) {
    if (request.version() != kSheProtocolVersion)
      return Invalid("version " + std::to_string(request.version()) + ", this key holder speaks " +
                     std::to_string(kSheProtocolVersion));
    if (!internal::ValidRequestId(request.request_id()))
      return Invalid("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
    if (request.param_set() != static_cast<v1::SheParamSet>(options.params))
      return {grpc::StatusCode::FAILED_PRECONDITION,
              std::string("this key holder's key is for ") + SheParamsName(options.params)};
    if (request.key_digest() != internal::ToString(public_key_digest))
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "the input is not encrypted under this key holder's current public key "
              "(fetch it again with Info)"};
    Digest model{};
    if (request.model_digest().size() != 32) return Invalid("model_digest must be 32 bytes");
    std::memcpy(model.data(), request.model_digest().data(), 32);
    auto mit = models.find(model);
    if (mit == models.end())
      return {grpc::StatusCode::NOT_FOUND,
              "model " + DigestToHex(model).substr(0, 16) + " is not held by this key holder"};
    const Graph& graph = mit->second;
    const int segments = static_cast<int>(graph.EffectiveSegments().size());
    if (request.route_size() < 1 || request.route_size() > kMaxRouteEntries)
      return Invalid("route: 1.." + std::to_string(kMaxRouteEntries) + " entries");
    net::Route route;
    for (const v1::SheRouteEntry& e : request.route()) {
      if (e.segment() >= static_cast<uint32_t>(segments))
        return Invalid("route: segment " + std::to_string(e.segment()) + " out of range (" +
                       std::to_string(segments) + " segments)");
      if (route.count(static_cast<int>(e.segment())) != 0)
        return Invalid("route: segment " + std::to_string(e.segment()) + " listed twice");
      if (e.addresses_size() < 1 || e.addresses_size() > kMaxAddresses)
        return Invalid("route: 1.." + std::to_string(kMaxAddresses) + " addresses per segment");
      auto& list = route[static_cast<int>(e.segment())];
      for (const std::string& a : e.addresses()) {
        if (!ValidAddress(a)) return Invalid("route: '" + a.substr(0, 64) + "' is not HOST:PORT");
        list.push_back(a);
      }
    }
    if (graph.inputs.size() != 1 || graph.outputs.size() != 1)
      return {grpc::StatusCode::UNIMPLEMENTED, "single-input, single-output models only"};
    const Value& in = graph.values[static_cast<size_t>(graph.inputs[0])];
    if (in.dtype != DType::kInt8) return {grpc::StatusCode::UNIMPLEMENTED, "int8 inputs only"};
    if (request.input_dims_size() != static_cast<int>(in.shape.size()) + 1)
      return Invalid("input_dims: rank " + std::to_string(request.input_dims_size()) +
                     ", expected " + std::to_string(in.shape.size() + 1));
    const size_t slots = encoder->slot_count();
    const auto cap = static_cast<int64_t>(slots) * options.max_input_ciphertexts;
    Shape shape;
    int64_t elements = 1;
    for (int i = 0; i < request.input_dims_size(); ++i) {
      const int64_t d = request.input_dims(i);
      const int64_t want = i == 0 ? kDynamicDim : in.shape[static_cast<size_t>(i - 1)];
      if (d < 1 || d > cap || (want != kDynamicDim && d != want))
        return Invalid("input_dims[" + std::to_string(i) + "] = " + std::to_string(d) +
                       " does not fit the model input " + ShapeToString(in.shape));
      elements *= d;
      if (elements > cap)
        return Invalid("input larger than " + std::to_string(options.max_input_ciphertexts) +
                       " ciphertexts");
      shape.push_back(d);
    }
    const auto want_cts = static_cast<int>((elements + static_cast<int64_t>(slots) - 1) /
                                           static_cast<int64_t>(slots));
    if (request.inputs_size() != want_cts)
      return Invalid("input of " + std::to_string(elements) + " values takes " +
                     std::to_string(want_cts) + " ciphertext(s), got " +
                     std::to_string(request.inputs_size()));
    Tensor x(DType::kInt8, shape);
    auto xs = x.i8();
    for (int i = 0; i < request.inputs_size(); ++i) {
      auto ct = he::DeserializeCiphertext(*ctx, AsBytes(request.inputs(i)));
      if (!ct.ok()) return Invalid("inputs[" + std::to_string(i) + "]: " + ct.status().message());
      if (ct->size() != 2)
        return Invalid("inputs[" + std::to_string(i) + "]: expected a size-2 ciphertext");
      auto plain = decryptor->Decrypt(*ct);
      if (!plain.ok())
        return Invalid("inputs[" + std::to_string(i) + "]: " + plain.status().message());
      auto values = encoder->DecodeSigned(*plain);
      if (!values.ok()) return net::ToGrpcStatus(values.status());
      const size_t base = static_cast<size_t>(i) * slots;
      for (size_t j = 0; j < slots; ++j) {
        const int64_t v = (*values)[j];
        if (base + j < xs.size()) {
          if (v < kActMin || v > kActMax)
            return Invalid("inputs[" + std::to_string(i) + "]: value " + std::to_string(v) +
                           " is not an int8 activation in [-127, 127]");
          xs[base + j] = static_cast<int8_t>(v);
        } else if (v != 0) {
          return Invalid("inputs[" + std::to_string(i) + "]: non-zero padding slot");
        }
      }
    }
    auto runner = RunnerFor(model, route);
    if (!runner.ok()) return net::ToGrpcStatus(runner.status());
    auto result = (*runner)->Run({x});
    if (!result.ok()) return net::ToGrpcStatus(result.status());
    const Tensor& y = result->outputs[0];
    reply->set_request_id(request.request_id());
    for (int64_t d : y.shape()) reply->add_output_dims(d);
    reply->set_output(reinterpret_cast<const char*>(y.i8().data()), y.i8().size());
    for (const SheStep& st : result->steps) {
      v1::SheDelegateStep* p = reply->add_steps();
      p->set_node(static_cast<uint32_t>(st.node_index));
      p->set_segment(static_cast<uint32_t>(st.segment_index));
      p->set_served_by(st.served_by);
      p->set_upload_bytes(st.upload_bytes);
      p->set_download_bytes(st.download_bytes);
      p->set_ms(st.ms);
    }
    reply->set_upload_bytes(result->upload_bytes);
    reply->set_download_bytes(result->download_bytes);
    reply->set_max_request_bytes(result->max_request_bytes);
    return grpc::Status::OK;
  }
};

KeyHolderService::KeyHolderService() : impl_(std::make_unique<Impl>()) {}
KeyHolderService::~KeyHolderService() = default;

Result<std::unique_ptr<KeyHolderService>> KeyHolderService::Create(std::vector<Graph> models,
                                                                   KeyHolderOptions options) {
  if (models.empty()) return Status::InvalidArgument("a key holder needs at least one model");
  if (options.max_runners < 1 || options.max_input_ciphertexts < 1 ||
      options.max_input_ciphertexts > 64)
    return Status::InvalidArgument("key holder limits out of range");
  std::unique_ptr<KeyHolderService> s(new KeyHolderService());
  Impl& m = *s->impl_;
  m.options = std::move(options);
  for (Graph& g : models) {
    VEIL_RETURN_IF_ERROR(ValidateGraph(g));
    const Digest d = ModelDigest(g);
    m.models.emplace(d, std::move(g));
  }
  VEIL_ASSIGN_OR_RETURN(m.ctx, MakeSheContext(m.options.params));
  VEIL_ASSIGN_OR_RETURN(he::KeyGenerator kg,
                        m.options.secret_key != nullptr
                            ? he::KeyGenerator::Create(m.ctx, *m.options.secret_key)
                            : he::KeyGenerator::Create(m.ctx));
  m.sk = std::make_shared<const he::SecretKey>(kg.secret_key());
  VEIL_ASSIGN_OR_RETURN(he::PublicKey pk, kg.CreatePublicKey());
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> pk_bytes, he::SerializePublicKey(*m.ctx, pk));
  m.public_key.assign(pk_bytes.begin(), pk_bytes.end());
  m.public_key_digest = Sha256(pk_bytes);
  VEIL_ASSIGN_OR_RETURN(he::Decryptor dec, he::Decryptor::Create(m.ctx, *m.sk));
  m.decryptor.emplace(std::move(dec));
  VEIL_ASSIGN_OR_RETURN(he::BatchEncoder enc, he::BatchEncoder::Create(m.ctx));
  m.encoder.emplace(std::move(enc));
  return s;
}

std::function<void(void*)> KeyHolderService::Registrar() {
  Impl* impl = impl_.get();
  return
      [impl](void* builder) { static_cast<grpc::ServerBuilder*>(builder)->RegisterService(impl); };
}

const Digest& KeyHolderService::public_key_digest() const { return impl_->public_key_digest; }

Result<DelegateRunResult> RunThroughDelegate(const std::string& address, const Graph& graph,
                                             const net::Route& route, const Tensor& input,
                                             SheParams params,
                                             const net::NodeClientOptions& client) {
  if (input.dtype() != DType::kInt8) return Status::InvalidArgument("the input must be int8");
  auto stub = v1::SheKeyHolder::NewStub(internal::MakeChannel(address, client));
  v1::SheKeyHolderInfoRequest info_req;
  info_req.set_version(kSheProtocolVersion);
  info_req.set_param_set(static_cast<v1::SheParamSet>(params));
  v1::SheKeyHolderInfoReply info;
  {
    grpc::ClientContext call;
    internal::SetDeadline(&call, client.deadline_ms);
    grpc::Status s = stub->Info(&call, info_req, &info);
    if (!s.ok()) return internal::FromGrpc(s, "key holder " + address);
  }
  VEIL_ASSIGN_OR_RETURN(auto ctx, MakeSheContext(params));
  // The public key is checked against the parameters like any untrusted key.
  VEIL_ASSIGN_OR_RETURN(he::PublicKey pk,
                        he::DeserializePublicKey(*ctx, AsBytes(info.public_key())));
  const Digest key_digest = Sha256(AsBytes(info.public_key()));
  if (info.key_digest() != internal::ToString(key_digest))
    return Status::Corrupt("key holder " + address + ": key_digest does not match its public key");
  VEIL_ASSIGN_OR_RETURN(he::Encryptor enc, he::Encryptor::Create(ctx, pk));
  VEIL_ASSIGN_OR_RETURN(he::BatchEncoder encoder, he::BatchEncoder::Create(ctx));

  v1::SheDelegateRunRequest req;
  req.set_version(kSheProtocolVersion);
  req.set_request_id("delegate-" +
                     std::to_string(Clock::now().time_since_epoch().count() % 1000000000));
  req.set_param_set(static_cast<v1::SheParamSet>(params));
  req.set_key_digest(internal::ToString(key_digest));
  req.set_model_digest(internal::ToString(ModelDigest(graph)));
  for (const auto& [seg, addrs] : route) {
    v1::SheRouteEntry* e = req.add_route();
    e->set_segment(static_cast<uint32_t>(seg));
    for (const auto& a : addrs) e->add_addresses(a);
  }
  for (int64_t d : input.shape()) req.add_input_dims(d);
  DelegateRunResult out;
  const auto xs = input.i8();
  const size_t slots = encoder.slot_count();
  for (size_t base = 0; base < xs.size(); base += slots) {
    std::vector<int64_t> values(
        xs.begin() + static_cast<ptrdiff_t>(base),
        xs.begin() + static_cast<ptrdiff_t>(std::min(xs.size(), base + slots)));
    VEIL_ASSIGN_OR_RETURN(he::Plaintext p, encoder.EncodeSigned(values));
    VEIL_ASSIGN_OR_RETURN(he::Ciphertext ct, enc.Encrypt(p));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, he::SerializeCiphertext(*ctx, ct));
    out.input_bytes += b.size();
    req.add_inputs(reinterpret_cast<const char*>(b.data()), b.size());
  }
  v1::SheDelegateRunReply reply;
  {
    grpc::ClientContext call;
    // The delegate makes one round trip per encrypted layer (and uploads keys the first time).
    internal::SetDeadline(&call, client.deadline_ms * 4);
    grpc::Status s = stub->Run(&call, req, &reply);
    if (!s.ok()) return internal::FromGrpc(s, "key holder " + address);
  }
  // The reply's shape must be the graph output's.
  const Value& ov = graph.values[static_cast<size_t>(graph.outputs[0])];
  Shape shape(reply.output_dims().begin(), reply.output_dims().end());
  bool ok = ov.dtype == DType::kInt8 && shape.size() == ov.shape.size() + 1 && !shape.empty() &&
            shape[0] == input.dim(0);
  for (size_t i = 0; ok && i < ov.shape.size(); ++i)
    ok = shape[i + 1] >= 1 && shape[i + 1] <= (int64_t{1} << 24) &&
         (ov.shape[i] == kDynamicDim || ov.shape[i] == shape[i + 1]);
  if (!ok) return Status::Corrupt("key holder " + address + " returned an output of another shape");
  Tensor y(DType::kInt8, shape);
  if (reply.output().size() != y.i8().size())
    return Status::Corrupt("key holder " + address + " returned " +
                           std::to_string(reply.output().size()) + " output bytes, expected " +
                           std::to_string(y.i8().size()));
  std::memcpy(y.i8().data(), reply.output().data(), y.i8().size());
  out.output = std::move(y);
  for (const auto& st : reply.steps())
    out.steps.push_back({static_cast<int>(st.node()), static_cast<int>(st.segment()),
                         st.served_by(), st.upload_bytes(), st.download_bytes(), st.ms()});
  out.upload_bytes = reply.upload_bytes();
  out.download_bytes = reply.download_bytes();
  out.max_request_bytes = reply.max_request_bytes();
  return out;
}

Result<std::shared_ptr<const he::SecretKey>> LoadSecretKeyFile(const std::string& path,
                                                               SheParams params) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return Status::IoError("cannot open secret key file " + path + ": " + std::strerror(errno));
  struct stat st {};
  std::vector<uint8_t> bytes;
  Status status = Status::Ok();
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = Status::InvalidArgument(path + " is not a regular file");
  } else if (st.st_uid != geteuid()) {
    status = Status::InvalidArgument(path + " is owned by another user");
  } else if ((st.st_mode & 077) != 0) {
    status = Status::InvalidArgument(path + " is accessible by group or others (chmod 600 it)");
  } else if (st.st_size < 16 || st.st_size > (1 << 20)) {
    status = Status::Corrupt(path + " has the wrong size for a secret key");
  } else {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t r = read(fd, bytes.data() + got, bytes.size() - got);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    if (got != bytes.size()) status = Status::IoError("short read of " + path);
  }
  close(fd);
  VEIL_RETURN_IF_ERROR(status);
  VEIL_ASSIGN_OR_RETURN(auto ctx, MakeSheContext(params));
  auto sk = he::DeserializeSecretKey(*ctx, bytes);
  std::fill(bytes.begin(), bytes.end(), 0);
  if (!sk.ok()) return Status::Corrupt(path + ": " + sk.status().message());
  return std::make_shared<const he::SecretKey>(std::move(sk).value());
}

Status WriteSecretKeyFile(const std::string& path, SheParams params, const he::SecretKey& sk) {
  VEIL_ASSIGN_OR_RETURN(auto ctx, MakeSheContext(params));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, he::SerializeSecretKey(*ctx, sk));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t w = write(fd, bytes.data() + put, bytes.size() - put);
    if (w <= 0) break;
    put += static_cast<size_t>(w);
  }
  const bool ok = put == bytes.size() && fsync(fd) == 0;
  close(fd);
  std::fill(bytes.begin(), bytes.end(), 0);
  return ok ? Status::Ok() : Status::IoError("cannot write " + path);
}

}  // namespace veil::she
