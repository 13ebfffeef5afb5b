#include "persistence/aof_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/thread_name.h"
#include "persistence/record_format.h"

namespace hotpath {

absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(std::string_view name) {
  if (name == "always") return FsyncPolicy::kAlways;
  if (name == "everysec") return FsyncPolicy::kEverySecond;
  if (name == "no") return FsyncPolicy::kNo;
  return absl::InvalidArgumentError(absl::StrCat("fsync must be always, everysec or no, got \"",
                                                 absl::string_view(name.data(), name.size()),
                                                 "\""));
}

AofWriter::AofWriter(std::unique_ptr<WritableFile> file, const AofWriterOptions& options)
    : options_(options), file_(std::move(file)) {
  stats_.file_bytes = file_->size();
  file_->ZeroAhead(options_.zero_ahead);
  if (options_.fsync == FsyncPolicy::kAlways) {
    ack_thread_ = NamedThread("hp-aof-acks", [this] { AckLoop(); });
  }
  thread_ = NamedThread("hp-aof-writer", [this] { Loop(); });
}

AofWriter::~AofWriter() { (void)Close(); }

void AofWriter::Apply(const Mutation& mutation) {
  const std::string payload = EncodeMutation(mutation);
  absl::MutexLock lock(&mu_);
  const size_t before = pending_.size();
  AppendFrame(payload, &pending_);
  appended_ += pending_.size() - before;
  ++stats_.records;
}

void AofWriter::WhenDurable(std::function<void(absl::Status)> done) {
  absl::Status now;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      waiters_.emplace_back(appended_, std::move(done));
      return;
    }
    now = stats_.healthy ? absl::OkStatus()
                         : absl::UnavailableError("the append-only file cannot be written");
  }
  done(now);
}

