#include "veil/net/metrics_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace veil::net {
namespace {

constexpr size_t kMaxRequestBytes = 8192;

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string Response(const char* status, const std::string& body, const char* type) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

struct MetricsHttpServer::Impl {
  int fd = -1;
  int port = 0;
  std::string host;
  std::function<std::string()> render;
  std::atomic<bool> stop{false};
  std::thread thread;

  void Serve(int client) {
    timeval timeout{2, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
      const ssize_t n = recv(client, buf, sizeof(buf), 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    if (request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0)
      SendAll(client, Response("200 OK", render(), "text/plain; version=0.0.4; charset=utf-8"));
    else
      SendAll(client, Response("404 Not Found", "only GET /metrics is served\n", "text/plain"));
  }

  void Loop() {
    while (!stop.load()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      const int client = accept(fd, nullptr, nullptr);
      if (client < 0) continue;
      Serve(client);
      close(client);
    }
  }
};

MetricsHttpServer::MetricsHttpServer() : impl_(std::make_unique<Impl>()) {}

MetricsHttpServer::~MetricsHttpServer() {
  impl_->stop = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->fd >= 0) close(impl_->fd);
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || !render)
    return Status::InvalidArgument("metrics listen address must be host:port, got '" + listen +
                                   "'");
  const std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr)
    return Status::InvalidArgument("metrics: cannot resolve '" + listen + "'");
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  Impl& impl = *server->impl_;
  impl.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  const bool ok =
      impl.fd >= 0 && setsockopt(impl.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
      bind(impl.fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(impl.fd, 16) == 0;
  freeaddrinfo(found);
  if (!ok) return Status::IoError("metrics: cannot listen on " + listen + ": " + strerror(errno));
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(impl.fd, reinterpret_cast<sockaddr*>(&bound), &len);
  impl.port = ntohs(bound.sin_port);
  impl.host = host;
  impl.render = std::move(render);
  impl.thread = std::thread([&impl] { impl.Loop(); });
  return server;
}

int MetricsHttpServer::port() const { return impl_->port; }
std::string MetricsHttpServer::address() const {
  return impl_->host + ":" + std::to_string(impl_->port);
}

}  // namespace veil::net
