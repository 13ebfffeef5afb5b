#include "services/server/config.h"

#include <unistd.h>

#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/config_test_", getpid(), "_", name);
  std::ofstream(path) << text;
  return path;
}

TEST(LoadConfig, DefaultsServeOnLoopbackWithPersistenceOn) {
  auto loaded = LoadConfig({}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->command, Command::kServe);
  EXPECT_EQ(loaded->config.grpc_address, "127.0.0.1:7070");
  EXPECT_EQ(loaded->config.metrics_address, "127.0.0.1:9464");
  EXPECT_TRUE(loaded->config.persistence_enabled);
  EXPECT_EQ(loaded->config.data_dir, "./data");
  EXPECT_EQ(loaded->config.scheduling, SchedulingPolicy::kBatch);
  EXPECT_EQ(LoadConfig({"--server.scheduling=normal"}, {})->config.scheduling,
            SchedulingPolicy::kNormal);
}

TEST(LoadConfig, FileThenEnvironmentThenFlagsEachOverrideTheLast) {
  const std::string file = WriteFile("precedence.yaml",
                                     "server:\n"
                                     "  grpc_address: 127.0.0.1:1000\n"
                                     "  metrics_address: 127.0.0.1:2000\n"
                                     "engine:\n"
                                     "  shards: 4\n"
                                     "persistence:\n"
                                     "  enabled: false\n");
  const Env env = {{"HOTPATH_SERVER_METRICS_ADDRESS", "127.0.0.1:3000"},
                   {"HOTPATH_ENGINE_SHARDS", "8"},
                   {"PATH", "/usr/bin"}};
  auto loaded = LoadConfig({"--config", file, "--engine.shards=32"}, env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.grpc_address, "127.0.0.1:1000");     // file
  EXPECT_EQ(loaded->config.metrics_address, "127.0.0.1:3000");  // env over file
  EXPECT_EQ(loaded->config.shards, 32u);                        // flag over env and file
  EXPECT_FALSE(loaded->config.persistence_enabled);
  EXPECT_EQ(loaded->config_file, file);
}

TEST(LoadConfig, HotpathConfigNamesTheFileAndTheFlagWins) {
  const std::string a = WriteFile("a.yaml", "engine: {shards: 2}\n");
  const std::string b = WriteFile("b.yaml", "engine: {shards: 64}\n");
  EXPECT_EQ(LoadConfig({}, {{"HOTPATH_CONFIG", a}})->config.shards, 2u);
  EXPECT_EQ(LoadConfig({"--config=" + b}, {{"HOTPATH_CONFIG", a}})->config.shards, 64u);
}

