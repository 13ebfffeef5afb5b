// End to end: the real hotpathd binary on free loopback ports, called over gRPC and HTTP.
#include <sched.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "testing/reflection_subset.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::hotpath::HttpGet;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> LoopbackArgs(const std::string& data_dir) {
  return {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
          "--persistence.data_dir=" + data_dir, "--server.drain_timeout=5s"};
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

class HotpathdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = MakeTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(process_.Start(LoopbackArgs(data_dir_))) << process_.last_output();
    channel_ = grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials());
  }

  HealthCheckResponse::ServingStatus Check(const std::string& service, grpc::Status* status) {
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    *status = Health::NewStub(channel_)->Check(ContextWithDeadline().get(), request, &response);
    return response.status();
  }

  std::string data_dir_;
  HotpathdProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(HotpathdTest, ReportsServingForTheServerAndEachService) {
  grpc::Status status;
  EXPECT_EQ(Check("", &status), HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Check("hotpath.admin.v1.AdminService", &status), HealthCheckResponse::SERVING);
  Check("no.such.Service", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(HotpathdTest, AdminAnswersPingAndInfo) {
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel_);
  hotpath::admin::v1::PingRequest ping;
  ping.set_payload("abc");
  hotpath::admin::v1::PingResponse pong;
  ASSERT_TRUE(admin->Ping(ContextWithDeadline().get(), ping, &pong).ok());
  EXPECT_EQ(pong.payload(), "abc");

  hotpath::admin::v1::GetInfoResponse info;
  ASSERT_TRUE(admin->GetInfo(ContextWithDeadline().get(), {}, &info).ok());
  EXPECT_EQ(info.version(), "0.1.0");
  EXPECT_EQ(info.shards(), 16u);
  EXPECT_EQ(info.data_dir(), data_dir_);
}

TEST_F(HotpathdTest, ReflectionListsTheServices) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  auto context = ContextWithDeadline();
  auto stream = stub->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({"hotpath.admin.v1.AdminService", "grpc.health.v1.Health"}));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(HotpathdTest, MetricsCountRpcsByMethodAndCodeAndShowTheEngine) {
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel_);
  for (int i = 0; i < 3; ++i) {
    hotpath::admin::v1::PingResponse pong;
    ASSERT_TRUE(admin->Ping(ContextWithDeadline().get(), {}, &pong).ok());
  }
  grpc::Status status;
  Check("no.such.Service", &status);

  auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_THAT(*metrics, HasSubstr("hotpath_build_info{compiler="));
  EXPECT_THAT(*metrics,
              HasSubstr("hotpath_grpc_server_handled_total{grpc_code=\"OK\","
                        "grpc_method=\"Ping\",grpc_service=\"hotpath.admin.v1.AdminService\","
                        "grpc_type=\"unary\"} 3\n"));
  EXPECT_THAT(*metrics, HasSubstr("hotpath_grpc_server_handled_total{grpc_code=\"NotFound\","
                                  "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\","
                                  "grpc_type=\"unary\"} 1\n"));
  EXPECT_THAT(*metrics,
              HasSubstr("hotpath_grpc_server_handling_seconds_count{grpc_method=\"Ping\","
                        "grpc_service=\"hotpath.admin.v1.AdminService\",grpc_type=\"unary\"} 3\n"));
  EXPECT_THAT(*metrics, HasSubstr("hotpath_engine_keys 0\n"));
  EXPECT_THAT(*metrics, HasSubstr("hotpath_engine_shards 16\n"));
  EXPECT_THAT(*metrics, HasSubstr("# TYPE hotpath_engine_memory_bytes gauge"));
}

