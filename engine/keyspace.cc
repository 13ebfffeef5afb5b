#include "engine/keyspace.h"

#include <bit>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"

namespace hotpath {

absl::StatusOr<std::unique_ptr<Keyspace>> Keyspace::Create(const KeyspaceOptions& options,
                                                           const Clock* clock, MutationSink* sink,
                                                           KeyspaceObserver* observer) {
  if (options.shards == 0 || options.shards > kSlotCount || !std::has_single_bit(options.shards)) {
    return absl::InvalidArgumentError(absl::StrCat("shards must be a power of two between 1 and ",
                                                   kSlotCount, ", got ", options.shards));
  }
  return std::unique_ptr<Keyspace>(new Keyspace(options.shards, clock, sink, observer));
}

Keyspace::Keyspace(uint32_t shards, const Clock* clock, MutationSink* sink,
                   KeyspaceObserver* observer)
    : clock_(clock),
      observer_(observer),
      slot_shift_(static_cast<uint32_t>(std::countr_zero(kSlotCount) - std::countr_zero(shards))) {
  shards_.reserve(shards);
  for (uint32_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, clock, sink, observer, slot_shift_));
  }
}

absl::StatusOr<Shard*> Keyspace::Route(const KeyRef& key) {
  HP_RETURN_IF_ERROR(ValidateKey(key));
  return shards_[ShardOf(key)].get();
}

absl::StatusOr<std::string> Keyspace::Get(const KeyRef& key) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Get(key);
}

absl::StatusOr<bool> Keyspace::Set(const KeyRef& key, std::string value,
                                   const SetOptions& options) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("value is ", value.size(), " bytes; the limit is ", kMaxValueBytes));
  }
  return shard->Set(key, std::move(value), options);
}

absl::StatusOr<int64_t> Keyspace::IncrementBy(const KeyRef& key, int64_t delta) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->IncrementBy(key, delta);
}

absl::StatusOr<bool> Keyspace::Delete(const KeyRef& key) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Delete(key);
}

absl::StatusOr<bool> Keyspace::Exists(const KeyRef& key) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Exists(key);
}

absl::StatusOr<ValueType> Keyspace::Type(const KeyRef& key) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Type(key);
}

absl::StatusOr<bool> Keyspace::SetDeadline(const KeyRef& key, std::optional<absl::Time> deadline) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->SetDeadline(key, DeadlineMillis(deadline));
}

absl::StatusOr<std::optional<absl::Time>> Keyspace::GetDeadline(const KeyRef& key) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  HP_ASSIGN_OR_RETURN(std::optional<int64_t> deadline_ms, shard->GetDeadline(key));
  if (!deadline_ms.has_value()) return std::nullopt;
  return absl::FromUnixMillis(*deadline_ms);
}

absl::Status Keyspace::WrongType(ValueType actual, ValueType wanted) {
  return absl::FailedPreconditionError(
      absl::StrCat("key holds a ", ValueTypeName(actual), ", not a ", ValueTypeName(wanted)));
}

size_t Keyspace::FlushDeferred() {
  size_t flushed = 0;
  for (uint32_t shard = 0; shard < shard_count(); ++shard) flushed += FlushDeferred(shard);
  return flushed;
}

size_t Keyspace::FlushDeferred(uint32_t shard) {
  size_t flushed = 0;
  // In slices, so a shard with many busy limiter keys is not held for the whole flush.
  constexpr size_t kSlice = 256;
  size_t slice = kSlice;
  while (slice == kSlice) {
    slice = shards_[shard]->FlushDeferred(kSlice);
    flushed += slice;
  }
  return flushed;
}

namespace {

// The hash at the access's key, or null if absent; an error if the key holds another type.
absl::StatusOr<Hash*> HashAt(Shard::Access& access,
                             absl::Status (*wrong_type)(ValueType, ValueType)) {
  Value* value = access.value();
  if (value == nullptr) return nullptr;
  if (value->type() != ValueType::kHash) return wrong_type(value->type(), ValueType::kHash);
  return &value->hash();
}

}  // namespace

absl::StatusOr<bool> Keyspace::HashSet(const KeyRef& key, std::string_view field,
                                       std::string_view value) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  HP_RETURN_IF_ERROR(Hash::Validate(field, value));
  return shard->Apply(key, [&](Shard::Access& access) -> absl::StatusOr<bool> {
    HP_ASSIGN_OR_RETURN(Hash * hash, HashAt(access, &Keyspace::WrongType));
    if (hash == nullptr) hash = &access.Create(Value::NewHash()).hash();
    const bool created = hash->Set(field, value);
    access.Emit({.kind = MutationKind::kHashSet, .field = field, .field_value = value});
    return created;
  });
}

