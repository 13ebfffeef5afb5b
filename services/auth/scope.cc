#include "services/auth/scope.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"

namespace hotpath::auth {
namespace {

constexpr std::array<std::string_view, kScopeCount> kNames = {
    "authenticated",     "ratelimit:check", "ratelimit:admin",  "session:read",
    "session:write",     "session:admin",   "leaderboard:read", "leaderboard:write",
    "leaderboard:admin", "pubsub:publish",  "pubsub:subscribe", "pubsub:admin",
    "admin:read",        "admin:write",     "health:check",
};

}  // namespace

std::string_view ScopeName(Scope scope) { return kNames[static_cast<int>(scope)]; }

absl::Status ScopeSet::AddPattern(std::string_view pattern) {
  bool matched = false;
  // Index 0 (kAuthenticated) is in every set and is not written in files.
  for (int i = 1; i < kScopeCount; ++i) {
    const std::string_view name = kNames[i];
    const std::string_view service = name.substr(0, name.find(':') + 1);  // "session:"
    if (pattern == "*" || pattern == name ||
        (pattern.size() == service.size() + 1 && pattern.substr(0, service.size()) == service &&
         pattern.back() == '*')) {
      Add(static_cast<Scope>(i));
      matched = true;
    }
  }
  if (matched) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scope \"", AbslView(pattern),
                   "\": expected <service>:<permission> such as session:read, <service>:*, or *"));
}

}  // namespace hotpath::auth
