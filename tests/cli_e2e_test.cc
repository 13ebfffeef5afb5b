// The `hotpath` CLI against the real hotpathd: every command group, table and JSON output, exit
// statuses, and TLS with an API key.
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/auth/access_rules.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the CLI to its exit (bounded); fails the test if it does not exit.
CliResult RunCli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {HOTPATH_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Spawn(argv);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {};
  const std::optional<int> code = (*process)->Wait(absl::Seconds(30));
  EXPECT_TRUE(code.has_value()) << "hotpath " << absl::StrJoin(args, " ") << " did not exit";
  return {code.value_or(-1), (*process)->stdout_text(), (*process)->stderr_text()};
}

// The value of "field":"value" in one line of JSON.
std::string JsonString(const std::string& json, const std::string& field) {
  std::smatch match;
  const std::regex pattern("\"" + field + "\":\"([^\"]*)\"");
  return std::regex_search(json, match, pattern) ? match[1].str() : "";
}

class CliE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cli_e2e");
    std::ofstream(dir_ + "/policies.yaml") << "policies:\n  - name: api\n    limits: [{algorithm: "
                                              "sliding_window, limit: 1, period: 1h}]\n";
    ASSERT_TRUE(
        process_.Start({"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
                        "--persistence.data_dir=" + dir_ + "/data",
                        "--ratelimit.policy_file=" + dir_ + "/policies.yaml"}))
        << process_.last_output();
  }

  // The CLI with --target set to this server.
  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), "--target=" + process_.grpc_address());
    return RunCli(args);
  }

  std::string dir_;
  HotpathdProcess process_;
};

