// FileSystem: the few file operations persistence needs, behind an interface so tests can
// inject failures and crashes (testing/fake_file_system.h) and production uses POSIX.
//
// Durability contract (what the fake models and the POSIX version provides):
//   - bytes passed to WritableFile::Append survive a crash only after WritableFile::Sync;
//   - a created, renamed or removed name survives a crash only after SyncDir on its directory.
// Errors: every failure is a Status naming the path and the system error.
// Thread safety: a FileSystem may be used from any thread; a WritableFile by one at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hotpath {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  // Makes every appended byte durable (fdatasync).
  virtual absl::Status Sync() = 0;
  // Cuts the file back to `size` bytes; later appends continue from there.
  virtual absl::Status Truncate(uint64_t size) = 0;
  virtual absl::Status Close() = 0;
  // Bytes in the file, including appended but unsynced ones.
  virtual uint64_t size() const = 0;
  // Asks the file to keep zeros written up to `bytes` past its end, so that appends overwrite
  // zeros instead of growing the file: an fdatasync then need not also commit a new file size
  // (on ext4 and xfs a journal commit, about a third of the sync). size() and Truncate ignore
  // the zeros, and Close cuts them off; a crash leaves them, which log recovery reads as a
  // zero tail (docs/persistence.md). Best effort: zeros the disk refuses fail no append.
  // Optional: the default keeps no zeros.
  virtual void ZeroAhead(uint64_t /*bytes*/) {}
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens `path` for appending, creating it empty if missing.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) = 0;
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Cuts the file to `size` bytes, durably.
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // File names (not paths) in `dir`, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
};

// The real file system. Never null; lives for the whole process.
FileSystem* PosixFileSystem();

}  // namespace hotpath
