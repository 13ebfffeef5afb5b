#include "engine/shard.h"

#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/check.h"

namespace hotpath {
namespace {

// A node_hash_map entry costs a heap node (key + Entry, rounded up by malloc) plus a slot
// pointer and a control byte in the table; an expiry index element costs its pair plus the
// B-tree's share of node overhead.
constexpr uint64_t kMallocOverhead = 16;
constexpr uint64_t kTableSlotBytes = sizeof(void*) + 1;
constexpr uint64_t kExpiryIndexBytes = sizeof(std::pair<int64_t, const std::string*>) + 8;

// Redis-compatible: only the canonical decimal form of an int64 converts to a counter.
bool ParseCanonicalInt64(const std::string& text, int64_t* out) {
  return absl::SimpleAtoi(text, out) && absl::StrCat(*out) == text;
}

}  // namespace

uint64_t Shard::EntryFootprint(const std::string& stored_key, const Entry& entry) {
  uint64_t bytes = sizeof(Table::value_type) + kMallocOverhead + kTableSlotBytes;
  bytes += StringHeapBytes(stored_key) + entry.value.HeapBytes();
  if (entry.deadline_ms != 0) bytes += kExpiryIndexBytes;
  return bytes;
}

Shard::Table::iterator Shard::FindLive(const KeyRef& key, int64_t now_ms) {
  auto it = table_.find(key);
  if (it == table_.end()) return it;
  if (it->second.deadline_ms != 0 && it->second.deadline_ms <= now_ms) {
    Erase(it, MutationKind::kExpire);
    return table_.end();
  }
  return it;
}

void Shard::Account(std::string_view ns, int64_t keys, int64_t bytes) {
  memory_bytes_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed);  // mod 2^64
  if (last_usage_ == nullptr || ns != last_namespace_) {
    auto it = namespaces_.try_emplace(AbslView(ns)).first;
    last_namespace_ = it->first;
    last_usage_ = &it->second;
  }
  last_usage_->keys += keys;
  last_usage_->bytes += bytes;
  if (last_usage_->keys == 0 && last_usage_->bytes == 0) {
    namespaces_.erase(AbslView(last_namespace_));
    last_usage_ = nullptr;
  }
}

NamespaceUsage Shard::UsageOf(std::string_view ns) const {
  absl::MutexLock lock(&mu_);
  auto it = namespaces_.find(AbslView(ns));
  return it == namespaces_.end() ? NamespaceUsage{} : it->second;
}

void Shard::Erase(Table::iterator it, MutationKind kind) {
  deferred_.erase(&it->first);  // the delete or expire record says all there is to say
  Emit(kind, it->first, nullptr);
  if (kind == MutationKind::kExpire) {
    ++expired_total_;
    if (observer_ != nullptr && !replaying_)
      observer_->OnExpire(DecodeKey(it->first), it->second.value);
  }
  if (it->second.deadline_ms != 0) expiry_.erase({it->second.deadline_ms, &it->first});
  Account(DecodeKey(it->first).ns, -1,
          -static_cast<int64_t>(EntryFootprint(it->first, it->second)));
  --keys_by_type_[static_cast<size_t>(it->second.value.type())];
  table_.erase(it);
}

void Shard::ChangeDeadline(Table::iterator it, int64_t deadline_ms) {
  Entry& entry = it->second;
  if (entry.deadline_ms == deadline_ms) return;
  const bool was_indexed = entry.deadline_ms != 0;
  if (was_indexed) expiry_.erase({entry.deadline_ms, &it->first});
  entry.deadline_ms = deadline_ms;
  if (deadline_ms != 0) expiry_.insert({deadline_ms, &it->first});
  // The footprint changes only when the key enters or leaves the expiry index.
  if (was_indexed == (deadline_ms != 0)) return;
  const auto index_bytes = static_cast<int64_t>(kExpiryIndexBytes);
  Account(DecodeKey(it->first).ns, 0, was_indexed ? -index_bytes : index_bytes);
}

