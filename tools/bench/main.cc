// hotpath-bench: measures hotpath, and the same work on Redis, closed-loop.
//
//   hotpath-bench --target=127.0.0.1:7070 --workload=ping --concurrency=256 --vs_redis
//   hotpath-bench --list
//
// Exit codes: 0 after a clean run; 1 when a target cannot be reached, completes nothing or
// fails any operation (the report is still printed); 2 for bad flags.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/bench/grpc_driver.h"
#include "tools/bench/redis_driver.h"
#include "tools/bench/report.h"
#include "tools/common/http_get.h"

ABSL_FLAG(std::string, target, "127.0.0.1:7070", "hotpathd gRPC address");
ABSL_FLAG(std::string, metrics, "",
          "hotpathd metrics address (host:port); when set, server memory is reported");
ABSL_FLAG(std::string, workload, "ping", "workload to run (see --list)");
ABSL_FLAG(bool, list, false, "list the workloads and exit");
ABSL_FLAG(int, connections, 8, "gRPC connections (Redis uses one per in-flight call)");
ABSL_FLAG(int, concurrency, 256, "operations in flight");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "warm-up before measuring");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5),
          "measured time (upper bound with --requests)");
ABSL_FLAG(uint64_t, requests, 0, "stop after this many measured operations (0: use --duration)");
ABSL_FLAG(uint64_t, keys, 100'000, "distinct keys the workload touches");
ABSL_FLAG(std::string, distribution, "uniform", "key distribution: uniform or zipfian");
ABSL_FLAG(double, zipf_theta, 0.99, "Zipfian skew, in (0, 1)");
ABSL_FLAG(uint64_t, payload, 0, "payload bytes per operation");
ABSL_FLAG(uint64_t, batch, 1, "operations per call (hotpath) or per pipeline (Redis)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the key sequences");
ABSL_FLAG(uint64_t, subscribers, 1, "pubsub-delivery: subscribers following the topic");
ABSL_FLAG(double, rate, 0,
          "open loop: start this many operations per second whatever the completions (hotpath "
          "only; latency counts from each arrival); 0 runs a closed loop");
ABSL_FLAG(bool, vs_redis, false, "run the same workload against Redis too and print ratios");
ABSL_FLAG(std::string, redis_address, "",
          "an existing Redis to compare against; empty starts a private redis-server");
ABSL_FLAG(std::string, redis_server, "/usr/bin/redis-server", "redis-server binary to start");
ABSL_FLAG(bool, json, false, "print JSON instead of a table");
ABSL_FLAG(std::string, api_key, "",
          "API key sent as authorization: Bearer on every call (a hotpathd with auth.access_file)");

namespace hotpath {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadFlags = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "hotpath-bench: %s\n", message.c_str());
  return code;
}

