// U-shaped split inference (docs/net.md): the client runs the first and last segments
// itself, the middle segments run on nodes as a chain (each pushes to the next).
//   veil infer --model NAME (--images A:B | --input X.npy | --prompt TEXT) [--output Y.npy]
//       through the network of `veil up` (or --registry etcd://...): mutual TLS, routed by
//       expected latency, failover to another node hosting the segment.
//   veil infer MODEL.veil --route seg1=HOST:PORT[|ALT],... --insecure
//       pinned route to standalone (plaintext) nodes.
//   veil infer MODEL.veil --local
//       every segment in this process (the single-machine reference).
// Text models: --prompt TEXT runs one forward pass and prints the predicted next byte.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cmd_infer_she.h"
#include "commands.h"
#include "network_config.h"
#include "veil/model_file.h"
#include "veil/net/network.h"
#include "veil/net/split_inference.h"
#include "veil/npy.h"
#include "veil/quantization.h"
#include "proof_infer.h"
#include "verified_infer.h"

namespace veil::cli {
namespace {

struct InferArgs {
  std::string model;
  std::string model_name;
  std::string registry;
  std::string data_dir;
  std::string output;
  bool raw = false;
  bool insecure = false;
  std::string route;
  std::string input;
  std::string images;
  std::string prompt;
  bool local = false;
  bool json = false;
  int threads = 1;
  std::string kernel = "auto";
  int64_t deadline_ms = 30000;
  int64_t chunk = 256;
  std::string mode = "split";
  std::string she_params = "N8192";
  std::string key_holder;  // --mode she: a delegate key holder
  std::string ckks_model;  // --mode she-ckks
  // --mode consensus|audit (veil/net/verified_inference.h)
  VerifiedInferOptions verified;
};

// Token ids of `prompt` (bytes) and, for a second int32 input, positions 0..T-1.
Result<std::vector<Tensor>> TextInputs(const Graph& graph, const std::string& prompt) {
  if (prompt.empty()) return Status::InvalidArgument("--prompt is empty");
  const auto t = static_cast<int64_t>(prompt.size());
  std::vector<int32_t> tokens, positions;
  for (int64_t i = 0; i < t; ++i) {
    tokens.push_back(static_cast<unsigned char>(prompt[static_cast<size_t>(i)]));
    positions.push_back(static_cast<int32_t>(i));
  }
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const Value& v = graph.values[static_cast<size_t>(graph.inputs[i])];
    if (v.dtype != DType::kInt32 || v.shape.size() != 1 || i > 1)
      return Status::Unsupported("--prompt expects int32 [tokens] (and [positions]) inputs");
    inputs.push_back(Tensor::FromInt32({1, t}, i == 0 ? tokens : positions));
  }
  return inputs;
}

int RunInfer(const InferArgs& args) {
  if (args.mode == "she" || args.mode == "she-ckks") {
    const SheInferArgs she{args.model,     args.model_name,  args.registry,   args.data_dir,
                           args.route,     args.insecure,    args.input,      args.images,
                           args.output,    args.raw,         args.json,       args.threads,
                           args.kernel,    args.deadline_ms, args.she_params, args.key_holder,
                           args.ckks_model};
    return args.mode == "she" ? RunInferShe(she) : RunInferSheCkks(she);
  }
  if (!args.key_holder.empty() || !args.ckks_model.empty())
    return Fail(
        Status::InvalidArgument("--key-holder and --ckks-model belong to --mode she / she-ckks"));
  const int sources = !args.input.empty() + !args.images.empty() + !args.prompt.empty();
  if (sources != 1)
    return Fail(Status::InvalidArgument("give exactly one of --input, --images, --prompt"));
  const int modes = !args.model_name.empty() + !args.route.empty() + args.local;
  if (modes != 1)
    return Fail(Status::InvalidArgument(
        "give exactly one of --model NAME (the network), --route (pinned) or --local"));
  const bool verified = args.mode == "consensus" || args.mode == "audit";
  const bool proof = args.mode == "proof";
  if ((verified || proof) && args.model_name.empty())
    return Fail(Status::InvalidArgument("--mode " + args.mode +
                                        " runs through the network: give --model NAME"));
  auto path = ParseKernelPath(args.kernel);
  if (!path.ok()) return Fail(path.status());
  SessionOptions session;
  session.kernel_path = *path;
  session.threads = args.threads;
  net::SplitOptions split;
  split.session = session;
  split.client.deadline_ms = args.deadline_ms;
  auto target = OpenTarget(
      {args.model, args.model_name, args.registry, args.data_dir, args.route, args.insecure},
      split);
  if (!target.ok()) return Fail(target.status());
  const Graph* graph = &target->graph;
  std::shared_ptr<net::SplitRunner> runner = target->runner;
  std::unique_ptr<Session> local;
  if (graph->outputs.size() != 1)
    return Fail(Status::Unsupported("veil infer handles single-output models"));
  if (args.prompt.empty() && graph->inputs.size() != 1)
    return Fail(Status::Unsupported("multi-input models take --prompt"));
  if (args.local) {
    auto s = Session::Create(*graph, session);
    if (!s.ok()) return Fail(s.status());
    local = std::move(s).value();
  }

  std::vector<int> labels;
  std::vector<Tensor> inputs;
  if (!args.prompt.empty()) {
    auto t = TextInputs(*graph, args.prompt);
    if (!t.ok()) return Fail(t.status());
    inputs = std::move(t).value();
  } else if (!args.input.empty()) {
    auto t = LoadInputNpy(*graph, args.input);
    if (!t.ok()) return Fail(t.status());
    inputs.push_back(std::move(t).value());
  } else {
    int64_t first = 0, count = 0;
    if (Status s = ParseImageRange(args.images, &first, &count); !s.ok()) return Fail(s);
    auto t = LoadFashionMnistInputs(*graph, first, count, &labels);
    if (!t.ok()) return Fail(t.status());
    inputs.push_back(std::move(t).value());
  }

  // Chunks along the batch dimension bound the size of each message.
  Tensor output;
  std::vector<net::SplitStage> stages;
  std::vector<net::Failover> failovers;
  const int64_t batch = inputs[0].dim(0);
  if (verified) {
    VerifiedInferOptions options = args.verified;
    options.mode = args.mode;
    options.model_name = args.model_name;
    options.session = session;
    options.deadline_ms = args.deadline_ms;
    auto out = RunVerified(*target->client, *graph, inputs, args.chunk, options, &stages);
    if (!out.ok()) return Fail(out.status());
    output = std::move(out).value();
  }
  if (proof) {
    const ProofInferOptions options{args.model_name, args.verified.receipt_path, session,
                                    args.deadline_ms};
    auto out = RunProofInfer(*target->client, *graph, inputs, args.chunk, options, &stages);
    if (!out.ok()) return Fail(out.status());
    output = std::move(out).value();
  }
  for (int64_t b = 0; b < batch && !verified && !proof; b += args.chunk) {
    std::vector<Tensor> part;
    for (const Tensor& t : inputs) part.push_back(BatchRows(t, b, std::min(args.chunk, batch - b)));
    if (local != nullptr) {
      auto out = local->Run(part);
      if (!out.ok()) return Fail(out.status());
      AppendBatch(&output, (*out)[0]);
      stages = {net::SplitStage{0, ModelDigest(*graph), "local (whole model)", {}}};
    } else {
      auto result = runner->Run(part);
      if (!result.ok()) return Fail(result.status());
      AppendBatch(&output, result->outputs[0]);
      stages = result->stages;
      failovers.insert(failovers.end(), result->failovers.begin(), result->failovers.end());
    }
  }
  PrintFailovers(failovers);
  if (!args.output.empty()) {
    const Value& out_value = graph->values[static_cast<size_t>(graph->outputs[0])];
    Status s = args.raw ? WriteNpyInt8(args.output, output.shape(), output.i8())
                        : WriteNpyFloat32(args.output, output.shape(),
                                          Dequantize(output, out_value.scale));
    if (!s.ok()) return Fail(s);
  }
  const bool classifier = graph->task == ModelTask::kImageClassifier;
  std::vector<int> predictions = classifier ? ArgmaxRows(output) : std::vector<int>{};
  int next_byte = -1;
  if (!args.prompt.empty() && output.dtype() == DType::kInt8 && output.rank() == 3) {
    const int64_t vocab = output.dim(2), last = (output.dim(1) - 1) * vocab;
    const auto v = output.i8();
    next_byte = 0;
    for (int64_t k = 1; k < vocab; ++k)
      if (v[static_cast<size_t>(last + k)] > v[static_cast<size_t>(last + next_byte)])
        next_byte = static_cast<int>(k);
  }
  const std::string digest = DigestToHex(TensorDigest(output));
  if (args.json) {
    nlohmann::json j = {{"model", graph->name},
                        {"batch", batch},
                        {"output_shape", output.shape()},
                        {"output_digest", digest}};
    if (classifier) j["predictions"] = predictions;
    if (!labels.empty()) j["labels"] = labels;
    if (next_byte >= 0) j["next_byte"] = next_byte;
    nlohmann::json route_json = nlohmann::json::array();
    for (const auto& s : stages)
      route_json.push_back({{"segment", s.segment_index}, {"served_by", s.served_by}});
    j["route"] = route_json;
    nlohmann::json failover_json = nlohmann::json::array();
    for (const auto& f : failovers)
      failover_json.push_back({{"failed_node", f.failed_node},
                               {"detection_ms", f.detection_ms},
                               {"recovery_ms", f.recovery_ms}});
    j["failovers"] = failover_json;
    std::cout << j.dump() << "\n";
    return 0;
  }
  for (const auto& s : stages) {
    std::cout << "  segment " << s.segment_index << ": " << s.served_by;
    // Split mode returns each stage's per-layer digests; verified modes keep them in rounds.
    if (!s.trace_digests.empty()) std::cout << " (" << s.trace_digests.size() << " trace digests)";
    std::cout << "\n";
  }
  if (classifier) {
    for (size_t i = 0; i < predictions.size() && i < 20; ++i) {
      std::cout << "  #" << i << "  " << ClassName(*graph, predictions[i]);
      if (!labels.empty()) std::cout << "   (label: " << ClassName(*graph, labels[i]) << ")";
      std::cout << "\n";
    }
  }
  if (next_byte >= 0) std::cout << "  next byte after the prompt: " << next_byte << "\n";
  std::cout << "ran " << batch << " input(s) through " << stages.size()
            << " segment(s); output digest " << digest.substr(0, 16) << "\n";
  return 0;
}

}  // namespace

void AddInferCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* cmd = app.add_subcommand(
      "infer", "Split inference: first/last segments local, middle ones on nodes");
  cmd->add_option("file", args->model,
                  ".veil model file (default with --model: the network's published copy)");
  cmd->add_option("--model", args->model_name, "model NAME published in the network");
  cmd->add_option("--registry", args->registry,
                  "etcd://HOST:PORT (default: the network of veil up)");
  cmd->add_option("--data-dir", args->data_dir, "where veil up keeps its state");
  cmd->add_option("--route,-r", args->route,
                  "pinned: segN=host:port[|alt] for every middle segment, comma-separated");
  cmd->add_flag("--insecure", args->insecure, "--route: accept plaintext, unauthenticated links");
  cmd->add_option("--output,-o", args->output,
                  "write outputs to this .npy (float32: integers times scale)");
  cmd->add_flag("--raw", args->raw, "with --output: write the int8 outputs themselves");
  cmd->add_flag("--local", args->local,
                "run every segment in this process (single-machine reference)");
  cmd->add_option("--prompt", args->prompt, "text models: one forward pass over these bytes");
  cmd->add_option("--input,-i", args->input, "input batch (.npy float32)");
  cmd->add_option("--images", args->images, "Fashion-MNIST test images by index: N or A:B");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->add_option("--threads", args->threads, "worker threads for the local segments")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--kernel", args->kernel, "kernel path: auto, scalar, avx2, avx512, avx512vnni");
  cmd->add_option("--deadline-ms", args->deadline_ms, "deadline per remote call")
      ->check(CLI::Range(1, 3600000));
  cmd->add_option("--mode", args->mode,
                  "split (default): U-shaped split inference; consensus: every middle segment "
                  "on a committee with a quorum and a receipt; audit: one node, re-checked by a "
                  "second with --audit-probability; she: homomorphic (BFV) exact mode; "
                  "proof: every middle segment proven in zero knowledge, checked by this "
                  "client (docs/zk.md); she-ckks: non-interactive CKKS mode (--ckks-model, "
                  "--route FIRST:LAST=HOST:PORT,...)")
      ->check(CLI::IsMember({"split", "consensus", "audit", "she", "proof", "she-ckks"}));
  cmd->add_option("--committee", args->verified.committee, "--mode consensus: committee size r")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--quorum", args->verified.quorum,
                  "--mode consensus: agreeing members needed (default: strict majority)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--audit-probability", args->verified.audit_probability,
                  "--mode audit: probability that a second node re-checks (default 0.1)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-escalations", args->verified.max_escalations,
                  "consensus/audit: retries of a segment without quorum")
      ->check(CLI::Range(0, 8));
  cmd->add_option("--receipt", args->verified.receipt_path,
                  "consensus/audit/proof: write the request's receipt here (veil verify-receipt)");
  cmd->add_option("--she-params", args->she_params,
                  "--mode she / she-ckks: parameter set N8192 or N16384");
  cmd->add_option("--key-holder", args->key_holder,
                  "--mode she: HOST:PORT of a delegate key holder (veil keyholder) that holds the "
                  "secret key and decrypts between layers instead of this client");
  cmd->add_option("--ckks-model", args->ckks_model,
                  "--mode she-ckks: the ONNX of the polynomial-activation model (e.g. "
                  "models/polymlp/polymlp.onnx; normalization from meta.json beside it)");
  cmd->callback([run, args] { *run = [args] { return RunInfer(*args); }; });
}

}  // namespace veil::cli
