#include "engine/expiry_sweeper.h"

#include "absl/time/clock.h"

namespace hotpath {

void ExpirySweeper::Start() {
  if (thread_.joinable()) return;  // already running
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void ExpirySweeper::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t ExpirySweeper::RunRound() {
  // The round budget is real elapsed time, whatever clock the keyspace's deadlines use.
  const absl::Time give_up = absl::Now() + options_.round_budget;
  size_t removed = 0;
  while (true) {
    const Keyspace::SweepResult slice = keyspace_->SweepExpired(options_.slice_keys);
    removed += slice.removed;
    // Go on while any shard was cut short: a backlog may sit in one shard only.
    if (!slice.more || absl::Now() >= give_up) break;
  }
  while (options_.memory_limit > 0 && keyspace_->MemoryBytes() >= options_.memory_limit &&
         absl::Now() < give_up) {
    if (keyspace_->EvictLimiters(options_.slice_keys) == 0) break;  // none left to drop
  }
  bool flush = false;
  {
    absl::MutexLock lock(&mu_);
    flush = absl::Now() >= next_flush_;
    if (flush) next_flush_ = absl::Now() + options_.deferred_flush_interval;
  }
  if (flush) keyspace_->FlushDeferred();
  absl::MutexLock lock(&mu_);
  ++rounds_;
  return removed;
}

bool ExpirySweeper::AwaitRounds(uint64_t rounds, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, rounds]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return rounds_ >= rounds; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void ExpirySweeper::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      // Waiting on the stop condition (not sleeping) lets Stop() end the thread at once.
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval)) return;
    }
    RunRound();
  }
}

}  // namespace hotpath
