#include "services/ratelimit/envoy_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace hotpath::ratelimit {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;

// envoyproxy/ratelimit's keys, and hotpath's two additions (algorithm, burst).
bool KnownKey(const std::string& key) {
  static const char* const kKeys[] = {"domain",
                                      "key",
                                      "value",
                                      "descriptors",
                                      "rate_limit",
                                      "unit",
                                      "requests_per_unit",
                                      "unlimited",
                                      "shadow_mode",
                                      "name",
                                      "replaces",
                                      "detailed_metric",
                                      "value_to_metric",
                                      "share_threshold",
                                      "algorithm",
                                      "burst"};
  for (const char* known : kKeys) {
    if (key == known) return true;
  }
  return false;
}

absl::Status Bad(const std::string& file, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", why));
}

// Rejects unknown keys anywhere in the document, as envoyproxy/ratelimit does.
absl::Status CheckKeys(const std::string& file, const YAML::Node& node) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      const std::string key = item.first.as<std::string>();
      if (!KnownKey(key)) return Bad(file, absl::StrCat("config error, unknown key '", key, "'"));
      HP_RETURN_IF_ERROR(CheckKeys(file, item.second));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsMap()) {
        return Bad(file, "config error, yaml file contains list of type other than map");
      }
      HP_RETURN_IF_ERROR(CheckKeys(file, item));
    }
  }
  return absl::OkStatus();
}

std::string Scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

bool Flag(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  return value && value.IsScalar() && value.as<bool>();
}

