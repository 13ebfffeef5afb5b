#include "persistence/store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/common/check.h"
#include "engine/common/status_macros.h"
#include "engine/thread_name.h"
#include "persistence/snapshot.h"

namespace hotpath {
namespace {

// Files a rewrite may leave behind when interrupted: temporaries, and bases or segments
// that a manifest never listed or no longer lists.
bool IsLeftover(const std::string& name, const Manifest& manifest) {
  if (absl::EndsWith(name, ".tmp")) return true;
  const bool ours = (absl::StartsWith(name, "base.") && absl::EndsWith(name, ".rdb")) ||
                    (absl::StartsWith(name, "incr.") && absl::EndsWith(name, ".aof"));
  const std::vector<std::string> listed = manifest.Files();
  return ours && std::find(listed.begin(), listed.end(), name) == listed.end();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(FileSystem* fs, const StoreOptions& options) {
  HP_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs->List(options.dir));
  const bool has_manifest = std::find(names.begin(), names.end(), kManifestName) != names.end();
  Manifest manifest;
  if (has_manifest) {
    HP_ASSIGN_OR_RETURN(manifest, ReadManifest(*fs, options.dir));
    for (const std::string& name : names) {
      if (IsLeftover(name, manifest)) (void)fs->Remove(absl::StrCat(options.dir, "/", name));
    }
  } else {
    for (const std::string& name : names) {
      // Ours from a first start cut short (the first segment is created before the
      // manifest), or the file system's own.
      const bool empty_segment =
          absl::StartsWith(name, "incr.") && absl::EndsWith(name, ".aof") &&
          fs->ReadFile(absl::StrCat(options.dir, "/", name)).value_or(std::string("x")).empty();
      if (name != "LOCK" && name != "lost+found" && !absl::EndsWith(name, ".tmp") &&
          !empty_segment) {
        return absl::FailedPreconditionError(absl::StrCat(
            options.dir, " holds ", name, " but no ", kManifestName,
            ": not a hotpath data directory, or one whose manifest was lost; refusing to start "
            "over it"));
      }
    }
    manifest = Manifest{.shards = options.shards, .segments = {1}};
    HP_ASSIGN_OR_RETURN(
        std::unique_ptr<WritableFile> first,
        fs->OpenForAppend(absl::StrCat(options.dir, "/", Manifest::SegmentName(1))));
    HP_RETURN_IF_ERROR(first->Close());
    HP_RETURN_IF_ERROR(WriteManifest(*fs, options.dir, manifest));
  }
  return std::unique_ptr<Store>(new Store(fs, options, std::move(manifest)));
}

Store::Store(FileSystem* fs, const StoreOptions& options, Manifest manifest)
    : fs_(fs), options_(options), manifest_(std::move(manifest)) {}

Store::~Store() { (void)Close(); }

absl::StatusOr<DirectoryRecoveryStats> Store::Recover(Keyspace* keyspace) {
  HP_DCHECK(writer_ == nullptr);
  Manifest manifest;
  {
    absl::MutexLock lock(&mu_);
    manifest = manifest_;
  }
  HP_ASSIGN_OR_RETURN(DirectoryRecoveryStats stats,
                      RecoverDirectory(*fs_, options_.dir, manifest, *keyspace, TornTail::kCut,
                                       options_.load_threads));
  // Opened after recovery, so the size it starts from is the size after a cut tail.
  HP_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> last,
                      fs_->OpenForAppend(absl::StrCat(
                          options_.dir, "/", Manifest::SegmentName(manifest.segments.back()))));
  {
    absl::MutexLock lock(&mu_);
    older_segment_bytes_ = stats.segment_bytes - stats.last_segment_bytes;
    base_bytes_ = stats.base.bytes;
  }
  keyspace_ = keyspace;
  writer_ = std::make_unique<AofWriter>(std::move(last), options_.writer);
  // A new shard count numbers records differently: nothing may be logged before a base
  // written with it replaces the old files.
  if (stats.shard_count_changed) HP_RETURN_IF_ERROR(Rewrite());
  rewrite_thread_ = NamedThread("hp-rewrite", [this] { RewriteLoop(); });
  recovered_.store(true, std::memory_order_release);
  return stats;
}

void Store::Apply(const Mutation& mutation) {
  HP_DCHECK(writer_ != nullptr);
  writer_->Apply(mutation);
}

void Store::WhenDurable(std::function<void(absl::Status)> done) {
  writer_->WhenDurable(std::move(done));
}

absl::Status Store::CheckWritable() const {
  if (!recovered_.load(std::memory_order_acquire)) {
    return absl::UnavailableError("the data directory is still loading");
  }
  if (writer_->healthy()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the data directory cannot be written: ", writer_->stats().last_error));
}

void Store::RequestRewrite(std::function<void(absl::Status)> done) {
  if (recovered_.load(std::memory_order_acquire)) {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      requests_.push_back(std::move(done));
      return;
    }
  }
  done(absl::UnavailableError("the data directory is not open for rewrites (loading or closing)"));
}

bool Store::RewriteDue() const {
  if (options_.rewrite_growth_percent == 0) return false;
  const uint64_t log_bytes = older_segment_bytes_ + writer_->stats().file_bytes;
  using Wide = unsigned __int128;  // a large percentage times a large base must not overflow
  return log_bytes >= options_.rewrite_min_bytes &&
         Wide{log_bytes} * 100 >= Wide{base_bytes_} * options_.rewrite_growth_percent;
}

void Store::RewriteLoop() {
  while (true) {
    std::vector<std::function<void(absl::Status)>> requests;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closing_ || !requests_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&work), options_.rewrite_check_interval);
      if (closing_) return;
      requests.swap(requests_);
      if (requests.empty() && (absl::Now() < next_automatic_ || !RewriteDue())) continue;
      rewrite_.running = true;
    }
    const absl::Time started = absl::Now();
    const absl::Status status = Rewrite();
    {
      absl::MutexLock lock(&mu_);
      rewrite_.running = false;
      rewrite_.last_finished = absl::Now();
      rewrite_.last_duration = rewrite_.last_finished - started;
      rewrite_.last_status = status;
      ++(status.ok() ? rewrite_.completed : rewrite_.failed);
      // After failures, automatic rewrites back off: each retry waits twice as long, up to
      // 32 times the retry delay, so a failing disk is not hammered with snapshots.
      consecutive_failures_ = status.ok() ? 0 : std::min(consecutive_failures_ + 1, 6);
      next_automatic_ = status.ok()
                            ? absl::InfinitePast()
                            : rewrite_.last_finished +
                                  options_.rewrite_retry_delay * (1 << (consecutive_failures_ - 1));
    }
    for (auto& done : requests) done(status);
  }
}

