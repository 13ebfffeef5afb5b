#include "persistence/manifest.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "persistence/crc32c.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

// A manifest body with a correct checksum line, so each test exercises one rule.
std::string Signed(const std::string& body) {
  return absl::StrCat(body, "checksum ", absl::Hex(Crc32c(body), absl::kZeroPad8), "\n");
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Manifest> parsed = ParseManifest(text, "MANIFEST");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << text;
  return std::string(parsed.status().message());
}

TEST(Manifest, RoundTripsAndWritesAtomically) {
  FakeFileSystem fs;
  const Manifest manifest{.shards = 16, .base = 7, .segments = {7, 9}};
  ASSERT_TRUE(WriteManifest(fs, "/d", manifest).ok());
  EXPECT_EQ(fs.Contents("/d/MANIFEST.tmp"), "");
  EXPECT_EQ(fs.Contents("/d/MANIFEST")
                .rfind("hotpath-manifest 1\nshards 16\nbase base.7.rdb\nsegment incr.7.aof\n"
                       "segment incr.9.aof\nchecksum ",
                       0),
            0u);
  for (const std::string& file : manifest.Files()) fs.Overwrite("/d/" + file, "");
  const Manifest read = ReadManifest(fs, "/d").value();
  EXPECT_EQ(read.shards, 16u);
  EXPECT_EQ(read.base, 7u);
  EXPECT_EQ(read.segments, (std::vector<uint64_t>{7, 9}));
  EXPECT_EQ(read.NextNumber(), 10u);
}

TEST(Manifest, EveryMalformedManifestFailsClosedWithItsLine) {
  EXPECT_NE(ErrorOf("").find("no checksum line"), std::string::npos);
  const std::string good = Signed("hotpath-manifest 1\nshards 4\nsegment incr.1.aof\n");
  ASSERT_TRUE(ParseManifest(good, "MANIFEST").ok());
  std::string flipped = good;
  flipped[good.find("incr.1") + 5] = '2';
  EXPECT_NE(ErrorOf(flipped).find("checksum mismatch"), std::string::npos);

  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 2\nshards 4\nsegment incr.1.aof\n")).find("line 1"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\n")).find("no segment"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nsegment incr.1.aof\n")).find("no shards"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 3\nsegment incr.1.aof\n")).find("line 2"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\nbase base.1.rdb\nbase base.2.rdb\n"
                           "segment incr.2.aof\n"))
                .find("line 4: a second base"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment incr.2.aof\n"
                           "segment incr.2.aof\n"))
                .find("line 4: segment numbers must increase"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment incr.3.aof\n"
                           "segment incr.2.aof\n"))
                .find("must increase"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment incr.1.aof\n"
                           "base base.1.rdb\n"))
                .find("before the segments"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment ../etc/passwd\n")).find("incr.<n>.aof"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment incr.01.aof\n")).find("incr.<n>.aof"),
      std::string::npos);
  EXPECT_NE(ErrorOf(Signed("hotpath-manifest 1\nshards 4\nsegment incr.1.aof\nextra\n"))
                .find("unexpected"),
            std::string::npos);
}

TEST(Manifest, AListedFileThatIsMissingFailsClosed) {
  FakeFileSystem fs;
  ASSERT_TRUE(WriteManifest(fs, "/d", {.shards = 1, .base = 3, .segments = {3}}).ok());
  fs.Overwrite("/d/incr.3.aof", "");
  const absl::Status status = ReadManifest(fs, "/d").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("base.3.rdb, which is missing"), std::string::npos)
      << status.message();
  EXPECT_EQ(ReadManifest(fs, "/elsewhere").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace hotpath
