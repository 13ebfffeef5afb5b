// Recovery of one append-only log: replay its records into a keyspace, cut a torn tail, and
// refuse anything else that is wrong, naming the file and the offset.
//
// A torn tail (docs/persistence.md) is what a crash leaves: the last record incomplete or
// failing its checksum. It is truncated away (when `truncate_torn_tail`; otherwise reported)
// so that appends continue after the last whole record. Corruption anywhere else, a record
// that does not decode, or one that contradicts the state fails with DataLoss or
// FailedPrecondition: recovery stops rather than guess.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"

namespace hotpath {

struct LogRecoveryStats {
  uint64_t records = 0;      // replayed
  uint64_t valid_bytes = 0;  // bytes of whole records
  uint64_t torn_bytes = 0;   // bytes after them, cut (or to cut)
  std::string torn_problem;  // what the torn tail looked like, if any
};

absl::StatusOr<LogRecoveryStats> RecoverLog(FileSystem& fs, const std::string& path,
                                            Keyspace& keyspace, bool truncate_torn_tail);

}  // namespace hotpath
