// Stream append, range read and group delivery; bytes per entry of one 16-byte field.
//   build/release/engine/stream_benchmark
#include <string>

#include "benchmark/benchmark.h"
#include "engine/stream/stream.h"

namespace hotpath {
namespace {

StreamFields Entry() { return {{"payload", std::string(16, 'x')}}; }

void BM_Append(benchmark::State& state) {
  Stream stream;
  int64_t now = 1;
  for (auto _ : state) benchmark::DoNotOptimize(stream.Append(std::nullopt, Entry(), ++now));
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_entry"] = static_cast<double>(stream.HeapBytes()) / stream.size();
}
BENCHMARK(BM_Append);

void BM_ReadAfter10(benchmark::State& state) {
  Stream stream;
  for (int64_t i = 1; i <= 1'000'000; ++i) (void)stream.Append(std::nullopt, Entry(), i);
  uint64_t at = 0;
  for (auto _ : state) {
    at = (at + 7919) % 999'990;
    benchmark::DoNotOptimize(stream.ReadAfter(StreamId{at + 1, 0}, 10));
  }
  state.SetItemsProcessed(state.iterations() * 10);
}
BENCHMARK(BM_ReadAfter10);

// Deliver to a group and acknowledge: the work-queue round trip.
void BM_GroupDeliverAck(benchmark::State& state) {
  Stream stream;
  (void)stream.CreateGroup("g", kMinStreamId);
  int64_t now = 1;
  for (auto _ : state) {
    (void)stream.Append(std::nullopt, Entry(), ++now);
    auto delivered = stream.ReadGroup("g", "worker", 1, now);
    benchmark::DoNotOptimize(stream.Ack("g", {delivered->front().id}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GroupDeliverAck);

}  // namespace
}  // namespace hotpath
