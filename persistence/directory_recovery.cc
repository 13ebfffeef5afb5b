#include "persistence/directory_recovery.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hotpath {

absl::StatusOr<DirectoryRecoveryStats> RecoverDirectory(FileSystem& fs, const std::string& dir,
                                                        const Manifest& manifest,
                                                        Keyspace& keyspace, TornTail torn_tail,
                                                        int load_threads) {
  const absl::Time started = absl::Now();
  DirectoryRecoveryStats stats;
  std::vector<uint64_t> applied(manifest.shards, 0);
  if (manifest.base.has_value()) {
    const std::string path = absl::StrCat(dir, "/", Manifest::BaseName(*manifest.base));
    absl::StatusOr<SnapshotInfo> base = LoadSnapshot(fs, path, keyspace, load_threads);
    if (!base.ok()) return base.status();
    if (base->shards != manifest.shards) {
      return absl::DataLossError(absl::StrCat(path, " holds ", base->shards,
                                              " shards; the manifest says ", manifest.shards));
    }
    stats.base_loaded = true;
    stats.base = *base;
    applied = base->sequences;
  }
  for (size_t i = 0; i < manifest.segments.size(); ++i) {
    const bool last = i + 1 == manifest.segments.size();
    const std::string path = absl::StrCat(dir, "/", Manifest::SegmentName(manifest.segments[i]));
    absl::StatusOr<LogRecoveryStats> log =
        RecoverLog(fs, path, keyspace, applied, last ? torn_tail : TornTail::kRefuse);
    if (!log.ok()) return log.status();
    stats.records += log->records;
    stats.skipped += log->skipped;
    stats.segment_bytes += log->valid_bytes;
    if (last) stats.last_segment_bytes = log->valid_bytes;
    if (log->torn_bytes > 0) {
      stats.torn_file = path;
      stats.torn_bytes = log->torn_bytes;
      stats.torn_problem = log->torn_problem;
    }
  }
  stats.shard_count_changed = manifest.shards != keyspace.shard_count();
  for (uint32_t shard = 0; shard < keyspace.shard_count(); ++shard) {
    keyspace.RestoreSequence(shard, stats.shard_count_changed ? 0 : applied[shard]);
  }
  stats.duration = absl::Now() - started;
  return stats;
}

}  // namespace hotpath
