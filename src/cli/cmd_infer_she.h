// veil infer --mode she: SHE exact mode (docs/he.md, "The SHE protocol").
#pragma once

#include <cstdint>
#include <string>

namespace veil::cli {

struct SheInferArgs {
  std::string model;       // .veil file (with --route; optional with --model NAME)
  std::string model_name;  // the network's model
  std::string registry;
  std::string data_dir;
  std::string route;  // pinned: segN=host:port[|alt],... (standalone nodes, --insecure)
  bool insecure = false;
  std::string input;
  std::string images;
  std::string output;
  bool raw = false;
  bool json = false;
  int threads = 1;
  std::string kernel = "auto";
  int64_t deadline_ms = 30000;
  std::string params = "N8192";
  std::string key_holder;  // --key-holder HOST:PORT: a delegate key holder (veil keyholder)
  std::string ckks_model;  // --mode she-ckks: ONNX of the polynomial-activation network
};

int RunInferShe(const SheInferArgs& args);
// veil infer --mode she-ckks: SHE non-interactive mode (CKKS) through node processes.
int RunInferSheCkks(const SheInferArgs& args);

}  // namespace veil::cli