void AofWriter::Loop() {
  absl::Time last_sync = absl::Now();
  // This thread's view, in byte positions of everything ever framed (appended_): `written`
  // bytes are in a file, the first `synced` are durable. `unsynced` keeps the bytes between
  // them, so that after a failed fdatasync (which on Linux may drop the dirty pages) they can
  // be cut and written again rather than trusted. The current file began at position
  // `file_start`, where it already held `current_base` bytes (a reopened segment).
  uint64_t written = 0;
  uint64_t synced = 0;
  uint64_t file_start = 0;
  uint64_t current_base = file_->size();
  std::string unsynced;
  bool truncate_first = false;  // a failure left bytes past `written` that must go
  // Sync marks (record_format.h): the current file's bytes known synced, the last claim a mark
  // was framed for (0: none yet in this file), and whether records were written that no framed
  // mark covers yet (Close writes one more mark for them).
  uint64_t sync_claim = 0;
  uint64_t claimed = 0;
  bool uncovered = false;
  if (current_base > 0 && file_->Sync().ok()) {
    // A reopened file: what an earlier process wrote may still be only in the page cache.
    // Synced now, the first write can say so, so that a hole past it is never taken for one
    // in bytes this process relies on.
    sync_claim = current_base;
  }
  const bool keep_unsynced = options_.fsync != FsyncPolicy::kNo;
  // Under always: how many waiters the last sync answered, and how long syncs take lately.
  size_t last_group = 0;
  absl::Duration recent_sync = absl::ZeroDuration();
  while (true) {
    std::string batch;
    uint64_t batch_end = 0;
    bool stopping = false;
    bool healthy = true;
    Rotation* rotation = nullptr;
    {
      absl::MutexLock lock(&mu_);
      // While unhealthy, retry on the retry interval, not as fast as the disk fails.
      auto urgent = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || rotation_ != nullptr ||
               (stats_.healthy && (!waiters_.empty() || pending_.size() >= options_.eager_bytes));
      };
      auto work = [this, &urgent]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return urgent() || (stats_.healthy && !pending_.empty());
      };
      const absl::Duration wait = stats_.healthy ? options_.sync_interval : options_.retry_interval;
      mu_.AwaitWithTimeout(absl::Condition(&work), wait);
      if (stats_.healthy && !pending_.empty() && !urgent()) {
        mu_.AwaitWithTimeout(absl::Condition(&urgent), options_.write_delay);
      }
      // Hold the sync for a whole group (AofWriterOptions::group_min_calls).
      if (options_.fsync == FsyncPolicy::kAlways && options_.group_min_calls > 0 &&
          last_group >= options_.group_min_calls && stats_.healthy && !stopping_ &&
          rotation_ == nullptr && !pending_.empty() && !waiters_.empty() &&
          waiters_.size() < last_group) {
        ++stats_.group_holds;
        auto whole = [this, last_group]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || rotation_ != nullptr || waiters_.size() >= last_group;
        };
        mu_.AwaitWithTimeout(absl::Condition(&whole),
                             options_.group_max_wait > absl::ZeroDuration()
                                 ? options_.group_max_wait
                                 : std::min(recent_sync, AofWriterOptions::kMaxGroupHold));
      }
      rotation = rotation_;
      if (rotation != nullptr) {
        // Only the bytes before the rotation point belong to this file.
        const size_t take = rotation->at - written;
        batch = pending_.substr(0, take);
        pending_.erase(0, take);
        batch_end = rotation->at;
        if (!batch.empty()) uncovered = true;
      } else {
        // The first write after a sync says so, so that recovery can tell a hole in the
        // unsynced tail from damage to synced bytes. Only a write of records carries a mark (a
        // mark alone would need a sync of its own, and that sync another mark), and the last
        // write before Close, so that a log closed cleanly has every record behind a mark.
        const bool records = !pending_.empty();
        if (sync_claim > claimed && (records || (stopping_ && uncovered))) {
          const size_t before = pending_.size();
          AppendFrame(EncodeSyncMark(sync_claim), &pending_);
          appended_ += pending_.size() - before;
          claimed = sync_claim;
          if (synced == written) uncovered = false;  // the mark covers every record written
        }
        if (records) uncovered = true;
        batch.swap(pending_);
        batch_end = appended_;
      }
      stopping = stopping_;
      healthy = stats_.healthy;
    }

    // Invariant: the bytes not yet in the file start at position `written`; on any failure
    // the ones this iteration holds go back to the front of pending_ (`requeue`).
    absl::Status status;
    std::string requeue;
    if (truncate_first) {
      status = file_->Truncate(current_base + (written - file_start));
      if (status.ok()) truncate_first = false;
    }
    if (!batch.empty()) {
      if (status.ok()) status = file_->Append(batch);
      if (status.ok()) {
        written = batch_end;
        if (keep_unsynced) unsynced.append(batch);
      } else {
        requeue = std::move(batch);
        truncate_first = true;  // a short write may have left part of the batch
      }
    }
    const bool must_sync =
        status.ok() && written > synced &&
        (options_.fsync == FsyncPolicy::kAlways || stopping || !healthy || rotation != nullptr ||
         (options_.fsync == FsyncPolicy::kEverySecond &&
          absl::Now() - last_sync >= options_.sync_interval));
    double sync_seconds = -1;
    if (must_sync) {
      const absl::Time sync_started = absl::Now();
      status = file_->Sync();
      sync_seconds = absl::ToDoubleSeconds(absl::Now() - sync_started);
      if (status.ok()) {
        synced = written;
        unsynced.clear();
        last_sync = absl::Now();
        sync_claim = current_base + (synced - file_start);
      } else if (keep_unsynced) {
        // A failed fdatasync may have dropped the dirty pages: cut back to what is known
        // durable and write the rest again.
        requeue = std::move(unsynced);
        unsynced.clear();
        written = synced;
        truncate_first = true;
      }
    }
    absl::Status rotated = status;
    if (rotation != nullptr && status.ok()) {
      // Everything before the rotation point is durable in the old file; make the new file
      // part of the state before anything is written to it.
      rotated = rotation->commit();
      if (rotated.ok()) {
        // The new file is part of the state now, whatever closing the old one says: its
        // bytes are synced, and nothing more will be written to it.
        (void)file_->Close();
        file_ = std::move(rotation->next);
        file_->ZeroAhead(options_.zero_ahead);
        file_start = written;
        current_base = file_->size();
        sync_claim = 0;
        claimed = 0;
        uncovered = false;  // the old file's records are behind its final sync
      }
    }

    std::vector<Waiter> done;
    uint64_t durable = 0;
    bool exit = false;
    {
      absl::MutexLock lock(&mu_);
      if (!status.ok()) {
        // Every byte not known good goes back, in order, ahead of anything queued since.
        pending_.insert(0, requeue);
        ++stats_.faults;
        stats_.healthy = false;
        stats_.last_error = std::string(status.message());
      } else if (!stats_.healthy && written == synced) {
        stats_.healthy = true;  // a write and a sync went through again
        stats_.last_error.clear();
      }
      if (rotation != nullptr) {
        rotation->result = rotated;
        rotation->done = true;
        rotation_ = nullptr;
      }
      stats_.bytes_written = written;
      stats_.file_bytes = current_base + (written - file_start);
      stats_.syncs += (status.ok() && must_sync) ? 1 : 0;
      if (sync_seconds >= 0) {
        const auto& bounds = AofWriterStats::kSyncBucketBounds;
        ++stats_.sync_buckets[std::lower_bound(bounds.begin(), bounds.end(), sync_seconds) -
                              bounds.begin()];
        stats_.sync_seconds += sync_seconds;
      }
      durable_ = options_.fsync == FsyncPolicy::kAlways ? synced : written;
      durable = durable_;
      auto keep = waiters_.begin();
      for (auto& waiter : waiters_) {
        if (waiter.first <= durable_ || !status.ok()) {
          done.push_back(std::move(waiter));
        } else {
          *keep++ = std::move(waiter);
        }
      }
      waiters_.erase(keep, waiters_.end());
      // Stop once everything is written and synced, behind a mark (one more round writes it
      // alone after the last records, if a sync since the last mark gave it anything to
      // claim), or when the disk refuses during Close.
      exit = stopping_ && (!status.ok() || (pending_.empty() && written == synced &&
                                            !(uncovered && sync_claim > claimed)));
      if (exit) stopped_ = true;
    }
    // Only successful syncs teach the group size and the sync time: a failure leaves the writer
    // unhealthy, which holds nothing, and a stalled sync that fails says nothing of the next.
    // A sync of records nobody waited for keeps the group learnt from the waiters' syncs.
    if (sync_seconds >= 0 && status.ok()) {
      if (!done.empty()) last_group = done.size();
      recent_sync = (3 * recent_sync + absl::Seconds(sync_seconds)) / 4;
    }
    if (!done.empty()) Acknowledge(std::move(done), durable, status);
    if (exit) return;
  }
}

