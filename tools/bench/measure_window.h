// MeasureWindow: the shared clock of a closed-loop run. Warm-up first, then a measured window;
// only operations that complete inside it are counted.
//
// Thread safety: all methods are safe to call from any worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace hotpath {

class MeasureWindow {
 public:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void Open() { start_.store(Now()); }
  void Close() { end_.store(Now()); }
  // Whether an operation that completed at `completed` counts.
  bool Counts(int64_t started, int64_t completed) const {
    return started >= start_.load(std::memory_order_relaxed) &&
           completed <= end_.load(std::memory_order_relaxed);
  }
  bool closed() const { return end_.load(std::memory_order_relaxed) != kOpen; }
  double seconds() const { return (end_.load() - start_.load()) / 1e9; }

 private:
  static constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();
  std::atomic<int64_t> start_{kOpen};
  std::atomic<int64_t> end_{kOpen};
};

}  // namespace hotpath
