// hotpath-check: verifies a hotpath data directory's append-only log, like redis-check-aof.
//
//   hotpath-check DATA_DIR            verify; exit 0 if the log is whole
//   hotpath-check --repair DATA_DIR   also cut a torn tail (what a crash leaves) and exit 0
//
// Every record is checksummed, decoded and replayed into a scratch keyspace, so a log that would
// stop hotpathd's start stops here too, with the same file and offset. Corruption other than a
// torn tail is never "repaired": it needs a human (and usually a backup).
// Exit codes: 0 the log is whole (or was repaired), 1 it is not, 2 bad usage.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/keyspace.h"
#include "persistence/data_dir.h"
#include "persistence/file_system.h"
#include "persistence/log_recovery.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: hotpath-check [--repair] DATA_DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool repair = false;
  std::string dir;
  for (const std::string& arg : args) {
    if (arg == "--repair") {
      repair = true;
    } else if (!arg.empty() && arg[0] != '-' && dir.empty()) {
      dir = arg;
    } else {
      return Usage();
    }
  }
  if (dir.empty()) return Usage();

  const std::string log = dir + "/appendonly.aof";
  hotpath::FileSystem& fs = *hotpath::PosixFileSystem();
  // Repairing under a running hotpathd could cut a batch it is writing: take its lock first
  // (only once the log is known to exist, so a wrong path is not created as a data directory).
  std::unique_ptr<hotpath::DataDir> lock;
  if (repair && fs.ReadFile(log).ok()) {
    absl::StatusOr<std::unique_ptr<hotpath::DataDir>> locked = hotpath::DataDir::Open(dir);
    if (!locked.ok()) {
      std::fprintf(stderr, "hotpath-check: %s\n", std::string(locked.status().message()).c_str());
      return 1;
    }
    lock = *std::move(locked);
  }
  auto keyspace = hotpath::Keyspace::Create({.shards = 16}, hotpath::SystemClock::Get()).value();
  absl::StatusOr<hotpath::LogRecoveryStats> stats =
      hotpath::RecoverLog(fs, log, *keyspace, /*truncate_torn_tail=*/repair);
  if (!stats.ok()) {
    std::fprintf(stderr, "hotpath-check: %s\n", std::string(stats.status().message()).c_str());
    return 1;
  }
  std::printf("%s: %llu records, %llu keys, %llu bytes of whole records\n", log.c_str(),
              static_cast<unsigned long long>(stats->records),
              static_cast<unsigned long long>(keyspace->Stats().keys),
              static_cast<unsigned long long>(stats->valid_bytes));
  if (stats->torn_bytes == 0) return 0;
  if (repair) {
    std::printf("cut a torn tail of %llu bytes (%s)\n",
                static_cast<unsigned long long>(stats->torn_bytes), stats->torn_problem.c_str());
    return 0;
  }
  std::printf("torn tail: %llu bytes after offset %llu (%s); --repair cuts it\n",
              static_cast<unsigned long long>(stats->torn_bytes),
              static_cast<unsigned long long>(stats->valid_bytes), stats->torn_problem.c_str());
  return 1;
}
