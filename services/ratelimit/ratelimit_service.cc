#include "services/ratelimit/ratelimit_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/common/namespace.h"

namespace hotpath::ratelimit {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// A zero duration is left unset, which every reader sees as zero: a batch of allowed checks
// then carries no empty retry_after messages.
template <typename Message>
void SetDuration(int64_t ns, Message* out, google::protobuf::Duration* (Message::*field)()) {
  if (ns == 0) return;
  google::protobuf::Duration* duration = (out->*field)();
  duration->set_seconds(ns / kNanosPerSecond);
  duration->set_nanos(static_cast<int32_t>(ns % kNanosPerSecond));
}

// Errors name fields relative to the limit; callers put its path before them (Prefixed).
absl::StatusOr<Algorithm> AlgorithmOf(v1::Algorithm algorithm) {
  switch (algorithm) {
    case v1::ALGORITHM_SLIDING_WINDOW:
      return Algorithm::kSlidingWindow;
    case v1::ALGORITHM_TOKEN_BUCKET:
      return Algorithm::kTokenBucket;
    case v1::ALGORITHM_FIXED_WINDOW:
      return Algorithm::kFixedWindow;
    case v1::ALGORITHM_GCRA:
      return Algorithm::kGcra;
    default:
      return absl::InvalidArgumentError(
          "algorithm must be ALGORITHM_SLIDING_WINDOW, ALGORITHM_TOKEN_BUCKET, "
          "ALGORITHM_FIXED_WINDOW or ALGORITHM_GCRA");
  }
}

absl::StatusOr<Limit> LimitOf(const v1::Limit& limit) {
  HP_ASSIGN_OR_RETURN(Algorithm algorithm, AlgorithmOf(limit.algorithm()));
  const google::protobuf::Duration& period = limit.period();
  if (period.seconds() < 0 || period.nanos() < 0 || period.nanos() >= kNanosPerSecond ||
      period.seconds() > kMaxPeriodNs / kNanosPerSecond) {
    return absl::InvalidArgumentError("period must be positive and at most 366 days");
  }
  // Out-of-range counts are clamped to one past the maximum so validation names them.
  auto count = [](uint64_t v) {
    return static_cast<int64_t>(std::min<uint64_t>(v, kMaxLimit + 1));
  };
  return Limit{.algorithm = algorithm,
               .limit = count(limit.limit()),
               .period_ns = period.seconds() * kNanosPerSecond + period.nanos(),
               .burst = count(limit.burst())};
}

absl::StatusOr<CheckSpec> SpecOf(const std::string& ns, const std::string& key,
                                 const google::protobuf::RepeatedPtrField<v1::Limit>& limits,
                                 std::optional<uint64_t> cost) {
  CheckSpec spec{.ns = NamespaceOf(ns), .key = key};
  for (int i = 0; i < limits.size(); ++i) {
    absl::StatusOr<Limit> limit = LimitOf(limits[i]);
    if (!limit.ok()) return Prefixed(limit.status(), "limits[", i, "].");
    spec.limits.push_back(*limit);
  }
  if (cost.has_value()) spec.cost = static_cast<int64_t>(std::min<uint64_t>(*cost, kMaxLimit + 1));
  HP_RETURN_IF_ERROR(RateLimiter::Validate(spec));
  return spec;
}

// A check, its policy's name ("inline" for limits in the request) and shadow mode.
struct Resolved {
  CheckSpec spec;
  bool shadow = false;
  std::string policy = "inline";
};

// A check's or a reset's limits: inline, or the named policy's for this key (never both).
absl::StatusOr<Resolved> Resolve(const std::string& ns, const std::string& key,
                                 const google::protobuf::RepeatedPtrField<v1::Limit>& limits,
                                 const std::string& policy_name, std::optional<uint64_t> cost,
                                 const PolicySet* policies) {
  if (policy_name.empty()) {
    HP_ASSIGN_OR_RETURN(CheckSpec spec, SpecOf(ns, key, limits, cost));
    return Resolved{std::move(spec)};
  }
  if (!limits.empty()) {
    return absl::InvalidArgumentError("give either policy or limits, not both");
  }
  const Policy* policy = policies != nullptr ? policies->Find(policy_name) : nullptr;
  if (policy == nullptr) {
    return absl::NotFoundError(absl::StrCat("policy: no policy named \"", policy_name, "\""));
  }
  CheckSpec spec{.ns = NamespaceOf(ns), .key = key, .limits = policy->LimitsFor(key)};
  if (cost.has_value()) spec.cost = static_cast<int64_t>(std::min<uint64_t>(*cost, kMaxLimit + 1));
  HP_RETURN_IF_ERROR(RateLimiter::Validate(spec));
  return Resolved{std::move(spec), policy->shadow, policy->name};
}

absl::StatusOr<Resolved> SpecOf(const v1::CheckRequest& request, const PolicySet* policies) {
  const std::optional<uint64_t> cost =
      request.has_cost() ? std::optional<uint64_t>(request.cost()) : std::nullopt;
  return Resolve(request.namespace_(), request.key(), request.limits(), request.policy(), cost,
                 policies);
}

v1::Outcome OutcomeOf(bool allowed, bool impossible) {
  return allowed      ? v1::OUTCOME_ALLOWED
         : impossible ? v1::OUTCOME_COST_TOO_HIGH
                      : v1::OUTCOME_DENIED;
}

v1::Outcome OutcomeOf(Outcome outcome) {
  return outcome == Outcome::kAllowed  ? v1::OUTCOME_ALLOWED
         : outcome == Outcome::kDenied ? v1::OUTCOME_DENIED
                                       : v1::OUTCOME_COST_TOO_HIGH;
}

void Fill(const CheckResult& result, bool shadow, v1::CheckResponse* out) {
  out->set_outcome(shadow ? v1::OUTCOME_ALLOWED : OutcomeOf(result.outcome));
  if (shadow) out->set_shadow_outcome(OutcomeOf(result.outcome));
  out->set_limit(static_cast<uint64_t>(result.limit));
  out->set_remaining(static_cast<uint64_t>(result.remaining));
  SetDuration(result.reset_after_ns, out, &v1::CheckResponse::mutable_reset_after);
  SetDuration(result.retry_after_ns, out, &v1::CheckResponse::mutable_retry_after);
  for (const Decision& d : result.limits) {
    v1::LimitStatus* status = out->add_limits();
    status->set_outcome(OutcomeOf(d.allowed, d.impossible));
    status->set_limit(static_cast<uint64_t>(d.limit));
    status->set_remaining(static_cast<uint64_t>(d.remaining));
    SetDuration(d.reset_after_ns, status, &v1::LimitStatus::mutable_reset_after);
    SetDuration(d.retry_after_ns, status, &v1::LimitStatus::mutable_retry_after);
  }
}

}  // namespace

