// Observability against real components. After traffic through every service:
//   - hotpathd's /metrics passes `promtool check metrics` without a warning;
//   - a real Prometheus scrapes it and answers queries with the expected series and values,
//     and loads the alerting rules (observability/prometheus) healthy;
//   - `promtool check rules` passes, and every metric the dashboard (observability/grafana)
//     and the rules use is one hotpathd exports;
//   - docs/metrics.md documents exactly the families hotpathd exports;
//   - AdminService/GetSlowlog and GetInfo report; logs are one event per line and never carry a
//     session token or a payload.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/leaderboard/v1/leaderboard.grpc.pb.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr char kPayloadMarker[] = "payload-marker-7d1f";

std::string Source(const std::string& relative) {
  return absl::StrCat(HOTPATH_SOURCE_DIR, "/", relative);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

// Runs a tool to its end: exit code and stdout + stderr.
std::pair<int, std::string> RunTool(const std::vector<std::string>& argv) {
  auto process = Subprocess::Spawn(argv);
  if (!process.ok()) return {-1, std::string(process.status().message())};
  const std::optional<int> code = (*process)->Wait(absl::Seconds(60));
  return {code.value_or(-1), (*process)->stdout_text() + (*process)->stderr_text()};
}

// A loopback port nobody was listening on a moment ago.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Names of the samples in a Prometheus text exposition ("x_bucket", "x_sum", ... included).
std::set<std::string> SampleNames(const std::string& exposition) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    names.emplace(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

// Names of the metric families, from the "# TYPE" lines.
std::set<std::string> FamilyNames(const std::string& exposition) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (!absl::ConsumePrefix(&line, "# TYPE ")) continue;
    names.emplace(line.substr(0, line.find(' ')));
  }
  return names;
}

std::set<std::string> HotpathNamesIn(const std::string& text) {
  std::set<std::string> names;
  const std::regex name("hotpath_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    names.insert(it->str());
  }
  return names;
}

