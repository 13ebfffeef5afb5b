// hotpathd recovers its data directory at start: base and log written by the persistence
// library come back, AdminService/Rewrite makes a new base, a torn tail (or a hole past the last
// sync) is cut, corruption in the log or the base stops the start naming the file and offset.
#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/keyspace.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "persistence/file_system.h"
#include "persistence/record_format.h"
#include "tests/testing/data_dir_writer.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::hotpath::testing::WriteDataDir;
using ::testing::HasSubstr;

std::vector<std::string> Args(const std::string& dir) {
  return {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
          "--persistence.data_dir=" + dir, "--persistence.fsync=always"};
}

// A data directory as hotpathd leaves it: 50 strings in the base snapshot, then 50 more
// strings, a hash and a sorted set in the log.
void WriteData(const std::string& dir) {
  auto strings = [](int from) {
    return [from](Keyspace& keyspace) {
      for (int i = from; i < from + 50; ++i) {
        ASSERT_TRUE(keyspace.Set({.key = absl::StrCat("k", i)}, "v").ok());
      }
    };
  };
  WriteDataDir(dir, 16, strings(0), /*rewrite=*/true, [&](Keyspace& keyspace) {
    strings(50)(keyspace);
    ASSERT_TRUE(keyspace.HashSet({.ns = "t", .key = "session"}, "user", "42").ok());
    ASSERT_TRUE(keyspace.ZsetUpsert({.key = "board"}, {}, "ann", 10, 1).ok());
  });
}

// Replaces the file's contents, creating it if missing.
void Overwrite(const std::string& path, const std::string& data) {
  auto file = PosixFileSystem()->OpenForAppend(path).value();
  ASSERT_TRUE(file->Truncate(0).ok());
  ASSERT_TRUE(file->Append(data).ok());
  ASSERT_TRUE(file->Close().ok());
}

std::unique_ptr<hotpath::admin::v1::AdminService::Stub> Admin(const HotpathdProcess& process) {
  return hotpath::admin::v1::AdminService::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
}

uint64_t Keys(const HotpathdProcess& process) {
  auto admin = Admin(process);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  hotpath::admin::v1::GetInfoResponse info;
  EXPECT_TRUE(admin->GetInfo(&context, {}, &info).ok());
  return info.keys();
}

TEST(HotpathdPersistence, RecoversBaseAndLogRewritesOnRequestAndRecoversAgain) {
  const std::string dir = MakeTempDir("recover");
  ASSERT_NO_FATAL_FAILURE(WriteData(dir));
  const char* expected[] = {"event=recovered base_keys=50 records=52 ",
                            "event=recovered base_keys=102 records=0 "};
  for (int life = 0; life < 2; ++life) {
    HotpathdProcess process;
    ASSERT_TRUE(process.Start(Args(dir))) << process.last_output();
    EXPECT_THAT(process.last_output(), HasSubstr(expected[life]));
    EXPECT_EQ(Keys(process), 102u);
    auto metrics = HttpGet(process.metrics_address(), "/metrics");
    ASSERT_TRUE(metrics.has_value());
    EXPECT_EQ(PrometheusValue(*metrics, "hotpath_recovery_records"), life == 0 ? 52 : 0);
    EXPECT_EQ(PrometheusValue(*metrics, "hotpath_aof_healthy"), 1);
    if (life == 0) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      hotpath::admin::v1::RewriteResponse rewritten;
      const grpc::Status status = Admin(process)->Rewrite(&context, {}, &rewritten);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_GT(rewritten.base_bytes(), 0u);
      metrics = HttpGet(process.metrics_address(), "/metrics");
      ASSERT_TRUE(metrics.has_value());
      EXPECT_EQ(PrometheusValue(*metrics, "hotpath_rewrite_last_success"), 1);
      EXPECT_EQ(PrometheusValue(*metrics, "hotpath_aof_segments"), 1);
    }
    process.Signal(SIGTERM);
    auto exit = process.WaitForExit(absl::Seconds(30));
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->exit_code, 0) << exit->stderr_text;
  }
}

