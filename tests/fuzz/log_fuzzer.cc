// Fuzzes a whole AOF segment: framing, CRCs, sequences and replay (log_recovery.h), with torn
// tails reported rather than cut.
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
  hotpath::RecoverLog(fs, path, *keyspace, applied, hotpath::TornTail::kReport).IgnoreError();
  return 0;
}
