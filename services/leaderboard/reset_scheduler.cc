#include "services/leaderboard/reset_scheduler.h"

#include <algorithm>

#include "engine/thread_name.h"

namespace hotpath::leaderboard {

void ResetScheduler::Start() {
  if (thread_.joinable()) return;
  thread_ = NamedThread("hp-lb-resets", [this] { Run(); });
}

void ResetScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ResetScheduler::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.Unlock();
    const int64_t next_ms = store_->RunDueResets();
    mu_.Lock();
    absl::Duration wait = poll_;
    if (next_ms != 0) {
      // Just past the reset time, so the store sees it due.
      wait = std::min(wait, absl::FromUnixMillis(next_ms) - clock_->Now() + absl::Milliseconds(1));
    }
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), std::max(wait, absl::ZeroDuration()));
  }
}

}  // namespace hotpath::leaderboard
