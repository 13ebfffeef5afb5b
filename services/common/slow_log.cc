#include "services/common/slow_log.h"

namespace hotpath {

void SlowLog::Record(const std::string& method, int code, absl::Time started,
                     absl::Duration duration) {
  if (duration < threshold_) return;
  const uint64_t id = total_.fetch_add(1, std::memory_order_relaxed) + 1;
  absl::MutexLock lock(&mu_);
  calls_.push_back(SlowCall{id, method, code, started, duration});
  while (calls_.size() > length_) calls_.pop_front();
}

std::vector<SlowCall> SlowLog::Newest(size_t max) const {
  absl::MutexLock lock(&mu_);
  const size_t count = max == 0 ? calls_.size() : std::min(max, calls_.size());
  return {calls_.rbegin(), calls_.rbegin() + static_cast<std::ptrdiff_t>(count)};
}

void SlowLog::Reset() {
  absl::MutexLock lock(&mu_);
  calls_.clear();
}

}  // namespace hotpath
