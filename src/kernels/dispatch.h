// Run-time path selection for the kernel drivers. ISA-neutral code only (not for the
// per-ISA files: see the isolation rule in kernel_ops.h).
#pragma once

#include "kernel_ops.h"
#include "veil/kernels.h"

namespace veil::kernels_internal {

// The kernels of `path`. Aborts (ContractViolation) if `path` is kAuto, unknown, or not
// available on this CPU, so no caller can reach an instruction the CPU lacks.
const GemmKernel& GemmKernelFor(KernelPath path);
RequantRowFn RequantRowFor(KernelPath path);
AddRowFn AddRowFor(KernelPath path);
MaxPoolFn MaxPoolFor(KernelPath path);

// Prints "veil kernels: <message>" to stderr and aborts. Used for broken caller
// contracts (a bad dimension, an unavailable path): these are bugs, never input errors.
[[noreturn]] void ContractViolation(const char* message);

}  // namespace veil::kernels_internal

// Checks a caller contract in every build type (the checks are O(1) per call).
#define VEIL_KERNEL_CHECK(cond, message)                               \
  do {                                                                 \
    if (!(cond)) ::veil::kernels_internal::ContractViolation(message); \
  } while (false)