absl::StatusOr<EnvoyUnit> UnitOf(const std::string& text) {
  const std::string upper = absl::AsciiStrToUpper(text);
  static const std::pair<const char*, EnvoyUnit> kUnits[] = {
      {"SECOND", EnvoyUnit::kSecond}, {"MINUTE", EnvoyUnit::kMinute}, {"HOUR", EnvoyUnit::kHour},
      {"DAY", EnvoyUnit::kDay},       {"MONTH", EnvoyUnit::kMonth},   {"YEAR", EnvoyUnit::kYear},
      {"WEEK", EnvoyUnit::kWeek}};
  for (const auto& [name, unit] : kUnits) {
    if (upper == name) return unit;
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid rate limit unit '", text, "'"));
}

absl::StatusOr<EnvoyRateLimit> RateLimitOf(const std::string& file, const YAML::Node& node,
                                           const std::string& full_key, bool shadow_mode) {
  EnvoyRateLimit rate;
  rate.full_key = full_key;
  rate.shadow_mode = shadow_mode;
  rate.unlimited = Flag(node, "unlimited");
  rate.name = Scalar(node, "name");
  const std::string unit = Scalar(node, "unit");
  absl::StatusOr<EnvoyUnit> parsed = UnitOf(unit);
  if (rate.unlimited) {
    if (parsed.ok()) return Bad(file, "should not specify rate limit unit when unlimited");
  } else if (!parsed.ok()) {
    return Bad(file, parsed.status().message());
  } else {
    rate.unit = *parsed;
    const YAML::Node count = node["requests_per_unit"];
    rate.requests_per_unit = count ? count.as<uint32_t>() : 0;
    Algorithm algorithm = Algorithm::kFixedWindow;
    if (const std::string name = Scalar(node, "algorithm"); !name.empty()) {
      absl::StatusOr<Algorithm> chosen = ParseAlgorithm(name);
      if (!chosen.ok()) return Bad(file, chosen.status().message());
      algorithm = *chosen;
    }
    const YAML::Node burst = node["burst"];
    rate.limit = Limit{.algorithm = algorithm,
                       .limit = rate.requests_per_unit,
                       .period_ns = EnvoyUnitNanos(static_cast<int>(rate.unit)),
                       .burst = burst ? burst.as<int64_t>() : 0};
    if (rate.requests_per_unit > 0) {
      HP_RETURN_IF_ERROR(ValidateLimit(rate.limit, absl::StrCat(file, ": ", full_key, ": ")));
    }
  }
  if (const YAML::Node replaces = node["replaces"]; replaces && replaces.IsSequence()) {
    for (const YAML::Node& entry : replaces) {
      const std::string name = Scalar(entry, "name");
      if (name.empty()) return Bad(file, "should not have an empty replaces entry");
      if (name == rate.name)
        return Bad(file, "replaces should not contain name of same descriptor");
      rate.replaces.push_back(name);
    }
  }
  return rate;
}

absl::Status LoadDescriptors(const std::string& file, const std::string& parent,
                             const YAML::Node& descriptors, EnvoyDescriptorNode* node) {
  if (!descriptors || descriptors.IsNull()) return absl::OkStatus();
  if (!descriptors.IsSequence()) return Bad(file, "descriptors must be a list");
  for (const YAML::Node& descriptor : descriptors) {
    const std::string key = Scalar(descriptor, "key");
    if (key.empty()) return Bad(file, "descriptor has empty key");
    const std::string value = Scalar(descriptor, "value");
    const std::string name = value.empty() ? key : absl::StrCat(key, "_", value);
    const std::string full_key = parent + name;

    if (node->children.contains(name)) {
      return Bad(file, absl::StrCat("duplicate descriptor composite key '", full_key, "'"));
    }
    EnvoyDescriptorNode child;
    child.share_threshold = Flag(descriptor, "share_threshold");
    if (child.share_threshold && name.back() != '*') {
      return Bad(file, absl::StrCat(full_key, ": share_threshold applies to wildcard values"));
    }
    if (const YAML::Node rate = descriptor["rate_limit"]; rate && rate.IsMap()) {
      HP_ASSIGN_OR_RETURN(child.limit,
                          RateLimitOf(file, rate, full_key, Flag(descriptor, "shadow_mode")));
    }
    HP_RETURN_IF_ERROR(LoadDescriptors(file, full_key + ".", descriptor["descriptors"], &child));
    if (name.back() == '*') node->wildcards.push_back(name);
    node->children.emplace(name, std::move(child));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t EnvoyUnitNanos(int unit) {
  switch (static_cast<EnvoyUnit>(unit)) {
    case EnvoyUnit::kSecond:
      return kSecondNs;
    case EnvoyUnit::kMinute:
      return 60 * kSecondNs;
    case EnvoyUnit::kHour:
      return 3600 * kSecondNs;
    case EnvoyUnit::kDay:
      return 86400 * kSecondNs;
    case EnvoyUnit::kWeek:
      return 7 * 86400 * kSecondNs;
    case EnvoyUnit::kMonth:
      return 30 * 86400 * kSecondNs;
    case EnvoyUnit::kYear:
      return 365 * 86400 * kSecondNs;
    default:
      return 0;
  }
}

absl::StatusOr<std::shared_ptr<const EnvoyConfig>> EnvoyConfig::Parse(
    const std::vector<std::pair<std::string, std::string>>& files) {
  auto config = std::make_shared<EnvoyConfig>();
  for (const auto& [file, text] : files) {
    // yaml-cpp reports errors by exception; they stop here as a Status.
    try {
      const YAML::Node root = YAML::Load(text);
      if (!root.IsMap()) return Bad(file, "error loading config file: not a YAML mapping");
      HP_RETURN_IF_ERROR(CheckKeys(file, root));
      const std::string domain = Scalar(root, "domain");
      if (domain.empty()) return Bad(file, "config file cannot have empty domain");
      if (config->domains_.contains(domain)) {
        return Bad(file, absl::StrCat("duplicate domain '", domain, "' in config file"));
      }
      EnvoyDescriptorNode node;
      HP_RETURN_IF_ERROR(LoadDescriptors(file, domain + ".", root["descriptors"], &node));
      config->domains_.emplace(domain, std::move(node));
    } catch (const YAML::Exception& e) {
      return Bad(file, absl::StrCat("error loading config file: ", e.what()));
    }
  }
  return std::shared_ptr<const EnvoyConfig>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const EnvoyConfig>> EnvoyConfig::Load(const std::string& path) {
  std::error_code error;
  std::vector<std::string> paths;
  if (std::filesystem::is_directory(path, error)) {
    // Every regular file, as envoyproxy/ratelimit reads its config directory.
    std::filesystem::directory_iterator it(path, error);
    for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      if (it->is_regular_file(error)) paths.push_back(it->path().string());
    }
    if (error) {
      return absl::UnavailableError(absl::StrCat("cannot list ", path, ": ", error.message()));
    }
    std::sort(paths.begin(), paths.end());
  } else if (std::filesystem::exists(path, error)) {
    paths.push_back(path);
  } else {
    return absl::NotFoundError(absl::StrCat("no rate limit configuration at ", path));
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& file : paths) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", file));
    std::ostringstream text;
    text << in.rdbuf();
    files.emplace_back(file, text.str());
  }
  return Parse(files);
}

const EnvoyRateLimit* EnvoyConfig::Match(std::string_view domain, const Entries& entries,
                                         std::string* state_name) const {
  auto found = domains_.find(domain);
  if (found == domains_.end()) return nullptr;
  const EnvoyDescriptorNode* level = &found->second;
  const EnvoyRateLimit* limit = nullptr;
  std::string name(domain);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    const std::string exact = absl::StrCat(key, "_", value);
    const EnvoyDescriptorNode* next = nullptr;
    std::string_view counted = exact;  // what this entry contributes to the counter's name
    if (auto it = level->children.find(exact); it != level->children.end()) next = &it->second;
    if (next == nullptr) {
      for (const std::string& wildcard : level->wildcards) {
        if (absl::StartsWith(exact, absl::string_view(wildcard).substr(0, wildcard.size() - 1))) {
          next = &level->children.find(wildcard)->second;
          if (next->share_threshold) counted = wildcard;
          break;
        }
      }
    }
    absl::StrAppend(&name, ".", value.empty() ? key : std::string(counted));
    if (next == nullptr) {
      if (auto it = level->children.find(key); it != level->children.end()) next = &it->second;
    }
    if (next == nullptr) break;
    // A limit applies only where the request's descriptor ends.
    if (next->limit.has_value() && i + 1 == entries.size()) {
      limit = &*next->limit;
      if (state_name != nullptr) *state_name = name;
    }
    if (next->children.empty()) break;
    level = next;
  }
  return limit;
}

}  // namespace hotpath::ratelimit
