# All dependencies are Debian packages installed by scripts/install-deps.sh.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Protobuf REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
if(VEIL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(VEIL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# Debian's libonnx-dev ships ONNX's CMake package (generated onnx-ml.pb.h, onnx_proto).
find_package(ONNX REQUIRED)
