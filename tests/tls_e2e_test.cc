// TLS on the gRPC port, end to end: certificates made by the openssl command, the real
// hotpathd serving TLS and mTLS (a client certificate mapped to an identity of the access
// file), and a certificate renewed on disk taking effect without a restart.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "services/auth/access_rules.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  std::filesystem::rename(temp, path);
}

// Runs the openssl command; fails the test with its output if it fails.
void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Spawn(argv);
  ASSERT_TRUE(process.ok()) << process.status();
  const std::optional<int> code = (*process)->Wait(absl::Seconds(60));
  ASSERT_EQ(code, 0) << (*process)->stderr_text();
}

// A CA, and certificates it signs, in a directory: <name>.pem and <name>.key.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}

  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=" + name, "-keyout", Path(name, "key"), "-out",
             Path(name, "pem")});
  }

  // A certificate for `common_name` signed by `ca`, with `san` ("IP:127.0.0.1,DNS:localhost").
  void MakeCert(const std::string& name, const std::string& ca, const std::string& common_name,
                const std::string& san) {
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
             "/CN=" + common_name, "-keyout", Path(name, "key"), "-out", Path(name, "csr")});
    std::ofstream(Path(name, "ext")) << "subjectAltName=" << san << "\n";
    Openssl({"x509", "-req", "-in", Path(name, "csr"), "-CA", Path(ca, "pem"), "-CAkey",
             Path(ca, "key"), "-set_serial", absl::StrCat(++serial_), "-days", "2", "-extfile",
             Path(name, "ext"), "-out", Path(name, "pem")});
  }

  std::string Path(const std::string& name, const std::string& extension) const {
    return absl::StrCat(dir_, "/", name, ".", extension);
  }
  std::string Pem(const std::string& name) const { return Read(Path(name, "pem")); }
  std::string Key(const std::string& name) const { return Read(Path(name, "key")); }

 private:
  std::string dir_;
  int serial_ = 0;
};

// `reconnect_backoff_ms` 0 keeps gRPC's reconnect backoff.
std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address, const std::string& root_pem,
                                          const std::string& client_key = "",
                                          const std::string& client_pem = "",
                                          int reconnect_backoff_ms = 0) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = root_pem;
  options.pem_private_key = client_key;
  options.pem_cert_chain = client_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  // A fresh connection (and handshake) per channel, never one shared with an earlier channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (reconnect_backoff_ms > 0) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, reconnect_backoff_ms);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, reconnect_backoff_ms);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, reconnect_backoff_ms);
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

grpc::Status Ping(const std::shared_ptr<grpc::Channel>& channel, const std::string& key = "") {
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
  hotpath::admin::v1::PingResponse pong;
  return admin->Ping(&context, hotpath::admin::v1::PingRequest(), &pong);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("tls");
    pki_ = std::make_unique<Pki>(dir_);
    pki_->MakeCa("ca");
    pki_->MakeCert("server", "ca", "localhost", "IP:127.0.0.1,DNS:localhost");
    // The files hotpathd reads; a renewal replaces them.
    Write(dir_ + "/tls.pem", pki_->Pem("server"));
    Write(dir_ + "/tls.key", pki_->Key("server"));
  }

  std::vector<std::string> Args() const {
    return {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
            "--persistence.enabled=false", "--tls.cert_file=" + dir_ + "/tls.pem",
            "--tls.key_file=" + dir_ + "/tls.key"};
  }

  std::string dir_;
  std::unique_ptr<Pki> pki_;
  HotpathdProcess process_;
};

