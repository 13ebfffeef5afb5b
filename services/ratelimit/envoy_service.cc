#include "services/ratelimit/envoy_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace hotpath::ratelimit {
namespace {

using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;

constexpr int64_t kSecondNs = 1'000'000'000;

// "domain.key_value.key2_value2": one state per distinct set of descriptor values.
std::string StateName(const std::string& domain, const EnvoyConfig::Entries& entries) {
  std::string name = domain;
  for (const auto& [key, value] : entries) {
    absl::StrAppend(&name, ".", key);
    if (!value.empty()) absl::StrAppend(&name, "_", value);
  }
  return name;
}

// What one descriptor resolved to.
struct Resolved {
  std::optional<EnvoyRateLimit> limit;  // empty: no limit applies
  int64_t hits = 1;
  std::optional<size_t> check;  // index into the request's checks
};

}  // namespace

absl::Status AnswerShouldRateLimit(const EnvoyConfig* config, RateLimiter& limiter,
                                   const RateLimitRequest& request, bool response_headers,
                                   RateLimitMetrics* metrics, RateLimitResponse* response) {
  if (request.domain().empty()) {
    return absl::InvalidArgumentError("rate limit domain must not be empty");
  }
  if (request.descriptors().empty()) {
    return absl::InvalidArgumentError("rate limit descriptor list must not be empty");
  }
  if (static_cast<size_t>(request.descriptors_size()) > kMaxChecksPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "at most ", kMaxChecksPerBatch, " descriptors, got ", request.descriptors_size()));
  }
  // As envoyproxy/ratelimit: a domain the configuration lacks has no limits, not even the
  // ones Envoy sends with a descriptor.
  const bool known_domain = config != nullptr && config->HasDomain(request.domain());

  // Resolve every descriptor to its limit and hits.
  std::vector<Resolved> resolved(request.descriptors_size());
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& descriptor = request.descriptors(i);
    EnvoyConfig::Entries entries;
    for (const auto& entry : descriptor.entries()) entries.emplace_back(entry.key(), entry.value());
    Resolved& r = resolved[i];
    r.hits =
        descriptor.has_hits_addend()
            ? static_cast<int64_t>(std::min<uint64_t>(descriptor.hits_addend().value(), kMaxLimit))
            : std::max<int64_t>(1, request.hits_addend());
    if (!known_domain) continue;
    if (descriptor.has_limit()) {
      const int64_t period = EnvoyUnitNanos(descriptor.limit().unit());
      const uint32_t count = descriptor.limit().requests_per_unit();
      if (period > 0) {
        r.limit = EnvoyRateLimit{
            .limit = {.algorithm = Algorithm::kFixedWindow,
                      .limit = std::min<int64_t>(std::max<uint32_t>(count, 1), kMaxLimit),
                      .period_ns = period},
            .unit = static_cast<EnvoyUnit>(descriptor.limit().unit()),
            .requests_per_unit = count};
      }
      if (r.limit.has_value()) r.limit->full_key = StateName(request.domain(), entries);
    } else {
      std::string state_name;
      if (const EnvoyRateLimit* match = config->Match(request.domain(), entries, &state_name)) {
        r.limit = *match;
        r.limit->full_key = std::move(state_name);
      }
    }
  }
  // A matched limit named in any matched limit's `replaces` does not apply (the names are
  // gathered first, so the outcome does not depend on descriptor order).
  absl::flat_hash_set<std::string> replaced;
  for (const Resolved& r : resolved) {
    if (!r.limit.has_value() || r.limit->unlimited) continue;
    replaced.insert(r.limit->replaces.begin(), r.limit->replaces.end());
  }
  for (Resolved& r : resolved) {
    if (r.limit.has_value() && !r.limit->name.empty() && replaced.contains(r.limit->name)) {
      r.limit.reset();
    }
  }

  // Enforced limits as one atomic step; shadow ones each on their own.
  std::vector<CheckSpec> checks;
  for (Resolved& r : resolved) {
    // requests_per_unit 0 blocks everything (as in envoyproxy/ratelimit): answered below.
    if (!r.limit.has_value() || r.limit->unlimited || r.limit->requests_per_unit == 0) continue;
    r.check = checks.size();
    checks.push_back(CheckSpec{.ns = std::string(kEnvoyNamespace),
                               .key = r.limit->full_key,
                               .limits = {r.limit->limit},
                               .cost = r.hits,
                               .shadow = r.limit->shadow_mode});
  }
  absl::StatusOr<BatchResult> results = BatchResult{};
  if (!checks.empty()) results = limiter.CheckBatch(checks, /*all_or_nothing=*/true);
  if (!results.ok()) return results.status();

  bool over = false;
  const CheckResult* closest = nullptr;
  const EnvoyRateLimit* closest_limit = nullptr;
  int64_t retry_after_ns = 0;
  for (const Resolved& r : resolved) {
    RateLimitResponse::DescriptorStatus* status = response->add_statuses();
    status->set_code(RateLimitResponse::OK);
    if (r.limit.has_value() && !r.limit->unlimited && r.limit->requests_per_unit == 0) {
      status->mutable_current_limit()->set_unit(
          static_cast<RateLimitResponse::RateLimit::Unit>(r.limit->unit));
      status->mutable_current_limit()->set_name(r.limit->name);
      if (!r.limit->shadow_mode) {
        status->set_code(RateLimitResponse::OVER_LIMIT);
        over = true;
      }
      continue;
    }
    if (!r.check.has_value()) continue;
    const bool is_shadow = r.limit->shadow_mode;
    const CheckResult& result = results->results[*r.check];
    if (metrics != nullptr) {
      const bool known = config != nullptr && config->HasDomain(request.domain());
      metrics->Record(RateLimitMetrics::Api::kEnvoy, known ? request.domain() : "unknown", result,
                      is_shadow);
    }
    auto* current = status->mutable_current_limit();
    current->set_requests_per_unit(r.limit->requests_per_unit);
    current->set_unit(static_cast<RateLimitResponse::RateLimit::Unit>(r.limit->unit));
    current->set_name(r.limit->name);
    status->set_limit_remaining(static_cast<uint32_t>(result.remaining));
    status->mutable_duration_until_reset()->set_seconds(result.reset_after_ns / kSecondNs);
    status->mutable_duration_until_reset()->set_nanos(
        static_cast<int32_t>(result.reset_after_ns % kSecondNs));
    const bool denied = result.outcome != Outcome::kAllowed;
    if (denied && !is_shadow) {
      status->set_code(RateLimitResponse::OVER_LIMIT);
      over = true;
      retry_after_ns = std::max(retry_after_ns, result.reset_after_ns);
    }
    if (closest == nullptr || result.remaining < closest->remaining) {
      closest = &result;
      closest_limit = &*r.limit;
    }
  }
  response->set_overall_code(over ? RateLimitResponse::OVER_LIMIT : RateLimitResponse::OK);
  if (response_headers && closest != nullptr) {
    auto header = [&](const char* key, int64_t value) {
      auto* added = response->add_response_headers_to_add();
      added->set_key(key);
      added->set_value(absl::StrCat(value));
    };
    header("RateLimit-Limit", closest_limit->requests_per_unit);
    header("RateLimit-Remaining", closest->remaining);
    header("RateLimit-Reset", (closest->reset_after_ns + kSecondNs - 1) / kSecondNs);
    if (over && retry_after_ns > 0) {
      header("Retry-After", (retry_after_ns + kSecondNs - 1) / kSecondNs);
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* EnvoyRateLimitService::ShouldRateLimit(
    grpc::CallbackServerContext* context, const RateLimitRequest* request,
    RateLimitResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = gate_->Admit(*context, auth::Scope::kRatelimitCheck, kEnvoyNamespace);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  return call.Finish(AnswerShouldRateLimit(config().get(), *limiter_, *request, response_headers_,
                                           metrics_, response));
}

}  // namespace hotpath::ratelimit
