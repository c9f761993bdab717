// veil generate MODEL.veil --prompt TEXT --tokens N
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "veil/generate.h"
#include "veil/model_file.h"

namespace veil::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  int tokens = 64;
  bool json = false;
  int threads = 1;
};

int RunGenerate(const GenerateArgs& args) {
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  if (graph->task != ModelTask::kTextGenerator)
    return Fail(Status::InvalidArgument(args.model + " is not a text generator"));
  SessionOptions options;
  options.threads = args.threads;
  auto session = Session::Create(*graph, options);
  if (!session.ok()) return Fail(session.status());
  std::vector<int> prompt(args.prompt.begin(), args.prompt.end());
  for (int& t : prompt) t = static_cast<unsigned char>(t);
  GenerateOptions gen;
  gen.max_new_tokens = args.tokens;
  if (!args.json) {
    std::cout << args.prompt << std::flush;
    gen.on_token = [](int token) { std::cout << static_cast<char>(token) << std::flush; };
  }
  auto result = GenerateGreedy(**session, prompt, gen);
  if (!args.json) std::cout << "\n";
  if (!result.ok()) return Fail(result.status());
  std::string text(result->tokens.begin(), result->tokens.end());
  if (args.json) {
    nlohmann::json j = {{"model", graph->name}, {"prompt", args.prompt}, {"text", text},
                        {"tokens", result->tokens}, {"stopped_at_context", result->stopped_at_context}};
    std::cout << j.dump() << "\n";
  } else if (result->stopped_at_context) {
    std::cerr << "(stopped: the model's context length was reached)\n";
  }
  return 0;
}

}  // namespace

void AddGenerateCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text with a .veil text model (greedy, KV cache)");
  cmd->add_option("model", args->model, ".veil model file")->required();
  cmd->add_option("--prompt,-p", args->prompt, "prompt text")->required();
  cmd->add_option("--tokens,-n", args->tokens, "number of new tokens")->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", args->threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->callback([run, args] { *run = [args] { return RunGenerate(*args); }; });
}

}  // namespace veil::cli