grpc::ServerUnaryReactor* RateLimitService::Check(grpc::CallbackServerContext* context,
                                                  const v1::CheckRequest* request,
                                                  v1::CheckResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          gate_->Admit(*context, auth::Scope::kRatelimitCheck, NamespaceOf(request->namespace_()));
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  const std::shared_ptr<const PolicySet> policies = this->policies();
  absl::StatusOr<Resolved> resolved = SpecOf(*request, policies.get());
  if (!resolved.ok()) return call.Finish(resolved.status());
  absl::StatusOr<CheckResult> result = limiter_->Check(resolved->spec);
  if (result.ok()) {
    Fill(*result, resolved->shadow, response);
    if (metrics_ != nullptr) {
      metrics_->Record(RateLimitMetrics::Api::kHotpath, resolved->policy, *result,
                       resolved->shadow);
    }
  }
  return call.Finish(result.status());
}

grpc::ServerUnaryReactor* RateLimitService::CheckBatch(grpc::CallbackServerContext* context,
                                                       const v1::CheckBatchRequest* request,
                                                       v1::CheckBatchResponse* response) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted = gate_->Admit(*context, auth::Scope::kRatelimitCheck, std::nullopt);
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  if (request->checks_size() == 0 ||
      static_cast<size_t>(request->checks_size()) > kMaxChecksPerBatch) {
    return call.Finish(absl::InvalidArgumentError(absl::StrCat(
        "checks must hold 1 to ", kMaxChecksPerBatch, " checks, got ", request->checks_size())));
  }
  // Each namespace the batch touches must be the caller's.
  absl::flat_hash_set<std::string> namespaces;
  for (const v1::CheckRequest& check : request->checks()) {
    namespaces.insert(NamespaceOf(check.namespace_()));
  }
  for (const std::string& ns : namespaces) {
    if (absl::Status admitted = gate_->Admit(*context, auth::Scope::kRatelimitCheck, ns);
        !admitted.ok()) {
      return call.Finish(admitted);
    }
  }
  const std::shared_ptr<const PolicySet> policies = this->policies();
  std::vector<CheckSpec> specs;
  std::vector<std::string> policy_names;
  for (int i = 0; i < request->checks_size(); ++i) {
    absl::StatusOr<Resolved> resolved = SpecOf(request->checks(i), policies.get());
    if (!resolved.ok()) return call.Finish(Prefixed(resolved.status(), "checks[", i, "]."));
    resolved->spec.shadow = resolved->shadow;
    specs.push_back(std::move(resolved->spec));
    policy_names.push_back(std::move(resolved->policy));
  }
  absl::StatusOr<BatchResult> batch = limiter_->CheckBatch(specs, request->all_or_nothing());
  if (!batch.ok()) return call.Finish(batch.status());
  const RateLimitMetrics::Series* series = nullptr;  // of policy_names[i - 1]
  for (size_t i = 0; i < specs.size(); ++i) {
    Fill(batch->results[i], specs[i].shadow, response->add_results());
    if (metrics_ == nullptr) continue;
    if (series == nullptr || policy_names[i] != policy_names[i - 1]) {
      series = &metrics_->SeriesFor(RateLimitMetrics::Api::kHotpath, policy_names[i]);
    }
    RateLimitMetrics::Record(*series, batch->results[i], specs[i].shadow);
  }
  response->set_consumed(batch->consumed);
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* RateLimitService::Reset(grpc::CallbackServerContext* context,
                                                  const v1::ResetRequest* request,
                                                  v1::ResetResponse* /*response*/) {
  UnaryCall call = Call(context, __func__);
  if (absl::Status admitted =
          gate_->Admit(*context, auth::Scope::kRatelimitAdmin, NamespaceOf(request->namespace_()));
      !admitted.ok()) {
    return call.Finish(admitted);
  }
  absl::StatusOr<Resolved> resolved =
      Resolve(request->namespace_(), request->key(), request->limits(), request->policy(),
              std::nullopt, policies().get());
  if (!resolved.ok()) return call.Finish(resolved.status());
  const CheckSpec* spec = &resolved->spec;
  if (store_ != nullptr) {
    if (absl::Status writable = store_->CheckWritable(); !writable.ok()) {
      return call.Finish(writable);
    }
  }
  absl::StatusOr<bool> reset = limiter_->Reset(*spec);
  // Answered once the deletion is durable.
  return call.FinishDurable(store_, reset.status(), /*wait=*/reset.ok());
}

}  // namespace hotpath::ratelimit
