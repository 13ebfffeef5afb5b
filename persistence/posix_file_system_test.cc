// The POSIX file system's appendable files: appends land at the end of the contents, and zeros
// kept ahead of them (ZeroAhead) never count as contents and are gone after Close.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "persistence/file_system.h"

namespace hotpath {
namespace {

class PosixFileTest : public ::testing::Test {
 protected:
  PosixFileTest()
      : path_(absl::StrCat(::testing::TempDir(), "/posix_file_test_", getpid(), "_",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove(path_);
  }
  ~PosixFileTest() override { std::filesystem::remove(path_); }

  uint64_t SizeOnDisk() const { return std::filesystem::file_size(path_); }
  std::string Contents() const { return PosixFileSystem()->ReadFile(path_).value(); }

  const std::string path_;
};

TEST_F(PosixFileTest, ZerosKeptAheadAreNotContentsAndCloseCutsThem) {
  auto file = PosixFileSystem()->OpenForAppend(path_).value();
  file->ZeroAhead(8192);
  ASSERT_TRUE(file->Append("abc").ok());
  EXPECT_EQ(file->size(), 3u);
  EXPECT_GE(SizeOnDisk(), 3u + 8192u);
  const uint64_t zeroed = SizeOnDisk();
  ASSERT_TRUE(file->Append("de").ok());  // into the zeros: the file does not grow
  EXPECT_EQ(SizeOnDisk(), zeroed);
  EXPECT_EQ(Contents(), "abcde" + std::string(zeroed - 5, '\0'));
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Contents(), "abcde");

  auto reopened = PosixFileSystem()->OpenForAppend(path_).value();
  EXPECT_EQ(reopened->size(), 5u);
  ASSERT_TRUE(reopened->Append("f").ok());
  ASSERT_TRUE(reopened->Close().ok());
  EXPECT_EQ(Contents(), "abcdef");
}

TEST_F(PosixFileTest, ZerosAreExtendedAsAppendsReachThem) {
  auto file = PosixFileSystem()->OpenForAppend(path_).value();
  file->ZeroAhead(100);
  const std::string chunk(60, 'x');
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(file->Append(chunk).ok());
    EXPECT_GE(SizeOnDisk(), file->size() + 1) << i;  // always some zeros past the end
  }
  EXPECT_EQ(Contents().substr(0, 300), std::string(300, 'x'));
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(SizeOnDisk(), 300u);
}

TEST_F(PosixFileTest, TruncateDropsTheZerosAheadAndAppendsFollowTheCut) {
  auto file = PosixFileSystem()->OpenForAppend(path_).value();
  file->ZeroAhead(4096);
  ASSERT_TRUE(file->Append("abcdef").ok());
  ASSERT_TRUE(file->Truncate(2).ok());
  EXPECT_EQ(file->size(), 2u);
  ASSERT_TRUE(file->Append("x").ok());
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Contents(), "abx");
}

// The zeros only make syncs cheaper: where the disk refuses them (here a file size limit,
// as a full disk would), appends go on without them.
TEST_F(PosixFileTest, ZerosTheDiskRefusesDoNotFailAnAppendThatFits) {
  signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead of a signal
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  auto file = PosixFileSystem()->OpenForAppend(path_).value();
  file->ZeroAhead(1 << 20);
  const absl::Status first = file->Append("abc");
  const absl::Status second = file->Append("de");
  const absl::Status past_the_limit = file->Append(std::string(8192, 'x'));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_TRUE(second.ok()) << second;
  EXPECT_FALSE(past_the_limit.ok());  // the data itself does not fit: that fails
  EXPECT_EQ(SizeOnDisk(), 4096u);     // zeros up to the limit, after the data
  EXPECT_EQ(Contents().substr(0, 5), "abcde");
}

TEST_F(PosixFileTest, WithoutZerosAheadTheFileHoldsWhatWasAppended) {
  auto file = PosixFileSystem()->OpenForAppend(path_).value();
  ASSERT_TRUE(file->Append("abc").ok());
  EXPECT_EQ(SizeOnDisk(), 3u);
  ASSERT_TRUE(file->Close().ok());
  EXPECT_EQ(Contents(), "abc");
}

}  // namespace
}  // namespace hotpath
