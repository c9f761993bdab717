// veil.v1.She on an in-process NodeServer: the node evaluates exactly the accumulators of
// docs/arithmetic.md on ciphertexts; it holds only the Galois keys it was sent; every
// malformed key upload or evaluation request gets a clear error (never a crash), including
// a secret key, a public key or a ciphertext sent in place of Galois keys.
#include "veil/she/service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <random>

#include "onnx/shipped_models.h"
#include "veil/he/serialize.h"
#include "veil/model_file.h"
#include "veil/net/node_server.h"
#include "veil/segmenter.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {
namespace {

std::string Str(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }
std::string Str(const Digest& d) { return std::string(d.begin(), d.end()); }

class SheServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto graph = testing::ImportShipped("mlp");
    ASSERT_TRUE(graph.ok());
    ASSERT_TRUE(SplitIntoSegments(&*graph, 3).ok());
    graph_ = new Graph(std::move(*graph));
    // The last node is the 128 -> 10 Linear: the smallest layer (few Galois keys).
    const auto segs = graph_->EffectiveSegments();
    last_seg_ = static_cast<int>(segs.size()) - 1;
    last_layer_ = static_cast<int>(graph_->nodes.size()) - 1 - segs.back().begin;
    ASSERT_EQ(graph_->nodes.back().kind, OpKind::kLinear);
    ASSERT_EQ(graph_->nodes.front().kind, OpKind::kReshape);
    auto segments = ExtractSegments(*graph_, {0, 1, 2});
    ASSERT_TRUE(segments.ok());
    auto service = SheService::Create(*segments);
    ASSERT_TRUE(service.ok());
    service_ = service->release();
    net::NodeServerOptions options;
    options.segments = {0, 1, 2};
    options.extra_services.push_back(service_->Registrar());
    auto server = net::NodeServer::Start(*graph_, options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();

    ctx_ = new std::shared_ptr<const he::Context>(*MakeSheContext(SheParams::kN8192));
    keygen_ = new he::KeyGenerator(*he::KeyGenerator::Create(*ctx_));
    auto layer = MakeSheLayer(*ctx_, *graph_, static_cast<int>(graph_->nodes.size()) - 1, false);
    ASSERT_TRUE(layer.ok());
    steps_ = new std::vector<int>(layer->linear().RequiredGaloisSteps());
    auto gk = keygen_->CreateGaloisKeysForSteps(*steps_, false);
    ASSERT_TRUE(gk.ok());
    galois_ = new std::string(Str(*he::SerializeGaloisKeys(**ctx_, *gk)));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete service_;
    delete galois_;
    delete steps_;
    delete keygen_;
    delete ctx_;
    delete graph_;
  }

  std::unique_ptr<v1::She::Stub> Stub() {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    return v1::She::NewStub(
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
  }

  grpc::Status Upload(const v1::SheUploadKeysRequest& req, v1::SheUploadKeysReply* reply) {
    grpc::ClientContext c;
    return Stub()->UploadKeys(&c, req, reply);
  }
  grpc::Status Eval(const v1::SheEvaluateRequest& req, v1::SheEvaluateReply* reply) {
    grpc::ClientContext c;
    return Stub()->Evaluate(&c, req, reply);
  }

  static v1::SheUploadKeysRequest UploadRequest(const std::string& blob) {
    v1::SheUploadKeysRequest req;
    req.set_version(1);
    req.set_param_set(v1::SHE_PARAM_SET_N8192);
    req.set_galois_keys(blob);
    return req;
  }

  std::string KeyId() {
    v1::SheUploadKeysReply reply;
    grpc::Status s = Upload(UploadRequest(*galois_), &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.key_id();
  }

  // A valid request for the last Linear on `x` (batch 1).
  v1::SheEvaluateRequest EvalRequest(const std::string& key_id, const std::vector<int8_t>& x) {
    v1::SheEvaluateRequest req;
    req.set_version(1);
    req.set_request_id("t-1");
    req.set_key_id(key_id);
    req.set_model_digest(Str(ModelDigest(*graph_)));
    req.set_segment_index(static_cast<uint32_t>(last_seg_));
    req.set_segment_digest(Str(SegmentDigest(*graph_, last_seg_)));
    req.set_layer(static_cast<uint32_t>(last_layer_));
    req.set_batch(1);
    auto layer = MakeSheLayer(*ctx_, *graph_, static_cast<int>(graph_->nodes.size()) - 1, false);
    auto encoder = he::BatchEncoder::Create(*ctx_);
    auto enc = he::Encryptor::Create(*ctx_, keygen_->secret_key());
    auto plains = layer->dense->EncodeInputs(*encoder, {x});
    EXPECT_TRUE(plains.ok());
    for (const auto& p : *plains)
      req.add_inputs(Str(*he::SerializeCiphertext(**ctx_, *enc->EncryptSymmetric(p))));
    return req;
  }

  static std::vector<int8_t> Input() {
    std::vector<int8_t> x(128);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>((i * 37 % 255) - 127);
    return x;
  }

  static void ExpectError(const grpc::Status& s, grpc::StatusCode code, const std::string& text) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find(text), std::string::npos)
        << "'" << s.error_message() << "' lacks '" << text << "'";
  }

  static Graph* graph_;
  static int last_seg_, last_layer_;
  static SheService* service_;
  static net::NodeServer* server_;
  static std::shared_ptr<const he::Context>* ctx_;
  static he::KeyGenerator* keygen_;
  static std::vector<int>* steps_;
  static std::string* galois_;
};

Graph* SheServiceTest::graph_ = nullptr;
int SheServiceTest::last_seg_ = 0;
int SheServiceTest::last_layer_ = 0;
SheService* SheServiceTest::service_ = nullptr;
net::NodeServer* SheServiceTest::server_ = nullptr;
std::shared_ptr<const he::Context>* SheServiceTest::ctx_ = nullptr;
he::KeyGenerator* SheServiceTest::keygen_ = nullptr;
std::vector<int>* SheServiceTest::steps_ = nullptr;
std::string* SheServiceTest::galois_ = nullptr;

TEST_F(SheServiceTest, EvaluatesExactAccumulatorsAndHoldsOnlyGaloisKeys) {
  const std::string key_id = KeyId();
  ASSERT_EQ(key_id.size(), 32u);
  const std::vector<int8_t> x = Input();
  v1::SheEvaluateReply reply;
  grpc::Status s = Eval(EvalRequest(key_id, x), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(reply.outputs_size(), 1);
  auto ct = he::DeserializeCiphertext(
      **ctx_, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(reply.outputs(0).data()),
                                       reply.outputs(0).size()));
  ASSERT_TRUE(ct.ok());
  auto dec = he::Decryptor::Create(*ctx_, keygen_->secret_key());
  auto plain = dec->Decrypt(*ct);
  ASSERT_TRUE(plain.ok());
  auto encoder = he::BatchEncoder::Create(*ctx_);
  auto layer = MakeSheLayer(*ctx_, *graph_, static_cast<int>(graph_->nodes.size()) - 1, false);
  auto acc = layer->dense->DecodeOutputs(*encoder, *plain, 1);
  ASSERT_TRUE(acc.ok());
  const Node& node = graph_->nodes.back();
  const auto w = node.FindParam("weight")->i8();
  const auto b = node.FindParam("bias")->i32();
  for (size_t n = 0; n < 10; ++n) {
    int64_t want = b[n];
    for (size_t k = 0; k < 128; ++k) want += int64_t{x[k]} * w[n * 128 + k];
    EXPECT_EQ((*acc)[0][n], want) << "output " << n;
  }
  // What the node keeps: one key set of Galois keys for exactly the uploaded steps.
  const auto held = service_->HeldKeys();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(std::string(held[0].key_id.begin(), held[0].key_id.end()), key_id);
  EXPECT_EQ(held[0].params_id, (*ctx_)->params_id());
  EXPECT_EQ(held[0].encoded_bytes, galois_->size());
  std::vector<uint32_t> elts;
  for (int step : *steps_) elts.push_back(*he::GaloisEltForRowRotation((*ctx_)->n(), step));
  std::sort(elts.begin(), elts.end());
  EXPECT_EQ(held[0].galois_elts, elts);
}

