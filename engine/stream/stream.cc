#include "engine/stream/stream.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "engine/common/string_bytes.h"

namespace hotpath {
namespace {

// Map nodes: rough per-element costs for the memory count.
constexpr size_t kPendingOverhead = sizeof(PendingEntry) + sizeof(StreamId) + 48;
constexpr size_t kConsumerBytes = sizeof(std::string) + sizeof(uint64_t) + 48;
constexpr size_t kGroupBytes = 256;

size_t PendingBytes(const PendingEntry& entry) {
  return kPendingOverhead + StringHeapBytes(entry.consumer);
}

void PutVarint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

uint64_t GetVarint(const std::string& in, size_t& at) {
  uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(in[at++]);
    n |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return n;
  }
}

std::string_view GetBytes(const std::string& in, size_t& at) {
  const size_t length = GetVarint(in, at);
  std::string_view bytes = std::string_view(in).substr(at, length);
  at += length;
  return bytes;
}

}  // namespace

absl::StatusOr<StreamId> StreamId::Parse(std::string_view text) {
  const absl::string_view view(text.data(), text.size());
  // SimpleAtoi would accept spaces and signs; an ID is digits with at most one dash.
  for (char c : view) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("stream ID must be ms-seq, got \"", view, "\""));
    }
  }
  const size_t dash = view.find('-');
  StreamId id;
  const bool ok = dash == absl::string_view::npos
                      ? absl::SimpleAtoi(view, &id.ms)
                      : absl::SimpleAtoi(view.substr(0, dash), &id.ms) &&
                            absl::SimpleAtoi(view.substr(dash + 1), &id.seq);
  if (!ok || view.empty() || view[0] == '+' || view[0] == '-' || view[0] == ' ') {
    return absl::InvalidArgumentError(absl::StrCat("stream ID must be ms-seq, got \"", view, "\""));
  }
  return id;
}

std::string StreamId::ToString() const { return absl::StrCat(ms, "-", seq); }

size_t Stream::ChunkBytes(const Chunk& chunk) {
  size_t bytes = sizeof(Chunk) + 16 + StringHeapBytes(chunk.data) +
                 chunk.names.capacity() * sizeof(std::string);
  for (const std::string& name : chunk.names) bytes += StringHeapBytes(name);
  return bytes;
}

void Stream::Encode(Chunk& chunk, StreamId previous, StreamId id, const StreamFields& fields) {
  bool same_names = chunk.names.size() == fields.size();
  for (size_t i = 0; same_names && i < fields.size(); ++i) {
    same_names = chunk.names[i] == fields[i].first;
  }
  PutVarint(chunk.data, id.ms - previous.ms);
  PutVarint(chunk.data, id.seq);
  PutVarint(chunk.data, (fields.size() << 1) | (same_names ? 1 : 0));
  for (const auto& [field, value] : fields) {
    if (!same_names) {
      PutVarint(chunk.data, field.size());
      chunk.data.append(field);
    }
    PutVarint(chunk.data, value.size());
    chunk.data.append(value);
  }
}

size_t Stream::Decode(const Chunk& chunk, size_t offset, StreamId previous, StreamEntry* entry) {
  entry->id.ms = previous.ms + GetVarint(chunk.data, offset);
  entry->id.seq = GetVarint(chunk.data, offset);
  const uint64_t header = GetVarint(chunk.data, offset);
  const bool same_names = header & 1;
  entry->fields.clear();
  entry->fields.reserve(header >> 1);
  for (uint64_t i = 0; i < (header >> 1); ++i) {
    std::string field = same_names ? chunk.names[i] : std::string(GetBytes(chunk.data, offset));
    entry->fields.emplace_back(std::move(field), std::string(GetBytes(chunk.data, offset)));
  }
  return offset;
}

size_t Stream::Skip(const Chunk& chunk, size_t offset, StreamId previous, StreamId* id) {
  id->ms = previous.ms + GetVarint(chunk.data, offset);
  id->seq = GetVarint(chunk.data, offset);
  const uint64_t header = GetVarint(chunk.data, offset);
  for (uint64_t i = 0; i < (header >> 1); ++i) {
    if ((header & 1) == 0) GetBytes(chunk.data, offset);  // the field name
    GetBytes(chunk.data, offset);                         // the value
  }
  return offset;
}

