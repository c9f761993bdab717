// Cost of consensus per segment and request: what a member adds (hash its outputs, commit),
// what the client adds (check the selection, evaluate the round), and receipt verification.
//   build-cons/bench/consensus/veil_bench_consensus --benchmark_min_time=0.5
// docs/consensus.md "Performance" relates these to segment run times.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/consensus/receipt.h"
#include "veil/consensus/vrf.h"
#include "veil/session.h"
#include "veil/tensor.h"

namespace {

using namespace veil;
using namespace veil::consensus;

Digest D(uint8_t tag) {
  Digest d{};
  d.fill(tag);
  return d;
}

// Seven node identities in a temporary directory, for the whole run.
struct Network {
  Network() {
    char tmpl[] = "/tmp/veil-bench-consensus-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    for (int i = 0; i < 7; ++i) {
      auto id = registry::Identity::LoadOrCreate(dir + "/n" + std::to_string(i));
      if (!id.ok()) std::abort();
      nodes.push_back(std::move(id).value());
    }
  }
  ~Network() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  const registry::Identity& Find(const registry::PublicKey& k) const {
    for (const auto& n : nodes)
      if (n->public_key() == k) return *n;
    std::abort();
  }
  RoundParams Params(uint32_t segment) const {
    RoundParams p;
    p.model_digest = D(1);
    p.request_id = "bench-1";
    p.public_seed = D(2);
    p.segment_index = segment;
    p.segment_digest = D(static_cast<uint8_t>(segment));
    p.committee_size = 3;
    p.quorum = 2;
    for (const auto& n : nodes) p.eligible.push_back({n->public_key(), 1u << 19});
    return p;
  }
  std::string dir;
  std::vector<std::unique_ptr<registry::Identity>> nodes;
};

const Network& Net() {
  static Network network;
  return network;
}

// Member side: TensorListDigest of one int8 output of `bytes` bytes.
void BM_HashOutputs(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  Tensor t(DType::kInt8, {1, bytes});
  std::vector<Tensor> outputs;
  outputs.push_back(std::move(t));
  for (auto _ : state) benchmark::DoNotOptimize(TensorListDigest(outputs));
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_HashOutputs)->Arg(16 << 10)->Arg(1 << 20);

// Member side: nonce, commitment hash, Ed25519 signature.
void BM_CommitOutput(benchmark::State& state) {
  const registry::Identity& m = *Net().nodes[0];
  for (auto _ : state) benchmark::DoNotOptimize(CommitOutput(m, D(1), D(2), D(3), D(4)));
}
BENCHMARK(BM_CommitOutput);

// Anyone: signature check and opening of one member's commitment.
void BM_CheckCommitment(benchmark::State& state) {
  auto s = CommitOutput(*Net().nodes[0], D(1), D(2), D(3), D(4));
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyCommitmentSignature(D(1), s->commitment));
    benchmark::DoNotOptimize(RevealOpens(D(1), s->commitment, s->reveal));
  }
}
BENCHMARK(BM_CheckCommitment);

void BM_VrfProve(benchmark::State& state) {
  const std::vector<uint8_t> alpha = SelectionAlpha(Net().Params(1));
  for (auto _ : state) benchmark::DoNotOptimize(VrfProve(*Net().nodes[0], alpha));
}
BENCHMARK(BM_VrfProve);

void BM_VrfVerify(benchmark::State& state) {
  const std::vector<uint8_t> alpha = SelectionAlpha(Net().Params(1));
  auto proof = VrfProve(*Net().nodes[0], alpha);
  for (auto _ : state)
    benchmark::DoNotOptimize(VrfVerify(Net().nodes[0]->public_key(), alpha, *proof));
}
BENCHMARK(BM_VrfVerify);

// Selector side: prove the VRF and draw 3 of 7.
void BM_DrawCommittee(benchmark::State& state) {
  const RoundParams p = Net().Params(1);
  const registry::Identity& selector = Net().Find(DesignatedSelector(p));
  for (auto _ : state) benchmark::DoNotOptimize(DrawCommittee(selector, p));
}
BENCHMARK(BM_DrawCommittee);

// Client side: verify the selection and re-draw.
void BM_CheckCommittee(benchmark::State& state) {
  const RoundParams p = Net().Params(1);
  auto sel = DrawCommittee(Net().Find(DesignatedSelector(p)), p);
  for (auto _ : state) benchmark::DoNotOptimize(CheckCommittee(p, sel->selector, sel->proof));
}
BENCHMARK(BM_CheckCommittee);

// Client side: rules 1-6 over a committee of 3 (3 signature checks, 3 openings).
void BM_EvaluateRound3(benchmark::State& state) {
  const RoundParams p = Net().Params(1);
  auto sel = DrawCommittee(Net().Find(DesignatedSelector(p)), p);
  const Digest round = RoundDigest(p);
  std::vector<SignedCommitment> cs;
  std::vector<Reveal> rs;
  for (const auto& m : sel->committee) {
    auto s = CommitOutput(Net().Find(m), round, D(2), D(3), D(4));
    cs.push_back(s->commitment);
    rs.push_back(s->reveal);
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(EvaluateRound(round, sel->committee, sel->quorum, cs, rs));
}
BENCHMARK(BM_EvaluateRound3);

// Offline: a receipt of `segments` segments, committees of 3.
void BM_VerifyReceipt(benchmark::State& state) {
  Receipt r;
  r.model_digest = D(1);
  r.request_id = "bench-1";
  r.public_seed = D(2);
  r.input_digest = D(9);
  for (uint32_t s = 1; s <= static_cast<uint32_t>(state.range(0)); ++s) {
    const RoundParams p = Net().Params(s);
    auto sel = DrawCommittee(Net().Find(DesignatedSelector(p)), p);
    const Digest round = RoundDigest(p);
    std::vector<SignedCommitment> cs;
    std::vector<Reveal> rs;
    for (const auto& m : sel->committee) {
      auto c = CommitOutput(Net().Find(m), round, D(9), D(9), D(4));
      cs.push_back(c->commitment);
      rs.push_back(c->reveal);
    }
    auto outcome = EvaluateRound(round, sel->committee, sel->quorum, cs, rs);
    r.segments.push_back(*MakeReceiptSegment(p, *sel, *outcome, cs, rs));
  }
  r.output_digest = D(9);
  const std::string bytes = *EncodeReceipt(r);
  auto any = [](const registry::PublicKey&) { return true; };
  for (auto _ : state) {
    auto report = VerifyReceipt(bytes, any);
    if (!report.ok()) state.SkipWithError(report.status().message().c_str());
    benchmark::DoNotOptimize(report);
  }
  state.counters["receipt_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_VerifyReceipt)->Arg(1)->Arg(3);

}  // namespace

BENCHMARK_MAIN();
