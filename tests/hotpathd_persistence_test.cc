// hotpathd recovers its append-only log at start: records written by the persistence library
// come back, a torn tail is cut, corruption stops the start naming the file and offset.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/keyspace.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "persistence/aof_writer.h"
#include "persistence/file_system.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;

std::vector<std::string> Args(const std::string& dir) {
  return {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
          "--persistence.data_dir=" + dir, "--persistence.fsync=always"};
}

// Writes a log the way hotpathd does: 100 strings, a hash and a sorted set.
void WriteLog(const std::string& dir) {
  auto writer =
      std::make_unique<AofWriter>(PosixFileSystem()->OpenForAppend(dir + "/appendonly.aof").value(),
                                  AofWriterOptions{.fsync = FsyncPolicy::kAlways});
  auto keyspace = Keyspace::Create({.shards = 16}, SystemClock::Get(), writer.get()).value();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(keyspace->Set({.key = absl::StrCat("k", i)}, "v").ok());
  }
  ASSERT_TRUE(keyspace->HashSet({.ns = "t", .key = "session"}, "user", "42").ok());
  ASSERT_TRUE(keyspace->ZsetUpsert({.key = "board"}, {}, "ann", 10, 1).ok());
  ASSERT_TRUE(writer->Close().ok());
}

uint64_t Keys(const HotpathdProcess& process) {
  auto admin = hotpath::admin::v1::Admin::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  hotpath::admin::v1::GetInfoResponse info;
  EXPECT_TRUE(admin->GetInfo(&context, {}, &info).ok());
  return info.keys();
}

TEST(HotpathdPersistence, RecoversTheLogAtStartAndAgainAfterARestart) {
  const std::string dir = MakeTempDir("recover");
  ASSERT_NO_FATAL_FAILURE(WriteLog(dir));
  for (int life = 0; life < 2; ++life) {
    HotpathdProcess process;
    ASSERT_TRUE(process.Start(Args(dir))) << process.last_output();
    EXPECT_THAT(process.last_output(), HasSubstr("recovered: 102 records\n"));
    EXPECT_EQ(Keys(process), 102u);
    auto metrics = HttpGet(process.metrics_address(), "/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_EQ(PrometheusValue(*metrics, "hotpath_recovery_records"), 102);
    EXPECT_EQ(PrometheusValue(*metrics, "hotpath_aof_healthy"), 1);
    process.Signal(SIGTERM);
    auto exit = process.WaitForExit(absl::Seconds(30));
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->exit_code, 0) << exit->stderr_text;
  }
}

TEST(HotpathdPersistence, ATornTailIsCutAndTheStartGoesOn) {
  const std::string dir = MakeTempDir("torn");
  ASSERT_NO_FATAL_FAILURE(WriteLog(dir));
  const std::string log = dir + "/appendonly.aof";
  const std::string whole = PosixFileSystem()->ReadFile(log).value();
  auto file = PosixFileSystem()->OpenForAppend(log).value();
  ASSERT_TRUE(file->Append(std::string("\x30\x00\x00", 3)).ok());  // a crash cut a header
  ASSERT_TRUE(file->Close().ok());

  HotpathdProcess process;
  ASSERT_TRUE(process.Start(Args(dir))) << process.last_output();
  EXPECT_THAT(process.last_output(), HasSubstr("recovered: 102 records (cut a torn tail of 3"));
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), whole);
  EXPECT_EQ(Keys(process), 102u);
}

TEST(HotpathdPersistence, CorruptionStopsTheStartNamingFileAndOffset) {
  const std::string dir = MakeTempDir("corrupt");
  ASSERT_NO_FATAL_FAILURE(WriteLog(dir));
  const std::string log = dir + "/appendonly.aof";
  std::string data = PosixFileSystem()->ReadFile(log).value();
  data[data.size() / 2] ^= 0x5a;
  ASSERT_TRUE(PosixFileSystem()->Truncate(log, 0).ok());
  auto file = PosixFileSystem()->OpenForAppend(log).value();
  ASSERT_TRUE(file->Append(data).ok());
  ASSERT_TRUE(file->Close().ok());

  auto result = HotpathdProcess::RunToExit(Args(dir));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_THAT(result->stderr_text, HasSubstr("hotpathd: cannot start: " + log + " offset "));
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), data);  // left as found
}

}  // namespace
}  // namespace hotpath
