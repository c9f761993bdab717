// libFuzzer target: ParseNpy on arbitrary bytes. Whatever parses must be internally
// consistent, convert without crashing, and survive a serialize/parse round trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "veil/npy.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_npy invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  veil::Result<veil::NpyArray> array = veil::ParseNpy({data, size});
  if (!array.ok()) {
    Require(!array.status().message().empty(), "error without a message");
    return 0;
  }
  const uint64_t expected =
      static_cast<uint64_t>(array->num_elements()) * veil::NpyDTypeSize(array->dtype);
  Require(array->data.size() == expected, "data size does not match the shape");
  (void)array->ToFloat32();
  (void)array->ToInt64();
  veil::Result<std::vector<uint8_t>> bytes = veil::SerializeNpy(*array);
  Require(bytes.ok(), "a parsed array does not serialize");
  veil::Result<veil::NpyArray> again = veil::ParseNpy(*bytes);
  Require(again.ok(), "a serialized array does not parse");
  Require(
      again->dtype == array->dtype && again->shape == array->shape && again->data == array->data,
      "round trip changed the array");
  return 0;
}
