// veil infer --mode she: the client is the key holder (docs/he.md, "The SHE protocol").
//   veil infer --mode she --model NAME --images A:B        through the network of veil up:
//       every segment some registered node hosts has its Linear/Conv2d accumulators computed
//       on that node under BFV; the client decrypts, requantizes and re-encrypts in between,
//       and runs the other nodes (and unhosted segments) itself.
//   veil infer MODEL.veil --mode she --route seg1=HOST:PORT,seg2=... --insecure
//       pinned route to standalone nodes.
//   ... --key-holder HOST:PORT
//       a delegate key holder (veil keyholder) holds the secret key and does the decrypt-
//       requantize-re-encrypt step; this client encrypts its input under the delegate's
//       public key and gets the output back (docs/he.md, "Delegate key holder").
// The output is bit-identical to `veil run` (same digest).
#include "cmd_infer_she.h"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "network_config.h"
#include "veil/model_file.h"
#include "veil/npy.h"
#include "veil/quantization.h"
#include "veil/she/client.h"
#include "veil/she/key_holder.h"

namespace veil::cli {

namespace {

// Every segment of `record` with the nodes that advertise it (registry order).
net::Route SheRouteFromRegistry(const registry::ModelRecord& record,
                                const std::vector<registry::NodeRecord>& nodes) {
  net::Route route;
  for (size_t s = 0; s < record.segments.size(); ++s)
    for (const auto& node : nodes)
      for (const auto& hosted : node.segments)
        if (hosted.model_digest == record.model_digest &&
            hosted.segment_index == static_cast<uint32_t>(s) &&
            hosted.segment_digest == record.segments[s].segment_digest)
          route[static_cast<int>(s)].push_back(node.grpc_address);
  return route;
}

}  // namespace

int RunInferShe(const SheInferArgs& args) {
  if (args.input.empty() == args.images.empty())
    return Fail(Status::InvalidArgument("--mode she takes exactly one of --input, --images"));
  if (args.model_name.empty() == args.route.empty())
    return Fail(Status::InvalidArgument(
        "--mode she takes exactly one of --model NAME (the network) or --route (pinned)"));
  auto params = she::ParseSheParams(args.params);
  if (!params.ok()) return Fail(params.status());
  auto path = ParseKernelPath(args.kernel);
  if (!path.ok()) return Fail(path.status());
  she::SheOptions options;
  options.params = *params;
  options.session.kernel_path = *path;
  options.session.threads = args.threads;
  options.client.deadline_ms = args.deadline_ms;
  options.log = [](const std::string& line) { std::cerr << line << "\n"; };

  Graph graph;
  net::Route route;
  std::unique_ptr<net::NetworkClient> client;
  if (!args.route.empty()) {
    if (!args.insecure)
      return Fail(Status::InvalidArgument(
          "--route talks to standalone nodes in plaintext; pass --insecure to confirm"));
    if (args.model.empty()) return Fail(Status::InvalidArgument("--route needs the model file"));
    auto g = LoadModel(args.model);
    if (!g.ok()) return Fail(g.status());
    graph = std::move(g).value();
    auto r = net::ParseRoute(args.route);
    if (!r.ok()) return Fail(r.status());
    route = *r;
    options.client.security = net::LinkSecurity::Insecure();
  } else {
    net::SplitOptions split;
    split.client.deadline_ms = args.deadline_ms;
    auto target =
        OpenTarget({args.model, args.model_name, args.registry, args.data_dir, "", false}, split);
    if (!target.ok()) return Fail(target.status());
    graph = std::move(target->graph);
    client = std::move(target->client);
    auto record = client->registry().GetModel(args.model_name);
    if (!record.ok()) return Fail(record.status());
    auto nodes = client->registry().ListNodes();
    if (!nodes.ok()) return Fail(nodes.status());
    route = SheRouteFromRegistry(*record, *nodes);
    if (route.empty())
      return Fail(Status::Unavailable("no registered node hosts a segment of " + args.model_name));
    options.client.security = client->security();
  }
  if (graph.outputs.size() != 1 || graph.inputs.size() != 1)
    return Fail(Status::Unsupported("--mode she handles single-input, single-output models"));

  std::vector<int> labels;
  Tensor input;
  if (!args.input.empty()) {
    auto t = LoadInputNpy(graph, args.input);
    if (!t.ok()) return Fail(t.status());
    input = std::move(t).value();
  } else {
    int64_t first = 0, count = 0;
    if (Status s = ParseImageRange(args.images, &first, &count); !s.ok()) return Fail(s);
    auto t = LoadFashionMnistInputs(graph, first, count, &labels);
    if (!t.ok()) return Fail(t.status());
    input = std::move(t).value();
  }

  std::unique_ptr<she::SheRunner> runner;
  std::optional<she::SheResult> result;
  double keys_ms = 0, ms = 0;
  uint64_t input_bytes = 0;
  if (!args.key_holder.empty()) {
    if (args.route.empty())
      return Fail(Status::Unsupported(
          "--key-holder works with --route (standalone nodes and key holder, --insecure) for "
          "now"));
    const auto start = std::chrono::steady_clock::now();
    auto d = she::RunThroughDelegate(args.key_holder, graph, route, input, *params, options.client);
    if (!d.ok()) return Fail(d.status());
    ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    result.emplace();
    result->outputs.push_back(std::move(d->output));
    result->steps = std::move(d->steps);
    result->upload_bytes = d->upload_bytes;
    result->download_bytes = d->download_bytes;
    result->max_request_bytes = d->max_request_bytes;
    input_bytes = d->input_bytes;
  } else {
    auto r = she::SheRunner::Create(graph, route, options);
    if (!r.ok()) return Fail(r.status());
    runner = std::move(r).value();
    const auto keys_start = std::chrono::steady_clock::now();
    if (Status s = runner->UploadKeys(); !s.ok()) return Fail(s);
    keys_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - keys_start)
            .count();
    const auto start = std::chrono::steady_clock::now();
    auto res = runner->Run({input});
    if (!res.ok()) return Fail(res.status());
    ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    result.emplace(std::move(res).value());
  }
  const Tensor& output = result->outputs[0];
  const std::vector<she::SheKeyUpload> key_uploads =
      runner != nullptr ? runner->key_uploads() : std::vector<she::SheKeyUpload>{};

