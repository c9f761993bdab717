// libFuzzer target: strict decoding of zk wire objects from arbitrary bytes: ristretto255
// points, scalars mod l, counted vectors, model commitment files, Linear-layer,
// requantization and Lookup (LogUp) proofs.
// Whatever decodes must re-encode to exactly the bytes it came from (canonical encodings
// are unique), agree with libsodium's validity check, and survive arithmetic; whatever
// fails must say why.
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "veil/zk/linear_proof.h"
#include "veil/zk/lookup_proof.h"
#include "veil/zk/model_commitment.h"
#include "veil/zk/requantize_proof.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"
#include "veil/zk/serialize.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_zk_decode invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckPointBytes(const uint8_t* b) {
  veil::Result<veil::zk::Point> p = veil::zk::Point::Decode({b, 32});
  // libsodium 1.0.18 ignores bit 255; RFC 9496 (and veil) reject it.
  const bool sodium_ok = (b[31] & 0x80) == 0 && crypto_core_ristretto255_is_valid_point(b) == 1;
  Require(p.ok() == sodium_ok, "point validity differs from libsodium");
  if (!p.ok()) {
    Require(!p.status().message().empty(), "error without a message");
    return;
  }
  Require(std::memcmp(p->Encode().data(), b, 32) == 0, "point does not re-encode to its bytes");
  Require((*p + *p) == p->Double(), "P + P != 2P");
  Require((*p - *p).IsIdentity(), "P - P != 0");
}

void CheckScalarBytes(const uint8_t* b) {
  veil::Result<veil::zk::Scalar> s = veil::zk::Scalar::FromBytes({b, 32});
  uint8_t wide[64] = {0};
  std::memcpy(wide, b, 32);
  uint8_t reduced[32];
  crypto_core_ristretto255_scalar_reduce(reduced, wide);
  Require(s.ok() == (std::memcmp(reduced, b, 32) == 0), "scalar validity differs from libsodium");
  if (!s.ok()) return;
  Require(std::memcmp(s->ToBytes().data(), b, 32) == 0, "scalar does not re-encode to its bytes");
  Require((*s - *s).IsZero(), "s - s != 0");
}

// The whole input as a commitment file: a successful parse re-serializes to the input.
void CheckModelCommitment(const uint8_t* data, size_t size) {
  veil::Result<veil::zk::ModelCommitment> c = veil::zk::ParseModelCommitment({data, size});
  if (!c.ok()) {
    Require(!c.status().message().empty(), "commitment error without a message");
    return;
  }
  const std::vector<uint8_t> again = veil::zk::SerializeModelCommitment(*c);
  Require(again.size() == size && std::memcmp(again.data(), data, size) == 0,
          "commitment does not re-serialize to its bytes");
}

// The input as a Linear proof for a statement with K = 8 (three sumcheck rounds): whatever
// decodes re-encodes to the bytes consumed.
void CheckLinearProof(const uint8_t* data, size_t size) {
  veil::zk::LinearStatement statement;
  statement.input.col_vars = 3;
  veil::zk::ZkReader reader({data, size});
  veil::Result<veil::zk::LinearProof> p = veil::zk::ReadLinearProof(&reader, statement);
  if (!p.ok()) {
    Require(!p.status().message().empty(), "proof error without a message");
    return;
  }
  std::vector<uint8_t> again;
  veil::zk::WriteLinearProof(&again, *p);
  Require(again.size() == reader.position() && std::memcmp(again.data(), data, again.size()) == 0,
          "proof does not re-encode to its bytes");
}

// The input as a requantization proof for a 2×3 output (which also decodes four range
// proofs and two zero-checks): whatever decodes re-encodes to the bytes consumed.
void CheckRequantizeProof(const uint8_t* data, size_t size) {
  veil::zk::RequantizeStatement statement;
  statement.rows = 2;
  statement.cols = 3;
  statement.output.row_vars = 1;
  statement.output.col_vars = 2;
  statement.output.rows.resize(2);
  veil::zk::ZkReader reader({data, size});
  veil::Result<veil::zk::RequantizeProof> p = veil::zk::ReadRequantizeProof(&reader, statement);
  if (!p.ok()) {
    Require(!p.status().message().empty(), "requantize proof error without a message");
    return;
  }
  std::vector<uint8_t> again;
  veil::zk::WriteRequantizeProof(&again, *p);
  Require(again.size() == reader.position() && std::memcmp(again.data(), data, again.size()) == 0,
          "requantize proof does not re-encode to its bytes");
}

// The input as a Lookup proof for a 3×5 activation (multiplicity and inverse commitments,
// a 5-round zero-check, five openings): whatever decodes re-encodes to the bytes consumed.
void CheckLookupProof(const uint8_t* data, size_t size) {
  veil::zk::LookupStatement statement;
  statement.rows = 3;
  statement.cols = 5;
  veil::zk::ZkReader reader({data, size});
  veil::Result<veil::zk::LookupProof> p = veil::zk::ReadLookupProof(&reader, statement);
  if (!p.ok()) {
    Require(!p.status().message().empty(), "lookup proof error without a message");
    return;
  }
  std::vector<uint8_t> again;
  veil::zk::WriteLookupProof(&again, *p);
  Require(again.size() == reader.position() && std::memcmp(again.data(), data, again.size()) == 0,
          "lookup proof does not re-encode to its bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int init = sodium_init();
  (void)init;
  // Every aligned 32-byte window as a point and as a scalar.
  for (size_t off = 0; off + 32 <= size && off < 32 * 8; off += 32) {
    CheckPointBytes(data + off);
    CheckScalarBytes(data + off);
  }
  // The whole input as a stream of counted vectors and single objects.
  veil::zk::ZkReader reader({data, size});
  while (reader.remaining() > 0) {
    const size_t before = reader.remaining();
    veil::Result<uint32_t> tag = reader.ReadU32();
    if (!tag.ok()) break;
    bool ok = false;
    switch (*tag % 4) {
      case 0:
        ok = reader.ReadPoints(64).ok();
        break;
      case 1:
        ok = reader.ReadScalars(64).ok();
        break;
      case 2:
        ok = reader.ReadPoint().ok();
        break;
      default:
        ok = reader.ReadScalar().ok();
        break;
    }
    Require(reader.remaining() < before, "reader made no progress");
    if (!ok) break;
  }
  (void)reader.ExpectEnd();
  CheckModelCommitment(data, size);
  CheckLinearProof(data, size);
  CheckRequantizeProof(data, size);
  CheckLookupProof(data, size);
  return 0;
}
