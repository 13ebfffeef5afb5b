// FakeFileSystem: an in-memory FileSystem for deterministic crash and fault tests.
//
// Each file keeps its bytes and how many of them were synced. Crash() drops the unsynced bytes
// (optionally keeping a prefix of them, as a torn write does). Writes and syncs can be made to
// fail, and syncs can be held until released, to prove nothing is acknowledged before its
// fsync. Names are durable at once (the fake does not model SyncDir).
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "persistence/file_system.h"

namespace hotpath {

class FakeFileSystem final : public FileSystem {
 public:
  void set_fail_writes(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_writes_ = fail;
  }
  // The next Append writes only `bytes` of its data, then fails (a disk filling up mid-write).
  void FailNextAppendAfter(size_t bytes) {
    absl::MutexLock lock(&mu_);
    partial_append_ = bytes;
  }
  // Renames to a name ending in `suffix` fail (a crash between writing a file and naming it).
  void FailRenamesTo(std::string suffix) {
    absl::MutexLock lock(&mu_);
    fail_renames_to_ = std::move(suffix);
  }
  void set_fail_syncs(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_syncs_ = fail;
  }
  // While held, Sync calls wait (they are in flight, not done).
  void HoldSyncs(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_syncs_ = hold;
  }
  // Blocks until a Sync is waiting on the hold; false after `timeout`.
  bool AwaitHeldSync(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto waiting = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_syncs_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&waiting), timeout);
  }
  int syncs() const {
    absl::MutexLock lock(&mu_);
    return syncs_;
  }
  // Every file loses what was not synced, but the first `keep_unsynced` bytes of it.
  void Crash(size_t keep_unsynced = 0) {
    absl::MutexLock lock(&mu_);
    for (auto& [path, file] : files_) {
      file.data.resize(std::min(file.data.size(), file.synced + keep_unsynced));
      file.synced = file.data.size();
    }
  }
  // What a machine crash could leave of `path` now, without changing it: the synced bytes, then
  // the unsynced ones with the first `hole_bytes` of them still zero, as when a later page
  // reached the disk and an earlier one did not.
  std::string CrashedWithHole(const std::string& path, size_t hole_bytes) const {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return "";
    std::string data = it->second.data;
    const size_t from = std::min(data.size(), it->second.synced);
    const size_t to = std::min(data.size(), from + hole_bytes);
    std::fill(data.begin() + from, data.begin() + to, '\0');
    return data;
  }
  std::string Contents(const std::string& path) const {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    return it == files_.end() ? "" : it->second.data;
  }
  void Overwrite(const std::string& path, std::string data) {
    absl::MutexLock lock(&mu_);
    files_[path] = File{data, data.size()};
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    files_.try_emplace(path);
    return std::unique_ptr<WritableFile>(new Writable(this, path));
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    return it->second.data;
  }
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", path));
    it->second.data.resize(std::min<uint64_t>(size, it->second.data.size()));
    it->second.synced = std::min<size_t>(it->second.synced, it->second.data.size());
    return absl::OkStatus();
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", from));
    if (!fail_renames_to_.empty() && to.size() >= fail_renames_to_.size() &&
        to.compare(to.size() - fail_renames_to_.size(), std::string::npos, fail_renames_to_) == 0) {
      return absl::InternalError(absl::StrCat("rename to ", to, " failed (injected)"));
    }
    files_[to] = it->second;
    files_.erase(from);
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (files_.erase(path) == 0) return absl::NotFoundError(absl::StrCat("no file ", path));
    return absl::OkStatus();
  }
  absl::Status SyncDir(const std::string&) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> names;
    const std::string prefix = dir + "/";
    for (const auto& [path, file] : files_) {
      if (path.rfind(prefix, 0) == 0) names.push_back(path.substr(prefix.size()));
    }
    return names;
  }

 private:
  struct File {
    std::string data;
    size_t synced = 0;
  };

  class Writable final : public WritableFile {
   public:
    Writable(FakeFileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
    absl::Status Append(std::string_view data) override {
      absl::MutexLock lock(&fs_->mu_);
      if (fs_->fail_writes_) return absl::UnavailableError("injected write failure");
      if (fs_->partial_append_ != SIZE_MAX) {
        fs_->files_[path_].data.append(data.substr(0, fs_->partial_append_));
        fs_->partial_append_ = SIZE_MAX;
        return absl::ResourceExhaustedError("injected short write");
      }
      fs_->files_[path_].data.append(data);
      return absl::OkStatus();
    }
    absl::Status Truncate(uint64_t size) override {
      absl::MutexLock lock(&fs_->mu_);
      if (fs_->fail_writes_) return absl::UnavailableError("injected write failure");
      File& file = fs_->files_[path_];
      file.data.resize(std::min<uint64_t>(size, file.data.size()));
      file.synced = std::min<size_t>(file.synced, file.data.size());
      return absl::OkStatus();
    }
    absl::Status Sync() override {
      absl::MutexLock lock(&fs_->mu_);
      ++fs_->held_syncs_;
      auto released = [this]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->mu_) { return !fs_->hold_syncs_; };
      fs_->mu_.Await(absl::Condition(&released));
      --fs_->held_syncs_;
      if (fs_->fail_syncs_) return absl::UnavailableError("injected fsync failure");
      File& file = fs_->files_[path_];
      file.synced = file.data.size();
      ++fs_->syncs_;
      return absl::OkStatus();
    }
    absl::Status Close() override { return absl::OkStatus(); }
    uint64_t size() const override {
      absl::MutexLock lock(&fs_->mu_);
      auto it = fs_->files_.find(path_);
      return it == fs_->files_.end() ? 0 : it->second.data.size();
    }

   private:
    FakeFileSystem* const fs_;
    const std::string path_;
  };

  mutable absl::Mutex mu_;
  std::map<std::string, File> files_ ABSL_GUARDED_BY(mu_);
  bool fail_writes_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_syncs_ ABSL_GUARDED_BY(mu_) = false;
  std::string fail_renames_to_ ABSL_GUARDED_BY(mu_);
  size_t partial_append_ ABSL_GUARDED_BY(mu_) = SIZE_MAX;
  bool hold_syncs_ ABSL_GUARDED_BY(mu_) = false;
  int held_syncs_ ABSL_GUARDED_BY(mu_) = 0;
  int syncs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hotpath
