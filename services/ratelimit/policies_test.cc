#include "services/ratelimit/policies.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::ratelimit {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicies[] = R"yaml(
policies:
  - name: api
    limits:
      - {algorithm: token_bucket, limit: 100, period: 1s, burst: 200}
      - {algorithm: fixed_window, limit: 10000, period: 1h}
    overrides:
      - key: vip
        limits: [{algorithm: gcra, limit: 5000, period: 1s}]
      - key: premium-*
        limits: [{algorithm: token_bucket, limit: 1000, period: 1s}]
  - name: signup
    shadow: true
    limits: [{limit: 5, period: 1h}]
)yaml";

TEST(Policies, LoadsNamedPoliciesWithOverridesAndShadowMode) {
  auto set = PolicySet::Parse("p.yaml", kPolicies).value();
  const Policy* api = set->Find("api");
  ASSERT_NE(api, nullptr);
  ASSERT_EQ(api->limits.size(), 2u);
  EXPECT_EQ(api->limits[0].burst, 200);
  EXPECT_EQ(api->limits[1].period_ns, int64_t{3600} * 1'000'000'000);
  EXPECT_EQ(api->LimitsFor("someone")[0].limit, 100);
  EXPECT_EQ(api->LimitsFor("vip")[0].algorithm, Algorithm::kGcra);
  EXPECT_EQ(api->LimitsFor("premium-42")[0].limit, 1000);
  EXPECT_EQ(api->LimitsFor("vip2")[0].limit, 100);  // exact keys match exactly
  const Policy* signup = set->Find("signup");
  ASSERT_NE(signup, nullptr);
  EXPECT_TRUE(signup->shadow);
  EXPECT_EQ(signup->limits[0].algorithm, Algorithm::kSlidingWindow);  // the default
  EXPECT_EQ(set->Find("nope"), nullptr);
  EXPECT_EQ(set->names(), (std::vector<std::string>{"api", "signup"}));
}

TEST(Policies, ABadFileIsRejectedNamingThePlace) {
  auto error = [](const std::string& text) {
    return std::string(PolicySet::Parse("p.yaml", text).status().message());
  };
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: [{limit: 0, period: 1s}]\n"),
              HasSubstr("p.yaml: policies[0].limits[0].limit must be between 1"));
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: [{limit: 1, period: soon}]\n"),
              HasSubstr("policies[0].limits[0]: period must be a duration"));
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: [{limit: 1, period: 1s}]\n"
                    "  - name: a\n    limits: [{limit: 1, period: 1s}]\n"),
              HasSubstr("policies[1]: a second policy named \"a\""));
  EXPECT_THAT(error("policies:\n  - name: a\n    limit: 5\n"), HasSubstr("unknown key 'limit'"));
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: []\n"),
              HasSubstr("limits must be a non-empty list"));
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: [{limit: many, period: 1s}]\n"),
              HasSubstr("p.yaml"));
  EXPECT_THAT(error("policies: [\n"), HasSubstr("p.yaml"));
  EXPECT_THAT(error("policies:\n  - name: a\n    limits: [{limit: 1, period: 1s}, {limit: 1, "
                    "period: 1s}]\n"),
              HasSubstr("limits[1]: repeats"));
}

}  // namespace
}  // namespace hotpath::ratelimit