absl::Status Store::Rewrite() {
  Manifest current;
  {
    absl::MutexLock lock(&mu_);
    current = manifest_;
  }
  // 1. A new segment takes every record from here on; the manifest lists it (after the old
  //    files) before it receives one, so a crash at any point recovers everything. A last
  //    segment still empty is kept instead (retries after failures do not pile up files).
  uint64_t number = current.segments.back();
  if (writer_->stats().file_bytes > 0) {
    number = current.NextNumber();
    const std::string segment = absl::StrCat(options_.dir, "/", Manifest::SegmentName(number));
    HP_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs_->OpenForAppend(segment));
    Manifest rotated = current;
    rotated.segments.push_back(number);
    const uint64_t ended_bytes = writer_->stats().file_bytes;
    // A manifest that took its name is the state, even if the directory sync after it failed.
    // On failure the new file stays unlisted; Open removes it.
    HP_RETURN_IF_ERROR(writer_->Rotate(std::move(file), [&] {
      bool renamed = false;
      const absl::Status written = WriteManifest(*fs_, options_.dir, rotated, &renamed);
      return renamed ? absl::OkStatus() : written;
    }));
    absl::MutexLock lock(&mu_);
    manifest_ = rotated;
    older_segment_bytes_ += ended_bytes;
  }
  // 2. A base from the shards. Each shard's image holds its records up to some sequence;
  //    later ones are in the new segment (recovery skips the ones the base holds).
  HP_ASSIGN_OR_RETURN(
      const SnapshotInfo base,
      WriteSnapshot(*fs_, *keyspace_, absl::StrCat(options_.dir, "/", Manifest::BaseName(number)),
                    absl::ToUnixMillis(absl::Now())));
  // 3. The new base and the new segment are the whole state; the old files go.
  const Manifest rewritten{
      .shards = keyspace_->shard_count(), .base = number, .segments = {number}};
  HP_RETURN_IF_ERROR(WriteManifest(*fs_, options_.dir, rewritten));
  {
    absl::MutexLock lock(&mu_);
    manifest_ = rewritten;
    older_segment_bytes_ = 0;
    base_bytes_ = base.bytes;
  }
  const std::vector<std::string> kept = rewritten.Files();
  for (const std::string& name : current.Files()) {
    if (std::find(kept.begin(), kept.end(), name) != kept.end()) continue;
    (void)fs_->Remove(absl::StrCat(options_.dir, "/", name));  // a leftover is removed at Open
  }
  (void)fs_->SyncDir(options_.dir);
  return absl::OkStatus();
}

StoreStats Store::stats() const {
  StoreStats stats;
  if (recovered_.load(std::memory_order_acquire)) stats.writer = writer_->stats();
  absl::MutexLock lock(&mu_);
  stats.segment_bytes = older_segment_bytes_ + stats.writer.file_bytes;
  stats.base_bytes = base_bytes_;
  stats.segments = manifest_.segments.size();
  stats.rewrite = rewrite_;
  return stats;
}

bool Store::AwaitRewrites(uint64_t count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto finished = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return rewrite_.completed + rewrite_.failed >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&finished), timeout);
}

absl::Status Store::Close() {
  std::vector<std::function<void(absl::Status)>> requests;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return absl::OkStatus();
    closing_ = true;
    requests.swap(requests_);
  }
  if (rewrite_thread_.joinable()) rewrite_thread_.join();
  for (auto& done : requests) done(absl::UnavailableError("hotpathd is shutting down"));
  return writer_ != nullptr ? writer_->Close() : absl::OkStatus();
}

}  // namespace hotpath
