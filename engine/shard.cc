#include "engine/shard.h"

#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/check.h"

namespace hotpath {
namespace {

// An entry costs its block (rounded up by malloc) plus a slot pointer and a control byte in the
// table; an expiry index element costs its pair plus the B-tree's share of node overhead.
constexpr uint64_t kMallocOverhead = 16;
constexpr uint64_t kTableSlotBytes = sizeof(void*) + 1;
constexpr uint64_t kExpiryIndexBytes = sizeof(std::pair<int64_t, const void*>) + 8;

// Redis-compatible: only the canonical decimal form of an int64 converts to a counter.
bool ParseCanonicalInt64(const std::string& text, int64_t* out) {
  return absl::SimpleAtoi(text, out) && absl::StrCat(*out) == text;
}

}  // namespace

Shard::Entry* Shard::Entry::New(const KeyRef& key, Value value) {
  const size_t key_size = EncodedKeySize(key);
  HP_DCHECK(key_size < (size_t{1} << 24));  // a valid key is far shorter (ValidateKey)
  void* block = ::operator new(sizeof(Entry) + key_size);
  auto* entry = new (block) Entry(std::move(value), static_cast<uint32_t>(key_size));
  EncodeKeyTo(key, reinterpret_cast<char*>(entry + 1));
  return entry;
}

void Shard::Entry::Deleter::operator()(Entry* entry) const {
  entry->~Entry();
  ::operator delete(entry);
}

uint64_t Shard::EntryFootprint(const Entry& entry) {
  uint64_t bytes = entry.block_bytes() + kMallocOverhead + kTableSlotBytes;
  bytes += entry.value.HeapBytes();
  if (entry.deadline_ms != 0) bytes += kExpiryIndexBytes;
  return bytes;
}

template <typename Key>
Shard::Entry* Shard::FindLive(const Key& key, int64_t now_ms) {
  auto it = table_.find(key);
  return Live(it == table_.end() ? nullptr : it->get(), now_ms);
}
template Shard::Entry* Shard::FindLive(const KeyRef& key, int64_t now_ms);
template Shard::Entry* Shard::FindLive(const HashedKey& key, int64_t now_ms);

Shard::Entry* Shard::Live(Entry* entry, int64_t now_ms) {
  if (entry == nullptr || entry->deadline_ms == 0 || entry->deadline_ms > now_ms) return entry;
  Erase(entry, MutationKind::kExpire);
  return nullptr;
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

Shard::Entry* Shard::Insert(const KeyRef& key, Value value) {
  Entry* entry = table_.insert(EntryPtr(Entry::New(key, std::move(value)))).first->get();
  ++layout_;
  ++keys_by_type_[static_cast<size_t>(entry->value.type())];
  return entry;
}

void Shard::Remove(Entry* entry) {
  if (entry->deadline_ms != 0) expiry_.erase({entry->filed_ms(), entry});
  --keys_by_type_[static_cast<size_t>(entry->value.type())];
  table_.erase(entry->key());  // frees the entry, and the key it is found by, last
  ++layout_;
}

void Shard::Erase(Entry* entry, MutationKind kind) {
  if (entry->record_pending()) {  // the delete or expire record says all there is to say
    entry->set_record_pending(false);
    deferred_.erase(entry);
  }
  Emit(kind, *entry, /*with_value=*/false);
  if (kind == MutationKind::kExpire) {
    ++expired_total_;
    if (observer_ != nullptr && !replaying_) observer_->OnExpire(entry->key(), entry->value);
  }
  Account(entry->key().ns, -1, -static_cast<int64_t>(EntryFootprint(*entry)));
  Remove(entry);
}

void Shard::ChangeDeadline(Entry* entry, int64_t deadline_ms) {
  if (entry->deadline_ms == deadline_ms) return;
  const bool was_indexed = entry->deadline_ms != 0;
  // Later: the element stays where it is (see the invariants), if the lag fits.
  if (was_indexed && deadline_ms > entry->deadline_ms &&
      deadline_ms - entry->filed_ms() <= std::numeric_limits<uint32_t>::max()) {
    entry->index_lag_ms = static_cast<uint32_t>(deadline_ms - entry->filed_ms());
    entry->deadline_ms = deadline_ms;
    return;
  }
  if (was_indexed) expiry_.erase({entry->filed_ms(), entry});
  entry->deadline_ms = deadline_ms;
  entry->index_lag_ms = 0;
  if (deadline_ms != 0) expiry_.insert({deadline_ms, entry});
  // The footprint changes only when the key enters or leaves the expiry index.
  if (was_indexed == (deadline_ms != 0)) return;
  const auto index_bytes = static_cast<int64_t>(kExpiryIndexBytes);
  Account(entry->key().ns, 0, was_indexed ? -index_bytes : index_bytes);
}

void Shard::Refile(Entry* entry) {
  expiry_.erase({entry->filed_ms(), entry});
  entry->index_lag_ms = 0;
  expiry_.insert({entry->deadline_ms, entry});
}

Shard::Entry* Shard::Store(const KeyRef& key, Entry* entry, Value value, int64_t deadline_ms,
                           bool deferred) {
  if (entry == nullptr) {
    entry = Insert(key, std::move(value));
    Account(key.ns, 1, static_cast<int64_t>(EntryFootprint(*entry)));
  } else if (entry->value.type() == ValueType::kLimiter && value.type() == ValueType::kLimiter) {
    // The common rate-limit update: same type, same size, so no count or byte changes.
    entry->value = std::move(value);
  } else {
    const uint64_t before = EntryFootprint(*entry);
    // Move the old value out first: move-assigning a short string into a long one would keep
    // the long one's buffer alive.
    Value old = std::move(entry->value);
    --keys_by_type_[static_cast<size_t>(old.type())];
    entry->value = std::move(value);
    ++keys_by_type_[static_cast<size_t>(entry->value.type())];
    Account(key.ns, 0, Change(before, EntryFootprint(*entry)));
  }
  ChangeDeadline(entry, deadline_ms);
  if (deferred) {
    Defer(entry);
    return entry;
  }
  if (entry->record_pending()) {  // this record carries the latest state
    entry->set_record_pending(false);
    deferred_.erase(entry);
  }
  Emit(MutationKind::kUpsert, *entry, /*with_value=*/true);
  return entry;
}

void Shard::Defer(Entry* entry) {
  if (entry->record_pending()) return;
  entry->set_record_pending(true);
  deferred_.insert(entry);
}

void Shard::Emit(MutationKind kind, Entry& entry, bool with_value) {
  SettleDeferred(entry);
  EmitOne(kind, entry, with_value);
}

void Shard::SettleDeferred(Entry& entry) {
  if (!entry.record_pending()) return;
  entry.set_record_pending(false);
  deferred_.erase(&entry);
  EmitOne(MutationKind::kUpsert, entry, /*with_value=*/true);
}

size_t Shard::FlushDeferred(size_t max_keys) {
  absl::MutexLock lock(&mu_);
  size_t flushed = 0;
  // One pass: erasing at begin() again and again would rescan the erased slots each time.
  for (auto pending = deferred_.begin(); pending != deferred_.end() && flushed < max_keys;) {
    Entry* entry = *pending;
    deferred_.erase(pending++);  // only the erased element's iterator is invalidated
    entry->set_record_pending(false);
    EmitOne(MutationKind::kUpsert, *entry, /*with_value=*/true);
    ++flushed;
  }
  return flushed;
}

void Shard::EmitOne(MutationKind kind, const Entry& entry, bool with_value) {
  ++sequence_;
  if (sink_ == nullptr || replaying_) return;
  Mutation mutation;
  mutation.shard = index_;
  mutation.sequence = sequence_;
  mutation.kind = kind;
  mutation.key = entry.key();
  if (with_value) {
    mutation.value = kind == MutationKind::kUpsert ? &entry.value : nullptr;
    mutation.deadline_ms = entry.deadline_ms;
  }
  sink_->Apply(mutation);
}

absl::StatusOr<std::string> Shard::Get(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  if (entry == nullptr) return absl::NotFoundError("key not found");
  const Value& value = entry->value;
  if (value.type() == ValueType::kString) return value.string();
  if (value.type() == ValueType::kCounter) return absl::StrCat(value.counter());
  return absl::FailedPreconditionError(
      absl::StrCat("key holds a ", ValueTypeName(value.type()), ", not a string"));
}

bool Shard::Set(const KeyRef& key, std::string value, const SetOptions& options) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  const bool present = entry != nullptr;
  if ((options.condition == SetCondition::kIfAbsent && present) ||
      (options.condition == SetCondition::kIfPresent && !present)) {
    return false;
  }
  int64_t deadline = DeadlineMillis(options.deadline);
  if (options.keep_deadline && present) deadline = entry->deadline_ms;
  if (deadline != 0 && deadline <= now) {
    // Written and expired at once: the after-image is "absent".
    if (present) Erase(entry, MutationKind::kExpire);
    return true;
  }
  Store(key, entry, Value::String(std::move(value)), deadline);
  return true;
}

absl::StatusOr<int64_t> Shard::IncrementBy(const KeyRef& key, int64_t delta) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  int64_t current = 0;
  int64_t deadline = 0;
  if (entry != nullptr) {
    const Value& value = entry->value;
    deadline = entry->deadline_ms;
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
  Store(key, entry, Value::Counter(next), deadline);
  return next;
}

bool Shard::Delete(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  if (entry == nullptr) return false;
  Erase(entry, MutationKind::kDelete);
  return true;
}

bool Shard::Exists(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  return FindLive(key, now) != nullptr;
}

absl::StatusOr<ValueType> Shard::Type(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  if (entry == nullptr) return absl::NotFoundError("key not found");
  return entry->value.type();
}

bool Shard::SetDeadline(const KeyRef& key, int64_t deadline_ms) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  if (entry == nullptr) return false;
  if (deadline_ms != 0 && deadline_ms <= now) {
    Erase(entry, MutationKind::kExpire);
    return true;
  }
  if (entry->deadline_ms == deadline_ms) return true;
  ChangeDeadline(entry, deadline_ms);
  Emit(MutationKind::kSetDeadline, *entry, /*with_value=*/true);
  return true;
}

