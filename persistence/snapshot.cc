#include "persistence/snapshot.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/common/status_macros.h"
#include "engine/zset/sorted_set.h"
#include "persistence/crc32c.h"
#include "persistence/wire.h"

namespace hotpath {
namespace {

constexpr std::string_view kMagic("HPSNAP\r\n", 8);
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;
constexpr size_t kSectionHeaderBytes = 8 + 4;
constexpr size_t kTrailerBytes = 4;
enum SectionKind : uint8_t { kShardSection = 1, kEndSection = 2 };

// --- Writing.

// Sorted sets of at least this many members are encoded from an image (SortedSet::TakeImage),
// outside the shard's lock; smaller ones cost less to encode than to image.
constexpr uint64_t kImageMembers = 1024;

void PutStream(std::string& out, const Stream& stream) {
  PutId(out, stream.last_id());
  PutVarint(out, stream.size());
  stream.ForEachEntry([&](const StreamEntry& entry) {
    PutId(out, entry.id);
    PutVarint(out, entry.fields.size());
    for (const auto& [field, value] : entry.fields) {
      PutBytes(out, field);
      PutBytes(out, value);
    }
  });
  const std::vector<Stream::GroupImage> groups = stream.Groups();
  PutVarint(out, groups.size());
  for (const Stream::GroupImage& group : groups) {
    PutBytes(out, group.name);
    PutId(out, group.last_delivered);
    PutVarint(out, group.consumers.size());
    for (const std::string& consumer : group.consumers) PutBytes(out, consumer);
    PutVarint(out, group.pending.size());
    for (const PendingEntry& entry : group.pending) {
      PutId(out, entry.id);
      PutBytes(out, entry.consumer);
      PutVarint(out, entry.delivery_count);
      PutZigzag(out, entry.last_delivery_ms);
    }
  }
}

void PutKeyHead(std::string& out, const KeyRef& key, int64_t deadline_ms) {
  PutBytes(out, key.ns);
  PutBytes(out, key.key);
  PutVarint(out, static_cast<uint64_t>(deadline_ms));
}

// `set` is a SortedSet or a SortedSet::Image.
template <typename Set>
void PutSortedSet(std::string& out, const Set& set) {
  PutU8(out, kWireSortedSet);
  PutZsetOptions(out, set.options());
  PutVarint(out, set.size());
  set.ForEach([&](const ScoredMember& member) {
    PutBytes(out, member.member);
    PutZigzag(out, member.score);
    PutVarint(out, member.tiebreak);
  });
}

void PutKey(std::string& out, const KeyRef& key, const Value& value, int64_t deadline_ms) {
  PutKeyHead(out, key, deadline_ms);
  switch (value.type()) {
    case ValueType::kHash:
      PutU8(out, kWireHash);
      PutVarint(out, value.hash().size());
      value.hash().ForEach([&](std::string_view field, std::string_view field_value) {
        PutBytes(out, field);
        PutBytes(out, field_value);
      });
      return;
    case ValueType::kSortedSet:
      PutSortedSet(out, value.sorted_set());
      return;
    case ValueType::kStream:
      PutU8(out, kWireStream);
      PutStream(out, value.stream());
      return;
    default:
      PutSmallValue(out, value);
      return;
  }
}

// The header of a section whose payload is `head` followed by `body`.
std::string SectionHeader(std::string_view head, std::string_view body) {
  std::string out;
  PutU64(out, head.size() + body.size());
  PutU32(out, Crc32cMask(Crc32cExtend(Crc32c(head), body)));
  return out;
}

// --- Reading.

// Decodes one key's value of wire type `type`.
bool GetValue(WireReader& in, uint8_t type, Value* value, std::string* problem) {
  if (type <= kWireLimiter) return GetSmallValueBody(in, type, value);
  uint64_t count = 0;
  if (type == kWireHash) {
    auto hash = std::make_unique<Hash>();
    if (!in.Varint(&count)) return false;
    if (count == 0) {
      *problem = "an empty hash (a hash goes with its last field)";
      return false;
    }
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view field, field_value;
      if (!in.View(&field) || !in.View(&field_value)) return false;
      if (absl::Status valid = Hash::Validate(field, field_value); !valid.ok()) {
        *problem = absl::StrCat("hash: ", valid.message());
        return false;
      }
      hash->Set(field, field_value);
    }
    if (hash->size() != count) {
      *problem = "a hash repeats a field";
      return false;
    }
    *value = Value::Of(std::move(hash));
    return true;
  }
  if (type == kWireSortedSet) {
    SortedSetOptions options;
    if (!GetZsetOptions(in, &options) || !in.Varint(&count)) return false;
    if (count == 0) {
      *problem = "an empty sorted set (a sorted set goes with its last member)";
      return false;
    }
    // Bound the reservation by what the bytes could hold (a member takes at least 3).
    SortedSet::Loader loader(options, std::min<uint64_t>(count, 1 << 20));
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view member;
      int64_t score = 0;
      uint64_t tiebreak = 0;
      if (!in.View(&member) || !in.Zigzag(&score) || !in.Varint(&tiebreak)) return false;
      absl::Status added = loader.Add(member, score, tiebreak);
      if (!added.ok()) {
        *problem = absl::StrCat("sorted set: ", added.message());
        return false;
      }
    }
    *value = Value::Of(std::move(loader).Finish());
    return true;
  }
  if (type != kWireStream) {
    *problem = absl::StrCat("unknown value type ", type);
    return false;
  }
  auto stream = std::make_unique<Stream>();
  StreamId last_id;
  if (!in.Id(&last_id) || !in.Varint(&count)) return false;
  if (last_id == kMaxStreamId) {
    *problem = "a stream's last ID is the largest possible";
    return false;
  }
  for (uint64_t i = 0; i < count; ++i) {
    StreamId id;
    uint64_t fields = 0;
    if (!in.Id(&id) || !in.Varint(&fields)) return false;
    StreamFields entry;
    entry.reserve(std::min<uint64_t>(fields, 1024));
    size_t entry_bytes = 0;
    for (uint64_t f = 0; f < fields; ++f) {
      auto& [name, field_value] = entry.emplace_back();
      if (!in.Bytes(&name) || !in.Bytes(&field_value)) return false;
      if (absl::Status valid = Hash::Validate(name, field_value); !valid.ok()) {
        *problem = absl::StrCat("stream entry: ", valid.message());
        return false;
      }
      entry_bytes += name.size() + field_value.size();
    }
    if (entry_bytes > kMaxStreamEntryBytes) {
      *problem = "a stream entry over the size limit";
      return false;
    }
    absl::StatusOr<StreamId> appended = stream->Append(id, entry, 0);
    if (!appended.ok()) {
      *problem = absl::StrCat("stream: ", appended.status().message());
      return false;
    }
  }
  stream->RestoreLastId(last_id);
  uint64_t groups = 0;
  if (!in.Varint(&groups)) return false;
  for (uint64_t g = 0; g < groups; ++g) {
    Stream::GroupImage group;
    uint64_t consumers = 0;
    uint64_t pending = 0;
    if (!in.Bytes(&group.name) || !in.Id(&group.last_delivered) || !in.Varint(&consumers)) {
      return false;
    }
    for (uint64_t c = 0; c < consumers; ++c) {
      if (!in.Bytes(&group.consumers.emplace_back())) return false;
    }
    if (!in.Varint(&pending)) return false;
    for (uint64_t p = 0; p < pending; ++p) {
      PendingEntry& entry = group.pending.emplace_back();
      if (!in.Id(&entry.id) || !in.Bytes(&entry.consumer) || !in.Varint32(&entry.delivery_count) ||
          !in.Zigzag(&entry.last_delivery_ms)) {
        return false;
      }
    }
    absl::Status restored = stream->RestoreGroup(group);
    if (!restored.ok()) {
      *problem = absl::StrCat("stream: ", restored.message());
      return false;
    }
  }
  *value = Value::Of(std::move(stream));
  return true;
}

