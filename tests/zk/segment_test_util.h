// Shared helpers of the segment-proof tests of whole models (cnn_proof_test.cc,
// vit_proof_test.cc): prove every segment of a graph as a chain, compare with
// Session::RunSegment, and tamper with proofs.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <span>
#include <vector>

#include "veil/session.h"
#include "veil/zk/segment_proof.h"

namespace veil::zk::prooftest {

inline CommitmentSeed Seed(uint8_t tag) {
  CommitmentSeed s{};
  s[5] = tag;
  return s;
}

inline std::vector<int8_t> RandomI8(std::mt19937_64& rng, size_t n, int span = 127) {
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % (2 * span + 1)) - span);
  return v;
}

struct Proved {
  Graph graph;
  ModelCommitment commitment;
  Tensor input;
  std::vector<SegmentProof> proofs;
  std::vector<std::vector<ActivationOpening>> outputs;  // per segment
};

// Proves every segment on `input`, each from the previous segment's output openings.
inline void ProveAll(Proved* p, uint8_t seed_tag) {
  p->commitment = *CommitModel(p->graph, Seed(seed_tag));
  const CommitmentKey key = SegmentProofKey(p->graph, p->commitment);
  std::vector<ActivationOpening> current{*CommitActivation(key, p->input)};
  const std::vector<Segment> segments = p->graph.EffectiveSegments();
  for (size_t s = 0; s < segments.size(); ++s) {
    std::vector<ActivationOpening> in;
    for (int v : p->graph.SegmentInputs(segments[s])) {
      if (s == 0) {
        in.push_back(current[0]);
        continue;
      }
      for (const ActivationOpening& a : current)
        if (a.value == v) in.push_back(a);
    }
    auto out = ProveSegment(p->graph, p->commitment, Seed(seed_tag), static_cast<int>(s), in);
    ASSERT_TRUE(out.ok()) << "segment " << s << ": " << out.status().ToString();
    p->proofs.push_back(out->proof);
    p->outputs.push_back(out->outputs);
    current = out->outputs;
  }
}

// The segment outputs Session::RunSegment computes, chained from the input.
inline std::vector<std::vector<Tensor>> SessionOutputs(const Graph& g, const Tensor& input) {
  auto session = Session::Create(g, {});
  EXPECT_TRUE(session.ok());
  std::map<int, Tensor> values{{g.inputs[0], input}};
  std::vector<std::vector<Tensor>> all;
  const std::vector<Segment> segments = g.EffectiveSegments();
  for (size_t s = 0; s < segments.size(); ++s) {
    std::vector<Tensor> in;
    for (int v : g.SegmentInputs(segments[s])) in.push_back(values.at(v));
    auto out = (*session)->RunSegment(static_cast<int>(s), in);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    const std::vector<int> ids = g.SegmentOutputs(segments[s]);
    for (size_t k = 0; k < ids.size(); ++k) values[ids[k]] = (*out)[k];
    all.push_back(*out);
  }
  return all;
}

inline void ExpectOutputsMatchSession(const Proved& p) {
  const auto expected = SessionOutputs(p.graph, p.input);
  ASSERT_EQ(expected.size(), p.outputs.size());
  for (size_t s = 0; s < expected.size(); ++s) {
    ASSERT_EQ(expected[s].size(), p.outputs[s].size()) << s;
    for (size_t k = 0; k < expected[s].size(); ++k) {
      const auto a = expected[s][k].i8(), b = p.outputs[s][k].values.i8();
      EXPECT_EQ(std::vector<int8_t>(a.begin(), a.end()), std::vector<int8_t>(b.begin(), b.end()))
          << "segment " << s << " output " << k;
    }
  }
}

// Flips one bit at ~`positions` places and truncates there: every variant is rejected.
inline void ExpectFlipsAndTruncationsRejected(const Graph& g, const ModelCommitment& c,
                                              const SegmentProof& proof, size_t positions) {
  const std::vector<uint8_t> bytes = SerializeSegmentProof(proof);
  auto decode_verify = [&](std::span<const uint8_t> b) -> Status {
    auto p = ParseSegmentProof(b, g);
    if (!p.ok()) return p.status();
    return VerifySegment(g, c, *p);
  };
  ASSERT_TRUE(decode_verify(bytes).ok());
  for (size_t pos = 0; pos < bytes.size(); pos += 1 + bytes.size() / positions) {
    std::vector<uint8_t> flipped = bytes;
    flipped[pos] ^= 0x10;
    EXPECT_FALSE(decode_verify(flipped).ok()) << pos;
    EXPECT_FALSE(decode_verify(std::span(bytes).first(pos)).ok()) << pos;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_verify(longer).ok());
}

// Every proven node's output commitment changed (kept consistent with the proof's outputs):
// each is rejected.
inline void ExpectChangedOutputsRejected(const Graph& g, const ModelCommitment& c,
                                         const SegmentProof& proof) {
  for (size_t i = 0; i < proof.layers.size(); ++i) {
    SegmentProof p = proof;
    const HyraxCommitment before = p.layers[i].output;
    p.layers[i].output.rows[0] = p.layers[i].output.rows[0] + Point::Generator();
    for (HyraxCommitment& o : p.outputs)
      if (o == before) o = p.layers[i].output;
    const Status s = VerifySegment(g, c, p);
    EXPECT_FALSE(s.ok()) << "layer " << i << " (node " << p.layers[i].node << ")";
  }
}

}  // namespace veil::zk::prooftest
