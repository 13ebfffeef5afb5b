// main() for the project's Google Benchmark binaries (hp_cc_benchmark links it).
//
// Debian's abseil is built without NDEBUG, so it checks every Mutex acquisition for lock-order
// cycles under one process-wide lock (about 25 ns per Lock/Unlock pair here). hotpathd turns
// that off in its main (services/server/main.cc); the benchmarks do the same, so they measure
// the code hotpathd runs.
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
