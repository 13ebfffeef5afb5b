// Test helper: a random mix of every keyspace operation (strings with deadlines, counters,
// hashes, sorted sets, limiter state, streams with trimming, groups, claims, consumer
// deletion, expiry), for tests that persistence and replay reproduce any state exactly.
#pragma once

#include <optional>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/common/clock.h"
#include "engine/keyspace.h"

namespace hotpath {

// Runs `steps` random operations against `primary`, advancing `clock` now and then. Errors
// (wrong types, missing groups) are part of the mix and ignored.
inline void RunRandomWorkload(Keyspace* primary, FakeClock& clock, std::mt19937_64& rng,
                              int steps) {
  auto key = [&](const char* kind) { return absl::StrCat(kind, rng() % 12); };
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  uint64_t sequence = 0;
  for (int i = 0; i < steps; ++i) {
    const KeyRef k{.ns = i % 3 == 0 ? "a" : "b", .key = ""};
    std::string name;
    switch (rng() % 16) {
      case 0:
        name = key("s");
        (void)primary->Set(
            {k.ns, name}, absl::StrCat("v", i),
            {.deadline = rng() % 2 ? std::optional(clock.Now() + absl::Seconds(1 + rng() % 30))
                                   : std::nullopt});
        break;
      case 1:
        name = key("n");
        (void)primary->IncrementBy({k.ns, name}, static_cast<int64_t>(rng() % 10) - 3);
        break;
      case 2:
        name = key(rng() % 2 ? "s" : "h");
        (void)primary->Delete({k.ns, name});
        break;
      case 3:
        name = key("s");
        (void)primary->SetDeadline({k.ns, name}, clock.Now() + absl::Seconds(rng() % 20));
        break;
      case 4:
      case 5:
        name = key("h");
        (void)primary->HashSet({k.ns, name}, absl::StrCat("f", rng() % 6), absl::StrCat(i));
        break;
      case 6:
        name = key("h");
        (void)primary->HashDelete({k.ns, name}, absl::StrCat("f", rng() % 6));
        break;
      case 7:
      case 8:
        name = key("z");
        (void)primary->ZsetUpsert({k.ns, name}, board, absl::StrCat("m", rng() % 40),
                                  static_cast<int64_t>(rng() % 100), ++sequence);
        break;
      case 9:
        name = key("z");
        (void)primary->ZsetRemove({k.ns, name}, absl::StrCat("m", rng() % 40));
        break;
      case 10:
        name = key("l");
        (void)primary->UpdateLimiter(
            {k.ns, name}, [&](const LimiterState* state, int64_t now, Keyspace::LimiterWrite* w) {
              LimiterState next = state ? *state : LimiterState{.algorithm = 2};
              ++next.slots[1];
              *w = {.store = true, .state = next, .deadline_ns = now + 5'000'000'000};
              return 0;
            });
        break;
      case 11:
      case 12:
        name = key("x");
        (void)primary->StreamAppend(
            {k.ns, name}, std::nullopt, {{"i", absl::StrCat(i)}},
            rng() % 4 == 0
                ? StreamTrimPolicy{.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = 20}
                : StreamTrimPolicy{});
        break;
      case 13:
        name = key("x");
        (void)primary->StreamCreateGroup({k.ns, name}, absl::StrCat("g", rng() % 2), kMinStreamId,
                                         true);
        (void)primary->StreamReadGroup({k.ns, name}, absl::StrCat("g", rng() % 2),
                                       absl::StrCat("c", rng() % 3), 1 + rng() % 5);
        break;
      case 14: {
        name = key("x");
        const std::string group = absl::StrCat("g", rng() % 2);
        auto pending = primary->StreamRead({k.ns, name}, [&](const Stream& s) {
          return s.PendingDetail(group, kMinStreamId, kMaxStreamId, 3, "", 0, 0);
        });
        if (pending.ok() && pending->ok() && !(*pending)->empty()) {
          (void)primary->StreamAck({k.ns, name}, group, {(*pending)->front().id});
        }
        (void)primary->StreamAutoClaim({k.ns, name}, group, absl::StrCat("c", rng() % 3), 1'000,
                                       kMinStreamId, 2);
        if (rng() % 8 == 0) (void)primary->StreamDeleteConsumer({k.ns, name}, group, "c0");
        break;
      }
      default:
        clock.Advance(absl::Milliseconds(rng() % 3'000));
        (void)primary->SweepExpired(4);
        (void)primary->Get({k.ns, key("s")});  // lazy expiry
        break;
    }
  }
}

}  // namespace hotpath
