#include "persistence/log_recovery.h"

#include "absl/strings/str_cat.h"
#include "persistence/record_format.h"

namespace hotpath {

absl::StatusOr<LogRecoveryStats> RecoverLog(FileSystem& fs, const std::string& path,
                                            Keyspace& keyspace, bool truncate_torn_tail) {
  absl::StatusOr<std::string> data = fs.ReadFile(path);
  if (!data.ok()) return data.status();
  LogRecoveryStats stats;
  FrameReader reader(*data);
  while (true) {
    const FrameReader::Frame frame = reader.Next();
    if (frame.state == FrameReader::State::kEnd) break;
    if (frame.state == FrameReader::State::kCorrupt) {
      return absl::DataLossError(absl::StrCat(path, " offset ", frame.offset, ": ", frame.problem));
    }
    if (frame.state == FrameReader::State::kTornTail) {
      stats.torn_bytes = data->size() - frame.offset;
      stats.torn_problem = frame.problem;
      break;
    }
    absl::StatusOr<Record> record = DecodeRecord(frame.payload);
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, " offset ", frame.offset, ": ", record.status().message()));
    }
    absl::Status replayed = keyspace.Replay(*record);
    if (!replayed.ok()) {
      return absl::Status(replayed.code(),
                          absl::StrCat(path, " offset ", frame.offset, ": ", replayed.message()));
    }
    ++stats.records;
  }
  stats.valid_bytes = reader.valid_bytes();
  if (stats.torn_bytes > 0 && truncate_torn_tail) {
    absl::Status cut = fs.Truncate(path, stats.valid_bytes);
    if (!cut.ok()) return cut;
  }
  return stats;
}

}  // namespace hotpath
