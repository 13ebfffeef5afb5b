#include "services/ratelimit/rate_limiter.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"

namespace hotpath::ratelimit {
namespace {

// One limit's decision against a stored value: the exact log (a string) for small sliding
// windows, the 32-byte state otherwise. A value of the other kind counts as fresh.
Decision DecideOn(const Limit& limit, const Value* value, int64_t now_ns, int64_t cost,
                  Keyspace::LimiterWrite* write) {
  const bool has = value != nullptr;
  if (UsesExactLog(limit)) {
    LogWrite log;
    const bool mine = has && value->type() == ValueType::kString;
    const Decision d = DecideLog(limit, mine ? value->string() : "", now_ns, cost, &log);
    *write = {.store = log.store,
              .deadline_ns = log.deadline_ns,
              .as_log = true,
              .log = std::move(log.log)};
    return d;
  }
  StateWrite state;
  const bool mine = has && value->type() == ValueType::kLimiter;
  const Decision d = Decide(limit, mine ? &value->limiter() : nullptr, now_ns, cost, &state);
  // Field by field: assigning a whole LimiterWrite would build and move a temporary (its log
  // string included) on every check.
  write->store = state.store;
  write->state = state.state;
  write->deadline_ns = state.deadline_ns;
  write->as_log = false;
  return d;
}

// One check's decision against its limits' current values (`current[l]` for limit l), into
// `result` (a fresh CheckResult: written in place, as a batch holds up to 1000 of them): its
// limits' writes go to `writes` when every limit allows, and are cleared otherwise, so a
// denied check consumes nothing.
void DecideCheck(const CheckSpec& check, absl::Span<const Value* const> current, int64_t now_ns,
                 absl::Span<Keyspace::LimiterWrite> writes, CheckResult& result) {
  result.limits.reserve(check.limits.size());
  bool allowed = true;
  bool impossible = false;
  for (size_t l = 0; l < check.limits.size(); ++l) {
    const Decision d = DecideOn(check.limits[l], current[l], now_ns, check.cost, &writes[l]);
    allowed = allowed && d.allowed;
    impossible = impossible || d.impossible;
    result.limits.push_back(d);
    if (l == 0 || d.remaining < result.remaining) {
      result.remaining = d.remaining;
      result.limit = d.limit;
    }
    result.reset_after_ns = std::max(result.reset_after_ns, d.reset_after_ns);
    if (!d.allowed) result.retry_after_ns = std::max(result.retry_after_ns, d.retry_after_ns);
  }
  result.outcome = allowed      ? Outcome::kAllowed
                   : impossible ? Outcome::kCostTooHigh
                                : Outcome::kDenied;
  if (!allowed) {
    for (Keyspace::LimiterWrite& write : writes) write.store = false;
  }
}

// Evaluates `checks` in order against the stored values, each check consuming only if all of
// its limits allow; a later check sees what an earlier one wrote (`written`, over `stored`).
// `slots[c][l]` is the value index of check c's limit l.
BatchResult Evaluate(const std::vector<const CheckSpec*>& checks,
                     const std::vector<std::vector<size_t>>& slots,
                     const std::vector<const Value*>& stored,
                     std::vector<Keyspace::LimiterWrite>& writes, int64_t now_ns) {
  std::vector<std::optional<Value>> written(stored.size());
  BatchResult batch;
  batch.results.reserve(checks.size());
  std::vector<const Value*> current;
  std::vector<Keyspace::LimiterWrite> pending;
  for (size_t c = 0; c < checks.size(); ++c) {
    const CheckSpec& check = *checks[c];
    current.clear();
    for (size_t slot : slots[c]) {
      current.push_back(written[slot].has_value() ? &*written[slot] : stored[slot]);
    }
    pending.assign(check.limits.size(), {});
    DecideCheck(check, current, now_ns, absl::MakeSpan(pending), batch.results.emplace_back());
    for (size_t l = 0; l < pending.size(); ++l) {
      if (!pending[l].store) continue;
      const size_t slot = slots[c][l];
      written[slot] =
          pending[l].as_log ? Value::String(pending[l].log) : Value::Limiter(pending[l].state);
      writes[slot] = std::move(pending[l]);
    }
  }
  return batch;
}

// Whether two limits would share a state key (StateKey).
bool SameState(const Limit& a, const Limit& b) {
  return a.algorithm == b.algorithm && a.limit == b.limit && a.period_ns == b.period_ns &&
         a.burst == b.burst;
}

// A state key's bytes beyond its key: "rl:{" and "}" around it, then four int64s (at most 20
// characters each, sign included) after a ':' each.
constexpr size_t kMaxSuffixBytes = 4 * (1 + 20);
constexpr size_t kMaxNameBytesBeyondKey = 5 + kMaxSuffixBytes;

// The part of a state key after the key, ":<algorithm>:<limit>:<period>:<burst>", for the last
// few limits this thread named: a server checks a handful of limits over and over, and
// formatting their four numbers cost a tenth of an in-process check.
std::string_view LimitSuffix(const Limit& limit) {
  static constexpr size_t kSlots = 4;
  struct Slot {
    Limit limit;
    size_t size = 0;                  // 0: empty
    char bytes[kMaxSuffixBytes + 1];  // FastIntToBuffer ends each number with a NUL
  };
  thread_local Slot slots[kSlots];
  thread_local size_t next = 0;
  for (const Slot& slot : slots) {
    if (slot.size != 0 && SameState(slot.limit, limit)) return {slot.bytes, slot.size};
  }
  Slot& slot = slots[next++ % kSlots];
  slot.limit = limit;
  char* out = slot.bytes;
  for (const int64_t field :
       {static_cast<int64_t>(limit.algorithm), limit.limit, limit.period_ns, limit.burst}) {
    *out++ = ':';
    out = absl::numbers_internal::FastIntToBuffer(field, out);
  }
  slot.size = static_cast<size_t>(out - slot.bytes);
  return {slot.bytes, slot.size};
}

// Writes `text` at `out` and returns the end of it.
char* Put(std::string_view text, char* out) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// Writes the engine key of `key`'s state under `limit` (RateLimiter::StateKey) at `out`, which
// has room for key.size() + kMaxNameBytesBeyondKey, and returns the end of it.
char* PutStateKey(std::string_view key, const Limit& limit, char* out) {
  out = Put("rl:{", out);
  out = Put(key, out);
  out = Put("}", out);
  return Put(LimitSuffix(limit), out);
}

}  // namespace

std::string RateLimiter::StateKey(std::string_view key, const Limit& limit) {
  std::string name(key.size() + kMaxNameBytesBeyondKey, '\0');
  name.resize(static_cast<size_t>(PutStateKey(key, limit, name.data()) - name.data()));
  return name;
}

absl::Status RateLimiter::Validate(const CheckSpec& check, std::string_view prefix) {
  const absl::string_view p = AbslView(prefix);
  if (check.key.empty() || check.key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(p, "key must be 1 to ", kMaxKeyBytes, " bytes, got ", check.key.size()));
  }
  if (check.limits.empty() || check.limits.size() > kMaxLimitsPerCheck) {
    return absl::InvalidArgumentError(absl::StrCat(p, "limits must hold 1 to ", kMaxLimitsPerCheck,
                                                   " limits, got ", check.limits.size()));
  }
  // The namespace (and the state keys) must suit the engine: checked here, before anything of
  // a batch is consumed.
  if (absl::Status valid = ValidateKey(KeyRef{check.ns, check.key}); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(p, valid.message()));
  }
  for (size_t i = 0; i < check.limits.size(); ++i) {
    HP_RETURN_IF_ERROR(Prefixed(ValidateLimit(check.limits[i], ""), p, "limits[", i, "]."));
    for (size_t j = 0; j < i; ++j) {
      if (SameState(check.limits[j], check.limits[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat(p, "limits[", i, "] repeats limits[", j, "]"));
      }
    }
  }
  if (check.cost < 0 || check.cost > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat(p, "cost must be between 0 and ", kMaxLimit, ", got ", check.cost));
  }
  return absl::OkStatus();
}

