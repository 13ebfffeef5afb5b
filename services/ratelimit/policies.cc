#include "services/ratelimit/policies.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "services/common/yaml_fields.h"
#include "services/ratelimit/rate_limiter.h"
#include "yaml-cpp/yaml.h"

namespace hotpath::ratelimit {
namespace {

absl::StatusOr<std::vector<Limit>> LimitsOf(const YAML::Node& node, const std::string& where) {
  if (!node || !node.IsSequence() || node.size() == 0) {
    return YamlError(where, "limits must be a non-empty list");
  }
  if (node.size() > kMaxLimitsPerCheck) {
    return YamlError(where, absl::StrCat("at most ", kMaxLimitsPerCheck, " limits"));
  }
  std::vector<Limit> limits;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat(where, "[", i, "]");
    const YAML::Node item = node[i];
    HP_RETURN_IF_ERROR(YamlOnlyKeys(item, at, {"algorithm", "limit", "period", "burst"}));
    Limit limit;
    HP_ASSIGN_OR_RETURN(
        limit.algorithm,
        ParseAlgorithm(item["algorithm"] ? item["algorithm"].as<std::string>() : "sliding_window"));
    if (!item["limit"]) return YamlError(at, "limit is required");
    limit.limit = item["limit"].as<int64_t>();
    absl::Duration period;
    if (!item["period"] || !absl::ParseDuration(item["period"].as<std::string>(), &period)) {
      return YamlError(at, "period must be a duration such as 1s, 5m or 1h");
    }
    limit.period_ns = absl::ToInt64Nanoseconds(period);
    limit.burst = item["burst"] ? item["burst"].as<int64_t>() : 0;
    HP_RETURN_IF_ERROR(ValidateLimit(limit, absl::StrCat(at, ".")));
    for (size_t j = 0; j < limits.size(); ++j) {
      if (RateLimiter::StateKey("", limits[j]) == RateLimiter::StateKey("", limit)) {
        return YamlError(at, absl::StrCat("repeats ", where, "[", j, "]"));
      }
    }
    limits.push_back(limit);
  }
  return limits;
}

}  // namespace

const std::vector<Limit>& Policy::LimitsFor(std::string_view key) const {
  for (const Override& o : overrides) {
    if (o.prefix ? absl::StartsWith(AbslView(key), o.key) : key == o.key) return o.limits;
  }
  return limits;
}

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::Parse(const std::string& name,
                                                                  const std::string& text) {
  auto set = std::make_shared<PolicySet>();
  // yaml-cpp reports errors (and bad conversions) by exception; they stop here as a Status.
  try {
    const YAML::Node root = YAML::Load(text);
    HP_RETURN_IF_ERROR(YamlOnlyKeys(root, name, {"policies"}));
    const YAML::Node policies = root["policies"];
    if (!policies || !policies.IsSequence()) return YamlError(name, "policies must be a list");
    for (size_t i = 0; i < policies.size(); ++i) {
      const std::string at = absl::StrCat(name, ": policies[", i, "]");
      const YAML::Node node = policies[i];
      HP_RETURN_IF_ERROR(YamlOnlyKeys(node, at, {"name", "limits", "overrides", "shadow"}));
      Policy policy;
      policy.name = node["name"] ? node["name"].as<std::string>() : "";
      if (policy.name.empty()) return YamlError(at, "name is required");
      if (set->policies_.contains(policy.name)) {
        return YamlError(at, absl::StrCat("a second policy named \"", policy.name, "\""));
      }
      policy.shadow = node["shadow"] && node["shadow"].as<bool>();
      HP_ASSIGN_OR_RETURN(policy.limits, LimitsOf(node["limits"], at + ".limits"));
      if (const YAML::Node overrides = node["overrides"]; overrides) {
        if (!overrides.IsSequence()) return YamlError(at, "overrides must be a list");
        for (size_t j = 0; j < overrides.size(); ++j) {
          const std::string o_at = absl::StrCat(at, ".overrides[", j, "]");
          HP_RETURN_IF_ERROR(YamlOnlyKeys(overrides[j], o_at, {"key", "limits"}));
          Policy::Override o;
          o.key = overrides[j]["key"] ? overrides[j]["key"].as<std::string>() : "";
          if (o.key.empty()) return YamlError(o_at, "key is required");
          o.prefix = o.key.back() == '*';
          if (o.prefix) o.key.pop_back();
          HP_ASSIGN_OR_RETURN(o.limits, LimitsOf(overrides[j]["limits"], o_at + ".limits"));
          policy.overrides.push_back(std::move(o));
        }
      }
      set->policies_.emplace(policy.name, std::move(policy));
    }
  } catch (const YAML::Exception& e) {
    return YamlError(name, e.what());
  }
  return std::shared_ptr<const PolicySet>(std::move(set));
}

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the policy file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(path, text.str());
}

const Policy* PolicySet::Find(std::string_view name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

std::vector<std::string> PolicySet::names() const {
  std::vector<std::string> names;
  for (const auto& [name, policy] : policies_) names.push_back(name);
  return names;
}

}  // namespace hotpath::ratelimit
