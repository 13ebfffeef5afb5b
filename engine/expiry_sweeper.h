// ExpirySweeper: active expiry in the background, in bounded slices.
//
// Lazy expiry alone leaves keys that are never read again in memory forever. Every `interval`
// the sweeper runs a round: slices of Keyspace::SweepExpired(slice_keys) (each slice holds one
// shard lock at a time, for at most slice_keys removals) until no shard was cut short by its
// limit or the round has used `round_budget` of wall time. A backlog larger than one round
// drains over the following rounds, so no request waits behind a long sweep.
//
// Rounds also record deferred limiter state (Keyspace::FlushDeferred) of each shard every
// `deferred_flush_interval` (what a crash may lose of rate-limit consumption), one shard after
// another spread over the interval: every shard at once would be a burst of every busy key's
// record (tens of milliseconds of CPU at 100K keys) that requests queue behind. And over the
// memory cap (`memory_limit`) rounds evict rate-limiter keys (the only state hotpath may drop:
// a forgotten limit starts afresh).
//
// Thread safety: Start/Stop from one owning thread; everything else from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"

namespace hotpath {

struct ExpirySweeperOptions {
  absl::Duration interval = absl::Milliseconds(100);
  size_t slice_keys = 64;  // per shard, per slice
  absl::Duration round_budget = absl::Milliseconds(5);
  absl::Duration deferred_flush_interval = absl::Seconds(1);
  // When set, the keyspace's memory cap in bytes: while Keyspace::MemoryBytes() is at or over
  // it, rounds also evict rate-limiter keys, least recently changed first, just enough to get
  // under it (in slices of slice_keys per shard, within the round budget). Under pressure from
  // data that cannot be evicted, limiter state thus gives way a little at a time, coldest
  // first; when that data is over the cap by itself, nothing is evicted. 0: no cap.
  uint64_t memory_limit = 0;
};

class ExpirySweeper {
 public:
  // `keyspace` must outlive the sweeper.
  ExpirySweeper(Keyspace* keyspace, const ExpirySweeperOptions& options)
      : keyspace_(keyspace), options_(options) {}
  ~ExpirySweeper() { Stop(); }

  // Starts the background thread; does nothing if it is already running.
  void Start();
  // Wakes the thread and joins it. Idempotent.
  void Stop();

  // One round, on the calling thread. Returns the keys removed.
  size_t RunRound();

  // Blocks until at least `rounds` rounds have completed or `timeout` passes; returns whether
  // they did.
  bool AwaitRounds(uint64_t rounds, absl::Duration timeout);

 private:
  void Loop();
  // Over the memory cap, evicts limiters until under it (ExpirySweeperOptions::memory_limit).
  void EvictUnderPressure(absl::Time give_up);
  // Records the deferred state of the shards whose turn has come.
  void FlushDue();

  Keyspace* const keyspace_;
  const ExpirySweeperOptions options_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t rounds_ ABSL_GUARDED_BY(mu_) = 0;
  // The next shard to flush, and when.
  uint32_t flush_cursor_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_flush_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace hotpath
