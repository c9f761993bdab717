// veil keyholder: a delegate key holder for SHE exact mode (docs/he.md, "Delegate key holder").
//
//   veil keyholder --model M.veil [--model ...] --insecure [--listen HOST:PORT]
//       [--she-params N8192|N16384] [--secret-key FILE]
//
// Holds a BFV secret key (fresh from the OS CSPRNG, or FILE: loaded if it exists — a regular
// file of this user, mode 0600 — and created with a fresh key otherwise), publishes the
// public key, and runs `veil infer --mode she --key-holder HOST:PORT` requests: it uploads
// the nodes' Galois keys, sends each encrypted layer to the nodes named in the client's
// route, and decrypts, requantizes and re-encrypts between layers. Standalone and plaintext
// for now (--insecure: tests and loopback). Prints "listening on HOST:PORT ..." once bound.
#include <signal.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli_common.h"
#include "commands.h"
#include "veil/model_file.h"
#include "veil/she/key_holder.h"
#include "veil/she/server.h"

namespace veil::cli {
namespace {

struct KeyHolderArgs {
  std::vector<std::string> models;
  bool insecure = false;
  std::string listen = "127.0.0.1:0";
  std::string params = "N8192";
  std::string secret_key;
  int threads = 1;
  int64_t deadline_ms = 30000;
  int64_t max_message_mib = 64;
};

std::string Now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int RunKeyHolder(const KeyHolderArgs& args) {
  if (!args.insecure)
    return Fail(Status::InvalidArgument(
        "veil keyholder serves plaintext, unauthenticated links for now; pass --insecure to "
        "confirm (tests and loopback only)"));
  auto params = she::ParseSheParams(args.params);
  if (!params.ok()) return Fail(params.status());
  std::vector<Graph> models;
  for (const std::string& path : args.models) {
    auto g = LoadModel(path);
    if (!g.ok()) return Fail(g.status());
    models.push_back(std::move(g).value());
  }
  she::KeyHolderOptions options;
  options.params = *params;
  options.session.threads = args.threads;
  options.client.deadline_ms = args.deadline_ms;
  options.client.max_message_bytes = args.max_message_mib << 20;
  options.client.security = net::LinkSecurity::Insecure();
  auto mutex = std::make_shared<std::mutex>();
  options.log = [mutex](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mutex);
    std::cerr << "ts=" << Now() << " " << line << std::endl;
  };
  if (!args.secret_key.empty()) {
    if (!std::filesystem::exists(args.secret_key)) {
      auto ctx = she::MakeSheContext(*params);
      if (!ctx.ok()) return Fail(ctx.status());
      auto kg = he::KeyGenerator::Create(*ctx);
      if (!kg.ok()) return Fail(kg.status());
      if (Status s = she::WriteSecretKeyFile(args.secret_key, *params, kg->secret_key()); !s.ok())
        return Fail(s);
    }
    auto sk = she::LoadSecretKeyFile(args.secret_key, *params);
    if (!sk.ok()) return Fail(sk.status());
    options.secret_key = *sk;
  }
  auto service = she::KeyHolderService::Create(std::move(models), options);
  if (!service.ok()) return Fail(service.status());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  she::SheServerOptions server_options;
  server_options.listen_address = args.listen;
  server_options.max_message_bytes = args.max_message_mib << 20;
  server_options.services.push_back((*service)->Registrar());
  auto server = she::SheServer::Start(std::move(server_options));
  if (!server.ok()) return Fail(server.status());
  std::cerr << "ts=" << Now()
            << " level=warn event=insecure msg=\"plaintext, unauthenticated links\"" << std::endl;
  std::cout << "listening on " << (*server)->address() << " INSECURE keyholder "
            << she::SheParamsName(*params) << " key "
            << DigestToHex((*service)->public_key_digest()).substr(0, 16) << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "ts=" << Now() << " event=shutdown signal=" << received << std::endl;
  (*server)->Shutdown(2000);
  return 0;
}

}  // namespace

void AddKeyHolderCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<KeyHolderArgs>();
  CLI::App* cmd = app.add_subcommand(
      "keyholder", "Delegate key holder for SHE exact mode (holds the secret key for clients)");
  cmd->add_option("--model,-m", args->models, ".veil model(s) the key holder runs")
      ->required()
      ->expected(1, 16);
  cmd->add_flag("--insecure", args->insecure, "accept plaintext, unauthenticated links");
  cmd->add_option("--listen,-l", args->listen, "host:port to listen on (port 0: any free port)");
  cmd->add_option("--she-params", args->params, "BFV set N8192 or N16384");
  cmd->add_option("--secret-key", args->secret_key,
                  "keep the BFV secret key in this file (mode 0600; created if missing)");
  cmd->add_option("--threads", args->threads, "worker threads for the plaintext nodes")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--deadline-ms", args->deadline_ms, "deadline per node call")
      ->check(CLI::Range(1, 3600000));
  cmd->add_option("--max-message-mib", args->max_message_mib, "largest gRPC message")
      ->check(CLI::Range(1, 1024));
  cmd->callback([run, args] { *run = [args] { return RunKeyHolder(*args); }; });
}

}  // namespace veil::cli
