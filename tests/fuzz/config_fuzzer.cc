// Fuzzes the configuration parsers: hotpathd's flags (one per line of the input), and the
// same bytes as a rate-limit policy file, an envoyproxy/ratelimit configuration and an access
// file (keys, identities, quotas).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/auth/access_rules.h"
#include "services/ratelimit/envoy_config.h"
#include "services/ratelimit/policies.h"
#include "services/server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  hotpath::ratelimit::PolicySet::Parse("fuzz.yaml", text).IgnoreError();
  hotpath::ratelimit::EnvoyConfig::Parse({{"fuzz.yaml", text}}).IgnoreError();
  hotpath::auth::AccessRules::Parse("fuzz.yaml", text).IgnoreError();
  std::vector<std::string> args;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // A --config flag would read a file: the file path is not what is fuzzed here.
    if (line.find("config") == absl::string_view::npos) args.emplace_back(line);
  }
  hotpath::LoadConfig(args, {}).IgnoreError();
  return 0;
}
