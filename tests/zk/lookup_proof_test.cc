#include "veil/zk/lookup_proof.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "veil/thread_pool.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(kLookupTableSize));
  return *key;
}

std::vector<Scalar> Blinds(size_t n) {
  std::vector<Scalar> b(n);
  for (auto& x : b) x = Scalar::Random();
  return b;
}

// A GELU-shaped table (not monotone near 0, many repeated outputs), as an importer writes.
std::vector<int8_t> GeluTable() {
  std::vector<int8_t> t(kLookupTableSize);
  for (int j = 0; j < 256; ++j) {
    const double x = (j - 128) * 0.05;
    const double g = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    t[static_cast<size_t>(j)] =
        static_cast<int8_t>(std::clamp<long>(std::lround(g / 0.05), -127, 127));
  }
  return t;
}

struct Case {
  size_t T, N;
  std::vector<int8_t> x, y;
  LookupStatement statement;
  LookupWitness witness;

  Case(size_t t, size_t n) : T(t), N(n) {
    for (size_t i = 0; i < T * N; ++i)
      x.push_back(static_cast<int8_t>(static_cast<int>(testing::Rng()() % 256) - 128));
    statement.rows = static_cast<uint32_t>(T);
    statement.cols = static_cast<uint32_t>(N);
    statement.table = GeluTable();
    witness.input_blinds = Blinds(T);
    witness.output_blinds = Blinds(T);
    y = LookupReference(x, statement.table);
    Commit();
  }

  void Commit() {
    statement.input = *HyraxCommitInt8(Key(), x, T, N, witness.input_blinds);
    statement.output = *HyraxCommitInt8(Key(), y, T, N, witness.output_blinds);
    witness.input = x;
    witness.output = y;
  }
};

Status ProveAndVerify(const LookupStatement& ps, const LookupWitness& w,
                      const LookupStatement& vs) {
  Transcript tp("lookup-test");
  auto proof = ProveLookup(Key(), ps, w, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("lookup-test");
  return VerifyLookup(Key(), vs, *proof, &tv);
}

TEST(LookupProof, ReferenceIndexesByInputPlus128) {
  std::vector<int8_t> table(256);
  for (int j = 0; j < 256; ++j)
    table[static_cast<size_t>(j)] = static_cast<int8_t>((j * 7) % 255 - 127);
  const std::vector<int8_t> x{-128, -1, 0, 127};
  EXPECT_EQ(LookupReference(x, table),
            (std::vector<int8_t>{table[0], table[127], table[128], table[255]}));
}

TEST(LookupProof, CompletenessOverShapes) {
  for (auto [t, n] : {std::pair<size_t, size_t>{1, 1}, {3, 5}, {4, 8}, {7, 33}}) {
    Case c(t, n);
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_TRUE(s.ok()) << t << "x" << n << ": " << s.ToString();
  }
  // Every key at once (multiplicities all 1) and one key repeated (one multiplicity 64).
  Case all(2, 128);
  for (size_t i = 0; i < 256; ++i) all.x[i] = static_cast<int8_t>(static_cast<int>(i) - 128);
  all.y = LookupReference(all.x, all.statement.table);
  all.Commit();
  EXPECT_TRUE(ProveAndVerify(all.statement, all.witness, all.statement).ok());
  Case same(8, 8);
  std::fill(same.x.begin(), same.x.end(), int8_t{-5});
  same.y = LookupReference(same.x, same.statement.table);
  same.Commit();
  EXPECT_TRUE(ProveAndVerify(same.statement, same.witness, same.statement).ok());
}

TEST(LookupProof, ProverWithAThreadPoolVerifies) {
  // The pool only splits the commitments' MSMs; the proof must verify as before.
  ThreadPool pool(2);
  Case c(9, 40);
  Transcript tp("lookup-test");
  auto proof = ProveLookup(Key(), c.statement, c.witness, &tp, &pool);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  Transcript tv("lookup-test");
  EXPECT_TRUE(VerifyLookup(Key(), c.statement, *proof, &tv).ok());
}

TEST(LookupProof, RejectsEveryChangedOutput) {
  Case base(3, 5);
  for (size_t e = 0; e < base.y.size(); ++e) {
    Case c = base;
    c.y[e] = static_cast<int8_t>(c.y[e] == 127 ? 126 : c.y[e] + 1);
    c.Commit();
    const Status s = ProveAndVerify(c.statement, c.witness, c.statement);
    EXPECT_EQ(s.code(), StatusCode::kCorrupt) << "entry " << e;
  }
}

TEST(LookupProof, RejectsChangedInputTableAndStatement) {
  Case c(3, 5);
  // The input changed (committed consistently) to the nearest key whose table value differs,
  // with the old outputs.
  Case changed_x = c;
  int k = changed_x.x[4];
  while (k < 127 && c.statement.table[static_cast<size_t>(k + 128)] == c.y[4]) ++k;
  while (k > -128 && c.statement.table[static_cast<size_t>(k + 128)] == c.y[4]) --k;
  changed_x.x[4] = static_cast<int8_t>(k);
  ASSERT_NE(LookupReference(changed_x.x, c.statement.table), c.y);
  changed_x.Commit();
  EXPECT_EQ(ProveAndVerify(changed_x.statement, changed_x.witness, changed_x.statement).code(),
            StatusCode::kCorrupt);
  // An honest proof checked against another table (one entry changed), another input or
  // output commitment, or another transcript.
  LookupStatement other = c.statement;
  other.table[static_cast<size_t>(c.x[0] + 128)] ^= 1;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, other).ok());
  other = c.statement;
  other.input = changed_x.statement.input;
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, other).ok());
  other = c.statement;
  std::swap(other.input, other.output);
  EXPECT_FALSE(ProveAndVerify(c.statement, c.witness, other).ok());
  Transcript tp("lookup-test");
  auto proof = ProveLookup(Key(), c.statement, c.witness, &tp);
  ASSERT_TRUE(proof.ok());
  Transcript tv("another-domain");
  EXPECT_FALSE(VerifyLookup(Key(), c.statement, *proof, &tv).ok());
  // Malformed statements are refused, not crashed on.
  other = c.statement;
  other.table.pop_back();
  EXPECT_EQ(CheckLookupStatement(Key(), other).code(), StatusCode::kCorrupt);
  other = c.statement;
  other.table[0] = -128;
  EXPECT_EQ(CheckLookupStatement(Key(), other).code(), StatusCode::kCorrupt);
  other = c.statement;
  other.rows = 4;
  EXPECT_EQ(CheckLookupStatement(Key(), other).code(), StatusCode::kCorrupt);
  EXPECT_FALSE(
      CheckLookupStatement(CommitmentKey::Derive(128), c.statement).ok());  // key too short
}

