// CPU feature detection and the path -> kernel tables.
#include "dispatch.h"

#include <cstdio>
#include <cstdlib>

namespace veil {
namespace {

struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;  // F + BW + VL + DQ, the set gemm_avx512.cc is compiled for
  bool avx512_vnni = false;
};

// libgcc's __builtin_cpu_supports also checks (XGETBV) that the OS saves the YMM / ZMM
// state, so a reported feature is really usable.
CpuFeatures DetectCpu() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // gemm_avx2.cc is compiled with -mavx2 -mfma, so both are required.
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  return f;
}

const CpuFeatures& Cpu() {
  static const CpuFeatures features = DetectCpu();
  return features;
}

}  // namespace

const char* KernelPathName(KernelPath path) {
  switch (path) {
    case KernelPath::kAuto:
      return "auto";
    case KernelPath::kScalar:
      return "scalar";
    case KernelPath::kAvx2:
      return "avx2";
    case KernelPath::kAvx512:
      return "avx512";
    case KernelPath::kAvx512Vnni:
      return "avx512-vnni";
  }
  return "unknown";
}

bool KernelPathAvailable(KernelPath path) {
  switch (path) {
    case KernelPath::kAuto:
    case KernelPath::kScalar:
      return true;
    case KernelPath::kAvx2:
      return Cpu().avx2;
    case KernelPath::kAvx512:
      return Cpu().avx512;
    case KernelPath::kAvx512Vnni:
      return Cpu().avx512_vnni;
  }
  return false;
}

KernelPath ResolveKernelPath(KernelPath path) {
  if (path != KernelPath::kAuto) return path;
  for (KernelPath p : {KernelPath::kAvx512Vnni, KernelPath::kAvx512, KernelPath::kAvx2}) {
    if (KernelPathAvailable(p)) return p;
  }
  return KernelPath::kScalar;
}

namespace kernels_internal {

void ContractViolation(const char* message) {
  std::fprintf(stderr, "veil kernels: %s\n", message);
  std::abort();
}

const GemmKernel& GemmKernelFor(KernelPath path) {
  VEIL_KERNEL_CHECK(path != KernelPath::kAuto, "GemmKernelFor: path not resolved");
  VEIL_KERNEL_CHECK(KernelPathAvailable(path), "kernel path not available on this CPU");
  switch (path) {
    case KernelPath::kAvx2:
      return kAvx2Gemm;
    case KernelPath::kAvx512:
      return kAvx512Gemm;
    case KernelPath::kAvx512Vnni:
      return kAvx512VnniGemm;
    case KernelPath::kAuto:
    case KernelPath::kScalar:
      break;
  }
  return kScalarGemm;
}

RequantRowFn RequantRowFor(KernelPath path) {
  VEIL_KERNEL_CHECK(path != KernelPath::kAuto, "RequantRowFor: path not resolved");
  VEIL_KERNEL_CHECK(KernelPathAvailable(path), "kernel path not available on this CPU");
  switch (path) {
    case KernelPath::kAvx2:
      return &RequantRowAvx2;
    case KernelPath::kAvx512:
    case KernelPath::kAvx512Vnni:  // VNNI adds nothing to requantization
      return &RequantRowAvx512;
    case KernelPath::kAuto:
    case KernelPath::kScalar:
      break;
  }
  return &RequantRowScalar;
}

AddRowFn AddRowFor(KernelPath path) {
  VEIL_KERNEL_CHECK(path != KernelPath::kAuto, "AddRowFor: path not resolved");
  VEIL_KERNEL_CHECK(KernelPathAvailable(path), "kernel path not available on this CPU");
  switch (path) {
    case KernelPath::kAvx512:
    case KernelPath::kAvx512Vnni:
      return &AddRowAvx512;
    case KernelPath::kAvx2:  // no 64-bit arithmetic shift or min/max: the reference
    case KernelPath::kAuto:
    case KernelPath::kScalar:
      break;
  }
  return &AddRowScalar;
}

MaxPoolFn MaxPoolFor(KernelPath path) {
  VEIL_KERNEL_CHECK(path != KernelPath::kAuto, "MaxPoolFor: path not resolved");
  VEIL_KERNEL_CHECK(KernelPathAvailable(path), "kernel path not available on this CPU");
  switch (path) {
    case KernelPath::kAvx512:
    case KernelPath::kAvx512Vnni:
      return &MaxPool2x2Avx512;
    case KernelPath::kAvx2:  // the reference
    case KernelPath::kAuto:
    case KernelPath::kScalar:
      break;
  }
  return &MaxPool2x2Scalar;
}

}  // namespace kernels_internal
}  // namespace veil