TEST(LoadConfig, DurationsParse) {
  auto loaded = LoadConfig({"--server.drain_timeout=1500ms", "--engine.expiry_interval", "2s"}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.drain_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(loaded->config.expiry_interval, absl::Seconds(2));
}

struct BadInput {
  std::vector<std::string> args;
  Env env;
  std::string expected;
};

class LoadConfigErrors : public ::testing::TestWithParam<BadInput> {};

TEST_P(LoadConfigErrors, NameTheSourceAndTheProblem) {
  auto loaded = LoadConfig(GetParam().args, GetParam().env);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr(GetParam().expected));
  EXPECT_EQ(loaded.status().message().find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    All, LoadConfigErrors,
    ::testing::Values(
        BadInput{{"--nope=1"}, {}, "unknown flag --nope"},
        BadInput{{"stray"}, {}, "unexpected argument \"stray\""},
        BadInput{{"--engine.shards=3"}, {}, "flag --engine.shards: must be a power of two"},
        BadInput{{"--engine.shards=many"}, {}, "flag --engine.shards: expected a non-negative"},
        BadInput{{"--server.grpc_address=localhost"}, {}, "expected host:port"},
        BadInput{{"--server.grpc_address=h:70000"}, {}, "expected host:port"},
        BadInput{{"--server.drain_timeout=soon"}, {}, "expected a positive duration"},
        BadInput{{"--server.drain_timeout=-1s"}, {}, "expected a positive duration"},
        BadInput{{"--persistence.enabled=maybe"}, {}, "expected true or false"},
        BadInput{{"--persistence.fsync=sometimes"}, {}, "fsync must be always, everysec or no"},
        BadInput{{"--persistence.data_dir="}, {}, "must not be empty"},
        BadInput{{"--server.scheduling=fifo"},
                 {},
                 "flag --server.scheduling: expected batch or normal, got \"fifo\""},
        BadInput{{"--engine.shards"}, {}, "flag --engine.shards needs a value"},
        BadInput{{"--session.default_idle_timeout=2h", "--session.default_lifetime=1h"},
                 {},
                 "session.default_lifetime must not be shorter than session.default_idle_timeout"},
        BadInput{{"--session.default_lifetime=9000h"}, {}, "must be between 1s and 366 days"},
        BadInput{{"--help=yes"}, {}, "flag --help takes no value"},
        BadInput{{"--config=/nonexistent/hotpath.yaml"},
                 {},
                 "config file /nonexistent/hotpath.yaml: cannot be read"},
        BadInput{{},
                 {{"HOTPATH_ENGINE_SHARD", "4"}},
                 "environment variable HOTPATH_ENGINE_SHARD: unknown option"},
        BadInput{{},
                 {{"HOTPATH_ENGINE_SHARDS", "5"}},
                 "environment variable HOTPATH_ENGINE_SHARDS: must be a power of two"}));

TEST(LoadConfig, KubernetesServiceLinksAreNotTakenForTypos) {
  // What a pod gets next to Services named hotpath and hotpath-metrics.
  const Env env = {{"HOTPATH_SERVICE_HOST", "10.96.0.12"},
                   {"HOTPATH_SERVICE_PORT", "7070"},
                   {"HOTPATH_SERVICE_PORT_GRPC", "7070"},
                   {"HOTPATH_PORT", "tcp://10.96.0.12:7070"},
                   {"HOTPATH_PORT_7070_TCP", "tcp://10.96.0.12:7070"},
                   {"HOTPATH_PORT_7070_TCP_PROTO", "tcp"},
                   {"HOTPATH_PORT_7070_TCP_PORT", "7070"},
                   {"HOTPATH_PORT_7070_TCP_ADDR", "10.96.0.12"},
                   {"HOTPATH_METRICS_SERVICE_HOST", "10.96.0.13"},
                   {"HOTPATH_METRICS_PORT_9464_TCP_ADDR", "10.96.0.13"},
                   {"HOTPATH_ENGINE_SHARDS", "8"}};
  auto loaded = LoadConfig({}, env);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.shards, 8u);
  // No option's variable looks like a link (it would be ignored).
  const std::string usage = UsageText();
  const std::regex variable("\\((HOTPATH_[A-Z0-9_]+)\\)");
  int options = 0;
  for (std::sregex_iterator it(usage.begin(), usage.end(), variable), end; it != end; ++it) {
    ++options;
    EXPECT_FALSE(IsServiceLinkVariable((*it)[1])) << (*it)[1];
  }
  EXPECT_GT(options, 40);
}

TEST(LoadConfig, FileErrorsNameTheFileAndTheKey) {
  const std::string typo = WriteFile("typo.yaml", "server:\n  grpc_adress: 127.0.0.1:1\n");
  EXPECT_THAT(
      LoadConfig({"--config", typo}, {}).status().message(),
      HasSubstr(absl::StrCat("config file ", typo, ": server.grpc_adress: unknown option")));

  const std::string broken = WriteFile("broken.yaml", "server: [unclosed\n");
  auto status = LoadConfig({"--config", broken}, {}).status();
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("config file ", broken, ": ")));

  const std::string list = WriteFile("list.yaml", "engine:\n  shards: [1, 2]\n");
  EXPECT_THAT(LoadConfig({"--config", list}, {}).status().message(),
              HasSubstr("engine.shards must be a single value"));
}

TEST(LoadConfig, AnEmptyFileChangesNothing) {
  const std::string empty = WriteFile("empty.yaml", "");
  auto loaded = LoadConfig({"--config", empty}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.shards, ServerConfig().shards);
}

