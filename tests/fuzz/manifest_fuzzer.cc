// Fuzzes the data directory's MANIFEST parser (manifest.h): what it accepts, written back out,
// reads as the same manifest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "persistence/manifest.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<hotpath::Manifest> manifest = hotpath::ParseManifest(text, "MANIFEST");
  if (!manifest.ok()) return 0;
  const std::string encoded = hotpath::EncodeManifest(*manifest);
  absl::StatusOr<hotpath::Manifest> again = hotpath::ParseManifest(encoded, "MANIFEST");
  FUZZ_ASSERT_TRUE(again.ok());
  FUZZ_ASSERT_TRUE(hotpath::EncodeManifest(*again) == encoded);
  return 0;
}
