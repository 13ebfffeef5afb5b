#include "engine/keyspace.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"

namespace hotpath {
absl::StatusOr<std::unique_ptr<Keyspace>> Keyspace::Create(const KeyspaceOptions& options,
                                                           const Clock* clock, MutationSink* sink) {
  if (options.shards == 0 || options.shards > kSlotCount || !std::has_single_bit(options.shards)) {
    return absl::InvalidArgumentError(absl::StrCat("shards must be a power of two between 1 and ",
                                                   kSlotCount, ", got ", options.shards));
  }
  return std::unique_ptr<Keyspace>(new Keyspace(options.shards, clock, sink));
}

Keyspace::Keyspace(uint32_t shards, const Clock* clock, MutationSink* sink)
    : clock_(clock),
      slot_shift_(static_cast<uint32_t>(std::countr_zero(kSlotCount) - std::countr_zero(shards))) {
  shards_.reserve(shards);
  for (uint32_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>(i, clock, sink));
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

Keyspace::SweepResult Keyspace::SweepExpired(size_t max_keys_per_shard) {
  SweepResult result;
  for (auto& shard : shards_) {
    const size_t removed = shard->SweepExpired(max_keys_per_shard);
    result.removed += removed;
    result.more = result.more || removed == max_keys_per_shard;
  }
  return result;
}

KeyspaceStats Keyspace::Stats() const {
  KeyspaceStats stats;
  stats.shards.reserve(shards_.size());
  for (const auto& shard : shards_) {
    ShardStats s = shard->Stats();
    stats.keys += s.keys;
    stats.keys_with_deadline += s.keys_with_deadline;
    stats.expired_total += s.expired_total;
    stats.memory_bytes += s.memory_bytes;
    stats.shards.push_back(s);
  }
  return stats;
}

}  // namespace hotpath
