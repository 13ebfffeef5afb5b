// Sorted-set speed and memory at 10k and 1M members named "player:N" with random scores.
//   build/release/engine/sorted_set_benchmark            (make bench-engine runs every engine one)
// bytes_per_member counts everything the set holds (SortedSet::MemoryBytes).
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/zset/sorted_set.h"

namespace hotpath {
namespace {

std::vector<std::string> Names(int64_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (int64_t i = 0; i < n; ++i) names.push_back(absl::StrCat("player:", i));
  return names;
}

// One leaderboard per size, built once and shared by the read benchmarks.
const SortedSet& Board(int64_t n) {
  static auto* boards = new std::map<int64_t, std::unique_ptr<SortedSet>>();
  auto& board = (*boards)[n];
  if (board == nullptr) {
    board = std::make_unique<SortedSet>(SortedSetOptions{.score_order = ScoreOrder::kDescending});
    std::mt19937_64 rng(1);
    const auto names = Names(n);
    for (int64_t i = 0; i < n; ++i) (void)board->Upsert(names[i], rng() % 1'000'000, i);
  }
  return *board;
}

void BM_Insert(benchmark::State& state) {
  const auto names = Names(state.range(0));
  for (auto _ : state) {
    SortedSet set({.score_order = ScoreOrder::kDescending});
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < names.size(); ++i) (void)set.Upsert(names[i], rng() % 1'000'000, i);
    state.counters["bytes_per_member"] = static_cast<double>(set.MemoryBytes()) / names.size();
  }
  state.SetItemsProcessed(state.iterations() * names.size());
}
BENCHMARK(BM_Insert)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// What a snapshot does to a large set under its shard's lock: it takes an image
// (SortedSet::TakeImage) and encodes that after the lock is released (persistence/snapshot.cc).
void BM_TakeImage(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(board.TakeImage());
  state.SetItemsProcessed(state.iterations() * board.size());
}
BENCHMARK(BM_TakeImage)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Visiting every member in order, as encoding one does.
void BM_ForEach(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  for (auto _ : state) {
    size_t bytes = 0;
    board.ForEach([&](const ScoredMember& member) { bytes += member.member.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * board.size());
}
BENCHMARK(BM_ForEach)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_UpdateScore(benchmark::State& state) {
  SortedSet set({.score_order = ScoreOrder::kDescending});
  const auto names = Names(state.range(0));
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < names.size(); ++i) (void)set.Upsert(names[i], rng() % 1'000'000, i);
  uint64_t sequence = names.size();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        set.Upsert(names[rng() % names.size()], rng() % 1'000'000, ++sequence));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UpdateScore)->Arg(10'000)->Arg(1'000'000);

void BM_Rank(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  const auto names = Names(state.range(0));
  std::mt19937_64 rng(2);
  for (auto _ : state) benchmark::DoNotOptimize(board.Rank(names[rng() % names.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Rank)->Arg(10'000)->Arg(1'000'000);

void BM_Top10(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(board.RangeByRank(0, 10));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Top10)->Arg(10'000)->Arg(1'000'000);

// A member's rank and the five above and below it.
void BM_AroundMember(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  const auto names = Names(state.range(0));
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    const uint64_t rank = *board.Rank(names[rng() % names.size()]);
    benchmark::DoNotOptimize(board.RangeByRank(rank < 5 ? 0 : rank - 5, 11));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AroundMember)->Arg(10'000)->Arg(1'000'000);

void BM_CountInScoreRange(benchmark::State& state) {
  const SortedSet& board = Board(state.range(0));
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    const int64_t low = rng() % 1'000'000;
    benchmark::DoNotOptimize(board.CountInRange(low, low + 10'000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CountInScoreRange)->Arg(10'000)->Arg(1'000'000);

// The memory yardstick: 1M members "player:N" with integer scores (Redis: ~109 B).
void BM_MemoryPerMember(benchmark::State& state) {
  for (auto _ : state) {
    state.counters["bytes_per_member"] =
        static_cast<double>(Board(1'000'000).MemoryBytes()) / 1'000'000;
  }
}
BENCHMARK(BM_MemoryPerMember)->Iterations(1);

}  // namespace
}  // namespace hotpath
