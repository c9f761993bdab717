// veil infer --mode she-ckks: SHE non-interactive mode (CKKS; docs/he.md).
//   veil infer --mode she-ckks --ckks-model models/polymlp/polymlp.onnx
//       --route 0:2=HOST:PORT,2:3=HOST:PORT --insecure --images 0:8
// Nodes started with `veil node --ckks-model ... --ckks-layers FIRST:LAST --insecure` each
// evaluate their whole layer range on the ciphertext; this client (the key holder) encrypts
// the inputs, relays the still-encrypted results from node to node and decrypts only the
// final logits. Prints each class and, for comparison, the class of the plain (double)
// evaluation of the same model computed here.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cmd_infer_she.h"
#include "commands.h"
#include "veil/fashion_mnist.h"
#include "veil/npy.h"
#include "veil/she/ckks_client.h"

namespace veil::cli {
namespace {

size_t ArgMax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// input_mean / input_std from the meta.json next to the ONNX file.
Status ReadNormalization(const std::string& onnx, double* mean, double* stdev) {
  const std::filesystem::path meta = std::filesystem::path(onnx).parent_path() / "meta.json";
  std::ifstream in(meta);
  if (!in)
    return Status::NotFound("--images needs " + meta.string() +
                            " (input_mean, input_std); or pass --input X.npy (normalized)");
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    *mean = j.at("input_mean").get<double>();
    *stdev = j.at("input_std").get<double>();
  } catch (const std::exception& e) {
    return Status::Corrupt(meta.string() + ": " + e.what());
  }
  if (!(*stdev > 0)) return Status::Corrupt(meta.string() + ": input_std must be positive");
  return Status::Ok();
}

}  // namespace

