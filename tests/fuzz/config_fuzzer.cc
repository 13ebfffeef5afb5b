// Fuzzes the configuration parsers: hotpathd's flags (one per line of the input), and the
// same bytes as a rate-limit policy file, an envoyproxy/ratelimit configuration and an access
// file (keys, identities, quotas). A configuration that loads, printed as --check-config
// prints it and given back as flags, loads as the same configuration; an access file that
// loads lets someone in.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "services/auth/access_rules.h"
#include "services/ratelimit/envoy_config.h"
#include "services/ratelimit/policies.h"
#include "services/server/config.h"
#include "tests/fuzz/fuzz_support.h"
#include "yaml-cpp/yaml.h"

namespace {

// The flags that set every option to what ConfigToYaml printed.
std::vector<std::string> FlagsOf(const std::string& yaml) {
  std::vector<std::string> flags;
  const YAML::Node root = YAML::Load(yaml);
  for (const auto& section : root) {
    for (const auto& option : section.second) {
      flags.push_back("--" + section.first.as<std::string>() + "." +
                      option.first.as<std::string>() + "=" + option.second.as<std::string>());
    }
  }
  return flags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  hotpath::ratelimit::PolicySet::Parse("fuzz.yaml", text).IgnoreError();
  hotpath::ratelimit::EnvoyConfig::Parse({{"fuzz.yaml", text}}).IgnoreError();
  if (auto rules = hotpath::auth::AccessRules::Parse("fuzz.yaml", text); rules.ok()) {
    FUZZ_ASSERT_TRUE((*rules)->key_count() + (*rules)->identity_count() > 0);
  }
  std::vector<std::string> args;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    // A --config flag would read a file: the file path is not what is fuzzed here.
    if (line.find("config") == absl::string_view::npos) args.emplace_back(line);
  }
  absl::StatusOr<hotpath::LoadedConfig> loaded = hotpath::LoadConfig(args, {});
  if (!loaded.ok() || loaded->command != hotpath::Command::kServe) return 0;
  const std::string printed = hotpath::ConfigToYaml(loaded->config);
  absl::StatusOr<hotpath::LoadedConfig> again = hotpath::LoadConfig(FlagsOf(printed), {});
  FUZZ_ASSERT_TRUE(again.ok());
  FUZZ_ASSERT_TRUE(hotpath::ConfigToYaml(again->config) == printed);
  return 0;
}