// Unary calls are metered by each service's handlers, streams and reflection by an
// interceptor: every unary method of every service shows up, counted once, not by both.
TEST_F(HotpathdTest, EveryServiceMetersEachOfItsCallsOnce) {
  std::vector<std::pair<std::string, std::string>> unary;  // (service, method)
  // Each service through a message of its file, which links the file's descriptors in.
  for (const google::protobuf::ServiceDescriptor* service :
       {hotpath::admin::v1::PingRequest::descriptor()->file()->FindServiceByName("AdminService"),
        grpc::health::v1::HealthCheckRequest::descriptor()->file()->FindServiceByName("Health"),
        ratelimit::v1::CheckRequest::descriptor()->file()->FindServiceByName("RateLimiterService"),
        envoy::service::ratelimit::v3::RateLimitRequest::descriptor()->file()->FindServiceByName(
            "RateLimitService"),
        session::v1::CreateRequest::descriptor()->file()->FindServiceByName("SessionService"),
        leaderboard::v1::GetBoardRequest::descriptor()->file()->FindServiceByName(
            "LeaderboardService"),
        pubsub::v1::GetTopicRequest::descriptor()->file()->FindServiceByName("PubSubService")}) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      unary.emplace_back(service->full_name(), method->name());
    }
  }
  ASSERT_GE(unary.size(), 30u);
  // Empty requests: most are refused, which is still a call to count.
  grpc::GenericStub stub(channel_);
  for (const auto& [service, method] : unary) {
    auto context = ContextWithDeadline();
    grpc::Slice empty("");
    const grpc::ByteBuffer request(&empty, 1);  // an empty message
    grpc::ByteBuffer response;
    absl::Notification done;
    stub.UnaryCall(context.get(), absl::StrCat("/", service, "/", method), grpc::StubOptions(),
                   &request, &response, [&done](const grpc::Status&) { done.Notify(); });
    done.WaitForNotification();
  }
  {
    auto context = ContextWithDeadline();
    auto stream =
        grpc::reflection::v1alpha::ServerReflection::NewStub(channel_)->ServerReflectionInfo(
            context.get());
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }

  auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  std::vector<std::tuple<std::string, std::string, std::string>> expected;
  for (const auto& [service, method] : unary) expected.emplace_back(service, method, "unary");
  expected.emplace_back("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo",
                        "bidi_stream");
  for (const auto& [service, method, type] : expected) {
    const std::string labels = absl::StrCat("grpc_method=\"", method, "\",grpc_service=\"", service,
                                            "\",grpc_type=\"", type, "\"}");
    EXPECT_THAT(*metrics,
                HasSubstr(absl::StrCat("hotpath_grpc_server_started_total{", labels, " 1\n")));
    EXPECT_THAT(*metrics, HasSubstr(absl::StrCat("hotpath_grpc_server_handling_seconds_count{",
                                                 labels, " 1\n")));
  }
  hotpath::admin::v1::GetInfoResponse info;
  ASSERT_TRUE(hotpath::admin::v1::AdminService::NewStub(channel_)
                  ->GetInfo(ContextWithDeadline().get(), {}, &info)
                  .ok());
  EXPECT_EQ(info.calls_in_flight(), 1u) << "every call before it has ended; it is in flight";
}

TEST_F(HotpathdTest, SigtermTurnsHealthNotServingThenExitsCleanly) {
  HealthCheckRequest request;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto watch = Health::NewStub(channel_)->Watch(&context, request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  ASSERT_EQ(update.status(), HealthCheckResponse::SERVING);

  process_.Signal(SIGTERM);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&update));  // the server ends the stream rather than cancel it
  EXPECT_TRUE(watch->Finish().ok());
  watch.reset();

  auto exit = process_.WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value()) << "hotpathd did not exit after SIGTERM";
  EXPECT_EQ(exit->exit_code, 0) << exit->stderr_text;
  EXPECT_THAT(exit->stdout_text, HasSubstr("event=draining signal=Terminated timeout=5s"));
  EXPECT_THAT(exit->stdout_text, HasSubstr("level=info event=stopped\n"));
}

TEST_F(HotpathdTest, SigintAlsoExitsCleanly) {
  process_.Signal(SIGINT);
  auto exit = process_.WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << exit->stderr_text;
}

TEST_F(HotpathdTest, ASecondServerOnTheSameDataDirectoryRefusesToStart) {
  auto second = HotpathdProcess::RunToExit(LoopbackArgs(data_dir_));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->exit_code, 1);
  EXPECT_THAT(second->stderr_text, HasSubstr("is in use by another process"));
}

