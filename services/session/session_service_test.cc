// The session service in-process over real gRPC: nothing is served before the gate opens.
#include "services/session/session_service.h"

#include <chrono>
#include <memory>

#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace hotpath::session {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest()
      : keyspace_(Keyspace::Create({.shards = 4}, SystemClock::Get()).value()),
        store_(keyspace_.get(), SessionLimits{}),
        service_(&store_, nullptr, nullptr, &gate_) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::SessionService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                            grpc::InsecureChannelCredentials()));
  }
  ~SessionServiceTest() override { server_->Shutdown(); }

  ServingGate gate_;  // closed: the data is "loading"
  std::unique_ptr<Keyspace> keyspace_;
  SessionStore store_;
  SessionService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::SessionService::Stub> stub_;
};

TEST_F(SessionServiceTest, EveryCallWaitsForTheGate) {
  v1::CreateRequest create;
  create.set_user_id("alice");
  v1::CreateResponse created;
  std::vector<grpc::Status> answers;
  answers.push_back(stub_->Create(Context().get(), create, &created));
  v1::GetRequest get;
  get.set_token("hps_x");
  v1::GetResponse got;
  answers.push_back(stub_->Get(Context().get(), get, &got));
  v1::UpdateRequest update;
  update.set_token("hps_x");
  v1::UpdateResponse updated;
  answers.push_back(stub_->Update(Context().get(), update, &updated));
  v1::RotateRequest rotate;
  rotate.set_token("hps_x");
  v1::RotateResponse rotated;
  answers.push_back(stub_->Rotate(Context().get(), rotate, &rotated));
  v1::RevokeRequest revoke;
  revoke.set_token("hps_x");
  v1::RevokeResponse revoked;
  answers.push_back(stub_->Revoke(Context().get(), revoke, &revoked));
  v1::ListUserSessionsRequest list;
  list.set_user_id("alice");
  v1::ListUserSessionsResponse listed;
  answers.push_back(stub_->ListUserSessions(Context().get(), list, &listed));
  v1::RevokeUserSessionsRequest revoke_user;
  revoke_user.set_user_id("alice");
  v1::RevokeUserSessionsResponse revoked_user;
  answers.push_back(stub_->RevokeUserSessions(Context().get(), revoke_user, &revoked_user));
  for (const grpc::Status& answer : answers) {
    EXPECT_EQ(answer.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(answer.error_message(), HasSubstr("loading its data directory"));
  }
  EXPECT_EQ(keyspace_->Stats().keys, 0u);  // nothing reached the keyspace

  gate_.Open();
  ASSERT_TRUE(stub_->Create(Context().get(), create, &created).ok());
  get.set_token(created.token());
  EXPECT_TRUE(stub_->Get(Context().get(), get, &got).ok());
}

TEST_F(SessionServiceTest, ACallWhoseDeadlinePassedBeforeItStartsDoesNothing) {
  gate_.Open();
  // The server's clock is past every client deadline: the client gave up before the work
  // started, so none is done.
  FakeClock late(absl::Now() + absl::Hours(1));
  gate_.SetClock(&late);
  v1::CreateRequest create;
  create.set_user_id("alice");
  v1::CreateResponse created;
  const grpc::Status status = stub_->Create(Context().get(), create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("nothing was done"));
  EXPECT_EQ(keyspace_->Stats().keys, 0u);

  // A call with no deadline is never late.
  grpc::ClientContext no_deadline;
  EXPECT_TRUE(stub_->Create(&no_deadline, create, &created).ok());
  gate_.SetClock(SystemClock::Get());
  EXPECT_TRUE(stub_->Create(Context().get(), create, &created).ok());
}

}  // namespace
}  // namespace hotpath::session
