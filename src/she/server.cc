#include "veil/she/server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "credentials.h"

namespace veil::she {

struct SheServer::Impl {
  std::unique_ptr<grpc::Server> server;
  std::string address;
  bool stopped = false;
};

SheServer::SheServer() : impl_(std::make_unique<Impl>()) {}
SheServer::~SheServer() { Shutdown(0); }

Result<std::unique_ptr<SheServer>> SheServer::Start(SheServerOptions options) {
  const size_t colon = options.listen_address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("listen address '" + options.listen_address +
                                   "' is not HOST:PORT");
  if (options.max_message_bytes < 1 || options.max_message_bytes > (int64_t{1} << 30))
    return Status::InvalidArgument("max_message_bytes out of range");
  if (options.services.empty()) return Status::InvalidArgument("no service to serve");
  std::unique_ptr<SheServer> s(new SheServer());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, net::MakeServerCredentials(options.security),
                           &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  for (const auto& add : options.services) add(&builder);
  s->impl_->server = builder.BuildAndStart();
  if (s->impl_->server == nullptr || port == 0)
    return Status::IoError("could not listen on " + options.listen_address);
  s->impl_->address = options.listen_address.substr(0, colon) + ":" + std::to_string(port);
  return s;
}

std::string SheServer::address() const { return impl_->address; }

void SheServer::Shutdown(int grace_ms) {
  if (impl_->stopped || impl_->server == nullptr) return;
  impl_->stopped = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
}

}  // namespace veil::she
