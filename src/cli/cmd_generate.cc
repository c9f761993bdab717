// veil generate: greedy text generation with a KV cache.
//   veil generate MODEL.veil --prompt TEXT [--tokens N]           in this process
//   veil generate --model NAME --prompt TEXT                       across the network of
//       `veil up` (or --registry): the client keeps the embedding and the head, the middle
//       segments run on nodes, each holding the session's key/value cache
//   veil generate MODEL.veil --route seg1=H:P[|ALT],... --insecure  pinned plaintext route
// A node that dies mid-generation is replaced and the session's history replayed; the
// text is the same as without the failure.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "network_config.h"
#include "veil/generate.h"
#include "veil/model_file.h"

namespace veil::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string model_name;
  std::string registry;
  std::string data_dir;
  std::string route;
  bool insecure = false;
  std::string prompt;
  int tokens = 64;
  bool json = false;
  int threads = 1;
  int64_t deadline_ms = 30000;
};

int RunGenerate(const GenerateArgs& args) {
  SessionOptions options;
  options.threads = args.threads;
  net::SplitOptions split;
  split.session = options;
  split.client.deadline_ms = args.deadline_ms;

  auto target = OpenTarget(
      {args.model, args.model_name, args.registry, args.data_dir, args.route, args.insecure},
      split);
  if (!target.ok()) return Fail(target.status());
  const Graph* graph = &target->graph;
  std::shared_ptr<net::SplitRunner> runner = target->runner;
  if (graph->task != ModelTask::kTextGenerator)
    return Fail(Status::InvalidArgument(graph->name + " is not a text generator"));
  std::vector<int> prompt(args.prompt.begin(), args.prompt.end());
  for (int& t : prompt) t = static_cast<unsigned char>(t);
  GenerateOptions gen;
  gen.max_new_tokens = args.tokens;
  if (!args.json)
    gen.on_token = [](int token) { std::cout << static_cast<char>(token) << std::flush; };
  GenerateResult generated;
  std::vector<net::SplitStage> stages;
  std::vector<net::Failover> failovers;
  if (runner != nullptr) {
    if (auto nodes = runner->NextNodes(); nodes.ok()) {
      std::cerr << "veil: route:";
      for (size_t i = 0; i < nodes->size(); ++i) std::cerr << " seg" << i + 1 << "=" << (*nodes)[i];
      std::cerr << std::endl;
    }
    if (!args.json) std::cout << args.prompt << std::flush;
    auto result = runner->Generate(prompt, gen);
    if (!args.json) std::cout << "\n";
    if (!result.ok()) return Fail(result.status());
    generated = result->generated;
    stages = result->stages;
    failovers = result->failovers;
    PrintFailovers(failovers);
  } else {
    auto session = Session::Create(*graph, options);
    if (!session.ok()) return Fail(session.status());
    if (!args.json) std::cout << args.prompt << std::flush;
    auto result = GenerateGreedy(**session, prompt, gen);
    if (!args.json) std::cout << "\n";
    if (!result.ok()) return Fail(result.status());
    generated = *result;
  }
  const std::string text(generated.tokens.begin(), generated.tokens.end());
  if (args.json) {
    nlohmann::json j = {{"model", graph->name},
                        {"prompt", args.prompt},
                        {"text", text},
                        {"tokens", generated.tokens},
                        {"stopped_at_context", generated.stopped_at_context}};
    if (runner != nullptr) {
      nlohmann::json route = nlohmann::json::array(), fo = nlohmann::json::array();
      for (const auto& s : stages)
        route.push_back({{"segment", s.segment_index}, {"served_by", s.served_by}});
      for (const auto& f : failovers)
        fo.push_back({{"failed_node", f.failed_node},
                      {"detection_ms", f.detection_ms},
                      {"recovery_ms", f.recovery_ms}});
      j["route"] = route;
      j["failovers"] = fo;
    }
    std::cout << j.dump() << "\n";
  } else {
    if (generated.stopped_at_context)
      std::cerr << "(stopped: the model's context length was reached)\n";
    for (const auto& s : stages)
      std::cerr << "  segment " << s.segment_index << ": " << s.served_by << "\n";
  }
  return 0;
}

}  // namespace

void AddGenerateCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd =
      app.add_subcommand("generate", "Generate text (greedy, KV cache), locally or across nodes");
  cmd->add_option("file", args->model,
                  ".veil model file (default with --model: the network's copy)");
  cmd->add_option("--model", args->model_name, "model NAME published in the network");
  cmd->add_option("--registry", args->registry,
                  "etcd://HOST:PORT (default: the network of veil up)");
  cmd->add_option("--data-dir", args->data_dir, "where veil up keeps its state");
  cmd->add_option("--route,-r", args->route, "pinned: segN=host:port[|alt],...");
  cmd->add_flag("--insecure", args->insecure, "--route: accept plaintext, unauthenticated links");
  cmd->add_option("--prompt,-p", args->prompt, "prompt text")->required();
  cmd->add_option("--tokens,-n", args->tokens, "number of new tokens")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", args->threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_option("--deadline-ms", args->deadline_ms, "deadline per remote call")
      ->check(CLI::Range(1, 3600000));
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->callback([run, args] { *run = [args] { return RunGenerate(*args); }; });
}

}  // namespace veil::cli
