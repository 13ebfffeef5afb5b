#include "engine/stream/stream.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/string_bytes.h"

namespace hotpath {
namespace {

// A deque slot, a map node: rough per-element costs for the memory count.
constexpr size_t kEntryOverhead = sizeof(StreamEntry) + 8;
constexpr size_t kPendingOverhead = sizeof(PendingEntry) + sizeof(StreamId) + 48;

size_t PendingBytes(const PendingEntry& entry) {
  return kPendingOverhead + StringHeapBytes(entry.consumer);
}

}  // namespace

absl::StatusOr<StreamId> StreamId::Parse(std::string_view text) {
  const absl::string_view view(text.data(), text.size());
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

size_t Stream::EntryBytes(const StreamEntry& entry) {
  size_t bytes = kEntryOverhead + entry.fields.capacity() * sizeof(entry.fields[0]);
  for (const auto& [field, value] : entry.fields) {
    bytes += StringHeapBytes(field) + StringHeapBytes(value);
  }
  return bytes;
}

absl::StatusOr<StreamId> Stream::Append(std::optional<StreamId> id, StreamFields fields,
                                        int64_t now_ms) {
  if (fields.empty()) return absl::InvalidArgumentError("an entry needs at least one field");
  StreamId next;
  if (id.has_value()) {
    if (*id == kMinStreamId) return absl::InvalidArgumentError("stream ID 0-0 is not allowed");
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
  entries_.push_back(StreamEntry{next, std::move(fields)});
  heap_bytes_ += EntryBytes(entries_.back());
  last_id_ = next;
  return next;
}

std::optional<StreamId> Stream::first_id() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.front().id;
}

size_t Stream::LowerBound(StreamId id) const {
  return std::lower_bound(entries_.begin(), entries_.end(), id,
                          [](const StreamEntry& e, StreamId v) { return e.id < v; }) -
         entries_.begin();
}

const StreamEntry* Stream::Find(StreamId id) const {
  const size_t at = LowerBound(id);
  return at < entries_.size() && entries_[at].id == id ? &entries_[at] : nullptr;
}

std::vector<StreamEntry> Stream::Range(StreamId start, StreamId end, uint64_t count) const {
  std::vector<StreamEntry> out;
  for (size_t i = LowerBound(start); i < entries_.size() && out.size() < count; ++i) {
    if (entries_[i].id > end) break;
    out.push_back(entries_[i]);
  }
  return out;
}

std::vector<StreamEntry> Stream::ReverseRange(StreamId end, StreamId start, uint64_t count) const {
  std::vector<StreamEntry> out;
  // The first position after `end`, then walk back.
  size_t i = end == kMaxStreamId ? entries_.size() : LowerBound(end.Next());
  while (i > 0 && out.size() < count) {
    const StreamEntry& entry = entries_[--i];
    if (entry.id < start) break;
    out.push_back(entry);
  }
  return out;
}

std::vector<StreamEntry> Stream::ReadAfter(StreamId after, uint64_t count) const {
  if (after == kMaxStreamId) return {};
  return Range(after.Next(), kMaxStreamId, count);
}

std::map<std::string, uint64_t, std::less<>>::iterator Stream::Consumer(Group& group,
                                                                        std::string_view name) {
  auto [it, created] = group.consumers.try_emplace(std::string(name), 0);
  if (created) {
    // A consumer deleted earlier may come back: its pending entries are still its own.
    for (const auto& [id, entry] : group.pending) it->second += entry.consumer == name;
  }
  return it;
}

void Stream::ReleasePending(Group& group, std::map<StreamId, PendingEntry>::iterator it) {
  auto consumer = group.consumers.find(it->second.consumer);
  if (consumer != group.consumers.end()) --consumer->second;
  heap_bytes_ -= PendingBytes(it->second);
  group.pending.erase(it);
}

TrimResult Stream::PopFront(uint64_t n) {
  TrimResult result;
  if (n == 0) return result;
  const StreamId first_kept = n < entries_.size() ? entries_[n].id : last_id_.Next();
  for (uint64_t i = 0; i < n; ++i) {
    heap_bytes_ -= EntryBytes(entries_.front());
    entries_.pop_front();
  }
  result.removed = n;
  for (auto& [name, group] : groups_) {
    while (!group.pending.empty() && group.pending.begin()->first < first_kept) {
      result.orphaned_pending.emplace_back(name, group.pending.begin()->second);
      ReleasePending(group, group.pending.begin());
    }
  }
  return result;
}

TrimResult Stream::TrimToLength(uint64_t max_length) {
  return PopFront(entries_.size() > max_length ? entries_.size() - max_length : 0);
}

TrimResult Stream::TrimBefore(StreamId min_id) { return PopFront(LowerBound(min_id)); }

TrimResult Stream::TrimOlderThan(int64_t max_age_ms, int64_t now_ms) {
  const int64_t cutoff = now_ms - max_age_ms;
  if (cutoff <= 0) return {};
  return TrimBefore(StreamId{static_cast<uint64_t>(cutoff), 0});
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
  return absl::OkStatus();
}

absl::Status Stream::DestroyGroup(std::string_view group) {
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("no consumer group \"", AbslView(group), "\""));
  }
  for (const auto& [id, entry] : it->second.pending) heap_bytes_ -= PendingBytes(entry);
  groups_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> Stream::ReadGroup(std::string_view group_name,
                                                           std::string_view consumer,
                                                           uint64_t count, int64_t now_ms) {
  if (consumer.empty()) return absl::InvalidArgumentError("consumer name must not be empty");
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  Group& g = **group;
  auto owner = Consumer(g, consumer);
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
  if (consumer.empty()) return absl::InvalidArgumentError("consumer name must not be empty");
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  Group& g = **group;
  auto owner = Consumer(g, consumer);
  ClaimResult result;
  result.next_start = kMinStreamId;
  auto it = g.pending.lower_bound(start);
  while (it != g.pending.end() && result.claimed.size() < count) {
    PendingEntry& pending = it->second;
    if (now_ms - pending.last_delivery_ms < min_idle_ms) {
      ++it;
      continue;
    }
    const StreamEntry* entry = Find(it->first);
    if (entry == nullptr) {
      result.dropped.push_back(it->first);
      ReleasePending(g, it++);
      continue;
    }
    if (pending.consumer != consumer) {
      auto previous = g.consumers.find(pending.consumer);
      if (previous != g.consumers.end()) --previous->second;
      heap_bytes_ -= StringHeapBytes(pending.consumer);
      pending.consumer = std::string(consumer);
      heap_bytes_ += StringHeapBytes(pending.consumer);
      ++owner->second;
    }
    ++pending.delivery_count;
    pending.last_delivery_ms = now_ms;
    result.claimed.push_back(*entry);
    ++it;
  }
  if (it != g.pending.end()) result.next_start = it->first;
  return result;
}

absl::StatusOr<uint64_t> Stream::DeleteConsumer(std::string_view group_name,
                                                std::string_view consumer) {
  auto group = FindGroup(group_name);
  if (!group.ok()) return group.status();
  auto it = (*group)->consumers.find(consumer);
  if (it == (*group)->consumers.end()) return 0;
  const uint64_t had = it->second;
  (*group)->consumers.erase(it);
  return had;
}

std::vector<std::string> Stream::GroupNames() const {
  std::vector<std::string> names;
  for (const auto& [name, group] : groups_) names.push_back(name);
  return names;
}

}  // namespace hotpath
