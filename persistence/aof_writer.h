// AofWriter: appends after-image records to a log file and says when they are durable.
//
// It is the keyspace's MutationSink: Apply (called under a shard lock) only encodes and frames
// the record into an in-memory batch. A persistence thread writes each batch with one write and,
// under `always`, one fdatasync (group commit: every record queued while the previous sync ran
// shares the next one, which may wait for a whole group first: group_min_calls). WhenDurable(done)
// runs `done` once everything applied before the call is durable under the policy, so a write RPC
// is acknowledged from the persistence side and no gRPC thread waits on the disk. Under `always`
// the callbacks of a large batch run on a second thread, so the writer goes from one fdatasync
// straight to the next instead of first acknowledging the last batch (sending a batch's responses
// takes about as long as the sync itself); a small batch (AofWriterOptions::inline_ack_limit) the
// writer acknowledges itself when that thread is idle, which saves the handoff. Under the other
// policies the writer runs them after its write: a handoff per short write would cost more than it
// saves.
//
//   always    durable = fdatasync'ed: nothing acknowledged is lost;
//   everysec  durable = written to the file; fdatasync about every second, so a machine crash
//             loses at most the last second (a process crash loses nothing written);
//   no        durable = written to the file; the kernel syncs when it likes.
//
// After each successful sync, the next write of records also carries a sync mark
// (record_format.h) saying how much of the file is synced, for recovery to tell a hole a machine
// crash left in the unsynced tail from damage to synced bytes. Close ends the file with one that
// covers every record, and a reopened file is synced once at start so that its first mark
// covers the bytes it already held.
//
// Disk faults: a failed write or sync keeps the batch for retry, fails every waiting
// WhenDurable with UNAVAILABLE, and marks the writer unhealthy until a write and sync succeed.
// Records are never dropped or reordered: the log always matches memory once the disk recovers.
//
// Rotation (for rewrites): Rotate ends the current file at the records applied so far and
// continues in a new one, committing the switch (a manifest naming the new file) in between.
//
// Thread safety: Apply, WhenDurable and Rotate may be called from any thread; Close from one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/mutation.h"
#include "persistence/file_system.h"

namespace hotpath {

enum class FsyncPolicy { kAlways, kEverySecond, kNo };

// "always", "everysec" or "no"; InvalidArgument otherwise.
absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name);

struct AofWriterOptions {
  FsyncPolicy fsync = FsyncPolicy::kEverySecond;
  absl::Duration sync_interval = absl::Seconds(1);          // everysec
  absl::Duration retry_interval = absl::Milliseconds(100);  // after a disk fault
  // Records nobody waits on (deferred limiter state, say) linger this long, or until
  // eager_bytes pile up, so that one write carries many of them instead of one wakeup each.
  // A WhenDurable waiter, a rotation or Close ends the linger at once.
  absl::Duration write_delay = absl::Milliseconds(2);
  size_t eager_bytes = 256 << 10;
  // Zeros kept written ahead of the appends in each file (WritableFile::ZeroAhead): the syncs
  // of appends into them skip a journal commit. Extending them costs one larger sync per this
  // many bytes of log.
  uint64_t zero_ahead = 1 << 20;
  // Under `always`, a synced batch of at most this many waiters is acknowledged by the writer
  // itself (when the acknowledgement thread has nothing queued or running, so the order holds).
  // Measured with 1M-member SubmitScore: +8% at 50 calls in flight (about 20 waiters a
  // batch), no change beyond noise at 256 (larger batches, which still go to the other thread);
  // both before group_min_calls made batches larger.
  size_t inline_ack_limit = 32;
  // Under `always`, once a sync answered at least `group_min_calls` waiters, the next sync is
  // held until as many wait again, for at most `group_max_wait` (zero: as long as successful
  // syncs take lately, an average of the last few, and never over kMaxGroupHold). A write that
  // arrives during a sync waits for the rest of it and then a whole sync of its own, so
  // starting that next sync as soon as one waiter is there splits the calls in flight into ever
  // smaller groups, each paying a sync and the wakeups around it; holding it keeps the groups
  // whole. Only a sync some waiter needs is held, never records nobody waits for; a minimum of
  // 0 holds nothing. Measured on 1M-member SubmitScore (docs/persistence.md, "Group commit"):
  // +7% at 8 and +10% at 50 calls in flight, +1% at 256 (with 5-7% less CPU per call).
  size_t group_min_calls = 4;
  absl::Duration group_max_wait = absl::ZeroDuration();
  static constexpr absl::Duration kMaxGroupHold = absl::Milliseconds(10);
};