TEST_F(SheServiceTest, RefusesAnythingButGaloisKeys) {
  v1::SheUploadKeysReply reply;
  const auto& sk = keygen_->secret_key();
  ExpectError(Upload(UploadRequest(Str(*he::SerializeSecretKey(**ctx_, sk))), &reply),
              grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  ExpectError(
      Upload(UploadRequest(Str(*he::SerializePublicKey(**ctx_, *keygen_->CreatePublicKey()))),
             &reply),
      grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  ExpectError(
      Upload(UploadRequest(Str(*he::SerializeRelinKeys(**ctx_, *keygen_->CreateRelinKeys()))),
             &reply),
      grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  auto req = UploadRequest(*galois_);
  req.set_version(2);
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "version");
  req = UploadRequest(*galois_);
  req.set_param_set(v1::SHE_PARAM_SET_UNSPECIFIED);
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "param_set");
  req.set_param_set(static_cast<v1::SheParamSet>(7));
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "param_set");
  // Keys made for N8192 announced as N16384: the params_id does not match.
  req = UploadRequest(*galois_);
  req.set_param_set(v1::SHE_PARAM_SET_N16384);
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  for (size_t cut :
       {size_t{0}, size_t{7}, size_t{16}, size_t{100}, galois_->size() / 2, galois_->size() - 1}) {
    ExpectError(Upload(UploadRequest(galois_->substr(0, cut)), &reply),
                grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  }
  ExpectError(Upload(UploadRequest(*galois_ + "x"), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "galois_keys");
  // None of these was kept.
  for (const auto& h : service_->HeldKeys()) EXPECT_EQ(h.encoded_bytes, galois_->size());
}

TEST_F(SheServiceTest, RejectsMalformedEvaluations) {
  const std::string key_id = KeyId();
  const v1::SheEvaluateRequest good = EvalRequest(key_id, Input());
  v1::SheEvaluateReply reply;
  using C = grpc::StatusCode;
  auto with = [&](auto edit) {
    v1::SheEvaluateRequest r = good;
    edit(r);
    return Eval(r, &reply);
  };
  ExpectError(with([](auto& r) { r.set_version(0); }), C::INVALID_ARGUMENT, "version");
  ExpectError(with([](auto& r) { r.set_request_id("bad id!"); }), C::INVALID_ARGUMENT,
              "request_id");
  ExpectError(with([](auto& r) { r.set_key_id(r.key_id().substr(1)); }), C::INVALID_ARGUMENT,
              "key_id");
  ExpectError(with([](auto& r) { r.set_key_id(std::string(32, 'k')); }), C::FAILED_PRECONDITION,
              "upload the keys");
  ExpectError(with([](auto& r) { r.set_model_digest(std::string(32, 'm')); }), C::NOT_FOUND,
              "not hosted");
  ExpectError(with([](auto& r) { r.set_model_digest("short"); }), C::INVALID_ARGUMENT,
              "model_digest");
  ExpectError(with([](auto& r) { r.set_segment_index(9); }), C::NOT_FOUND, "segment 9");
  ExpectError(with([](auto& r) { r.set_segment_digest(std::string(32, 's')); }),
              C::INVALID_ARGUMENT, "segment_digest");
  ExpectError(with([](auto& r) { r.set_layer(1000); }), C::INVALID_ARGUMENT, "out of range");
  ExpectError(with([&](auto& r) {
                r.set_segment_index(0);
                r.set_segment_digest(Str(SegmentDigest(*graph_, 0)));
                r.set_layer(0);  // the Reshape
              }),
              C::INVALID_ARGUMENT, "not a Linear or Conv2d");
  ExpectError(with([](auto& r) { r.set_batch(0); }), C::INVALID_ARGUMENT, "batch 0");
  ExpectError(with([](auto& r) { r.set_batch(1u << 30); }), C::INVALID_ARGUMENT, "batch");
  ExpectError(with([](auto& r) { r.add_inputs(r.inputs(0)); }), C::INVALID_ARGUMENT,
              "ciphertext(s), got 2");
  ExpectError(with([](auto& r) { r.clear_inputs(); }), C::INVALID_ARGUMENT, "input ciphertexts");
  const std::string ct = good.inputs(0);
  for (size_t cut : {size_t{0}, size_t{15}, size_t{16}, size_t{40}, ct.size() / 2, ct.size() - 1})
    ExpectError(with([&](auto& r) { r.set_inputs(0, ct.substr(0, cut)); }), C::INVALID_ARGUMENT,
                "inputs[0]");
  ExpectError(with([&](auto& r) { r.set_inputs(0, ct + "tail"); }), C::INVALID_ARGUMENT,
              "inputs[0]");
  // A ciphertext under the N16384 parameters.
  {
    auto ctx16 = MakeSheContext(SheParams::kN16384);
    ASSERT_TRUE(ctx16.ok());
    auto kg16 = he::KeyGenerator::Create(*ctx16);
    auto enc16 = he::Encryptor::Create(*ctx16, kg16->secret_key());
    he::Plaintext p{(*ctx16)->params_id(), std::vector<uint64_t>((*ctx16)->n(), 1)};
    ExpectError(with([&](auto& r) {
                  r.set_inputs(0,
                               Str(*he::SerializeCiphertext(**ctx16, *enc16->EncryptSymmetric(p))));
                }),
                C::INVALID_ARGUMENT, "inputs[0]");
  }
  // A size-3 ciphertext (an unrelinearized product) is refused.
  {
    auto ev = he::Evaluator::Create(*ctx_);
    auto enc = he::Encryptor::Create(*ctx_, keygen_->secret_key());
    he::Plaintext p{(*ctx_)->params_id(), std::vector<uint64_t>((*ctx_)->n(), 2)};
    auto a = enc->EncryptSymmetric(p);
    auto prod = ev->Multiply(*a, *a);
    ASSERT_TRUE(prod.ok());
    ExpectError(
        with([&](auto& r) { r.set_inputs(0, Str(*he::SerializeCiphertext(**ctx_, *prod))); }),
        C::INVALID_ARGUMENT, "size-2");
  }
  // Keys lacking a rotation the layer needs.
  {
    auto gk = keygen_->CreateGaloisKeysForSteps({(*steps_)[0]}, false);
    v1::SheUploadKeysReply up;
    ASSERT_TRUE(Upload(UploadRequest(Str(*he::SerializeGaloisKeys(**ctx_, *gk))), &up).ok());
    grpc::Status s = with([&](auto& r) { r.set_key_id(up.key_id()); });
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.error_code(), C::INTERNAL) << s.error_message();
    EXPECT_NE(s.error_message().find("key"), std::string::npos) << s.error_message();
  }
  // Random byte corruptions of the ciphertext: an error or a (garbage) result, never a crash.
  std::mt19937_64 rng(6);
  for (int i = 0; i < 60; ++i) {
    std::string bad = ct;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    grpc::Status s = with([&](auto& r) { r.set_inputs(0, bad); });
    EXPECT_TRUE(s.ok() || s.error_code() == C::INVALID_ARGUMENT) << s.error_message();
  }
  // The good request still works.
  EXPECT_TRUE(Eval(good, &reply).ok());
}

}  // namespace
}  // namespace veil::she
