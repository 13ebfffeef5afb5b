// SessionStore in-process: the engine side of SessionService/Create and Get, with each mutation
// encoded into a log record as the server's log does and session events queued (their thread
// appends them to the events stream meanwhile), but no file and no gRPC. Sessions are created
// for users drawn uniformly from 100k, as the load tool's session-create does. The events
// thread runs on another core meanwhile (on a 2-core machine, a source of noise).
//   build/release/services/session/session_store_benchmark
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/common/clock.h"
#include "engine/keyspace.h"
#include "persistence/testing/encoding_sink.h"
#include "services/session/session_events.h"
#include "services/session/session_store.h"

namespace hotpath::session {
namespace {

constexpr char kNs[] = "default";
constexpr uint64_t kUsers = 100'000;

NewSession SessionOf(uint64_t user) {
  NewSession session;
  session.user_id = absl::StrCat("user:", user);
  session.device.set_ip(absl::StrCat("198.51.", user / 250 % 250, ".", user % 250));
  session.device.set_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0");
  session.idle_timeout = absl::Minutes(30);
  return session;
}

struct Fixture {
  Fixture() : events(SessionEventsOptions{}) {
    keyspace = Keyspace::Create({}, SystemClock::Get(), &sink, &events).value();
    events.Start(keyspace.get());
    store = std::make_unique<SessionStore>(keyspace.get(), SessionLimits{}, &events);
  }
  ~Fixture() { events.Stop(); }

  EncodingSink sink;
  SessionEvents events;
  std::unique_ptr<Keyspace> keyspace;
  std::unique_ptr<SessionStore> store;
};

void BM_Create(benchmark::State& state) {
  Fixture fixture;
  std::mt19937_64 rng(1);
  auto create = [&] { return fixture.store->Create(kNs, SessionOf(rng() % kUsers)); };
  if (!create().ok()) state.SkipWithError("Create failed");
  for (auto _ : state) benchmark::DoNotOptimize(create());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Create);

// 100k sessions, created once: Google Benchmark calls a benchmark several times.
struct Sessions {
  Sessions() {
    for (uint64_t user = 0; user < kUsers; ++user) {
      absl::StatusOr<CreatedSession> created = fixture.store->Create(kNs, SessionOf(user));
      if (!created.ok()) std::abort();
      tokens.push_back(created->token);
    }
  }
  Fixture fixture;
  std::vector<std::string> tokens;
};

void BM_GetTouching(benchmark::State& state) {
  static auto* sessions = new Sessions();
  std::mt19937_64 rng(2);
  auto get = [&] {
    return sessions->fixture.store->Get(kNs, sessions->tokens[rng() % sessions->tokens.size()],
                                        true);
  };
  if (!get().ok()) state.SkipWithError("Get failed");
  for (auto _ : state) benchmark::DoNotOptimize(get());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetTouching);

}  // namespace
}  // namespace hotpath::session