absl::StatusOr<std::optional<std::string>> Keyspace::HashGet(const KeyRef& key,
                                                             std::string_view field) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key,
                      [&](Shard::Access& access) -> absl::StatusOr<std::optional<std::string>> {
                        HP_ASSIGN_OR_RETURN(Hash * hash, HashAt(access, &Keyspace::WrongType));
                        if (hash == nullptr) return std::nullopt;
                        std::optional<std::string_view> value = hash->Get(field);
                        if (!value.has_value()) return std::nullopt;
                        return std::string(*value);
                      });
}

absl::StatusOr<bool> Keyspace::HashDelete(const KeyRef& key, std::string_view field) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) -> absl::StatusOr<bool> {
    HP_ASSIGN_OR_RETURN(Hash * hash, HashAt(access, &Keyspace::WrongType));
    if (hash == nullptr || !hash->Delete(field)) return false;
    access.Emit({.kind = MutationKind::kHashDelete, .field = field});
    if (hash->size() == 0) access.RemoveEmpty();
    return true;
  });
}

absl::StatusOr<int64_t> Keyspace::HashIncrementBy(const KeyRef& key, std::string_view field,
                                                  int64_t delta) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  HP_RETURN_IF_ERROR(Hash::Validate(field, ""));
  return shard->Apply(key, [&](Shard::Access& access) -> absl::StatusOr<int64_t> {
    HP_ASSIGN_OR_RETURN(Hash * hash, HashAt(access, &Keyspace::WrongType));
    const bool created = hash == nullptr;
    if (created) hash = &access.Create(Value::NewHash()).hash();
    absl::StatusOr<int64_t> next = hash->IncrementBy(field, delta);
    if (!next.ok()) {
      if (created) access.RemoveEmpty();
      return next.status();
    }
    const std::string rendered = absl::StrCat(*next);
    access.Emit({.kind = MutationKind::kHashSet, .field = field, .field_value = rendered});
    return next;
  });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Keyspace::HashGetAll(
    const KeyRef& key) {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) -> absl::StatusOr<Fields> {
    HP_ASSIGN_OR_RETURN(Hash * hash, HashAt(access, &Keyspace::WrongType));
    Fields fields;
    if (hash == nullptr) return fields;
    fields.reserve(hash->size());
    hash->ForEach([&](std::string_view f, std::string_view v) { fields.emplace_back(f, v); });
    return fields;
  });
}

absl::StatusOr<std::optional<int64_t>> ZsetUpsertIn(Shard::Access& access,
                                                    const SortedSetOptions& create_with,
                                                    std::string_view member, int64_t score,
                                                    uint64_t tiebreak) {
  Value* value = access.value();
  const bool created = value == nullptr;
  if (created) {
    value = &access.Create(Value::NewSortedSet(create_with));
  } else if (value->type() != ValueType::kSortedSet) {
    return absl::FailedPreconditionError(
        absl::StrCat("key holds a ", ValueTypeName(value->type()), ", not a sorted set"));
  } else if (value->sorted_set().options().score_order != create_with.score_order ||
             value->sorted_set().options().ties != create_with.ties) {
    return absl::FailedPreconditionError("sorted set exists with a different order");
  }
  SortedSet& set = value->sorted_set();
  absl::StatusOr<std::optional<int64_t>> previous = set.Upsert(member, score, tiebreak);
  if (!previous.ok()) {
    if (created) access.RemoveEmpty();
    return previous.status();
  }
  access.Emit({.kind = MutationKind::kZsetUpsert,
               .field = member,
               .score = score,
               .tiebreak = set.options().ties == TieOrder::kEarlierFirst ? tiebreak : 0,
               .zset_options = set.options()});
  return previous;
}

absl::StatusOr<bool> ZsetRemoveIn(Shard::Access& access, std::string_view member) {
  Value* value = access.value();
  if (value == nullptr) return false;
  if (value->type() != ValueType::kSortedSet) {
    return absl::FailedPreconditionError(
        absl::StrCat("key holds a ", ValueTypeName(value->type()), ", not a sorted set"));
  }
  SortedSet& set = value->sorted_set();
  if (!set.Erase(member)) return false;
  access.Emit({.kind = MutationKind::kZsetRemove, .field = member});
  if (set.size() == 0) access.RemoveEmpty();
  return true;
}

