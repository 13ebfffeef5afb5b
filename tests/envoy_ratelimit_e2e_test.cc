// Envoy's rate limit API against the real hotpathd, with a client built from the compat
// protos and a configuration in envoyproxy/ratelimit's format.
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/hotpathd_process.h"

namespace hotpath {
namespace {

using ::envoy::service::ratelimit::v3::RateLimitRequest;
using ::envoy::service::ratelimit::v3::RateLimitResponse;
using ::envoy::service::ratelimit::v3::RateLimitService;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;

// Daily limits: no window ends while a test runs (short of midnight UTC).
constexpr char kConfig[] = R"yaml(
domain: edge
descriptors:
  - key: remote_address
    rate_limit:
      unit: day
      requests_per_unit: 2
  - key: path
    value: /login
    shadow_mode: true
    rate_limit:
      unit: day
      requests_per_unit: 1
  - key: user
    rate_limit:
      unit: day
      requests_per_unit: 5
      algorithm: token_bucket
  - key: blocked
    rate_limit:
      unit: second
      requests_per_unit: 0
  - key: file
    value: shared/*
    share_threshold: true
    rate_limit:
      unit: day
      requests_per_unit: 1
)yaml";

class EnvoyRateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("envoy");
    config_path_ = dir + "/config.yaml";
    std::ofstream(config_path_) << kConfig;
    ASSERT_TRUE(process_.Start(
        {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
         "--persistence.data_dir=" + dir + "/data", "--ratelimit.envoy_config=" + config_path_,
         "--ratelimit.envoy_headers=true"}))
        << process_.last_output();
    stub_ = RateLimitService::NewStub(
        grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials()));
  }

  static RateLimitRequest Request(std::initializer_list<std::pair<std::string, std::string>> one,
                                  uint32_t hits = 0) {
    RateLimitRequest request;
    request.set_domain("edge");
    request.set_hits_addend(hits);
    auto* descriptor = request.add_descriptors();
    for (const auto& [key, value] : one) {
      auto* entry = descriptor->add_entries();
      entry->set_key(key);
      entry->set_value(value);
    }
    return request;
  }

  grpc::Status Call(const RateLimitRequest& request, RateLimitResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->ShouldRateLimit(&context, request, response);
  }

  RateLimitResponse Should(const RateLimitRequest& request) {
    RateLimitResponse response;
    const grpc::Status status = Call(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static std::string Header(const RateLimitResponse& response, const std::string& key) {
    for (const auto& header : response.response_headers_to_add()) {
      if (header.key() == key) return header.value();
    }
    return "";
  }

  std::string config_path_;
  HotpathdProcess process_;
  std::unique_ptr<RateLimitService::Stub> stub_;
};

TEST_F(EnvoyRateLimitTest, AConfiguredLimitAllowsThenGoesOverWithHeaders) {
  const RateLimitRequest request = Request({{"remote_address", "10.0.0.1"}});
  EXPECT_EQ(Should(request).overall_code(), RateLimitResponse::OK);
  const RateLimitResponse second = Should(request);
  EXPECT_EQ(second.overall_code(), RateLimitResponse::OK);
  ASSERT_EQ(second.statuses_size(), 1);
  EXPECT_EQ(second.statuses(0).limit_remaining(), 0u);
  EXPECT_EQ(second.statuses(0).current_limit().requests_per_unit(), 2u);
  EXPECT_EQ(second.statuses(0).current_limit().unit(), RateLimitResponse::RateLimit::DAY);
  EXPECT_EQ(Header(second, "RateLimit-Limit"), "2");
  EXPECT_EQ(Header(second, "RateLimit-Remaining"), "0");

  const RateLimitResponse over = Should(request);
  EXPECT_EQ(over.overall_code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(over.statuses(0).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_GT(over.statuses(0).duration_until_reset().seconds(), 0);
  EXPECT_FALSE(Header(over, "Retry-After").empty());
  // Another address has its own count.
  EXPECT_EQ(Should(Request({{"remote_address", "10.0.0.2"}})).overall_code(),
            RateLimitResponse::OK);
}

TEST_F(EnvoyRateLimitTest, StatusesFollowDescriptorOrderAndAnOverLimitRequestTakesNothing) {
  for (int i = 0; i < 2; ++i) Should(Request({{"remote_address", "full"}}));
  RateLimitRequest both = Request({{"user", "ann"}});
  auto* second = both.add_descriptors();
  auto* entry = second->add_entries();
  entry->set_key("remote_address");
  entry->set_value("full");
  auto* unknown = both.add_descriptors()->add_entries();
  unknown->set_key("nothing");
  unknown->set_value("configured");
  const RateLimitResponse response = Should(both);
  EXPECT_EQ(response.overall_code(), RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(response.statuses_size(), 3);
  EXPECT_EQ(response.statuses(0).code(), RateLimitResponse::OK);
  EXPECT_EQ(response.statuses(1).code(), RateLimitResponse::OVER_LIMIT);
  EXPECT_EQ(response.statuses(2).code(), RateLimitResponse::OK);
  EXPECT_FALSE(response.statuses(2).has_current_limit());

  // hits_addend 0 on the descriptor only looks: ann's bucket was not touched.
  RateLimitRequest look = Request({{"user", "ann"}});
  look.mutable_descriptors(0)->mutable_hits_addend()->set_value(0);
  EXPECT_EQ(Should(look).statuses(0).limit_remaining(), 5u);
}

TEST_F(EnvoyRateLimitTest, HitsAddendAndShadowMode) {
  const RateLimitResponse three = Should(Request({{"user", "bob"}}, /*hits=*/3));
  EXPECT_EQ(three.statuses(0).limit_remaining(), 2u);
  // Shadow mode decides and counts, but never answers OVER_LIMIT.
  const RateLimitResponse first = Should(Request({{"path", "/login"}}));
  EXPECT_EQ(first.statuses(0).current_limit().requests_per_unit(), 1u);  // the limit applied
  EXPECT_EQ(first.statuses(0).limit_remaining(), 0u);
  for (int i = 0; i < 2; ++i) {
    const RateLimitResponse again = Should(Request({{"path", "/login"}}));
    EXPECT_EQ(again.overall_code(), RateLimitResponse::OK);
    EXPECT_EQ(again.statuses(0).code(), RateLimitResponse::OK);
  }
  // requests_per_unit 0 blocks, as in envoyproxy/ratelimit.
  EXPECT_EQ(Should(Request({{"blocked", "x"}})).overall_code(), RateLimitResponse::OVER_LIMIT);
  // Values under a shared wildcard count together.
  EXPECT_EQ(Should(Request({{"file", "shared/a.pdf"}})).overall_code(), RateLimitResponse::OK);
  EXPECT_EQ(Should(Request({{"file", "shared/b.csv"}})).overall_code(),
            RateLimitResponse::OVER_LIMIT);
}

TEST_F(EnvoyRateLimitTest, AnEmptyDomainOrDescriptorListIsAnError) {
  RateLimitResponse response;
  RateLimitRequest no_domain = Request({{"user", "x"}});
  no_domain.clear_domain();
  grpc::Status status = Call(no_domain, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("domain"));
  RateLimitRequest no_descriptors;
  no_descriptors.set_domain("edge");
  status = Call(no_descriptors, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(EnvoyRateLimitConfig, ABadConfigurationStopsTheStartNamingTheFile) {
  const std::string dir = MakeTempDir("envoy_bad");
  const std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "domain: edge\nbogus: true\n";
  auto result = HotpathdProcess::RunToExit(
      {"--server.grpc_address=127.0.0.1:0", "--server.metrics_address=127.0.0.1:0",
       "--persistence.enabled=false", "--ratelimit.envoy_config=" + path});
  ASSERT_TRUE(result.has_value());
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->stderr_text, HasSubstr(path + ": config error, unknown key 'bogus'"));
}

}  // namespace
}  // namespace hotpath