TEST(HotpathdPersistence, ATornTailIsCutAndTheStartGoesOn) {
  const std::string dir = MakeTempDir("torn");
  ASSERT_NO_FATAL_FAILURE(WriteData(dir));
  const std::string log = dir + "/incr.2.aof";
  const std::string whole = PosixFileSystem()->ReadFile(log).value();
  ASSERT_NO_FATAL_FAILURE(Overwrite(log, whole + std::string("\x30\x00\x00", 3)));

  HotpathdProcess process;
  ASSERT_TRUE(process.Start(Args(dir))) << process.last_output();
  EXPECT_THAT(process.last_output(), HasSubstr(" records=52 "));
  EXPECT_THAT(process.last_output(), HasSubstr(" torn_bytes=3 torn_file=" + log + " "));
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), whole);
  EXPECT_EQ(Keys(process), 102u);
}

// What a machine crash can leave after a sync: a later write reached the disk but for its first
// page, a hole of zeros before whole frames. The log ends with the mark its writer's Close
// wrote, which claims no byte past the hole, so none of it was synced: the start cuts it like a
// torn tail and goes on.
TEST(HotpathdPersistence, AHolePastTheLastSyncIsCutAndTheStartGoesOn) {
  const std::string dir = MakeTempDir("hole");
  ASSERT_NO_FATAL_FAILURE(WriteData(dir));
  const std::string log = dir + "/incr.2.aof";
  const std::string whole = PosixFileSystem()->ReadFile(log).value();
  FrameReader reader(whole);
  ASSERT_EQ(reader.Next().state, FrameReader::State::kRecord);
  const std::string a_record = whole.substr(0, reader.valid_bytes());
  const std::string crashed = whole + std::string(4096, '\0') + a_record;
  ASSERT_NO_FATAL_FAILURE(Overwrite(log, crashed));

  HotpathdProcess process;
  ASSERT_TRUE(process.Start(Args(dir))) << process.last_output();
  EXPECT_THAT(process.last_output(), HasSubstr(" records=52 "));
  EXPECT_THAT(process.last_output(),
              HasSubstr(absl::StrCat(" torn_bytes=", crashed.size() - whole.size(),
                                     " torn_file=", log, " ")));
  EXPECT_EQ(PosixFileSystem()->ReadFile(log).value(), whole);
  EXPECT_EQ(Keys(process), 102u);
  const auto metrics = HttpGet(process.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_recovery_torn_tail_truncations"), 1);
}

TEST(HotpathdPersistence, CorruptionStopsTheStartNamingFileAndOffset) {
  const std::string dir = MakeTempDir("corrupt");
  ASSERT_NO_FATAL_FAILURE(WriteData(dir));
  for (const std::string name : {"incr.2.aof", "base.2.rdb"}) {
    const std::string path = dir + "/" + name;
    const std::string good = PosixFileSystem()->ReadFile(path).value();
    std::string data = good;
    data[data.size() / 2] ^= 0x5a;
    ASSERT_NO_FATAL_FAILURE(Overwrite(path, data));
    auto result = HotpathdProcess::RunToExit(Args(dir));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->exit_code, 1);
    EXPECT_THAT(result->stderr_text, HasSubstr("hotpathd: cannot start: " + path + " offset "));
    EXPECT_EQ(PosixFileSystem()->ReadFile(path).value(), data);  // left as found
    ASSERT_NO_FATAL_FAILURE(Overwrite(path, good));
  }
}

TEST(HotpathdPersistence, ADirectoryWithoutAManifestIsNotTouched) {
  const std::string dir = MakeTempDir("foreign");
  ASSERT_NO_FATAL_FAILURE(Overwrite(dir + "/appendonly.aof", "someone else's data"));
  auto result = HotpathdProcess::RunToExit(Args(dir));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_THAT(result->stderr_text, HasSubstr("appendonly.aof but no MANIFEST"));
}

}  // namespace
}  // namespace hotpath
