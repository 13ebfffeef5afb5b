#include "services/ratelimit/limiter.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"

namespace hotpath::ratelimit {
namespace {

// Products of nanosecond spans and counts exceed 64 bits; every intermediate is 128-bit.
using Wide = __int128;

int64_t Narrow(Wide v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// a / b for b > 0, truncating as Wide's own division does. Both nearly always fit 64 bits,
// and a 128-bit division is a library call several times slower than the 64-bit one.
Wide Div(Wide a, Wide b) {
  if (a >= 0 && (a >> 64) == 0 && (b >> 64) == 0) {
    return static_cast<uint64_t>(a) / static_cast<uint64_t>(b);
  }
  return a / b;
}

Wide CeilDiv(Wide a, Wide b) { return a <= 0 ? Div(a, b) : Div(a + b - 1, b); }

constexpr int64_t kDeadlineGrainNs = 1'000'000'000;

// When a stored state may go: never before it equals a fresh one (`fresh_ns`), and not before
// kKeepIdleNs after `now_ns` either, rounded up to a whole second (see Decide).
int64_t KeepUntil(int64_t fresh_ns, int64_t now_ns) {
  const Wide until = std::max<Wide>(fresh_ns, Wide{now_ns} + kKeepIdleNs);
  return Narrow(CeilDiv(until, kDeadlineGrainNs) * kDeadlineGrainNs);
}

// The start of the epoch-aligned window holding `now`.
int64_t WindowStart(int64_t now_ns, int64_t period_ns) {
  int64_t offset = now_ns % period_ns;
  if (offset < 0) offset += period_ns;
  return now_ns - offset;
}

bool Mine(const LimiterState* state, Algorithm algorithm) {
  return state != nullptr && state->algorithm == static_cast<uint8_t>(algorithm);
}

// Token bucket: slots = {tokens in billionths, last refill ns, -}.
Decision TokenBucket(const Limit& l, const LimiterState* state, int64_t now, int64_t cost,
                     StateWrite* write) {
  constexpr Wide kScale = 1'000'000'000;
  const int64_t capacity = l.capacity();
  const Wide full = Wide{capacity} * kScale;
  // Tokens are a function of time since a base: (base_time, base_tokens), the stored refill
  // point, or now with a full bucket. Hints are computed from the base, with the same
  // rounding as the refill, so that they are exact.
  // A clock that reads earlier than the stored refill point (stepped back, or read by a
  // thread that then waited for the lock) takes the stored time: the refill point never
  // moves backwards, so no time is credited twice.
  if (Mine(state, Algorithm::kTokenBucket)) now = std::max(now, state->slots[1]);
  Wide base_time = now;
  Wide base_tokens = full;
  Wide tokens = full;
  if (Mine(state, Algorithm::kTokenBucket)) {
    const Wide elapsed = std::max<Wide>(0, Wide{now} - state->slots[1]);
    const Wide refilled = Wide{state->slots[0]} + Div(elapsed * l.limit * kScale, l.period_ns);
    if (refilled < full) {
      base_time = std::min<Wide>(state->slots[1], now);
      base_tokens = state->slots[0];
      tokens = refilled;
    }
  }
  // Time from now until the bucket holds `amount` billionths, rounded up.
  auto time_for = [&](Wide amount) {
    if (amount <= tokens) return int64_t{0};
    return Narrow(base_time +
                  CeilDiv((amount - base_tokens) * l.period_ns, Wide{l.limit} * kScale) - now);
  };
  Decision d{.limit = capacity};
  const Wide need = Wide{cost} * kScale;
  bool consumed = false;
  if (cost > capacity) {
    d.impossible = true;
  } else if (tokens >= need) {
    d.allowed = true;
    if (cost > 0) {
      tokens -= need;
      base_time = now;
      base_tokens = tokens;
      consumed = true;
    }
  } else {
    d.retry_after_ns = time_for(need);
  }
  d.remaining = Narrow(Div(tokens, kScale));
  d.reset_after_ns = time_for(full);
  if (consumed) {
    *write = {.store = true,
              .state = {.algorithm = static_cast<uint8_t>(Algorithm::kTokenBucket),
                        .slots = {Narrow(tokens), now, 0}},
              .deadline_ns = now + d.reset_after_ns};
  }
  return d;
}

// GCRA: slots = {theoretical arrival time ns, its fraction in 1/limit ns, -}. A request of
// cost c moves the TAT by c emission intervals (period / limit, kept exactly as a whole and a
// fraction); it passes when the new TAT is at most `burst` intervals ahead of now. Times
// below are "scaled": nanoseconds times `limit`, so an interval is exactly `period`.
Decision Gcra(const Limit& l, const LimiterState* state, int64_t now, int64_t cost,
              StateWrite* write) {
  const int64_t capacity = l.capacity();
  const Wide span = Wide{capacity} * l.period_ns;  // burst intervals, scaled
  // How far the TAT is ahead of now, scaled (0 when it has passed).
  Wide ahead = 0;
  if (Mine(state, Algorithm::kGcra)) {
    ahead = std::max<Wide>(0, (Wide{state->slots[0]} - now) * l.limit + state->slots[1]);
  }
  auto fitting = [&](Wide at) { return Narrow(std::max<Wide>(0, Div(span - at, l.period_ns))); };
  auto until = [&](Wide scaled) { return Narrow(CeilDiv(scaled, l.limit)); };
  Decision d{.limit = capacity};
  const Wide after = ahead + Wide{cost} * l.period_ns;
  if (cost > capacity) {
    d.impossible = true;
  } else if (after <= span) {
    d.allowed = true;
    d.remaining = fitting(after);
    d.reset_after_ns = until(after);
    if (cost > 0) {
      *write = {.store = true,
                .state = {.algorithm = static_cast<uint8_t>(Algorithm::kGcra),
                          .slots = {Narrow(now + Div(after, l.limit)), Narrow(after % l.limit), 0}},
                .deadline_ns = now + d.reset_after_ns};
    }
    return d;
  } else {
    d.retry_after_ns = until(after - span);
  }
  d.remaining = fitting(ahead);
  d.reset_after_ns = until(ahead);
  return d;
}

// Fixed window: slots = {window start ns, count, -}.
Decision FixedWindow(const Limit& l, const LimiterState* state, int64_t now, int64_t cost,
                     StateWrite* write) {
  // A stored window later than now's (a clock stepped back) is still the current one.
  if (Mine(state, Algorithm::kFixedWindow)) now = std::max(now, state->slots[0]);
  const int64_t start = WindowStart(now, l.period_ns);
  const int64_t end = start + l.period_ns;
  int64_t count =
      Mine(state, Algorithm::kFixedWindow) && state->slots[0] == start ? state->slots[1] : 0;
  Decision d{.limit = l.limit};
  if (cost > l.limit) {
    d.impossible = true;
  } else if (count + cost <= l.limit) {
    d.allowed = true;
    count += cost;
    if (cost > 0) {
      *write = {.store = true,
                .state = {.algorithm = static_cast<uint8_t>(Algorithm::kFixedWindow),
                          .slots = {start, count, 0}},
                .deadline_ns = end};
    }
  } else {
    d.retry_after_ns = end - now;
  }
  d.remaining = l.limit - count;
  d.reset_after_ns = count > 0 ? end - now : 0;
  return d;
}

// Sliding window, two-window weighted counter: slots = {window start ns, this window's count,
// the previous window's count}.
Decision SlidingWindow(const Limit& l, const LimiterState* state, int64_t now, int64_t cost,
                       StateWrite* write) {
  const int64_t period = l.period_ns;
  if (Mine(state, Algorithm::kSlidingWindow)) now = std::max(now, state->slots[0]);
  const int64_t start = WindowStart(now, period);
  const int64_t elapsed = now - start;
  int64_t current = 0;
  int64_t previous = 0;
  if (Mine(state, Algorithm::kSlidingWindow)) {
    if (state->slots[0] == start) {
      current = state->slots[1];
      previous = state->slots[2];
    } else if (state->slots[0] == start - period) {
      previous = state->slots[1];
    }
  }
  // The previous window's share, rounded up so the estimate never undercounts it.
  auto estimate = [&](int64_t cur) {
    return Narrow(CeilDiv(Wide{previous} * (period - elapsed), period)) + cur;
  };
  Decision d{.limit = l.limit};
  if (cost > l.limit) {
    d.impossible = true;
  } else if (estimate(current) + cost <= l.limit) {
    d.allowed = true;
    current += cost;
    if (cost > 0) {
      *write = {.store = true,
                .state = {.algorithm = static_cast<uint8_t>(Algorithm::kSlidingWindow),
                          .slots = {start, current, previous}},
                .deadline_ns = start + 2 * period};
    }
  } else if (current + cost > l.limit) {
    // Only in the next window, once this window's count (then the previous one) has faded
    // enough: ceil(current * (period - e) / period) + cost <= limit.
    const Wide fade = period - Div(Wide{l.limit - cost} * period, current);
    d.retry_after_ns = Narrow(Wide{start} + period - now + std::max<Wide>(0, fade));
  } else {
    // Later in this window, once the previous window's share has faded enough.
    const Wide fade = period - elapsed - Div(Wide{l.limit - current - cost} * period, previous);
    d.retry_after_ns = Narrow(std::max<Wide>(1, fade));
  }
  d.remaining = std::max<int64_t>(0, l.limit - estimate(current));
  d.reset_after_ns = current > 0    ? start + 2 * period - now
                     : previous > 0 ? start + period - now
                                    : 0;
  return d;
}

}  // namespace

absl::StatusOr<Algorithm> ParseAlgorithm(std::string_view name) {
  if (name == "token_bucket") return Algorithm::kTokenBucket;
  if (name == "gcra") return Algorithm::kGcra;
  if (name == "fixed_window") return Algorithm::kFixedWindow;
  if (name == "sliding_window") return Algorithm::kSlidingWindow;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown algorithm \"", AbslView(name),
                   "\"; expected token_bucket, gcra, fixed_window or sliding_window"));
}