struct Section {
  size_t offset = 0;  // of the section header in the file
  std::string_view payload;
};

class Loader {
 public:
  Loader(const std::string& path, Keyspace& keyspace) : path_(path), keyspace_(keyspace) {}

  absl::Status Error(size_t offset, absl::string_view problem) const {
    return absl::DataLossError(absl::StrCat(path_, " offset ", offset, ": ", problem));
  }

  // Loads one shard section; returns its shard index, sequence and key count.
  absl::Status LoadShard(const Section& section, uint32_t* shard, uint64_t* sequence,
                         uint64_t* keys) {
    const size_t base = section.offset + kSectionHeaderBytes;
    WireReader in(section.payload);
    uint8_t kind = 0;
    if (!in.U8(&kind) || kind != kShardSection || !in.Varint32(shard) || !in.Varint(sequence) ||
        !in.Varint(keys)) {
      return Error(section.offset, "malformed shard section header");
    }
    for (uint64_t i = 0; i < *keys; ++i) {
      const size_t at = base + in.position();
      std::string_view ns, key;
      uint64_t deadline = 0;
      uint8_t type = 0;
      if (!in.View(&ns) || !in.View(&key) || !in.Varint(&deadline) || !in.U8(&type)) {
        return Error(at, "malformed key");
      }
      Value value = Value::Counter(0);
      std::string problem = "malformed value";
      if (!GetValue(in, type, &value, &problem)) return Error(at, problem);
      absl::Status restored =
          keyspace_.Restore(KeyRef{ns, key}, std::move(value), static_cast<int64_t>(deadline));
      if (!restored.ok()) return Error(at, restored.message());
    }
    if (!in.done()) return Error(base + in.position(), "bytes after the last key");
    return absl::OkStatus();
  }

