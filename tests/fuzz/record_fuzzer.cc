// Fuzzes one AOF record's payload: decoding, then replay into a keyspace. Either must refuse
// what does not fit with a Status, never crash, hang or corrupt memory. Records are
// after-images, so replaying one that applied a second time changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "persistence/record_format.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<hotpath::Record> record = hotpath::DecodeRecord(payload);
  if (!record.ok()) return 0;
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  if (!keyspace->Replay(*record).ok()) return 0;  // a record that does not fit is refused
  const std::string state = hotpath::fuzz::Dump(*keyspace);
  FUZZ_ASSERT_TRUE(keyspace->Replay(*record).ok());
  FUZZ_ASSERT_TRUE(hotpath::fuzz::Dump(*keyspace) == state);
  return 0;
}