struct AofWriterStats {
  // Upper bounds (seconds) of the fdatasync latency buckets; a last bucket holds the rest.
  static constexpr std::array<double, 12> kSyncBucketBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

  uint64_t records = 0;
  uint64_t bytes_written = 0;
  uint64_t syncs = 0;                                                 // successful ones
  std::array<uint64_t, kSyncBucketBounds.size() + 1> sync_buckets{};  // every attempt
  double sync_seconds = 0;                                            // their total
  uint64_t faults = 0;
  uint64_t group_holds = 0;  // holds begun for a whole group (AofWriterOptions::group_min_calls)
  uint64_t file_bytes = 0;   // size of the current file, as far as written
  bool healthy = true;
  std::string last_error;
};

class AofWriter final : public MutationSink {
 public:
  AofWriter(std::unique_ptr<WritableFile> file, const AofWriterOptions& options);
  ~AofWriter() override;
  AofWriter(const AofWriter&) = delete;
  AofWriter& operator=(const AofWriter&) = delete;

  void Apply(const Mutation& mutation) override;
  // Runs done(OK) on a persistence thread once everything applied so far is durable, or
  // done(UNAVAILABLE) if the disk fails first; callbacks run one at a time, in the order their
  // records became durable. After Close, done runs at once.
  void WhenDurable(std::function<void(absl::Status)> done);
  // Ends the current file after the records applied so far: writes and syncs them, runs
  // commit() on the persistence thread, and if it succeeds closes the file and continues in
  // `next` (so no record reaches `next` before commit() made it part of the state). Records
  // applied meanwhile wait in memory. Blocks until done. Returns the write, sync or commit
  // error, in which case the writer keeps its file and `next` is dropped unused; once commit()
  // succeeded, the switch is made and Rotate succeeds.
  absl::Status Rotate(std::unique_ptr<WritableFile> next, std::function<absl::Status()> commit);
  // Writes and syncs everything, then stops the thread. Returns the last disk error, if any.
  absl::Status Close();

  AofWriterStats stats() const;
  // Whether the last write and sync went through (stats().healthy, without the copy).
  bool healthy() const {
    absl::MutexLock lock(&mu_);
    return stats_.healthy;
  }

 private:
  using Waiter = std::pair<uint64_t, std::function<void(absl::Status)>>;
  using Ack = std::pair<std::function<void(absl::Status)>, absl::Status>;
  struct Rotation {
    uint64_t at = 0;  // the byte position (see appended_) where the current file ends
    std::unique_ptr<WritableFile> next;
    std::function<absl::Status()> commit;
    bool done = false;
    absl::Status result;
  };
  void Loop();
  void AckLoop();  // the acknowledgement thread (`always` only)
  // Runs or queues the callbacks of `done`: OK up to byte `durable`, else `status`'s failure.
  void Acknowledge(std::vector<Waiter> done, uint64_t durable, const absl::Status& status);

  const AofWriterOptions options_;
  std::unique_ptr<WritableFile> file_;  // used by the persistence thread only
  std::thread thread_;
  std::thread ack_thread_;  // not started under everysec and no

  absl::Mutex ack_mu_;
  std::vector<Ack> acks_ ABSL_GUARDED_BY(ack_mu_);  // durable or failed, not yet run
  bool acks_closing_ ABSL_GUARDED_BY(ack_mu_) = false;
  bool acks_running_ ABSL_GUARDED_BY(ack_mu_) = false;  // the ack thread is running callbacks

  mutable absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);    // framed records not yet written
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;  // bytes ever framed
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;   // bytes durable under the policy
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  Rotation* rotation_ ABSL_GUARDED_BY(mu_) = nullptr;  // requested, owned by Rotate's caller
  AofWriterStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath
