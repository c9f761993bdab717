// veil Status -> gRPC status, for every gRPC service a veil node hosts (the Node service and
// those added through NodeServerOptions::extra_services, e.g. the SHE service). One mapping,
// so a client sees the same code for the same kind of error from every service.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "veil/status.h"

namespace veil::net {

// kInvalidArgument and kCorrupt -> INVALID_ARGUMENT, kNotFound -> NOT_FOUND, kUnsupported ->
// UNIMPLEMENTED, kFailedPrecondition -> FAILED_PRECONDITION, kUnavailable -> UNAVAILABLE,
// anything else -> INTERNAL; the message is kept.
grpc::Status ToGrpcStatus(const Status& status);

// INVALID_ARGUMENT with `message`: what a node answers to a malformed request.
grpc::Status InvalidRequest(const std::string& message);

}  // namespace veil::net
