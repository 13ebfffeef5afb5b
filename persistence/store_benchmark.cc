// Restart and rewrite cost on real files: a data directory holding a 1M-member sorted set and
// 200K sessions (4-field hashes with a TTL), the data tools/bench/restart_vs_redis.py loads
// into Redis for the same measurement.
// BM_StreamShardWriteStallDuringRewrite uses its own directory with one large stream.
//   build/release/persistence/store_benchmark
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "engine/keyspace.h"
#include "persistence/file_system.h"
#include "persistence/store.h"

namespace hotpath {
namespace {

constexpr int kMembers = 1'000'000;
constexpr int kSessions = 200'000;
constexpr int kStreamEntries = 100'000;

std::string TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hotpath-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

std::unique_ptr<Store> OpenStore(const std::string& dir) {
  return Store::Open(PosixFileSystem(), {.dir = dir,
                                         .shards = 16,
                                         .writer = {.fsync = FsyncPolicy::kNo},
                                         .rewrite_growth_percent = 0})
      .value();
}

// A store on `dir` and the keyspace it recovered (the keyspace goes first: the store is its
// sink).
struct Opened {
  std::unique_ptr<Store> store;
  std::unique_ptr<Keyspace> keyspace;
};

Opened OpenAndRecover(const std::string& dir) {
  Opened opened{.store = OpenStore(dir)};
  opened.keyspace =
      Keyspace::Create({.shards = 16}, SystemClock::Get(), opened.store.get()).value();
  if (!opened.store->Recover(opened.keyspace.get()).ok()) std::abort();
  return opened;
}

void Fill(Keyspace& keyspace) {
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  for (int64_t i = 0; i < kMembers; ++i) {
    (void)keyspace.ZsetUpsert({.key = "board"}, board, absl::StrCat("player:", i),
                              i * 7919 % 1'000'000, static_cast<uint64_t>(i));
  }
  const absl::Time expiry = absl::Now() + absl::Hours(1);
  for (int i = 0; i < kSessions; ++i) {
    const std::string name = absl::StrCat("session:", i);
    const KeyRef key{.key = name};  // a view: `name` outlives it
    (void)keyspace.HashSet(key, "user_id", absl::StrCat("u-", i));
    (void)keyspace.HashSet(key, "created", "1732540000");
    (void)keyspace.HashSet(key, "ip", "203.0.113.7");
    (void)keyspace.HashSet(key, "agent", "Mozilla/5.0 (X11; Linux x86_64)");
    (void)keyspace.SetDeadline(key, expiry);
  }
}

absl::Status RewriteNow(Store& store) {
  absl::Notification done;
  absl::Status result;
  store.RequestRewrite([&](absl::Status status) {
    result = status;
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// A temporary directory, removed at exit; with `fill`, filled and rewritten into a base (the
// one DataDir shares).
struct BenchDir {
  explicit BenchDir(bool fill = true) : path(TempDir()) {
    if (!fill) return;
    Opened opened = OpenAndRecover(path);
    Fill(*opened.keyspace);
    if (!RewriteNow(*opened.store).ok() || !opened.store->Close().ok()) std::abort();
  }
  ~BenchDir() { std::filesystem::remove_all(path); }
  const std::string path;
};

const std::string& DataDir() {
  static const BenchDir dir;
  return dir.path;
}

// Open + recover, as hotpathd's start does: the base is loaded shard sections in parallel.
void BM_RestartFromBase(benchmark::State& state) {
  const std::string& dir = DataDir();
  DirectoryRecoveryStats stats;
  for (auto _ : state) {
    auto store = OpenStore(dir);
    auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get(), store.get()).value();
    stats = store->Recover(keyspace.get()).value();
    state.PauseTiming();  // tearing down a keyspace is not part of a start
    (void)store->Close();
    keyspace.reset();
    state.ResumeTiming();
  }
  state.counters["keys"] = static_cast<double>(stats.base.keys);
  state.counters["base_bytes"] = static_cast<double>(stats.base.bytes);
}
BENCHMARK(BM_RestartFromBase)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// A rewrite of the same data: a new segment, the base from all shards, the manifest swap.
void BM_Rewrite(benchmark::State& state) {
  const std::string& dir = DataDir();
  Opened opened = OpenAndRecover(dir);
  for (auto _ : state) {
    if (!RewriteNow(*opened.store).ok()) std::abort();
  }
  state.counters["base_bytes"] = static_cast<double>(opened.store->stats().base_bytes);
  (void)opened.store->Close();
}
BENCHMARK(BM_Rewrite)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

struct Stall {
  absl::Duration longest;
  uint64_t writes = 0;
};

// Runs write(n) for n = 0, 1, ... while a rewrite of `store` runs; keeps the longest one.
template <typename Write>
void WriteDuringRewrite(Store& store, Stall& stall, Write write) {
  absl::Notification done;
  store.RequestRewrite([&](absl::Status status) {
    if (!status.ok()) std::abort();
    done.Notify();
  });
  while (!done.HasBeenNotified()) {
    const absl::Time start = absl::Now();
    write(stall.writes);
    stall.longest = std::max(stall.longest, absl::Now() - start);
    ++stall.writes;
  }
}

void ReportStall(benchmark::State& state, const Stall& stall) {
  state.counters["longest_write_ms"] = absl::ToDoubleMilliseconds(stall.longest);
  state.counters["writes"] = static_cast<double>(stall.writes);
}

// The longest one write to the 1M-member board waits while a rewrite of the same data runs: the
// snapshot holds each shard's lock while it takes that shard's image, so this is the stall a
// rewrite puts on the board's writers.
void BM_BoardWriteStallDuringRewrite(benchmark::State& state) {
  const std::string& dir = DataDir();
  Opened opened = OpenAndRecover(dir);
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  Stall stall;
  for (auto _ : state) {
    WriteDuringRewrite(*opened.store, stall, [&](uint64_t n) {
      if (!opened.keyspace
               ->ZsetUpsert({.key = "board"}, board, absl::StrCat("player:", n % kMembers),
                            static_cast<int64_t>(n), n)
               .ok()) {
        std::abort();
      }
    });
  }
  ReportStall(state, stall);
  (void)opened.store->Close();
}
BENCHMARK(BM_BoardWriteStallDuringRewrite)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

// The same for the writers of a shard that holds a 100,000-entry stream shaped like the session
// events (three short fields): streams are still encoded under the shard's lock, so this is the
// stall a rewrite puts on every key of that shard.
void BM_StreamShardWriteStallDuringRewrite(benchmark::State& state) {
  const BenchDir dir(/*fill=*/false);
  Opened opened = OpenAndRecover(dir.path);
  for (int i = 0; i < kStreamEntries; ++i) {
    if (!opened.keyspace
             ->StreamAppend({.key = "{events}stream"}, std::nullopt,
                            StreamFields{{"event", "created"},
                                         {"session_id", absl::StrCat("AAAAAAAAAAAAAAAA", i)},
                                         {"user_id", absl::StrCat("user:", i)}})
             .ok()) {
      std::abort();
    }
  }
  Stall stall;
  for (auto _ : state) {
    WriteDuringRewrite(*opened.store, stall, [&](uint64_t n) {
      if (!opened.keyspace->Set({.key = "{events}other"}, absl::StrCat(n)).ok()) std::abort();
    });
  }
  ReportStall(state, stall);
  (void)opened.store->Close();
}
BENCHMARK(BM_StreamShardWriteStallDuringRewrite)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace
}  // namespace hotpath
