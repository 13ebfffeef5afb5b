// In-process limiter checks: the algorithm alone, a whole check through the keyspace (route,
// shard lock, lookup, decide, store with a deferred record), and a check and a batch of 100
// through the RateLimiter.
//   build/release/services/ratelimit/limiter_benchmark
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/keyspace.h"
#include "services/ratelimit/limiter.h"
#include "services/ratelimit/rate_limiter.h"

namespace hotpath::ratelimit {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// The keys the keyspace benchmarks pick from (100K unless given), made before timing starts.
std::vector<std::string> Keys(int64_t count = 100'000) {
  std::vector<std::string> keys;
  for (int64_t i = 0; i < count; ++i) keys.push_back(absl::StrCat("user:", i, ":api"));
  return keys;
}

// A random key of `keys`, advancing the xorshift state `x` (cheap next to what is measured).
const std::string& RandomKey(const std::vector<std::string>& keys, uint64_t& x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return keys[x % keys.size()];
}

void BM_Decide(benchmark::State& state) {
  const Limit limit{.algorithm = static_cast<Algorithm>(state.range(0)),
                    .limit = 1'000'000,
                    .period_ns = kSecond,
                    .burst = 1'000'000};
  LimiterState stored;
  int64_t now = int64_t{1'700'000'000} * kSecond;
  for (auto _ : state) {
    StateWrite write;
    benchmark::DoNotOptimize(Decide(limit, &stored, now, 1, &write));
    if (write.store) stored = write.state;
    now += 1'000;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(AlgorithmName(limit.algorithm)));
}
BENCHMARK(BM_Decide)->DenseRange(1, 4);

// 100K keys, a check on a random one each time, as a rate-limit service does.
void BM_KeyspaceCheck(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  const std::vector<std::string> keys = Keys();
  const Limit limit{.algorithm = static_cast<Algorithm>(state.range(0)),
                    .limit = 1'000'000,
                    .period_ns = kSecond};
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    auto decided = keyspace->UpdateLimiter(
        {.key = RandomKey(keys, x)},
        [&](const LimiterState* current, int64_t now_ns, Keyspace::LimiterWrite* write) {
          StateWrite next;
          const Decision d = Decide(limit, current, now_ns, 1, &next);
          *write = {.store = next.store, .state = next.state, .deadline_ns = next.deadline_ns};
          return d.allowed;
        },
        /*defer_record=*/true);
    benchmark::DoNotOptimize(decided);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(AlgorithmName(limit.algorithm)));
}
BENCHMARK(BM_KeyspaceCheck)->DenseRange(1, 4);

// RateLimiter::Check of one token-bucket limit on a random one of N keys: what a unary Check
// call does inside the server (state key, route, lock, lookup, decide, store). 1K keys stay
// in the cache; 100K do not.
void BM_Check(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  RateLimiter limiter(keyspace.get());
  const std::vector<std::string> keys = Keys(state.range(0));
  CheckSpec check{.limits = {Limit{.algorithm = Algorithm::kTokenBucket,
                                   .limit = 1'000'000,
                                   .period_ns = kSecond,
                                   .burst = 1'000'000}}};
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    check.key = RandomKey(keys, x);
    benchmark::DoNotOptimize(limiter.Check(check));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Check)->Arg(1'000)->Arg(100'000);

// RateLimiter::CheckBatch of 100 token-bucket checks on random keys of N, as one CheckBatch
// call of the ratelimit --batch=100 workload makes them (without the RPC around it).
void BM_CheckBatch100(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  RateLimiter limiter(keyspace.get());
  const std::vector<std::string> keys = Keys(state.range(0));
  const Limit limit{.algorithm = Algorithm::kTokenBucket,
                    .limit = 1'000'000,
                    .period_ns = kSecond,
                    .burst = 1'000'000};
  std::vector<CheckSpec> checks(100);
  for (CheckSpec& check : checks) check.limits = {limit};
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    for (CheckSpec& check : checks) check.key = RandomKey(keys, x);
    benchmark::DoNotOptimize(limiter.CheckBatch(checks, /*all_or_nothing=*/false));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(checks.size()));
}
BENCHMARK(BM_CheckBatch100)->Arg(1'000)->Arg(100'000);

}  // namespace
}  // namespace hotpath::ratelimit