TEST(LoadConfig, CommandsAreRecognised) {
  EXPECT_EQ(LoadConfig({"--help"}, {})->command, Command::kHelp);
  EXPECT_EQ(LoadConfig({"--version"}, {})->command, Command::kVersion);
  EXPECT_EQ(LoadConfig({"--check-config"}, {})->command, Command::kCheckConfig);
}

TEST(ConfigToYaml, RoundTripsThroughLoadConfig) {
  ServerConfig config;
  config.shards = 128;
  config.drain_timeout = absl::Milliseconds(2500);
  config.persistence_enabled = false;
  config.scheduling = SchedulingPolicy::kNormal;
  config.data_dir = "/tmp/odd \"quoted\" \\ path: #not a comment";
  const std::string file = WriteFile("roundtrip.yaml", ConfigToYaml(config));
  auto loaded = LoadConfig({"--config", file}, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(ConfigToYaml(loaded->config), ConfigToYaml(config));
  EXPECT_EQ(loaded->config.shards, 128u);
  EXPECT_EQ(loaded->config.data_dir, config.data_dir);
  // Each section is one map: strict YAML readers refuse a key written twice.
  const std::string yaml = ConfigToYaml(config);
  for (const char* section : {"server:", "engine:", "persistence:", "ratelimit:", "session:"}) {
    size_t count = 0;
    for (size_t at = yaml.find(absl::StrCat("\n", section)); at != std::string::npos;
         at = yaml.find(absl::StrCat("\n", section), at + 1)) {
      ++count;
    }
    count += yaml.rfind(section, 0) == 0 ? 1 : 0;
    EXPECT_EQ(count, 1u) << section << " in\n" << yaml;
  }
}

TEST(UsageText, ListsEveryOptionWithItsEnvironmentVariable) {
  const std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("--server.grpc_address  (HOTPATH_SERVER_GRPC_ADDRESS)"));
  EXPECT_THAT(usage, HasSubstr("--persistence.data_dir  (HOTPATH_PERSISTENCE_DATA_DIR)"));
  EXPECT_THAT(usage, HasSubstr("default 16"));
}

TEST(IsLocalAddress, OnlyLoopbackAndUnixSocketsAre) {
  for (const char* local : {"127.0.0.1:7070", "127.9.9.9:1", "localhost:7070", "[::1]:7070",
                            "unix:/run/hotpath.sock"}) {
    EXPECT_TRUE(IsLocalAddress(local)) << local;
  }
  for (const char* remote : {"0.0.0.0:7070", "[::]:7070", "10.0.0.1:7070", "127.example.com:7070",
                             "1270.0.0.1:7070", "hotpath:7070"}) {
    EXPECT_FALSE(IsLocalAddress(remote)) << remote;
  }
}

TEST(LoadConfig, TlsOptionsGoTogetherAndPlaintextOffLoopbackNeedsTheOptIn) {
  auto key_alone = LoadConfig({"--tls.key_file=/k.pem"}, {});
  EXPECT_THAT(std::string(key_alone.status().message()), HasSubstr("go together"));
  auto ca_alone = LoadConfig({"--tls.client_ca_file=/ca.pem"}, {});
  EXPECT_THAT(std::string(ca_alone.status().message()), HasSubstr("needs tls.cert_file"));
  auto open = LoadConfig({"--server.grpc_address=0.0.0.0:7070"}, {});
  EXPECT_THAT(std::string(open.status().message()), HasSubstr("server.allow_plaintext=true"));
  EXPECT_TRUE(LoadConfig({"--server.grpc_address=0.0.0.0:7070", "--tls.cert_file=/c.pem",
                          "--tls.key_file=/k.pem"},
                         {})
                  .ok());
  EXPECT_FALSE(LoadConfig({"--tls.reload_interval=1500ms"}, {}).ok());
  EXPECT_FALSE(LoadConfig({"--server.max_metadata_bytes=100"}, {}).ok());
}

}  // namespace
}  // namespace hotpath
