// veil up --nodes N --model A.veil [--model B.veil ...]
// Starts a local network on this machine and keeps it running until SIGINT or SIGTERM:
// the embedded registry (or --registry etcd://... for an external etcd), the models
// published by a local owner identity, and N `veil node` processes on loopback, each
// middle segment placed on two nodes (when N >= 2) so that a node can fail. Writes
// <data dir>/network.json for `veil models`, `veil infer --model` and `veil generate --model`.
// As the owner it also commits to each model's weights (zk::CommitModel), publishes the
// commitment next to the model record (net::PublishModelCommitment) and entrusts the
// commitment secret (<data dir>/secrets/<name>.commit.secret, mode 0600) to the nodes that
// host the model's segments (--zk-secret), so that they prove on request (--mode proof).
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "network_config.h"
#include "veil/model_file.h"
#include "veil/net/proof_inference.h"
#include "veil/net/publication.h"
#include "veil/registry/embedded_server.h"
#include "veil/registry/registry.h"
#include "veil/segmenter.h"
#include "veil/zk/model_commitment.h"

extern char** environ;

namespace veil::cli {
namespace {

struct UpArgs {
  int nodes = 3;
  int replicas = 2;  // nodes per middle segment (consensus committees need r of them)
  std::vector<std::string> models;
  std::string data_dir;
  std::string registry;
  int64_t ttl_s = 3;
  bool json = false;
};

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the node's stdout (its "listening on" line)
  NetworkNode node;
  std::vector<std::string> serves;
};

Status SpawnNode(const std::string& registry, const std::string& dir, int64_t ttl_s,
                 const std::vector<std::string>& serves, const std::vector<std::string>& secrets,
                 Child* child) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  std::vector<std::string> argv = {"veil",
                                   "node",
                                   "--registry",
                                   registry,
                                   "--data-dir",
                                   dir,
                                   "--ttl",
                                   std::to_string(ttl_s),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--metrics-listen",
                                   "127.0.0.1:0"};
  for (const std::string& s : serves) {
    argv.push_back("--serve");
    argv.push_back(s);
  }
  for (const std::string& s : secrets) {
    argv.push_back("--zk-secret");
    argv.push_back(s);
  }
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Status::IoError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  const std::string log = dir + "/node.log";
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  // The child must not inherit our blocked signal mask (it blocks its own).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&child->pid, "/proc/self/exe", &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return Status::IoError("cannot start a node process: " + std::string(strerror(rc)));
  }
  child->out = fdopen(pipe_fds[0], "r");
  child->serves = serves;
  return Status::Ok();
}

// As the model owner: commits to the model's weights, publishes the commitment in the
// registry and keeps the secret for the hosting nodes. Returns the secret's path.
Result<std::string> CommitAndPublish(registry::Registry& reg, const registry::Identity& owner,
                                     const Graph& graph, const registry::ModelRecord& record,
                                     const std::string& data_dir) {
  zk::CommitmentSeed seed;
  randombytes_buf(seed.data(), seed.size());
  auto commitment = zk::CommitModel(graph, seed);
  if (!commitment.ok()) {
    sodium_memzero(seed.data(), seed.size());
    return commitment.status();
  }
  std::vector<uint8_t> secret = zk::SerializeCommitmentSecret(seed, commitment->digest);
  sodium_memzero(seed.data(), seed.size());
  const std::string dir = data_dir + "/secrets";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) return Status::IoError("cannot create " + dir);
  const std::string path =
      std::filesystem::absolute(dir + "/" + record.name + ".commit.secret").string();
  Status s = WriteFileWithMode(path, secret, 0600);
  sodium_memzero(secret.data(), secret.size());
  VEIL_RETURN_IF_ERROR(s);
  // The public file too, for `veil verify` and as a copy of what the registry holds.
  VEIL_RETURN_IF_ERROR(WriteFileWithMode(data_dir + "/store/" + record.name + ".commit",
                                         zk::SerializeModelCommitment(*commitment), 0644));
  VEIL_RETURN_IF_ERROR(net::PublishModelCommitment(reg, owner, record, *commitment));
  return path;
}

