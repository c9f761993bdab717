// Writes the seed corpora for the fuzzers (run at build time):
//   <out>/fuzz_model_loader/*.veil  valid models and segments built by the test helpers
//   <out>/fuzz_npy/*.npy            small arrays of every dtype and header version
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format/test_graphs.h"
#include "veil/model_file.h"
#include "veil/npy.h"

namespace {

bool Fail(const std::string& what, const veil::Status& s) {
  std::fprintf(stderr, "make_seeds: %s: %s\n", what.c_str(), s.ToString().c_str());
  return false;
}

bool WriteModelSeeds(const std::string& dir) {
  veil::Graph tiny = veil::testing::MakeTinyModel();
  veil::Graph structural = veil::testing::MakeStructuralGraph();
  structural.SetMetadata("big", "kept small for the fuzzer");
  std::vector<std::pair<std::string, veil::Graph>> graphs = {{"tiny", tiny},
                                                             {"structural", structural}};
  for (int i = 0; i < 3; ++i) {
    veil::Result<veil::Graph> segment = veil::ExtractSegment(tiny, i);
    if (!segment.ok()) return Fail("extract", segment.status());
    graphs.emplace_back("tiny-segment" + std::to_string(i), std::move(*segment));
  }
  for (const auto& [name, graph] : graphs) {
    veil::Status s = veil::SaveModel(graph, dir + "/" + name + ".veil");
    if (!s.ok()) return Fail(name, s);
  }
  return true;
}

bool WriteNpySeeds(const std::string& dir) {
  using veil::NpyArray;
  using veil::NpyDType;
  const std::vector<std::pair<std::string, NpyArray>> arrays = {
      {"f4", {NpyDType::kFloat32, {2, 2}, std::vector<uint8_t>(16, 0x3f)}},
      {"f8", {NpyDType::kFloat64, {1}, std::vector<uint8_t>(8, 0x40)}},
      {"i1", {NpyDType::kInt8, {3}, {0x80, 0, 0x7f}}},
      {"u1", {NpyDType::kUint8, {1, 2, 2}, {0, 1, 254, 255}}},
      {"i4", {NpyDType::kInt32, {2}, std::vector<uint8_t>(8, 0xff)}},
      {"i8", {NpyDType::kInt64, {}, std::vector<uint8_t>(8, 1)}},
      {"empty", {NpyDType::kInt8, {0, 3}, {}}},
  };
  for (const auto& [name, array] : arrays) {
    veil::Status s = veil::WriteNpy(dir + "/" + name + ".npy", array);
    if (!s.ok()) return Fail(name, s);
  }
  // Version 2.0 and 3.0 headers (the writer only emits 1.0 for small headers).
  for (uint8_t major : {2, 3}) {
    const std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }\n";
    std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.insert(bytes.end(), {7, 0, 0, 0});
    const std::string path = dir + "/v" + std::to_string(major) + ".npy";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
      std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
      if (f) std::fclose(f);
      return false;
    }
    std::fclose(f);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  std::filesystem::create_directories(out + "/fuzz_model_loader");
  std::filesystem::create_directories(out + "/fuzz_npy");
  if (!WriteModelSeeds(out + "/fuzz_model_loader")) return 1;
  if (!WriteNpySeeds(out + "/fuzz_npy")) return 1;
  return 0;
}
