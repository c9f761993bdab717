// veil commit MODEL.veil -o MODEL.commit [--threads N]
//
// Commits to every segment's weights (docs/zk.md, "Weight commitments") and writes the
// public commitment file plus MODEL.commit.secret, the owner's 32-byte blinding seed
// (mode 0600): whoever proves segments of this model needs it, nobody else should see it.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "commands.h"
#include "veil/model_file.h"
#include "veil/thread_pool.h"
#include "veil/zk/model_commitment.h"

namespace veil::cli {
namespace {

struct CommitArgs {
  std::string model;
  std::string output;
  int threads = 0;
};

}  // namespace

Status WriteFileWithMode(const std::string& path, std::span<const uint8_t> bytes, unsigned mode) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return Status::IoError("cannot create " + path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Status::IoError("cannot write " + path);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Status::IoError("cannot write " + path);
  return Status::Ok();
}

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IoError("cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status::IoError("cannot read " + path);
  return bytes;
}

namespace {

int RunCommit(const CommitArgs& args) {
  if (sodium_init() < 0) return Fail(Status::Internal("libsodium failed to initialise"));
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  const int threads = args.threads > 0
                          ? args.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  zk::CommitmentSeed seed;
  randombytes_buf(seed.data(), seed.size());
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto commitment = zk::CommitModel(*graph, seed, &pool, [&](int64_t done, int64_t total) {
    if (tty)
      std::fprintf(stderr, "\rcommitting %lld / %lld parameters", static_cast<long long>(done),
                   static_cast<long long>(total));
  });
  if (tty) std::fprintf(stderr, "\n");
  if (!commitment.ok()) return Fail(commitment.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<uint8_t> bytes = zk::SerializeModelCommitment(*commitment);
  std::vector<uint8_t> secret = zk::SerializeCommitmentSecret(seed, commitment->digest);
  sodium_memzero(seed.data(), seed.size());
  Status s = WriteFileWithMode(args.output, bytes, 0644);
  if (s.ok()) s = WriteFileWithMode(args.output + ".secret", secret, 0600);
  sodium_memzero(secret.data(), secret.size());
  if (!s.ok()) return Fail(s);
  int64_t params = 0;
  for (const auto& seg : commitment->segments)
    for (const auto& t : seg.tensors) params += NumElements(t.shape);
  std::cout << "model commitment " << DigestToHex(commitment->digest) << "\n"
            << "segments         " << commitment->segments.size() << "\n"
            << "committed params " << params << " in " << seconds << " s (" << threads
            << " threads)\n"
            << "wrote            " << args.output << " (" << bytes.size() << " bytes), "
            << args.output << ".secret (keep private)\n";
  return 0;
}

}  // namespace

void AddCommitCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<CommitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "commit", "commit to every segment's weights (hiding Hyrax/Pedersen commitments)");
  cmd->add_option("model", args->model, "model .veil file")->required();
  cmd->add_option("-o,--output", args->output, "commitment file to write (and <file>.secret)")
      ->required();
  cmd->add_option("--threads", args->threads, "worker threads (default: all cores)");
  cmd->callback([run, args] { *run = [args] { return RunCommit(*args); }; });
}

}  // namespace veil::cli