void AofWriter::Acknowledge(std::vector<Waiter> done, uint64_t durable,
                            const absl::Status& status) {
  auto result = [&](uint64_t position) {
    return position <= durable ? absl::OkStatus()
                               : absl::UnavailableError(absl::StrCat(
                                     "the append-only file cannot be written: ", status.message()));
  };
  if (options_.fsync != FsyncPolicy::kAlways) {
    for (auto& [position, callback] : done) callback(result(position));
    return;
  }
  {
    absl::MutexLock lock(&ack_mu_);
    if (done.size() > options_.inline_ack_limit || !acks_.empty() || acks_running_) {
      for (auto& [position, callback] : done)
        acks_.emplace_back(std::move(callback), result(position));
      return;
    }
  }
  for (auto& [position, callback] : done) callback(result(position));
}

void AofWriter::AckLoop() {
  while (true) {
    std::vector<Ack> acks;
    {
      absl::MutexLock lock(&ack_mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ack_mu_) {
        return acks_closing_ || !acks_.empty();
      };
      ack_mu_.Await(absl::Condition(&work));
      if (acks_.empty()) return;  // closing, and every callback has run
      acks.swap(acks_);
      acks_running_ = true;
    }
    for (auto& [callback, status] : acks) callback(status);
    absl::MutexLock lock(&ack_mu_);
    acks_running_ = false;
  }
}

absl::Status AofWriter::Rotate(std::unique_ptr<WritableFile> next,
                               std::function<absl::Status()> commit) {
  Rotation rotation{.next = std::move(next), .commit = std::move(commit)};
  absl::MutexLock lock(&mu_);
  auto free = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return rotation_ == nullptr || stopped_; };
  mu_.Await(absl::Condition(&free));
  if (stopped_ || stopping_) return absl::FailedPreconditionError("the log writer is closed");
  rotation.at = appended_;
  rotation_ = &rotation;
  mu_.Await(absl::Condition(&rotation.done));
  return rotation.result;
}

absl::Status AofWriter::Close() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&ack_mu_);
    acks_closing_ = true;
  }
  if (ack_thread_.joinable()) ack_thread_.join();
  absl::Status closed = file_->Close();
  absl::MutexLock lock(&mu_);
  if (!stats_.healthy) return absl::UnavailableError(stats_.last_error);
  return closed;
}

AofWriterStats AofWriter::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace hotpath
