// veil node: serves segments over gRPC until SIGINT or SIGTERM (docs/net.md).
//
//   veil node --registry etcd://HOST:PORT --data-dir DIR --serve MODEL:1,2 [--serve ...]
//       Joins a network: loads (or creates) the node identity in DIR, fetches each listed
//       segment from the model's published record and verifies it, serves over mutual TLS
//       admitting only keys registered in the registry, measures its throughput, and
//       registers a signed node record under a lease that it keeps alive until it stops.
//       With --zk-secret FILE (the model owner's MODEL.commit.secret, entrusted to this node),
//       it also proves its segments on request (ProveSegment) under the owner's published
//       model commitment (docs/zk.md "In the network").
//   veil node --model M.veil --segments 1,2 --insecure [--commitment M.commit]
//       Standalone, plaintext and unauthenticated (tests and loopback experiments only);
//       --commitment (with M.commit.secret beside it) offers proofs.
//   veil node --ckks-model models/polymlp/polymlp.onnx --ckks-layers 0:2 --insecure
//       Standalone SHE non-interactive mode (CKKS): evaluates the layer ranges of the
//       polynomial-activation network read from the ONNX file (docs/he.md); may be combined
//       with --model/--segments.
//
// Prints one line "listening on HOST:PORT ..." once bound, then one key=value log line per
// request on stderr; /metrics (Prometheus text) on --metrics-listen when given.
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "network_config.h"
#include "veil/model_file.h"
#include "veil/net/metrics_http.h"
#include "veil/net/network.h"
#include "veil/net/node_server.h"
#include "veil/net/proof_inference.h"
#include "veil/net/publication.h"
#include "veil/she/server.h"
#include "veil/she/service.h"

namespace veil::cli {
namespace {

struct NodeArgs {
  std::string model;
  std::string segments;
  bool insecure = false;
  std::string registry;
  std::string data_dir;
  std::vector<std::string> serve;
  int64_t ttl_s = 5;
  std::string listen = "127.0.0.1:0";
  std::string metrics_listen;
  int threads = 1;
  std::string kernel = "auto";
  int64_t max_message_mib = 64;
  std::vector<std::string> zk_secrets;  // networked: owners' commitment secrets
  std::string commitment;               // standalone: MODEL.commit (secret beside it)
  std::string ckks_model;   // SHE non-interactive mode: ONNX of a polynomial-activation network
  std::string ckks_layers;  // FIRST:LAST[,FIRST:LAST...]
};

// The CKKS layer ranges of --ckks-model / --ckks-layers (none if not given).
Result<std::vector<she::CkksHostedSegment>> CkksSegments(const NodeArgs& args) {
  std::vector<she::CkksHostedSegment> out;
  if (args.ckks_model.empty() != args.ckks_layers.empty())
    return Status::InvalidArgument("--ckks-model and --ckks-layers go together");
  if (args.ckks_model.empty()) return out;
  VEIL_ASSIGN_OR_RETURN(auto spec, she::LoadCkksModel(args.ckks_model));
  VEIL_ASSIGN_OR_RETURN(auto ranges, she::ParseLayerRanges(args.ckks_layers));
  for (const auto& [first, last] : ranges) out.push_back({spec, first, last});
  return out;
}

// Proving material from a commitment and the owner's secret file for it.
Result<std::shared_ptr<const net::SegmentProving>> ProvingMaterial(zk::ModelCommitment commitment,
                                                                   const std::string& secret_path) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(secret_path));
  auto seed = zk::ParseCommitmentSecret(bytes, commitment.digest);
  sodium_memzero(bytes.data(), bytes.size());
  if (!seed.ok()) return seed.status().WithContext(secret_path);
  auto proving = std::make_shared<net::SegmentProving>();
  proving->commitment = std::move(commitment);
  proving->seed = *seed;
  sodium_memzero(seed->data(), seed->size());
  return std::shared_ptr<const net::SegmentProving>(std::move(proving));
}

Result<std::vector<int>> ParseSegments(const std::string& spec) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    if (item.empty() || item.size() > 6 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return Status::InvalidArgument("segments: '" + item + "' is not a segment index");
    out.push_back(std::stoi(item));
    pos = comma + 1;
  }
  return out;
}

// "ts=2026-11-25T12:00:00Z" for structured log lines.
std::string Timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::function<void(const std::string&)> Logger() {
  auto mutex = std::make_shared<std::mutex>();
  return [mutex](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mutex);
    std::cerr << "ts=" << Timestamp() << " " << line << std::endl;
  };
}

// Samples per second of one segment on this machine (a batch of 8, dynamic dims 8).
double MeasureThroughput(const Graph& segment, const SessionOptions& options) {
  auto session = Session::Create(segment, options);
  if (!session.ok()) return 0;
  constexpr int64_t kBatch = 8;
  std::vector<Tensor> inputs;
  for (int id : segment.inputs) {
    const Value& v = segment.values[static_cast<size_t>(id)];
    Shape shape = {kBatch};
    for (int64_t d : v.shape) shape.push_back(d == kDynamicDim ? 8 : d);
    inputs.emplace_back(v.dtype, shape);  // zeros: valid for int8 and for token ids
  }
  if (!(*session)->Run(inputs).ok()) return 0;
  const auto start = std::chrono::steady_clock::now();
  constexpr int kRuns = 3;
  for (int i = 0; i < kRuns; ++i)
    if (!(*session)->Run(inputs).ok()) return 0;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s > 0 ? kBatch * kRuns / s : 0;
}

// The SHE exact-mode service (veil/she/service.h) for `segments`, on the node's port.
Result<std::unique_ptr<she::SheService>> AddSheService(
    const std::vector<net::SegmentToHost>& segments, net::NodeServerOptions* options,
    std::vector<she::CkksHostedSegment> ckks = {}) {
  she::SheServiceOptions she_options;
  she_options.log = options->log;
  she_options.ckks_segments = std::move(ckks);
  VEIL_ASSIGN_OR_RETURN(auto service, she::SheService::Create(segments, she_options));
  options->extra_services.push_back(service->Registrar());
  return service;
}

sigset_t BlockTerminationSignals() {
  // Blocked before gRPC starts its threads, so that sigwait here receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int Serve(net::NodeServer& server, const std::string& metrics_listen, sigset_t signals,
          const std::string& banner) {
  std::unique_ptr<net::MetricsHttpServer> metrics;
  std::string metrics_address = "-";
  if (!metrics_listen.empty()) {
    auto m =
        net::MetricsHttpServer::Start(metrics_listen, [&server] { return server.MetricsText(); });
    if (!m.ok()) return Fail(m.status());
    metrics = std::move(m).value();
    metrics_address = metrics->address();
  }
  std::cout << "listening on " << server.address() << " metrics " << metrics_address << " "
            << banner << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "ts=" << Timestamp() << " event=shutdown signal=" << received << std::endl;
  return 0;
}

// A node that only evaluates CKKS segments: the She service on a bare gRPC server.
int RunCkksOnly(const NodeArgs& args, const net::NodeServerOptions& node_options,
                std::vector<she::CkksHostedSegment> ckks) {
  she::SheServiceOptions she_options;
  she_options.log = node_options.log;
  she_options.ckks_segments = std::move(ckks);
  auto service = she::SheService::Create({}, she_options);
  if (!service.ok()) return Fail(service.status());
  const sigset_t signals = BlockTerminationSignals();
  she::SheServerOptions server_options;
  server_options.listen_address = args.listen;
  server_options.max_message_bytes = node_options.max_message_bytes;
  server_options.services.push_back((*service)->Registrar());
  auto server = she::SheServer::Start(std::move(server_options));
  if (!server.ok()) return Fail(server.status());
  std::cerr << "ts=" << Timestamp()
            << " level=warn event=insecure msg=\"plaintext, unauthenticated links\"" << std::endl;
  std::cout << "listening on " << (*server)->address() << " metrics - INSECURE ckks model "
            << args.ckks_model << " layers " << args.ckks_layers << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "ts=" << Timestamp() << " event=shutdown signal=" << received << std::endl;
  (*server)->Shutdown(2000);
  return 0;
}

int RunStandalone(const NodeArgs& args, net::NodeServerOptions options) {
  if (!args.insecure)
    return Fail(Status::InvalidArgument(
        "--model without --registry serves plaintext without authentication; pass --insecure "
        "to confirm (tests and loopback only), or join a network with --registry"));
  auto ckks = CkksSegments(args);
  if (!ckks.ok()) return Fail(ckks.status());
  if (args.model.empty()) return RunCkksOnly(args, options, std::move(ckks).value());
  auto segments = ParseSegments(args.segments);
  if (!segments.ok()) return Fail(segments.status());
  options.segments = *segments;
  auto model = LoadModel(args.model);
  if (!model.ok()) return Fail(model.status());
  auto she_segments = she::ExtractSegments(*model, *segments);
  if (!she_segments.ok()) return Fail(she_segments.status());
  auto she = AddSheService(*she_segments, &options, std::move(ckks).value());
  if (!she.ok()) return Fail(she.status());
  if (!args.commitment.empty()) {
    auto bytes = ReadWholeFile(args.commitment);
    if (!bytes.ok()) return Fail(bytes.status());
    auto commitment = zk::ParseModelCommitment(*bytes);
    if (!commitment.ok()) return Fail(commitment.status().WithContext(args.commitment));
    auto proving = ProvingMaterial(std::move(commitment).value(), args.commitment + ".secret");
    if (!proving.ok()) return Fail(proving.status());
    options.proving = *proving;
  }
  const sigset_t signals = BlockTerminationSignals();
  auto server = net::NodeServer::Start(*model, std::move(options));
  if (!server.ok()) return Fail(server.status());
  std::cerr << "ts=" << Timestamp()
            << " level=warn event=insecure msg=\"plaintext, unauthenticated links\"" << std::endl;
  const int code = Serve(**server, args.metrics_listen, signals,
                         "INSECURE model " + DigestToHex((*server)->model_digest()).substr(0, 16) +
                             " segments " + args.segments);
  (*server)->Shutdown(2000);
  return code;
}

int RunNetworked(const NodeArgs& args, net::NodeServerOptions options) {
  if (!args.ckks_model.empty())
    return Fail(Status::Unsupported(
        "--ckks-model is served by standalone nodes (--model/--ckks-model --insecure) only: "
        "CKKS segments are not published in the registry yet"));
  if (args.serve.empty())
    return Fail(Status::InvalidArgument("--registry needs --serve MODEL:SEGS"));
  const std::string data_dir = args.data_dir.empty() ? DefaultDataDir() + "/node" : args.data_dir;
  std::error_code ec;  // the identity directory itself is created (0700) by LoadOrCreate
  std::filesystem::create_directories(std::filesystem::path(data_dir).parent_path(), ec);
  auto identity = registry::Identity::LoadOrCreate(data_dir);
  if (!identity.ok()) return Fail(identity.status());
  registry::RegistryOptions registry_options;
  registry_options.log = options.log;
  auto reg = registry::Registry::Connect(args.registry, registry_options);
  if (!reg.ok()) return Fail(reg.status());

  // Fetch and verify every hosted segment; with --zk-secret, match each secret to the
  // published commitment of a served model.
  std::vector<net::SegmentToHost> hosted;
  std::vector<bool> secret_used(args.zk_secrets.size(), false);
  for (const std::string& spec : args.serve) {
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || colon == 0)
      return Fail(Status::InvalidArgument("--serve '" + spec + "' is not MODEL:SEG[,SEG...]"));
    auto record = (*reg)->GetModel(spec.substr(0, colon));
    if (!record.ok()) return Fail(record.status());
    auto indices = ParseSegments(spec.substr(colon + 1));
    if (!indices.ok()) return Fail(indices.status());
    std::shared_ptr<const net::SegmentProving> proving;
    if (!args.zk_secrets.empty()) {
      auto commitment = net::FetchModelCommitment(**reg, *record);
      if (!commitment.ok() && commitment.status().code() != StatusCode::kNotFound)
        return Fail(commitment.status());
      for (size_t i = 0; commitment.ok() && i < args.zk_secrets.size() && !proving; ++i) {
        auto material = ProvingMaterial(*commitment, args.zk_secrets[i]);
        if (material.ok()) {
          proving = *material;
          secret_used[i] = true;
        } else if (material.status().code() != StatusCode::kInvalidArgument) {
          return Fail(material.status());  // unreadable or corrupt (not: another model's)
        }
      }
    }
    for (int s : *indices) {
      auto segment = net::FetchSegment(*record, s);
      if (!segment.ok()) return Fail(segment.status());
      hosted.push_back({record->name, record->model_digest,
                        static_cast<int>(record->segments.size()), s,
                        record->segments[static_cast<size_t>(s)].segment_digest,
                        std::move(segment).value(), proving});
    }
  }
  for (size_t i = 0; i < args.zk_secrets.size(); ++i)
    if (!secret_used[i])
      return Fail(Status::InvalidArgument("--zk-secret " + args.zk_secrets[i] +
                                          " belongs to no served model's published commitment"));
  std::vector<registry::HostedSegment> advertised;
  for (const auto& h : hosted)
    advertised.push_back({h.model_digest, static_cast<uint32_t>(h.segment_index), h.segment_digest,
                          MeasureThroughput(h.graph, options.session)});

  // Admit registered keys only; the ring follows the registry.
  net::KeyRing ring;
  auto nodes = (*reg)->ListNodes();
  if (!nodes.ok()) return Fail(nodes.status());
  auto keys = net::RegisteredKeys(*nodes);
  keys.insert((*identity)->public_key());
  ring.Replace(keys);
  const registry::PublicKey self = (*identity)->public_key();
  auto watch = (*reg)->WatchNodes([&ring, self](const std::vector<registry::NodeRecord>& all) {
    auto k = net::RegisteredKeys(all);
    k.insert(self);
    ring.Replace(std::move(k));
  });
  if (!watch.ok()) return Fail(watch.status());
  auto security = net::IdentityLink(**identity, ring);
  if (!security.ok()) return Fail(security.status());
  options.security = *security;
  // Consensus commitments and committee proofs are signed with the node's identity, which
  // outlives the server (declared before it in this function): a non-owning pointer.
  options.identity = std::shared_ptr<const registry::Identity>(identity->get(),
                                                               [](const registry::Identity*) {});

  auto she = AddSheService(hosted, &options);
  if (!she.ok()) return Fail(she.status());
  const sigset_t signals = BlockTerminationSignals();
  auto server = net::NodeServer::Start(std::move(hosted), std::move(options));
  if (!server.ok()) return Fail(server.status());
  registry::NodeRecord record;
  record.node_key = self;
  record.grpc_address = (*server)->address();
  record.capacity.cores = std::max(1u, std::thread::hardware_concurrency());
  record.capacity.memory_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                 static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  record.segments = advertised;
  if (Status s = (*reg)->Join(**identity, record, args.ttl_s); !s.ok()) return Fail(s);
  std::string banner = "node " + (*identity)->node_id() + " serving";
  for (const std::string& spec : args.serve) banner += " " + spec;
  const int code = Serve(**server, args.metrics_listen, signals, banner);
  (void)(*reg)->Leave();  // the lease goes now rather than at expiry
  (*watch)->Cancel();
  (*server)->Shutdown(2000);
  return code;
}

