// Fuzzes the data directory's MANIFEST parser (manifest.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "persistence/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hotpath::ParseManifest(text, "MANIFEST").IgnoreError();
  return 0;
}
