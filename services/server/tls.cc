#include "services/server/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/common/status_macros.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace hotpath {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

absl::StatusOr<std::unique_ptr<BIO, BioFree>> Open(const std::string& path, const char* option) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read ", path));
  }
  return bio;
}

// The first certificate of a PEM file; InvalidArgument naming the option and file if none.
absl::StatusOr<std::unique_ptr<X509, X509Free>> FirstCertificate(const std::string& path,
                                                                 const char* option) {
  HP_ASSIGN_OR_RETURN(auto bio, Open(path, option));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": ", path, " holds no PEM certificate"));
  }
  return cert;
}

absl::Status CheckFiles(const ServerConfig& config) {
  HP_ASSIGN_OR_RETURN(auto cert, FirstCertificate(config.tls_cert_file, "tls.cert_file"));
  HP_ASSIGN_OR_RETURN(auto key_bio, Open(config.tls_key_file, "tls.key_file"));
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls.key_file: ", config.tls_key_file, " holds no PEM private key (or it is encrypted)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("tls.key_file: ", config.tls_key_file,
                                                   " is not the key of ", config.tls_cert_file));
  }
  if (!config.tls_client_ca_file.empty()) {
    HP_RETURN_IF_ERROR(FirstCertificate(config.tls_client_ca_file, "tls.client_ca_file").status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const ServerConfig& config) {
  if (config.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  HP_RETURN_IF_ERROR(CheckFiles(config));
  const auto interval = static_cast<unsigned int>(absl::ToInt64Seconds(config.tls_reload_interval));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key_file, config.tls_cert_file, config.tls_client_ca_file, interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace hotpath
