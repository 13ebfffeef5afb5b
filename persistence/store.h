// Store: a data directory kept in step with a keyspace (docs/persistence.md). It lays out or
// reads the manifest, recovers the keyspace from the base and segments, logs every mutation
// to the last segment (it is the keyspace's MutationSink), and rewrites: a new segment, a new
// base from the shards, a new manifest, the old files deleted. Rewrites run on the store's
// own thread, when asked or when the log has grown past the thresholds (like Redis's
// auto-aof-rewrite-percentage and -min-size).
//
//   auto store = Store::Open(PosixFileSystem(), {.dir = "/var/lib/hotpath", .shards = 16});
//   auto keyspace = Keyspace::Create({.shards = 16}, clock, store->get());
//   auto recovered = (*store)->Recover(keyspace->get());   // before any other use
//   keyspace->Set(...);  (*store)->WhenDurable(ack);
//   (*store)->RequestRewrite(done);
//   (*store)->Close();
//
// Errors: Open fails with FailedPrecondition for a directory that holds files but no
// manifest (it will not start over someone's data); recovery errors are DataLoss or
// FailedPrecondition naming file and offset; disk faults while running are UNAVAILABLE.
// Thread safety: CheckWritable, RequestRewrite and stats may be called from any thread at any
// time (before Recover has returned they say the store is loading); Apply and WhenDurable
// from any thread once Recover has returned; Open, Recover and Close from one thread.
// The directory's lock (DataDir) is the caller's: a Store assumes it is alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "engine/mutation.h"
#include "persistence/aof_writer.h"
#include "persistence/directory_recovery.h"
#include "persistence/file_system.h"
#include "persistence/manifest.h"

namespace hotpath {

struct StoreOptions {
  std::string dir;
  uint32_t shards = 16;  // the keyspace's
  AofWriterOptions writer;
  // Automatic rewrite: when the segments hold at least rewrite_min_bytes and at least
  // rewrite_growth_percent of the base's size. 0 percent turns it off.
  uint64_t rewrite_min_bytes = 64ull << 20;
  uint32_t rewrite_growth_percent = 100;
  absl::Duration rewrite_check_interval = absl::Seconds(1);
  absl::Duration rewrite_retry_delay = absl::Seconds(30);  // after a failed automatic rewrite
  int load_threads = 2;
};

struct RewriteStats {
  uint64_t completed = 0;
  uint64_t failed = 0;
  bool running = false;
  absl::Time last_finished = absl::InfinitePast();
  absl::Duration last_duration;
  absl::Status last_status;
};

struct StoreStats {
  AofWriterStats writer;
  uint64_t segment_bytes = 0;  // every segment of the manifest
  uint64_t base_bytes = 0;
  uint64_t segments = 0;
  RewriteStats rewrite;
};

class Store final : public MutationSink {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(FileSystem* fs, const StoreOptions& options);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Loads the base and replays the segments into `keyspace`, which must be empty and use
  // this store as its sink; cuts a torn tail of the last segment; then starts logging and the
  // rewrite thread. After a shard count change it writes a new base first.
  absl::StatusOr<DirectoryRecoveryStats> Recover(Keyspace* keyspace);

  void Apply(const Mutation& mutation) override;
  // done(OK) once everything applied so far is durable under the fsync policy, or
  // done(UNAVAILABLE) if the disk fails first. Runs on the persistence thread.
  void WhenDurable(std::function<void(absl::Status)> done);
  // UNAVAILABLE while the log cannot be written: write RPCs should fail before changing
  // anything. Reads are unaffected.
  absl::Status CheckWritable() const;
  // Rewrites as soon as the rewrite thread is free; done(status) runs on that thread when a
  // rewrite that started after this call has finished.
  void RequestRewrite(std::function<void(absl::Status)> done);

  StoreStats stats() const;
  // Waits until `count` rewrites have finished (succeeded or failed), or `timeout` passed;
  // returns whether they have.
  bool AwaitRewrites(uint64_t count, absl::Duration timeout) const;
  // Stops the rewrite thread (waiting for a running rewrite) and closes the log with a final
  // write and sync. Returns the log's last disk error, if any.
  absl::Status Close();

 private:
  Store(FileSystem* fs, const StoreOptions& options, Manifest manifest);
  void RewriteLoop();
  absl::Status Rewrite();
  bool RewriteDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FileSystem* const fs_;
  const StoreOptions options_;
  Keyspace* keyspace_ = nullptr;       // set by Recover
  std::unique_ptr<AofWriter> writer_;  // set by Recover
  std::thread rewrite_thread_;
  // Set once Recover has finished: from then on writer_ and the rewrite thread exist. Calls
  // that may come in while the server loads (health, admin) check it first.
  std::atomic<bool> recovered_{false};

  mutable absl::Mutex mu_;
  Manifest manifest_ ABSL_GUARDED_BY(mu_);
  uint64_t older_segment_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // every segment but the last
  uint64_t base_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void(absl::Status)>> requests_ ABSL_GUARDED_BY(mu_);
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  RewriteStats rewrite_ ABSL_GUARDED_BY(mu_);
  absl::Time next_automatic_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hotpath
