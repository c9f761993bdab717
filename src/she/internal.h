// Helpers shared by the SHE clients (key holder, CKKS runner, delegate); internal to veil_she.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "credentials.h"
#include "veil/digest.h"
#include "veil/net/node_client.h"
#include "veil/status.h"

namespace veil::she::internal {

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string ToString(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

inline double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

inline Status FromGrpc(const grpc::Status& s, const std::string& what) {
  const std::string m = what + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(m);
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status::Unsupported(m);
    default:
      return Status::Unavailable(m);
  }
}

// A channel to `address` with the options' link security and message caps.
inline std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                                  const net::NodeClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  net::ApplyChannelArguments(options.security, &args);
  return grpc::CreateCustomChannel(address, net::MakeChannelCredentials(options.security), args);
}

inline void SetDeadline(grpc::ClientContext* c, int64_t deadline_ms) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
}

// request ids on the wire: 1..64 characters from [A-Za-z0-9._:-].
inline bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace veil::she::internal
