// Shared fixtures for the HE tests: one context and key set per parameter set, built once.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/context.h"

namespace veil::he::testing {

struct KeySet {
  std::shared_ptr<const Context> ctx;
  SecretKey sk;
  PublicKey pk;
  RelinKeys rk;
  GaloisKeys gk;  // row steps 1, 2, 4, -1, -2 and the column swap
  std::unique_ptr<Encryptor> pk_enc, sk_enc;
  std::unique_ptr<Decryptor> dec;
  std::unique_ptr<Evaluator> eval;
  std::unique_ptr<BatchEncoder> encoder;
};

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

inline const KeySet& Keys(ParamSet set) {
  static std::map<ParamSet, std::unique_ptr<KeySet>> cache;
  auto it = cache.find(set);
  if (it != cache.end()) return *it->second;
  auto k = std::make_unique<KeySet>();
  k->ctx = Must(Context::Create(Must(StandardParameters(set))));
  KeyGenerator gen = Must(KeyGenerator::Create(k->ctx));
  k->sk = gen.secret_key();
  k->pk = Must(gen.CreatePublicKey());
  k->rk = Must(gen.CreateRelinKeys());
  k->gk = Must(gen.CreateGaloisKeysForSteps({1, 2, 4, -1, -2}, true));
  k->pk_enc = std::make_unique<Encryptor>(Must(Encryptor::Create(k->ctx, k->pk)));
  k->sk_enc = std::make_unique<Encryptor>(Must(Encryptor::Create(k->ctx, k->sk)));
  k->dec = std::make_unique<Decryptor>(Must(Decryptor::Create(k->ctx, k->sk)));
  k->eval = std::make_unique<Evaluator>(Must(Evaluator::Create(k->ctx)));
  k->encoder = std::make_unique<BatchEncoder>(Must(BatchEncoder::Create(k->ctx)));
  const KeySet& ref = *k;
  cache.emplace(set, std::move(k));
  return ref;
}

// Uniform slot values in [0, bound).
inline std::vector<uint64_t> RandomSlots(size_t n, uint64_t bound, uint64_t seed) {
  std::mt19937_64 rng(seed);  // test data only
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng() % bound;
  return v;
}

inline Ciphertext EncryptSlots(const KeySet& k, const std::vector<uint64_t>& v, bool symmetric) {
  Plaintext p = Must(k.encoder->Encode(v));
  return symmetric ? Must(k.sk_enc->EncryptSymmetric(p)) : Must(k.pk_enc->Encrypt(p));
}

inline std::vector<uint64_t> DecryptSlots(const KeySet& k, const Ciphertext& ct) {
  return Must(k.encoder->Decode(Must(k.dec->Decrypt(ct))));
}

}  // namespace veil::he::testing
