// veil import MODEL.onnx --calibration DATA.npy [...] -o MODEL.veil
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "veil/model_file.h"
#include "veil/npy.h"
#include "veil/onnx_import.h"
#include "veil/segmenter.h"

namespace veil::cli {
namespace {

struct ImportArgs {
  std::string onnx_path;
  std::vector<std::string> calibration;
  std::string output;
  std::string meta;
  std::string name;
  int segments = 1;
  bool json = false;
};

Result<CalibrationInput> ReadCalibration(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(NpyArray array, ReadNpy(path));
  CalibrationInput in;
  in.shape = array.shape;
  if (array.dtype == NpyDType::kFloat32 || array.dtype == NpyDType::kFloat64) {
    VEIL_ASSIGN_OR_RETURN(in.floats, array.ToFloat32());
  } else {
    in.is_int = true;
    VEIL_ASSIGN_OR_RETURN(in.ints, array.ToInt64());
  }
  return in;
}

// Copies the training sidecar's preprocessing and labels into the model's metadata.
Status ApplyMeta(const std::string& path, Graph* graph) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot open " + path);
  nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) return Status::Corrupt(path + " is not a JSON object");
  if (meta.contains("input_mean") && meta["input_mean"].is_number())
    graph->SetMetadata("input_mean", std::to_string(meta["input_mean"].get<double>()));
  if (meta.contains("input_std") && meta["input_std"].is_number())
    graph->SetMetadata("input_std", std::to_string(meta["input_std"].get<double>()));
  if (meta.contains("class_names") && meta["class_names"].is_array()) {
    std::string names;
    for (const auto& n : meta["class_names"])
      if (n.is_string()) names += (names.empty() ? "" : "\n") + n.get<std::string>();
    graph->SetMetadata("class_names", names);
  }
  if (meta.contains("context") && meta["context"].is_number_integer())
    graph->SetMetadata("context_length", std::to_string(meta["context"].get<int64_t>()));
  if (meta.contains("float_test_accuracy") && meta["float_test_accuracy"].is_number())
    graph->SetMetadata("float_test_accuracy", std::to_string(meta["float_test_accuracy"].get<double>()));
  return Status::Ok();
}

int RunImport(const ImportArgs& args) {
  ImportOptions options;
  options.model_name = args.name.empty() ? std::filesystem::path(args.onnx_path).stem().string() : args.name;
  for (const std::string& path : args.calibration) {
    auto in = ReadCalibration(path);
    if (!in.ok()) return Fail(in.status());
    options.calibration.push_back(std::move(in).value());
  }
  auto graph = ImportOnnxFile(args.onnx_path, options);
  if (!graph.ok()) return Fail(graph.status());
  std::string meta = args.meta;
  if (meta.empty()) {
    auto sidecar = std::filesystem::path(args.onnx_path).parent_path() / "meta.json";
    if (std::filesystem::exists(sidecar)) meta = sidecar.string();
  }
  if (!meta.empty())
    if (Status s = ApplyMeta(meta, &graph.value()); !s.ok()) return Fail(s);
  if (Status s = SplitIntoSegments(&graph.value(), args.segments); !s.ok()) return Fail(s);
  if (Status s = SaveModel(*graph, args.output); !s.ok()) return Fail(s);
  const std::string digest = DigestToHex(ModelDigest(*graph));
  if (args.json) {
    nlohmann::json j = {{"model", args.output}, {"name", graph->name}, {"digest", digest},
                        {"nodes", graph->nodes.size()}, {"segments", graph->EffectiveSegments().size()}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "imported " << args.onnx_path << " -> " << args.output << " (" << graph->nodes.size()
              << " integer ops, " << graph->EffectiveSegments().size() << " segment(s))\nmodel digest " << digest
              << "\n";
  }
  return 0;
}

}  // namespace

void AddImportCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Quantize a float ONNX model into an integer .veil model");
  cmd->add_option("model", args->onnx_path, "ONNX model file")->required();
  cmd->add_option("--calibration,-c", args->calibration,
                  "calibration batch (.npy), one per model input, in input order")
      ->required();
  cmd->add_option("-o,--output", args->output, "output .veil file")->required();
  cmd->add_option("--meta", args->meta, "training sidecar JSON (default: meta.json beside the model)");
  cmd->add_option("--name", args->name, "model name (default: file stem)");
  cmd->add_option("--segments", args->segments, "cut the model into this many segments")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "print the result as JSON");
  cmd->callback([run, args] { *run = [args] { return RunImport(*args); }; });
}

}  // namespace veil::cli
