// libFuzzer target: the HE decoders (BFV and CKKS ciphertexts, secret/public/
// relinearization/Galois keys; relinearization and Galois keys also against the CKKS context,
// as a SHE node decodes a CKKS key upload) on hostile bytes. Random bytes almost never pass the
// header check (magic, version, params_id), so besides raw inputs the target mutates valid blobs
// made at start-up: byte 0 picks the blob kind (high bit set = decode the rest as raw bytes), bytes
// 1-3 a new length (truncate or zero-extend), then 4-byte edits (24-bit offset, xor mask). Whatever
// decodes must validate against the parameters, re-serialize to the same bytes, and (ciphertexts)
// decrypt without error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "veil/he/bfv.h"
#include "veil/he/ckks.h"
#include "veil/he/context.h"
#include "veil/he/serialize.h"

namespace {

using namespace veil::he;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_he_decode invariant violated: %s\n", what);
    std::abort();
  }
}

template <typename T>
T Must(veil::Result<T> r) {
  Require(r.ok(), "setup failed");
  return std::move(r).value();
}

struct State {
  std::shared_ptr<const Context> ctx;
  SecretKey sk;
  std::unique_ptr<Decryptor> dec;
  // CKKS context (N = 8192, the smallest named set) for the CKKS ciphertext decoder.
  std::shared_ptr<const Context> ckks;
  std::unique_ptr<CkksDecryptor> ckks_dec;
  std::unique_ptr<CkksEncoder> ckks_enc;
  std::vector<std::vector<uint8_t>> blobs;  // indexed by kind - 1
};

const State& GetState() {
  static const State* state = [] {
    auto s = new State;
    s->ctx = Must(Context::Create(Must(StandardParameters(ParamSet::kN4096))));
    KeyGenerator gen = Must(KeyGenerator::Create(s->ctx));
    s->sk = gen.secret_key();
    s->dec = std::make_unique<Decryptor>(Must(Decryptor::Create(s->ctx, s->sk)));
    BatchEncoder enc = Must(BatchEncoder::Create(s->ctx));
    Encryptor sym = Must(Encryptor::Create(s->ctx, s->sk));
    const Ciphertext ct = Must(sym.EncryptSymmetric(Must(enc.Encode({1, 2, 3}))));
    const Context& c = *s->ctx;
    s->blobs.push_back(Must(SerializeCiphertext(c, ct)));
    s->blobs.push_back(Must(SerializeSecretKey(c, s->sk)));
    s->blobs.push_back(Must(SerializePublicKey(c, Must(gen.CreatePublicKey()))));
    s->blobs.push_back(Must(SerializeRelinKeys(c, Must(gen.CreateRelinKeys()))));
    s->blobs.push_back(
        Must(SerializeGaloisKeys(c, Must(gen.CreateGaloisKeysForSteps({1}, false)))));
    s->ckks = Must(Context::Create(Must(CkksStandardParameters(CkksParamSet::kN8192))));
    KeyGenerator ckks_gen = Must(KeyGenerator::Create(s->ckks));
    s->ckks_dec = std::make_unique<CkksDecryptor>(
        Must(CkksDecryptor::Create(s->ckks, ckks_gen.secret_key())));
    s->ckks_enc = std::make_unique<CkksEncoder>(Must(CkksEncoder::Create(s->ckks)));
    CkksEncryptor ckks_sym = Must(CkksEncryptor::Create(s->ckks, ckks_gen.secret_key()));
    const std::vector<double> values = {0.5, -0.25};
    const CkksCiphertext cct =
        Must(ckks_sym.EncryptSymmetric(Must(s->ckks_enc->Encode(values, 1u << 30, 1))));
    s->blobs.push_back(Must(SerializeCkksCiphertext(*s->ckks, cct)));
    // What `UploadKeys(scheme = CKKS)` receives.
    s->blobs.push_back(Must(SerializeRelinKeys(*s->ckks, Must(ckks_gen.CreateRelinKeys()))));
    s->blobs.push_back(
        Must(SerializeGaloisKeys(*s->ckks, Must(ckks_gen.CreateGaloisKeysForSteps({1}, false)))));
    return s;
  }();
  return *state;
}