void RateLimiter::KeysOf(absl::Span<const CheckSpec* const> checks, StateKeys& keys) const {
  // Sized up front: a batch's names would otherwise grow the buffers a dozen times over.
  size_t names = 0;
  size_t bytes = 0;
  for (const CheckSpec* check : checks) {
    names += check->limits.size();
    bytes += check->limits.size() * (check->key.size() + kMaxNameBytesBeyondKey);
  }
  char* const begin = keys.Room(bytes);  // room for the longest names
  keys.ends.reserve(names);
  keys.first.reserve(checks.size() + 1);
  char* out = begin;
  for (const CheckSpec* check : checks) {
    keys.first.push_back(keys.ends.size());
    for (const Limit& limit : check->limits) {
      out = PutStateKey(check->key, limit, out);
      keys.ends.push_back(static_cast<size_t>(out - begin));
    }
  }
  keys.first.push_back(keys.ends.size());
  keys.shard.reserve(checks.size());
  for (size_t c = 0; c < checks.size(); ++c) {
    // A state key is "rl:{<key>}<suffix>" with no brace in the suffix, so its hash tag is the
    // key up to its first '}', the same for every limit of the check, and hashed once here.
    // A key that starts with '}' leaves the tag empty: each whole name is hashed then, and the
    // limits may spread over shards.
    const std::string_view key = checks[c]->key;
    if (key.empty() || key.front() != '}') {
      keys.shard.push_back(keyspace_->ShardOf(KeyRef{checks[c]->ns, key.substr(0, key.find('}'))}));
      continue;
    }
    const uint32_t shard = keyspace_->ShardOf(KeyRef{checks[c]->ns, keys.name(keys.first[c])});
    for (size_t n = keys.first[c] + 1; n < keys.first[c + 1]; ++n) {
      if (keyspace_->ShardOf(KeyRef{checks[c]->ns, keys.name(n)}) != shard) {
        keys.shard.push_back(kSpread);
        break;
      }
    }
    if (keys.shard.size() == c) keys.shard.push_back(shard);
  }
}

