// SHE non-interactive mode (CKKS) on in-process She services: two CKKS-only nodes
// (SheServer) evaluate the shipped polymlp as layer ranges [0, 2) and [2, 3); the key
// holder (CkksSheRunner) relays the ciphertext without decrypting and gets the plain
// model's classes. Every malformed key upload or CKKS evaluation request gets a clear error:
// a secret key, a public key or BFV keys sent as CKKS evaluation keys, relinearization keys
// on the BFV path, truncated / extended / corrupted / wrong-level ciphertexts, unknown or
// BFV key ids, unhosted models and ranges, a missing relinearization key.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "onnx/shipped_models.h"
#include "veil/he/serialize.h"
#include "veil/she/ckks_client.h"
#include "veil/she/server.h"
#include "veil/she/service.h"
#include "veil/v1/she.grpc.pb.h"

namespace veil::she {
namespace {

std::string Str(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }
std::string Str(const Digest& d) { return std::string(d.begin(), d.end()); }

struct CkksNode {
  std::unique_ptr<SheService> service;
  std::unique_ptr<SheServer> server;
};

CkksNode StartCkksNode(std::shared_ptr<const he::CkksNetworkSpec> spec, size_t first, size_t last) {
  CkksNode n;
  SheServiceOptions options;
  options.ckks_segments.push_back({std::move(spec), first, last});
  auto service = SheService::Create({}, options);
  EXPECT_TRUE(service.ok()) << service.status().ToString();
  n.service = std::move(service).value();
  SheServerOptions so;
  so.services.push_back(n.service->Registrar());
  auto server = SheServer::Start(so);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  n.server = std::move(server).value();
  return n;
}

class SheCkksServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto spec = LoadCkksModel(testing::ModelDir("polymlp") + "/polymlp.onnx");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    spec_ = new std::shared_ptr<const he::CkksNetworkSpec>(*spec);
    a_ = new CkksNode(StartCkksNode(*spec, 0, 2));
    b_ = new CkksNode(StartCkksNode(*spec, 2, 3));
    ctx_ = new std::shared_ptr<const he::Context>(*MakeSheCkksContext(SheParams::kN8192));
    keygen_ = new he::KeyGenerator(*he::KeyGenerator::Create(*ctx_));
    net_ = new std::shared_ptr<const he::CkksNetwork>(*he::CkksNetwork::Create(*ctx_, **spec));
    auto gk = keygen_->CreateGaloisKeysForSteps(*(*net_)->RequiredGaloisSteps(0, 2), false);
    ASSERT_TRUE(gk.ok());
    galois_ = new std::string(Str(*he::SerializeGaloisKeys(**ctx_, *gk)));
    relin_ = new std::string(Str(*he::SerializeRelinKeys(**ctx_, *keygen_->CreateRelinKeys())));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete relin_;
    delete galois_;
    delete net_;
    delete keygen_;
    delete ctx_;
    delete spec_;
  }