absl::StatusOr<std::optional<int64_t>> Shard::GetDeadline(const KeyRef& key) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Entry* entry = FindLive(key, now);
  if (entry == nullptr) return absl::NotFoundError("key not found");
  if (entry->deadline_ms == 0) return std::nullopt;
  return entry->deadline_ms;
}

Shard::Sweep Shard::SweepExpired(size_t max_keys) {
  const int64_t now = clock_->NowMillis();
  absl::MutexLock lock(&mu_);
  Sweep sweep;
  for (size_t looked = 0; !expiry_.empty() && expiry_.begin()->first <= now; ++looked) {
    if (looked == max_keys) {
      sweep.more = true;
      break;
    }
    Entry* entry = expiry_.begin()->second;
    if (entry->deadline_ms > now) {
      Refile(entry);  // its deadline moved later after it was filed
      continue;
    }
    Erase(entry, MutationKind::kExpire);
    ++sweep.removed;
  }
  return sweep;
}

uint64_t Shard::EvictLimiters(size_t max_keys, uint64_t max_bytes, int64_t up_to_ms) {
  absl::MutexLock lock(&mu_);
  // Chosen (and passed over) first, erased (and refiled) after: changing the expiry index
  // invalidates its iterators.
  std::vector<Entry*> chosen;
  std::vector<Entry*> moved;
  uint64_t freed = 0;
  size_t looked = 0;
  for (auto it = expiry_.begin();
       it != expiry_.end() && it->first <= up_to_ms && chosen.size() < max_keys &&
       freed < max_bytes && looked < kEvictionScan;
       ++it, ++looked) {
    Entry* entry = it->second;
    if (entry->value.type() != ValueType::kLimiter) continue;
    if (entry->index_lag_ms != 0) {
      moved.push_back(entry);  // changed since it was filed here: not this old
      continue;
    }
    chosen.push_back(entry);
    freed += EntryFootprint(*entry);
  }
  for (Entry* entry : moved) Refile(entry);
  for (Entry* entry : chosen) {
    Erase(entry, MutationKind::kDelete);
    ++evicted_total_;
  }
  return freed;
}

