// InFlightCalls: how many RPCs are being handled right now, and a way to wait for none.
//
// hotpathd's drain needs it: gRPC 1.51's Server::Shutdown(deadline) waits for every client
// connection to close, not just for calls to finish, so an idle keep-alive connection would hold
// every shutdown to the full drain deadline. With this count the server knows when the last
// call has finished and can drop idle connections at once.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hotpath {

class InFlightCalls {
 public:
  void Begin() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void End() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  int64_t count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }
  // Blocks until exactly `count` calls are in flight or `deadline` passes; returns whether
  // they are.
  bool AwaitCount(int64_t count, absl::Time deadline) const {
    absl::MutexLock lock(&mu_);
    auto reached = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == count; };
    return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
  }

 private:
  mutable absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hotpath