absl::Status RateLimiter::RunInShard(uint32_t shard, absl::Span<const CheckSpec* const> checks,
                                     absl::Span<const size_t> at, const StateKeys& keys,
                                     absl::Span<CheckResult> results) {
  absl::InlinedVector<KeyRef, 16> refs;
  absl::InlinedVector<size_t, 16> ends;
  size_t names = 0;
  for (size_t c : at) names += keys.first[c + 1] - keys.first[c];
  refs.reserve(names);
  ends.reserve(at.size());
  for (size_t c : at) {
    for (size_t n = keys.first[c]; n < keys.first[c + 1]; ++n) {
      refs.push_back(KeyRef{checks[c]->ns, keys.name(n)});
    }
    ends.push_back(refs.size());
  }
  return keyspace_->UpdateLimiterSteps(
      shard, refs, ends,
      [&](size_t step, absl::Span<const Value* const> current, int64_t now_ns,
          absl::Span<Keyspace::LimiterWrite> writes) {
        DecideCheck(*checks[at[step]], current, now_ns, writes, results[at[step]]);
      },
      /*defer_record=*/true);
}

absl::StatusOr<CheckResult> RateLimiter::Check(const CheckSpec& check) {
  if (check.limits.empty()) return absl::InvalidArgumentError("a check needs a limit");
  const CheckSpec* const one[] = {&check};
  StateKeys keys;
  KeysOf(one, keys);
  if (keys.shard[0] == kSpread) {
    HP_ASSIGN_OR_RETURN(BatchResult batch, Run({&check}, /*atomic=*/true));
    return std::move(batch.results.front());
  }
  CheckResult result;
  const size_t at[] = {0};
  HP_RETURN_IF_ERROR(RunInShard(keys.shard[0], one, at, keys, absl::MakeSpan(&result, 1)));
  return result;
}

