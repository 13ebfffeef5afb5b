// Fuzzes a whole AOF segment: framing, CRCs, sequences and replay (log_recovery.h), with torn
// and zero tails reported rather than cut. What recovery accepts it accounts for byte by byte, and
// replaying the same segment again changes nothing: every record is then already applied.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "persistence/log_recovery.h"
#include "persistence/testing/fake_file_system.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hotpath::FakeFileSystem fs;
  const std::string path = "/data/incr.1.aof";
  fs.Overwrite(path, std::string(reinterpret_cast<const char*>(data), size));
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  std::vector<uint64_t> applied(keyspace->shard_count(), 0);
  absl::StatusOr<hotpath::LogRecoveryStats> first =
      hotpath::RecoverLog(fs, path, *keyspace, applied, hotpath::TornTail::kReport);
  if (!first.ok()) return 0;
  // After the whole records: a torn tail, a zero tail (zeros only), or nothing, never two.
  FUZZ_ASSERT_TRUE(first->torn_bytes == 0 || first->zero_bytes == 0);
  FUZZ_ASSERT_TRUE(first->valid_bytes + first->torn_bytes + first->zero_bytes == size);
  const std::string state = hotpath::fuzz::Dump(*keyspace);
  absl::StatusOr<hotpath::LogRecoveryStats> again =
      hotpath::RecoverLog(fs, path, *keyspace, applied, hotpath::TornTail::kReport);
  FUZZ_ASSERT_TRUE(again.ok());
  FUZZ_ASSERT_TRUE(again->records == 0 && again->skipped == first->records + first->skipped);
  FUZZ_ASSERT_TRUE(hotpath::fuzz::Dump(*keyspace) == state);
  return 0;
}
