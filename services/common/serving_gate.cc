#include "services/common/serving_gate.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"

namespace hotpath {

absl::Status ServingGate::CheckRoom(std::string_view ns) const {
  if (absl::Status open = Check(); !open.ok()) return open;
  if (keyspace_ == nullptr) return absl::OkStatus();
  if (limit_ != 0 && keyspace_->MemoryBytes() >= limit_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "hotpathd holds its memory cap of ", limit_,
        " bytes (engine.max_memory): calls that add data fail until some is removed or expires"));
  }
  if (ns.empty() || authorizer_ == nullptr || !authorizer_->enabled()) return absl::OkStatus();
  const std::shared_ptr<const auth::AccessRules> rules = authorizer_->rules();
  if (rules == nullptr || !rules->has_quotas()) return absl::OkStatus();
  const auth::Quota quota = rules->QuotaOf(ns);
  const NamespaceUsage usage = keyspace_->UsageOf(ns);
  const char* unit = nullptr;
  uint64_t limit = 0;
  if (quota.max_keys != 0 && usage.keys >= static_cast<int64_t>(quota.max_keys)) {
    unit = " keys";
    limit = quota.max_keys;
  } else if (quota.max_memory != 0 && usage.bytes >= static_cast<int64_t>(quota.max_memory)) {
    unit = " bytes";
    limit = quota.max_memory;
  }
  if (unit == nullptr) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "namespace \"", AbslView(ns), "\" holds its quota of ", limit, unit,
      " (access file): calls that add data to it fail until some is removed or expires"));
}

absl::Status ServingGate::Admit(const grpc::ServerContextBase& context, auth::Scope scope,
                                std::optional<std::string_view> ns, bool grows) const {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    if (absl::Status live = CheckDeadline(absl::FromChrono(deadline)); !live.ok()) return live;
  }
  if (authorizer_ != nullptr) {
    if (absl::Status allowed = authorizer_->Authorize(context, scope, ns); !allowed.ok()) {
      return allowed;
    }
  }
  // Every call's namespace is checked here, so that no service answers for a namespace that
  // cannot exist (a list would otherwise come back empty rather than refused).
  std::string_view name;
  if (ns.has_value()) {
    name = NamespaceOrDefault(*ns);
    if (absl::Status valid = ValidateNamespace(name); !valid.ok()) return valid;
  }
  return grows ? CheckRoom(name) : Check();
}

}  // namespace hotpath