// Prometheus scrapes and evaluates on its own one-second clock, which a test cannot inject:
// between queries, wait a fifth of that for Prometheus to exit (which it should not). False
// once it has, so that the caller stops asking a server that is gone.
bool ScrapeTick(Subprocess& prometheus) {
  return !prometheus.WaitForOutput("no line Prometheus prints", absl::Milliseconds(200)) &&
         !prometheus.exited();
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        process_.Start({"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
                        "--persistence.data_dir=" + data_dir_, "--persistence.fsync=always",
                        "--ratelimit.policy_file=" + WritePolicies(),
                        "--admin.slowlog_threshold=1ns", "--admin.slowlog_length=1000"}))
        << process_.last_output();
    channel_ = grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials());
  }

  std::string WritePolicies() {
    const std::string path = data_dir_ + ".policies.yaml";
    std::ofstream(path) << "policies:\n"
                           "  - name: api\n"
                           "    limits: [{algorithm: token_bucket, limit: 1, period: 1h, burst: "
                           "2}]\n";
    return path;
  }

  // Calls through every service, leaving one of each kind of state behind.
  void DriveTraffic() {
    auto admin = admin::v1::AdminService::NewStub(channel_);
    admin::v1::PingResponse pong;
    ASSERT_TRUE(admin->Ping(Context().get(), {}, &pong).ok());
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::health::v1::HealthCheckResponse healthy;
    ASSERT_TRUE(health->Check(Context().get(), {}, &healthy).ok());

    // Envoy's RLS, for a domain without limits (allowed, as envoyproxy/ratelimit does).
    auto envoy = envoy::service::ratelimit::v3::RateLimitService::NewStub(channel_);
    envoy::service::ratelimit::v3::RateLimitRequest should;
    should.set_domain("edge");
    auto* entry = should.add_descriptors()->add_entries();
    entry->set_key("remote_address");
    entry->set_value("10.0.0.1");
    envoy::service::ratelimit::v3::RateLimitResponse decided;
    ASSERT_TRUE(envoy->ShouldRateLimit(Context().get(), should, &decided).ok());

    auto limiter = ratelimit::v1::RateLimiterService::NewStub(channel_);
    ratelimit::v1::CheckRequest check;
    check.set_key("client-1");
    check.set_policy("api");
    for (int i = 0; i < 3; ++i) {  // allowed, allowed (near the limit), denied
      ratelimit::v1::CheckResponse checked;
      ASSERT_TRUE(limiter->Check(Context().get(), check, &checked).ok());
    }

    auto sessions = session::v1::SessionService::NewStub(channel_);
    session::v1::CreateRequest create;
    create.set_user_id("alice");
    session::v1::CreateResponse created;
    ASSERT_TRUE(sessions->Create(Context().get(), create, &created).ok());
    token_ = created.token();
    session::v1::GetRequest get;
    get.set_token(token_);
    session::v1::GetResponse got;
    ASSERT_TRUE(sessions->Get(Context().get(), get, &got).ok());

    auto boards = leaderboard::v1::LeaderboardService::NewStub(channel_);
    leaderboard::v1::CreateBoardRequest board;
    board.set_board("weekly");
    leaderboard::v1::CreateBoardResponse made;
    ASSERT_TRUE(boards->CreateBoard(Context().get(), board, &made).ok());
    leaderboard::v1::SubmitScoreRequest submit;
    submit.set_board("weekly");
    submit.mutable_submission()->set_member("alice");
    submit.mutable_submission()->set_score(42);
    leaderboard::v1::SubmitScoreResponse submitted;
    ASSERT_TRUE(boards->SubmitScore(Context().get(), submit, &submitted).ok());

    auto pubsub = pubsub::v1::PubSubService::NewStub(channel_);
    pubsub::v1::CreateTopicRequest topic;
    topic.set_topic("jobs");
    pubsub::v1::CreateTopicResponse topic_made;
    ASSERT_TRUE(pubsub->CreateTopic(Context().get(), topic, &topic_made).ok());
    pubsub::v1::CreateGroupRequest group;
    group.set_topic("jobs");
    group.set_group("workers");
    group.set_earliest(true);
    pubsub::v1::CreateGroupResponse group_made;
    ASSERT_TRUE(pubsub->CreateGroup(Context().get(), group, &group_made).ok());
    for (int i = 0; i < 2; ++i) {
      pubsub::v1::PublishRequest publish;
      publish.set_topic("jobs");
      publish.mutable_message()->set_payload(kPayloadMarker);
      pubsub::v1::PublishResponse published;
      ASSERT_TRUE(pubsub->Publish(Context().get(), publish, &published).ok());
    }
    auto context = Context();
    auto consume = pubsub->Consume(context.get());
    pubsub::v1::ConsumeRequest start;
    start.mutable_start()->set_topic("jobs");
    start.mutable_start()->set_group("workers");
    start.mutable_start()->set_max_outstanding(10);
    ASSERT_TRUE(consume->Write(start));
    int delivered = 0;
    pubsub::v1::ConsumeResponse response;
    pubsub::v1::ConsumeRequest ack;
    while (delivered < 2 && consume->Read(&response)) {
      for (const auto& delivery : response.deliveries()) {
        ack.add_ack_ids(delivery.message().id());
        ++delivered;
      }
    }
    ASSERT_EQ(delivered, 2);
    ASSERT_TRUE(consume->Write(ack));
    consume->WritesDone();
    ASSERT_TRUE(consume->Finish().ok());
  }

  std::string Metrics() {
    const std::optional<std::string> text = HttpGet(process_.metrics_address(), "/metrics");
    EXPECT_TRUE(text.has_value());
    return text.value_or("");
  }

  std::string data_dir_ = MakeTempDir("observability");
  HotpathdProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
};

TEST_F(ObservabilityTest, PromtoolFindsNothingToSayAboutTheMetrics) {
  ASSERT_NO_FATAL_FAILURE(DriveTraffic());
  const std::string path = data_dir_ + ".metrics.txt";
  std::ofstream(path) << Metrics();
  const auto [code, output] =
      RunTool({"/bin/sh", "-c", absl::StrCat(kPromtool, " check metrics < ", path)});
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "");  // no lint warning either
}

