#include "persistence/log_recovery.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "persistence/record_format.h"

namespace hotpath {

absl::StatusOr<LogRecoveryStats> RecoverLog(FileSystem& fs, const std::string& path,
                                            Keyspace& keyspace, std::vector<uint64_t>& applied,
                                            TornTail torn_tail) {
  absl::StatusOr<std::string> data = fs.ReadFile(path);
  if (!data.ok()) return data.status();
  LogRecoveryStats stats;
  FrameReader reader(*data);
  auto fail = [&](absl::StatusCode code, size_t offset, absl::string_view problem) {
    return absl::Status(code, absl::StrCat(path, " offset ", offset, ": ", problem));
  };
  // What the sync marks read so far claim: the file's bytes before it were synced.
  std::optional<uint64_t> synced;
  while (true) {
    FrameReader::Frame frame = reader.Next();
    if (frame.state == FrameReader::State::kEnd) break;
    if (frame.state == FrameReader::State::kCorrupt) {
      // Whole records after a bad stretch are corruption, unless the stretch lies past every
      // synced byte the marks (before or after it) know of: then it is a hole a machine crash
      // left in the unsynced tail (a later page reached the disk, an earlier one did not), and
      // the tail goes like a torn one. Without a mark nothing says where the synced bytes end.
      if (torn_tail != TornTail::kRefuse) {
        const std::optional<uint64_t> after = reader.SyncClaimAfter(frame.offset);
        if (after.has_value()) synced = std::max(synced.value_or(0), *after);
      }
      if (torn_tail == TornTail::kRefuse || !synced.has_value() || frame.offset < *synced) {
        return fail(absl::StatusCode::kDataLoss, frame.offset,
                    synced.has_value() ? absl::StrCat(frame.problem, " (the first ", *synced,
                                                      " bytes were synced)")
                                       : frame.problem);
      }
      frame.state = FrameReader::State::kTornTail;
      frame.problem = absl::StrCat(frame.problem, ", past the last sync (at byte ", *synced,
                                   "): a hole in the unsynced tail");
    }
    if (frame.state == FrameReader::State::kTornTail) {
      const std::string_view rest = std::string_view(*data).substr(frame.offset);
      if (rest.find_first_not_of('\0') == std::string_view::npos) {
        stats.zero_bytes = rest.size();
        break;
      }
      if (torn_tail == TornTail::kRefuse) {
        return fail(absl::StatusCode::kDataLoss, frame.offset,
                    absl::StrCat(frame.problem, " in a segment that is not the last"));
      }
      stats.torn_bytes = data->size() - frame.offset;
      stats.torn_problem = frame.problem;
      break;
    }
    if (IsSyncMark(frame.payload)) {
      absl::StatusOr<uint64_t> mark = DecodeSyncMark(frame.payload);
      if (!mark.ok()) {
        return fail(absl::StatusCode::kDataLoss, frame.offset, mark.status().message());
      }
      synced = std::max(synced.value_or(0), *mark);
      continue;
    }
    absl::StatusOr<Record> record = DecodeRecord(frame.payload);
    if (!record.ok()) {
      return fail(absl::StatusCode::kDataLoss, frame.offset, record.status().message());
    }
    if (record->shard >= applied.size()) {
      return fail(absl::StatusCode::kDataLoss, frame.offset,
                  absl::StrCat("record of shard ", record->shard, " in a layout of ",
                               applied.size(), " shards"));
    }
    uint64_t& last = applied[record->shard];
    if (record->sequence <= last) {
      ++stats.skipped;
      continue;
    }
    if (record->sequence != last + 1) {
      return fail(absl::StatusCode::kDataLoss, frame.offset,
                  absl::StrCat("sequence gap: record ", record->sequence, " of shard ",
                               record->shard, " follows record ", last));
    }
    absl::Status replayed = keyspace.Replay(*record);
    if (!replayed.ok()) return fail(replayed.code(), frame.offset, replayed.message());
    last = record->sequence;
    ++stats.records;
  }
  stats.valid_bytes = reader.valid_bytes();
  if ((stats.torn_bytes > 0 || stats.zero_bytes > 0) && torn_tail == TornTail::kCut) {
    absl::Status cut = fs.Truncate(path, stats.valid_bytes);
    if (!cut.ok()) return cut;
  }
  return stats;
}

}  // namespace hotpath
