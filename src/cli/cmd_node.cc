// veil node --model M.veil --segments 1,2 --listen 127.0.0.1:PORT
// Serves the listed segments over gRPC until SIGINT or SIGTERM (docs/net.md). Prints
// "listening on HOST:PORT" once bound (PORT 0 picks a free port) and one log line per
// request on stderr. Plaintext and unauthenticated in this slice: loopback only.
#include <signal.h>

#include <iostream>
#include <mutex>

#include "cli_common.h"
#include "commands.h"
#include "veil/net/node_server.h"

namespace veil::cli {
namespace {

struct NodeArgs {
  std::string model;
  std::string segments;
  std::string listen = "127.0.0.1:0";
  int threads = 1;
  std::string kernel = "auto";
  int64_t max_message_mib = 64;
};

Result<std::vector<int>> ParseSegments(const std::string& spec) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    if (item.empty() || item.size() > 6 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return Status::InvalidArgument("--segments: '" + item + "' is not a segment index");
    out.push_back(std::stoi(item));
    pos = comma + 1;
  }
  return out;
}

int RunNode(const NodeArgs& args) {
  auto segments = ParseSegments(args.segments);
  if (!segments.ok()) return Fail(segments.status());
  auto path = ParseKernelPath(args.kernel);
  if (!path.ok()) return Fail(path.status());
  net::NodeServerOptions options;
  options.listen_address = args.listen;
  options.segments = *segments;
  options.session.kernel_path = *path;
  options.session.threads = args.threads;
  options.max_message_bytes = args.max_message_mib << 20;
  options.max_tensor_bytes = options.max_message_bytes * 3 / 4;
  auto log_mutex = std::make_shared<std::mutex>();
  options.log = [log_mutex](const std::string& line) {
    std::lock_guard<std::mutex> lock(*log_mutex);
    std::cerr << "veil node: " << line << std::endl;
  };

  // Block the termination signals before gRPC starts its threads, then wait for one here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = net::NodeServer::StartFromFile(args.model, std::move(options));
  if (!server.ok()) return Fail(server.status());
  std::cout << "listening on " << (*server)->address() << " model "
            << DigestToHex((*server)->model_digest()).substr(0, 16) << " segments " << args.segments
            << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "veil node: signal " << received << ", shutting down" << std::endl;
  (*server)->Shutdown(2000);
  return 0;
}

}  // namespace

void AddNodeCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "node", "Serve segments of a .veil model over gRPC (plaintext: loopback only)");
  cmd->add_option("--model,-m", args->model, ".veil model file")->required();
  cmd->add_option("--segments,-s", args->segments, "segment indices to host, e.g. 1,2")->required();
  cmd->add_option("--listen,-l", args->listen, "host:port to listen on (port 0: any free port)");
  cmd->add_option("--threads", args->threads, "worker threads per segment")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--kernel", args->kernel, "kernel path: auto, scalar, avx2, avx512, avx512vnni");
  cmd->add_option("--max-message-mib", args->max_message_mib,
                  "largest gRPC message accepted or sent")
      ->check(CLI::Range(1, 1024));
  cmd->callback([run, args] { *run = [args] { return RunNode(*args); }; });
}

}  // namespace veil::cli
