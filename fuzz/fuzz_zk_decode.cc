// libFuzzer target: strict decoding of zk wire objects from arbitrary bytes: ristretto255
// points, scalars mod l, counted vectors, model commitment files, Linear-layer,
// requantization, Lookup (LogUp), Conv2d, max-pool and mean proofs, the ViT op proofs
// (Transpose, LayerNorm, Attention, MatMul, Softmax), and whole segment proofs (format v3) of a
// small Conv2d -> MaxPool2d -> Add -> AvgPool2d graph and of a small transformer block
// (Transpose -> Add constant -> LayerNorm -> Linear over tokens -> Attention -> Softmax ->
// MatMul), whose layers are the segment-level ViT decoders.
// Whatever decodes must re-encode to exactly the bytes it came from (canonical encodings
// are unique), agree with libsodium's validity check, and survive arithmetic; whatever
// fails must say why.
#include <sodium.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "veil/graph.h"
#include "veil/zk/attention_proof.h"
#include "veil/zk/conv_proof.h"
#include "veil/zk/layernorm_proof.h"
#include "veil/zk/linear_proof.h"
#include "veil/zk/lookup_proof.h"
#include "veil/zk/matmul_proof.h"
#include "veil/zk/model_commitment.h"
#include "veil/zk/pool_proof.h"
#include "veil/zk/requantize_proof.h"
#include "veil/zk/ristretto.h"
#include "veil/zk/scalar.h"
#include "veil/zk/segment_proof.h"
#include "veil/zk/serialize.h"
#include "veil/zk/softmax_proof.h"
#include "veil/zk/transpose_proof.h"

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

// Decodes with `read`, re-encodes with `write`: the bytes consumed must come back.
template <typename Read, typename Write>
void CheckRoundTrip(const uint8_t* data, size_t size, Read read, Write write, const char* what) {
  veil::zk::ZkReader reader({data, size});
  auto p = read(&reader);
  if (!p.ok()) {
    Require(!p.status().message().empty(), what);
    return;
  }
  std::vector<uint8_t> again;
  write(&again, *p);
  Require(again.size() == reader.position() && std::memcmp(again.data(), data, again.size()) == 0,
          what);
}

// Conv2d over [2,3,3] with a 3x3 kernel, pad 1, 4 output channels (layout sumcheck of
// 2 + 4 rounds, kernel sumcheck of 5), a 2×2 max pool with a padding tap (4 taps, one digit
// range proof) and a mean over windows of 1..4 elements.
void CheckImageOpProofs(const uint8_t* data, size_t size) {
  veil::zk::ConvShape conv;
  conv.c = 2, conv.h = 3, conv.w = 3, conv.o = 4, conv.kh = 3, conv.kw = 3, conv.pt = 1,
  conv.pl = 1, conv.oh = 3, conv.ow = 3;
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadConvProof(r, conv); },
      veil::zk::WriteConvProof, "conv proof does not re-encode to its bytes");
  static const veil::zk::PoolWindows max_windows =
      veil::zk::Pool2dWindows(2, 3, 3, 2, 2, 2, 2, 0, 0, 2, 2, true, false);
  static const veil::zk::PoolWindows mean_windows =
      veil::zk::Pool2dWindows(2, 3, 3, 2, 2, 2, 2, 0, 0, 2, 2, false, false);
  veil::zk::PoolStatement st;
  st.rows = 2;
  st.windows = &max_windows;
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadMaxProof(r, st); },
      veil::zk::WriteMaxProof, "max proof does not re-encode to its bytes");
  st.windows = &mean_windows;
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadMeanProof(r, st); },
      veil::zk::WriteMeanProof, "mean proof does not re-encode to its bytes");
}

