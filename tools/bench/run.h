// What a driver is asked to do, and what it measured.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "tools/bench/latency_histogram.h"

namespace hotpath {

struct RunOptions {
  int connections = 8;    // gRPC channels (TCP connections); Redis uses one per in-flight call
  int concurrency = 256;  // operations in flight
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
  uint64_t requests = 0;  // when > 0, stop after this many measured operations instead
  uint64_t seed = 1;
  // Open loop (hotpath only): operations start at this many per second whatever the
  // completions, on up to `concurrency` calls in flight; an arrival that finds none free waits,
  // and its latency counts from its arrival (no coordinated omission). 0: closed loop.
  double rate = 0;
};

struct RunResult {
  std::string target;  // "hotpath" or "redis"
  int connections = 0;
  int concurrency = 0;
  uint64_t operations = 0;  // completed successfully inside the measured window
  uint64_t errors = 0;
  double seconds = 0;
  LatencyHistogram latency;
  double server_memory_bytes = -1;  // after the run; -1 when unknown

  double throughput() const { return seconds > 0 ? operations / seconds : 0; }
};

}  // namespace hotpath