 private:
  const std::string& path_;
  Keyspace& keyspace_;
};

}  // namespace

absl::StatusOr<SnapshotInfo> WriteSnapshot(FileSystem& fs, const Keyspace& keyspace,
                                           const std::string& path, int64_t now_unix_ms) {
  const std::string temp = path + ".tmp";
  absl::Status removed = fs.Remove(temp);  // a leftover of an earlier attempt
  if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  HP_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.OpenForAppend(temp));
  auto fail = [&](absl::Status status) {
    (void)file->Close();
    (void)fs.Remove(temp);
    return status;
  };

  SnapshotInfo info;
  info.shards = keyspace.shard_count();
  info.created_unix_ms = now_unix_ms;
  uint32_t crc = 0;
  auto write = [&](const std::string& bytes) {
    crc = Crc32cExtend(crc, bytes);
    info.bytes += bytes.size();
    return file->Append(bytes);
  };
  std::string header(kMagic);
  PutU32(header, kVersion);
  PutU32(header, info.shards);
  PutU64(header, static_cast<uint64_t>(now_unix_ms));
  if (absl::Status s = write(header); !s.ok()) return fail(s);

  // One shard's keys are encoded once, in `keys`, and written from there: a section costs
  // one encoding of its shard in memory.
  std::string keys;
  // Large sorted sets are imaged under the shard's lock (their order copied, their records
  // shared) and encoded after it is released: a 1M-member board's writers would otherwise wait
  // for its whole encoding (store_benchmark's BM_BoardWriteStallDuringRewrite). One shard's
  // images are held until the shard is encoded.
  struct LargeSet {
    std::string ns;
    std::string key;
    int64_t deadline_ms;
    SortedSet::Image image;
  };
  std::vector<LargeSet> large_sets;
  for (uint32_t shard = 0; shard < info.shards; ++shard) {
    keys.clear();
    uint64_t count = 0;
    const uint64_t sequence = keyspace.SnapshotShard(
        shard, [&](const KeyRef& key, const Value& value, int64_t deadline_ms) {
          ++count;
          if (value.type() == ValueType::kSortedSet && value.sorted_set().size() >= kImageMembers) {
            large_sets.push_back({std::string(key.ns), std::string(key.key), deadline_ms,
                                  value.sorted_set().TakeImage()});
            return;
          }
          PutKey(keys, key, value, deadline_ms);
        });
    for (const LargeSet& set : large_sets) {
      PutKeyHead(keys, KeyRef{set.ns, set.key}, set.deadline_ms);
      PutSortedSet(keys, set.image);
    }
    large_sets.clear();
    std::string head;
    PutU8(head, kShardSection);
    PutVarint(head, shard);
    PutVarint(head, sequence);
    PutVarint(head, count);
    for (const std::string& part : {SectionHeader(head, keys), head}) {
      if (absl::Status s = write(part); !s.ok()) return fail(s);
    }
    if (absl::Status s = write(keys); !s.ok()) return fail(s);
    info.sequences.push_back(sequence);
    info.keys += count;
  }
  std::string end;
  PutU8(end, kEndSection);
  PutVarint(end, info.shards);
  PutVarint(end, info.keys);
  if (absl::Status s = write(SectionHeader(end, "")); !s.ok()) return fail(s);
  if (absl::Status s = write(end); !s.ok()) return fail(s);
  std::string trailer;
  PutU32(trailer, Crc32cMask(crc));
  if (absl::Status s = file->Append(trailer); !s.ok()) return fail(s);
  info.bytes += trailer.size();
  if (absl::Status s = file->Sync(); !s.ok()) return fail(s);
  if (absl::Status s = file->Close(); !s.ok()) return fail(s);
  if (absl::Status s = fs.Rename(temp, path); !s.ok()) return fail(s);
  HP_RETURN_IF_ERROR(fs.SyncDir(path.substr(0, path.rfind('/') + 1)));
  return info;
}

