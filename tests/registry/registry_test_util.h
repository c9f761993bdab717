// Helpers shared by the registry tests: temporary directories and record builders.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "veil/registry/identity.h"
#include "veil/registry/records.h"

namespace veil::registry::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/veil-registry-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An identity in its own temporary data directory.
struct TestIdentity {
  TempDir dir;
  std::unique_ptr<Identity> id;
  TestIdentity() {
    auto r = Identity::LoadOrCreate(dir.path() + "/node");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) id = std::move(r).value();
  }
  const Identity& operator*() const { return *id; }
  const Identity* operator->() const { return id.get(); }
};

inline Digest FilledDigest(uint8_t b) {
  Digest d;
  d.fill(b);
  return d;
}

inline NodeRecord MakeNodeRecord(const Identity& id, const std::string& address = "127.0.0.1:7001",
                                 uint64_t seq = 1) {
  NodeRecord r;
  r.node_key = id.public_key();
  r.grpc_address = address;
  r.capacity = {8, uint64_t{16} << 30};
  r.segments.push_back({FilledDigest(1), 1, FilledDigest(2), 1234.5});
  r.segments.push_back({FilledDigest(1), 2, FilledDigest(3), 987.0});
  r.issued_at_unix_ms = 1'700'000'000'000;
  r.seq = seq;
  return r;
}

inline ModelRecord MakeModelRecord(const Identity& owner, const std::string& name = "fashion_cnn",
                                   uint64_t seq = 1) {
  ModelRecord r;
  r.name = name;
  r.model_digest = FilledDigest(9);
  r.owner_key = owner.public_key();
  r.segments.push_back({0, FilledDigest(10), 4096, "https://models.example/fashion/0.veil"});
  r.segments.push_back({1, FilledDigest(11), 8192, "file:///srv/models/fashion/1.veil"});
  r.issued_at_unix_ms = 1'700'000'000'000;
  r.seq = seq;
  return r;
}

}  // namespace veil::registry::testing