absl::StatusOr<std::optional<int64_t>> Keyspace::ZsetUpsert(const KeyRef& key,
                                                            const SortedSetOptions& create_with,
                                                            std::string_view member, int64_t score,
                                                            uint64_t tiebreak) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) {
    return ZsetUpsertIn(access, create_with, member, score, tiebreak);
  });
}

absl::StatusOr<bool> Keyspace::ZsetRemove(const KeyRef& key, std::string_view member) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) { return ZsetRemoveIn(access, member); });
}

namespace {

absl::Status ValidateTrim(const StreamTrimPolicy& trim) {
  if (trim.kind == StreamTrimPolicy::Kind::kMaxAge && trim.max_age_ms < 0) {
    return absl::InvalidArgumentError("max_age_ms must not be negative");
  }
  return absl::OkStatus();
}

TrimResult ApplyTrim(Stream& stream, const StreamTrimPolicy& trim, int64_t now_ms) {
  switch (trim.kind) {
    case StreamTrimPolicy::Kind::kNone:
      return {};
    case StreamTrimPolicy::Kind::kMaxLength:
      return stream.TrimToLength(trim.max_length);
    case StreamTrimPolicy::Kind::kMinId:
      return stream.TrimBefore(trim.min_id);
    case StreamTrimPolicy::Kind::kMaxAge:
      return stream.TrimOlderThan(trim.max_age_ms, now_ms);
  }
  return {};
}

// Records a trim as "everything before the first remaining ID is gone".
void EmitTrim(const Stream& stream, const TrimResult& result, Shard::Access& access) {
  if (result.removed == 0) return;
  access.Emit({.kind = MutationKind::kStreamTrim,
               .stream_id = stream.first_id().value_or(stream.last_id().Next())});
}

// Records the after-image of one pending entry, read back from the stream.
void EmitDelivery(std::string_view group, std::string_view consumer, StreamId id,
                  const Stream& stream, Shard::Access& access) {
  auto detail = stream.PendingDetail(group, id, id, 1, "", INT64_MIN, access.now_ms());
  const PendingEntry& pending = detail.value().front();
  access.Emit({.kind = MutationKind::kGroupDeliver,
               .stream_id = id,
               .group = group,
               .consumer = consumer,
               .delivery_count = pending.delivery_count,
               .delivery_ms = pending.last_delivery_ms});
}

// Records that a read or claim brought `consumer` into being (even if it delivered nothing).
void EmitConsumerCreate(std::string_view group, std::string_view consumer, Shard::Access& access) {
  access.Emit({.kind = MutationKind::kConsumerCreate, .group = group, .consumer = consumer});
}

}  // namespace

absl::StatusOr<StreamId> StreamAppendIn(Shard::Access& access, std::optional<StreamId> id,
                                        const StreamFields& fields, const StreamTrimPolicy& trim) {
  size_t entry_bytes = 0;
  for (const auto& [field, value] : fields) {
    HP_RETURN_IF_ERROR(Hash::Validate(field, value));
    entry_bytes += field.size() + value.size();
  }
  if (entry_bytes > kMaxStreamEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("stream entry is ", entry_bytes,
                                                   " bytes; the limit is ", kMaxStreamEntryBytes));
  }
  HP_RETURN_IF_ERROR(ValidateTrim(trim));
  Value* value = access.value();
  const bool created = value == nullptr;
  if (created) {
    value = &access.Create(Value::NewStream());
  } else if (value->type() != ValueType::kStream) {
    return absl::FailedPreconditionError(
        absl::StrCat("key holds a ", ValueTypeName(value->type()), ", not a stream"));
  }
  Stream& stream = value->stream();
  absl::StatusOr<StreamId> next = stream.Append(id, fields, access.now_ms());
  if (!next.ok()) {
    if (created) access.RemoveEmpty();
    return next.status();
  }
  access.Emit({.kind = MutationKind::kStreamAppend, .stream_id = *next, .stream_fields = &fields});
  EmitTrim(stream, ApplyTrim(stream, trim, access.now_ms()), access);
  return next;
}

absl::StatusOr<TrimResult> StreamTrimIn(Shard::Access& access, const StreamTrimPolicy& trim) {
  HP_RETURN_IF_ERROR(ValidateTrim(trim));
  Value* value = access.value();
  if (value == nullptr) return TrimResult{};
  if (value->type() != ValueType::kStream) {
    return absl::FailedPreconditionError(
        absl::StrCat("key holds a ", ValueTypeName(value->type()), ", not a stream"));
  }
  TrimResult result = ApplyTrim(value->stream(), trim, access.now_ms());
  EmitTrim(value->stream(), result, access);
  return result;
}