void DecodeAll(const State& s, const std::vector<uint8_t>& b) {
  const Context& c = *s.ctx;
  if (auto ct = DeserializeCiphertext(c, b); ct.ok()) {
    Require(ValidateCiphertext(c, *ct).ok(), "decoded ciphertext does not validate");
    auto again = SerializeCiphertext(c, *ct);
    Require(again.ok() && *again == b, "ciphertext does not re-serialize to the same bytes");
    Require(s.dec->Decrypt(*ct).ok(), "decoded ciphertext does not decrypt");
    Require(s.dec->InvariantNoiseBudget(*ct).ok(), "noise budget failed");
  } else {
    Require(!ct.status().message().empty(), "error without a message");
  }
  if (auto sk = DeserializeSecretKey(c, b); sk.ok()) {
    Require(ValidateSecretKey(c, *sk).ok(), "decoded secret key does not validate");
    auto again = SerializeSecretKey(c, *sk);
    Require(again.ok() && *again == b, "secret key does not re-serialize to the same bytes");
  }
  if (auto pk = DeserializePublicKey(c, b); pk.ok()) {
    Require(ValidatePublicKey(c, *pk).ok(), "decoded public key does not validate");
    Require(Encryptor::Create(s.ctx, *pk).ok(), "decoded public key is unusable");
  }
  if (auto rk = DeserializeRelinKeys(c, b); rk.ok()) {
    Require(ValidateRelinKeys(c, *rk).ok(), "decoded relinearization key does not validate");
  }
  if (auto gk = DeserializeGaloisKeys(c, b); gk.ok()) {
    Require(ValidateGaloisKeys(c, *gk).ok(), "decoded Galois keys do not validate");
  }
  if (auto ct = DeserializeCkksCiphertext(*s.ckks, b); ct.ok()) {
    Require(ValidateCkksCiphertext(*s.ckks, *ct).ok(), "decoded CKKS ciphertext does not validate");
    auto again = SerializeCkksCiphertext(*s.ckks, *ct);
    Require(again.ok() && *again == b, "CKKS ciphertext does not re-serialize to the same bytes");
    auto plain = s.ckks_dec->Decrypt(*ct);
    Require(plain.ok(), "decoded CKKS ciphertext does not decrypt");
    Require(s.ckks_enc->Decode(*plain).ok(), "decrypted CKKS ciphertext does not decode");
  } else {
    Require(!ct.status().message().empty(), "error without a message");
  }
  if (auto rk = DeserializeRelinKeys(*s.ckks, b); rk.ok()) {
    Require(ValidateRelinKeys(*s.ckks, *rk).ok(),
            "decoded CKKS relinearization key does not validate");
  }
  if (auto gk = DeserializeGaloisKeys(*s.ckks, b); gk.ok()) {
    Require(ValidateGaloisKeys(*s.ckks, *gk).ok(), "decoded CKKS Galois keys do not validate");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const State& s = GetState();
  if (size == 0) return 0;
  if (data[0] & 0x80) {
    DecodeAll(s, std::vector<uint8_t>(data + 1, data + size));
    return 0;
  }
  std::vector<uint8_t> b = s.blobs[data[0] % s.blobs.size()];
  size_t pos = 1;
  if (size >= 4) {
    const size_t len =
        data[1] | (static_cast<size_t>(data[2]) << 8) | (static_cast<size_t>(data[3]) << 16);
    if (len != 0xFFFFFF) b.resize(len % (b.size() + 64), 0);
    pos = 4;
  }
  for (; pos + 4 <= size && !b.empty(); pos += 4) {
    const size_t off = (data[pos] | (static_cast<size_t>(data[pos + 1]) << 8) |
                        (static_cast<size_t>(data[pos + 2]) << 16)) %
                       b.size();
    b[off] ^= data[pos + 3];
  }
  DecodeAll(s, b);
  return 0;
}
