// MetricsHttpServer: serves GET /metrics (Prometheus text format 0.0.4) on its own port.
// A deliberately small HTTP/1.1 responder: one request per connection, requests larger
// than 8 KiB or slower than 2 s are dropped, anything but GET /metrics gets 404. It
// exposes counters only, never model data.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "veil/status.h"

namespace veil::net {

class MetricsHttpServer {
 public:
  // `listen` is "host:port" (IPv4 or a host name; port 0 picks a free port). `render`
  // produces the exposition text on each scrape.
  static Result<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                          std::function<std::string()> render);
  ~MetricsHttpServer();  // stops the server
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const;
  std::string address() const;

 private:
  MetricsHttpServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil::net