TEST_F(TlsTest, ServesTlsOnlyAndARenewedCertificateAppliesWithoutARestart) {
  std::vector<std::string> args = Args();
  args.push_back("--tls.reload_interval=1s");
  ASSERT_TRUE(process_.Start(args)) << process_.last_output();

  EXPECT_TRUE(Ping(TlsChannel(process_.grpc_address(), pki_->Pem("ca"))).ok());
  // Plaintext gets no answer from a TLS port.
  const grpc::Status plaintext =
      Ping(grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Nor does a client that trusts another CA.
  pki_->MakeCa("ca2");
  EXPECT_EQ(Ping(TlsChannel(process_.grpc_address(), pki_->Pem("ca2"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // Renewal: a certificate from ca2 replaces the files. New connections get it once hotpathd
  // has read the files again; until then they keep getting the old one.
  pki_->MakeCert("renewed", "ca2", "localhost", "IP:127.0.0.1,DNS:localhost");
  Write(dir_ + "/tls.key", pki_->Key("renewed"));
  Write(dir_ + "/tls.pem", pki_->Pem("renewed"));
  // One channel that trusts only ca2 connects once hotpathd has taken up the renewal: gRPC
  // retries the handshake on its reconnect backoff (kept short here), each time against the
  // certificate the server holds then.
  auto renewed = TlsChannel(process_.grpc_address(), pki_->Pem("ca2"), "", "",
                            /*reconnect_backoff_ms=*/200);
  EXPECT_TRUE(
      renewed->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)))
      << "the renewed certificate was never served";
  EXPECT_TRUE(Ping(renewed).ok());
  EXPECT_EQ(Ping(TlsChannel(process_.grpc_address(), pki_->Pem("ca"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateAndMapsItToAnIdentity) {
  pki_->MakeCa("clients");
  pki_->MakeCert("billing", "clients", "billing.internal", "DNS:billing.internal");
  pki_->MakeCert("stranger", "clients", "stranger.internal", "DNS:stranger.internal");
  pki_->MakeCert("forged", "ca", "billing.internal", "DNS:billing.internal");  // wrong CA
  const std::string access = dir_ + "/access.yaml";
  Write(access, absl::StrCat("identities:\n"
                             "  - id: billing\n"
                             "    name: billing.internal\n"
                             "    scopes: [session:write]\n"
                             "    namespaces: [billing]\n"
                             "keys:\n"
                             "  - id: ops\n"
                             "    sha256: ",
                             auth::KeySha256Hex("hp-ops-key"),
                             "\n    scopes: ['*']\n    namespaces: ['*']\n"));
  std::vector<std::string> args = Args();
  args.push_back("--tls.client_ca_file=" + pki_->Path("clients", "pem"));
  args.push_back("--auth.access_file=" + access);
  ASSERT_TRUE(process_.Start(args)) << process_.last_output();
  const std::string& address = process_.grpc_address();

  // No certificate, or one from a CA the server does not trust: no connection at all.
  EXPECT_EQ(Ping(TlsChannel(address, pki_->Pem("ca"))).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Ping(TlsChannel(address, pki_->Pem("ca"), pki_->Key("forged"), pki_->Pem("forged")))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The billing certificate is the billing identity: its scope, its namespace.
  auto billing = TlsChannel(address, pki_->Pem("ca"), pki_->Key("billing"), pki_->Pem("billing"));
  auto sessions = hotpath::session::v1::SessionService::NewStub(billing);
  auto create = [&](const std::string& ns) {
    grpc::ClientContext context;
    hotpath::session::v1::CreateRequest request;
    request.set_namespace_(ns);
    request.set_user_id("u1");
    hotpath::session::v1::CreateResponse response;
    return sessions->Create(&context, request, &response);
  };
  EXPECT_TRUE(create("billing").ok());
  const grpc::Status elsewhere = create("shop");
  EXPECT_EQ(elsewhere.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(elsewhere.error_message(), HasSubstr("identity \"billing\""));
  EXPECT_EQ(Ping(billing).error_code(), grpc::StatusCode::OK);  // any valid credentials
  {
    auto admin = hotpath::admin::v1::AdminService::NewStub(billing);
    grpc::ClientContext context;
    hotpath::admin::v1::GetInfoResponse info;
    EXPECT_EQ(admin->GetInfo(&context, {}, &info).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // A trusted certificate that names no identity still needs a key.
  auto stranger =
      TlsChannel(address, pki_->Pem("ca"), pki_->Key("stranger"), pki_->Pem("stranger"));
  EXPECT_EQ(Ping(stranger).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Ping(stranger, "hp-ops-key").ok());
}

TEST_F(TlsTest, BadCertificateFilesStopTheStartNamingThem) {
  pki_->MakeCert("other", "ca", "localhost", "DNS:localhost");
  std::vector<std::string> args = Args();
  args.back() = "--tls.key_file=" + pki_->Path("other", "key");  // not the key of tls.pem
  auto mismatched = HotpathdProcess::RunToExit(args);
  ASSERT_TRUE(mismatched.has_value());
  EXPECT_NE(mismatched->exit_code, 0);
  EXPECT_THAT(mismatched->stderr_text, HasSubstr("tls.key_file"));
  EXPECT_THAT(mismatched->stderr_text, HasSubstr("is not the key of"));

  args = Args();
  args[3] = "--tls.cert_file=" + dir_ + "/missing.pem";
  auto missing = HotpathdProcess::RunToExit(args);
  ASSERT_TRUE(missing.has_value());
  EXPECT_NE(missing->exit_code, 0);
  EXPECT_THAT(missing->stderr_text, HasSubstr("tls.cert_file: cannot read"));
}

}  // namespace
}  // namespace hotpath