// Reads "listening on ADDR metrics MADDR node ID serving ..." from the child.
Status AwaitListening(Child* child, const std::string& dir) {
  char line[4096];
  if (child->out == nullptr || fgets(line, sizeof(line), child->out) == nullptr)
    return Status::IoError("node process " + std::to_string(child->pid) +
                           " exited before listening; see " + dir + "/node.log");
  char address[256], metrics[256], id[128];
  if (std::sscanf(line, "listening on %255s metrics %255s node %127s", address, metrics, id) != 3)
    return Status::Corrupt("unexpected node output: " + std::string(line));
  child->node = {address, metrics, id, child->pid};
  return Status::Ok();
}

void StopChildren(std::vector<Child>& children) {
  for (Child& c : children)
    if (c.pid > 0) kill(c.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (Child& c : children) {
    if (c.pid <= 0) continue;
    int status = 0;
    while (waitpid(c.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (c.out != nullptr) fclose(c.out);
    c.pid = -1;
  }
}

int RunUp(const UpArgs& args) {
  if (args.models.empty())
    return Fail(
        Status::InvalidArgument("give the models to publish: --model FILE.veil (scripts/demo.sh "
                                "imports the shipped ones)"));
  const std::string data_dir = args.data_dir.empty() ? DefaultDataDir() : args.data_dir;
  if (auto running = ReadNetworkConfig(data_dir);
      running.ok() && running->pid > 0 && kill(running->pid, 0) == 0)
    return Fail(Status::FailedPrecondition("a network is already running from " + data_dir +
                                           " (veil up pid " + std::to_string(running->pid) + ")"));
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail(Status::IoError("cannot create " + data_dir + ": " + ec.message()));

  // Signals are handled by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<registry::EmbeddedRegistryServer> embedded;
  std::string endpoint = args.registry;
  if (endpoint.empty()) {
    auto server = registry::EmbeddedRegistryServer::Start();
    if (!server.ok()) return Fail(server.status());
    embedded = std::move(server).value();
    endpoint = embedded->endpoint();
  }
  auto reg = registry::Registry::Connect(endpoint);
  if (!reg.ok()) return Fail(reg.status());
  auto owner = registry::Identity::LoadOrCreate(data_dir + "/owner");
  if (!owner.ok()) return Fail(owner.status());

  // Publish each model with one middle segment per node (at most 3), each middle segment
  // placed on `replicas` consecutive nodes (at most all of them).
  const int n = args.nodes;
  std::vector<std::vector<std::string>> serves(static_cast<size_t>(n));
  std::vector<std::set<std::string>> secrets(static_cast<size_t>(n));
  std::cout << "registry " << endpoint << (embedded ? " (embedded)" : "") << "\n";
  for (const std::string& path : args.models) {
    auto graph = LoadModel(path);
    if (!graph.ok()) return Fail(graph.status());
    const int max_segments = static_cast<int>(graph->nodes.size());
    const int count = std::min({n + 2, 5, max_segments});
    if (count < 3)
      return Fail(Status::InvalidArgument(path + " has too few nodes to split in three"));
    if (Status s = SplitIntoSegments(&*graph, count); !s.ok()) return Fail(s);
    auto record = net::PublishModel(**reg, **owner, *graph, data_dir + "/store");
    if (!record.ok()) return Fail(record.status());
    std::cout << "published " << record->name << " "
              << DigestToHex(record->model_digest).substr(0, 16) << " in " << count
              << " segments\n";
    auto secret = CommitAndPublish(**reg, **owner, *graph, *record, data_dir);
    if (secret.ok())
      std::cout << "committed " << record->name << " (zk model commitment published; hosting "
                << "nodes hold the secret)\n";
    else
      std::cout << "no commitment for " << record->name << ": " << secret.status().message()
                << " (--mode proof unavailable for it)\n";
    for (int m = 1; m <= count - 2; ++m) {
      std::set<int> hosts;
      for (int k = 0; k < std::min(args.replicas, n); ++k) hosts.insert((m - 1 + k) % n);
      for (int h : hosts) {
        std::string& spec = serves[static_cast<size_t>(h)].emplace_back();
        spec = record->name + ":" + std::to_string(m);
        if (secret.ok()) secrets[static_cast<size_t>(h)].insert(*secret);
      }
    }
  }
  // Merge each node's specs per model ("cnn:1" + "cnn:2" -> "cnn:1,2").
  std::vector<Child> children(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::map<std::string, std::string> per_model;
    for (const std::string& s : serves[static_cast<size_t>(i)]) {
      const size_t colon = s.find(':');
      std::string& segs = per_model[s.substr(0, colon)];
      segs += (segs.empty() ? "" : ",") + s.substr(colon + 1);
    }
    std::vector<std::string> specs;
    for (const auto& [model, segs] : per_model) specs.push_back(model + ":" + segs);
    if (specs.empty()) continue;  // more nodes than segments to place
    const std::string dir = data_dir + "/node-" + std::to_string(i);
    const std::vector<std::string> node_secrets(secrets[static_cast<size_t>(i)].begin(),
                                                secrets[static_cast<size_t>(i)].end());
    if (Status s = SpawnNode(endpoint, dir, args.ttl_s, specs, node_secrets,
                             &children[static_cast<size_t>(i)]);
        !s.ok()) {
      StopChildren(children);
      return Fail(s);
    }
  }
  NetworkConfig config;
  config.registry = endpoint;
  config.store = std::filesystem::absolute(data_dir + "/store").string();
  config.pid = static_cast<int>(getpid());
  for (int i = 0; i < n; ++i) {
    Child& c = children[static_cast<size_t>(i)];
    if (c.pid <= 0) continue;
    if (Status s = AwaitListening(&c, data_dir + "/node-" + std::to_string(i)); !s.ok()) {
      StopChildren(children);
      return Fail(s);
    }
    config.nodes.push_back(c.node);
  }
  // Wait until every node is registered (its record signed and verified).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto nodes = (*reg)->ListNodes();
    size_t registered = 0;
    if (nodes.ok())
      for (const NetworkNode& want : config.nodes)
        for (const auto& have : *nodes)
          if (have.node_id() == want.node_id) ++registered;
    if (registered == config.nodes.size()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      StopChildren(children);
      return Fail(Status::Unavailable("nodes did not register within 30 s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (Status s = WriteNetworkConfig(data_dir, config); !s.ok()) {
    StopChildren(children);
    return Fail(s);
  }
  for (size_t i = 0; i < children.size(); ++i) {
    const Child& c = children[i];
    if (c.pid <= 0) continue;
    std::cout << "node " << i << "  " << c.node.node_id.substr(0, 12) << "  " << c.node.address
              << "  metrics http://" << c.node.metrics_address << "/metrics  pid " << c.pid
              << "  serves";
    for (const std::string& s : c.serves) std::cout << " " << s;
    std::cout << "\n";
  }
  std::cout << "network up: " << config.nodes.size() << " node(s); " << NetworkConfigPath(data_dir)
            << "; Ctrl-C to stop" << std::endl;

  // Run until a signal; report nodes that exit on their own (they are not restarted).
  while (true) {
    timespec tick{0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    for (Child& c : children) {
      int status = 0;
      if (c.pid > 0 && waitpid(c.pid, &status, WNOHANG) == c.pid) {
        std::cout << "node " << c.node.address << " (pid " << c.pid << ") exited"
                  << (WIFSIGNALED(status) ? " on signal " + std::to_string(WTERMSIG(status)) : "")
                  << std::endl;
        c.pid = -1;
      }
    }
  }
  std::cout << "stopping " << config.nodes.size() << " node(s)" << std::endl;
  StopChildren(children);
  std::filesystem::remove(NetworkConfigPath(data_dir), ec);
  reg->reset();
  if (embedded) embedded->Shutdown();
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<UpArgs>();
  CLI::App* cmd = app.add_subcommand("up", "Start a local veil network (registry + N nodes)");
  cmd->add_option("--nodes,-n", args->nodes, "node processes to start")->check(CLI::Range(1, 16));
  cmd->add_option("--replicas", args->replicas,
                  "nodes hosting each middle segment (default 2; consensus needs >= committee)")
      ->check(CLI::Range(1, 16));
  cmd->add_option("--model,-m", args->models, ".veil models to publish and place")->expected(1, 16);
  cmd->add_option("--data-dir", args->data_dir, "network state (default $VEIL_HOME or ~/.veil)");
  cmd->add_option("--registry", args->registry,
                  "use this etcd (etcd://HOST:PORT) instead of the embedded registry");
  cmd->add_option("--ttl", args->ttl_s, "node lease TTL in seconds")->check(CLI::Range(1, 3600));
  cmd->callback([run, args] { *run = [args] { return RunUp(*args); }; });
}

}  // namespace veil::cli
