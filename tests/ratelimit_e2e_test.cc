// hotpath.ratelimit.v1.RateLimiterService against the real hotpathd: checks, atomic batches,
// precise errors, reset, and limiter state that survives a restart and a kill -9 after a rewrite.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/ratelimit/v1/ratelimit.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::ratelimit::v1::CheckBatchRequest;
using ::hotpath::ratelimit::v1::CheckBatchResponse;
using ::hotpath::ratelimit::v1::CheckRequest;
using ::hotpath::ratelimit::v1::CheckResponse;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

// Three per hour at most, refilled one per hour: nothing refills while a test runs.
CheckRequest Request(const std::string& key) {
  CheckRequest request;
  request.set_key(key);
  auto* limit = request.add_limits();
  limit->set_algorithm(ratelimit::v1::ALGORITHM_TOKEN_BUCKET);
  limit->set_limit(1);
  limit->mutable_period()->set_seconds(3600);
  limit->set_burst(3);
  return request;
}

class RateLimitE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--server.grpc_address=127.0.0.1:0",
                                     "--server.metrics_address=127.0.0.1:0",
                                     "--persistence.data_dir=" + dir_ + "/data"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(process_.Start(args)) << process_.last_output();
    auto channel = grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials());
    limiter_ = ratelimit::v1::RateLimiterService::NewStub(channel);
    admin_ = admin::v1::AdminService::NewStub(channel);
  }

  ratelimit::v1::Outcome Check(const CheckRequest& request, CheckResponse* response = nullptr) {
    CheckResponse local;
    if (response == nullptr) response = &local;
    const grpc::Status status = limiter_->Check(Context().get(), request, response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response->outcome();
  }

  std::string dir_ = MakeTempDir("ratelimit");
  HotpathdProcess process_;
  std::unique_ptr<ratelimit::v1::RateLimiterService::Stub> limiter_;
  std::unique_ptr<admin::v1::AdminService::Stub> admin_;
};

TEST_F(RateLimitE2eTest, ChecksDenyPastTheBurstWithAnHonestRetryAfter) {
  ASSERT_NO_FATAL_FAILURE(Start());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Check(Request("alice")), ratelimit::v1::OUTCOME_ALLOWED);
  CheckResponse denied;
  EXPECT_EQ(Check(Request("alice"), &denied), ratelimit::v1::OUTCOME_DENIED);
  EXPECT_EQ(denied.remaining(), 0u);
  EXPECT_GT(denied.retry_after().seconds(), 3500);  // one token refills in an hour
  EXPECT_LE(denied.retry_after().seconds(), 3600);
  EXPECT_EQ(Check(Request("bob")), ratelimit::v1::OUTCOME_ALLOWED);  // keys are independent

  CheckRequest too_much = Request("carol");
  too_much.set_cost(4);
  EXPECT_EQ(Check(too_much), ratelimit::v1::OUTCOME_COST_TOO_HIGH);

  // Decisions are counted by policy and outcome, never by key.
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  auto decisions = [&](const std::string& outcome) {
    return PrometheusValue(
        *metrics, "hotpath_ratelimit_decisions_total{api=\"hotpath\",outcome=\"" + outcome +
                      "\",policy=\"inline\"}");
  };
  EXPECT_EQ(decisions("allowed"), 4);
  EXPECT_EQ(decisions("denied"), 1);
  EXPECT_EQ(decisions("cost_too_high"), 1);
  EXPECT_EQ(metrics->find("alice"), std::string::npos);
}

TEST_F(RateLimitE2eTest, BadRequestsGetInvalidArgumentNamingTheField) {
  ASSERT_NO_FATAL_FAILURE(Start());
  CheckRequest no_algorithm = Request("k");
  no_algorithm.mutable_limits(0)->set_algorithm(ratelimit::v1::ALGORITHM_UNSPECIFIED);
  CheckResponse response;
  grpc::Status status = limiter_->Check(Context().get(), no_algorithm, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("limits[0].algorithm"));

  CheckBatchRequest batch;
  *batch.add_checks() = Request("k");
  *batch.add_checks() = Request("");
  CheckBatchResponse batch_response;
  status = limiter_->CheckBatch(Context().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("checks[1].key must be 1 to 4096 bytes"));

  // The full path of a field inside a batch's check, and a limit checked after conversion.
  batch.mutable_checks(1)->set_key("k2");
  batch.mutable_checks(1)->mutable_limits(0)->mutable_period()->set_seconds(-1);
  status = limiter_->CheckBatch(Context().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("checks[1].limits[0].period must be positive"));
  batch.mutable_checks(1)->mutable_limits(0)->mutable_period()->set_seconds(1);
  batch.mutable_checks(1)->mutable_limits(0)->set_limit(0);
  status = limiter_->CheckBatch(Context().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("checks[1].limits[0].limit must be between 1"));
}