TEST_F(ObservabilityTest, TheRulesAreValidAndTheDashboardAndRulesUseExportedMetrics) {
  const std::string rules = Source("observability/prometheus/hotpath-alerts.yaml");
  const auto [code, output] = RunTool({kPromtool, "check", "rules", rules});
  EXPECT_EQ(code, 0) << output;

  ASSERT_NO_FATAL_FAILURE(DriveTraffic());
  const std::set<std::string> exported = SampleNames(Metrics());
  for (const std::string& file : {rules, Source("observability/grafana/hotpath.json")}) {
    const std::set<std::string> used = HotpathNamesIn(ReadFile(file));
    EXPECT_GT(used.size(), 5u) << file;
    for (const std::string& name : used) {
      EXPECT_TRUE(exported.contains(name)) << file << " uses " << name << ", not exported";
    }
  }
}

TEST_F(ObservabilityTest, TheCatalogueListsExactlyWhatIsExported) {
  ASSERT_NO_FATAL_FAILURE(DriveTraffic());
  const std::set<std::string> exported = FamilyNames(Metrics());
  std::set<std::string> documented;
  const std::string catalogue = ReadFile(Source("docs/metrics.md"));
  const std::regex name("`((hotpath|exposer)_[a-z0-9_]+)[`{]");
  for (auto it = std::sregex_iterator(catalogue.begin(), catalogue.end(), name);
       it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str());
  }
  for (const std::string& name : exported) {
    EXPECT_TRUE(documented.contains(name)) << name << " is exported but not in docs/metrics.md";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(exported.contains(name)) << name << " is in docs/metrics.md but not exported";
  }
}

TEST_F(ObservabilityTest, ARealPrometheusScrapesTheSeriesAndLoadsTheRules) {
  ASSERT_NO_FATAL_FAILURE(DriveTraffic());
  const std::string prometheus_dir = MakeTempDir("prometheus");
  const std::string config = prometheus_dir + "/prometheus.yml";
  std::ofstream(config) << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                        << "rule_files: [\""
                        << Source("observability/prometheus/hotpath-alerts.yaml") << "\"]\n"
                        << "scrape_configs:\n"
                        << "  - job_name: hotpath\n"
                        << "    static_configs: [{targets: [\"" << process_.metrics_address()
                        << "\"]}]\n";
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  auto prometheus = Subprocess::Spawn({kPrometheus, "--config.file=" + config,
                                       "--storage.tsdb.path=" + prometheus_dir + "/data",
                                       "--web.listen-address=" + address, "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // The value of an instant query, once it has one (bounded wait for scrapes).
  const auto query = [&](const std::string& expr) -> std::string {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      const std::optional<std::string> body =
          HttpGet(address, "/api/v1/query?query=" + UrlEncode(expr), absl::Seconds(5));
      const size_t at = body.has_value() ? body->find("\"value\":[") : std::string::npos;
      if (at != std::string::npos) {
        const size_t open = body->find(",\"", at);
        const size_t close = body->find('"', open + 2);
        return body->substr(open + 2, close - open - 2);
      }
      if (!ScrapeTick(**prometheus)) break;
    }
    return "no answer";
  };
  EXPECT_EQ(query("hotpath_pubsub_published_total"), "2");
  EXPECT_EQ(query("hotpath_pubsub_group_acked_total"), "2");
  EXPECT_EQ(query("hotpath_sessions_active"), "1");
  EXPECT_EQ(query("hotpath_leaderboard_members{board=\"weekly\"}"), "1");
  EXPECT_EQ(query("hotpath_ratelimit_decisions_total{policy=\"api\",outcome=\"denied\"}"), "1");
  EXPECT_EQ(query("hotpath_ratelimit_near_limit_total{policy=\"api\"}"), "1");
  EXPECT_EQ(query("hotpath_grpc_server_handled_total{grpc_service=\"hotpath.session.v1."
                  "SessionService\",grpc_method=\"Create\",grpc_code=\"OK\"}"),
            "1");
  EXPECT_EQ(query("hotpath_aof_healthy"), "1");
  EXPECT_EQ(query("sum(hotpath_aof_fsync_duration_seconds_count) > 0"),
            query("sum(hotpath_aof_fsync_duration_seconds_count)"));
  EXPECT_EQ(query("up{job=\"hotpath\"}"), "1");
  // Every service's calls are in Prometheus (a query without series never answers).
  for (const char* service :
       {"hotpath.admin.v1.AdminService", "grpc.health.v1.Health",
        "hotpath.ratelimit.v1.RateLimiterService", "envoy.service.ratelimit.v3.RateLimitService",
        "hotpath.session.v1.SessionService", "hotpath.leaderboard.v1.LeaderboardService",
        "hotpath.pubsub.v1.PubSubService"}) {
    const std::string calls = query(
        absl::StrCat("sum(hotpath_grpc_server_handled_total{grpc_service=\"", service, "\"})"));
    double count = 0;
    EXPECT_TRUE(absl::SimpleAtod(calls, &count) && count > 0) << service << ": " << calls;
  }

  // Every rule evaluated at least once (a rule not yet run has the zero time), then healthy.
  std::optional<std::string> rules;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    rules = HttpGet(address, "/api/v1/rules");
    if (rules.has_value() && absl::StrContains(*rules, "\"health\":\"ok\"") &&
        !absl::StrContains(*rules, "0001-01-01T00:00:00Z")) {
      break;
    }
    if (!ScrapeTick(**prometheus)) break;
  } while (absl::Now() < deadline);
  ASSERT_TRUE(rules.has_value());
  EXPECT_THAT(*rules, Not(HasSubstr("0001-01-01T00:00:00Z"))) << "rules never evaluated";
  for (const char* group : {"hotpath-persistence", "hotpath-memory", "hotpath-traffic",
                            "hotpath-streams", "hotpath-sessions"}) {
    EXPECT_THAT(*rules, HasSubstr(absl::StrCat("\"name\":\"", group, "\"")));
  }
  EXPECT_THAT(*rules, Not(HasSubstr("\"health\":\"err\"")));
  EXPECT_THAT(*rules, Not(HasSubstr("\"health\":\"unknown\"")));
  (*prometheus)->Signal(SIGTERM);
  EXPECT_TRUE((*prometheus)->Wait(absl::Seconds(30)).has_value());
}

