#include "engine/expiry_sweeper.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "engine/thread_name.h"

namespace hotpath {

void ExpirySweeper::Start() {
  if (thread_.joinable()) return;  // already running
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = NamedThread("hp-sweeper", [this] { Loop(); });
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
  // Only as much as brings memory under the cap: hot limiters (changed last) stay, and data
  // that cannot be evicted is not answered by draining every limiter each round.
  EvictUnderPressure(give_up);
  FlushDue();
  absl::MutexLock lock(&mu_);
  ++rounds_;
  return removed;
}

void ExpirySweeper::FlushDue() {
  std::vector<uint32_t> due;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    const uint32_t shards = keyspace_->shard_count();
    const absl::Duration turn = options_.deferred_flush_interval / shards;
    if (next_flush_ == absl::InfinitePast()) next_flush_ = now;
    // Each shard at most once a round: a sweeper that fell behind catches up one pass.
    while (due.size() < shards && now >= next_flush_) {
      due.push_back(flush_cursor_);
      flush_cursor_ = (flush_cursor_ + 1) % shards;
      next_flush_ += turn;
    }
    if (now >= next_flush_) next_flush_ = now + turn;
  }
  for (uint32_t shard : due) keyspace_->FlushDeferred(shard);
}

void ExpirySweeper::EvictUnderPressure(absl::Time give_up) {
  if (options_.memory_limit == 0 || keyspace_->MemoryBytes() < options_.memory_limit) return;
  // Whether dropping every limiter could get under the cap, taking limiters at the average
  // key's size: if the rest is over the cap alone, evicting them would not help, and rate
  // limiting is kept rather than drained round after round.
  const KeyspaceStats stats = keyspace_->Stats();
  const uint64_t limiters = stats.keys_by_type[static_cast<size_t>(ValueType::kLimiter)];
  if (limiters == 0 || stats.keys == 0) return;
  const uint64_t limiter_bytes = stats.memory_bytes / stats.keys * limiters;
  if (stats.memory_bytes - std::min(stats.memory_bytes, limiter_bytes) >= options_.memory_limit) {
    return;
  }
  // Only as much as brings memory under the cap: hot limiters (changed last) stay.
  while (absl::Now() < give_up) {
    const uint64_t held = keyspace_->MemoryBytes();
    if (held < options_.memory_limit) return;
    const uint64_t over = held - options_.memory_limit + 1;
    if (keyspace_->EvictLimiters(options_.slice_keys, over) == 0) return;  // none left to drop
  }
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