std::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kTokenBucket:
      return "token_bucket";
    case Algorithm::kGcra:
      return "gcra";
    case Algorithm::kFixedWindow:
      return "fixed_window";
    case Algorithm::kSlidingWindow:
      return "sliding_window";
  }
  return "unknown";
}

absl::Status ValidateLimit(const Limit& limit, std::string_view field_prefix) {
  const absl::string_view prefix = AbslView(field_prefix);
  switch (limit.algorithm) {
    case Algorithm::kTokenBucket:
    case Algorithm::kGcra:
    case Algorithm::kFixedWindow:
    case Algorithm::kSlidingWindow:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "algorithm ", static_cast<int>(limit.algorithm), " is not one hotpath has"));
  }
  if (limit.limit <= 0 || limit.limit > kMaxLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "limit must be between 1 and ", kMaxLimit, ", got ", limit.limit));
  }
  if (limit.period_ns <= 0 || limit.period_ns > kMaxPeriodNs) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "period must be positive and at most 366 days"));
  }
  const bool bucket =
      limit.algorithm == Algorithm::kTokenBucket || limit.algorithm == Algorithm::kGcra;
  if (!bucket && limit.burst != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "burst applies to token_bucket and gcra only, not ",
                     AbslView(AlgorithmName(limit.algorithm))));
  }
  if (limit.burst < 0 || limit.burst > kMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "burst must be between 0 (the limit) and ", kMaxLimit, ", got ", limit.burst));
  }
  if (Wide{limit.capacity()} * limit.period_ns / limit.limit > kMaxRefillNs) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "burst * period / limit (the time to refill) must be at most 100 years"));
  }
  return absl::OkStatus();
}