absl::StatusOr<BatchResult> RateLimiter::CheckBatch(const std::vector<CheckSpec>& checks,
                                                    bool all_or_nothing) {
  BatchResult batch;
  batch.results.resize(checks.size());
  std::vector<const CheckSpec*> all;
  all.reserve(checks.size());
  std::vector<const CheckSpec*> atomic;
  std::vector<size_t> atomic_at;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].limits.empty()) return absl::InvalidArgumentError("a check needs a limit");
    all.push_back(&checks[i]);
    if (all_or_nothing && !checks[i].shadow) {
      atomic.push_back(&checks[i]);
      atomic_at.push_back(i);
    }
  }
  if (!atomic.empty()) {
    HP_ASSIGN_OR_RETURN(BatchResult step, Run(atomic, /*atomic=*/true));
    for (size_t j = 0; j < atomic.size(); ++j)
      batch.results[atomic_at[j]] = std::move(step.results[j]);
    batch.consumed = step.consumed;
    if (atomic.size() == checks.size()) return batch;
  }
  // Checks that stand alone run one step per shard, in request order within it: a check sees
  // what earlier ones consumed of the same key, and every key of a check (one hash tag) lives
  // in one shard. One lock hold per shard instead of per check, and never two at once.
  // A key whose hash tag is empty ("}..." makes "rl:{}...") spreads its limits over shards;
  // if any check's does, the checks run one by one, in request order.
  StateKeys keys;
  KeysOf(all, keys);
  auto alone = [&](size_t i) { return !all_or_nothing || checks[i].shadow; };
  if (std::find(keys.shard.begin(), keys.shard.end(), kSpread) != keys.shard.end()) {
    for (size_t i = 0; i < checks.size(); ++i) {
      if (!alone(i)) continue;
      HP_ASSIGN_OR_RETURN(BatchResult one, Run({&checks[i]}, /*atomic=*/true));
      batch.results[i] = std::move(one.results.front());
    }
    return batch;
  }
  // The checks grouped by shard, request order kept within each: shard s's are
  // order[begin[s], begin[s + 1]) (a counting sort, three allocations however many shards).
  std::vector<size_t> begin(keyspace_->shard_count() + 1, 0);
  for (size_t i = 0; i < checks.size(); ++i) {
    if (alone(i)) ++begin[keys.shard[i] + 1];
  }
  std::partial_sum(begin.begin(), begin.end(), begin.begin());
  std::vector<size_t> order(begin.back());
  std::vector<size_t> next(begin.begin(), begin.end() - 1);
  for (size_t i = 0; i < checks.size(); ++i) {
    if (alone(i)) order[next[keys.shard[i]]++] = i;
  }
  for (uint32_t shard = 0; shard + 1 < begin.size(); ++shard) {
    if (begin[shard] == begin[shard + 1]) continue;
    const absl::Span<const size_t> at =
        absl::MakeConstSpan(order).subspan(begin[shard], begin[shard + 1] - begin[shard]);
    HP_RETURN_IF_ERROR(RunInShard(shard, all, at, keys, absl::MakeSpan(batch.results)));
  }
  return batch;
}

absl::StatusOr<BatchResult> RateLimiter::Run(const std::vector<const CheckSpec*>& checks,
                                             bool atomic) {
  // One atomic step over the distinct state keys of every check. A single check's limits are
  // distinct already (Validate); across checks, repeated keys share one state.
  std::vector<std::string> names;
  std::vector<std::string_view> namespaces;
  std::vector<std::vector<size_t>> slots(checks.size());
  names.reserve(checks.size() * checks.front()->limits.size());
  for (size_t c = 0; c < checks.size(); ++c) {
    for (const Limit& limit : checks[c]->limits) {
      names.push_back(StateKey(checks[c]->key, limit));
      namespaces.push_back(checks[c]->ns);
      slots[c].push_back(names.size() - 1);
    }
  }
  if (checks.size() > 1) {
    // Names are final now (no more push_back): views into them stay valid while `index` lives.
    absl::flat_hash_map<std::pair<std::string_view, std::string_view>, size_t> index;
    std::vector<std::string> distinct;
    std::vector<std::string_view> distinct_ns;
    for (size_t c = 0; c < checks.size(); ++c) {
      for (size_t& slot : slots[c]) {
        auto [it, inserted] = index.try_emplace(
            std::make_pair(namespaces[slot], std::string_view(names[slot])), distinct.size());
        if (inserted) {
          distinct.push_back(names[slot]);
          distinct_ns.push_back(namespaces[slot]);
        }
        slot = it->second;
      }
    }
    names = std::move(distinct);
    namespaces = std::move(distinct_ns);
  }
  std::vector<KeyRef> keys;
  keys.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) keys.push_back(KeyRef{namespaces[i], names[i]});
  return keyspace_->UpdateLimiters(
      keys,
      [&](const std::vector<const Value*>& current, int64_t now_ns,
          std::vector<Keyspace::LimiterWrite>* writes) {
        BatchResult batch = Evaluate(checks, slots, current, *writes, now_ns);
        const bool every_allowed =
            std::all_of(batch.results.begin(), batch.results.end(),
                        [](const CheckResult& r) { return r.outcome == Outcome::kAllowed; });
        if (atomic && !every_allowed) {
          batch.consumed = false;
          // A lone check that is not allowed consumed nothing already; with several, the
          // allowed ones' writes are dropped.
          if (checks.size() > 1) {
            for (auto& write : *writes) write.store = false;
          }
        }
        return batch;
      },
      /*defer_record=*/true);
}

absl::StatusOr<bool> RateLimiter::Reset(const CheckSpec& check) {
  bool any = false;
  for (const Limit& limit : check.limits) {
    HP_ASSIGN_OR_RETURN(bool deleted,
                        keyspace_->Delete(KeyRef{check.ns, StateKey(check.key, limit)}));
    any = any || deleted;
  }
  return any;
}

}  // namespace hotpath::ratelimit
