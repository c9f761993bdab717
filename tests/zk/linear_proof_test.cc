#include "veil/zk/linear_proof.h"

#include <gtest/gtest.h>

#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

const CommitmentKey& Key() {
  static const CommitmentKey* key = new CommitmentKey(CommitmentKey::Derive(64));
  return *key;
}

std::vector<Scalar> Blinds(size_t n) {
  std::vector<Scalar> b(n);
  for (auto& x : b) x = Scalar::Random();
  return b;
}

std::vector<int8_t> RandomInt8(size_t n) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(testing::Rng()() % 255) - 127);
  return v;
}

// An honest layer: values, blinds, commitments.
struct Layer {
  size_t T, K, N;
  std::vector<int8_t> x, w;
  std::vector<int32_t> b, acc;
  LinearWitness witness;
  LinearStatement statement;

  Layer(size_t t, size_t k, size_t n) : T(t), K(k), N(n) {
    x = RandomInt8(T * K);
    w = RandomInt8(N * K);
    for (size_t i = 0; i < N; ++i)
      b.push_back(static_cast<int32_t>(testing::Rng()() % 20001) - 10000);
    acc = LinearAccumulators(x, w, b, T, K, N);
    witness.input_blinds = Blinds(T);
    witness.weight_blinds = Blinds(N);
    witness.bias_blinds = Blinds(1);
    witness.accumulator_blinds = Blinds(T);
    Recommit();
  }

  // Commits to the current values (what an honest prover publishes).
  void Recommit() {
    statement.tokens = static_cast<uint32_t>(T);
    statement.in_features = static_cast<uint32_t>(K);
    statement.out_features = static_cast<uint32_t>(N);
    statement.input = *HyraxCommitInt8(Key(), x, T, K, witness.input_blinds);
    statement.weight = *HyraxCommitInt8(Key(), w, N, K, witness.weight_blinds);
    statement.bias = *HyraxCommitInt32(Key(), b, 1, N, witness.bias_blinds);
    statement.accumulator = *HyraxCommitInt32(Key(), acc, T, N, witness.accumulator_blinds);
    Bind();
  }

  void Bind() {
    witness.input = x;
    witness.weight = w;
    witness.bias = b;
    witness.accumulator = acc;
  }
};

Status ProveAndVerify(const LinearStatement& prover_statement, const LinearWitness& witness,
                      const LinearStatement& verifier_statement) {
  Transcript tp("linear-test");
  auto proof = ProveLinear(Key(), prover_statement, witness, &tp);
  if (!proof.ok()) return proof.status();
  Transcript tv("linear-test");
  return VerifyLinear(Key(), verifier_statement, *proof, &tv);
}

TEST(LinearProof, AccumulatorsMatchDefinition) {
  const std::vector<int8_t> x{1, -2, 3, 4, 5, -6};  // T=2, K=3
  const std::vector<int8_t> w{7, 8, 9, -1, 0, 2};   // N=2
  const std::vector<int32_t> b{100, -100};
  EXPECT_EQ(
      LinearAccumulators(x, w, b, 2, 3, 2),
      (std::vector<int32_t>{100 + 7 - 16 + 27, -100 - 1 + 6, 100 + 28 + 40 - 54, -100 - 4 - 12}));
}

TEST(LinearProof, CompletenessAcrossShapes) {
  for (auto [t, k, n] : std::vector<std::tuple<size_t, size_t, size_t>>{
           {1, 1, 1}, {5, 13, 7}, {3, 64, 2}, {16, 32, 64}}) {
    Layer layer(t, k, n);
    const Status s = ProveAndVerify(layer.statement, layer.witness, layer.statement);
    EXPECT_TRUE(s.ok()) << t << "x" << k << "x" << n << ": " << s.ToString();
  }
}

