// Authorizer: decides whether a call's credentials allow its scope in its namespace.
//
// Credentials are an API key sent as "authorization: Bearer <key>" metadata, or a client
// certificate verified by TLS (tls.client_ca_file) whose common name or a subject alternative
// name an identity of the access file names. A key, when sent, decides alone: a wrong key is
// refused even over a certificate that would pass.
//
// Answers: OK; UNAUTHENTICATED without credentials or with a key the rules do not hold;
// PERMISSION_DENIED for a scope or namespace outside the caller's grant. Messages name the
// key's id, the scope and the namespace; never the secret. Each refusal is counted by reason
// (hotpath_auth_failures_total).
//
// With no rules set (no auth.access_file) every call is allowed: the default for a server on
// loopback. Health checks are allowed without credentials when `exempt_health` is set.
//
// Thread safety: every method may be called from any thread; SetRules swaps the rules for the
// calls that start afterwards.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/auth/access_rules.h"
#include "services/auth/scope.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace hotpath::auth {

// What a call presented.
struct Credentials {
  std::optional<std::string_view> authorization;  // the header's value, as sent
  std::vector<std::string> certificate_names;     // of a verified client certificate
};

enum class Failure : uint8_t { kMissing, kInvalid, kScope, kNamespace };
inline constexpr int kFailureKinds = 4;
// "missing_credentials", "invalid_credentials", "scope", "namespace": the metric's labels.
std::string_view FailureName(Failure failure);

class Authorizer {
 public:
  // `registry`, when not null, gets hotpath_auth_failures_total{reason}.
  explicit Authorizer(prometheus::Registry* registry = nullptr, bool exempt_health = true);

  // Null turns authorization off.
  void SetRules(std::shared_ptr<const AccessRules> rules);
  std::shared_ptr<const AccessRules> rules() const;
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

  // `ns` is the call's namespace, empty meaning the default one; nullopt for a server-wide
  // call (admin, health, a stream before it names its namespace): then only the scope counts.
  absl::Status Authorize(const Credentials& credentials, Scope scope,
                         std::optional<std::string_view> ns) const;
  // The same for a gRPC call: its metadata and its peer's verified certificate.
  absl::Status Authorize(const grpc::ServerContextBase& context, Scope scope,
                         std::optional<std::string_view> ns) const;

  uint64_t failures(Failure failure) const {
    return failures_[static_cast<int>(failure)].load(std::memory_order_relaxed);
  }

 private:
  absl::Status Fail(Failure failure, absl::Status status) const;

  const bool exempt_health_;
  std::atomic<bool> enabled_{false};
  mutable absl::Mutex mu_;
  std::shared_ptr<const AccessRules> rules_ ABSL_GUARDED_BY(mu_);
  mutable std::array<std::atomic<uint64_t>, kFailureKinds> failures_{};
  std::array<prometheus::Counter*, kFailureKinds> counters_{};
};

}  // namespace hotpath::auth