TEST_F(ObservabilityTest, InfoAndSlowlogReportAndLogsKeepSecretsOut) {
  ASSERT_NO_FATAL_FAILURE(DriveTraffic());
  auto admin = admin::v1::AdminService::NewStub(channel_);
  admin::v1::GetInfoResponse info;
  ASSERT_TRUE(admin->GetInfo(Context().get(), {}, &info).ok());
  EXPECT_EQ(info.keys_by_type().at("stream"), 2);  // the topic's, and session events'
  EXPECT_GE(info.keys_by_type().at("sorted_set"), 1);
  EXPECT_GE(info.slow_calls_total(), 10u);  // every call is slow at 1 ns
  EXPECT_EQ(info.persistence().fsync(), "always");

  admin::v1::GetSlowlogRequest request;
  request.set_max_entries(3);
  request.set_reset(true);
  admin::v1::GetSlowlogResponse slow;
  ASSERT_TRUE(admin->GetSlowlog(Context().get(), request, &slow).ok());
  ASSERT_EQ(slow.calls_size(), 3);
  EXPECT_EQ(slow.calls(0).method(), "/hotpath.admin.v1.AdminService/GetInfo");
  EXPECT_GT(slow.calls(0).id(), slow.calls(1).id());  // newest first
  EXPECT_EQ(slow.calls(0).code(), "OK");
  for (const auto& call : slow.calls()) {
    EXPECT_THAT(call.method(), Not(HasSubstr("Consume")));  // streams are not slow calls
  }
  // The reset forgot everything before it: only the calls since (GetSlowlog itself) remain.
  admin::v1::GetSlowlogResponse after_reset;
  ASSERT_TRUE(admin->GetSlowlog(Context().get(), {}, &after_reset).ok());
  ASSERT_GE(after_reset.calls_size(), 1);
  for (const auto& call : after_reset.calls()) {
    EXPECT_EQ(call.method(), "/hotpath.admin.v1.AdminService/GetSlowlog");
    EXPECT_GT(call.id(), slow.calls(0).id());
  }

  process_.Signal(SIGTERM);
  const auto exit = process_.WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  for (absl::string_view line : absl::StrSplit(exit->stdout_text, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "ts=")) << line;
    EXPECT_THAT(line, HasSubstr(" level=")) << line;
    EXPECT_THAT(line, HasSubstr(" event=")) << line;
  }
  EXPECT_THAT(exit->stdout_text, HasSubstr("event=stopped"));
  const std::string everything = exit->stdout_text + exit->stderr_text;
  EXPECT_THAT(everything, Not(HasSubstr(token_)));
  EXPECT_THAT(everything, Not(HasSubstr(kPayloadMarker)));
}

