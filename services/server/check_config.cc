#include "services/server/check_config.h"

#include "absl/strings/str_cat.h"
#include "services/auth/access_rules.h"
#include "services/ratelimit/envoy_config.h"
#include "services/ratelimit/policies.h"
#include "services/server/tls.h"

namespace hotpath {
namespace {

absl::Status Named(const char* option, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(option, ": ", status.message()));
}

}  // namespace

absl::Status CheckConfigFiles(const ServerConfig& config) {
  if (!config.ratelimit_policy_file.empty()) {
    absl::Status status = ratelimit::PolicySet::Load(config.ratelimit_policy_file).status();
    if (!status.ok()) return Named("ratelimit.policy_file", status);
  }
  if (!config.ratelimit_envoy_config.empty()) {
    absl::Status status = ratelimit::EnvoyConfig::Load(config.ratelimit_envoy_config).status();
    if (!status.ok()) return Named("ratelimit.envoy_config", status);
  }
  if (!config.auth_access_file.empty()) {
    absl::Status status = auth::AccessRules::Load(config.auth_access_file).status();
    if (!status.ok()) return Named("auth.access_file", status);
  }
  // Plaintext yields no files to read; TLS errors name their option themselves.
  return GrpcServerCredentials(config).status();
}

}  // namespace hotpath
