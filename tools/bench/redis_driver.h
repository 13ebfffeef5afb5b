// Runs a workload against Redis through hiredis, closed-loop like the gRPC driver: one
// connection per operation in flight (Redis has no multiplexing), all driven by one thread with
// epoll, as redis-benchmark does.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tools/bench/run.h"
#include "tools/bench/workload.h"
#include "tools/common/subprocess.h"

namespace hotpath {

absl::StatusOr<RunResult> RunRedis(Workload& workload, const std::string& address,
                                   const RunOptions& run, const WorkloadOptions& options);

// Redis's INFO memory `used_memory`, in bytes.
absl::StatusOr<double> RedisUsedMemory(const std::string& address);

// A redis-server of the machine's own, on a free loopback port, without persistence, stopped
// when this object is destroyed.
class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(const std::string& binary);
  ~RedisServer();
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string address_;
};

}  // namespace hotpath