// The scheduling policy of each thread of process `pid`, by thread name and id ("name/tid"),
// from field 41 of /proc/<pid>/task/<tid>/stat.
std::map<std::string, int> ThreadPolicies(pid_t pid) {
  std::map<std::string, int> policies;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"))) {
    std::ifstream file(task.path() / "stat");
    std::stringstream text;
    text << file.rdbuf();
    const std::string stat = text.str();
    const size_t name_end = stat.rfind(')');      // the name may hold spaces and parentheses
    if (name_end == std::string::npos) continue;  // the thread ended meanwhile
    const std::string name = stat.substr(stat.find('(') + 1, name_end - stat.find('(') - 1);
    // After the name come fields 3 (state) onwards: field 41 is the 39th.
    const std::vector<std::string> fields =
        absl::StrSplit(stat.substr(name_end + 2), ' ', absl::SkipEmpty());
    int policy = -1;
    if (fields.size() > 38 && absl::SimpleAtoi(fields[38], &policy)) {
      policies[absl::StrCat(name, "/", task.path().filename().string())] = policy;
    }
  }
  return policies;
}

// Starts hotpathd from a thread under `inherited`, the policy a child starts with, so that the
// server has to change it to pass.
bool StartUnder(int inherited, HotpathdProcess& process, const std::vector<std::string>& args) {
  const int own = sched_getscheduler(0);
  const sched_param param{};
  if (sched_setscheduler(0, inherited, &param) != 0) return false;
  const bool started = process.Start(args);
  sched_setscheduler(0, own, &param);
  return started;
}

struct SchedulingCase {
  std::vector<std::string> flags;
  int inherited;  // the policy hotpathd starts with
  int expected;   // the one every thread of it must have once it serves
};

// SCHED_BATCH by default, SCHED_OTHER when normal, and a policy an operator chose (through
// chrt or systemd's CPUSchedulingPolicy=) is kept.
TEST(HotpathdScheduling, EveryThreadRunsUnderTheConfiguredPolicyUnlessAnOperatorChoseOne) {
  for (const SchedulingCase& run :
       {SchedulingCase{{}, SCHED_OTHER, SCHED_BATCH},
        SchedulingCase{{"--server.scheduling=normal"}, SCHED_BATCH, SCHED_OTHER},
        SchedulingCase{{}, SCHED_IDLE, SCHED_IDLE}}) {
    SCOPED_TRACE(absl::StrCat("inherited ", run.inherited, ", expected ", run.expected));
    std::vector<std::string> args = LoopbackArgs(MakeTempDir("scheduling"));
    args.insert(args.end(), run.flags.begin(), run.flags.end());
    HotpathdProcess process;
    ASSERT_TRUE(StartUnder(run.inherited, process, args)) << process.last_output();
    const std::map<std::string, int> policies = ThreadPolicies(process.pid());
    bool writer = false;
    for (const auto& [thread, policy] : policies) {
      EXPECT_EQ(policy, run.expected) << thread;
      writer = writer || absl::StartsWith(thread, "hp-aof-writer/");
    }
    // Threads started after the policy was applied (the log writer's, gRPC's) are there too.
    EXPECT_TRUE(writer);
    EXPECT_GE(policies.size(), 4u);
    EXPECT_EQ(absl::StrContains(process.last_output(), "event=scheduling_kept policy=idle"),
              run.inherited == SCHED_IDLE);
  }
}

TEST(HotpathdStreamLimit, AConnectionHoldsAtMostMaxStreamsCallsAtOnce) {
  const std::string dir = MakeTempDir("stream-limit");
  HotpathdProcess process;
  std::vector<std::string> args = LoopbackArgs(dir);
  args.push_back("--server.max_streams_per_connection=2");
  ASSERT_TRUE(process.Start(args)) << process.last_output();
  auto channel = grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials());
  auto admin = hotpath::admin::v1::AdminService::NewStub(channel);
  hotpath::admin::v1::PingResponse pong;
  ASSERT_TRUE(admin->Ping(ContextWithDeadline().get(), {}, &pong).ok());  // connected

  // Two open streams on the connection take both of its slots.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<HealthCheckResponse>>> watches;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(ContextWithDeadline());
    watches.push_back(Health::NewStub(channel)->Watch(contexts.back().get(), {}));
    HealthCheckResponse update;
    ASSERT_TRUE(watches.back()->Read(&update));
  }
  // A third call waits for a slot: within its short deadline, none frees.
  grpc::ClientContext waiting;
  waiting.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  EXPECT_EQ(admin->Ping(&waiting, {}, &pong).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // One stream ends: the next call goes through.
  contexts[0]->TryCancel();
  (void)watches[0]->Finish();
  EXPECT_TRUE(admin->Ping(ContextWithDeadline().get(), {}, &pong).ok());
  contexts[1]->TryCancel();
  (void)watches[1]->Finish();
}