Shard::Table::iterator Shard::Store(const KeyRef& key, Table::iterator it, Value value,
                                    int64_t deadline_ms, bool deferred) {
  if (it == table_.end()) {
    it = table_.try_emplace(EncodeKey(key), Entry{std::move(value), 0}).first;
    ++keys_by_type_[static_cast<size_t>(it->second.value.type())];
    Account(key.ns, 1, static_cast<int64_t>(EntryFootprint(it->first, it->second)));
  } else if (it->second.value.type() == ValueType::kLimiter &&
             value.type() == ValueType::kLimiter) {
    // The common rate-limit update: same type, same size, so no count or byte changes.
    it->second.value = std::move(value);
  } else {
    const uint64_t before = EntryFootprint(it->first, it->second);
    // Move the old value out first: move-assigning a short string into a long one would keep
    // the long one's buffer alive.
    Value old = std::move(it->second.value);
    --keys_by_type_[static_cast<size_t>(old.type())];
    it->second.value = std::move(value);
    ++keys_by_type_[static_cast<size_t>(it->second.value.type())];
    Account(key.ns, 0, Change(before, EntryFootprint(it->first, it->second)));
  }
  ChangeDeadline(it, deadline_ms);
  if (deferred) {
    deferred_.insert(&it->first);
    return it;
  }
  deferred_.erase(&it->first);  // this record carries the latest state
  Emit(MutationKind::kUpsert, it->first, &it->second);
  return it;
}

void Shard::Emit(MutationKind kind, const std::string& stored_key, const Entry* entry) {
  SettleDeferred(stored_key);
  EmitOne(kind, stored_key, entry);
}

void Shard::SettleDeferred(const std::string& stored_key) {
  if (deferred_.empty()) return;
  auto pending = deferred_.find(&stored_key);
  if (pending == deferred_.end()) return;
  deferred_.erase(pending);
  auto it = table_.find(stored_key);
  EmitOne(MutationKind::kUpsert, it->first, &it->second);
}

size_t Shard::FlushDeferred(size_t max_keys) {
  absl::MutexLock lock(&mu_);
  size_t flushed = 0;
  // One pass: erasing at begin() again and again would rescan the erased slots each time.
  for (auto pending = deferred_.begin(); pending != deferred_.end() && flushed < max_keys;) {
    auto it = table_.find(**pending);
    deferred_.erase(pending++);  // only the erased element's iterator is invalidated
    EmitOne(MutationKind::kUpsert, it->first, &it->second);
    ++flushed;
  }
  return flushed;
}

void Shard::EmitOne(MutationKind kind, const std::string& stored_key, const Entry* entry) {
  ++sequence_;
  if (sink_ == nullptr || replaying_) return;
  Mutation mutation;
  mutation.shard = index_;
  mutation.sequence = sequence_;
  mutation.kind = kind;
  mutation.key = DecodeKey(stored_key);
  if (entry != nullptr) {
    mutation.value = kind == MutationKind::kUpsert ? &entry->value : nullptr;
    mutation.deadline_ms = entry->deadline_ms;
  }
  sink_->Apply(mutation);
}

absl::StatusOr<std::string> Shard::Get(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  if (it == table_.end()) return absl::NotFoundError("key not found");
  const Value& value = it->second.value;
  if (value.type() == ValueType::kString) return value.string();
  if (value.type() == ValueType::kCounter) return absl::StrCat(value.counter());
  return absl::FailedPreconditionError(
      absl::StrCat("key holds a ", ValueTypeName(value.type()), ", not a string"));
}

bool Shard::Set(const KeyRef& key, std::string value, const SetOptions& options) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  const bool present = it != table_.end();
  if ((options.condition == SetCondition::kIfAbsent && present) ||
      (options.condition == SetCondition::kIfPresent && !present)) {
    return false;
  }
  int64_t deadline = DeadlineMillis(options.deadline);
  if (options.keep_deadline && present) deadline = it->second.deadline_ms;
  if (deadline != 0 && deadline <= now) {
    // Written and expired at once: the after-image is "absent".
    if (present) Erase(it, MutationKind::kExpire);
    return true;
  }
  Store(key, it, Value::String(std::move(value)), deadline);
  return true;
}