  static std::unique_ptr<v1::She::Stub> Stub(const CkksNode& n) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    return v1::She::NewStub(
        grpc::CreateCustomChannel(n.server->address(), grpc::InsecureChannelCredentials(), args));
  }
  static grpc::Status Upload(const v1::SheUploadKeysRequest& req, v1::SheUploadKeysReply* reply) {
    grpc::ClientContext c;
    return Stub(*a_)->UploadKeys(&c, req, reply);
  }
  static grpc::Status Eval(const v1::SheCkksEvaluateRequest& req, v1::SheCkksEvaluateReply* reply) {
    grpc::ClientContext c;
    return Stub(*a_)->EvaluateCkks(&c, req, reply);
  }
  static v1::SheUploadKeysRequest UploadRequest(const std::string& galois,
                                                const std::string& relin) {
    v1::SheUploadKeysRequest req;
    req.set_version(1);
    req.set_param_set(v1::SHE_PARAM_SET_N8192);
    req.set_scheme(v1::SHE_SCHEME_CKKS);
    req.set_galois_keys(galois);
    req.set_relin_keys(relin);
    return req;
  }
  static std::string KeyId(const std::string& relin) {
    v1::SheUploadKeysReply reply;
    grpc::Status s = Upload(UploadRequest(*galois_, relin), &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.key_id();
  }
  // A fresh encryption of 4 test images at the top level.
  static std::string Input() {
    auto images = testing::FashionTestImages("polymlp", 0, 4);
    EXPECT_TRUE(images.ok());
    std::vector<std::vector<double>> xs(4);
    for (size_t b = 0; b < 4; ++b)
      xs[b].assign(images->floats.begin() + static_cast<ptrdiff_t>(b * 784),
                   images->floats.begin() + static_cast<ptrdiff_t>((b + 1) * 784));
    auto encoder = he::CkksEncoder::Create(*ctx_);
    auto enc = he::CkksEncryptor::Create(*ctx_, keygen_->secret_key());
    auto plain = (*net_)->EncodeInputs(*encoder, xs);
    EXPECT_TRUE(plain.ok());
    return Str(*he::SerializeCkksCiphertext(**ctx_, *enc->EncryptSymmetric(*plain)));
  }
  static v1::SheCkksEvaluateRequest EvalRequest(const std::string& key_id, const std::string& ct) {
    v1::SheCkksEvaluateRequest req;
    req.set_version(1);
    req.set_request_id("ckks-t");
    req.set_key_id(key_id);
    req.set_model_digest(Str(CkksModelDigest(**spec_)));
    req.set_first_layer(0);
    req.set_last_layer(2);
    req.set_input(ct);
    return req;
  }
  static void ExpectError(const grpc::Status& s, grpc::StatusCode code, const std::string& text) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find(text), std::string::npos)
        << "'" << s.error_message() << "' lacks '" << text << "'";
  }

  static std::shared_ptr<const he::CkksNetworkSpec>* spec_;
  static CkksNode *a_, *b_;
  static std::shared_ptr<const he::Context>* ctx_;
  static he::KeyGenerator* keygen_;
  static std::shared_ptr<const he::CkksNetwork>* net_;
  static std::string *galois_, *relin_;
};

std::shared_ptr<const he::CkksNetworkSpec>* SheCkksServiceTest::spec_ = nullptr;
CkksNode* SheCkksServiceTest::a_ = nullptr;
CkksNode* SheCkksServiceTest::b_ = nullptr;
std::shared_ptr<const he::Context>* SheCkksServiceTest::ctx_ = nullptr;
he::KeyGenerator* SheCkksServiceTest::keygen_ = nullptr;
std::shared_ptr<const he::CkksNetwork>* SheCkksServiceTest::net_ = nullptr;
std::string* SheCkksServiceTest::galois_ = nullptr;
std::string* SheCkksServiceTest::relin_ = nullptr;

TEST_F(SheCkksServiceTest, RunnerRelaysEncryptedSegmentsAndMatchesThePlainModel) {
  CkksSheOptions options;
  options.client.security = net::LinkSecurity::Insecure();
  auto runner = CkksSheRunner::Create(
      *spec_, {{0, 2, {a_->server->address()}}, {2, 3, {b_->server->address()}}}, options);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  EXPECT_EQ((*runner)->batch_capacity(), 4u);
  constexpr int64_t kImages = 12;
  auto images = testing::FashionTestImages("polymlp", 0, kImages);
  ASSERT_TRUE(images.ok());
  std::vector<std::vector<double>> xs(kImages);
  for (int64_t b = 0; b < kImages; ++b)
    xs[static_cast<size_t>(b)].assign(images->floats.begin() + b * 784,
                                      images->floats.begin() + (b + 1) * 784);
  auto result = (*runner)->Run(xs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->outputs.size(), static_cast<size_t>(kImages));
  EXPECT_EQ(result->ciphertexts, 3u);
  for (size_t i = 0; i < xs.size(); ++i) {
    auto plain = he::EvaluateSpecPlain(**spec_, xs[i]);
    ASSERT_TRUE(plain.ok());
    for (size_t j = 0; j < plain->size(); ++j)
      EXPECT_LT(std::abs(result->outputs[i][j] - (*plain)[j]), std::ldexp(1.0, -16));
    EXPECT_EQ(std::max_element(result->outputs[i].begin(), result->outputs[i].end()) -
                  result->outputs[i].begin(),
              std::max_element(plain->begin(), plain->end()) - plain->begin());
  }
  ASSERT_EQ(result->hops.size(), 2u);
  EXPECT_EQ(result->hops[0].served_by, a_->server->address());
  EXPECT_EQ(result->hops[1].served_by, b_->server->address());
  // Each node holds one CKKS key set of public evaluation keys: A Galois + relinearization
  // (it squares), B Galois only.
  const auto held_b = b_->service->HeldKeys();
  ASSERT_EQ(held_b.size(), 1u);
  EXPECT_TRUE(held_b[0].ckks);
  EXPECT_FALSE(held_b[0].relin_keys);
  EXPECT_FALSE(held_b[0].galois_elts.empty());
  bool a_has_relin = false;
  for (const auto& h : a_->service->HeldKeys()) a_has_relin |= h.ckks && h.relin_keys;
  EXPECT_TRUE(a_has_relin);
}