int Main() {
  if (absl::GetFlag(FLAGS_list)) {
    for (const auto& [name, factory] : WorkloadRegistry()) {
      std::printf("%-16s %s\n", name.c_str(), factory()->description().c_str());
    }
    return 0;
  }
  auto it = WorkloadRegistry().find(absl::GetFlag(FLAGS_workload));
  if (it == WorkloadRegistry().end()) {
    return Fail(kExitBadFlags, absl::StrCat("unknown workload \"", absl::GetFlag(FLAGS_workload),
                                            "\" (see --list)"));
  }
  std::unique_ptr<Workload> workload = it->second();

  RunOptions run;
  run.connections = absl::GetFlag(FLAGS_connections);
  run.concurrency = absl::GetFlag(FLAGS_concurrency);
  run.warmup = absl::GetFlag(FLAGS_warmup);
  run.duration = absl::GetFlag(FLAGS_duration);
  run.requests = absl::GetFlag(FLAGS_requests);
  run.seed = absl::GetFlag(FLAGS_seed);
  run.rate = absl::GetFlag(FLAGS_rate);
  if (run.rate < 0) return Fail(kExitBadFlags, "--rate must not be negative");
  if (run.rate > 0 && absl::GetFlag(FLAGS_vs_redis)) {
    return Fail(kExitBadFlags, "--rate applies to hotpath only; drop --vs_redis");
  }
  if (run.connections < 1) return Fail(kExitBadFlags, "--connections must be at least 1");
  if (run.concurrency < 1) return Fail(kExitBadFlags, "--concurrency must be at least 1");
  if (run.warmup < absl::ZeroDuration())
    return Fail(kExitBadFlags, "--warmup must not be negative");
  if (run.duration <= absl::ZeroDuration())
    return Fail(kExitBadFlags, "--duration must be positive");

  WorkloadOptions options;
  options.keys = absl::GetFlag(FLAGS_keys);
  options.zipf_theta = absl::GetFlag(FLAGS_zipf_theta);
  options.payload_bytes = absl::GetFlag(FLAGS_payload);
  options.batch = absl::GetFlag(FLAGS_batch);
  options.subscribers = absl::GetFlag(FLAGS_subscribers);
  if (options.subscribers < 1) return Fail(kExitBadFlags, "--subscribers must be at least 1");
  absl::StatusOr<Distribution> distribution = ParseDistribution(absl::GetFlag(FLAGS_distribution));
  if (!distribution.ok()) return Fail(kExitBadFlags, std::string(distribution.status().message()));
  options.distribution = *distribution;
  if (options.keys < 1) return Fail(kExitBadFlags, "--keys must be at least 1");
  if (options.zipf_theta <= 0 || options.zipf_theta >= 1) {
    return Fail(kExitBadFlags, "--zipf_theta must be between 0 and 1 (exclusive)");
  }
  if (options.batch < 1) return Fail(kExitBadFlags, "--batch must be at least 1");
  if (absl::Status valid = workload->Validate(options); !valid.ok()) {
    return Fail(kExitBadFlags, std::string(valid.message()));
  }

  Report report;
  report.workload = workload->name();
  report.options = options;
  report.items = workload->items(options);

  absl::StatusOr<RunResult> hotpath =
      RunHotpath(*workload, absl::GetFlag(FLAGS_target), run, options);
  if (!hotpath.ok()) return Fail(kExitFailed, std::string(hotpath.status().message()));
  if (const std::string metrics = absl::GetFlag(FLAGS_metrics); !metrics.empty()) {
    std::optional<std::string> text = HttpGet(metrics, "/metrics");
    if (!text.has_value()) return Fail(kExitFailed, absl::StrCat("cannot scrape ", metrics));
    hotpath->server_memory_bytes =
        PrometheusValue(*text, "hotpath_engine_memory_bytes").value_or(-1);
  }
  report.results.push_back(*std::move(hotpath));

  if (absl::GetFlag(FLAGS_vs_redis)) {
    std::unique_ptr<RedisServer> server;
    std::string address = absl::GetFlag(FLAGS_redis_address);
    if (address.empty()) {
      absl::StatusOr<std::unique_ptr<RedisServer>> started =
          RedisServer::Start(absl::GetFlag(FLAGS_redis_server));
      if (!started.ok()) return Fail(kExitFailed, std::string(started.status().message()));
      server = *std::move(started);
      address = server->address();
    }
    absl::StatusOr<RunResult> redis = RunRedis(*workload, address, run, options);
    if (!redis.ok()) return Fail(kExitFailed, std::string(redis.status().message()));
    redis->server_memory_bytes = RedisUsedMemory(address).value_or(-1);
    report.results.push_back(*std::move(redis));
  }

  const std::string out = absl::GetFlag(FLAGS_json) ? FormatJson(report) : FormatTable(report);
  std::fputs(out.c_str(), stdout);
  for (const RunResult& result : report.results) {
    if (result.operations == 0) {
      return Fail(kExitFailed, absl::StrCat(result.target, " completed no operation"));
    }
    if (result.errors > 0) {
      return Fail(kExitFailed,
                  absl::StrCat(result.target, " failed ", result.errors,
                               " operations (the numbers above count only successes)"));
    }
  }
  return 0;
}

}  // namespace
}  // namespace hotpath

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // measure, not audit
  absl::SetProgramUsageMessage("measures hotpath and, with --vs_redis, the same work on Redis");
  absl::ParseCommandLine(argc, argv);
  hotpath::ApiKey() = absl::GetFlag(FLAGS_api_key);
  return hotpath::Main();
}
