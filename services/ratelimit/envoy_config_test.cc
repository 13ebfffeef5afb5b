// envoyproxy/ratelimit's configuration format: loading, rejection with the file named, and
// the descriptor lookup rules (exact value, wildcard, any value, depth).
#include "services/ratelimit/envoy_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::ratelimit {
namespace {

using ::testing::HasSubstr;

constexpr char kConfig[] = R"yaml(
domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      unit: second
      requests_per_unit: 10
  - key: path
    value: /login
    shadow_mode: true
    rate_limit:
      unit: minute
      requests_per_unit: 5
      name: login
  - key: user
    value: bot-*
    rate_limit:
      unlimited: true
  - key: user
    descriptors:
      - key: plan
        value: free
        rate_limit:
          unit: hour
          requests_per_unit: 100
          algorithm: sliding_window
        detailed_metric: true
  - key: api_key
    rate_limit:
      unit: day
      requests_per_unit: 1000
      algorithm: token_bucket
      burst: 50
      replaces:
        - name: login
)yaml";

std::shared_ptr<const EnvoyConfig> Config() {
  return EnvoyConfig::Parse({{"edge.yaml", kConfig}}).value();
}

TEST(EnvoyConfig, MatchesByExactValueWildcardOrAnyValueAtTheDescriptorsEnd) {
  auto config = Config();
  const EnvoyRateLimit* address = config->Match("edge", {{"remote_address", "10.0.0.1"}});
  ASSERT_NE(address, nullptr);
  EXPECT_EQ(address->requests_per_unit, 10u);
  EXPECT_EQ(address->limit.algorithm, Algorithm::kFixedWindow);
  EXPECT_EQ(address->limit.period_ns, 1'000'000'000);
  EXPECT_EQ(address->full_key, "edge.remote_address");

  const EnvoyRateLimit* login = config->Match("edge", {{"path", "/login"}});
  ASSERT_NE(login, nullptr);
  EXPECT_TRUE(login->shadow_mode);
  EXPECT_EQ(login->name, "login");
  EXPECT_EQ(config->Match("edge", {{"path", "/home"}}), nullptr);  // no default for path

  const EnvoyRateLimit* bot = config->Match("edge", {{"user", "bot-7"}});
  ASSERT_NE(bot, nullptr);
  EXPECT_TRUE(bot->unlimited);

  // Nested: the limit is on the second level; a one-entry descriptor stops above it.
  EXPECT_EQ(config->Match("edge", {{"user", "ann"}}), nullptr);
  const EnvoyRateLimit* plan = config->Match("edge", {{"user", "ann"}, {"plan", "free"}});
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->limit.algorithm, Algorithm::kSlidingWindow);
  EXPECT_EQ(plan->full_key, "edge.user.plan_free");
  // A descriptor deeper than the configuration gets no limit.
  EXPECT_EQ(config->Match("edge", {{"remote_address", "x"}, {"path", "/"}}), nullptr);

  const EnvoyRateLimit* key = config->Match("edge", {{"api_key", "k1"}});
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->limit.burst, 50);
  EXPECT_EQ(key->replaces, std::vector<std::string>{"login"});
  EXPECT_EQ(config->Match("other", {{"remote_address", "x"}}), nullptr);
}

TEST(EnvoyConfig, RejectsWhatEnvoysRateLimitServiceRejectsNamingTheFile) {
  auto error = [](const std::string& text) {
    auto parsed = EnvoyConfig::Parse({{"f.yaml", text}});
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
    return std::string(parsed.status().message());
  };
  EXPECT_THAT(error("descriptors: []\n"),
              HasSubstr("f.yaml: config file cannot have empty domain"));
  EXPECT_THAT(error("domain: d\nbogus: 1\n"), HasSubstr("unknown key 'bogus'"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - value: v\n"),
              HasSubstr("descriptor has empty key"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - key: k\n  - key: k\n"),
              HasSubstr("duplicate descriptor composite key 'd.k'"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight, "
                    "requests_per_unit: 1}\n"),
              HasSubstr("invalid rate limit unit 'fortnight'"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unlimited: true, "
                    "unit: second}\n"),
              HasSubstr("should not specify rate limit unit when unlimited"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, "
                    "requests_per_unit: 1, name: a, replaces: [{name: a}]}\n"),
              HasSubstr("replaces should not contain name of same descriptor"));
  EXPECT_THAT(error("domain: d\ndescriptors: [\n"), HasSubstr("error loading config file"));
  EXPECT_THAT(error("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, "
                    "requests_per_unit: 1, algorithm: leaky}\n"),
              HasSubstr("unknown algorithm"));
  EXPECT_THAT(
      error("domain: d\ndescriptors:\n  - key: k\n    value: a\n    share_threshold: true\n"),
      HasSubstr("d.k_a: share_threshold applies to wildcard values"));
  EXPECT_TRUE(EnvoyConfig::Parse({{"f.yaml", "domain: d\ndescriptors:\n"}}).ok());
  auto twice = EnvoyConfig::Parse({{"a.yaml", "domain: d\n"}, {"b.yaml", "domain: d\n"}});
  EXPECT_THAT(twice.status().message(), HasSubstr("b.yaml: duplicate domain 'd'"));
}

TEST(EnvoyConfig, ValuesOfASharedWildcardCountTogetherOthersApart) {
  auto config = EnvoyConfig::Parse({{"f.yaml", R"yaml(
domain: d
descriptors:
  - key: file
    value: shared/*
    share_threshold: true
    rate_limit: {unit: hour, requests_per_unit: 100}
  - key: file
    value: own/*
    rate_limit: {unit: hour, requests_per_unit: 100}
)yaml"}}).value();
  std::string a, b;
  ASSERT_NE(config->Match("d", {{"file", "shared/a.pdf"}}, &a), nullptr);
  ASSERT_NE(config->Match("d", {{"file", "shared/b.csv"}}, &b), nullptr);
  EXPECT_EQ(a, "d.file_shared/*");
  EXPECT_EQ(a, b);
  ASSERT_NE(config->Match("d", {{"file", "own/a.pdf"}}, &a), nullptr);
  ASSERT_NE(config->Match("d", {{"file", "own/b.csv"}}, &b), nullptr);
  EXPECT_EQ(a, "d.file_own/a.pdf");
  EXPECT_NE(a, b);
}

TEST(EnvoyConfig, EnvoysUnitsBecomePeriods) {
  EXPECT_EQ(EnvoyUnitNanos(static_cast<int>(EnvoyUnit::kMinute)), 60'000'000'000);
  EXPECT_EQ(EnvoyUnitNanos(static_cast<int>(EnvoyUnit::kWeek)), 7 * 86'400'000'000'000);
  EXPECT_EQ(EnvoyUnitNanos(static_cast<int>(EnvoyUnit::kMonth)), 30 * 86'400'000'000'000);
  EXPECT_EQ(EnvoyUnitNanos(0), 0);
  EXPECT_EQ(EnvoyUnitNanos(99), 0);
}

}  // namespace
}  // namespace hotpath::ratelimit
