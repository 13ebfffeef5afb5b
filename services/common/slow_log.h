// SlowLog: the newest unary calls that took at least a threshold (like Redis's SLOWLOG), for
// AdminService/GetSlowlog. An entry holds the method, status code, start time and duration: never a
// request's contents, tokens or payloads. Streaming calls are not kept (they last by design).
//
// Thread safety: every method may be called from any thread. Record takes a lock only for a
// call at or over the threshold.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hotpath {

struct SlowCall {
  uint64_t id = 0;     // increasing from 1: tells a reader which calls it has seen
  std::string method;  // "/package.Service/Method"
  int code = 0;        // grpc::StatusCode
  absl::Time started;
  absl::Duration duration;
};

class SlowLog {
 public:
  SlowLog(absl::Duration threshold, size_t length) : threshold_(threshold), length_(length) {}

  void Record(const std::string& method, int code, absl::Time started, absl::Duration duration);
  // Up to `max` entries, newest first (0: all kept); with `reset`, then forgets every kept entry
  // in the same step, so none recorded meanwhile is lost unseen (ids keep increasing).
  std::vector<SlowCall> Newest(size_t max, bool reset = false);

  absl::Duration threshold() const { return threshold_; }
  // Calls at or over the threshold since start, kept or since pushed out.
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  const absl::Duration threshold_;
  const size_t length_;
  std::atomic<uint64_t> total_{0};
  absl::Mutex mu_;
  std::deque<SlowCall> calls_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace hotpath
