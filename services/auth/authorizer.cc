#include "services/auth/authorizer.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/key.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace hotpath::auth {

std::string_view FailureName(Failure failure) {
  switch (failure) {
    case Failure::kMissing:
      return "missing_credentials";
    case Failure::kInvalid:
      return "invalid_credentials";
    case Failure::kScope:
      return "scope";
    case Failure::kNamespace:
      return "namespace";
  }
  return "unknown";
}

Authorizer::Authorizer(prometheus::Registry* registry, bool exempt_health)
    : exempt_health_(exempt_health) {
  if (registry == nullptr) return;
  auto& family = prometheus::BuildCounter()
                     .Name("hotpath_auth_failures_total")
                     .Help("Calls refused for their credentials, by reason.")
                     .Register(*registry);
  for (int i = 0; i < kFailureKinds; ++i) {
    counters_[i] = &family.Add({{"reason", std::string(FailureName(static_cast<Failure>(i)))}});
  }
}

void Authorizer::SetRules(std::shared_ptr<const AccessRules> rules) {
  absl::MutexLock lock(&mu_);
  enabled_.store(rules != nullptr, std::memory_order_release);
  rules_ = std::move(rules);
}

std::shared_ptr<const AccessRules> Authorizer::rules() const {
  absl::ReaderMutexLock lock(&mu_);
  return rules_;
}

absl::Status Authorizer::Fail(Failure failure, absl::Status status) const {
  failures_[static_cast<int>(failure)].fetch_add(1, std::memory_order_relaxed);
  if (counters_[static_cast<int>(failure)] != nullptr) {
    counters_[static_cast<int>(failure)]->Increment();
  }
  return status;
}

absl::Status Authorizer::Authorize(const Credentials& credentials, Scope scope,
                                   std::optional<std::string_view> ns) const {
  if (!enabled() || (scope == Scope::kHealthCheck && exempt_health_)) return absl::OkStatus();
  const std::shared_ptr<const AccessRules> rules = this->rules();
  if (rules == nullptr) return absl::OkStatus();  // turned off meanwhile
  const Principal* principal = nullptr;
  const char* kind = "key";
  if (credentials.authorization.has_value()) {
    std::string_view key = *credentials.authorization;
    // The scheme is case-insensitive (RFC 9110); the key is what follows one space.
    if (key.size() < 7 || !absl::EqualsIgnoreCase(AbslView(key.substr(0, 7)), "bearer ")) {
      return Fail(Failure::kInvalid, absl::UnauthenticatedError(
                                         "the authorization metadata must be \"Bearer <key>\""));
    }
    key.remove_prefix(7);
    principal = rules->FindKey(key);
    if (principal == nullptr) {
      return Fail(Failure::kInvalid, absl::UnauthenticatedError("the API key is not valid"));
    }
  } else {
    kind = "identity";
    principal = rules->FindIdentity(credentials.certificate_names);
    if (principal == nullptr) {
      return Fail(Failure::kMissing,
                  absl::UnauthenticatedError(
                      credentials.certificate_names.empty()
                          ? "credentials required: send \"authorization: Bearer <key>\" metadata"
                          : "the client certificate names no identity of the access file, and "
                            "no \"authorization: Bearer <key>\" metadata was sent"));
    }
  }
  if (!principal->scopes.Has(scope)) {
    return Fail(Failure::kScope, absl::PermissionDeniedError(
                                     absl::StrCat(kind, " \"", principal->id, "\" lacks the scope ",
                                                  AbslView(ScopeName(scope)))));
  }
  if (!ns.has_value()) return absl::OkStatus();  // server-wide
  const std::string_view name = NamespaceOrDefault(*ns);
  if (!principal->MayUse(name)) {
    return Fail(Failure::kNamespace, absl::PermissionDeniedError(absl::StrCat(
                                         kind, " \"", principal->id,
                                         "\" may not use the namespace \"", AbslView(name), "\"")));
  }
  return absl::OkStatus();
}

absl::Status Authorizer::Authorize(const grpc::ServerContextBase& context, Scope scope,
                                   std::optional<std::string_view> ns) const {
  if (!enabled()) return absl::OkStatus();
  Credentials credentials;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    credentials.authorization.emplace(it->second.data(), it->second.size());
  }
  if (!credentials.authorization.has_value()) {
    const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth != nullptr && auth->IsPeerAuthenticated()) {
      for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
        for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
          credentials.certificate_names.emplace_back(name.data(), name.size());
        }
      }
    }
  }
  return Authorize(credentials, scope, ns);
}

}  // namespace hotpath::auth