std::optional<int64_t> Shard::OldestLimiterDeadline() const {
  absl::MutexLock lock(&mu_);
  size_t looked = 0;
  for (auto it = expiry_.begin(); it != expiry_.end() && looked < kEvictionScan; ++it, ++looked) {
    const Entry& entry = *it->second;
    if (entry.value.type() == ValueType::kLimiter && entry.index_lag_ms == 0) return it->first;
  }
  return std::nullopt;
}

Value& Shard::Access::Create(Value value) {
  HP_DCHECK(entry_ == nullptr);
  entry_ = shard_->Insert(key_, std::move(value));
  shard_->Account(key_.ns, 1, 0);  // its bytes count at Settle
  return entry_->value;
}

void Shard::Access::Upsert(Value value, int64_t deadline_ms) {
  // Store() keeps memory_bytes_ itself, relative to the entry as it is now: account for what
  // the callback did so far first, then re-base.
  Settle();
  entry_ = shard_->Store(key_, entry_, std::move(value), deadline_ms);
  footprint_before_ = EntryFootprint(*entry_);
}

void Shard::Access::RestoreDeadline(int64_t deadline_ms) {
  HP_DCHECK(entry_ != nullptr);
  Settle();
  shard_->ChangeDeadline(entry_, deadline_ms);  // keeps memory_bytes_ itself
  footprint_before_ = EntryFootprint(*entry_);
}

