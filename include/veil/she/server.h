// A bare gRPC server for SHE services that run without a veil.v1.Node next to them: a
// CKKS-only node (`veil node --ckks-model ... --insecure` without a .veil model) and the
// delegate key holder (`veil keyholder`). Same link security and message caps as NodeServer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "veil/net/link_security.h"
#include "veil/status.h"

namespace veil::she {

struct SheServerOptions {
  std::string listen_address = "127.0.0.1:0";
  net::LinkSecurity security = net::LinkSecurity::Insecure();
  int64_t max_message_bytes = int64_t{64} << 20;
  // Registrars (e.g. SheService::Registrar()); the services must outlive the server.
  std::vector<std::function<void(void*)>> services;
};

class SheServer {
 public:
  static Result<std::unique_ptr<SheServer>> Start(SheServerOptions options);
  ~SheServer();
  SheServer(const SheServer&) = delete;
  SheServer& operator=(const SheServer&) = delete;
  std::string address() const;  // host:port with the bound port
  void Shutdown(int grace_ms = 1000);

 private:
  SheServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::she
