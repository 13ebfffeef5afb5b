// Small checks shared by the YAML files hotpathd reads (rate-limit policies, the access
// file): errors name where in the file they are, and unknown keys are errors, so a typo
// never passes silently.
#pragma once

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace hotpath {

inline absl::Status YamlError(const std::string& where, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

// InvalidArgument unless `node` is a mapping whose keys are all in `allowed`.
inline absl::Status YamlOnlyKeys(const YAML::Node& node, const std::string& where,
                                 const std::set<std::string>& allowed) {
  if (!node.IsMap()) return YamlError(where, "expected a mapping");
  for (const auto& item : node) {
    const std::string key = item.first.as<std::string>();
    if (!allowed.contains(key)) return YamlError(where, absl::StrCat("unknown key '", key, "'"));
  }
  return absl::OkStatus();
}

}  // namespace hotpath
