#include "persistence/record_format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "persistence/crc32c.h"

namespace hotpath {
namespace {

// --- Writing.
void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutZigzag(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutBytes(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

void PutId(std::string& out, StreamId id) {
  PutVarint(out, id.ms);
  PutVarint(out, id.seq);
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

// --- Reading: every getter fails cleanly at the end of the payload.
class Input {
 public:
  explicit Input(std::string_view data) : data_(data) {}

  bool U8(uint8_t* v) {
    if (at_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[at_++]);
    return true;
  }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!U8(&byte)) return false;
      if (shift == 63 && byte > 1) return false;  // more than 64 bits
      *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool Varint32(uint32_t* v) {
    uint64_t wide;
    if (!Varint(&wide) || wide > UINT32_MAX) return false;
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  bool Zigzag(int64_t* v) {
    uint64_t raw;
    if (!Varint(&raw)) return false;
    *v = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
    return true;
  }
  bool Bytes(std::string* out) {
    uint64_t size;
    if (!Varint(&size) || size > data_.size() - at_) return false;
    out->assign(data_.substr(at_, size));
    at_ += size;
    return true;
  }
  bool Id(StreamId* id) { return Varint(&id->ms) && Varint(&id->seq); }
  bool done() const { return at_ == data_.size(); }

 private:
  std::string_view data_;
  size_t at_ = 0;
};

enum WireValueType : uint8_t { kWireString = 0, kWireCounter = 1, kWireLimiter = 2 };

uint8_t ZsetOptionBits(const SortedSetOptions& options) {
  return (options.score_order == ScoreOrder::kDescending ? 1 : 0) |
         (options.ties == TieOrder::kMemberName ? 2 : 0);
}

}  // namespace

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
      switch (m.value->type()) {
        case ValueType::kString:
          PutU8(out, kWireString);
          PutBytes(out, m.value->string());
          break;
        case ValueType::kCounter:
          PutU8(out, kWireCounter);
          PutZigzag(out, m.value->counter());
          break;
        default:  // kUpsert carries small values only (mutation.h)
          PutU8(out, kWireLimiter);
          PutU8(out, m.value->limiter().algorithm);
          for (int64_t slot : m.value->limiter().slots) PutZigzag(out, slot);
          break;
      }
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
      PutU8(out, ZsetOptionBits(m.zset_options));
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
      PutBytes(out, m.group);
      PutBytes(out, m.consumer);
      break;
  }
  return out;
}

absl::StatusOr<Record> DecodeRecord(std::string_view payload) {
  Input in(payload);
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
  if (kind < 1 || kind > static_cast<uint8_t>(MutationKind::kConsumerDelete)) {
    return bad("unknown kind");
  }
  r.kind = static_cast<MutationKind>(kind);
  bool ok = true;
  switch (r.kind) {
    case MutationKind::kUpsert: {
      uint8_t type = 0;
      ok = in.Varint(&deadline) && in.U8(&type);
      if (!ok) break;
      if (type == kWireString) {
        std::string bytes;
        ok = in.Bytes(&bytes);
        r.value = std::make_shared<const Value>(Value::String(std::move(bytes)));
      } else if (type == kWireCounter) {
        int64_t count = 0;
        ok = in.Zigzag(&count);
        r.value = std::make_shared<const Value>(Value::Counter(count));
      } else if (type == kWireLimiter) {
        LimiterState state;
        ok = in.U8(&state.algorithm);
        for (int64_t& slot : state.slots) ok = ok && in.Zigzag(&slot);
        r.value = std::make_shared<const Value>(Value::Limiter(state));
      } else {
        return bad("unknown value type");
      }
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
      uint8_t options = 0;
      ok = in.Bytes(&r.field) && in.Zigzag(&r.score) && in.Varint(&r.tiebreak) && in.U8(&options);
      if (options > 3) return bad("unknown sorted-set options");
      r.zset_options.score_order = (options & 1) ? ScoreOrder::kDescending : ScoreOrder::kAscending;
      r.zset_options.ties = (options & 2) ? TieOrder::kMemberName : TieOrder::kEarlierFirst;
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
      ok = in.Bytes(&r.group) && in.Bytes(&r.consumer);
      break;
  }
  if (!ok) return bad("truncated body");
  if (!in.done()) return bad("bytes after the body");
  if (deadline > static_cast<uint64_t>(INT64_MAX)) return bad("deadline out of range");
  r.deadline_ms = static_cast<int64_t>(deadline);
  return r;
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