absl::StatusOr<StreamId> Keyspace::StreamAppend(const KeyRef& key, std::optional<StreamId> id,
                                                StreamFields fields, const StreamTrimPolicy& trim) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  absl::StatusOr<StreamId> appended = shard->Apply(
      key, [&](Shard::Access& access) { return StreamAppendIn(access, id, fields, trim); });
  // Outside the shard lock: wake whoever waits for this stream.
  if (appended.ok() && observer_ != nullptr) observer_->OnStreamAppend(key, *appended);
  return appended;
}

absl::StatusOr<TrimResult> Keyspace::StreamTrim(const KeyRef& key, const StreamTrimPolicy& trim) {
  HP_RETURN_IF_ERROR(ValidateTrim(trim));
  return WithStream(key, [&](Stream& stream, Shard::Access& access) -> absl::StatusOr<TrimResult> {
    TrimResult result = ApplyTrim(stream, trim, access.now_ms());
    EmitTrim(stream, result, access);
    return result;
  });
}

namespace {

// The stream under `access`: NotFound when absent, FailedPrecondition for another type.
absl::StatusOr<Stream*> StreamOf(Shard::Access& access) {
  Value* value = access.value();
  if (value == nullptr) return absl::NotFoundError("key not found");
  if (value->type() != ValueType::kStream) {
    return absl::FailedPreconditionError(
        absl::StrCat("key holds a ", ValueTypeName(value->type()), ", not a stream"));
  }
  return &value->stream();
}

}  // namespace

absl::Status StreamCreateGroupIn(Shard::Access& access, std::string_view group,
                                 std::optional<StreamId> start) {
  Value* value = access.value();
  const bool created = value == nullptr;
  if (created) value = &access.Create(Value::NewStream());
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  const StreamId from = start.value_or(stream->last_id());
  absl::Status status = stream->CreateGroup(group, from);
  if (!status.ok()) {
    if (created) access.RemoveEmpty();
    return status;
  }
  // A stream made here has no entries to record; its group record creates it on replay
  // (mutation.h).
  access.Emit({.kind = MutationKind::kGroupCreate, .stream_id = from, .group = group});
  return absl::OkStatus();
}

absl::Status StreamDestroyGroupIn(Shard::Access& access, std::string_view group) {
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  HP_RETURN_IF_ERROR(stream->DestroyGroup(group));
  access.Emit({.kind = MutationKind::kGroupDestroy, .group = group});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> StreamReadGroupIn(Shard::Access& access,
                                                           std::string_view group,
                                                           std::string_view consumer,
                                                           uint64_t count) {
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  const bool known = stream->HasConsumer(group, consumer);
  HP_ASSIGN_OR_RETURN(std::vector<StreamEntry> entries,
                      stream->ReadGroup(group, consumer, count, access.now_ms()));
  if (!known) EmitConsumerCreate(group, consumer, access);
  for (const StreamEntry& entry : entries) {
    EmitDelivery(group, consumer, entry.id, *stream, access);
  }
  return entries;
}

absl::StatusOr<uint64_t> StreamAckIn(Shard::Access& access, std::string_view group,
                                     const std::vector<StreamId>& ids) {
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  uint64_t acked = 0;
  for (StreamId id : ids) {
    HP_ASSIGN_OR_RETURN(uint64_t one, stream->Ack(group, {id}));
    if (one == 0) continue;
    ++acked;
    access.Emit({.kind = MutationKind::kGroupAck, .stream_id = id, .group = group});
  }
  return acked;
}

absl::StatusOr<uint64_t> StreamDeleteConsumerIn(Shard::Access& access, std::string_view group,
                                                std::string_view consumer) {
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  HP_ASSIGN_OR_RETURN(uint64_t had, stream->DeleteConsumer(group, consumer));
  access.Emit({.kind = MutationKind::kConsumerDelete, .group = group, .consumer = consumer});
  return had;
}

absl::Status StreamSetPendingIn(Shard::Access& access, std::string_view group,
                                const PendingEntry& entry) {
  HP_ASSIGN_OR_RETURN(Stream * stream, StreamOf(access));
  if (stream->Range(entry.id, entry.id, 1).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream has no entry ", entry.id.ToString(), " to be pending"));
  }
  if (entry.consumer.empty()) return absl::InvalidArgumentError("consumer name is empty");
  const bool known = stream->HasConsumer(group, entry.consumer);
  HP_RETURN_IF_ERROR(stream->RestorePending(group, entry));
  if (!known) EmitConsumerCreate(group, entry.consumer, access);
  access.Emit({.kind = MutationKind::kGroupDeliver,
               .stream_id = entry.id,
               .group = group,
               .consumer = entry.consumer,
               .delivery_count = entry.delivery_count,
               .delivery_ms = entry.last_delivery_ms});
  return absl::OkStatus();
}

absl::Status Keyspace::StreamCreateGroup(const KeyRef& key, std::string_view group,
                                         std::optional<StreamId> start, bool create_stream) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) -> absl::Status {
    if (access.value() == nullptr && !create_stream) return absl::NotFoundError("key not found");
    return StreamCreateGroupIn(access, group, start);
  });
}

