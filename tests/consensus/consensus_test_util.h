// Test helpers: throwaway node identities in temporary directories, hex parsing.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "veil/registry/identity.h"

namespace veil::consensus::testing {

inline std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

template <size_t N>
std::array<uint8_t, N> ArrayFromHex(const std::string& hex) {
  std::vector<uint8_t> v = FromHex(hex);
  std::array<uint8_t, N> a{};
  EXPECT_EQ(v.size(), N);
  std::copy_n(v.begin(), std::min(N, v.size()), a.begin());
  return a;
}

// `count` node identities, each in its own temporary data directory (removed on destruction).
class Nodes {
 public:
  explicit Nodes(size_t count) {
    char tmpl[] = "/tmp/veil-consensus-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    for (size_t i = 0; i < count; ++i) {
      auto id = registry::Identity::LoadOrCreate(dir_ + "/n" + std::to_string(i));
      if (!id.ok()) throw std::runtime_error(id.status().ToString());
      ids_.push_back(std::move(id).value());
    }
  }
  ~Nodes() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  size_t size() const { return ids_.size(); }
  const registry::Identity& operator[](size_t i) const { return *ids_[i]; }
  const registry::Identity* Find(const registry::PublicKey& key) const {
    for (const auto& id : ids_)
      if (id->public_key() == key) return id.get();
    return nullptr;
  }

 private:
  std::string dir_;
  std::vector<std::unique_ptr<registry::Identity>> ids_;
};

}  // namespace veil::consensus::testing