TEST_F(RateLimitE2eTest, AnAllOrNothingBatchTakesNothingWhenOneCheckFails) {
  ASSERT_NO_FATAL_FAILURE(Start());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Check(Request("full")), ratelimit::v1::OUTCOME_ALLOWED);
  CheckBatchRequest batch;
  *batch.add_checks() = Request("fresh");
  *batch.add_checks() = Request("full");
  batch.set_all_or_nothing(true);
  CheckBatchResponse response;
  ASSERT_TRUE(limiter_->CheckBatch(Context().get(), batch, &response).ok());
  EXPECT_FALSE(response.consumed());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(1).outcome(), ratelimit::v1::OUTCOME_DENIED);
  CheckRequest peek = Request("fresh");
  peek.set_cost(0);
  CheckResponse peeked;
  Check(peek, &peeked);
  EXPECT_EQ(peeked.remaining(), 3u);
}

TEST_F(RateLimitE2eTest, ResetStartsAKeyFresh) {
  ASSERT_NO_FATAL_FAILURE(Start());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Check(Request("dave")), ratelimit::v1::OUTCOME_ALLOWED);
  ASSERT_EQ(Check(Request("dave")), ratelimit::v1::OUTCOME_DENIED);
  ratelimit::v1::ResetRequest reset;
  reset.set_key("dave");
  *reset.mutable_limits() = Request("dave").limits();
  ratelimit::v1::ResetResponse reset_response;
  ASSERT_TRUE(limiter_->Reset(Context().get(), reset, &reset_response).ok());
  EXPECT_EQ(Check(Request("dave")), ratelimit::v1::OUTCOME_ALLOWED);
}

TEST_F(RateLimitE2eTest, StateSurvivesARestartAndAKillAfterARewrite) {
  // No periodic flush during the test: the state must come from the shutdown flush and the
  // rewrite's base.
  const std::vector<std::string> no_flush = {"--ratelimit.persist_interval=1h"};
  ASSERT_NO_FATAL_FAILURE(Start(no_flush));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Check(Request("erin")), ratelimit::v1::OUTCOME_ALLOWED);
  process_.Signal(SIGTERM);  // shutdown records the latest limiter state
  ASSERT_TRUE(process_.WaitForExit(absl::Seconds(30)).has_value());
  ASSERT_NO_FATAL_FAILURE(Start(no_flush));
  EXPECT_EQ(Check(Request("erin")), ratelimit::v1::OUTCOME_DENIED);

  for (int i = 0; i < 3; ++i) ASSERT_EQ(Check(Request("frank")), ratelimit::v1::OUTCOME_ALLOWED);
  admin::v1::RewriteResponse rewritten;
  ASSERT_TRUE(admin_->Rewrite(Context().get(), {}, &rewritten).ok());  // the base holds it
  process_.Signal(SIGKILL);
  ASSERT_TRUE(process_.WaitForExit(absl::Seconds(30)).has_value());
  ASSERT_NO_FATAL_FAILURE(Start(no_flush));
  EXPECT_EQ(Check(Request("frank")), ratelimit::v1::OUTCOME_DENIED);
  EXPECT_EQ(Check(Request("erin")), ratelimit::v1::OUTCOME_DENIED);
}

// Writes the policy file: "api" allows 2 per hour (4 for "vip"), and a shadow "beta" allows 1.
void WritePolicies(const std::string& path, bool with_extra) {
  std::ofstream out(path);
  out << "policies:\n"
         "  - name: api\n"
         "    limits: [{algorithm: token_bucket, limit: 1, period: 1h, burst: 2}]\n"
         "    overrides:\n"
         "      - key: vip\n"
         "        limits: [{algorithm: token_bucket, limit: 1, period: 1h, burst: 4}]\n"
         "  - name: beta\n"
         "    shadow: true\n"
         "    limits: [{algorithm: fixed_window, limit: 1, period: 24h}]\n";
  if (with_extra) {
    out << "  - name: extra\n"
           "    limits: [{algorithm: gcra, limit: 1, period: 1h}]\n";
  }
}

