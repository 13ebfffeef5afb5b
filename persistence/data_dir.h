// DataDir: the directory where hotpath keeps its durable state, owned by one process at a time.
//
// Open creates the directory (and its parents) if needed and takes an exclusive advisory lock
// on `<dir>/LOCK`, recording the owner's pid in it, so a second hotpathd pointed at the same
// directory fails at start instead of interleaving writes with the first. The lock is released
// when the DataDir is destroyed or the process exits (the kernel drops flock locks).
//
// Errors: FailedPrecondition when another process holds the lock (naming its pid),
// PermissionDenied / Internal for file system failures, each naming the path.
// Thread safety: immutable after Open.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace hotpath {

class DataDir {
 public:
  static absl::StatusOr<std::unique_ptr<DataDir>> Open(const std::string& path);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  // The directory, as an absolute path.
  const std::string& path() const { return path_; }

 private:
  DataDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  const std::string path_;
  const int lock_fd_;
};

}  // namespace hotpath
