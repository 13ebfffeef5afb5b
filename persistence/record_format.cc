#include "persistence/record_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "persistence/crc32c.h"
#include "persistence/wire.h"

namespace hotpath {
std::string EncodeMutation(const Mutation& m) {
  std::string out;
  out.reserve(32 + m.key.ns.size() + m.key.key.size() + m.field.size() + m.field_value.size());
  PutU8(out, static_cast<uint8_t>(m.kind));
  PutVarint(out, m.shard);
  PutVarint(out, m.sequence);
  PutBytes(out, m.key.ns);
  PutBytes(out, m.key.key);
  switch (m.kind) {
    case MutationKind::kUpsert:
      PutVarint(out, static_cast<uint64_t>(m.deadline_ms));
      PutSmallValue(out, *m.value);  // kUpsert carries small values only (mutation.h)
      break;
    case MutationKind::kSetDeadline:
      PutVarint(out, static_cast<uint64_t>(m.deadline_ms));
      break;
    case MutationKind::kDelete:
    case MutationKind::kExpire:
      break;
    case MutationKind::kHashSet:
      PutBytes(out, m.field);
      PutBytes(out, m.field_value);
      break;
    case MutationKind::kHashDelete:
    case MutationKind::kZsetRemove:
      PutBytes(out, m.field);
      break;
    case MutationKind::kZsetUpsert:
      PutBytes(out, m.field);
      PutZigzag(out, m.score);
      PutVarint(out, m.tiebreak);
      PutZsetOptions(out, m.zset_options);
      break;
    case MutationKind::kStreamAppend:
      PutId(out, m.stream_id);
      PutVarint(out, m.stream_fields->size());
      for (const auto& [field, value] : *m.stream_fields) {
        PutBytes(out, field);
        PutBytes(out, value);
      }
      break;
    case MutationKind::kStreamTrim:
      PutId(out, m.stream_id);
      break;
    case MutationKind::kGroupCreate:
    case MutationKind::kGroupAck:
      PutBytes(out, m.group);
      PutId(out, m.stream_id);
      break;
    case MutationKind::kGroupDestroy:
      PutBytes(out, m.group);
      break;
    case MutationKind::kGroupDeliver:
      PutBytes(out, m.group);
      PutBytes(out, m.consumer);
      PutId(out, m.stream_id);
      PutVarint(out, m.delivery_count);
      PutZigzag(out, m.delivery_ms);
      break;
    case MutationKind::kConsumerDelete:
    case MutationKind::kConsumerCreate:
      PutBytes(out, m.group);
      PutBytes(out, m.consumer);
      break;
  }
  return out;
}

absl::StatusOr<Record> DecodeRecord(std::string_view payload) {
  WireReader in(payload);
  Record r;
  uint8_t kind = 0;
  uint64_t deadline = 0;
  auto bad = [](const char* what) {
    return absl::DataLossError(absl::StrCat("malformed record: ", what));
  };
  if (!in.U8(&kind) || !in.Varint32(&r.shard) || !in.Varint(&r.sequence) || !in.Bytes(&r.ns) ||
      !in.Bytes(&r.key)) {
    return bad("truncated header");
  }
  if (kind < 1 || kind > static_cast<uint8_t>(MutationKind::kConsumerCreate)) {
    return bad("unknown kind");
  }
  r.kind = static_cast<MutationKind>(kind);
  bool ok = true;
  switch (r.kind) {
    case MutationKind::kUpsert: {
      Value value = Value::Counter(0);
      ok = in.Varint(&deadline) && GetSmallValue(in, &value);
      if (ok) r.value = std::make_shared<const Value>(std::move(value));
      break;
    }
    case MutationKind::kSetDeadline:
      ok = in.Varint(&deadline);
      break;
    case MutationKind::kDelete:
    case MutationKind::kExpire:
      break;
    case MutationKind::kHashSet:
      ok = in.Bytes(&r.field) && in.Bytes(&r.field_value);
      break;
    case MutationKind::kHashDelete:
    case MutationKind::kZsetRemove:
      ok = in.Bytes(&r.field);
      break;
    case MutationKind::kZsetUpsert: {
      ok = in.Bytes(&r.field) && in.Zigzag(&r.score) && in.Varint(&r.tiebreak) &&
           GetZsetOptions(in, &r.zset_options);
      break;
    }
    case MutationKind::kStreamAppend: {
      uint64_t count = 0;
      ok = in.Id(&r.stream_id) && in.Varint(&count) && count <= payload.size();
      for (uint64_t i = 0; ok && i < count; ++i) {
        std::string field;
        std::string value;
        ok = in.Bytes(&field) && in.Bytes(&value);
        r.stream_fields.emplace_back(std::move(field), std::move(value));
      }
      break;
    }
    case MutationKind::kStreamTrim:
      ok = in.Id(&r.stream_id);
      break;
    case MutationKind::kGroupCreate:
    case MutationKind::kGroupAck:
      ok = in.Bytes(&r.group) && in.Id(&r.stream_id);
      break;
    case MutationKind::kGroupDestroy:
      ok = in.Bytes(&r.group);
      break;
    case MutationKind::kGroupDeliver:
      ok = in.Bytes(&r.group) && in.Bytes(&r.consumer) && in.Id(&r.stream_id) &&
           in.Varint32(&r.delivery_count) && in.Zigzag(&r.delivery_ms);
      break;
    case MutationKind::kConsumerDelete:
    case MutationKind::kConsumerCreate:
      ok = in.Bytes(&r.group) && in.Bytes(&r.consumer);
      break;
  }
  if (!ok) return bad("truncated body");
  if (!in.done()) return bad("bytes after the body");
  if (deadline > static_cast<uint64_t>(INT64_MAX)) return bad("deadline out of range");
  r.deadline_ms = static_cast<int64_t>(deadline);
  return r;
}

std::string EncodeSyncMark(uint64_t synced_bytes) {
  std::string out;
  PutU8(out, kSyncMarkKind);
  PutVarint(out, synced_bytes);
  return out;
}

absl::StatusOr<uint64_t> DecodeSyncMark(std::string_view payload) {
  WireReader in(payload);
  uint8_t kind = 0;
  uint64_t synced = 0;
  if (!in.U8(&kind) || kind != kSyncMarkKind || !in.Varint(&synced) || !in.done()) {
    return absl::DataLossError("malformed sync mark");
  }
  return synced;
}

void AppendFrame(std::string_view payload, std::string* out) {
  PutU32(*out, static_cast<uint32_t>(payload.size()));
  PutU32(*out, Crc32cMask(Crc32c(payload)));
  out->append(payload);
}

namespace {

// Whether a whole, checksummed frame starts at `at`.
bool ValidFrameAt(std::string_view data, size_t at) {
  if (data.size() - at < kFrameHeaderBytes) return false;
  const uint32_t length = GetU32(data, at);
  if (length > kMaxRecordBytes || length > data.size() - at - kFrameHeaderBytes) return false;
  return Crc32c(data.substr(at + kFrameHeaderBytes, length)) == Crc32cUnmask(GetU32(data, at + 4));
}

}  // namespace

bool FrameReader::AnyValidFrameAfter(size_t offset) const {
  for (size_t at = offset + 1; at + kFrameHeaderBytes <= data_.size(); ++at) {
    if (ValidFrameAt(data_, at)) return true;
  }
  return false;
}

std::optional<uint64_t> FrameReader::SyncClaimAfter(size_t offset) const {
  std::optional<uint64_t> claim;
  for (size_t at = offset; at + kFrameHeaderBytes <= data_.size();) {
    if (!ValidFrameAt(data_, at)) {
      ++at;
      continue;
    }
    const uint32_t length = GetU32(data_, at);
    const std::string_view payload = data_.substr(at + kFrameHeaderBytes, length);
    if (IsSyncMark(payload)) {
      if (absl::StatusOr<uint64_t> synced = DecodeSyncMark(payload); synced.ok()) {
        if (*synced > offset) return synced.value();
        claim = std::max(claim.value_or(0), *synced);
      }
    }
    at += kFrameHeaderBytes + length;
  }
  return claim;
}

FrameReader::Frame FrameReader::Next() {
  Frame frame;
  frame.offset = offset_;
  const size_t left = data_.size() - offset_;
  if (left == 0) return frame;  // kEnd
  if (left < kFrameHeaderBytes) {
    frame.state = State::kTornTail;
    frame.problem = absl::StrCat("a frame header cut after ", left, " bytes");
    return frame;
  }
  const uint32_t length = GetU32(data_, offset_);
  const uint32_t crc = Crc32cUnmask(GetU32(data_, offset_ + 4));
  // A bad frame is a torn tail only if nothing valid follows it: a crash cuts the end of the
  // log (leaving a fragment, or zeros where the size reached disk before the data), while a
  // damaged length or checksum in the middle leaves whole records after it.
  std::string problem;
  if (length > kMaxRecordBytes) {
    problem = absl::StrCat("impossible record length ", length);
  } else if (length > left - kFrameHeaderBytes) {
    problem = absl::StrCat("a record of ", length, " bytes with ", left - kFrameHeaderBytes,
                           " bytes left");
  } else if (Crc32c(data_.substr(offset_ + kFrameHeaderBytes, length)) != crc) {
    problem = "a record fails its checksum";
  }
  if (!problem.empty()) {
    const bool more = AnyValidFrameAfter(offset_);
    frame.state = more ? State::kCorrupt : State::kTornTail;
    frame.problem = more ? absl::StrCat(problem, ", and whole records follow") : problem;
    return frame;
  }
  const std::string_view payload = data_.substr(offset_ + kFrameHeaderBytes, length);
  frame.state = State::kRecord;
  frame.payload = payload;
  offset_ += kFrameHeaderBytes + length;
  return frame;
}

}  // namespace hotpath
