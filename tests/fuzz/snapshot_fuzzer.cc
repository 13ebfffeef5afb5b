// Fuzzes an RDB base file: magic, version, section and whole-file checksums, then decoding
// every key (snapshot.h). What loads, written out again and loaded into a fresh keyspace, is
// the same state.
#include <cstddef>
#include <cstdint>
#include <string>

#include "persistence/snapshot.h"
#include "persistence/testing/fake_file_system.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hotpath::FakeFileSystem fs;
  const std::string path = "/data/base.1.rdb";
  fs.Overwrite(path, std::string(reinterpret_cast<const char*>(data), size));
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  absl::StatusOr<hotpath::SnapshotInfo> loaded =
      hotpath::LoadSnapshot(fs, path, *keyspace, /*threads=*/1);
  if (!loaded.ok()) return 0;
  FUZZ_ASSERT_TRUE(loaded->keys == keyspace->Stats().keys);
  const std::string copy = "/data/base.2.rdb";
  FUZZ_ASSERT_TRUE(hotpath::WriteSnapshot(fs, *keyspace, copy, clock.NowMillis()).ok());
  hotpath::FakeClock other_clock;
  auto reloaded = hotpath::fuzz::FreshKeyspace(&other_clock);
  FUZZ_ASSERT_TRUE(hotpath::LoadSnapshot(fs, copy, *reloaded, /*threads=*/1).ok());
  FUZZ_ASSERT_TRUE(hotpath::fuzz::Dump(*reloaded) == hotpath::fuzz::Dump(*keyspace));
  return 0;
}