TEST_F(CliE2eTest, SessionCreateGetListRevoke) {
  CliResult created = Cli({"--json", "session", "create", "alice", "--attr", "role=admin",
                           "--idle=10m", "--ip=10.0.0.7"});
  ASSERT_EQ(created.code, 0) << created.err;
  const std::string token = JsonString(created.out, "token");
  const std::string session_id = JsonString(created.out, "session_id");
  ASSERT_FALSE(token.empty()) << created.out;

  CliResult got = Cli({"session", "get", token});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_THAT(got.out, ContainsRegex("session.user_id +alice\n"));
  EXPECT_THAT(got.out, ContainsRegex("session.attributes\\[role\\] +admin\n"));
  EXPECT_THAT(got.out, ContainsRegex("session.idle_timeout +10m\n"));

  CliResult listed = Cli({"session", "list", "alice"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, ContainsRegex("^SESSION_ID +CREATED +LAST_SEEN +EXPIRES +IP"));
  EXPECT_THAT(listed.out, ContainsRegex(session_id + " .* 10\\.0\\.0\\.7 "));

  EXPECT_EQ(Cli({"session", "revoke", token}).out, "revoked\n");
  CliResult gone = Cli({"session", "get", token});
  EXPECT_EQ(gone.code, 1);
  EXPECT_THAT(gone.err, HasSubstr("Get: NOT_FOUND"));
  EXPECT_THAT(Cli({"--json", "session", "list", "alice"}).out, Not(HasSubstr(session_id)));
}

TEST_F(CliE2eTest, RateLimitCheckExitsThreeWhenDeniedAndResetClears) {
  const std::vector<std::string> limit = {"--limit=2", "--period=1h", "--algorithm=sliding-window"};
  auto check = [&](const std::string& key) {
    std::vector<std::string> args = {"ratelimit", "check", key};
    args.insert(args.end(), limit.begin(), limit.end());
    return Cli(args);
  };
  EXPECT_EQ(check("k").code, 0);
  CliResult second = check("k");
  EXPECT_EQ(second.code, 0);
  EXPECT_THAT(second.out, ContainsRegex("OUTCOME_ALLOWED +2 +0 "));
  CliResult denied = check("k");
  EXPECT_EQ(denied.code, 3);
  EXPECT_THAT(denied.out, HasSubstr("OUTCOME_DENIED"));

  std::vector<std::string> reset = {"ratelimit", "reset", "k"};
  reset.insert(reset.end(), limit.begin(), limit.end());
  EXPECT_EQ(Cli(reset).out, "reset\n");
  EXPECT_EQ(check("k").code, 0);

  // A named policy from the server's policy file, checked and reset by name.
  EXPECT_EQ(Cli({"ratelimit", "check", "u1", "--policy=api"}).code, 0);
  EXPECT_EQ(Cli({"ratelimit", "check", "u1", "--policy=api"}).code, 3);
  EXPECT_EQ(Cli({"ratelimit", "reset", "u1", "--policy=api"}).code, 0);
  EXPECT_EQ(Cli({"ratelimit", "check", "u1", "--policy=api"}).code, 0);
  CliResult unknown = Cli({"ratelimit", "check", "u1", "--policy=nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("Check: NOT_FOUND"));
}

TEST_F(CliE2eTest, LeaderboardSubmitTopRankAround) {
  ASSERT_EQ(Cli({"leaderboard", "create", "arena", "--order=descending"}).code, 0);
  for (const auto& [member, score] : std::vector<std::pair<std::string, std::string>>{
           {"ann", "10"}, {"bob", "30"}, {"cy", "20"}}) {
    CliResult submitted = Cli({"leaderboard", "submit", "arena", member, score});
    ASSERT_EQ(submitted.code, 0) << submitted.err;
  }
  CliResult top = Cli({"leaderboard", "top", "arena", "--limit=2"});
  ASSERT_EQ(top.code, 0) << top.err;
  EXPECT_THAT(top.out, ContainsRegex("RANK +MEMBER +SCORE +METADATA\n1 +bob +30 *\n2 +cy +20 *\n"
                                     "total 3; next page: --cursor=\\S+\n"));
  EXPECT_THAT(Cli({"leaderboard", "rank", "arena", "cy"}).out, ContainsRegex("\n2 +cy +20"));
  EXPECT_THAT(Cli({"leaderboard", "around", "arena", "cy", "--above=1", "--below=1"}).out,
              ContainsRegex("\n1 +bob +30 *\n2 +cy +20 *\n3 +ann +10 *\n"));
  EXPECT_THAT(Cli({"--json", "leaderboard", "rank", "arena", "ann"}).out,
              HasSubstr("\"rank\":\"3\""));
  EXPECT_THAT(Cli({"leaderboard", "list"}).out, ContainsRegex("arena +3 +1 +-"));
  CliResult bad = Cli({"leaderboard", "create", "other", "--order=sideways"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--order must be one of descending, ascending"));
}

TEST_F(CliE2eTest, PubSubPublishAndTailFromTheStart) {
  CliResult first = Cli({"--json", "pubsub", "publish", "orders", "first", "--header=kind=new"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string id = JsonString(first.out, "id");
  ASSERT_FALSE(id.empty()) << first.out;
  ASSERT_EQ(Cli({"pubsub", "publish", "orders", "second"}).code, 0);

  CliResult tail = Cli({"pubsub", "tail", "orders", "--from=earliest", "--count=2"});
  ASSERT_EQ(tail.code, 0) << tail.err;
  EXPECT_THAT(tail.out,
              ContainsRegex("^" + id + "  orders  first  kind=new\n\\S+  orders  second\n$"));
  // Resuming after the first message.
  CliResult resumed = Cli({"--json", "pubsub", "tail", "orders", "--from=" + id, "--count=1"});
  EXPECT_THAT(resumed.out, HasSubstr("\"payload\":\"c2Vjb25k\""));  // "second", base64
  EXPECT_THAT(Cli({"pubsub", "topics"}).out, ContainsRegex("orders +2 +" + id));
}

TEST_F(CliE2eTest, AdminInfoSnapshotRewriteSlowlog) {
  EXPECT_THAT(Cli({"admin", "ping"}).out, HasSubstr("PONG"));
  CliResult healthy = Cli({"admin", "health"});
  EXPECT_EQ(healthy.code, 0);
  EXPECT_EQ(healthy.out, "SERVING\n");
  CliResult unknown = Cli({"admin", "health", "--service=no.such.Service"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("Check: NOT_FOUND"));
  CliResult info = Cli({"admin", "info"});
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_THAT(info.out, ContainsRegex("version +[0-9]+\\.[0-9]+\\.[0-9]+\n"));
  EXPECT_THAT(info.out, ContainsRegex("persistence.fsync +everysec\n"));
  CliResult snapshot = Cli({"admin", "snapshot"});
  ASSERT_EQ(snapshot.code, 0) << snapshot.err;
  EXPECT_THAT(snapshot.out, ContainsRegex("base_bytes +[1-9]"));
  EXPECT_EQ(Cli({"admin", "rewrite"}).code, 0);
  EXPECT_THAT(Cli({"--json", "admin", "info"}).out, HasSubstr("\"rewrites_completed\":\"2\""));
  CliResult slowlog = Cli({"admin", "slowlog"});
  ASSERT_EQ(slowlog.code, 0) << slowlog.err;
  EXPECT_THAT(slowlog.out, ContainsRegex("^ID +STARTED +DURATION +CODE +METHOD\n"));
  EXPECT_THAT(slowlog.out, ContainsRegex("threshold 10ms; [0-9]+ slow calls since start\n$"));
}

TEST(CliUsageTest, MistakesExitTwoWithUsageAndHelpExitsZero) {
  CliResult help = RunCli({"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* command : {"session create", "ratelimit check", "leaderboard around",
                              "pubsub tail", "admin slowlog"}) {
    EXPECT_THAT(help.out, HasSubstr(command));
  }
  CliResult unknown = RunCli({"session", "explode"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no command \"session explode\""));
  CliResult typo = RunCli({"ratelimit", "check", "k", "--limt=3"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_THAT(typo.err, HasSubstr("unknown option --limt"));
  CliResult missing = RunCli({"leaderboard", "submit", "arena", "ann"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("expected BOARD MEMBER SCORE"));
}

// TLS with a certificate the CLI is told to trust, and an API key from an access file.
TEST(CliSecurityTest, TlsAndApiKey) {
  const std::string dir = MakeTempDir("cli_tls");
  auto openssl = Subprocess::Spawn({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                                    "-keyout", dir + "/server.key", "-out", dir + "/server.pem"});
  ASSERT_TRUE(openssl.ok());
  ASSERT_EQ((*openssl)->Wait(absl::Seconds(60)), 0) << (*openssl)->stderr_text();
  std::ofstream(dir + "/access.yaml")
      << "keys:\n  - id: ops\n    sha256: " << auth::KeySha256Hex("hp-cli-secret")
      << "\n    scopes: ['*']\n    namespaces: ['*']\n";
  HotpathdProcess process;
  ASSERT_TRUE(process.Start(
      {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
       "--persistence.enabled=false", "--tls.cert_file=" + dir + "/server.pem",
       "--tls.key_file=" + dir + "/server.key", "--auth.access_file=" + dir + "/access.yaml"}))
      << process.last_output();
  const std::vector<std::string> tls = {"--target=" + process.grpc_address(),
                                        "--ca-file=" + dir + "/server.pem",
                                        "--server-name=localhost"};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), tls.begin(), tls.end());
    return RunCli(args);
  };
  CliResult anonymous = run({"admin", "info"});
  EXPECT_EQ(anonymous.code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("GetInfo: UNAUTHENTICATED"));
  CliResult wrong = run({"--api-key=hp-wrong", "admin", "info"});
  EXPECT_THAT(wrong.err, HasSubstr("UNAUTHENTICATED"));
  CliResult keyed = run({"--api-key=hp-cli-secret", "admin", "info"});
  EXPECT_EQ(keyed.code, 0) << keyed.err;
  EXPECT_THAT(keyed.out, HasSubstr("version"));
  // Without --ca-file the self-signed certificate is not trusted.
  CliResult untrusted =
      RunCli({"--target=" + process.grpc_address(), "--tls", "--server-name=localhost",
              "--api-key=hp-cli-secret", "--timeout=5s", "admin", "ping"});
  EXPECT_EQ(untrusted.code, 1);
  EXPECT_THAT(untrusted.err, HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace hotpath