// x [1,4,4] -> Conv2d 2x2 (2 channels, [2,3,3]) -> MaxPool2d 2x2 pad (0,0,1,1) [2,2,2] | Add
// with itself -> AvgPool2d [2,1,1]: one segment. A whole input that parses as a segment
// proof re-serializes to itself.
const veil::Graph& SegmentGraph() {
  static const veil::Graph* g = [] {
    auto* graph = new veil::Graph;
    auto value = [&](veil::Shape s) {
      return graph->AddValue(
          {"v" + std::to_string(graph->values.size()), veil::DType::kInt8, s, 1.0});
    };
    auto node = [&](veil::OpKind kind, std::vector<int> in, veil::Shape out) {
      veil::Node n;
      n.kind = kind;
      n.name = "n" + std::to_string(graph->nodes.size());
      n.inputs = std::move(in);
      n.outputs = {value(out)};
      graph->nodes.push_back(n);
      return &graph->nodes.back();
    };
    graph->inputs = {value({1, 4, 4})};
    veil::Node* c = node(veil::OpKind::kConv2d, {graph->inputs[0]}, {2, 3, 3});
    c->SetParam("weight", veil::Tensor::FromInt8({2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
    c->SetParam("bias", veil::Tensor::FromInt32({2}, {1, 2}));
    c->SetParam("multiplier", veil::Tensor::FromInt32({1}, {1 << 30}));
    c->SetParam("shift", veil::Tensor::FromInt32({1}, {33}));
    veil::Node* m = node(veil::OpKind::kMaxPool2d, {c->outputs[0]}, {2, 2, 2});
    m->SetAttr("kernel", {2, 2});
    m->SetAttr("strides", {2, 2});
    m->SetAttr("pads", {0, 0, 1, 1});
    const int mo = m->outputs[0];
    veil::Node* a = node(veil::OpKind::kAdd, {mo, mo}, {2, 2, 2});
    a->SetParam("multiplier_a", veil::Tensor::FromInt32({1}, {1 << 30}));
    a->SetParam("multiplier_b", veil::Tensor::FromInt32({1}, {1 << 29}));
    a->SetParam("shift", veil::Tensor::FromInt32({1}, {31}));
    veil::Node* p = node(veil::OpKind::kAvgPool2d, {a->outputs[0]}, {2, 1, 1});
    p->SetAttr("kernel", {2, 2});
    p->SetAttr("strides", {2, 2});
    graph->outputs = {p->outputs[0]};
    Require(veil::ValidateGraph(*graph).ok(), "fuzz segment graph is valid");
    return graph;
  }();
  return *g;
}

std::vector<int32_t> ExpTable() {
  std::vector<int32_t> t(256);
  for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = 65536 >> (i / 16);
  return t;
}

// The ViT op proofs over small fixed statements (batch 2): Transpose [3,4] -> [4,3],
// LayerNorm of 2 rows of 4, Attention with Tq = Tk = 2, 2 heads of dim 2 (causal), MatMul
// [2,3]x[3,2] and Softmax of 2 rows of 3.
void CheckVitOpProofs(const uint8_t* data, size_t size) {
  veil::zk::TransposeStatement tr;
  tr.batch = 2;
  tr.shape = {3, 4};
  tr.perm = {1, 0};
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadTransposeProof(r, tr); },
      veil::zk::WriteTransposeProof, "transpose proof does not re-encode to its bytes");
  veil::zk::LayerNormStatement ln;
  ln.batch = 2, ln.rows = 2, ln.cols = 4;
  ln.gamma = {1, 2, 3, 4};
  ln.beta = {0, 1, 2, 3};
  ln.eps = 1, ln.shift = 8;
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadLayerNormProof(r, ln); },
      veil::zk::WriteLayerNormProof, "layernorm proof does not re-encode to its bytes");
  veil::zk::AttentionStatement at;
  at.batch = 2, at.tq = 2, at.tk = 2, at.heads = 2, at.dim = 2, at.causal = true;
  at.score_multiplier = 1 << 30, at.score_shift = 31, at.multiplier = 1 << 30, at.shift = 31;
  at.exp_table = ExpTable();
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadAttentionProof(r, at); },
      veil::zk::WriteAttentionProof, "attention proof does not re-encode to its bytes");
  veil::zk::MatMulStatement mm;
  mm.batch = 2, mm.m = 2, mm.k = 3, mm.n = 2, mm.multiplier = 1 << 30, mm.shift = 31;
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadMatMulProof(r, mm); },
      veil::zk::WriteMatMulProof, "matmul proof does not re-encode to its bytes");
  veil::zk::SoftmaxStatement sm;
  sm.batch = 2, sm.rows = 2, sm.cols = 3;
  sm.exp_table = ExpTable();
  CheckRoundTrip(
      data, size, [&](veil::zk::ZkReader* r) { return veil::zk::ReadSoftmaxProof(r, sm); },
      veil::zk::WriteSoftmaxProof, "softmax proof does not re-encode to its bytes");
}

