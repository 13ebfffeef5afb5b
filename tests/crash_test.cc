// kill -9 at random moments while four threads write and rewrites run, over many cycles, with
// real files and fsync: after every restart each acknowledged write is present, under
// `always` (acknowledged = fdatasync'ed) and `everysec` (acknowledged = written; a process
// crash loses nothing the kernel holds). The writer (tools/crash/crash_writer.cc) runs on the
// real Store; this test recovers the directory in-process after each kill.
#include <signal.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/keyspace.h"
#include "gtest/gtest.h"
#include "persistence/file_system.h"
#include "persistence/store.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

struct Acked {
  std::string key;
  std::string value;
};

// The writes the writer acknowledged: "t<thread> <n>" lines of cycle `cycle`.
std::vector<Acked> AckedWrites(const std::string& output, int cycle) {
  std::vector<Acked> acked;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (line.size() < 2 || line[0] != 't') continue;
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(line.substr(1), absl::MaxSplits(' ', 1));
    int thread = 0;
    int n = 0;
    if (!absl::SimpleAtoi(parts.first, &thread) || !absl::SimpleAtoi(parts.second, &n)) continue;
    acked.push_back({absl::StrCat("c", cycle, "-t", thread, "-", n), absl::StrCat(n)});
  }
  return acked;
}

void RunCycles(const std::string& policy, int cycles) {
  const std::string dir = testing::MakeTempDir("crash_" + policy);
  std::mt19937 rng(42);
  std::vector<std::vector<Acked>> all_acked;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    auto writer = Subprocess::Spawn({CRASH_WRITER_PATH, dir, policy, absl::StrCat(cycle)}).value();
    ASSERT_TRUE(writer->WaitForOutput("ready\n", absl::Seconds(60))) << writer->stderr_text();
    // A random moment: once thread 0 has had a random number of writes acknowledged.
    const int wait_for = 1 + static_cast<int>(rng() % 300);
    ASSERT_TRUE(writer->WaitForOutput(absl::StrCat("\nt0 ", wait_for, "\n"), absl::Seconds(60)))
        << writer->stderr_text();
    writer->Signal(SIGKILL);
    ASSERT_TRUE(writer->Wait(absl::Seconds(30)).has_value());
    all_acked.push_back(AckedWrites(writer->stdout_text(), cycle));
    ASSERT_GE(all_acked.back().size(), static_cast<size_t>(wait_for));

    // Recover as a restart would, and find every write acknowledged in every cycle so far.
    auto store = Store::Open(PosixFileSystem(), {.dir = dir, .shards = 4}).value();
    auto keyspace = Keyspace::Create({.shards = 4}, SystemClock::Get(), store.get()).value();
    const auto recovered = store->Recover(keyspace.get());
    ASSERT_TRUE(recovered.ok()) << "cycle " << cycle << ": " << recovered.status();
    size_t checked = 0;
    for (const auto& acked : all_acked) {
      for (const Acked& write : acked) {
        const absl::StatusOr<std::string> value = keyspace->Get({.key = write.key});
        ASSERT_TRUE(value.ok()) << "cycle " << cycle << ": acknowledged " << write.key << " lost";
        EXPECT_EQ(*value, write.value);
        ++checked;
      }
    }
    ASSERT_TRUE(store->Close().ok());
    EXPECT_GT(checked, 0u);
  }
}

TEST(CrashTest, AlwaysKeepsEveryAcknowledgedWriteThroughKillNine) { RunCycles("always", 12); }

TEST(CrashTest, EverySecKeepsEveryAcknowledgedWriteThroughAProcessKill) {
  RunCycles("everysec", 12);
}

}  // namespace
}  // namespace hotpath
