// veil run MODEL.veil (--input X.npy | --images A:B | --test-set) [--output Y.npy] [--raw]
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "veil/model_file.h"
#include "veil/npy.h"
#include "veil/quantization.h"
#include "veil/session.h"

namespace veil::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string input;
  std::string images;
  bool test_set = false;
  std::string output;
  bool raw = false;
  bool json = false;
  int threads = 1;
  std::string kernel = "auto";
  int64_t chunk = 256;
};

int RunRun(const RunArgs& args) {
  const int sources = !args.input.empty() + !args.images.empty() + args.test_set;
  if (sources != 1) return Fail(Status::InvalidArgument("give exactly one of --input, --images, --test-set"));
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  if (graph->outputs.size() != 1) return Fail(Status::Unsupported("veil run handles single-output models"));
  auto path = ParseKernelPath(args.kernel);
  if (!path.ok()) return Fail(path.status());
  SessionOptions options;
  options.kernel_path = *path;
  options.threads = args.threads;
  auto session = Session::Create(*graph, options);
  if (!session.ok()) return Fail(session.status());

  std::vector<int> labels;
  Tensor input;
  if (!args.input.empty()) {
    auto t = LoadInputNpy(*graph, args.input);
    if (!t.ok()) return Fail(t.status());
    input = std::move(t).value();
  } else {
    int64_t first = 0, count = 10000;
    if (!args.test_set)
      if (Status s = ParseImageRange(args.images, &first, &count); !s.ok()) return Fail(s);
    auto t = LoadFashionMnistInputs(*graph, first, count, &labels);
    if (!t.ok()) return Fail(t.status());
    input = std::move(t).value();
  }

  // Run in chunks to bound memory on large batches.
  const int64_t batch = input.dim(0);
  Tensor output;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < batch; b += args.chunk) {
    const int64_t n = std::min(args.chunk, batch - b);
    const Tensor part = BatchRows(input, b, n);
    auto out = (*session)->Run({part});
    if (!out.ok()) return Fail(out.status());
    AppendBatch(&output, (*out)[0]);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Value& out_value = graph->values[graph->outputs[0]];

  if (!args.output.empty()) {
    Status s = args.raw ? WriteNpyInt8(args.output, output.shape(), output.i8())
                        : WriteNpyFloat32(args.output, output.shape(), Dequantize(output, out_value.scale));
    if (!s.ok()) return Fail(s);
  }
  const bool classifier = graph->task == ModelTask::kImageClassifier;
  std::vector<int> predictions = classifier ? ArgmaxRows(output) : std::vector<int>{};
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  const std::string digest = DigestToHex(TensorDigest(output));
  if (args.json) {
    nlohmann::json j = {{"model", graph->name},          {"batch", batch},
                        {"output_shape", output.shape()}, {"output_digest", digest},
                        {"seconds", seconds},             {"kernel", KernelPathName((*session)->kernel_path())}};
    if (classifier) j["predictions"] = predictions;
    if (!labels.empty()) {
      j["labels"] = labels;
      j["accuracy"] = static_cast<double>(correct) / static_cast<double>(labels.size());
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  if (classifier && batch <= 20) {
    for (int64_t i = 0; i < batch; ++i) {
      std::cout << "  #" << i << "  " << ClassName(*graph, predictions[i]);
      if (!labels.empty()) std::cout << "   (label: " << ClassName(*graph, labels[i]) << ")";
      std::cout << "\n";
    }
  }
  if (!labels.empty())
    std::cout << graph->name << ": integer top-1 accuracy " << correct << "/" << labels.size() << " = "
              << 100.0 * static_cast<double>(correct) / static_cast<double>(labels.size()) << "%\n";
  std::cout << "ran " << batch << " input(s) in " << seconds * 1000 << " ms on " << args.threads << " thread(s), "
            << KernelPathName((*session)->kernel_path()) << " kernels; output digest " << digest.substr(0, 16)
            << "\n";
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a .veil model on a batch of inputs");
  cmd->add_option("model", args->model, ".veil model file")->required();
  cmd->add_option("--input,-i", args->input, "input batch (.npy float32; or int8 already quantized)");
  cmd->add_option("--images", args->images, "Fashion-MNIST test images by index: N or A:B");
  cmd->add_flag("--test-set", args->test_set, "all 10,000 Fashion-MNIST test images (prints accuracy)");
  cmd->add_option("--output,-o", args->output, "write outputs to this .npy (float32: integers times scale)");
  cmd->add_flag("--raw", args->raw, "write the int8 outputs themselves");
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->add_option("--threads", args->threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_option("--kernel", args->kernel, "kernel path: auto, scalar, avx2, avx512, avx512vnni");
  cmd->callback([run, args] { *run = [args] { return RunRun(*args); }; });
}

}  // namespace veil::cli
