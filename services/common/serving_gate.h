// ServingGate: whether hotpathd may serve data calls yet.
//
// gRPC starts before the data directory is loaded, so that health can report NOT_SERVING
// while it loads. Data calls in that window would change the keyspace while the log is being
// replayed into it (and number their records among the replayed ones), so every data handler
// asks the gate first and answers UNAVAILABLE until the server opens it after recovery.
//
// Thread safety: Open and Check may be called from any thread.
#pragma once

#include <atomic>

#include "absl/status/status.h"

namespace hotpath {

class ServingGate {
 public:
  // A gate opened at construction serves at once (persistence off, tests).
  explicit ServingGate(bool open = false) : open_(open) {}

  void Open() { open_.store(true, std::memory_order_release); }
  bool open() const { return open_.load(std::memory_order_acquire); }

  // OK once open; UNAVAILABLE (retry later) before.
  absl::Status Check() const {
    if (open()) return absl::OkStatus();
    return absl::UnavailableError("hotpathd is loading its data directory; retry shortly");
  }

 private:
  std::atomic<bool> open_;
};

}  // namespace hotpath
