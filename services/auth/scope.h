// Scopes: what a caller's credentials allow. Every RPC needs one scope (services/auth/README
// in docs/security.md lists which); an API key or client certificate is granted a set of them.
//
// In the access file a scope is written "<service>:<permission>" ("session:read"), or as
// "<service>:*" for all of a service's scopes, or "*" for every scope.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace hotpath::auth {

enum class Scope : uint8_t {
  kAuthenticated,  // any valid credentials (AdminService/Ping)
  kRatelimitCheck,
  kRatelimitAdmin,
  kSessionRead,
  kSessionWrite,
  kSessionAdmin,
  kLeaderboardRead,
  kLeaderboardWrite,
  kLeaderboardAdmin,
  kPubsubPublish,
  kPubsubSubscribe,
  kPubsubAdmin,
  kAdminRead,
  kAdminWrite,
  kHealthCheck,
};
inline constexpr int kScopeCount = static_cast<int>(Scope::kHealthCheck) + 1;

// "session:read"; "authenticated" for kAuthenticated.
std::string_view ScopeName(Scope scope);

// A set of scopes; every set holds kAuthenticated.
class ScopeSet {
 public:
  ScopeSet() { Add(Scope::kAuthenticated); }
  void Add(Scope scope) { bits_ |= Bit(scope); }
  bool Has(Scope scope) const { return (bits_ & Bit(scope)) != 0; }

  // Adds what one access-file entry grants: "session:read", "session:*" or "*". InvalidArgument
  // for anything else, naming it.
  absl::Status AddPattern(std::string_view pattern);

 private:
  static uint32_t Bit(Scope scope) { return uint32_t{1} << static_cast<int>(scope); }
  uint32_t bits_ = 0;
};

}  // namespace hotpath::auth