absl::StatusOr<StreamId> Stream::Append(std::optional<StreamId> id, const StreamFields& fields,
                                        int64_t now_ms) {
  if (fields.empty()) return absl::InvalidArgumentError("an entry needs at least one field");
  StreamId next;
  if (id.has_value()) {
    if (*id == kMinStreamId) return absl::InvalidArgumentError("stream ID 0-0 is not allowed");
    // The largest ID is reserved so that last_id().Next() always exists.
    if (*id == kMaxStreamId) return absl::InvalidArgumentError("the largest stream ID is reserved");
    if (*id <= last_id_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stream ID ", id->ToString(), " must be greater than the last, ", last_id_.ToString()));
    }
    next = *id;
  } else {
    const uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0));
    next = ms > last_id_.ms ? StreamId{ms, 0} : last_id_.Next();
    if (next <= last_id_) return absl::ResourceExhaustedError("stream IDs are exhausted");
  }
  if (chunks_.empty() || chunks_.back().encoded >= kChunkEntries) {
    if (!chunks_.empty()) {
      // A full chunk never grows again: give back its spare capacity.
      heap_bytes_ -= ChunkBytes(chunks_.back());
      chunks_.back().data.shrink_to_fit();
      heap_bytes_ += ChunkBytes(chunks_.back());
    }
    Chunk chunk;
    chunk.base = last_id_;
    chunk.first = next;
    for (const auto& [field, value] : fields) chunk.names.push_back(field);
    heap_bytes_ += ChunkBytes(chunk);
    chunks_.push_back(std::move(chunk));
  }
  Chunk& chunk = chunks_.back();
  heap_bytes_ -= ChunkBytes(chunk);
  Encode(chunk, chunk.encoded == 0 ? chunk.base : chunk.last, next, fields);
  heap_bytes_ += ChunkBytes(chunk);
  chunk.last = next;
  ++chunk.encoded;
  ++chunk.live;
  ++size_;
  last_id_ = next;
  return next;
}

std::optional<StreamId> Stream::first_id() const {
  if (chunks_.empty()) return std::nullopt;
  return chunks_.front().first;
}

template <typename Visit>
void Stream::Scan(StreamId from, Visit visit) const {
  // The first chunk that can hold `from`: the first whose last entry is >= from.
  auto chunk = std::lower_bound(chunks_.begin(), chunks_.end(), from,
                                [](const Chunk& c, StreamId v) { return c.last < v; });
  StreamEntry entry;
  for (; chunk != chunks_.end(); ++chunk) {
    StreamId previous = chunk->base;
    size_t offset = chunk->begin;
    for (uint32_t i = 0; i < chunk->live; ++i) {
      StreamId id;
      const size_t next = Skip(*chunk, offset, previous, &id);
      if (id >= from) {
        Decode(*chunk, offset, previous, &entry);
        if (!visit(entry)) return;
      }
      previous = id;
      offset = next;
    }
  }
}

StreamId Stream::IdAt(uint64_t index) const {
  for (const Chunk& chunk : chunks_) {
    if (index >= chunk.live) {
      index -= chunk.live;
      continue;
    }
    StreamId id;
    StreamId previous = chunk.base;
    size_t offset = chunk.begin;
    for (uint64_t i = 0; i <= index; ++i) {
      offset = Skip(chunk, offset, previous, &id);
      previous = id;
    }
    return id;
  }
  return last_id_.Next();
}

std::optional<StreamEntry> Stream::Find(StreamId id) const {
  std::optional<StreamEntry> found;
  Scan(id, [&](const StreamEntry& entry) {
    if (entry.id == id) found = entry;
    return false;
  });
  return found;
}

std::vector<StreamEntry> Stream::Range(StreamId start, StreamId end, uint64_t count) const {
  std::vector<StreamEntry> out;
  if (count == 0) return out;
  Scan(start, [&](const StreamEntry& entry) {
    if (entry.id > end) return false;
    out.push_back(entry);
    return out.size() < count;
  });
  return out;
}

std::vector<StreamEntry> Stream::ReverseRange(StreamId end, StreamId start, uint64_t count) const {
  std::vector<StreamEntry> out;
  // Chunks decode forwards only: decode one chunk at a time, newest chunk first.
  auto chunk = std::upper_bound(chunks_.begin(), chunks_.end(), end,
                                [](StreamId v, const Chunk& c) { return v < c.first; });
  std::vector<StreamEntry> decoded;
  while (chunk != chunks_.begin() && out.size() < count) {
    --chunk;
    decoded.clear();
    StreamEntry entry;
    StreamId previous = chunk->base;
    size_t offset = chunk->begin;
    for (uint32_t i = 0; i < chunk->live; ++i) {
      offset = Decode(*chunk, offset, previous, &entry);
      previous = entry.id;
      decoded.push_back(entry);
    }
    for (auto it = decoded.rbegin(); it != decoded.rend() && out.size() < count; ++it) {
      if (it->id > end) continue;
      if (it->id < start) return out;
      out.push_back(std::move(*it));
    }
  }
  return out;
}