TEST(LinearProof, RejectsWeightChangedByOne) {
  // The prover computes with a weight off by one but must open the published commitment.
  Layer layer(6, 20, 9);
  Layer cheat = layer;
  cheat.w[17] = static_cast<int8_t>(cheat.w[17] == 127 ? 126 : cheat.w[17] + 1);
  cheat.acc = LinearAccumulators(cheat.x, cheat.w, cheat.b, 6, 20, 9);
  cheat.statement.accumulator =
      *HyraxCommitInt32(Key(), cheat.acc, 6, 9, cheat.witness.accumulator_blinds);
  cheat.Bind();
  EXPECT_FALSE(ProveAndVerify(cheat.statement, cheat.witness, cheat.statement).ok());
}

TEST(LinearProof, RejectsChangedOutput) {
  // One accumulator off by one, committed honestly as such: the relation does not hold.
  Layer layer(4, 16, 8);
  layer.acc[5] += 1;
  layer.Recommit();
  const Status s = ProveAndVerify(layer.statement, layer.witness, layer.statement);
  EXPECT_EQ(s.code(), StatusCode::kCorrupt) << s.ToString();
}

TEST(LinearProof, RejectsChangedInput) {
  // The verifier holds the commitment to the real input; the prover used another input.
  Layer layer(4, 16, 8);
  const LinearStatement honest = layer.statement;
  layer.x[3] = static_cast<int8_t>(layer.x[3] == 127 ? 126 : layer.x[3] + 1);
  layer.acc = LinearAccumulators(layer.x, layer.w, layer.b, 4, 16, 8);
  layer.Recommit();
  LinearStatement presented = layer.statement;
  presented.input = honest.input;
  EXPECT_FALSE(ProveAndVerify(layer.statement, layer.witness, presented).ok());
  EXPECT_FALSE(ProveAndVerify(presented, layer.witness, presented).ok());
}

TEST(LinearProof, RejectsProofForAnotherStatement) {
  Layer a(4, 16, 8), b(4, 16, 8);
  Transcript tp("linear-test");
  const LinearProof proof = *ProveLinear(Key(), a.statement, a.witness, &tp);
  Transcript tv("linear-test");
  EXPECT_FALSE(VerifyLinear(Key(), b.statement, proof, &tv).ok());
  Transcript tv2("another-domain");
  EXPECT_FALSE(VerifyLinear(Key(), a.statement, proof, &tv2).ok());
}

TEST(LinearProof, WireFormatAndByteFlips) {
  Layer layer(4, 16, 8);
  Transcript tp("linear-test");
  const LinearProof proof = *ProveLinear(Key(), layer.statement, layer.witness, &tp);
  std::vector<uint8_t> bytes;
  WriteLinearProof(&bytes, proof);
  auto decode_and_verify = [&](std::span<const uint8_t> b) -> Status {
    ZkReader in(b);
    auto p = ReadLinearProof(&in, layer.statement);
    if (!p.ok()) return p.status();
    VEIL_RETURN_IF_ERROR(in.ExpectEnd());
    Transcript tv("linear-test");
    return VerifyLinear(Key(), layer.statement, *p, &tv);
  };
  ASSERT_TRUE(decode_and_verify(bytes).ok());
  for (size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 200)
    EXPECT_FALSE(decode_and_verify(std::span(bytes).first(cut)).ok()) << cut;
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / 200) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x20;
    EXPECT_FALSE(decode_and_verify(flipped).ok()) << pos;
  }
}

TEST(LinearProof, StatementShapesAreChecked) {
  Layer layer(4, 16, 8);
  LinearStatement bad = layer.statement;
  bad.out_features = 9;
  Transcript tv("linear-test");
  LinearProof empty;
  EXPECT_EQ(VerifyLinear(Key(), bad, empty, &tv).code(), StatusCode::kCorrupt);
  bad = layer.statement;
  bad.accumulator.rows.pop_back();
  EXPECT_FALSE(CheckLinearStatement(Key(), bad).ok());
}

}  // namespace
}  // namespace veil::zk
