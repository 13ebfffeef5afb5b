// hotpath-check against real data directories: whole, torn, holed, corrupt, in use.
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/keyspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persistence/data_dir.h"
#include "persistence/file_system.h"
#include "persistence/record_format.h"
#include "tests/testing/data_dir_writer.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/subprocess.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

struct CheckRun {
  int code;
  std::string out;
  std::string err;
};

CheckRun Check(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {HOTPATH_CHECK_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  auto process = Subprocess::Spawn(argv).value();
  const int code = process->Wait(absl::Seconds(60)).value_or(-1);
  return {code, process->stdout_text(), process->stderr_text()};
}

std::string MakeLog(const std::string& name) {
  const std::string dir = testing::MakeTempDir(name);
  testing::WriteDataDir(dir, 4, [](Keyspace& keyspace) {
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(keyspace.IncrementBy({.key = absl::StrCat(i)}, i).ok());
    }
  });
  return dir;
}

void AppendBytes(const std::string& path, const std::string& bytes) {
  auto file = PosixFileSystem()->OpenForAppend(path).value();
  ASSERT_TRUE(file->Append(bytes).ok());
  ASSERT_TRUE(file->Close().ok());
}

TEST(HotpathCheck, AWholeLogPasses) {
  const std::string dir = MakeLog("check_whole");
  const CheckRun run = Check({dir});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("segments: 1, 10 records replayed"));
  EXPECT_THAT(run.out, HasSubstr("keys: 10\n"));
}

TEST(HotpathCheck, ATornTailFailsUntilRepaired) {
  const std::string dir = MakeLog("check_torn");
  const std::string log = dir + "/incr.1.aof";
  const std::string whole = PosixFileSystem()->ReadFile(log).value();
  ASSERT_NO_FATAL_FAILURE(AppendBytes(log, std::string("\x20\x00", 2)));
  CheckRun run = Check({dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr("torn tail: 2 bytes at the end of " + log));
  EXPECT_THAT(run.out, HasSubstr("--repair cuts it"));

  run = Check({"--repair", dir});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("cut a torn tail of 2 bytes"));
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), whole);
  EXPECT_EQ(Check({dir}).code, 0);
}

// A hole a machine crash left past the last sync, with a whole frame after it: torn like a cut
// record, so --repair cuts it too (docs/persistence.md, "Record frame").
TEST(HotpathCheck, AHolePastTheLastSyncFailsUntilRepaired) {
  const std::string dir = MakeLog("check_hole");
  const std::string log = dir + "/incr.1.aof";
  const std::string whole = PosixFileSystem()->ReadFile(log).value();
  // Zeros, then a whole frame: the log's last mark (its writer's Close) claims none of it.
  FrameReader reader(whole);
  ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
  const std::string tail = std::string(100, '\0') + whole.substr(0, reader.valid_bytes());
  ASSERT_NO_FATAL_FAILURE(AppendBytes(log, tail));
  CheckRun run = Check({dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out,
              HasSubstr(absl::StrCat("torn tail: ", tail.size(), " bytes at the end of ", log)));
  EXPECT_THAT(run.out, HasSubstr("past the last sync"));

  run = Check({"--repair", dir});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), whole);
  EXPECT_EQ(Check({dir}).code, 0);
}

TEST(HotpathCheck, CorruptionIsNamedAndNeverRepaired) {
  const std::string dir = MakeLog("check_corrupt");
  const std::string log = dir + "/incr.1.aof";
  std::string data = PosixFileSystem()->ReadFile(log).value();
  data[data.size() / 3] ^= 0x33;
  ASSERT_TRUE(PosixFileSystem()->Truncate(log, 0).ok());
  ASSERT_NO_FATAL_FAILURE(AppendBytes(log, data));
  for (const auto& args :
       {std::vector<std::string>{dir}, std::vector<std::string>{"--repair", dir}}) {
    const CheckRun run = Check(args);
    EXPECT_EQ(run.code, 1);
    EXPECT_THAT(run.err, HasSubstr(log + " offset "));
  }
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), data);
}

TEST(HotpathCheck, RepairWaitsForNoOneAndRefusesADirectoryInUse) {
  const std::string dir = MakeLog("check_busy");
  auto held = DataDir::Open(dir);  // as a running hotpathd holds it
  ASSERT_TRUE(held.ok());
  const CheckRun run = Check({"--repair", dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("in use by another process"));
  EXPECT_EQ(Check({dir}).code, 0);  // verifying alone is harmless
}

TEST(HotpathCheck, BadUsageExits2) {
  EXPECT_EQ(Check({}).code, 2);
  EXPECT_EQ(Check({"--fix", "/tmp"}).code, 2);
}

}  // namespace
}  // namespace hotpath
