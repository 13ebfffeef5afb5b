// Snapshots: the base of a data directory, a point-in-time image of the keyspace written
// without fork (docs/persistence.md, "Snapshot file").
//
// WriteSnapshot images one shard at a time: it holds that shard's lock while encoding the
// shard into memory (blocking that shard's operations, and only that shard's, for the
// duration), except for sorted sets of 1,024 members or more, of which it takes a
// copy-on-write image under the lock (SortedSet::TakeImage) and encodes that after; then it
// writes the section with no lock held. Each shard's image carries the shard's sequence at
// that moment, so a log record of that shard is in the image exactly when its sequence is at
// most the image's.
//
//   absl::StatusOr<SnapshotInfo> info = WriteSnapshot(fs, keyspace, dir + "/base.7.rdb", now_ms);
//   absl::StatusOr<SnapshotInfo> loaded = LoadSnapshot(fs, dir + "/base.7.rdb", keyspace, 2);
//
// Errors: file system failures as they come (the temporary file is removed); any damage when
// loading is DataLoss naming the file and byte offset.
// Thread safety: both functions may run concurrently with operations on the keyspace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"

namespace hotpath {

struct SnapshotInfo {
  uint32_t shards = 0;              // the shard count of the keyspace imaged
  std::vector<uint64_t> sequences;  // per shard: the image holds its records 1..sequence
  uint64_t keys = 0;
  uint64_t bytes = 0;  // file size
  int64_t created_unix_ms = 0;
};

// Writes `path` + ".tmp", syncs it, renames it to `path` and syncs the directory.
absl::StatusOr<SnapshotInfo> WriteSnapshot(FileSystem& fs, const Keyspace& keyspace,
                                           const std::string& path, int64_t now_unix_ms);

// Verifies the whole file, then loads its keys into `keyspace` (which may have another shard
// count), decoding up to `threads` sections at once. Keys replace what the keyspace holds;
// shard sequences are left to the caller. On error the keyspace may hold part of the image.
absl::StatusOr<SnapshotInfo> LoadSnapshot(FileSystem& fs, const std::string& path,
                                          Keyspace& keyspace, int threads);

}  // namespace hotpath
