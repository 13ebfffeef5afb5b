// The rate-limit services in-process over real gRPC: nothing is decided before the gate opens.
#include "services/ratelimit/ratelimit_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/ratelimit/envoy_service.h"

namespace hotpath::ratelimit {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

TEST(RateLimitServices, NothingIsDecidedBeforeTheGateOpens) {
  ServingGate gate;
  auto keyspace = Keyspace::Create({.shards = 4}, SystemClock::Get()).value();
  RateLimiter limiter(keyspace.get());
  RateLimitService service(&limiter, nullptr, nullptr, nullptr, &gate);
  EnvoyRateLimitService envoy(&limiter, nullptr, false, nullptr, &gate);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.RegisterService(&envoy);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = v1::RateLimiterService::NewStub(channel);
  auto envoy_stub = envoy::service::ratelimit::v3::RateLimitService::NewStub(channel);

  v1::CheckRequest check;
  check.set_key("k");
  v1::Limit* limit = check.add_limits();
  limit->set_algorithm(v1::ALGORITHM_FIXED_WINDOW);
  limit->set_limit(5);
  limit->mutable_period()->set_seconds(60);
  v1::CheckResponse checked;
  v1::CheckBatchRequest batch;
  *batch.add_checks() = check;
  v1::CheckBatchResponse batched;
  v1::ResetRequest reset;
  reset.set_key("k");
  *reset.add_limits() = *limit;
  v1::ResetResponse was_reset;
  envoy::service::ratelimit::v3::RateLimitRequest should;
  should.set_domain("d");
  auto* entry = should.add_descriptors()->add_entries();
  entry->set_key("k");
  entry->set_value("v");
  envoy::service::ratelimit::v3::RateLimitResponse should_response;
  for (const grpc::Status& answer :
       {stub->Check(Context().get(), check, &checked),
        stub->CheckBatch(Context().get(), batch, &batched),
        stub->Reset(Context().get(), reset, &was_reset),
        envoy_stub->ShouldRateLimit(Context().get(), should, &should_response)}) {
    EXPECT_EQ(answer.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(answer.error_message(), HasSubstr("loading its data directory"));
  }
  EXPECT_EQ(keyspace->Stats().keys, 0u);

  gate.Open();
  EXPECT_TRUE(stub->Check(Context().get(), check, &checked).ok());
  EXPECT_EQ(checked.remaining(), 4u);
  server->Shutdown();
}

}  // namespace
}  // namespace hotpath::ratelimit
