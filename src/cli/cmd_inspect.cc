// veil inspect MODEL.veil [--json]
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "veil/model_file.h"

namespace veil::cli {
namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
};

const char* TaskName(ModelTask task) {
  switch (task) {
    case ModelTask::kImageClassifier: return "image-classifier";
    case ModelTask::kTextGenerator: return "text-generator";
    case ModelTask::kGeneric: break;
  }
  return "generic";
}

nlohmann::json ValueJson(const Value& v) {
  return {{"name", v.name}, {"dtype", DTypeName(v.dtype)}, {"shape", v.shape}, {"scale", v.scale}};
}

int RunInspect(const InspectArgs& args) {
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  const Graph& g = *graph;
  const auto segments = g.EffectiveSegments();
  if (args.json) {
    nlohmann::json j;
    j["name"] = g.name;
    j["task"] = TaskName(g.task);
    j["digest"] = DigestToHex(ModelDigest(g));
    for (int id : g.inputs) j["inputs"].push_back(ValueJson(g.values[id]));
    for (int id : g.outputs) j["outputs"].push_back(ValueJson(g.values[id]));
    int64_t params = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      nlohmann::json node = {{"index", i}, {"op", OpKindName(n.kind)}, {"name", n.name}};
      for (int v : n.inputs) node["inputs"].push_back(g.values[v].name);
      for (int v : n.outputs) node["outputs"].push_back(ValueJson(g.values[v]));
      for (const Attr& a : n.attrs) node["attrs"][a.name] = a.values;
      for (const Param& p : n.params) {
        node["params"][p.name] = {{"dtype", DTypeName(p.tensor.dtype())}, {"shape", p.tensor.shape()}};
        params += p.tensor.size();
      }
      j["nodes"].push_back(node);
    }
    j["parameters"] = params;
    for (size_t s = 0; s < segments.size(); ++s)
      j["segments"].push_back({{"index", s}, {"begin", segments[s].begin}, {"end", segments[s].end},
                               {"digest", DigestToHex(SegmentDigest(g, static_cast<int>(s)))}});
    for (const auto& [k, v] : g.metadata) j["metadata"][k] = v;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model   " << g.name << " (" << TaskName(g.task) << ")\n";
  std::cout << "digest  " << DigestToHex(ModelDigest(g)) << "\n";
  for (int id : g.inputs)
    std::cout << "input   " << g.values[id].name << " " << DTypeName(g.values[id].dtype) << " [batch,"
              << ShapeToString(g.values[id].shape).substr(1) << " scale " << g.values[id].scale << "\n";
  for (int id : g.outputs)
    std::cout << "output  " << g.values[id].name << " " << DTypeName(g.values[id].dtype) << " [batch,"
              << ShapeToString(g.values[id].shape).substr(1) << " scale " << g.values[id].scale << "\n";
  std::cout << "\n  #  op          output shape        params   name\n";
  int64_t total = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    int64_t params = 0;
    for (const Param& p : n.params) params += p.tensor.size();
    total += params;
    std::cout << std::setw(3) << i << "  " << std::left << std::setw(12) << OpKindName(n.kind) << std::setw(20)
              << ShapeToString(g.values[n.outputs[0]].shape) << std::right << std::setw(8) << params << "   "
              << n.name << "\n";
  }
  std::cout << "\nparameters " << total << "\n\nsegments\n";
  for (size_t s = 0; s < segments.size(); ++s)
    std::cout << "  " << s << "  nodes [" << segments[s].begin << ", " << segments[s].end << ")  digest "
              << DigestToHex(SegmentDigest(g, static_cast<int>(s))) << "\n";
  if (!g.metadata.empty()) {
    std::cout << "\nmetadata\n";
    for (const auto& [k, v] : g.metadata) {
      std::string flat = v;
      for (char& c : flat)
        if (c == '\n') c = ',';
      std::cout << "  " << k << " = " << flat << "\n";
    }
  }
  return 0;
}

}  // namespace

void AddInspectCommand(CLI::App& app, Action* run) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a .veil model's ops, parameters, segments and digests");
  cmd->add_option("model", args->model, ".veil model file")->required();
  cmd->add_flag("--json", args->json, "print as JSON");
  cmd->callback([run, args] { *run = [args] { return RunInspect(*args); }; });
}

}  // namespace veil::cli