int RunInferSheCkks(const SheInferArgs& args) {
  if (args.ckks_model.empty())
    return Fail(Status::InvalidArgument("--mode she-ckks needs --ckks-model MODEL.onnx"));
  if (args.input.empty() == args.images.empty())
    return Fail(Status::InvalidArgument("--mode she-ckks takes exactly one of --input, --images"));
  if (args.route.empty())
    return Fail(Status::InvalidArgument(
        "--mode she-ckks needs --route FIRST:LAST=HOST:PORT,... (standalone CKKS nodes)"));
  if (!args.insecure)
    return Fail(Status::InvalidArgument(
        "--route talks to standalone nodes in plaintext; pass --insecure to confirm"));
  if (!args.key_holder.empty() || !args.model_name.empty() || !args.model.empty())
    return Fail(
        Status::InvalidArgument("--mode she-ckks takes --ckks-model and --route (no .veil model, "
                                "--model or --key-holder)"));
  auto params = she::ParseSheParams(args.params);
  if (!params.ok()) return Fail(params.status());
  auto spec = she::LoadCkksModel(args.ckks_model);
  if (!spec.ok()) return Fail(spec.status());
  auto hops = she::ParseCkksRoute(args.route);
  if (!hops.ok()) return Fail(hops.status());

  std::vector<std::vector<double>> inputs;
  std::vector<int> labels;
  const size_t in_size = (*spec)->input_size;
  if (!args.images.empty()) {
    int64_t first = 0, count = 0;
    if (Status s = ParseImageRange(args.images, &first, &count); !s.ok()) return Fail(s);
    double mean = 0, stdev = 1;
    if (Status s = ReadNormalization(args.ckks_model, &mean, &stdev); !s.ok()) return Fail(s);
    if (in_size != static_cast<size_t>(kFashionMnistImageBytes))
      return Fail(Status::InvalidArgument("--images needs a model with 784 inputs"));
    auto data = LoadFashionMnist(kFashionMnistDebianDir, true);
    if (!data.ok()) return Fail(data.status());
    if (first + count > data->count)
      return Fail(Status::InvalidArgument("image range outside the " + std::to_string(data->count) +
                                          " test images"));
    for (int64_t i = first; i < first + count; ++i) {
      const auto img = data->image(i);
      std::vector<double> x(img.size());
      for (size_t j = 0; j < img.size(); ++j)
        x[j] = (static_cast<float>(img[j]) / 255.0f - static_cast<float>(mean)) /
               static_cast<float>(stdev);
      inputs.push_back(std::move(x));
      labels.push_back(data->labels[static_cast<size_t>(i)]);
    }
  } else {
    auto npy = ReadNpy(args.input);
    if (!npy.ok()) return Fail(npy.status());
    auto floats = npy->ToFloat32();
    if (!floats.ok()) return Fail(floats.status());
    if (npy->shape.empty() || npy->shape[0] < 1 ||
        floats->size() != static_cast<size_t>(npy->shape[0]) * in_size)
      return Fail(Status::InvalidArgument("--input must hold [B, ...] with " +
                                          std::to_string(in_size) + " values per sample"));
    for (int64_t b = 0; b < npy->shape[0]; ++b)
      inputs.emplace_back(floats->begin() + static_cast<ptrdiff_t>(b * in_size),
                          floats->begin() + static_cast<ptrdiff_t>((b + 1) * in_size));
  }

  she::CkksSheOptions options;
  options.params = *params;
  options.client.deadline_ms = args.deadline_ms;
  options.client.security = net::LinkSecurity::Insecure();
  options.log = [](const std::string& line) { std::cerr << line << "\n"; };
  auto runner = she::CkksSheRunner::Create(*spec, *hops, options);
  if (!runner.ok()) return Fail(runner.status());
  const auto keys_start = std::chrono::steady_clock::now();
  if (Status s = (*runner)->UploadKeys(); !s.ok()) return Fail(s);
  const double keys_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - keys_start)
          .count();
  const auto start = std::chrono::steady_clock::now();
  auto result = (*runner)->Run(inputs);
  if (!result.ok()) return Fail(result.status());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::vector<int> predictions, plain_predictions;
  double max_err = 0;
  size_t agree = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto plain = he::EvaluateSpecPlain(**spec, inputs[i]);
    if (!plain.ok()) return Fail(plain.status());
    predictions.push_back(static_cast<int>(ArgMax(result->outputs[i])));
    plain_predictions.push_back(static_cast<int>(ArgMax(*plain)));
    agree += predictions.back() == plain_predictions.back();
    for (size_t j = 0; j < plain->size(); ++j)
      max_err = std::max(max_err, std::abs(result->outputs[i][j] - (*plain)[j]));
  }
  uint64_t key_bytes = 0;
  for (const auto& u : (*runner)->key_uploads()) key_bytes += u.bytes;
  const bool names = (*spec)->layers.back().out == kFashionMnistNumClasses && !args.images.empty();
  if (args.json) {
    nlohmann::json hops_json = nlohmann::json::array();
    for (const auto& h : result->hops)
      hops_json.push_back({{"layers", std::to_string(h.first) + ":" + std::to_string(h.last)},
                           {"served_by", h.served_by},
                           {"upload_bytes", h.upload_bytes},
                           {"download_bytes", h.download_bytes},
                           {"ms", h.ms}});
    nlohmann::json j = {{"mode", "she-ckks"},
                        {"params", args.params},
                        {"model_digest", DigestToHex((*runner)->model_digest())},
                        {"batch", inputs.size()},
                        {"ciphertexts", result->ciphertexts},
                        {"per_ciphertext", (*runner)->batch_capacity()},
                        {"predictions", predictions},
                        {"plain_predictions", plain_predictions},
                        {"agreement", agree},
                        {"max_logit_error", max_err},
                        {"logits", result->outputs},
                        {"ms", ms},
                        {"key_setup_ms", keys_ms},
                        {"key_bytes", key_bytes},
                        {"input_bytes", result->input_bytes},
                        {"upload_bytes", result->upload_bytes},
                        {"download_bytes", result->download_bytes},
                        {"hops", hops_json}};
    if (!labels.empty()) j["labels"] = labels;
    std::cout << j.dump() << "\n";
    return 0;
  }
  for (const auto& h : result->hops)
    std::cout << "  layers " << h.first << ":" << h.last << ": " << h.served_by << "  up "
              << h.upload_bytes << " B, down " << h.download_bytes << " B, " << h.ms << " ms\n";
  for (size_t i = 0; i < predictions.size() && i < 20; ++i) {
    std::cout << "  #" << i << "  "
              << (names ? kFashionMnistClassNames[static_cast<size_t>(predictions[i])]
                        : "class " + std::to_string(predictions[i]));
    if (!labels.empty())
      std::cout << "   (label: " << kFashionMnistClassNames[static_cast<size_t>(labels[i])] << ")";
    if (predictions[i] != plain_predictions[i])
      std::cout << "   [plain model: class " << plain_predictions[i] << "]";
    std::cout << "\n";
  }
  std::cout << "SHE CKKS (" << args.params << ", non-interactive): " << inputs.size()
            << " input(s) in " << result->ciphertexts << " ciphertext(s) through "
            << result->hops.size() << " node hop(s) in " << ms << " ms; upload "
            << result->input_bytes << " B fresh + relays, one-time keys " << key_bytes << " B in "
            << keys_ms << " ms; same class as the plain model: " << agree << "/" << inputs.size()
            << " (max |logit error| " << max_err << ")\n";
  return 0;
}

}  // namespace veil::cli
