// The gRPC port's credentials from the configuration: plaintext, TLS, or TLS that requires and
// verifies client certificates (mTLS, tls.client_ca_file).
//
// The files are checked at start (each readable PEM, the key matching the certificate), so a
// bad file fails the start naming it. Afterwards gRPC reads them again every
// tls.reload_interval: a renewed certificate applies to new connections without a restart,
// and a renewal caught half-written (a key that does not match) is ignored until it is whole.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "services/server/config.h"

namespace hotpath {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const ServerConfig& config);

}  // namespace hotpath