TEST(ObservabilityLogTest, JsonLogsAreOneObjectPerLine) {
  const std::string dir = MakeTempDir("json-log");
  auto process = Subprocess::Spawn({testing::HotpathdPath(), "--server.grpc_address=127.0.0.1:0",
                                    "--server.metrics_address=127.0.0.1:0",
                                    "--persistence.data_dir=" + dir, "--log.format=json"});
  ASSERT_TRUE(process.ok());
  ASSERT_TRUE((*process)->WaitForOutput("\"event\":\"serving\"", absl::Seconds(30)))
      << (*process)->stdout_text() << (*process)->stderr_text();
  (*process)->Signal(SIGTERM);
  ASSERT_EQ((*process)->Wait(absl::Seconds(30)), 0);
  for (absl::string_view line :
       absl::StrSplit((*process)->stdout_text(), '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts\":\"") && absl::EndsWith(line, "}")) << line;
  }
  EXPECT_THAT((*process)->stdout_text(), HasSubstr("\"event\":\"stopped\""));
}

// engine.max_memory: writes that add data are refused at the cap, rate-limit checks and
// deletions go on, and freeing memory lets writes in again.
TEST(MemoryCapTest, AtTheCapWritesThatAddDataAreRefusedAndDeletesFreeRoom) {
  const std::string dir = MakeTempDir("memory-cap");
  HotpathdProcess process;
  ASSERT_TRUE(
      process.Start({"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
                     "--persistence.data_dir=" + dir, "--engine.max_memory=300000"}))
      << process.last_output();
  auto channel = grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials());
  auto pubsub = pubsub::v1::PubSubService::NewStub(channel);
  const auto publish = [&] {
    pubsub::v1::PublishRequest request;
    request.set_topic("fill");
    request.mutable_message()->set_payload(std::string(1000, 'x'));
    pubsub::v1::PublishResponse response;
    return pubsub->Publish(Context().get(), request, &response);
  };
  grpc::Status refused;
  for (int i = 0; i < 2000 && refused.ok(); ++i) refused = publish();
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << "never refused";
  EXPECT_THAT(refused.error_message(), HasSubstr("engine.max_memory"));

  auto sessions = session::v1::SessionService::NewStub(channel);
  session::v1::CreateRequest create;
  create.set_user_id("bob");
  session::v1::CreateResponse created;
  EXPECT_EQ(sessions->Create(Context().get(), create, &created).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto limiter = ratelimit::v1::RateLimiterService::NewStub(channel);
  ratelimit::v1::CheckRequest check;
  check.set_key("client");
  auto* limit = check.add_limits();
  limit->set_algorithm(ratelimit::v1::ALGORITHM_TOKEN_BUCKET);
  limit->set_limit(10);
  limit->mutable_period()->set_seconds(1);
  limit->set_burst(10);
  ratelimit::v1::CheckResponse checked;
  EXPECT_TRUE(limiter->Check(Context().get(), check, &checked).ok());
  const std::optional<std::string> metrics = HttpGet(process.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_engine_memory_limit_bytes"), 300000);
  EXPECT_GE(PrometheusValue(*metrics, "hotpath_engine_memory_bytes").value_or(0), 300000);

  pubsub::v1::DeleteTopicRequest remove;
  remove.set_topic("fill");
  pubsub::v1::DeleteTopicResponse removed;
  ASSERT_TRUE(pubsub->DeleteTopic(Context().get(), remove, &removed).ok());
  EXPECT_TRUE(publish().ok());
}

// engine.max_memory with rate-limit state held: at the cap, limiter state is evicted (engine/
// expiry_test.cc checks the least recently changed goes first), just enough of it, and counted,
// and then data is accepted again; the data that is never evicted (here a topic) stays whole.
TEST(MemoryCapTest, AtTheCapRateLimitStateIsEvictedToMakeRoom) {
  const std::string dir = MakeTempDir("memory-evict");
  HotpathdProcess process;
  ASSERT_TRUE(
      process.Start({"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
                     "--persistence.data_dir=" + dir, "--engine.max_memory=300000",
                     "--engine.expiry_interval=10ms"}))
      << process.last_output();
  auto channel = grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials());
  auto limiter = ratelimit::v1::RateLimiterService::NewStub(channel);
  // Takes `cost` of 10 from `key`'s bucket (0 only looks) and returns what remains. A token
  // bucket's state lives until it would be full again, so its deadline follows its last change.
  const auto check = [&](int key, uint64_t cost) {
    ratelimit::v1::CheckRequest request;
    request.set_key(absl::StrCat("key", key));
    request.set_cost(cost);
    auto* limit = request.add_limits();
    limit->set_algorithm(ratelimit::v1::ALGORITHM_TOKEN_BUCKET);
    limit->set_limit(10);
    limit->set_burst(10);
    limit->mutable_period()->set_seconds(3600);
    ratelimit::v1::CheckResponse response;
    EXPECT_TRUE(limiter->Check(Context().get(), request, &response).ok()) << key;
    return response.remaining();
  };
  constexpr int kKeys = 500;  // far more state than one message needs freed
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(check(i, 5), 5u);

  auto pubsub = pubsub::v1::PubSubService::NewStub(channel);
  int accepted = 0;
  grpc::Status status;
  while (accepted < 2000) {
    pubsub::v1::PublishRequest request;
    request.set_topic("fill");
    request.mutable_message()->set_payload(std::string(1000, 'x'));
    pubsub::v1::PublishResponse response;
    status = pubsub->Publish(Context().get(), request, &response);
    if (!status.ok()) break;
    ++accepted;
  }
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << "never refused";

  // Publishing is refused while memory is at the cap; the sweeper's next round (every 10 ms
  // here) evicts limiter state until memory is under it. Bounded wait for that.
  const auto metric = [&](const char* name) -> double {
    const std::optional<std::string> metrics = HttpGet(process.metrics_address(), "/metrics");
    return metrics.has_value() ? PrometheusValue(*metrics, name).value_or(0) : -1;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (metric("hotpath_engine_memory_bytes") >= 300000 && absl::Now() < deadline) {
  }
  // Evicted state starts full again; the rest kept what was taken. Only as much went as gets
  // memory under the cap: a round evicts in batches of a few keys.
  int lost = 0;
  for (int i = 0; i < kKeys; ++i) lost += check(i, 0) == 10 ? 1 : 0;
  EXPECT_GT(lost, 0);
  EXPECT_LT(lost, kKeys);
  EXPECT_EQ(metric("hotpath_engine_evicted_keys_total"), lost);
  const double memory = metric("hotpath_engine_memory_bytes");
  EXPECT_LT(memory, 300000);
  EXPECT_GT(memory, 300000 - 4096) << "more evicted than the cap needed";
  // Under the cap again, data is accepted again.
  pubsub::v1::PublishRequest again;
  again.set_topic("fill");
  again.mutable_message()->set_payload("small");
  pubsub::v1::PublishResponse published;
  ASSERT_TRUE(pubsub->Publish(Context().get(), again, &published).ok());
  ++accepted;

  // Every message acknowledged before the refusal is still there.
  pubsub::v1::GetTopicRequest get;
  get.set_topic("fill");
  pubsub::v1::GetTopicResponse topic;
  ASSERT_TRUE(pubsub->GetTopic(Context().get(), get, &topic).ok());
  EXPECT_EQ(topic.topic().messages(), static_cast<uint64_t>(accepted));
}

}  // namespace
}  // namespace hotpath