TEST(LookupProof, TwoProofsOfOneStatementShareNothing) {
  Case c(2, 6);
  Transcript t1("lookup-test"), t2("lookup-test");
  const LookupProof p1 = *ProveLookup(Key(), c.statement, c.witness, &t1);
  const LookupProof p2 = *ProveLookup(Key(), c.statement, c.witness, &t2);
  std::vector<uint8_t> b1, b2;
  WriteLookupProof(&b1, p1);
  WriteLookupProof(&b2, p2);
  ASSERT_EQ(b1.size(), b2.size());
  // Compare every 32-byte element (commitments, responses) at matching offsets; the only
  // equal words allowed are the 4-byte framing counts and shapes, never a 32-byte element.
  std::set<std::vector<uint8_t>> words;
  for (size_t i = 0; i + 32 <= b1.size(); ++i) words.insert({b1.begin() + i, b1.begin() + i + 32});
  size_t shared = 0;
  for (size_t i = 0; i + 32 <= b2.size(); i += 4)
    shared += words.count({b2.begin() + i, b2.begin() + i + 32});
  EXPECT_EQ(shared, 0u);
}

TEST(LookupProof, WireFormatTruncationAndFlips) {
  Case c(3, 5);
  Transcript tp("lookup-test");
  const LookupProof proof = *ProveLookup(Key(), c.statement, c.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteLookupProof(&bytes, proof);
  auto decode_verify = [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto p = ReadLookupProof(&in, c.statement);
    if (!p.ok()) return p.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    Transcript tv("lookup-test");
    return VerifyLookup(Key(), c.statement, *p, &tv);
  };
  ASSERT_TRUE(decode_verify(bytes).ok());
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_verify(longer).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 60) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x10;
    EXPECT_FALSE(decode_verify(flipped).ok()) << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << pos;
  }
}

}  // namespace
}  // namespace veil::zk
