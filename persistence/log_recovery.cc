#include "persistence/log_recovery.h"

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
  while (true) {
    const FrameReader::Frame frame = reader.Next();
    if (frame.state == FrameReader::State::kEnd) break;
    if (frame.state == FrameReader::State::kCorrupt) {
      return fail(absl::StatusCode::kDataLoss, frame.offset, frame.problem);
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
