// hotpathd: the hotpath server. See `hotpathd --help` and docs/configuration.md.
//
// SIGHUP reloads the rate-limit policy files (ratelimit.policy_file, ratelimit.envoy_config).
// Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the server cannot start
// (address in use, data directory locked, a corrupt log) or stops without flushing its log, 2
// for bad flags or configuration.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/version.h"
#include "services/server/config.h"
#include "services/server/server.h"

namespace {

constexpr int kExitFailed = 1;  // cannot start, or stopped without flushing the log
constexpr int kExitBadConfig = 2;

int Serve(const hotpath::ServerConfig& config, const sigset_t& stop_signals) {
  auto server = hotpath::HotpathServer::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "hotpathd: cannot start: %s\n",
                 std::string(server.status().message()).c_str());
    return kExitFailed;
  }
  const std::string data =
      (*server)->data_dir().empty() ? std::string("none (persistence off)") : (*server)->data_dir();
  std::printf("hotpathd %s\n", hotpath::kVersion);
  std::printf("grpc: %s\n", (*server)->grpc_address().c_str());
  std::printf("metrics: http://%s/metrics\n", (*server)->metrics_address().c_str());
  std::printf("data: %s\n", data.c_str());
  std::printf("shards: %u\n", config.shards);
  if (!config.persistence_enabled) {
    std::printf("recovered: nothing (persistence off)\n");
  } else {
    const hotpath::DirectoryRecoveryStats& recovery = (*server)->recovery();
    std::printf("recovered: %llu keys from the base, %llu records from the log in %s",
                static_cast<unsigned long long>(recovery.base.keys),
                static_cast<unsigned long long>(recovery.records),
                absl::FormatDuration(recovery.duration).c_str());
    if (recovery.torn_bytes > 0) {
      std::printf(" (cut a torn tail of %llu bytes from %s: %s)",
                  static_cast<unsigned long long>(recovery.torn_bytes), recovery.torn_file.c_str(),
                  recovery.torn_problem.c_str());
    }
    if (recovery.shard_count_changed) std::printf(" (shard count changed: base rewritten)");
    std::printf("\n");
  }
  std::printf("serving\n");
  std::fflush(stdout);

  int signal_number = 0;
  while (true) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // A bad file is reported and the policies in force stay.
    const absl::Status reloaded = (*server)->ReloadPolicies();
    if (reloaded.ok()) {
      std::printf("reloaded rate-limit policies\n");
    } else {
      std::printf("rate-limit policies not reloaded: %s\n",
                  std::string(reloaded.message()).c_str());
    }
    std::fflush(stdout);
  }
  std::printf("received %s: draining for up to %s\n", strsignal(signal_number),
              absl::FormatDuration(config.drain_timeout).c_str());
  std::fflush(stdout);
  const absl::Status flushed = (*server)->Shutdown();
  if (!flushed.ok()) {
    std::fprintf(stderr, "hotpathd: stopped, but the log could not be flushed: %s\n",
                 std::string(flushed.message()).c_str());
    return kExitFailed;
  }
  std::printf("stopped\n");
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
  switch (loaded->command) {
    case hotpath::Command::kHelp:
      std::fputs(hotpath::UsageText().c_str(), stdout);
      return 0;
    case hotpath::Command::kVersion:
      std::printf("hotpathd %s (%s)\n", hotpath::kVersion, hotpath::kCompiler);
      return 0;
    case hotpath::Command::kCheckConfig:
      std::fputs(hotpath::ConfigToYaml(loaded->config).c_str(), stdout);
      return 0;
    case hotpath::Command::kServe:
      break;
  }
  return Serve(loaded->config, stop_signals);
}