TEST_F(SheCkksServiceTest, RefusesSecretPublicAndForeignKeysAsEvaluationKeys) {
  v1::SheUploadKeysReply reply;
  const std::string sk = Str(*he::SerializeSecretKey(**ctx_, keygen_->secret_key()));
  const std::string pk = Str(*he::SerializePublicKey(**ctx_, *keygen_->CreatePublicKey()));
  ExpectError(Upload(UploadRequest(sk, ""), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "galois_keys");
  ExpectError(Upload(UploadRequest(pk, ""), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "galois_keys");
  ExpectError(Upload(UploadRequest(*galois_, sk), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "relin_keys");
  ExpectError(Upload(UploadRequest(*galois_, pk), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "relin_keys");
  ExpectError(Upload(UploadRequest(*relin_, ""), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "galois_keys");
  ExpectError(Upload(UploadRequest("", ""), &reply), grpc::StatusCode::INVALID_ARGUMENT, "no key");
  // BFV keys (another context: params_id) are not CKKS keys.
  auto bfv = MakeSheContext(SheParams::kN8192);
  ASSERT_TRUE(bfv.ok());
  auto bfv_gen = he::KeyGenerator::Create(*bfv);
  const std::string bfv_gk =
      Str(*he::SerializeGaloisKeys(**bfv, *bfv_gen->CreateGaloisKeysForSteps({1}, false)));
  ExpectError(Upload(UploadRequest(bfv_gk, ""), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "galois_keys");
  // Relinearization keys on the BFV path, and an unknown scheme.
  auto req = UploadRequest(bfv_gk, *relin_);
  req.set_scheme(v1::SHE_SCHEME_BFV);
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "BFV exact mode");
  req = UploadRequest(*galois_, "");
  req.set_scheme(static_cast<v1::SheScheme>(7));
  ExpectError(Upload(req, &reply), grpc::StatusCode::INVALID_ARGUMENT, "scheme");
  // A truncated key blob.
  ExpectError(Upload(UploadRequest(galois_->substr(0, galois_->size() - 1), ""), &reply),
              grpc::StatusCode::INVALID_ARGUMENT, "galois_keys");
  // Nothing of the above was stored; what is stored is never a secret.
  for (const auto& h : a_->service->HeldKeys()) EXPECT_TRUE(h.ckks);
}

TEST_F(SheCkksServiceTest, RejectsMalformedCkksEvaluations) {
  const std::string with_relin = KeyId(*relin_);
  const std::string without_relin = KeyId("");
  const std::string ct = Input();
  v1::SheCkksEvaluateReply reply;
  ASSERT_TRUE(Eval(EvalRequest(with_relin, ct), &reply).ok());
  // The output is a valid ciphertext at the level entering layer 2.
  auto out = he::DeserializeCkksCiphertext(
      **ctx_, {reinterpret_cast<const uint8_t*>(reply.output().data()), reply.output().size()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->limbs(), (*net_)->input_limbs(2));

  ExpectError(Eval(EvalRequest(without_relin, ct), &reply), grpc::StatusCode::FAILED_PRECONDITION,
              "relinearization");
  auto r = EvalRequest(std::string(32, 'x'), ct);
  ExpectError(Eval(r, &reply), grpc::StatusCode::FAILED_PRECONDITION, "upload the keys again");
  r = EvalRequest("short", ct);
  ExpectError(Eval(r, &reply), grpc::StatusCode::INVALID_ARGUMENT, "key_id");
  r = EvalRequest(with_relin, ct);
  r.set_model_digest(std::string(32, '\0'));
  ExpectError(Eval(r, &reply), grpc::StatusCode::NOT_FOUND, "not hosted");
  r = EvalRequest(with_relin, ct);
  r.set_last_layer(3);
  ExpectError(Eval(r, &reply), grpc::StatusCode::NOT_FOUND, "not hosted");
  r = EvalRequest(with_relin, ct);
  r.set_request_id("bad id!");
  ExpectError(Eval(r, &reply), grpc::StatusCode::INVALID_ARGUMENT, "request_id");
  r = EvalRequest(with_relin, ct);
  r.set_version(2);
  ExpectError(Eval(r, &reply), grpc::StatusCode::INVALID_ARGUMENT, "version");
  // Truncation, a trailing byte, an empty input, a BFV-kind header.
  ExpectError(Eval(EvalRequest(with_relin, ct.substr(0, ct.size() - 1)), &reply),
              grpc::StatusCode::INVALID_ARGUMENT, "input");
  ExpectError(Eval(EvalRequest(with_relin, ct + "x"), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "input");
  ExpectError(Eval(EvalRequest(with_relin, ""), &reply), grpc::StatusCode::INVALID_ARGUMENT,
              "input");
  // The wrong level: the node's own output fed back in.
  ExpectError(Eval(EvalRequest(with_relin, reply.output().empty()
                                               ? ct
                                               : Str(*he::SerializeCkksCiphertext(**ctx_, *out))),
                   &reply),
              grpc::StatusCode::INVALID_ARGUMENT, "limb");
  // A size-3 ciphertext (a product without relinearization).
  auto ev = he::CkksEvaluator::Create(*ctx_);
  auto fresh = he::DeserializeCkksCiphertext(
      **ctx_, {reinterpret_cast<const uint8_t*>(ct.data()), ct.size()});
  ASSERT_TRUE(fresh.ok());
  auto sq = ev->Multiply(*fresh, *fresh);
  ASSERT_TRUE(sq.ok()) << sq.status().ToString();
  auto sq_bytes = he::SerializeCkksCiphertext(**ctx_, *sq);
  if (sq_bytes.ok())
    ExpectError(Eval(EvalRequest(with_relin, Str(*sq_bytes)), &reply),
                grpc::StatusCode::INVALID_ARGUMENT, "size");
  // Random corruptions: an error or a valid evaluation, never a crash.
  std::mt19937 rng(11);
  for (int i = 0; i < 20; ++i) {
    std::string bad = ct;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    grpc::Status s = Eval(EvalRequest(with_relin, bad), &reply);
    if (!s.ok()) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    }
  }
  // A BFV key set cannot be used for CKKS and the node still serves.
  ASSERT_TRUE(Eval(EvalRequest(with_relin, ct), &reply).ok());
}

TEST(SheCkksRoute, ParsesAndRefusesRoutes) {
  auto hops = ParseCkksRoute("0:2=127.0.0.1:5|127.0.0.1:6,2:3=[::1]:7");
  ASSERT_TRUE(hops.ok()) << hops.status().ToString();
  ASSERT_EQ(hops->size(), 2u);
  EXPECT_EQ((*hops)[0].addresses.size(), 2u);
  EXPECT_EQ((*hops)[1].first, 2u);
  for (const char* bad : {"", "0:2", "2:2=h:1", "0:2=h", "0:2=:5", "a:b=h:1", "0:2=h:1,"})
    EXPECT_FALSE(ParseCkksRoute(bad).ok()) << bad;
  auto spec = LoadCkksModel(testing::ModelDir("polymlp") + "/polymlp.onnx");
  ASSERT_TRUE(spec.ok());
  // The hops must tile the model's layers in order.
  for (const char* bad : {"0:2=h:1", "0:1=h:1,2:3=h:1", "1:3=h:1", "0:2=h:1,2:4=h:1"})
    EXPECT_FALSE(CkksSheRunner::Create(*spec, *ParseCkksRoute(bad)).ok()) << bad;
  EXPECT_TRUE(CkksSheRunner::Create(*spec, *ParseCkksRoute("0:3=h:1")).ok());
  // A node refuses ranges outside the model.
  SheServiceOptions options;
  options.ckks_segments.push_back({*spec, 2, 4});
  EXPECT_FALSE(SheService::Create({}, options).ok());
}

}  // namespace
}  // namespace veil::she
