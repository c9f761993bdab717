// libFuzzer target: registry record decoding (proto/veil/v1/registry.proto) from arbitrary
// bytes. Two paths:
//  - the bytes as a SignedRecord envelope, given to every verifier (what a malicious
//    registry can store);
//  - the bytes as a record payload, correctly signed by a fixed fuzz identity, so the
//    decoder and field validation behind the signature check are reached too (what a peer
//    holding a key can publish).
// Invariants: a rejection always says why; whatever verifies can be re-signed (the signer's
// and the reader's validation agree), and re-signing is a fixed point (verify -> sign ->
// verify -> sign gives the same bytes).
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "veil/registry/identity.h"
#include "veil/registry/records.h"
#include "veil/v1/registry.pb.h"

namespace {

using namespace veil::registry;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_registry_record invariant violated: %s\n", what);
    std::abort();
  }
}

std::string g_identity_dir;

const Identity& FuzzIdentity() {
  static std::unique_ptr<Identity> identity = [] {
    char tmpl[] = "/tmp/veil-fuzz-registry-XXXXXX";
    Require(mkdtemp(tmpl) != nullptr, "mkdtemp");
    g_identity_dir = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(g_identity_dir, ec);
    });
    auto r = Identity::LoadOrCreate(g_identity_dir);
    Require(r.ok(), "identity");
    return std::move(r).value();
  }();
  return *identity;
}

std::string Seal(const Identity& signer, const char* kind, const std::string& payload) {
  std::string msg = std::string("veil/registry/v1/") + kind;
  msg.push_back('\0');
  msg += payload;
  const Signature sig = signer.Sign({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  veil::v1::SignedRecord env;
  env.set_payload(payload);
  env.set_signer_public_key(std::string(signer.public_key().begin(), signer.public_key().end()));
  env.set_signature(std::string(sig.begin(), sig.end()));
  return env.SerializeAsString();
}

template <typename Record, typename VerifyFn, typename SignFn>
void Check(const std::string& bytes, VerifyFn verify, SignFn sign) {
  veil::Result<Record> r = verify(bytes);
  if (!r.ok()) {
    Require(!r.status().message().empty(), "rejection without a reason");
    return;
  }
  veil::Result<std::string> resigned = sign(FuzzIdentity(), *r);
  Require(resigned.ok(), "a verified record cannot be re-signed");
  veil::Result<Record> again = verify(*resigned);
  Require(again.ok(), "a re-signed record does not verify");
  veil::Result<std::string> twice = sign(FuzzIdentity(), *again);
  Require(twice.ok() && *twice == *resigned, "re-signing is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Identity& id = FuzzIdentity();
  switch (data[0] % 4) {
    case 0: {
      // Only the fuzz identity's records can verify here, and only if the input contains one.
      for (const auto& s : {VerifyNodeRecord(rest).status(), VerifyModelRecord(rest).status(),
                            VerifyOwnerKeyRecord(rest).status()})
        Require(s.ok() || !s.message().empty(), "rejection without a reason");
      break;
    }
    case 1:
      Check<NodeRecord>(Seal(id, "node", rest), VerifyNodeRecord, SignNodeRecord);
      break;
    case 2:
      Check<ModelRecord>(Seal(id, "model", rest), VerifyModelRecord, SignModelRecord);
      break;
    default:
      Check<OwnerKeyRecord>(Seal(id, "owner", rest), VerifyOwnerKeyRecord, SignOwnerKeyRecord);
      break;
  }
  return 0;
}
