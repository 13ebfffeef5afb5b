// Recovery of one log segment: replay its records into a keyspace, deal with a torn tail as
// told, and refuse anything else that is wrong, naming the file and the offset.
//
// A torn tail (docs/persistence.md) is what a crash leaves at the end of the segment being
// written: the last record incomplete or failing its checksum. In the last segment it is cut
// (kCut) so that appends continue after the last whole record, or only reported (kReport, for
// checking tools); in any other segment a crash cannot explain it (kRefuse). Corruption, a
// record that does not decode, a gap in a shard's sequence or a record that contradicts the
// state fail with DataLoss or FailedPrecondition: recovery stops rather than guess.
//
// A bad stretch with whole records after it is corruption, with one exception in the last
// segment: when the file's sync marks (record_format.h) show that every byte from the stretch on
// lies past the last sync, it is a hole a machine crash left in the unsynced tail (a later page
// reached the disk, an earlier one did not). Under kCut everything from the stretch on is cut,
// as for a torn tail: none of it was synced, so under `always` none of it was acknowledged.
//
// A zero tail is not torn: zeros a writer keeps ahead of its appends (WritableFile::ZeroAhead)
// that a crash left in place hold no record, not even part of one. It ends a segment quietly,
// in any segment, and is cut under kCut so that appends continue after the last record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"

namespace hotpath {

enum class TornTail { kRefuse, kReport, kCut };

struct LogRecoveryStats {
  uint64_t records = 0;      // replayed
  uint64_t skipped = 0;      // already in the base
  uint64_t valid_bytes = 0;  // bytes of whole records
  uint64_t torn_bytes = 0;   // bytes after them, cut (or to cut)
  uint64_t zero_bytes = 0;   // or instead, a zero tail after them (cut under kCut)
  std::string torn_problem;  // what the torn tail looked like, if any
};

// `applied[shard]` is the last sequence of each shard the keyspace already holds (from the
// base and earlier segments). A record at or below it is skipped; one above it must be the
// very next, or recovery fails with a sequence gap. Replayed records advance `applied`.
absl::StatusOr<LogRecoveryStats> RecoverLog(FileSystem& fs, const std::string& path,
                                            Keyspace& keyspace, std::vector<uint64_t>& applied,
                                            TornTail torn_tail);

}  // namespace hotpath
