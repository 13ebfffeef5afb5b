// BoardStore::Submit in-process: the engine side of a SubmitScore, with each mutation encoded
// into a log record as the server's log does (no file, no gRPC). Boards of 1k and 1M members
// named "player:N", scores as the load tool's leaderboard-submit sends them.
//   build/release/services/leaderboard/board_store_benchmark
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/common/clock.h"
#include "engine/keyspace.h"
#include "persistence/testing/encoding_sink.h"
#include "services/leaderboard/board_store.h"

namespace hotpath::leaderboard {
namespace {

constexpr char kNs[] = "default";
constexpr char kBoard[] = "bench";

int64_t ScoreOf(uint64_t key, uint64_t round) {
  return static_cast<int64_t>((key * 2654435761u + round * 40503u) % 1'000'000);
}

struct Fixture {
  explicit Fixture(uint64_t members) {
    keyspace = Keyspace::Create({}, SystemClock::Get(), &sink).value();
    store = std::make_unique<BoardStore>(keyspace.get(), BoardLimits{});
    if (!store->Start().ok()) std::abort();
    v1::BoardOptions options;
    options.set_operator_(v1::OPERATOR_SET);
    if (!store->CreateBoard(kNs, kBoard, options).ok()) std::abort();
    for (uint64_t first = 0; first < members; first += 1000) {
      google::protobuf::RepeatedPtrField<v1::Submission> batch;
      for (uint64_t key = first; key < std::min<uint64_t>(members, first + 1000); ++key) {
        v1::Submission* s = batch.Add();
        s->set_member(absl::StrCat("player:", key));
        s->set_score(ScoreOf(key, 0));
      }
      if (!store->Submit(kNs, kBoard, batch, "submissions").ok()) std::abort();
    }
  }

  EncodingSink sink;
  std::unique_ptr<Keyspace> keyspace;
  std::unique_ptr<BoardStore> store;
};

// One board per size, built once: Google Benchmark calls a benchmark several times.
Fixture& BoardOf(uint64_t members) {
  static auto* boards = new std::map<uint64_t, std::unique_ptr<Fixture>>();
  std::unique_ptr<Fixture>& board = (*boards)[members];
  if (board == nullptr) board = std::make_unique<Fixture>(members);
  return *board;
}

void BM_Submit(benchmark::State& state) {
  const auto members = static_cast<uint64_t>(state.range(0));
  Fixture& fixture = BoardOf(members);
  std::mt19937_64 rng(1);
  google::protobuf::RepeatedPtrField<v1::Submission> one;
  v1::Submission* submission = one.Add();
  uint64_t round = 0;
  auto submit = [&] {
    const uint64_t key = rng() % members;
    submission->set_member(absl::StrCat("player:", key));
    submission->set_score(ScoreOf(key, ++round));
    return fixture.store->Submit(kNs, kBoard, one, "submission");
  };
  if (!submit().ok()) state.SkipWithError("Submit failed");
  for (auto _ : state) benchmark::DoNotOptimize(submit());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Submit)->Arg(1000)->Arg(1'000'000);

}  // namespace
}  // namespace hotpath::leaderboard
