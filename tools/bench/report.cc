#include "tools/bench/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hotpath {
namespace {

double Micros(int64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

const RunResult* Find(const Report& report, const std::string& target) {
  for (const RunResult& result : report.results) {
    if (result.target == target) return &result;
  }
  return nullptr;
}

std::string JsonNumber(double value) { return value < 0 ? "null" : absl::StrFormat("%.3f", value); }

}  // namespace

std::string FormatTable(const Report& report) {
  std::string out =
      absl::StrFormat("workload %s  keys=%d payload=%dB batch=%d\n", report.workload,
                      report.options.keys, report.options.payload_bytes, report.options.batch);
  absl::StrAppend(
      &out, absl::StrFormat("%-8s %6s %8s %12s %9s %9s %9s %9s %9s %8s %12s\n", "target", "conns",
                            "inflight", "ops/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us",
                            "errors", report.items > 0 ? "mem/item B" : "mem bytes"));
  for (const RunResult& r : report.results) {
    std::string memory = "-";
    if (r.server_memory_bytes >= 0) {
      memory = report.items > 0 ? absl::StrFormat("%.1f", r.server_memory_bytes / report.items)
                                : absl::StrFormat("%.0f", r.server_memory_bytes);
    }
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-8s %6d %8d %12.0f %9.1f %9.1f %9.1f %9.1f %9.1f %8d %12s\n", r.target,
                  r.connections, r.concurrency, r.throughput(), Micros(r.latency.Percentile(0.5)),
                  Micros(r.latency.Percentile(0.9)), Micros(r.latency.Percentile(0.99)),
                  Micros(r.latency.Percentile(0.999)), Micros(r.latency.max()), r.errors, memory));
  }
  const RunResult* hotpath = Find(report, "hotpath");
  const RunResult* redis = Find(report, "redis");
  if (hotpath != nullptr && redis != nullptr && redis->throughput() > 0 &&
      redis->latency.Percentile(0.99) > 0) {
    absl::StrAppend(&out, absl::StrFormat("hotpath/redis: throughput %.2fx, p99 latency %.2fx\n",
                                          hotpath->throughput() / redis->throughput(),
                                          static_cast<double>(hotpath->latency.Percentile(0.99)) /
                                              redis->latency.Percentile(0.99)));
  }
  return out;
}

std::string FormatJson(const Report& report) {
  std::string out = absl::StrFormat(
      "{\"workload\":\"%s\",\"keys\":%d,\"payload_bytes\":%d,\"batch\":%d,\"items\":%d,"
      "\"results\":[",
      report.workload, report.options.keys, report.options.payload_bytes, report.options.batch,
      report.items);
  for (size_t i = 0; i < report.results.size(); ++i) {
    const RunResult& r = report.results[i];
    absl::StrAppend(
        &out, i > 0 ? "," : "",
        absl::StrFormat(
            "{\"target\":\"%s\",\"connections\":%d,\"concurrency\":%d,\"operations\":%d,"
            "\"errors\":%d,\"seconds\":%.3f,\"ops_per_second\":%.1f,\"p50_us\":%.1f,"
            "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
            "\"mean_us\":%.1f,\"server_memory_bytes\":%s}",
            r.target, r.connections, r.concurrency, r.operations, r.errors, r.seconds,
            r.throughput(), Micros(r.latency.Percentile(0.5)), Micros(r.latency.Percentile(0.9)),
            Micros(r.latency.Percentile(0.99)), Micros(r.latency.Percentile(0.999)),
            Micros(r.latency.max()), r.latency.mean() / 1000.0, JsonNumber(r.server_memory_bytes)));
  }
  absl::StrAppend(&out, "]}\n");
  return out;
}

}  // namespace hotpath