CheckRequest PolicyRequest(const std::string& policy, const std::string& key) {
  CheckRequest request;
  request.set_policy(policy);
  request.set_key(key);
  return request;
}

TEST_F(RateLimitE2eTest, NamedPoliciesWithOverridesShadowModeAndReloadKeepingState) {
  const std::string file = dir_ + "/policies.yaml";
  WritePolicies(file, /*with_extra=*/false);
  ASSERT_NO_FATAL_FAILURE(Start({"--ratelimit.policy_file=" + file}));
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(Check(PolicyRequest("api", "u1")), ratelimit::v1::OUTCOME_ALLOWED);
  EXPECT_EQ(Check(PolicyRequest("api", "u1")), ratelimit::v1::OUTCOME_DENIED);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(Check(PolicyRequest("api", "vip")), ratelimit::v1::OUTCOME_ALLOWED);

  // Shadow mode: allowed, with what the limit would have said.
  EXPECT_EQ(Check(PolicyRequest("beta", "u1")), ratelimit::v1::OUTCOME_ALLOWED);
  CheckResponse shadow;
  EXPECT_EQ(Check(PolicyRequest("beta", "u1"), &shadow), ratelimit::v1::OUTCOME_ALLOWED);
  EXPECT_EQ(shadow.shadow_outcome(), ratelimit::v1::OUTCOME_DENIED);

  CheckResponse response;
  grpc::Status status = limiter_->Check(Context().get(), PolicyRequest("nope", "u1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no policy named \"nope\""));
  CheckRequest both = PolicyRequest("api", "u1");
  *both.mutable_limits() = Request("u1").limits();
  status = limiter_->Check(Context().get(), both, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A broken file is refused on SIGHUP and the policies in force stay.
  std::ofstream(file) << "policies: [{name: api, limits: []}]\n";
  process_.Signal(SIGHUP);
  // (The reloader may notice the change before the signal does: either reports it.)
  ASSERT_TRUE(process_.WaitForOutput("event=files_not_reloaded"));
  EXPECT_THAT(process_.last_output(), HasSubstr(file));
  EXPECT_EQ(Check(PolicyRequest("api", "u1")), ratelimit::v1::OUTCOME_DENIED);

  // A good one replaces them; api's unchanged limit keeps its state.
  WritePolicies(file, /*with_extra=*/true);
  process_.Signal(SIGHUP);
  ASSERT_TRUE(process_.WaitForOutput("event=files_reloaded trigger=SIGHUP\n"));
  EXPECT_EQ(Check(PolicyRequest("api", "u1")), ratelimit::v1::OUTCOME_DENIED);
  EXPECT_EQ(Check(PolicyRequest("extra", "u1")), ratelimit::v1::OUTCOME_ALLOWED);

  // Reset by policy forgets the key's state under the policy's limits.
  ratelimit::v1::ResetRequest reset;
  reset.set_policy("api");
  reset.set_key("u1");
  ratelimit::v1::ResetResponse reset_response;
  ASSERT_TRUE(limiter_->Reset(Context().get(), reset, &reset_response).ok());
  EXPECT_EQ(Check(PolicyRequest("api", "u1")), ratelimit::v1::OUTCOME_ALLOWED);
  // An overridden key's state is under the override's limits: those are what go.
  EXPECT_EQ(Check(PolicyRequest("api", "vip")), ratelimit::v1::OUTCOME_DENIED);  // 4 taken above
  reset.set_key("vip");
  ASSERT_TRUE(limiter_->Reset(Context().get(), reset, &reset_response).ok());
  EXPECT_EQ(Check(PolicyRequest("api", "vip")), ratelimit::v1::OUTCOME_ALLOWED);
  reset.set_policy("nope");
  EXPECT_EQ(limiter_->Reset(Context().get(), reset, &reset_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  reset.set_policy("api");
  *reset.mutable_limits() = Request("vip").limits();
  const grpc::Status refused_both = limiter_->Reset(Context().get(), reset, &reset_response);
  EXPECT_EQ(refused_both.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused_both.error_message(), HasSubstr("either policy or limits"));
}

}  // namespace
}  // namespace hotpath
