// Security end to end, on the real hotpathd: every RPC of every service refuses missing or
// wrong credentials, a scope it does not need and a namespace the key was not given, and
// works with the right ones; the access file reloads; TLS and mTLS on the gRPC port, with
// certificates made by the openssl command and renewed while the server runs.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "services/auth/access_rules.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// The scope each RPC needs: the contract docs/security.md states. Every method the server
// registers must be here, so a new RPC cannot go untested.
const std::map<std::string, std::string>& ScopeOfMethod() {
  static const auto* scopes = new std::map<std::string, std::string>{
      {"/hotpath.admin.v1.AdminService/Ping", "authenticated"},
      {"/hotpath.admin.v1.AdminService/GetInfo", "admin:read"},
      {"/hotpath.admin.v1.AdminService/GetSlowlog", "admin:read"},
      {"/hotpath.admin.v1.AdminService/Rewrite", "admin:write"},
      {"/hotpath.admin.v1.AdminService/GetNamespace", "admin:read"},
      {"/grpc.health.v1.Health/Check", "health:check"},
      {"/grpc.health.v1.Health/Watch", "health:check"},
      {"/hotpath.ratelimit.v1.RateLimiterService/Check", "ratelimit:check"},
      {"/hotpath.ratelimit.v1.RateLimiterService/CheckBatch", "ratelimit:check"},
      {"/hotpath.ratelimit.v1.RateLimiterService/Reset", "ratelimit:admin"},
      {"/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit", "ratelimit:check"},
      {"/hotpath.session.v1.SessionService/Create", "session:write"},
      {"/hotpath.session.v1.SessionService/Get", "session:read"},
      {"/hotpath.session.v1.SessionService/Update", "session:write"},
      {"/hotpath.session.v1.SessionService/Rotate", "session:write"},
      {"/hotpath.session.v1.SessionService/Revoke", "session:write"},
      {"/hotpath.session.v1.SessionService/ListUserSessions", "session:read"},
      {"/hotpath.session.v1.SessionService/RevokeUserSessions", "session:admin"},
      {"/hotpath.leaderboard.v1.LeaderboardService/CreateBoard", "leaderboard:admin"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetBoard", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/ListBoards", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/DeleteBoard", "leaderboard:admin"},
      {"/hotpath.leaderboard.v1.LeaderboardService/SubmitScore", "leaderboard:write"},
      {"/hotpath.leaderboard.v1.LeaderboardService/SubmitScores", "leaderboard:write"},
      {"/hotpath.leaderboard.v1.LeaderboardService/RemoveMember", "leaderboard:write"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetTop", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetRank", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetAround", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetRange", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/GetByScore", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/CountByScore", "leaderboard:read"},
      {"/hotpath.leaderboard.v1.LeaderboardService/Watch", "leaderboard:read"},
      {"/hotpath.pubsub.v1.PubSubService/CreateTopic", "pubsub:admin"},
      {"/hotpath.pubsub.v1.PubSubService/GetTopic", "pubsub:subscribe"},
      {"/hotpath.pubsub.v1.PubSubService/ListTopics", "pubsub:subscribe"},
      {"/hotpath.pubsub.v1.PubSubService/DeleteTopic", "pubsub:admin"},
      {"/hotpath.pubsub.v1.PubSubService/Publish", "pubsub:publish"},
      {"/hotpath.pubsub.v1.PubSubService/PublishBatch", "pubsub:publish"},
      {"/hotpath.pubsub.v1.PubSubService/Subscribe", "pubsub:subscribe"},
      {"/hotpath.pubsub.v1.PubSubService/CreateGroup", "pubsub:admin"},
      {"/hotpath.pubsub.v1.PubSubService/GetGroup", "pubsub:subscribe"},
      {"/hotpath.pubsub.v1.PubSubService/ListGroups", "pubsub:subscribe"},
      {"/hotpath.pubsub.v1.PubSubService/DeleteGroup", "pubsub:admin"},
      {"/hotpath.pubsub.v1.PubSubService/Consume", "pubsub:subscribe"},
  };
  return *scopes;
}

const std::vector<std::string>& Services() {
  // Touching one message of each file links its descriptors into the generated pool.
  for (const Descriptor* linked : {hotpath::ratelimit::v1::CheckRequest::descriptor(),
                                   envoy::service::ratelimit::v3::RateLimitRequest::descriptor(),
                                   hotpath::session::v1::GetRequest::descriptor(),
                                   hotpath::leaderboard::v1::GetTopRequest::descriptor(),
                                   hotpath::pubsub::v1::PublishRequest::descriptor()}) {
    EXPECT_NE(linked, nullptr);
  }
  static const auto* services = new std::vector<std::string>{
      "hotpath.admin.v1.AdminService",           "grpc.health.v1.Health",
      "hotpath.ratelimit.v1.RateLimiterService", "envoy.service.ratelimit.v3.RateLimitService",
      "hotpath.session.v1.SessionService",       "hotpath.leaderboard.v1.LeaderboardService",
      "hotpath.pubsub.v1.PubSubService",
  };
  return *services;
}

// The secret of the key granted exactly `scope` (in namespaces tenant-a and envoy).
std::string SecretOf(const std::string& scope) {
  return absl::StrCat("hp-secret-", absl::StrReplaceAll(scope, {{":", "-"}}), "-5f2c9a");
}

std::string KeyEntry(const std::string& id, const std::string& secret, const std::string& scopes,
                     const std::string& namespaces) {
  return absl::StrCat("  - id: ", id, "\n    sha256: ", auth::KeySha256Hex(secret),
                      "\n    scopes: ", scopes, "\n    namespaces: ", namespaces, "\n");
}

std::vector<std::string> GrantedScopes() {
  std::set<std::string> scopes;
  for (const auto& [method, scope] : ScopeOfMethod()) {
    if (scope != "authenticated") scopes.insert(scope);
  }
  return {scopes.begin(), scopes.end()};
}

// One key per scope, a key that may check limits in tenant-a only, and an all-powerful one.
std::string AccessFile() {
  std::string text = "keys:\n";
  for (const std::string& scope : GrantedScopes()) {
    absl::StrAppend(&text, KeyEntry(scope, SecretOf(scope), absl::StrCat("['", scope, "']"),
                                    "[tenant-a, envoy]"));
  }
  absl::StrAppend(&text, KeyEntry("tenant-a-checker", "hp-secret-checker-a", "[ratelimit:check]",
                                  "[tenant-a]"));
  absl::StrAppend(&text, KeyEntry("root", "hp-secret-root", "['*']", "['*']"));
  return text;
}

void WriteFile(const std::string& path, const std::string& text) {
  // Written aside and renamed, so a reload never reads half a file.
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  std::filesystem::rename(temp, path);
}

// Sets the request's namespace wherever the method carries it: a top-level field, the
// first message of a stream (Consume's start), or each check of a batch.
void SetNamespace(Message* request, const std::string& ns) {
  const Descriptor* type = request->GetDescriptor();
  const auto* reflection = request->GetReflection();
  if (const FieldDescriptor* field = type->FindFieldByName("namespace")) {
    reflection->SetString(request, field, ns);
  } else if (const FieldDescriptor* start = type->FindFieldByName("start");
             start != nullptr && start->message_type() != nullptr) {
    SetNamespace(reflection->MutableMessage(request, start), ns);
  } else if (const FieldDescriptor* checks = type->FindFieldByName("checks")) {
    SetNamespace(reflection->AddMessage(request, checks), ns);
  }
}

bool HasNamespace(const Descriptor* type) {
  return type->FindFieldByName("namespace") != nullptr ||
         type->FindFieldByName("start") != nullptr || type->FindFieldByName("checks") != nullptr;
}

// One call of any kind as a generic stream (the wire shape of every RPC kind): one request,
// half-close, then read until the server ends it. A stream that sends a message is cancelled
// after it: it was let in, which is all these tests ask.
class OneCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  OneCall(grpc::GenericStub* stub, const std::string& method, const Message& request,
          const std::optional<std::string>& authorization) {
    if (authorization.has_value()) context_.AddMetadata("authorization", *authorization);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    bool own = false;
    const grpc::Status serialized =
        grpc::GenericSerialize<grpc::ProtoBufferWriter, Message>(request, &request_, &own);
    EXPECT_TRUE(serialized.ok());
    stub->PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override {
    if (ok) context_.TryCancel();
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  grpc::Status Await() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

grpc::Status Call(grpc::GenericStub* stub, const std::string& method, const Message& request,
                  const std::optional<std::string>& authorization) {
  OneCall call(stub, method, request, authorization);
  return call.Await();
}

std::unique_ptr<Message> RequestFor(const google::protobuf::MethodDescriptor* method) {
  return std::unique_ptr<Message>(google::protobuf::MessageFactory::generated_factory()
                                      ->GetPrototype(method->input_type())
                                      ->New());
}

std::string Bearer(const std::string& secret) { return absl::StrCat("Bearer ", secret); }

// Every method of the services hotpathd registers (reflection aside), in a fixed order.
std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const std::string& name : Services()) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << name;
    for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
      methods.push_back(service->method(i));
    }
  }
  return methods;
}

