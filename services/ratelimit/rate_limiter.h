// RateLimiter: checks of keys against limits on the shared keyspace, one atomic step per check
// (or per batch, all or nothing). No gRPC here; services/ratelimit/ratelimit_service.h adapts
// it, and Envoy's API will too.
//
// State: one limiter key per (key, limit), "rl:{<key>}:<algorithm>:<limit>:<period>:<burst>"
// in the check's namespace, so reordering limits keeps their state and changing a limit starts
// it fresh. The hash tag keeps one key's limits in one shard. Updates are recorded lazily
// (Keyspace::UpdateLimiter's defer_record): a crash forgets at most the consumption since the
// last flush (ExpirySweeperOptions::deferred_flush_interval), never hands out more than that.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/keyspace.h"
#include "services/ratelimit/limiter.h"

namespace hotpath::ratelimit {

inline constexpr size_t kMaxKeyBytes = 4096;
inline constexpr size_t kMaxLimitsPerCheck = 8;
inline constexpr size_t kMaxChecksPerBatch = 1000;

struct CheckSpec {
  std::string ns = "default";
  std::string key;
  std::vector<Limit> limits;
  int64_t cost = 1;  // 0 looks only
  // Decided and consumed like any check, but outside a batch's all-or-nothing step: its
  // denial never fails the batch (shadow-mode policies; the caller answers "allowed").
  bool shadow = false;
};

enum class Outcome { kAllowed, kDenied, kCostTooHigh };

struct CheckResult {
  // User-provided, so that value-initialising a batch's results (vector::resize) runs the
  // member initialisers below instead of first zeroing every byte, inline room included.
  CheckResult() {}

  Outcome outcome = Outcome::kAllowed;
  absl::InlinedVector<Decision, 2> limits;  // in the check's order
  // The tightest limit: least remaining (its capacity), latest reset; the latest retry among
  // denying limits.
  int64_t limit = 0;
  int64_t remaining = 0;
  int64_t reset_after_ns = 0;
  int64_t retry_after_ns = 0;
};

struct BatchResult {
  std::vector<CheckResult> results;
  bool consumed = true;
};

class RateLimiter {
 public:
  // `keyspace` must outlive the limiter.
  explicit RateLimiter(Keyspace* keyspace) : keyspace_(keyspace) {}

  // InvalidArgument naming the field (after `prefix`, e.g. "checks[3].") that is wrong.
  static absl::Status Validate(const CheckSpec& check, std::string_view prefix = "");

  // The check must be valid. Nothing is consumed unless every limit allows.
  absl::StatusOr<CheckResult> Check(const CheckSpec& check);
  // Checks in order, each seeing what the ones before consumed. With all_or_nothing, the
  // checks that are not `shadow` are one atomic step that consumes nothing unless every one of
  // them is allowed; shadow checks run on their own after it.
  absl::StatusOr<BatchResult> CheckBatch(const std::vector<CheckSpec>& checks, bool all_or_nothing);
  // Forgets the state of `check.key` under `check.limits`. Returns whether any existed.
  absl::StatusOr<bool> Reset(const CheckSpec& check);

  // The engine key holding `key`'s state under `limit`.
  static std::string StateKey(std::string_view key, const Limit& limit);

 private:
  // The state keys of `checks`: check c's limit l is name(first[c] + l) (`first` ends with
  // the total), all in shard[c], or kSpread when they are not in one shard. The names lie end
  // to end in one buffer rather than in one allocation each.
  static constexpr uint32_t kSpread = ~uint32_t{0};
  struct StateKeys {
    StateKeys() = default;
    StateKeys(const StateKeys&) = delete;  // `bytes` may point into the object itself
    StateKeys& operator=(const StateKeys&) = delete;

    // At least `size` bytes for the names, left uninitialised: inline room for a lone
    // check's, the heap for a batch's.
    char* Room(size_t size) {
      if (size <= sizeof(inline_bytes)) return bytes = inline_bytes;
      heap_bytes.reset(new char[size]);
      return bytes = heap_bytes.get();
    }
    std::string_view name(size_t n) const {
      const size_t begin = n == 0 ? 0 : ends[n - 1];
      return std::string_view(bytes + begin, ends[n] - begin);
    }

    char* bytes = nullptr;
    char inline_bytes[160];
    std::unique_ptr<char[]> heap_bytes;
    absl::InlinedVector<size_t, 4> ends;  // name n is bytes[ends[n - 1], ends[n]), ends[-1] = 0
    absl::InlinedVector<size_t, 4> first;
    absl::InlinedVector<uint32_t, 2> shard;
  };
  // Fills `keys` (new) with the state keys of `checks`.
  void KeysOf(absl::Span<const CheckSpec* const> checks, StateKeys& keys) const;
  // checks[at[0]], checks[at[1]], ..., whose keys are all in `shard`, in that order under one
  // hold of its lock, each one atomic step; check c's result goes to results[c], which must
  // be a fresh CheckResult.
  absl::Status RunInShard(uint32_t shard, absl::Span<const CheckSpec* const> checks,
                          absl::Span<const size_t> at, const StateKeys& keys,
                          absl::Span<CheckResult> results);
  // `checks` (at least one), in order, under one hold of their shards' locks. `atomic`: nothing
  // is consumed unless every check is allowed. Otherwise each check stands alone.
  absl::StatusOr<BatchResult> Run(const std::vector<const CheckSpec*>& checks, bool atomic);

  Keyspace* const keyspace_;
};

}  // namespace hotpath::ratelimit