absl::StatusOr<int64_t> Shard::IncrementBy(const KeyRef& key, int64_t delta) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  int64_t current = 0;
  int64_t deadline = 0;
  if (it != table_.end()) {
    const Value& value = it->second.value;
    deadline = it->second.deadline_ms;
    if (value.type() == ValueType::kCounter) {
      current = value.counter();
    } else if (value.type() != ValueType::kString) {
      return absl::FailedPreconditionError(
          absl::StrCat("key holds a ", ValueTypeName(value.type()), ", not a counter"));
    } else if (!ParseCanonicalInt64(value.string(), &current)) {
      return absl::FailedPreconditionError("value is not an integer");
    }
  }
  int64_t next = 0;
  if (__builtin_add_overflow(current, delta, &next)) {
    return absl::OutOfRangeError(
        absl::StrCat("incrementing ", current, " by ", delta, " overflows int64"));
  }
  Store(key, it, Value::Counter(next), deadline);
  return next;
}

bool Shard::Delete(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  if (it == table_.end()) return false;
  Erase(it, MutationKind::kDelete);
  return true;
}

bool Shard::Exists(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  return FindLive(key, now) != table_.end();
}

absl::StatusOr<ValueType> Shard::Type(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  if (it == table_.end()) return absl::NotFoundError("key not found");
  return it->second.value.type();
}

bool Shard::SetDeadline(const KeyRef& key, int64_t deadline_ms) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  if (it == table_.end()) return false;
  if (deadline_ms != 0 && deadline_ms <= now) {
    Erase(it, MutationKind::kExpire);
    return true;
  }
  if (it->second.deadline_ms == deadline_ms) return true;
  ChangeDeadline(it, deadline_ms);
  Emit(MutationKind::kSetDeadline, it->first, &it->second);
  return true;
}

absl::StatusOr<std::optional<int64_t>> Shard::GetDeadline(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  auto it = FindLive(key, now);
  if (it == table_.end()) return absl::NotFoundError("key not found");
  if (it->second.deadline_ms == 0) return std::nullopt;
  return it->second.deadline_ms;
}

size_t Shard::SweepExpired(size_t max_keys) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  size_t removed = 0;
  while (removed < max_keys && !expiry_.empty() && expiry_.begin()->first <= now) {
    auto it = table_.find(*expiry_.begin()->second);
    HP_DCHECK(it != table_.end());
    Erase(it, MutationKind::kExpire);
    ++removed;
  }
  return removed;
}

uint64_t Shard::EvictLimiters(size_t max_keys, uint64_t max_bytes, int64_t up_to_ms) {
  absl::MutexLock lock(&mu_);
  // Chosen first, erased after: erasing from the expiry index invalidates its iterators. The
  // keys' strings live in the table's nodes, which stay put until their own erase.
  std::vector<const std::string*> chosen;
  uint64_t freed = 0;
  size_t looked = 0;
  for (auto it = expiry_.begin();
       it != expiry_.end() && it->first <= up_to_ms && chosen.size() < max_keys &&
       freed < max_bytes && looked < kEvictionScan;
       ++it, ++looked) {
    auto entry = table_.find(*it->second);
    HP_DCHECK(entry != table_.end());
    if (entry->second.value.type() != ValueType::kLimiter) continue;
    chosen.push_back(it->second);
    freed += EntryFootprint(entry->first, entry->second);
  }
  for (const std::string* key : chosen) {
    Erase(table_.find(*key), MutationKind::kDelete);
    ++evicted_total_;
  }
  return freed;
}

std::optional<int64_t> Shard::OldestLimiterDeadline() const {
  absl::MutexLock lock(&mu_);
  size_t looked = 0;
  for (auto it = expiry_.begin(); it != expiry_.end() && looked < kEvictionScan; ++it, ++looked) {
    auto entry = table_.find(*it->second);
    HP_DCHECK(entry != table_.end());
    if (entry->second.value.type() == ValueType::kLimiter) return it->first;
  }
  return std::nullopt;
}

