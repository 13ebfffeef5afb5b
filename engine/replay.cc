// Keyspace::Replay: applying after-image records, by mutation.h's rules.
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "engine/keyspace.h"

namespace hotpath {
namespace {

absl::Status Mismatch(const Record& record, const char* why) {
  return absl::FailedPreconditionError(
      absl::StrCat("replaying record ", record.sequence, " of shard ", record.shard, " (kind ",
                   static_cast<int>(record.kind), ") on key ", record.key, ": ", why));
}

// The value of the wanted type, created by `make` if the key is absent and make is given.
template <typename Make>
absl::StatusOr<Value*> Typed(Shard::Access& access, ValueType type, Make make) {
  Value* value = access.value();
  if (value == nullptr) {
    if constexpr (std::is_same_v<Make, std::nullptr_t>) {
      return nullptr;
    } else {
      return &access.Create(make());
    }
  }
  if (value->type() != type) return absl::FailedPreconditionError("the key holds another type");
  return value;
}

absl::Status ApplyRecord(const Record& r, Shard::Access& access) {
  auto with_context = [&](absl::Status status) {
    return status.ok() ? status : Mismatch(r, std::string(status.message()).c_str());
  };
  switch (r.kind) {
    case MutationKind::kUpsert:
      if (r.value == nullptr) return Mismatch(r, "an upsert without a value");
      access.Upsert(r.value->SmallCopy(), r.deadline_ms);
      return absl::OkStatus();
    case MutationKind::kSetDeadline:
      if (access.value() == nullptr) return Mismatch(r, "a deadline for a missing key");
      access.RestoreDeadline(r.deadline_ms);
      return absl::OkStatus();
    case MutationKind::kDelete:
    case MutationKind::kExpire:
      access.Delete();
      return absl::OkStatus();
    case MutationKind::kHashSet: {
      auto value = Typed(access, ValueType::kHash, [] { return Value::NewHash(); });
      if (!value.ok()) return with_context(value.status());
      (*value)->hash().Set(r.field, r.field_value);
      return absl::OkStatus();
    }
    case MutationKind::kHashDelete: {
      auto value = Typed(access, ValueType::kHash, nullptr);
      if (!value.ok()) return with_context(value.status());
      if (*value == nullptr) return absl::OkStatus();  // already gone
      (*value)->hash().Delete(r.field);
      if ((*value)->hash().size() == 0) access.RemoveEmpty();
      return absl::OkStatus();
    }
    case MutationKind::kZsetUpsert: {
      auto value =
          Typed(access, ValueType::kSortedSet, [&] { return Value::NewSortedSet(r.zset_options); });
      if (!value.ok()) return with_context(value.status());
      return with_context((*value)->sorted_set().Upsert(r.field, r.score, r.tiebreak).status());
    }
    case MutationKind::kZsetRemove: {
      auto value = Typed(access, ValueType::kSortedSet, nullptr);
      if (!value.ok()) return with_context(value.status());
      if (*value == nullptr) return absl::OkStatus();
      (*value)->sorted_set().Erase(r.field);
      if ((*value)->sorted_set().size() == 0) access.RemoveEmpty();
      return absl::OkStatus();
    }
    default:
      break;
  }
  // Streams and their groups.
  const bool creates =
      r.kind == MutationKind::kStreamAppend || r.kind == MutationKind::kGroupCreate;
  absl::StatusOr<Value*> value =
      creates ? Typed(access, ValueType::kStream, [] { return Value::NewStream(); })
              : Typed(access, ValueType::kStream, nullptr);
  if (!value.ok()) return with_context(value.status());
  if (*value == nullptr) return Mismatch(r, "a stream record for a missing stream");
  Stream& stream = (*value)->stream();
  switch (r.kind) {
    case MutationKind::kStreamAppend:
      if (stream.last_id() >= r.stream_id) return absl::OkStatus();  // applied before
      return with_context(stream.Append(r.stream_id, r.stream_fields, 0).status());
    case MutationKind::kStreamTrim:
      stream.TrimBefore(r.stream_id);
      return absl::OkStatus();
    case MutationKind::kGroupCreate: {
      absl::Status created = stream.CreateGroup(r.group, r.stream_id);
      return created.code() == absl::StatusCode::kAlreadyExists ? absl::OkStatus()
                                                                : with_context(created);
    }
    case MutationKind::kGroupDestroy: {
      absl::Status destroyed = stream.DestroyGroup(r.group);
      return destroyed.code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                             : with_context(destroyed);
    }
    case MutationKind::kGroupDeliver:
      return with_context(stream.RestorePending(
          r.group, PendingEntry{r.stream_id, r.consumer, r.delivery_count, r.delivery_ms}));
    case MutationKind::kGroupAck:
      return with_context(stream.Ack(r.group, {r.stream_id}).status());
    case MutationKind::kConsumerCreate:
      return with_context(stream.CreateConsumer(r.group, r.consumer));
    case MutationKind::kConsumerDelete:
      return with_context(stream.DeleteConsumer(r.group, r.consumer).status());
    default:
      return Mismatch(r, "an unknown record kind");
  }
}

}  // namespace

absl::Status Keyspace::Replay(const Record& record) {
  const KeyRef key = record.key_ref();
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  // A log written with another shard count routes keys differently: keep this shard's count.
  return shard->Replay(key, record.shard == shard->index(), record.sequence,
                       [&](Shard::Access& access) { return ApplyRecord(record, access); });
}

absl::Status Keyspace::Restore(const KeyRef& key, Value value, int64_t deadline_ms) {
  HP_ASSIGN_OR_RETURN(Shard * shard, Route(key));
  shard->Replay(key, /*restore_sequence=*/false, 0, [&](Shard::Access& access) {
    access.Upsert(std::move(value), deadline_ms);
    return 0;
  });
  return absl::OkStatus();
}

}  // namespace hotpath
