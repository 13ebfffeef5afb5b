// Fuzzes the request handling of Envoy's ShouldRateLimit below gRPC (AnswerShouldRateLimit):
// any domain, descriptors of any entries, limits Envoy sends inline (any unit and count),
// hits_addend per request and per descriptor, and clock steps, against a fixed
// envoyproxy/ratelimit configuration with nested descriptors, wildcards, shadow mode,
// replaces and unlimited entries. Bad requests must come back as INVALID_ARGUMENT; answers
// must keep Envoy's contract: one status per descriptor, the overall code OVER_LIMIT exactly
// when an enforced descriptor is.
#include <cstddef>
#include <cstdint>
#include <string>

#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "services/ratelimit/envoy_service.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace ratelimit = hotpath::ratelimit;
using envoy::service::ratelimit::v3::RateLimitRequest;
using envoy::service::ratelimit::v3::RateLimitResponse;
using hotpath::fuzz::Pick;

constexpr char kConfig[] = R"(domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 3}
  - key: path
    value: /login
    shadow_mode: true
    descriptors:
      - key: user
        rate_limit: {unit: minute, requests_per_unit: 2}
  - key: api
    value: "v1*"
    rate_limit: {unit: hour, requests_per_unit: 5, name: api_v1}
  - key: api
    value: v1/free
    rate_limit: {unlimited: true}
  - key: tier
    value: gold
    rate_limit: {unit: second, requests_per_unit: 100, replaces: [{name: api_v1}]}
  - key: blocked
    rate_limit: {unit: second, requests_per_unit: 0}
)";

std::shared_ptr<const ratelimit::EnvoyConfig> Config() {
  static const auto* config = new std::shared_ptr<const ratelimit::EnvoyConfig>(
      ratelimit::EnvoyConfig::Parse({{"edge.yaml", kConfig}}).value());
  return *config;
}

void AddDescriptor(FuzzedDataProvider& in, RateLimitRequest* request) {
  static const char* const kKeys[] = {"remote_address", "path", "user", "api", "tier", "blocked"};
  static const char* const kValues[] = {"10.0.0.1", "/login", "alice", "v1/users",
                                        "v1/free",  "gold",   ""};
  auto* descriptor = request->add_descriptors();
  for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) {
    auto* entry = descriptor->add_entries();
    entry->set_key(Pick(in, kKeys));
    entry->set_value(Pick(in, kValues));
  }
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
    descriptor->mutable_limit()->set_requests_per_unit(in.ConsumeIntegral<uint32_t>() % 8);
    descriptor->mutable_limit()->set_unit(
        static_cast<RateLimitResponse::RateLimit::Unit>(in.ConsumeIntegralInRange<int>(-1, 7)));
  }
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
    descriptor->mutable_hits_addend()->set_value(in.ConsumeIntegral<uint64_t>() % 5);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  ratelimit::RateLimiter limiter(keyspace.get());
  static const char* const kDomains[] = {"edge", "other"};

  for (int step = 0; step < 32 && in.remaining_bytes() > 0; ++step) {
    if (in.ConsumeIntegralInRange<int>(0, 4) == 0) {
      clock.Advance(absl::Milliseconds(in.ConsumeIntegralInRange<int64_t>(0, 5'000)));
      continue;
    }
    RateLimitRequest request;
    request.set_domain(in.ConsumeBool() ? Pick(in, kDomains) : "");
    for (int i = in.ConsumeIntegralInRange<int>(0, 4); i > 0; --i) AddDescriptor(in, &request);
    request.set_hits_addend(in.ConsumeIntegral<uint32_t>() % 4);
    RateLimitResponse response;
    const absl::Status answered = ratelimit::AnswerShouldRateLimit(
        in.ConsumeBool() ? Config().get() : nullptr, limiter, request,
        /*response_headers=*/in.ConsumeBool(), /*metrics=*/nullptr, &response);
    if (!answered.ok()) {
      FUZZ_ASSERT_TRUE(absl::IsInvalidArgument(answered));
      FUZZ_ASSERT_TRUE(request.domain().empty() || request.descriptors().empty());
      continue;
    }
    FUZZ_ASSERT_TRUE(response.statuses_size() == request.descriptors_size());
    bool any_over = false;
    for (const auto& status : response.statuses()) {
      FUZZ_ASSERT_TRUE(status.code() == RateLimitResponse::OK ||
                       status.code() == RateLimitResponse::OVER_LIMIT);
      any_over = any_over || status.code() == RateLimitResponse::OVER_LIMIT;
      if (status.has_current_limit() && status.current_limit().requests_per_unit() > 0) {
        FUZZ_ASSERT_TRUE(status.limit_remaining() <= status.current_limit().requests_per_unit());
      }
    }
    FUZZ_ASSERT_TRUE((response.overall_code() == RateLimitResponse::OVER_LIMIT) == any_over);
  }
  return 0;
}