  if (!args.output.empty()) {
    const Value& out_value = graph.values[static_cast<size_t>(graph.outputs[0])];
    Status s = args.raw ? WriteNpyInt8(args.output, output.shape(), output.i8())
                        : WriteNpyFloat32(args.output, output.shape(),
                                          Dequantize(output, out_value.scale));
    if (!s.ok()) return Fail(s);
  }
  const bool classifier = graph.task == ModelTask::kImageClassifier;
  const std::vector<int> predictions = classifier ? ArgmaxRows(output) : std::vector<int>{};
  const std::string digest = DigestToHex(TensorDigest(output));
  uint64_t key_bytes = 0;
  for (const auto& u : key_uploads) key_bytes += u.bytes;
  if (args.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : result->steps)
      steps.push_back({{"node", s.node_index},
                       {"segment", s.segment_index},
                       {"served_by", s.served_by},
                       {"upload_bytes", s.upload_bytes},
                       {"download_bytes", s.download_bytes},
                       {"ms", s.ms}});
    nlohmann::json uploads = nlohmann::json::array();
    for (const auto& u : key_uploads)
      uploads.push_back(
          {{"node", u.address}, {"bytes", u.bytes}, {"galois_keys", u.galois_keys}, {"ms", u.ms}});
    nlohmann::json j = {{"model", graph.name},
                        {"mode", "she"},
                        {"params", args.params},
                        {"batch", input.dim(0)},
                        {"output_shape", output.shape()},
                        {"output_digest", digest},
                        {"ms", ms},
                        {"key_setup_ms", keys_ms},
                        {"upload_bytes", result->upload_bytes},
                        {"download_bytes", result->download_bytes},
                        {"max_request_bytes", result->max_request_bytes},
                        {"round_trips", result->steps.size()},
                        {"steps", steps},
                        {"key_uploads", uploads}};
    if (!args.key_holder.empty()) {
      j["key_holder"] = args.key_holder;
      j["input_bytes"] = input_bytes;
    }
    if (classifier) j["predictions"] = predictions;
    if (!labels.empty()) j["labels"] = labels;
    std::cout << j.dump() << "\n";
    return 0;
  }
  for (const auto& s : result->steps)
    std::cout << "  node " << s.node_index << " (segment " << s.segment_index
              << "): " << s.served_by << "  up " << s.upload_bytes << " B, down "
              << s.download_bytes << " B, " << s.ms << " ms\n";
  if (classifier)
    for (size_t i = 0; i < predictions.size() && i < 20; ++i) {
      std::cout << "  #" << i << "  " << ClassName(graph, predictions[i]);
      if (!labels.empty()) std::cout << "   (label: " << ClassName(graph, labels[i]) << ")";
      std::cout << "\n";
    }
  if (!args.key_holder.empty())
    std::cout << "key holder: delegate " << args.key_holder << " (input encrypted under its key, "
              << input_bytes << " B)\n";
  std::cout << "SHE (" << args.params << "): " << input.dim(0) << " input(s), "
            << result->steps.size() << " encrypted layer(s) in " << ms << " ms; upload "
            << result->upload_bytes << " B (largest request " << result->max_request_bytes
            << " B), one-time keys " << key_bytes << " B in " << keys_ms << " ms; output digest "
            << digest.substr(0, 16) << "\n";
  return 0;
}

}  // namespace veil::cli