int RunNode(const NodeArgs& args) {
  auto path = ParseKernelPath(args.kernel);
  if (!path.ok()) return Fail(path.status());
  net::NodeServerOptions options;
  options.listen_address = args.listen;
  options.session.kernel_path = *path;
  options.session.threads = args.threads;
  options.max_message_bytes = args.max_message_mib << 20;
  options.max_tensor_bytes = options.max_message_bytes * 3 / 4;
  options.log = Logger();
  const bool standalone = !args.model.empty() || !args.ckks_model.empty();
  if (args.registry.empty() == !standalone)
    return Fail(
        Status::InvalidArgument("give exactly one of --registry (join a network) and "
                                "--model / --ckks-model (standalone, with --insecure)"));
  return args.registry.empty() ? RunStandalone(args, std::move(options))
                               : RunNetworked(args, std::move(options));
}

}  // namespace

void AddNodeCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App* cmd = app.add_subcommand("node", "Serve model segments to a veil network over gRPC");
  cmd->add_option("--registry", args->registry, "join the network at etcd://HOST:PORT");
  cmd->add_option("--serve", args->serve, "MODEL:SEG[,SEG...] to fetch, verify and serve")
      ->expected(1, 64);
  cmd->add_option("--data-dir", args->data_dir,
                  "node identity directory (default $VEIL_HOME/node)");
  cmd->add_option("--ttl", args->ttl_s, "registry lease TTL in seconds")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--zk-secret", args->zk_secrets,
                  "a model owner's MODEL.commit.secret: prove that model's served segments on "
                  "request (the secret must match the commitment the owner published)")
      ->expected(1, 64);
  cmd->add_option("--commitment", args->commitment,
                  "standalone: MODEL.commit (with MODEL.commit.secret beside it): offer proofs");
  cmd->add_option("--model,-m", args->model, "standalone: .veil model file");
  cmd->add_option("--segments,-s", args->segments, "standalone: segment indices, e.g. 1,2");
  cmd->add_flag("--insecure", args->insecure,
                "standalone: accept plaintext, unauthenticated links");
  cmd->add_option("--listen,-l", args->listen, "host:port to listen on (port 0: any free port)");
  cmd->add_option("--metrics-listen", args->metrics_listen, "host:port for GET /metrics");
  cmd->add_option("--threads", args->threads, "worker threads per segment")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--kernel", args->kernel, "kernel path: auto, scalar, avx2, avx512, avx512vnni");
  cmd->add_option("--ckks-model", args->ckks_model,
                  "standalone: ONNX of a polynomial-activation network to evaluate under CKKS "
                  "(SHE non-interactive mode)");
  cmd->add_option("--ckks-layers", args->ckks_layers,
                  "with --ckks-model: layer ranges to host, FIRST:LAST[,FIRST:LAST...]");
  cmd->add_option("--max-message-mib", args->max_message_mib,
                  "largest gRPC message accepted or sent")
      ->check(CLI::Range(1, 1024));
  cmd->callback([run, args] { *run = [args] { return RunNode(*args); }; });
}

}  // namespace veil::cli
