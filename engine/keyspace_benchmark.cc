// Keyspace throughput and memory per key.
//   build/engine/keyspace_benchmark --benchmark_counters_tabular=true
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/keyspace.h"

namespace hotpath {
namespace {

std::vector<std::string> MakeKeys(int n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) keys.push_back(absl::StrCat("user:", i));
  return keys;
}

void BM_Set(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  const auto keys = MakeKeys(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(keyspace->Set({.key = keys[i++ % keys.size()]}, "value"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Set)->Arg(1 << 10)->Arg(1 << 20);

void BM_Get(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  const auto keys = MakeKeys(static_cast<int>(state.range(0)));
  for (const auto& key : keys) (void)keyspace->Set({.key = key}, "value");
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(keyspace->Get({.key = keys[i++ % keys.size()]}));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Get)->Arg(1 << 10)->Arg(1 << 20);

void BM_IncrementByWithDeadline(benchmark::State& state) {
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
  const auto keys = MakeKeys(1 << 16);
  const absl::Time deadline = absl::Now() + absl::Hours(1);
  for (const auto& key : keys) {
    (void)keyspace->IncrementBy({.key = key}, 1);
    (void)keyspace->SetDeadline({.key = key}, deadline);
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(keyspace->IncrementBy({.key = keys[i++ % keys.size()]}, 1));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IncrementByWithDeadline);

// Accounted bytes per key for 1M short string keys with TTLs (what a rate-limit counter costs).
void BM_MemoryPerKeyWithDeadline(benchmark::State& state) {
  for (auto _ : state) {
    auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
    const auto keys = MakeKeys(1'000'000);
    const absl::Time deadline = absl::Now() + absl::Hours(1);
    for (const auto& key : keys) (void)keyspace->Set({.key = key}, "1", {.deadline = deadline});
    state.counters["bytes_per_key"] =
        static_cast<double>(keyspace->Stats().memory_bytes) / keys.size();
  }
}
BENCHMARK(BM_MemoryPerKeyWithDeadline)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hotpath
