// Fuzzes the session request handling below gRPC: sequences of creates (any user, attributes,
// device, timeouts), gets, compare-and-set updates, rotations, revocations, per-user lists and
// revocations, clock steps and expiry sweeps, on the SessionStore that SessionService runs
// every request on. Bad input must come back as a Status; a user's list must hold only that
// user's live sessions, never more than the per-user cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/session/session_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace session = hotpath::session;
using hotpath::fuzz::Pick;

constexpr size_t kCap = 3;

void AddPairs(FuzzedDataProvider& in, google::protobuf::Map<std::string, std::string>* map) {
  for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) {
    (*map)[in.ConsumeRandomLengthString(12)] = in.ConsumeRandomLengthString(24);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  session::SessionLimits limits;
  limits.max_sessions_per_user = kCap;
  limits.evict_oldest = in.ConsumeBool();
  session::SessionStore sessions(keyspace.get(), limits);
  static const char* const kUsers[] = {"alice", "bob"};
  const std::string ns = "default";
  std::vector<std::string> tokens;  // handed out, for the calls that take one

  const auto token = [&]() -> std::string {
    if (tokens.empty() || in.ConsumeBool()) return in.ConsumeRandomLengthString(48);
    return tokens[in.ConsumeIntegralInRange<size_t>(0, tokens.size() - 1)];
  };
  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
      case 0: {
        session::NewSession fresh;
        fresh.user_id = Pick(in, kUsers);
        AddPairs(in, &fresh.attributes);
        fresh.device.set_ip(in.ConsumeRandomLengthString(20));
        fresh.device.set_user_agent(in.ConsumeRandomLengthString(40));
        AddPairs(in, fresh.device.mutable_labels());
        if (in.ConsumeBool()) {
          fresh.idle_timeout = absl::Milliseconds(in.ConsumeIntegral<int64_t>() % 10'000'000'000);
        }
        if (in.ConsumeBool()) {
          fresh.absolute_lifetime =
              absl::Milliseconds(in.ConsumeIntegral<int64_t>() % 100'000'000'000);
        }
        auto created = sessions.Create(ns, fresh);
        if (created.ok()) tokens.push_back(created->token);
        break;
      }
      case 1:
        sessions.Get(ns, token(), in.ConsumeBool()).IgnoreError();
        break;
      case 2: {
        session::AttributeChanges changes;
        AddPairs(in, &changes.set);
        for (int i = in.ConsumeIntegralInRange<int>(0, 2); i > 0; --i) {
          changes.remove.push_back(in.ConsumeRandomLengthString(12));
        }
        if (in.ConsumeBool()) changes.expected_version = in.ConsumeIntegralInRange<uint64_t>(0, 4);
        sessions.Update(ns, token(), changes).IgnoreError();
        break;
      }
      case 3: {
        auto rotated = sessions.Rotate(ns, token());
        if (rotated.ok()) tokens.push_back(rotated->token);
        break;
      }
      case 4:
        sessions.Revoke(ns, token()).IgnoreError();
        break;
      case 5:
        sessions.RevokeUser(ns, Pick(in, kUsers), in.ConsumeBool() ? token() : "").IgnoreError();
        break;
      case 6: {
        const std::string user = Pick(in, kUsers);
        auto listed = sessions.List(ns, user);
        if (!listed.ok()) break;
        FUZZ_ASSERT_TRUE(listed->size() <= kCap);
        for (const auto& one : *listed) FUZZ_ASSERT_TRUE(one.user_id() == user);
        break;
      }
      case 7:
        clock.Advance(absl::Milliseconds(in.ConsumeIntegralInRange<int64_t>(0, 100'000'000)));
        break;
      case 8:
        keyspace->SweepExpired(64);
        break;
    }
  }
  return 0;
}
