// Fuzzes an RDB base file: magic, version, section and whole-file checksums, then decoding
// every key (snapshot.h).
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
  hotpath::LoadSnapshot(fs, path, *keyspace, /*threads=*/1).IgnoreError();
  return 0;
}