// x [4,2] -> Transpose [2,4] -> Add constant [2,4] -> LayerNorm -> Linear 4->4 over the 2
// tokens -> Attention(q, q, q) (1 head) -> Softmax [2,4] -> MatMul [2,4]x[2,4]ᵀ [2,2]: one
// segment whose layers exercise the ViT handlers' decoders.
const veil::Graph& VitGraph() {
  static const veil::Graph* g = [] {
    auto* graph = new veil::Graph;
    auto value = [&](veil::Shape s) {
      return graph->AddValue(
          {"v" + std::to_string(graph->values.size()), veil::DType::kInt8, s, 1.0});
    };
    auto node = [&](veil::OpKind kind, std::vector<int> in, veil::Shape out) {
      veil::Node n;
      n.kind = kind;
      n.name = "n" + std::to_string(graph->nodes.size());
      n.inputs = std::move(in);
      n.outputs = {value(out)};
      graph->nodes.push_back(n);
      return &graph->nodes.back();
    };
    auto scalar = [](int32_t v) { return veil::Tensor::FromInt32({1}, {v}); };
    graph->inputs = {value({4, 2})};
    veil::Node* t = node(veil::OpKind::kTranspose, {graph->inputs[0]}, {2, 4});
    t->SetAttr("perm", {1, 0});
    veil::Node* a = node(veil::OpKind::kAdd, {t->outputs[0]}, {2, 4});
    a->SetParam("constant", veil::Tensor::FromInt8({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
    a->SetParam("multiplier_a", scalar(1 << 30));
    a->SetParam("multiplier_b", scalar(1 << 29));
    a->SetParam("shift", scalar(31));
    veil::Node* n = node(veil::OpKind::kLayerNorm, {a->outputs[0]}, {2, 4});
    n->SetParam("gamma", veil::Tensor::FromInt32({4}, {100, 200, 300, 400}));
    n->SetParam("beta", veil::Tensor::FromInt64({4}, {0, 1, 2, 3}));
    n->SetParam("eps", veil::Tensor::FromInt64({1}, {1}));
    n->SetParam("shift", scalar(12));
    veil::Node* l = node(veil::OpKind::kLinear, {n->outputs[0]}, {2, 4});
    l->SetParam("weight", veil::Tensor::FromInt8({4, 4}, std::vector<int8_t>(16, 3)));
    l->SetParam("bias", veil::Tensor::FromInt32({4}, {1, 2, 3, 4}));
    l->SetParam("multiplier", scalar(1 << 30));
    l->SetParam("shift", scalar(33));
    const int lo = l->outputs[0];
    veil::Node* at = node(veil::OpKind::kAttention, {lo, lo, lo}, {2, 4});
    at->SetAttr("heads", {1});
    at->SetParam("score_multiplier", scalar(1 << 30));
    at->SetParam("score_shift", scalar(33));
    at->SetParam("exp_table", veil::Tensor::FromInt32({256}, ExpTable()));
    at->SetParam("multiplier", scalar(1 << 30));
    at->SetParam("shift", scalar(31));
    veil::Node* s = node(veil::OpKind::kSoftmax, {at->outputs[0]}, {2, 4});
    s->SetParam("exp_table", veil::Tensor::FromInt32({256}, ExpTable()));
    const int so = s->outputs[0];
    veil::Node* m = node(veil::OpKind::kMatMul, {so, lo}, {2, 2});
    m->SetAttr("transpose_b", {1});
    m->SetParam("multiplier", scalar(1 << 30));
    m->SetParam("shift", scalar(31));
    graph->outputs = {m->outputs[0]};
    const veil::Status valid = veil::ValidateGraph(*graph);
    if (!valid.ok()) std::fprintf(stderr, "%s\n", valid.ToString().c_str());
    Require(valid.ok(), "fuzz ViT segment graph is valid");
    Require(veil::zk::CheckSegmentProvable(*graph, 0).ok(), "fuzz ViT segment is provable");
    return graph;
  }();
  return *g;
}

void CheckSegmentProof(const uint8_t* data, size_t size, const veil::Graph& graph) {
  veil::Result<veil::zk::SegmentProof> p = veil::zk::ParseSegmentProof({data, size}, graph);
  if (!p.ok()) {
    Require(!p.status().message().empty(), "segment proof error without a message");
    return;
  }
  const std::vector<uint8_t> again = veil::zk::SerializeSegmentProof(*p);
  Require(again.size() == size && std::memcmp(again.data(), data, size) == 0,
          "segment proof does not re-serialize to its bytes");
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
  CheckImageOpProofs(data, size);
  CheckVitOpProofs(data, size);
  CheckSegmentProof(data, size, SegmentGraph());
  CheckSegmentProof(data, size, VitGraph());
  return 0;
}