absl::Status Keyspace::StreamDestroyGroup(const KeyRef& key, std::string_view group) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key,
                      [&](Shard::Access& access) { return StreamDestroyGroupIn(access, group); });
}

absl::StatusOr<std::vector<StreamEntry>> Keyspace::StreamReadGroup(const KeyRef& key,
                                                                   std::string_view group,
                                                                   std::string_view consumer,
                                                                   uint64_t count) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) {
    return StreamReadGroupIn(access, group, consumer, count);
  });
}

absl::StatusOr<uint64_t> Keyspace::StreamAck(const KeyRef& key, std::string_view group,
                                             const std::vector<StreamId>& ids) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(key, [&](Shard::Access& access) { return StreamAckIn(access, group, ids); });
}

absl::StatusOr<Stream::ClaimResult> Keyspace::StreamAutoClaim(const KeyRef& key,
                                                              std::string_view group,
                                                              std::string_view consumer,
                                                              int64_t min_idle_ms, StreamId start,
                                                              uint64_t count) {
  return WithStream(
      key, [&](Stream& stream, Shard::Access& access) -> absl::StatusOr<Stream::ClaimResult> {
        const bool known = stream.HasConsumer(group, consumer);
        HP_ASSIGN_OR_RETURN(
            Stream::ClaimResult result,
            stream.AutoClaim(group, consumer, min_idle_ms, start, count, access.now_ms()));
        if (!known) EmitConsumerCreate(group, consumer, access);
        for (StreamId id : result.dropped) {
          access.Emit({.kind = MutationKind::kGroupAck, .stream_id = id, .group = group});
        }
        for (const StreamEntry& entry : result.claimed) {
          EmitDelivery(group, consumer, entry.id, stream, access);
        }
        return result;
      });
}

absl::StatusOr<uint64_t> Keyspace::StreamDeleteConsumer(const KeyRef& key, std::string_view group,
                                                        std::string_view consumer) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  return shard->Apply(
      key, [&](Shard::Access& access) { return StreamDeleteConsumerIn(access, group, consumer); });
}

Keyspace::SweepResult Keyspace::SweepExpired(size_t max_keys_per_shard) {
  SweepResult result;
  for (auto& shard : shards_) {
    const Shard::Sweep sweep = shard->SweepExpired(max_keys_per_shard);
    result.removed += sweep.removed;
    result.more = result.more || sweep.more;
  }
  return result;
}

uint64_t Keyspace::EvictLimiters(size_t max_keys, uint64_t bytes) {
  // The shard holding the oldest limiter gives up those no newer than any other shard's
  // oldest, so the order is global, not shard by shard.
  Shard* oldest = nullptr;
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t second = first;
  for (auto& shard : shards_) {
    const std::optional<int64_t> deadline = shard->OldestLimiterDeadline();
    if (!deadline.has_value()) continue;
    if (*deadline < first) {
      second = first;
      first = *deadline;
      oldest = shard.get();
    } else if (*deadline < second) {
      second = *deadline;
    }
  }
  return oldest == nullptr ? 0 : oldest->EvictLimiters(max_keys, bytes, second);
}

KeyspaceStats Keyspace::Stats() const {
  KeyspaceStats stats;
  stats.shards.reserve(shards_.size());
  for (const auto& shard : shards_) {
    ShardStats s = shard->Stats();
    stats.keys += s.keys;
    stats.keys_with_deadline += s.keys_with_deadline;
    stats.expired_total += s.expired_total;
    stats.evicted_total += s.evicted_total;
    stats.memory_bytes += s.memory_bytes;
    for (size_t t = 0; t < kValueTypes; ++t) stats.keys_by_type[t] += s.keys_by_type[t];
    stats.shards.push_back(s);
  }
  return stats;
}

}  // namespace hotpath