uint64_t Stream::CountAfter(StreamId after, uint64_t limit) const {
  auto chunk = std::lower_bound(chunks_.begin(), chunks_.end(), after,
                                [](const Chunk& c, StreamId v) { return c.last <= v; });
  uint64_t count = 0;
  if (chunk == chunks_.end() || limit == 0) return 0;
  // The chunk holding `after`'s successor: count its entries past `after` one by one.
  StreamId previous = chunk->base;
  size_t offset = chunk->begin;
  for (uint32_t i = 0; i < chunk->live; ++i) {
    StreamId id;
    offset = Skip(*chunk, offset, previous, &id);
    if (id > after) ++count;
    previous = id;
  }
  for (++chunk; chunk != chunks_.end() && count < limit; ++chunk) count += chunk->live;
  return std::min(count, limit);
}

std::vector<StreamEntry> Stream::ReadAfter(StreamId after, uint64_t count) const {
  if (after == kMaxStreamId) return {};
  return Range(after.Next(), kMaxStreamId, count);
}

absl::StatusOr<std::pair<Stream::Group*, Stream::ConsumerIterator>> Stream::GroupAndConsumer(
    std::string_view group_name, std::string_view consumer) {
  if (consumer.empty()) return absl::InvalidArgumentError("consumer name must not be empty");
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  return std::make_pair(*group, Consumer(**group, consumer));
}

std::map<std::string, uint64_t, std::less<>>::iterator Stream::Consumer(Group& group,
                                                                        std::string_view name) {
  auto [it, created] = group.consumers.try_emplace(std::string(name), 0);
  if (created) {
    heap_bytes_ += kConsumerBytes + StringHeapBytes(it->first);
    // A consumer deleted earlier may come back: its pending entries are still its own.
    if (auto left = group.departed.find(name); left != group.departed.end()) {
      it->second = left->second;
      group.departed.erase(left);
    }
  }
  return it;
}

void Stream::Uncount(Group& group, const std::string& owner) {
  if (auto it = group.consumers.find(owner); it != group.consumers.end()) {
    --it->second;
  } else if (auto left = group.departed.find(owner); left != group.departed.end()) {
    if (--left->second == 0) group.departed.erase(left);
  }
}

void Stream::ReleasePending(Group& group, std::map<StreamId, PendingEntry>::iterator it) {
  Uncount(group, it->second.consumer);
  heap_bytes_ -= PendingBytes(it->second);
  group.pending.erase(it);
}

TrimResult Stream::RemoveBefore(StreamId bound) {
  TrimResult result;
  while (!chunks_.empty() && chunks_.front().last < bound) {
    result.removed += chunks_.front().live;
    heap_bytes_ -= ChunkBytes(chunks_.front());
    chunks_.pop_front();
  }
  if (!chunks_.empty() && chunks_.front().first < bound) {
    // Skip into the first chunk: decoding restarts from the new begin and base.
    Chunk& chunk = chunks_.front();
    StreamId id;
    while (chunk.first < bound) {
      chunk.begin = Skip(chunk, chunk.begin, chunk.base, &id);
      chunk.base = id;
      --chunk.live;
      ++result.removed;
      Skip(chunk, chunk.begin, chunk.base, &chunk.first);
    }
    // Give back the skipped bytes once they are most of the chunk.
    if (chunk.begin > chunk.data.size() / 2) {
      heap_bytes_ -= ChunkBytes(chunk);
      chunk.data.erase(0, chunk.begin);
      chunk.begin = 0;
      chunk.data.shrink_to_fit();
      heap_bytes_ += ChunkBytes(chunk);
    }
  }
  size_ -= result.removed;
  // Even when no entry went (a replayed trim), pending entries below the bound are orphans.
  const StreamId first_kept = first_id().value_or(last_id_.Next());
  for (auto& [name, group] : groups_) {
    while (!group.pending.empty() && group.pending.begin()->first < first_kept) {
      result.orphaned_pending.emplace_back(name, group.pending.begin()->second);
      ReleasePending(group, group.pending.begin());
    }
  }
  return result;
}

TrimResult Stream::TrimToLength(uint64_t max_length) {
  if (size_ <= max_length) return {};
  return RemoveBefore(max_length == 0 ? last_id_.Next() : IdAt(size_ - max_length));
}

