// Hash speed and memory: a 4-field session hash (compact) and a 1000-field hash (table), and
// the keyspace's bytes per session key with a TTL.
//   build/release/engine/hash_benchmark
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/hash/hash.h"
#include "engine/keyspace.h"

namespace hotpath {
namespace {

void FillSession(Hash& hash) {
  hash.Set("user_id", "u-12345");
  hash.Set("created", "1732540000");
  hash.Set("ip", "203.0.113.7");
  hash.Set("agent", "Mozilla/5.0 (X11; Linux x86_64)");
}

void BM_SessionHashGet(benchmark::State& state) {
  Hash hash;
  FillSession(hash);
  for (auto _ : state) benchmark::DoNotOptimize(hash.Get("agent"));
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_hash"] = sizeof(Hash) + hash.HeapBytes();
}
BENCHMARK(BM_SessionHashGet);

void BM_SessionHashSet(benchmark::State& state) {
  Hash hash;
  FillSession(hash);
  int i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(hash.Set("ip", (++i & 1) ? "10.0.0.1" : "10.0.0.2"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionHashSet);

void BM_LargeHashGetSet(benchmark::State& state) {
  Hash hash;
  std::vector<std::string> fields;
  for (int i = 0; i < 1000; ++i) {
    fields.push_back(absl::StrCat("field:", i));
    hash.Set(fields.back(), "value");
  }
  size_t i = 0;
  for (auto _ : state) {
    const std::string& field = fields[i++ % fields.size()];
    hash.Set(field, "other");
    benchmark::DoNotOptimize(hash.Get(field));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_field"] = static_cast<double>(hash.HeapBytes()) / fields.size();
}
BENCHMARK(BM_LargeHashGetSet);

// What Redis's session yardstick measures: a key holding a 4-field hash with a TTL.
void BM_KeyspaceBytesPerSession(benchmark::State& state) {
  for (auto _ : state) {
    auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get()).value();
    constexpr int kSessions = 100'000;
    const absl::Time deadline = absl::Now() + absl::Hours(1);
    for (int i = 0; i < kSessions; ++i) {
      const std::string key = absl::StrCat("session:", i);
      (void)keyspace->HashSet({.key = key}, "user_id", absl::StrCat("u-", i));
      (void)keyspace->HashSet({.key = key}, "created", "1732540000");
      (void)keyspace->HashSet({.key = key}, "ip", "203.0.113.7");
      (void)keyspace->HashSet({.key = key}, "agent", "Mozilla/5.0 (X11; Linux x86_64)");
      (void)keyspace->SetDeadline({.key = key}, deadline);
    }
    state.counters["bytes_per_session"] =
        static_cast<double>(keyspace->Stats().memory_bytes) / kSessions;
  }
}
BENCHMARK(BM_KeyspaceBytesPerSession)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hotpath
