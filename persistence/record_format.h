// The on-disk form of after-image records: payload encoding and length + CRC32C framing, as
// specified in docs/persistence.md.
//
//   std::string log;
//   AppendFrame(EncodeMutation(mutation), &log);
//   FrameReader reader(log);
//   while (true) {
//     FrameReader::Frame frame = reader.Next();
//     if (frame.state != FrameReader::State::kRecord) break;
//     absl::StatusOr<Record> record = DecodeRecord(frame.payload);
//   }
//
// Thread safety: the functions are pure; a FrameReader belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/mutation.h"
#include "engine/record.h"

namespace hotpath {

inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kMaxRecordBytes = 256u << 20;

// The payload of a record (docs/persistence.md, "Record payload").
std::string EncodeMutation(const Mutation& mutation);
// DataLoss naming what is wrong when the payload is not a well-formed record.
absl::StatusOr<Record> DecodeRecord(std::string_view payload);

// A sync mark: a log-level record, not a mutation, that the writer appends after a successful
// fdatasync to say that the file's first `synced_bytes` bytes were on disk before the mark was
// written. Recovery uses the marks to tell a crash's unsynced tail from damage to synced bytes
// (docs/persistence.md, "Record frame"); replay skips them.
inline constexpr uint8_t kSyncMarkKind = 64;
std::string EncodeSyncMark(uint64_t synced_bytes);
// Whether a payload is a sync mark (its kind byte), well-formed or not.
inline bool IsSyncMark(std::string_view payload) {
  return !payload.empty() && static_cast<uint8_t>(payload[0]) == kSyncMarkKind;
}
// The claim of a sync mark; DataLoss if the payload is not a well-formed one.
absl::StatusOr<uint64_t> DecodeSyncMark(std::string_view payload);

// Appends [length][masked crc32c][payload] to `out`.
void AppendFrame(std::string_view payload, std::string* out);

// Walks the frames of a log file's bytes.
class FrameReader {
 public:
  enum class State {
    kRecord,    // payload holds a whole, checksummed record
    kEnd,       // the data ended exactly after the last frame
    kTornTail,  // a bad frame with nothing valid after it: a crash cut the log
    kCorrupt,   // a bad frame with whole records after it (see docs/persistence.md)
  };
  struct Frame {
    State state = State::kEnd;
    std::string_view payload;  // kRecord only; a view into the reader's data
    size_t offset = 0;         // where the frame (or the problem) starts
    std::string problem;       // kTornTail, kCorrupt: what was found
  };

  explicit FrameReader(std::string_view data) : data_(data) {}
  Frame Next();
  // Bytes of whole, valid frames read so far: where a torn tail would be truncated.
  size_t valid_bytes() const { return offset_; }
  // What the well-formed sync marks after `offset` say about the byte at `offset`: the first
  // claim past it (the scan stops there: that byte was synced), else the largest claim, else
  // nullopt if there is no mark. Found by walking whole frames and skipping bad stretches byte
  // by byte (an error path: it scans).
  std::optional<uint64_t> SyncClaimAfter(size_t offset) const;

 private:
  // Whether a whole, checksummed frame starts anywhere after `offset` (an error path: it scans).
  bool AnyValidFrameAfter(size_t offset) const;

  std::string_view data_;
  size_t offset_ = 0;
};

}  // namespace hotpath
