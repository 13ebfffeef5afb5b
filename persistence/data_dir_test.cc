#include "persistence/data_dir.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const char* name) {
  return absl::StrCat(::testing::TempDir(), "/data_dir_test_", getpid(), "_", name);
}

TEST(DataDir, CreatesMissingDirectoriesAndRecordsTheOwner) {
  const std::string path = TempPath("nested") + "/a/b";
  auto dir = DataDir::Open(path);
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_TRUE(std::filesystem::is_directory(path));
  EXPECT_TRUE(std::filesystem::path((*dir)->path()).is_absolute());
  std::ifstream lock((*dir)->path() + "/LOCK");
  std::string pid;
  lock >> pid;
  EXPECT_EQ(pid, absl::StrCat(getpid()));
}

TEST(DataDir, ASecondOwnerIsRefusedUntilTheFirstLetsGo) {
  const std::string path = TempPath("exclusive");
  auto first = DataDir::Open(path);
  ASSERT_TRUE(first.ok()) << first.status();

  auto second = DataDir::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another process"));
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat("pid ", getpid())));

  first->reset();
  EXPECT_TRUE(DataDir::Open(path).ok());
}

TEST(DataDir, APathThatIsAFileIsAnErrorNamingIt) {
  const std::string path = TempPath("plain_file");
  std::ofstream(path) << "x";
  auto dir = DataDir::Open(path);
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace hotpath