TrimResult Stream::TrimBefore(StreamId min_id) { return RemoveBefore(min_id); }

TrimResult Stream::TrimOlderThan(int64_t max_age_ms, int64_t now_ms) {
  if (max_age_ms < 0 || now_ms < max_age_ms) return {};  // callers validate; never overflow
  const int64_t cutoff = now_ms - max_age_ms;
  if (cutoff <= 0) return {};
  return RemoveBefore(StreamId{static_cast<uint64_t>(cutoff), 0});
}

absl::StatusOr<Stream::Group*> Stream::FindGroup(std::string_view name) {
  auto it = groups_.find(name);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("no consumer group \"", AbslView(name), "\""));
  }
  return &it->second;
}

absl::StatusOr<const Stream::Group*> Stream::FindGroup(std::string_view name) const {
  auto it = groups_.find(name);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("no consumer group \"", AbslView(name), "\""));
  }
  return &it->second;
}

absl::Status Stream::CreateGroup(std::string_view group, StreamId start) {
  if (group.empty()) return absl::InvalidArgumentError("group name must not be empty");
  auto [it, inserted] = groups_.try_emplace(std::string(group));
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("consumer group \"", AbslView(group), "\" exists"));
  }
  it->second.last_delivered = start;
  heap_bytes_ += kGroupBytes + StringHeapBytes(it->first);
  return absl::OkStatus();
}

absl::Status Stream::DestroyGroup(std::string_view group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("no consumer group \"", AbslView(group), "\""));
  }
  for (const auto& [id, entry] : it->second.pending) heap_bytes_ -= PendingBytes(entry);
  for (const auto& [name, count] : it->second.consumers) {
    heap_bytes_ -= kConsumerBytes + StringHeapBytes(name);
  }
  heap_bytes_ -= kGroupBytes + StringHeapBytes(it->first);
  groups_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> Stream::ReadGroup(std::string_view group_name,
                                                           std::string_view consumer,
                                                           uint64_t count, int64_t now_ms) {
  auto found = GroupAndConsumer(group_name, consumer);
  if (!found.ok()) return found.status();
  auto [group, owner] = *found;
  Group& g = *group;
  std::vector<StreamEntry> delivered = ReadAfter(g.last_delivered, count);
  for (const StreamEntry& entry : delivered) {
    PendingEntry pending{entry.id, std::string(consumer), 1, now_ms};
    heap_bytes_ += PendingBytes(pending);
    g.pending.insert_or_assign(entry.id, std::move(pending));
    ++owner->second;
    g.last_delivered = entry.id;
  }
  return delivered;
}

absl::StatusOr<uint64_t> Stream::Ack(std::string_view group_name,
                                     const std::vector<StreamId>& ids) {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  uint64_t acked = 0;
  for (StreamId id : ids) {
    auto it = (*group)->pending.find(id);
    if (it == (*group)->pending.end()) continue;
    ReleasePending(**group, it);
    ++acked;
  }
  return acked;
}

absl::StatusOr<PendingSummary> Stream::Pending(std::string_view group_name) const {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  PendingSummary summary;
  const auto& pending = (*group)->pending;
  summary.count = pending.size();
  if (!pending.empty()) {
    summary.first = pending.begin()->first;
    summary.last = pending.rbegin()->first;
  }
  for (const auto& [id, entry] : pending) ++summary.per_consumer[entry.consumer];
  return summary;
}

