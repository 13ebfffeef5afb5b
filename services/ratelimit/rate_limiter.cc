#include "services/ratelimit/rate_limiter.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"

namespace hotpath::ratelimit {
namespace {

// Evaluates `checks` in order against a working copy of the states, each check consuming
// only if all of its limits allow. `slots[c][l]` is the state index of check c's limit l.
BatchResult Evaluate(const std::vector<CheckSpec>& checks,
                     const std::vector<std::vector<size_t>>& slots,
                     std::vector<std::optional<LimiterState>>& states,
                     std::vector<Keyspace::LimiterWrite>& writes, int64_t now_ns) {
  BatchResult batch;
  for (size_t c = 0; c < checks.size(); ++c) {
    const CheckSpec& check = checks[c];
    CheckResult result;
    std::vector<StateWrite> pending(check.limits.size());
    bool allowed = true;
    bool impossible = false;
    for (size_t l = 0; l < check.limits.size(); ++l) {
      const std::optional<LimiterState>& state = states[slots[c][l]];
      const Decision d = Decide(check.limits[l], state.has_value() ? &*state : nullptr, now_ns,
                                check.cost, &pending[l]);
      allowed = allowed && d.allowed;
      impossible = impossible || d.impossible;
      result.limits.push_back(d);
    }
    result.outcome = allowed      ? Outcome::kAllowed
                     : impossible ? Outcome::kCostTooHigh
                                  : Outcome::kDenied;
    for (size_t l = 0; l < result.limits.size(); ++l) {
      const Decision& d = result.limits[l];
      if (l == 0 || d.remaining < result.remaining) {
        result.remaining = d.remaining;
        result.limit = d.limit;
      }
      result.reset_after_ns = std::max(result.reset_after_ns, d.reset_after_ns);
      if (!d.allowed) result.retry_after_ns = std::max(result.retry_after_ns, d.retry_after_ns);
      if (allowed && pending[l].store) {
        const size_t slot = slots[c][l];
        states[slot] = pending[l].state;
        writes[slot] = {
            .store = true, .state = pending[l].state, .deadline_ns = pending[l].deadline_ns};
      }
    }
    batch.results.push_back(std::move(result));
  }
  return batch;
}

}  // namespace

std::string RateLimiter::StateKey(std::string_view key, const Limit& limit) {
  return absl::StrCat("rl:{", AbslView(key), "}:", static_cast<int>(limit.algorithm), ":",
                      limit.limit, ":", limit.period_ns, ":", limit.burst);
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
  for (size_t i = 0; i < check.limits.size(); ++i) {
    HP_RETURN_IF_ERROR(ValidateLimit(check.limits[i], absl::StrCat(p, "limits[", i, "].")));
    for (size_t j = 0; j < i; ++j) {
      if (StateKey("", check.limits[j]) == StateKey("", check.limits[i])) {
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

absl::StatusOr<CheckResult> RateLimiter::Check(const CheckSpec& check) {
  HP_ASSIGN_OR_RETURN(BatchResult batch, CheckBatch({check}, /*all_or_nothing=*/true));
  return std::move(batch.results.front());
}

absl::StatusOr<BatchResult> RateLimiter::CheckBatch(const std::vector<CheckSpec>& checks,
                                                    bool all_or_nothing) {
  if (!all_or_nothing && checks.size() > 1) {
    BatchResult batch;
    for (const CheckSpec& check : checks) {
      HP_ASSIGN_OR_RETURN(BatchResult one, CheckBatch({check}, true));
      batch.results.push_back(std::move(one.results.front()));
    }
    return batch;
  }
  // One atomic step over the distinct state keys of every check.
  std::vector<KeyRef> keys;
  std::vector<std::string> names;
  std::vector<std::vector<size_t>> slots(checks.size());
  absl::flat_hash_map<std::pair<std::string, std::string>, size_t> index;
  names.reserve(checks.size() * kMaxLimitsPerCheck);
  for (size_t c = 0; c < checks.size(); ++c) {
    for (const Limit& limit : checks[c].limits) {
      std::string name = StateKey(checks[c].key, limit);
      auto [it, inserted] = index.try_emplace(std::make_pair(checks[c].ns, name), names.size());
      if (inserted) names.push_back(std::move(name));
      slots[c].push_back(it->second);
    }
  }
  std::vector<std::string_view> namespaces(names.size());
  for (const auto& [id, slot] : index) namespaces[slot] = id.first;
  for (size_t i = 0; i < names.size(); ++i) keys.push_back(KeyRef{namespaces[i], names[i]});
  return keyspace_->UpdateLimiters(
      keys,
      [&](const std::vector<const LimiterState*>& current, int64_t now_ns,
          std::vector<Keyspace::LimiterWrite>* writes) {
        std::vector<std::optional<LimiterState>> states(current.size());
        for (size_t i = 0; i < current.size(); ++i) {
          if (current[i] != nullptr) states[i] = *current[i];
        }
        BatchResult batch = Evaluate(checks, slots, states, *writes, now_ns);
        const bool every_allowed =
            std::all_of(batch.results.begin(), batch.results.end(),
                        [](const CheckResult& r) { return r.outcome == Outcome::kAllowed; });
        if (!every_allowed && checks.size() > 1) {
          batch.consumed = false;
          for (auto& write : *writes) write.store = false;
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