Value& Shard::Access::Create(Value value) {
  HP_DCHECK(it_ == shard_->table_.end());
  it_ = shard_->table_.try_emplace(EncodeKey(key_), Entry{std::move(value), 0}).first;
  ++shard_->keys_by_type_[static_cast<size_t>(it_->second.value.type())];
  shard_->Account(key_.ns, 1, 0);  // its bytes count at Settle
  return it_->second.value;
}

void Shard::Access::Upsert(Value value, int64_t deadline_ms) {
  // Store() keeps memory_bytes_ itself, relative to the entry as it is now: account for what
  // the callback did so far first, then re-base.
  Settle();
  it_ = shard_->Store(key_, it_, std::move(value), deadline_ms);
  footprint_before_ = EntryFootprint(it_->first, it_->second);
}

void Shard::Access::RestoreDeadline(int64_t deadline_ms) {
  HP_DCHECK(it_ != shard_->table_.end());
  Settle();
  shard_->ChangeDeadline(it_, deadline_ms);  // keeps memory_bytes_ itself
  footprint_before_ = EntryFootprint(it_->first, it_->second);
}

void Shard::Access::Delete() {
  if (it_ == shard_->table_.end()) return;
  Settle();
  shard_->Erase(it_, MutationKind::kDelete);  // takes the entry's footprint off itself
  it_ = shard_->table_.end();
  footprint_before_ = 0;
}

void Shard::Access::SetDeadline(int64_t deadline_ms) {
  HP_DCHECK(it_ != shard_->table_.end());
  if (deadline_ms != 0 && deadline_ms <= now_ms_) {
    // As Shard::SetDeadline: a deadline already passed removes the key.
    Settle();
    shard_->Erase(it_, MutationKind::kExpire);
    it_ = shard_->table_.end();
    footprint_before_ = 0;
    return;
  }
  if (it_->second.deadline_ms == deadline_ms) return;
  Settle();
  shard_->ChangeDeadline(it_, deadline_ms);  // keeps the footprint of the expiry index itself
  footprint_before_ = EntryFootprint(it_->first, it_->second);
  shard_->Emit(MutationKind::kSetDeadline, it_->first, &it_->second);
}

void Shard::Access::RemoveEmpty() {
  HP_DCHECK(it_ != shard_->table_.end());
  if (it_->second.deadline_ms != 0) {
    shard_->expiry_.erase({it_->second.deadline_ms, &it_->first});
    // The index entry was part of the footprint taken before the callback.
  }
  --shard_->keys_by_type_[static_cast<size_t>(it_->second.value.type())];
  shard_->Account(key_.ns, -1, 0);  // its bytes count at Settle
  shard_->table_.erase(it_);
  it_ = shard_->table_.end();
}

void Shard::Access::UpsertDeferred(Value value, int64_t deadline_ms) {
  Settle();
  it_ = shard_->Store(key_, it_, std::move(value), deadline_ms, /*deferred=*/true);
  footprint_before_ = EntryFootprint(it_->first, it_->second);
}

void Shard::Access::Emit(Mutation mutation) {
  if (it_ != shard_->table_.end()) shard_->SettleDeferred(it_->first);
  ++shard_->sequence_;
  if (shard_->sink_ == nullptr || shard_->replaying_) return;
  mutation.shard = shard_->index_;
  mutation.sequence = shard_->sequence_;
  mutation.key = key_;
  shard_->sink_->Apply(mutation);
}

void Shard::Access::Settle() {
  const uint64_t after = it_ == shard_->table_.end() ? 0 : EntryFootprint(it_->first, it_->second);
  if (after != footprint_before_) shard_->Account(key_.ns, 0, Change(footprint_before_, after));
  footprint_before_ = after;
}

ShardStats Shard::Stats() const {
  absl::MutexLock lock(&mu_);
  return ShardStats{
      .keys = table_.size(),
      .keys_with_deadline = expiry_.size(),
      .expired_total = expired_total_,
      .evicted_total = evicted_total_,
      .memory_bytes = memory_bytes_,
      .sequence = sequence_,
      .keys_by_type = keys_by_type_,
      .namespaces = namespaces_.size(),
  };
}

}  // namespace hotpath