absl::StatusOr<std::vector<PendingEntry>> Stream::PendingDetail(
    std::string_view group_name, StreamId start, StreamId end, uint64_t count,
    std::string_view consumer, int64_t min_idle_ms, int64_t now_ms) const {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  std::vector<PendingEntry> out;
  const auto& pending = (*group)->pending;
  for (auto it = pending.lower_bound(start); it != pending.end() && out.size() < count; ++it) {
    if (it->first > end) break;
    if (!consumer.empty() && it->second.consumer != consumer) continue;
    if (now_ms - it->second.last_delivery_ms < min_idle_ms) continue;
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<Stream::ClaimResult> Stream::AutoClaim(std::string_view group_name,
                                                      std::string_view consumer,
                                                      int64_t min_idle_ms, StreamId start,
                                                      uint64_t count, int64_t now_ms) {
  auto found = GroupAndConsumer(group_name, consumer);
  if (!found.ok()) return found.status();
  auto [group, owner] = *found;
  Group& g = *group;
  ClaimResult result;
  result.next_start = kMinStreamId;
  auto it = g.pending.lower_bound(start);
  while (it != g.pending.end() && result.claimed.size() < count) {
    PendingEntry& pending = it->second;
    if (now_ms - pending.last_delivery_ms < min_idle_ms) {
      ++it;
      continue;
    }
    std::optional<StreamEntry> entry = Find(it->first);
    if (!entry.has_value()) {
      result.dropped.push_back(it->first);
      ReleasePending(g, it++);
      continue;
    }
    if (pending.consumer != consumer) {
      Uncount(g, pending.consumer);
      heap_bytes_ -= StringHeapBytes(pending.consumer);
      pending.consumer = std::string(consumer);
      heap_bytes_ += StringHeapBytes(pending.consumer);
      ++owner->second;
    }
    ++pending.delivery_count;
    pending.last_delivery_ms = now_ms;
    result.claimed.push_back(*std::move(entry));
    ++it;
  }
  if (it != g.pending.end()) result.next_start = it->first;
  return result;
}

bool Stream::HasConsumer(std::string_view group_name, std::string_view consumer) const {
  auto group = FindGroup(group_name);
  return group.ok() && (*group)->consumers.contains(consumer);
}

absl::Status Stream::CreateConsumer(std::string_view group, std::string_view consumer) {
  return GroupAndConsumer(group, consumer).status();
}

absl::StatusOr<uint64_t> Stream::DeleteConsumer(std::string_view group_name,
                                                std::string_view consumer) {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  auto it = (*group)->consumers.find(consumer);
  if (it == (*group)->consumers.end()) return 0;
  const uint64_t had = it->second;
  if (had > 0) (*group)->departed[it->first] += had;
  heap_bytes_ -= kConsumerBytes + StringHeapBytes(it->first);
  (*group)->consumers.erase(it);
  return had;
}

absl::Status Stream::RestorePending(std::string_view group_name, const PendingEntry& entry) {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  Group& g = **group;
  if (auto it = g.pending.find(entry.id); it != g.pending.end()) ReleasePending(g, it);
  ++Consumer(g, entry.consumer)->second;
  heap_bytes_ += PendingBytes(entry);
  g.pending.emplace(entry.id, entry);
  g.last_delivered = std::max(g.last_delivered, entry.id);
  return absl::OkStatus();
}

absl::StatusOr<StreamId> Stream::LastDelivered(std::string_view group_name) const {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  return (*group)->last_delivered;
}

std::vector<std::string> Stream::GroupNames() const {
  std::vector<std::string> names;
  for (const auto& [name, group] : groups_) names.push_back(name);
  return names;
}

void Stream::ForEachEntry(absl::FunctionRef<void(const StreamEntry&)> visit) const {
  Scan(kMinStreamId, [&](const StreamEntry& entry) {
    visit(entry);
    return true;
  });
}

std::vector<Stream::GroupImage> Stream::Groups() const {
  std::vector<GroupImage> images;
  images.reserve(groups_.size());
  for (const auto& [name, group] : groups_) {
    GroupImage& image = images.emplace_back();
    image.name = name;
    image.last_delivered = group.last_delivered;
    for (const auto& [consumer, count] : group.consumers) image.consumers.push_back(consumer);
    image.pending.reserve(group.pending.size());
    for (const auto& [id, entry] : group.pending) image.pending.push_back(entry);
  }
  return images;
}

absl::Status Stream::RestoreGroup(const GroupImage& image) {
  for (size_t i = 0; i < image.pending.size(); ++i) {
    if ((i > 0 && image.pending[i - 1].id >= image.pending[i].id) ||
        image.pending[i].id > image.last_delivered) {
      return absl::InvalidArgumentError(
          absl::StrCat("consumer group \"", AbslView(image.name),
                       "\": pending entries out of order or past the last delivered ID"));
    }
  }
  for (const std::string& consumer : image.consumers) {
    if (consumer.empty()) return absl::InvalidArgumentError("consumer name must not be empty");
  }
  HP_RETURN_IF_ERROR(CreateGroup(image.name, image.last_delivered));
  Group& group = groups_.find(image.name)->second;
  for (const std::string& consumer : image.consumers) Consumer(group, consumer);
  for (const PendingEntry& entry : image.pending) {
    if (auto it = group.consumers.find(entry.consumer); it != group.consumers.end()) {
      ++it->second;
    } else {
      ++group.departed[entry.consumer];
    }
    heap_bytes_ += PendingBytes(entry);
    group.pending.emplace_hint(group.pending.end(), entry.id, entry);
  }
  return absl::OkStatus();
}

}  // namespace hotpath
