#include "services/auth/access_rules.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "engine/key.h"
#include "services/common/sha256.h"
#include "services/common/yaml_fields.h"
#include "yaml-cpp/yaml.h"

namespace hotpath::auth {
namespace {

constexpr size_t kSha256HexSize = 64;

absl::StatusOr<std::string> RequiredString(const YAML::Node& node, const char* field,
                                           const std::string& at) {
  const YAML::Node value = node[field];
  if (!value || !value.IsScalar() || value.as<std::string>().empty()) {
    return YamlError(at, absl::StrCat(field, " is required"));
  }
  return value.as<std::string>();
}

absl::StatusOr<std::vector<std::string>> RequiredList(const YAML::Node& node, const char* field,
                                                      const std::string& at) {
  const YAML::Node value = node[field];
  if (!value || !value.IsSequence() || value.size() == 0) {
    return YamlError(at, absl::StrCat(field, " must be a non-empty list"));
  }
  std::vector<std::string> items;
  for (const auto& item : value) items.push_back(item.as<std::string>());
  return items;
}

// id, scopes and namespaces: what keys and identities share.
absl::StatusOr<Principal> PrincipalOf(const YAML::Node& node, const std::string& at) {
  Principal principal;
  HP_ASSIGN_OR_RETURN(principal.id, RequiredString(node, "id", at));
  HP_ASSIGN_OR_RETURN(std::vector<std::string> scopes, RequiredList(node, "scopes", at));
  for (const std::string& scope : scopes) {
    if (absl::Status added = principal.scopes.AddPattern(scope); !added.ok()) {
      return YamlError(at + ".scopes", added.message());
    }
  }
  HP_ASSIGN_OR_RETURN(std::vector<std::string> namespaces, RequiredList(node, "namespaces", at));
  for (const std::string& ns : namespaces) {
    if (ns == "*") {
      principal.all_namespaces = true;
      continue;
    }
    if (absl::Status valid = ValidateNamespace(ns); !valid.ok()) {
      return YamlError(at + ".namespaces", valid.message());
    }
    principal.namespaces.push_back(ns);
  }
  return principal;
}

absl::StatusOr<uint64_t> OptionalCount(const YAML::Node& node, const char* field,
                                       const std::string& at) {
  const YAML::Node value = node[field];
  if (!value) return 0;
  uint64_t count = 0;
  if (!value.IsScalar() || !YAML::convert<uint64_t>::decode(value, count) ||
      count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return YamlError(at, absl::StrCat(field, " must be an integer from 0 (no limit) to 2^63-1"));
  }
  return count;
}

}  // namespace

bool Principal::MayUse(std::string_view ns) const {
  if (all_namespaces) return true;
  for (const std::string& allowed : namespaces) {
    if (allowed == ns) return true;
  }
  return false;
}

std::string KeySha256Hex(std::string_view key) {
  const Sha256Digest digest = Sha256(key);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

absl::StatusOr<std::shared_ptr<const AccessRules>> AccessRules::Parse(const std::string& name,
                                                                      const std::string& text) {
  auto rules = std::make_shared<AccessRules>();
  absl::flat_hash_map<std::string, std::string> ids;  // id -> where it was first defined
  auto claim_id = [&](const Principal& principal, const std::string& at) -> absl::Status {
    auto [it, inserted] = ids.emplace(principal.id, at);
    if (inserted) return absl::OkStatus();
    return YamlError(at, absl::StrCat("id \"", principal.id, "\" is already used by ", it->second));
  };
  // yaml-cpp reports errors (and bad conversions) by exception; they stop here as a Status.
  try {
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return YamlError(name, "the access file is empty");
    HP_RETURN_IF_ERROR(YamlOnlyKeys(root, name, {"keys", "identities", "namespaces"}));
    for (const char* section : {"keys", "identities", "namespaces"}) {
      if (root[section] && !root[section].IsSequence()) {
        return YamlError(name, absl::StrCat(section, " must be a list"));
      }
    }
    const YAML::Node keys = root["keys"];
    for (size_t i = 0; keys && i < keys.size(); ++i) {
      const std::string at = absl::StrCat(name, ": keys[", i, "]");
      HP_RETURN_IF_ERROR(YamlOnlyKeys(keys[i], at, {"id", "sha256", "scopes", "namespaces"}));
      HP_ASSIGN_OR_RETURN(Principal principal, PrincipalOf(keys[i], at));
      HP_RETURN_IF_ERROR(claim_id(principal, at));
      HP_ASSIGN_OR_RETURN(std::string hex, RequiredString(keys[i], "sha256", at));
      std::string digest = absl::HexStringToBytes(hex);
      if (hex.size() != kSha256HexSize ||
          absl::BytesToHexString(digest) != absl::AsciiStrToLower(hex)) {
        return YamlError(at, "sha256 must be 64 hex digits: the SHA-256 of the key, not the key");
      }
      if (rules->keys_.contains(digest)) {
        return YamlError(at, "the same key as an earlier entry (equal sha256)");
      }
      rules->keys_.emplace(std::move(digest), std::move(principal));
    }
    const YAML::Node identities = root["identities"];
    for (size_t i = 0; identities && i < identities.size(); ++i) {
      const std::string at = absl::StrCat(name, ": identities[", i, "]");
      HP_RETURN_IF_ERROR(YamlOnlyKeys(identities[i], at, {"id", "name", "scopes", "namespaces"}));
      HP_ASSIGN_OR_RETURN(Principal principal, PrincipalOf(identities[i], at));
      HP_RETURN_IF_ERROR(claim_id(principal, at));
      HP_ASSIGN_OR_RETURN(std::string cert_name, RequiredString(identities[i], "name", at));
      if (rules->identities_.contains(cert_name)) {
        return YamlError(at, absl::StrCat("a second identity named \"", cert_name, "\""));
      }
      rules->identities_.emplace(std::move(cert_name), std::move(principal));
    }
    const YAML::Node quotas = root["namespaces"];
    for (size_t i = 0; quotas && i < quotas.size(); ++i) {
      const std::string at = absl::StrCat(name, ": namespaces[", i, "]");
      HP_RETURN_IF_ERROR(YamlOnlyKeys(quotas[i], at, {"name", "max_keys", "max_memory"}));
      HP_ASSIGN_OR_RETURN(std::string ns, RequiredString(quotas[i], "name", at));
      if (ns != "*") {
        if (absl::Status valid = ValidateNamespace(ns); !valid.ok()) {
          return YamlError(at, valid.message());
        }
      }
      Quota quota;
      HP_ASSIGN_OR_RETURN(quota.max_keys, OptionalCount(quotas[i], "max_keys", at));
      HP_ASSIGN_OR_RETURN(quota.max_memory, OptionalCount(quotas[i], "max_memory", at));
      if (!rules->quotas_.emplace(ns, quota).second) {
        return YamlError(at, absl::StrCat("a second entry for namespace \"", ns, "\""));
      }
    }
  } catch (const YAML::Exception& e) {
    return YamlError(name, e.what());
  }
  if (rules->keys_.empty() && rules->identities_.empty()) {
    return YamlError(name, "no keys and no identities: nobody could call hotpathd");
  }
  return std::shared_ptr<const AccessRules>(std::move(rules));
}

absl::StatusOr<std::shared_ptr<const AccessRules>> AccessRules::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the access file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(path, text.str());
}

const Principal* AccessRules::FindKey(std::string_view secret) const {
  const Sha256Digest digest = Sha256(secret);
  auto it =
      keys_.find(absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  return it == keys_.end() ? nullptr : &it->second;
}

const Principal* AccessRules::FindIdentity(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    if (auto it = identities_.find(name); it != identities_.end()) return &it->second;
  }
  return nullptr;
}

Quota AccessRules::QuotaOf(std::string_view ns) const {
  if (auto it = quotas_.find(AbslView(ns)); it != quotas_.end()) return it->second;
  if (auto it = quotas_.find("*"); it != quotas_.end()) return it->second;
  return {};
}

}  // namespace hotpath::auth
