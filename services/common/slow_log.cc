#include "services/common/slow_log.h"

namespace hotpath {

void SlowLog::Record(const std::string& method, int code, absl::Time started,
                     absl::Duration duration) {
  if (duration < threshold_) return;
  absl::MutexLock lock(&mu_);  // ids in the order calls are kept
  const uint64_t id = total_.fetch_add(1, std::memory_order_relaxed) + 1;
  calls_.push_back(SlowCall{id, method, code, started, duration});
  while (calls_.size() > length_) calls_.pop_front();
}

std::vector<SlowCall> SlowLog::Newest(size_t max, bool reset) {
  absl::MutexLock lock(&mu_);
  const size_t count = max == 0 ? calls_.size() : std::min(max, calls_.size());
  std::vector<SlowCall> newest(calls_.rbegin(),
                               calls_.rbegin() + static_cast<std::ptrdiff_t>(count));
  if (reset) calls_.clear();
  return newest;
}

}  // namespace hotpath
