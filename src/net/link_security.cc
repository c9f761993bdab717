#include "veil/net/link_security.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "credentials.h"

namespace veil::net {
namespace {

#define kTlsServerName "veil-node"

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// Peer identity check run by gRPC after the TLS handshake, on both ends.
class Ed25519PeerVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit Ed25519PeerVerifier(PeerCheck check) : check_(std::move(check)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const grpc::string_ref cert = request->peer_cert();
    auto key = Ed25519KeyFromCertificate(std::string(cert.data(), cert.size()));
    if (!key.ok()) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "peer certificate refused: " + key.status().message());
    } else if (!check_ || !check_(*key)) {
      *sync_status = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          "peer key " + PublicKeyHex(*key).substr(0, 16) + "... is not a registered veil node");
    } else {
      *sync_status = grpc::Status::OK;
    }
    return true;  // synchronous
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  PeerCheck check_;
};

std::shared_ptr<grpc::experimental::StaticDataCertificateProvider> Provider(const LinkSecurity& s) {
  std::vector<grpc::experimental::IdentityKeyCertPair> pairs = {
      {s.private_key_pem, s.certificate_pem}};
  return std::make_shared<grpc::experimental::StaticDataCertificateProvider>(pairs);
}

}  // namespace

std::string PublicKeyHex(const PublicKey& key) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

LinkSecurity LinkSecurity::Insecure() { return LinkSecurity{}; }

Result<LinkSecurity> LinkSecurity::MutualTls(const std::array<uint8_t, 32>& seed,
                                             PeerCheck peer_allowed) {
  if (!peer_allowed) return Status::InvalidArgument("mutual TLS needs a peer check");
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (key == nullptr) return Status::Internal("OpenSSL: cannot load the Ed25519 key");
  LinkSecurity s;
  size_t len = s.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), s.public_key.data(), &len) != 1 || len != 32)
    return Status::Internal("OpenSSL: cannot derive the Ed25519 public key");
  X509Ptr cert(X509_new());
  if (cert == nullptr) return Status::Internal("OpenSSL: X509_new failed");
  const std::string cn = "veil-node-" + PublicKeyHex(s.public_key).substr(0, 32);
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
            X509_set_pubkey(cert.get(), key.get()) == 1;
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok && name != nullptr &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(cert.get(), name) == 1;
  // The name every client asks for (ApplyChannelArguments), so the server's certificate
  // selection matches; identity is checked by key, never by name.
  if (ok) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:" kTlsServerName);
    ok = san != nullptr && X509_add_ext(cert.get(), san, -1) == 1;
    if (san != nullptr) X509_EXTENSION_free(san);
  }
  ok = ok && X509_sign(cert.get(), key.get(), nullptr) > 0;  // Ed25519: no separate digest
  if (!ok) return Status::Internal("OpenSSL: cannot build the node certificate");
  BioPtr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  if (cert_bio == nullptr || key_bio == nullptr ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1)
    return Status::Internal("OpenSSL: cannot encode the node certificate");
  s.certificate_pem = BioToString(cert_bio.get());
  s.private_key_pem = BioToString(key_bio.get());
  s.peer_allowed = std::move(peer_allowed);
  return s;
}

Result<PublicKey> Ed25519KeyFromCertificate(const std::string& pem) {
  if (pem.empty() || pem.size() > 64 * 1024) return Status::InvalidArgument("no certificate");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return Status::Internal("OpenSSL: BIO_new_mem_buf failed");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return Status::InvalidArgument("not a PEM X.509 certificate");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
    return Status::InvalidArgument("certificate key is not Ed25519");
  if (X509_verify(cert.get(), key) != 1)
    return Status::InvalidArgument("certificate self-signature does not verify");
  PublicKey out{};
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size())
    return Status::InvalidArgument("cannot read the Ed25519 public key");
  return out;
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const LinkSecurity& s) {
  if (!s.is_tls()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(s));
  options.watch_identity_key_cert_pairs();
  // No CA: the custom verifier checks the peer's Ed25519 key instead (see header).
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<Ed25519PeerVerifier>(s.peer_allowed));
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const LinkSecurity& s) {
  if (!s.is_tls()) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(Provider(s));
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<Ed25519PeerVerifier>(s.peer_allowed));
  return grpc::experimental::TlsServerCredentials(options);
}

void ApplyChannelArguments(const LinkSecurity& s, grpc::ChannelArguments* args) {
  // Self-signed certificates carry no host name; the verifier checks the key instead.
  if (s.is_tls()) args->SetSslTargetNameOverride(kTlsServerName);
}

}  // namespace veil::net
