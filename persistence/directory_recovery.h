// Recovery of a whole data directory as its manifest describes it: load the base snapshot,
// then replay the segments in order, skipping records the base already holds.
//
// Only the last segment may end in a torn tail (cut or reported as told); damage anywhere
// else, in the base or in an earlier segment, fails closed naming the file and offset.
//
// Sequences: when the keyspace has the manifest's shard count, each shard's sequence ends at
// the last record recovered for it, so logging continues without a gap. Otherwise (the shard
// count changed in the configuration) the sequences restart at 0 and `shard_count_changed`
// says so: the caller must write a new base before logging anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"
#include "persistence/log_recovery.h"
#include "persistence/manifest.h"
#include "persistence/snapshot.h"

namespace hotpath {

struct DirectoryRecoveryStats {
  bool base_loaded = false;
  SnapshotInfo base;
  uint64_t records = 0;             // replayed from segments
  uint64_t skipped = 0;             // in segments, but already in the base
  uint64_t segment_bytes = 0;       // whole records in every segment
  uint64_t last_segment_bytes = 0;  // of them, in the last segment
  std::string torn_file;            // the last segment, if it had a torn tail
  uint64_t torn_bytes = 0;
  std::string torn_problem;
  bool shard_count_changed = false;
  absl::Duration duration;
};

// `keyspace` must be empty. `torn_tail` applies to the last segment only.
absl::StatusOr<DirectoryRecoveryStats> RecoverDirectory(FileSystem& fs, const std::string& dir,
                                                        const Manifest& manifest,
                                                        Keyspace& keyspace, TornTail torn_tail,
                                                        int load_threads);

}  // namespace hotpath
