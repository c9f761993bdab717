// veil prove MODEL.veil --commitment MODEL.commit --segment I
//            (--input X.npy | --images SPEC | --opening PREV.opening...) -o PROOF [--threads N]
//
// Runs segment I and proves it (docs/zk.md, "Segment proofs"). Segment 0 takes the client's
// input (.npy or Fashion-MNIST images), committed here with fresh blinds; later segments take
// the previous segments' output openings (one or more files; each activation is matched to the
// segment's inputs by graph value id). Writes PROOF and PROOF.opening, the openings of the
// output commitment (private: it reveals the activation; hand it to the next segment's prover
// or, for the last segment, to the client). Needs MODEL.commit.secret beside the commitment.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "veil/model_file.h"
#include "veil/thread_pool.h"
#include "veil/zk/segment_proof.h"

namespace veil::cli {
namespace {

struct ProveArgs {
  std::string model, commitment, input, images, output;
  std::vector<std::string> openings;
  int segment = 0;
  int threads = 1;
};

int RunProve(const ProveArgs& args) {
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  auto commitment_bytes = ReadWholeFile(args.commitment);
  if (!commitment_bytes.ok()) return Fail(commitment_bytes.status());
  auto commitment = zk::ParseModelCommitment(*commitment_bytes);
  if (!commitment.ok()) return Fail(commitment.status().WithContext(args.commitment));
  auto secret_bytes = ReadWholeFile(args.commitment + ".secret");
  if (!secret_bytes.ok()) return Fail(secret_bytes.status());
  auto seed = zk::ParseCommitmentSecret(*secret_bytes, commitment->digest);
  if (!seed.ok()) return Fail(seed.status());
  if (Status s = zk::CheckSegmentProvable(*graph, args.segment); !s.ok()) return Fail(s);
  const zk::CommitmentKey key = zk::SegmentProofKey(*graph, *commitment);

  const int sources = !args.input.empty() + !args.images.empty() + !args.openings.empty();
  if (sources != 1)
    return Fail(Status::InvalidArgument("give exactly one of --input, --images, --opening"));
  std::vector<zk::ActivationOpening> inputs;
  if (!args.openings.empty()) {
    std::vector<zk::ActivationOpening> all;
    for (const std::string& path : args.openings) {
      auto bytes = ReadWholeFile(path);
      if (!bytes.ok()) return Fail(bytes.status());
      auto parsed = zk::ParseActivationOpenings(*bytes, key);
      if (!parsed.ok()) return Fail(parsed.status().WithContext(path));
      for (zk::ActivationOpening& a : *parsed) all.push_back(std::move(a));
    }
    const std::vector<int> wanted =
        graph->SegmentInputs(graph->EffectiveSegments()[static_cast<size_t>(args.segment)]);
    if (wanted.size() == 1 && all.size() == 1) {
      inputs.push_back(std::move(all[0]));  // one activation for one input (also unnamed ones)
    } else {
      for (int v : wanted) {
        auto it = std::find_if(all.begin(), all.end(),
                               [v](const zk::ActivationOpening& a) { return a.value == v; });
        if (it == all.end())
          return Fail(Status::InvalidArgument("no --opening holds the segment's input '" +
                                              graph->values[static_cast<size_t>(v)].name +
                                              "' (value " + std::to_string(v) + ")"));
        inputs.push_back(*it);
      }
    }
  } else {
    if (args.segment != 0)
      return Fail(Status::InvalidArgument("segment " + std::to_string(args.segment) +
                                          " takes the previous segment's --opening"));
    Result<Tensor> t = Status::Internal("no input");
    if (!args.input.empty()) {
      t = LoadInputNpy(*graph, args.input);
    } else {
      int64_t first = 0, count = 0;
      if (Status s = ParseImageRange(args.images, &first, &count); !s.ok()) return Fail(s);
      std::vector<int> labels;
      t = LoadFashionMnistInputs(*graph, first, count, &labels);
    }
    if (!t.ok()) return Fail(t.status());
    auto committed = zk::CommitActivation(key, *t);
    if (!committed.ok()) return Fail(committed.status());
    inputs.push_back(std::move(committed).value());
  }
  const auto start = std::chrono::steady_clock::now();
  // Progress on the terminal only (stderr is a tty); scripts and pipes see nothing extra.
  zk::ProveProgress progress;
  if (isatty(STDERR_FILENO)) {
    progress = [&args, start](size_t done, size_t total, const std::string& label) {
      const double t =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\r\033[Ksegment %d: %zu/%zu proved, %.1f s%s%s", args.segment, done,
                   total, t, done < total ? ", proving " : "", done < total ? label.c_str() : "");
      if (done == total) std::fputc('\n', stderr);
      std::fflush(stderr);
    };
  }
  if (args.threads < 1 || args.threads > 256)
    return Fail(Status::InvalidArgument("--threads must be in [1, 256]"));
  std::unique_ptr<ThreadPool> pool;
  if (args.threads > 1) pool = std::make_unique<ThreadPool>(args.threads);
  auto proved =
      zk::ProveSegment(*graph, *commitment, *seed, args.segment, inputs, progress, pool.get());
  if (!proved.ok()) return Fail(proved.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<uint8_t> proof = zk::SerializeSegmentProof(proved->proof);
  const std::vector<uint8_t> opening = zk::SerializeActivationOpenings(proved->outputs);
  Status s = WriteFileWithMode(args.output, proof, 0644);
  if (s.ok()) s = WriteFileWithMode(args.output + ".opening", opening, 0600);
  if (!s.ok()) return Fail(s);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::cout << "segment " << args.segment << " proved: " << proved->proof.layers.size()
            << " proven layers, batch " << proved->proof.batch << ", " << seconds << " s, proof "
            << proof.size() << " bytes, peak RSS " << ru.ru_maxrss / 1024 << " MB\n"
            << "wrote " << args.output << " and " << args.output << ".opening (keep private)\n";
  return 0;
}

}  // namespace

void AddProveCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<ProveArgs>();
  CLI::App* cmd = app.add_subcommand("prove", "prove one segment in zero knowledge (docs/zk.md)");
  cmd->add_option("model", args->model, "model .veil file")->required();
  cmd->add_option("--commitment", args->commitment,
                  "model commitment (from veil commit; its .secret beside it)")
      ->required();
  cmd->add_option("--segment", args->segment, "segment index")->required();
  cmd->add_option("--input", args->input, "segment 0: float input batch (.npy)");
  cmd->add_option("--images", args->images, "segment 0: Fashion-MNIST test images N or A:B");
  cmd->add_option("--opening", args->openings,
                  "later segments: the .opening file(s) of the segments that produced the inputs");
  cmd->add_option("--threads", args->threads,
                  "threads for the prover's commitments (default 1; the sumchecks stay serial)");
  cmd->add_option("-o,--output", args->output, "proof file to write (and <file>.opening)")
      ->required();
  cmd->callback([run, args] { *run = [args] { return RunProve(*args); }; });
}

}  // namespace veil::cli
