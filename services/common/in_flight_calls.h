// InFlightCalls: how many RPCs are being handled right now, and a way to wait for none.
//
// hotpathd's drain needs it: gRPC 1.51's Server::Shutdown(deadline) waits for every client
// connection to close, not just for calls to finish, so an idle keep-alive connection would hold
// every shutdown to the full drain deadline. With this count the server knows when the last
// call has finished and can drop idle connections at once (it checks the count as it drains).
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>

namespace hotpath {

// Two atomic operations per call: this sits on every RPC's path.
class InFlightCalls {
 public:
  void Begin() { count_.fetch_add(1, std::memory_order_relaxed); }
  void End() { count_.fetch_sub(1, std::memory_order_acq_rel); }
  int64_t count() const { return count_.load(std::memory_order_acquire); }

 private:
  std::atomic<int64_t> count_{0};
};

}  // namespace hotpath