TEST(HotpathdWithoutPersistence, ServesWithNoDataDirectory) {
  HotpathdProcess process;
  ASSERT_TRUE(
      process.Start({"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
                     "--persistence.enabled=false"}))
      << process.last_output();
  EXPECT_THAT(process.last_output(), HasSubstr(" data=\"\" shards=16 fsync=off\n"));
  EXPECT_THAT(process.last_output(), Not(HasSubstr("event=recovered")));
  auto admin = hotpath::admin::v1::AdminService::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
  hotpath::admin::v1::GetInfoResponse info;
  ASSERT_TRUE(admin->GetInfo(ContextWithDeadline().get(), {}, &info).ok());
  EXPECT_EQ(info.data_dir(), "");
}

struct BadStart {
  std::vector<std::string> args;
  std::string message;
};

class HotpathdBadConfigTest : public ::testing::TestWithParam<BadStart> {};

TEST_P(HotpathdBadConfigTest, ExitsWithCode2AndOneLineNamingTheProblem) {
  auto result = HotpathdProcess::RunToExit(GetParam().args);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_EQ(result->stderr_text, absl::StrCat("hotpathd: ", GetParam().message, "\n"));
  EXPECT_THAT(result->stdout_text, Not(HasSubstr("serving")));
}

INSTANTIATE_TEST_SUITE_P(
    All, HotpathdBadConfigTest,
    ::testing::Values(
        BadStart{{"--config=/nonexistent/hotpath.yaml"},
                 "config file /nonexistent/hotpath.yaml: cannot be read"},
        BadStart{{"--grpc-port=1"}, "unknown flag --grpc-port (see hotpathd --help)"},
        BadStart{{"--engine.shards=3"},
                 "flag --engine.shards: must be a power of two between 1 and 16384, got 3"}));

TEST(HotpathdConfigFile, AnUnknownKeyInTheFileIsNamed) {
  const std::string dir = MakeTempDir("config_file");
  const std::string path = dir + "/hotpath.yaml";
  FILE* file = fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  fputs("server:\n  grpc_port: 7070\n", file);
  fclose(file);
  auto result = HotpathdProcess::RunToExit({"--config", path});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_EQ(result->stderr_text,
            absl::StrCat("hotpathd: config file ", path, ": server.grpc_port: unknown option\n"));
}

TEST(HotpathdCheckConfig, PrintsTheEffectiveConfigAndExits0) {
  auto result = HotpathdProcess::RunToExit({"--check-config", "--engine.shards=64"});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_THAT(result->stdout_text, HasSubstr("engine:\n  shards: \"64\"\n"));
}

// The files the options name are loaded as a start would load them, so a deployment's config
// (the Helm chart's, say) is checked whole before it ships.
TEST(HotpathdCheckConfig, LoadsTheFilesTheOptionsNameAndRefusesABadOne) {
  const std::string dir = testing::MakeTempDir("check_config");
  const std::string policies = dir + "/policies.yaml";
  std::ofstream(policies) << "policies:\n  - name: api\n    limits: [{algorithm: gcra, limit: 5, "
                             "period: 1s}]\n";
  auto good = HotpathdProcess::RunToExit({"--check-config", "--ratelimit.policy_file=" + policies});
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->exit_code, 0) << good->stderr_text;

  std::ofstream(policies) << "policies:\n  - name: api\n    limits: []\n";
  auto bad = HotpathdProcess::RunToExit({"--check-config", "--ratelimit.policy_file=" + policies});
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_THAT(bad->stderr_text, HasSubstr("hotpathd: ratelimit.policy_file: "));

  for (const std::string option :
       {"--ratelimit.envoy_config=", "--auth.access_file=", "--tls.cert_file="}) {
    std::vector<std::string> args = {"--check-config", option + dir + "/missing.yaml"};
    if (option == "--tls.cert_file=") args.push_back("--tls.key_file=" + dir + "/missing.key");
    auto missing = HotpathdProcess::RunToExit(args);
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->exit_code, 2) << option;
    EXPECT_THAT(missing->stderr_text, HasSubstr(option.substr(2, option.size() - 3) + ": "));
  }
}

}  // namespace
}  // namespace hotpath