absl::StatusOr<SnapshotInfo> LoadSnapshot(FileSystem& fs, const std::string& path,
                                          Keyspace& keyspace, int threads) {
  HP_ASSIGN_OR_RETURN(const std::string data, fs.ReadFile(path));
  Loader loader(path, keyspace);
  if (data.size() < kHeaderBytes + kTrailerBytes || std::string_view(data).substr(0, 8) != kMagic) {
    return loader.Error(0, "not a hotpath snapshot (bad magic or too short)");
  }
  const size_t body_end = data.size() - kTrailerBytes;
  if (Crc32cMask(Crc32c(std::string_view(data).substr(0, body_end))) != GetU32(data, body_end)) {
    return loader.Error(body_end, "whole-file checksum mismatch");
  }
  if (GetU32(data, 8) != kVersion) {
    return loader.Error(8, absl::StrCat("unsupported snapshot version ", GetU32(data, 8)));
  }
  SnapshotInfo info;
  info.shards = GetU32(data, 12);
  info.created_unix_ms = static_cast<int64_t>(GetU64(data, 16));
  info.bytes = data.size();
  if (info.shards == 0 || info.shards > kSlotCount) {
    return loader.Error(12, absl::StrCat("impossible shard count ", info.shards));
  }

  // Sections: info.shards shard sections, then the end section, then the trailer.
  std::vector<Section> sections;
  std::optional<Section> end;
  for (size_t at = kHeaderBytes; at < body_end;) {
    if (end.has_value()) return loader.Error(at, "data after the end section");
    if (body_end - at < kSectionHeaderBytes) return loader.Error(at, "truncated section header");
    const uint64_t length = GetU64(data, at);
    if (length > body_end - at - kSectionHeaderBytes) {
      return loader.Error(at, "section length past the end of the file");
    }
    const std::string_view payload =
        std::string_view(data).substr(at + kSectionHeaderBytes, length);
    if (Crc32cMask(Crc32c(payload)) != GetU32(data, at + 8)) {
      return loader.Error(at, "section checksum mismatch");
    }
    if (payload.empty()) return loader.Error(at, "empty section");
    if (static_cast<uint8_t>(payload[0]) == kEndSection) {
      end = Section{at, payload};
    } else {
      sections.push_back(Section{at, payload});
    }
    at += kSectionHeaderBytes + length;
  }
  if (!end.has_value()) return loader.Error(body_end, "no end section");
  if (sections.size() != info.shards) {
    return loader.Error(
        end->offset, absl::StrCat(sections.size(), " shard sections for ", info.shards, " shards"));
  }

  // Decode sections in parallel: each holds one shard's keys, so with an unchanged shard
  // count the threads touch different shard locks.
  info.sequences.assign(info.shards, 0);
  std::vector<bool> seen(info.shards, false);
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status failed;
  auto work = [&] {
    for (size_t i = next++; i < sections.size(); i = next++) {
      uint32_t shard = 0;
      uint64_t sequence = 0;
      uint64_t keys = 0;
      absl::Status loaded = loader.LoadShard(sections[i], &shard, &sequence, &keys);
      absl::MutexLock lock(&mu);
      if (loaded.ok() && (shard >= info.shards || seen[shard])) {
        loaded = loader.Error(sections[i].offset, absl::StrCat("unexpected shard ", shard));
      }
      if (!loaded.ok()) {
        if (failed.ok()) failed = loaded;
        next = sections.size();
        return;
      }
      seen[shard] = true;
      info.sequences[shard] = sequence;
      info.keys += keys;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && t < static_cast<int>(sections.size()); ++t)
    pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (!failed.ok()) return failed;

  WireReader in(end->payload.substr(1));
  uint64_t shard_sections = 0;
  uint64_t keys = 0;
  if (!in.Varint(&shard_sections) || !in.Varint(&keys) || !in.done() ||
      shard_sections != info.shards || keys != info.keys) {
    return loader.Error(end->offset, "end section does not match the shard sections");
  }
  return info;
}

}  // namespace hotpath
