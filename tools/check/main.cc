// hotpath-check: verifies a hotpath data directory, like redis-check-aof and redis-check-rdb.
//
//   hotpath-check DATA_DIR            verify; exit 0 if everything is whole
//   hotpath-check --repair DATA_DIR   also cut a torn tail off the last segment and exit 0
//
// The manifest, the base snapshot (every checksum) and every log record (checksummed, decoded,
// replayed into a scratch keyspace) are checked exactly as hotpathd's start would, so a
// directory that would stop hotpathd stops here too, with the same file and offset. Damage
// other than a torn tail is never "repaired": it needs a human (and usually a backup).
// Exit codes: 0 whole (or repaired), 1 not, 2 bad usage.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/keyspace.h"
#include "persistence/data_dir.h"
#include "persistence/directory_recovery.h"
#include "persistence/file_system.h"
#include "persistence/manifest.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: hotpath-check [--repair] DATA_DIR\n");
  return 2;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "hotpath-check: %s\n", std::string(status.message()).c_str());
  return 1;
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

  hotpath::FileSystem& fs = *hotpath::PosixFileSystem();
  // Repairing under a running hotpathd could cut a batch it is writing, or read a manifest it
  // is replacing: take its lock first (once the manifest is known to exist, so a wrong path
  // is not created as a data directory).
  std::unique_ptr<hotpath::DataDir> lock;
  if (repair && fs.ReadFile(dir + "/" + hotpath::kManifestName).ok()) {
    absl::StatusOr<std::unique_ptr<hotpath::DataDir>> locked = hotpath::DataDir::Open(dir);
    if (!locked.ok()) return Fail(locked.status());
    lock = *std::move(locked);
  }
  absl::StatusOr<hotpath::Manifest> manifest = hotpath::ReadManifest(fs, dir);
  if (!manifest.ok()) return Fail(manifest.status());
  auto keyspace =
      hotpath::Keyspace::Create({.shards = manifest->shards}, hotpath::SystemClock::Get()).value();
  absl::StatusOr<hotpath::DirectoryRecoveryStats> stats = hotpath::RecoverDirectory(
      fs, dir, *manifest, *keyspace, repair ? hotpath::TornTail::kCut : hotpath::TornTail::kReport,
      /*load_threads=*/2);
  if (!stats.ok()) return Fail(stats.status());
  const std::vector<std::string> files = manifest->Files();
  std::printf("%s: %zu files, %u shards\n", dir.c_str(), files.size(), manifest->shards);
  if (stats->base_loaded) {
    std::printf("base %s: %llu keys, %llu bytes\n", files.front().c_str(),
                static_cast<unsigned long long>(stats->base.keys),
                static_cast<unsigned long long>(stats->base.bytes));
  }
  std::printf("segments: %zu, %llu records replayed, %llu already in the base, %llu bytes\n",
              manifest->segments.size(), static_cast<unsigned long long>(stats->records),
              static_cast<unsigned long long>(stats->skipped),
              static_cast<unsigned long long>(stats->segment_bytes));
  std::printf("keys: %llu\n", static_cast<unsigned long long>(keyspace->Stats().keys));
  if (stats->torn_bytes == 0) return 0;
  if (repair) {
    std::printf("cut a torn tail of %llu bytes off %s (%s)\n",
                static_cast<unsigned long long>(stats->torn_bytes), stats->torn_file.c_str(),
                stats->torn_problem.c_str());
    return 0;
  }
  std::printf("torn tail: %llu bytes at the end of %s (%s); --repair cuts it\n",
              static_cast<unsigned long long>(stats->torn_bytes), stats->torn_file.c_str(),
              stats->torn_problem.c_str());
  return 1;
}