void Shard::Access::Delete() {
  if (entry_ == nullptr) return;
  Settle();
  shard_->Erase(entry_, MutationKind::kDelete);  // takes the entry's footprint off itself
  entry_ = nullptr;
  footprint_before_ = 0;
}

void Shard::Access::SetDeadline(int64_t deadline_ms) {
  HP_DCHECK(entry_ != nullptr);
  if (deadline_ms != 0 && deadline_ms <= now_ms_) {
    // As Shard::SetDeadline: a deadline already passed removes the key.
    Settle();
    shard_->Erase(entry_, MutationKind::kExpire);
    entry_ = nullptr;
    footprint_before_ = 0;
    return;
  }
  if (entry_->deadline_ms == deadline_ms) return;
  Settle();
  shard_->ChangeDeadline(entry_, deadline_ms);  // keeps the footprint of the expiry index itself
  footprint_before_ = EntryFootprint(*entry_);
  shard_->Emit(MutationKind::kSetDeadline, *entry_, /*with_value=*/true);
}

void Shard::Access::RemoveEmpty() {
  HP_DCHECK(entry_ != nullptr);
  // Its bytes, the expiry index element's included, count at Settle.
  shard_->Account(key_.ns, -1, 0);
  shard_->Remove(entry_);
  entry_ = nullptr;
}

void Shard::Access::UpsertDeferred(Value value, int64_t deadline_ms) {
  Settle();
  entry_ = shard_->Store(key_, entry_, std::move(value), deadline_ms, /*deferred=*/true);
  footprint_before_ = EntryFootprint(*entry_);
}

void Shard::Access::UpdateLimiterDeferred(const LimiterState& state, int64_t deadline_ms) {
  HP_DCHECK(entry_ != nullptr && entry_->value.type() == ValueType::kLimiter);
  // A limiter holds nothing on the heap, so only the deadline can change the footprint, and
  // ChangeDeadline counts that itself: the baseline moves by the same amount, which leaves
  // Settle to count whatever else the callback changed, without recomputing footprints here.
  const bool was_indexed = entry_->deadline_ms != 0;
  entry_->value.mutable_limiter() = state;
  shard_->ChangeDeadline(entry_, deadline_ms);
  if (was_indexed != (deadline_ms != 0)) {
    footprint_before_ = deadline_ms != 0 ? footprint_before_ + kExpiryIndexBytes
                                         : footprint_before_ - kExpiryIndexBytes;
  }
  shard_->Defer(entry_);
}

void Shard::Access::Emit(Mutation mutation) {
  if (entry_ != nullptr) shard_->SettleDeferred(*entry_);
  ++shard_->sequence_;
  if (shard_->sink_ == nullptr || shard_->replaying_) return;
  mutation.shard = shard_->index_;
  mutation.sequence = shard_->sequence_;
  mutation.key = key_;
  shard_->sink_->Apply(mutation);
}

void Shard::Access::Settle() {
  const uint64_t after = entry_ == nullptr ? 0 : EntryFootprint(*entry_);
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
