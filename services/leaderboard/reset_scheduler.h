// ResetScheduler: ends seasons on time when no call comes to notice them. A thread runs
// BoardStore::RunDueResets at each board's next reset time, and at least every `poll` (so a
// board created meanwhile, or a clock step, is seen within that long).
//
// Thread safety: Start and Stop from one thread; Stop waits for the thread.
#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/leaderboard/board_store.h"

namespace hotpath::leaderboard {

class ResetScheduler {
 public:
  // `store` must outlive the scheduler.
  ResetScheduler(BoardStore* store, const Clock* clock, absl::Duration poll = absl::Seconds(1))
      : store_(store), clock_(clock), poll_(poll) {}
  ResetScheduler(const ResetScheduler&) = delete;
  ResetScheduler& operator=(const ResetScheduler&) = delete;
  ~ResetScheduler() { Stop(); }

  void Start();
  void Stop();

 private:
  void Run();

  BoardStore* const store_;
  const Clock* const clock_;
  const absl::Duration poll_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hotpath::leaderboard
