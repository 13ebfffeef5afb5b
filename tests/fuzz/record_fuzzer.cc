// Fuzzes one AOF record's payload: decoding, then replay into a keyspace. Either must refuse
// what does not fit with a Status, never crash, hang or corrupt memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "persistence/record_format.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<hotpath::Record> record = hotpath::DecodeRecord(payload);
  if (!record.ok()) return 0;
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  keyspace->Replay(*record).IgnoreError();  // a record that does not fit is refused
  return 0;
}
