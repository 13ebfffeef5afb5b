// hotpathd: the hotpath server. See `hotpathd --help` and docs/configuration.md.
//
// SIGHUP reloads the rate-limit policy files (ratelimit.policy_file, ratelimit.envoy_config) and
// the access file (auth.access_file).
// Logs go to stdout, one event per line (services/common/log.h, docs/observability.md); a
// start-up failure is also written to stderr as plain text.
// Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the server cannot start
// (address in use, data directory locked, a corrupt log) or stops without flushing its log, 2
// for bad flags or configuration.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/log.h"
#include "services/common/version.h"
#include "services/server/check_config.h"
#include "services/server/config.h"
#include "services/server/scheduling.h"
#include "services/server/server.h"

namespace {

constexpr int kExitFailed = 1;  // cannot start, or stopped without flushing the log
constexpr int kExitBadConfig = 2;

std::string Count(uint64_t n) { return absl::StrCat(n); }

int Serve(const hotpath::ServerConfig& config, const sigset_t& stop_signals) {
  using hotpath::Log;
  using hotpath::LogAlways;
  using hotpath::LogLevel;
  // Before Start, so that every thread the server starts inherits the policy.
  if (std::optional<std::string> kept = hotpath::KeptSchedulingPolicy()) {
    Log(LogLevel::kInfo, "scheduling_kept", {{"policy", *kept}});
  } else if (absl::Status applied = hotpath::ApplySchedulingPolicy(config.scheduling);
             !applied.ok()) {
    Log(LogLevel::kWarn, "scheduling_not_applied", {{"error", std::string(applied.message())}});
  }
  auto server = hotpath::HotpathServer::Start(config);
  if (!server.ok()) {
    const std::string error(server.status().message());
    Log(LogLevel::kError, "start_failed", {{"error", error}});
    std::fprintf(stderr, "hotpathd: cannot start: %s\n", error.c_str());
    return kExitFailed;
  }
  if (config.persistence_enabled) {
    const hotpath::DirectoryRecoveryStats& recovery = (*server)->recovery();
    Log(LogLevel::kInfo, "recovered",
        {{"base_keys", Count(recovery.base.keys)},
         {"records", Count(recovery.records)},
         {"duration", absl::FormatDuration(recovery.duration)},
         {"torn_bytes", Count(recovery.torn_bytes)},
         {"torn_file", recovery.torn_file},
         {"torn_problem", recovery.torn_problem},
         {"shard_count_changed", recovery.shard_count_changed ? "true" : "false"}});
  }
  LogAlways("serving",
            {{"version", hotpath::kVersion},
             {"grpc", (*server)->grpc_address()},
             {"metrics", absl::StrCat("http://", (*server)->metrics_address(), "/metrics")},
             {"data", (*server)->data_dir()},
             {"shards", Count(config.shards)},
             {"fsync", config.persistence_enabled ? config.fsync : std::string("off")}});

  int signal_number = 0;
  while (true) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // A bad file is reported and the policies in force stay.
    const absl::Status reloaded = (*server)->ReloadFiles();
    if (reloaded.ok()) {
      Log(LogLevel::kInfo, "files_reloaded", {{"trigger", "SIGHUP"}});
    } else {
      Log(LogLevel::kWarn, "files_not_reloaded",
          {{"trigger", "SIGHUP"}, {"error", std::string(reloaded.message())}});
    }
  }
  Log(LogLevel::kInfo, "draining",
      {{"signal", strsignal(signal_number)},
       {"timeout", absl::FormatDuration(config.drain_timeout)}});
  const absl::Status flushed = (*server)->Shutdown();
  if (!flushed.ok()) {
    const std::string error(flushed.message());
    Log(LogLevel::kError, "stop_failed", {{"error", error}});
    std::fprintf(stderr, "hotpathd: stopped, but the log could not be flushed: %s\n",
                 error.c_str());
    return kExitFailed;
  }
  LogAlways("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil checks every Mutex acquisition for lock-order cycles, which costs several
  // percent of an RPC; lock order here is fixed by design (see docs/architecture.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals before any thread exists, so every thread inherits the mask and only
  // sigwait in Serve sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload rate-limit policies
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = hotpath::LoadConfig(args, hotpath::ProcessEnvironment());
  if (!loaded.ok()) {
    std::fprintf(stderr, "hotpathd: %s\n", std::string(loaded.status().message()).c_str());
    return kExitBadConfig;
  }
  hotpath::ConfigureLog(loaded->config.log_level, loaded->config.log_format);
  switch (loaded->command) {
    case hotpath::Command::kHelp:
      std::fputs(hotpath::UsageText().c_str(), stdout);
      return 0;
    case hotpath::Command::kVersion:
      std::printf("hotpathd %s (%s)\n", hotpath::kVersion, hotpath::kCompiler);
      return 0;
    case hotpath::Command::kCheckConfig:
      if (absl::Status files = hotpath::CheckConfigFiles(loaded->config); !files.ok()) {
        std::fprintf(stderr, "hotpathd: %s\n", std::string(files.message()).c_str());
        return kExitBadConfig;
      }
      std::fputs(hotpath::ConfigToYaml(loaded->config).c_str(), stdout);
      return 0;
    case hotpath::Command::kServe:
      break;
  }
  return Serve(loaded->config, stop_signals);
}
