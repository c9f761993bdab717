// gRPC credentials for a LinkSecurity (internal to the net module).
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <memory>

#include "veil/net/link_security.h"

namespace veil::net {

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const LinkSecurity& security);
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const LinkSecurity& security);
void ApplyChannelArguments(const LinkSecurity& security, grpc::ChannelArguments* args);

}  // namespace veil::net