Decision Decide(const Limit& limit, const LimiterState* state, int64_t now_ns, int64_t cost,
                StateWrite* write) {
  Decision decision;
  switch (limit.algorithm) {
    case Algorithm::kTokenBucket:
      decision = TokenBucket(limit, state, now_ns, cost, write);
      break;
    case Algorithm::kGcra:
      decision = Gcra(limit, state, now_ns, cost, write);
      break;
    case Algorithm::kFixedWindow:
      decision = FixedWindow(limit, state, now_ns, cost, write);
      break;
    case Algorithm::kSlidingWindow:
      decision = SlidingWindow(limit, state, now_ns, cost, write);
      break;
  }
  // Keeping a state past the moment it equals a fresh one changes no decision, and pays:
  // - a key checked again within kKeepIdleNs is updated in place, not deleted and created
  //   again (an erase, an insert and their records, churn that also costs the engine's hash
  //   tables an occasional in-place rehash under the shard lock);
  // - rounded up to a whole second, the deadline of a busy key rarely moves, which spares the
  //   engine's expiry index an update on most checks.
  if (write->store) write->deadline_ns = KeepUntil(write->deadline_ns, now_ns);
  return decision;
}

Decision DecideLog(const Limit& limit, std::string_view log, int64_t now_ns, int64_t cost,
                   LogWrite* write) {
  // The log is little-endian int64 times, oldest first; a request of cost c adds c entries.
  std::vector<int64_t> times;
  times.reserve(log.size() / 8 + static_cast<size_t>(std::max<int64_t>(cost, 0)));
  for (size_t at = 0; at + 8 <= log.size(); at += 8) {
    uint64_t raw = 0;
    for (int i = 0; i < 8; ++i)
      raw |= static_cast<uint64_t>(static_cast<uint8_t>(log[at + i])) << (8 * i);
    times.push_back(static_cast<int64_t>(raw));
  }
  // A clock behind the newest entry (stepped back, or read before a wait) takes its time.
  if (!times.empty()) now_ns = std::max(now_ns, times.back());
  // Entries at or before now - period have left the window (now - period, now].
  const int64_t horizon = now_ns - limit.period_ns;
  times.erase(times.begin(), std::upper_bound(times.begin(), times.end(), horizon));
  const int64_t count = static_cast<int64_t>(times.size());

  Decision d{.limit = limit.limit};
  if (cost > limit.limit) {
    d.impossible = true;
  } else if (count + cost <= limit.limit) {
    d.allowed = true;
    if (cost > 0) {
      times.insert(times.end(), static_cast<size_t>(cost), now_ns);
      write->store = true;
      write->log.clear();
      for (int64_t t : times) {
        for (int i = 0; i < 8; ++i)
          write->log.push_back(static_cast<char>((static_cast<uint64_t>(t) >> (8 * i)) & 0xff));
      }
      write->deadline_ns = KeepUntil(Narrow(Wide{now_ns} + limit.period_ns), now_ns);
    }
  } else {
    // The oldest (count + cost - limit) entries must leave: the last of them at its time + period.
    d.retry_after_ns =
        times[static_cast<size_t>(count + cost - limit.limit - 1)] + limit.period_ns - now_ns;
  }
  d.remaining = limit.limit - static_cast<int64_t>(times.size());
  d.reset_after_ns = times.empty() ? 0 : times.back() + limit.period_ns - now_ns;
  return d;
}

}  // namespace hotpath::ratelimit