// "/package.Service/Method", as gRPC names a method on the wire.
std::string PathOf(const google::protobuf::MethodDescriptor* method) {
  return absl::StrCat("/", method->service()->full_name(), "/", method->name());
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("security");
    access_file_ = dir_ + "/access.yaml";
    WriteFile(access_file_, AccessFile());
  }

  void StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
        "--persistence.enabled=false", "--auth.access_file=" + access_file_};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(process_.Start(args)) << process_.last_output();
    channel_ = grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

  std::string dir_;
  std::string access_file_;
  HotpathdProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

TEST_F(AuthorizationTest, EveryRpcAnswersEachCredentialWithTheRightCode) {
  StartServer();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const google::protobuf::MethodDescriptor* method : AllMethods()) {
    const std::string path = PathOf(method);
    SCOPED_TRACE(path);
    auto found = ScopeOfMethod().find(path);
    ASSERT_NE(found, ScopeOfMethod().end()) << "add the new RPC to ScopeOfMethod";
    const std::string& scope = found->second;
    ++methods;
    std::unique_ptr<Message> request = RequestFor(method);
    SetNamespace(request.get(), "tenant-a");

    const bool exempt = scope == "health:check";  // auth.exempt_health defaults to true
    const grpc::Status missing = Call(stub_.get(), path, *request, std::nullopt);
    const grpc::Status wrong = Call(stub_.get(), path, *request, Bearer("hp-secret-wrong"));
    const grpc::Status not_bearer = Call(stub_.get(), path, *request, "Basic cm9vdDpyb290");
    if (exempt) {
      EXPECT_NE(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    } else {
      EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED) << missing.error_message();
      EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_EQ(not_bearer.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }

    // The key of another service's scope.
    const std::string other = scope.rfind("session:", 0) == 0 ? "pubsub:admin" : "session:admin";
    const grpc::Status out_of_scope = Call(stub_.get(), path, *request, Bearer(SecretOf(other)));
    if (scope != "authenticated" && !exempt) {
      EXPECT_EQ(out_of_scope.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_THAT(out_of_scope.error_message(), HasSubstr(absl::StrCat("lacks the scope ", scope)));
    }

    // The right key, then the right key in a namespace it was not given.
    const std::string secret = scope == "authenticated" ? SecretOf("admin:read") : SecretOf(scope);
    const grpc::Status allowed = Call(stub_.get(), path, *request, Bearer(secret));
    for (grpc::StatusCode refused :
         {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED,
          grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN}) {
      EXPECT_NE(allowed.error_code(), refused) << allowed.error_message();
    }
    if (HasNamespace(method->input_type())) {
      std::unique_ptr<Message> elsewhere = RequestFor(method);
      SetNamespace(elsewhere.get(), "tenant-b");
      const grpc::Status denied = Call(stub_.get(), path, *elsewhere, Bearer(secret));
      EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_THAT(denied.error_message(), HasSubstr("may not use the namespace \"tenant-b\""));
    }
  }
  EXPECT_EQ(methods, static_cast<int>(ScopeOfMethod().size()));

  // An empty namespace is the default one: a key without it is refused there.
  {
    const auto* get = pool->FindMethodByName("hotpath.session.v1.SessionService.Get");
    std::unique_ptr<Message> request = RequestFor(get);
    const grpc::Status denied = Call(stub_.get(), "/hotpath.session.v1.SessionService/Get",
                                     *request, Bearer(SecretOf("session:read")));
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(denied.error_message(), HasSubstr("may not use the namespace \"default\""));
  }
  // A batch is refused when any of its checks names a namespace outside the key's.
  {
    const auto* batch =
        pool->FindMethodByName("hotpath.ratelimit.v1.RateLimiterService.CheckBatch");
    std::unique_ptr<Message> request = RequestFor(batch);
    SetNamespace(request.get(), "tenant-a");
    SetNamespace(request.get(), "tenant-b");
    const grpc::Status denied =
        Call(stub_.get(), "/hotpath.ratelimit.v1.RateLimiterService/CheckBatch", *request,
             Bearer(SecretOf("ratelimit:check")));
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(denied.error_message(), HasSubstr("\"tenant-b\""));
  }
  // Envoy's state lives in the "envoy" namespace: a key without it is refused there.
  const auto* envoy =
      pool->FindMethodByName("envoy.service.ratelimit.v3.RateLimitService.ShouldRateLimit");
  const grpc::Status envoy_denied =
      Call(stub_.get(), "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",
           *RequestFor(envoy), Bearer("hp-secret-checker-a"));
  EXPECT_EQ(envoy_denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(envoy_denied.error_message(), HasSubstr("\"envoy\""));

  // Refusals are counted by reason and never written with the secret.
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_THAT(*metrics, Not(HasSubstr("hotpath_auth_failures_total{reason=\"scope\"} 0\n")));
  EXPECT_THAT(*metrics, Not(HasSubstr("hotpath_auth_failures_total{reason=\"namespace\"} 0\n")));
  EXPECT_THAT(*metrics,
              Not(HasSubstr("hotpath_auth_failures_total{reason=\"missing_credentials\"} 0\n")));
  process_.Signal(SIGTERM);
  auto exited = process_.WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(exited.has_value());
  EXPECT_EQ(exited->exit_code, 0) << exited->stderr_text;
  for (const std::string& scope : GrantedScopes()) {
    EXPECT_THAT(exited->stdout_text + exited->stderr_text, Not(HasSubstr(SecretOf(scope))));
  }
  EXPECT_THAT(exited->stdout_text, Not(HasSubstr("hp-secret-wrong")));
}

TEST_F(AuthorizationTest, BadInputWithTheRightKeyGetsAnErrorAndTheServerStaysUp) {
  StartServer({"--pubsub.max_payload_bytes=1024"});
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel_);
  const std::string root = Bearer("hp-secret-root");
  // Every request with every string field far over any limit: refused, never a crash.
  for (const google::protobuf::MethodDescriptor* method : AllMethods()) {
    if (method->name() == "Rewrite") continue;  // persistence is off: FAILED_PRECONDITION
    const std::string path = PathOf(method);
    SCOPED_TRACE(path);
    std::unique_ptr<Message> request = RequestFor(method);
    for (int f = 0; f < method->input_type()->field_count(); ++f) {
      const FieldDescriptor* field = method->input_type()->field(f);
      if (field->type() == FieldDescriptor::TYPE_STRING && !field->is_repeated() &&
          field->name() != "namespace") {
        request->GetReflection()->SetString(request.get(), field, std::string(300'000, 'x'));
      }
    }
    const grpc::Status status = Call(stub_.get(), path, *request, root);
    EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNKNOWN) << status.error_message();
    ASSERT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message() << process_.last_output();
  }
  // A message over the receive limit is refused by gRPC itself.
  hotpath::admin::v1::PingRequest huge;
  huge.set_payload(std::string(8 << 20, 'x'));
  hotpath::admin::v1::PingResponse pong;
  grpc::ClientContext context;
  context.AddMetadata("authorization", root);
  EXPECT_EQ(admin->Ping(&context, huge, &pong).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // So is metadata over server.max_metadata_bytes.
  grpc::ClientContext big_headers;
  big_headers.AddMetadata("authorization", root);
  big_headers.AddMetadata("x-padding", std::string(32 << 10, 'p'));
  const grpc::Status headers = admin->Ping(&big_headers, hotpath::admin::v1::PingRequest(), &pong);
  EXPECT_EQ(headers.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << headers.error_message();
  // The server stays up. (The refusal closes that connection, so ask on a new one.)
  grpc::ChannelArguments fresh;
  fresh.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto again_admin = hotpath::admin::v1::AdminService::NewStub(grpc::CreateCustomChannel(
      process_.grpc_address(), grpc::InsecureChannelCredentials(), fresh));
  grpc::ClientContext again;
  again.AddMetadata("authorization", root);
  const grpc::Status after = again_admin->Ping(&again, hotpath::admin::v1::PingRequest(), &pong);
  EXPECT_TRUE(after.ok()) << after.error_message();
}

// The field names of `type` and of the messages it holds (two levels down).
void CollectFieldNames(const Descriptor* type, int depth, std::set<std::string>* names) {
  for (int f = 0; f < type->field_count(); ++f) {
    names->insert(type->field(f)->name());
    if (depth > 0 && type->field(f)->message_type() != nullptr) {
      CollectFieldNames(type->field(f)->message_type(), depth - 1, names);
    }
  }
}

TEST_F(AuthorizationTest, EachOversizedFieldGetsInvalidArgumentNamingAField) {
  StartServer();
  const std::string root = Bearer("hp-secret-root");
  int checked = 0;
  for (const google::protobuf::MethodDescriptor* method : AllMethods()) {
    const std::string path = PathOf(method);
    std::set<std::string> names;
    CollectFieldNames(method->input_type(), 2, &names);
    for (int f = 0; f < method->input_type()->field_count(); ++f) {
      const FieldDescriptor* field = method->input_type()->field(f);
      if (field->type() != FieldDescriptor::TYPE_STRING || field->is_repeated()) continue;
      SCOPED_TRACE(absl::StrCat(path, " ", field->name()));
      // One field far over any limit, the rest as a client that forgot them sends them.
      std::unique_ptr<Message> request = RequestFor(method);
      request->GetReflection()->SetString(request.get(), field, std::string(70'000, 'x'));
      const grpc::Status status = Call(stub_.get(), path, *request, root);
      ++checked;
      for (grpc::StatusCode never : {grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN,
                                     grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::OK}) {
        EXPECT_NE(status.error_code(), never) << status.error_message();
      }
      if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) continue;
      bool named = false;
      for (const std::string& name : names) {
        named = named || absl::StrContains(status.error_message(), name);
      }
      EXPECT_TRUE(named) << "INVALID_ARGUMENT without a field name: " << status.error_message();
    }
  }
  EXPECT_GT(checked, 40);
}

TEST_F(AuthorizationTest, TheAccessFileReloadsAndABrokenOneLeavesTheOldInForce) {
  StartServer();
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel_);
  auto ping = [&](const std::string& secret) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", Bearer(secret));
    hotpath::admin::v1::PingResponse pong;
    return admin->Ping(&context, hotpath::admin::v1::PingRequest(), &pong).error_code();
  };
  ASSERT_EQ(ping("hp-secret-root"), grpc::StatusCode::OK);
  ASSERT_EQ(ping("hp-secret-rotated"), grpc::StatusCode::UNAUTHENTICATED);

  WriteFile(access_file_, "keys: [oops");
  process_.Signal(SIGHUP);
  ASSERT_TRUE(process_.WaitForOutput("event=files_not_reloaded trigger=SIGHUP"));
  EXPECT_EQ(ping("hp-secret-root"), grpc::StatusCode::OK);

  WriteFile(access_file_,
            absl::StrCat("keys:\n", KeyEntry("rotated", "hp-secret-rotated", "['*']", "['*']")));
  process_.Signal(SIGHUP);
  ASSERT_TRUE(process_.WaitForOutput("event=files_reloaded trigger=SIGHUP"));
  EXPECT_EQ(ping("hp-secret-root"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ping("hp-secret-rotated"), grpc::StatusCode::OK);
}

TEST_F(AuthorizationTest, HealthNeedsCredentialsWhenNotExempt) {
  StartServer({"--auth.exempt_health=false"});
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext anonymous;
  EXPECT_EQ(health->Check(&anonymous, {}, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext with_key;
  with_key.AddMetadata("authorization", Bearer(SecretOf("health:check")));
  ASSERT_TRUE(health->Check(&with_key, {}, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AuthorizationTest, ANamespaceAtItsQuotaRefusesGrowthThereOnly) {
  WriteFile(access_file_,
            absl::StrCat("keys:\n", KeyEntry("root", "hp-secret-root", "['*']", "['*']"),
                         "namespaces:\n"
                         "  - name: tenant-a\n"
                         "    max_keys: 10\n"));
  StartServer();
  auto sessions = hotpath::session::v1::SessionService::NewStub(channel_);
  auto create = [&](const std::string& ns) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", Bearer("hp-secret-root"));
    hotpath::session::v1::CreateRequest request;
    request.set_namespace_(ns);
    request.set_user_id("u1");
    hotpath::session::v1::CreateResponse response;
    return sessions->Create(&context, request, &response);
  };
  int created = 0;
  grpc::Status refused;
  for (int i = 0; i < 20 && refused.ok(); ++i) {
    refused = create("tenant-a");
    if (refused.ok()) ++created;
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("namespace \"tenant-a\" holds its quota of 10 keys"));
  // A session is a key; the user's index is one more, and so is the namespace's session-event
  // stream once the events thread has appended the first event (up to about a millisecond
  // after the Create): eight or nine sessions reach ten keys.
  EXPECT_GE(created, 8);
  EXPECT_LE(created, 9);
  // Other namespaces are not held back.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(create("tenant-b").ok());

  // The namespace's usage and quota, as an operator sees them.
  {
    auto admin = hotpath::admin::v1::AdminService::NewStub(channel_);
    grpc::ClientContext context;
    context.AddMetadata("authorization", Bearer("hp-secret-root"));
    hotpath::admin::v1::GetNamespaceRequest request;
    request.set_namespace_("tenant-a");
    hotpath::admin::v1::GetNamespaceResponse usage;
    ASSERT_TRUE(admin->GetNamespace(&context, request, &usage).ok());
    // Ten, or eleven when the event stream came after the quota was reached: system events
    // are appended, not refused, so a tenant's lifecycle events are never lost to its quota.
    EXPECT_GE(usage.keys(), 10u);
    EXPECT_LE(usage.keys(), 11u);
    EXPECT_GT(usage.memory_bytes(), 0u);
    EXPECT_EQ(usage.max_keys(), 10u);
    EXPECT_EQ(usage.max_memory_bytes(), 0u);
  }
  // Freeing some makes room again.
  grpc::ClientContext context;
  context.AddMetadata("authorization", Bearer("hp-secret-root"));
  hotpath::session::v1::RevokeUserSessionsRequest revoke;
  revoke.set_namespace_("tenant-a");
  revoke.set_user_id("u1");
  hotpath::session::v1::RevokeUserSessionsResponse revoked;
  ASSERT_TRUE(sessions->RevokeUserSessions(&context, revoke, &revoked).ok());
  EXPECT_TRUE(create("tenant-a").ok());
}

TEST(StartupTest, AnAccessFileThatDoesNotParseStopsTheStart) {
  const std::string dir = MakeTempDir("security_bad_access");
  WriteFile(dir + "/access.yaml", "keys:\n  - id: a\n    sha256: abc\n");
  auto exited = HotpathdProcess::RunToExit(
      {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
       "--persistence.enabled=false", "--auth.access_file=" + dir + "/access.yaml"});
  ASSERT_TRUE(exited.has_value());
  EXPECT_NE(exited->exit_code, 0);
  EXPECT_THAT(exited->stderr_text, HasSubstr("access.yaml: keys[0]"));
}

TEST(StartupTest, PlaintextOffLoopbackNeedsTheOptIn) {
  auto refused = HotpathdProcess::RunToExit(
      {"--server.grpc_address=0.0.0.0:0", "--persistence.enabled=false", "--check-config"});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->exit_code, 2);
  EXPECT_THAT(refused->stderr_text, HasSubstr("server.allow_plaintext"));
  auto allowed = HotpathdProcess::RunToExit({"--server.grpc_address=0.0.0.0:0",
                                             "--server.allow_plaintext=true",
                                             "--persistence.enabled=false", "--check-config"});
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(allowed->exit_code, 0) << allowed->stderr_text;
}

}  // namespace
}  // namespace hotpath
