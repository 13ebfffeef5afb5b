// hotpath.session.v1.SessionService against the real hotpathd: the lifecycle over gRPC, errors,
// sessions that survive a restart with their expiry, tokens absent from the data directory, and
// kill -9 in the middle of concurrent acknowledged Creates (with rewrites running) losing none
// of them, under fsync always and everysec.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/admin/v1/admin.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::session::v1::CreateRequest;
using ::hotpath::session::v1::CreateResponse;
using ::hotpath::session::v1::GetRequest;
using ::hotpath::session::v1::GetResponse;
using ::hotpath::session::v1::SessionService;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

CreateRequest For(const std::string& user) {
  CreateRequest request;
  request.set_user_id(user);
  (*request.mutable_attributes())["role"] = "reader";
  request.mutable_device()->set_ip("192.0.2.10");
  request.mutable_device()->set_user_agent("e2e/1.0");
  request.mutable_idle_timeout()->set_seconds(3600);
  request.mutable_absolute_lifetime()->set_seconds(7200);
  return request;
}

class SessionE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--server.grpc_address=127.0.0.1:0",
                                     "--server.metrics_address=127.0.0.1:0",
                                     "--persistence.data_dir=" + data_dir_};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(process_.Start(args)) << process_.last_output();
    channel_ = grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials());
    sessions_ = SessionService::NewStub(channel_);
    admin_ = admin::v1::AdminService::NewStub(channel_);
  }

  void Stop(int signal_number) {
    process_.Signal(signal_number);
    ASSERT_TRUE(process_.WaitForExit(absl::Seconds(30)).has_value());
  }

  CreateResponse Create(const std::string& user) {
    CreateResponse response;
    const grpc::Status status = sessions_->Create(Context().get(), For(user), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Get(const std::string& token, GetResponse* response, bool touch = true) {
    GetRequest request;
    request.set_token(token);
    request.set_no_touch(!touch);
    return sessions_->Get(Context().get(), request, response);
  }

  const std::string data_dir_ = MakeTempDir("session_e2e") + "/data";
  HotpathdProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SessionService::Stub> sessions_;
  std::unique_ptr<admin::v1::AdminService::Stub> admin_;
};

TEST_F(SessionE2eTest, CreateGetListRevoke) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const CreateResponse first = Create("alice");
  const CreateResponse second = Create("alice");
  EXPECT_THAT(first.token(), ::testing::StartsWith("hps_"));
  EXPECT_EQ(first.session().user_id(), "alice");
  EXPECT_EQ(first.session().expires().seconds() - first.session().created().seconds(), 3600);

  GetResponse got;
  ASSERT_TRUE(Get(first.token(), &got).ok());
  EXPECT_EQ(got.session().session_id(), first.session().session_id());
  EXPECT_EQ(got.session().attributes().at("role"), "reader");
  EXPECT_EQ(got.session().device().user_agent(), "e2e/1.0");

  session::v1::ListUserSessionsRequest list;
  list.set_user_id("alice");
  session::v1::ListUserSessionsResponse listed;
  ASSERT_TRUE(sessions_->ListUserSessions(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.sessions_size(), 2);
  EXPECT_EQ(listed.sessions(0).session_id(), first.session().session_id());
  EXPECT_TRUE(listed.sessions(0).attributes().empty());  // devices, not attributes

  session::v1::RevokeRequest revoke;
  revoke.set_token(first.token());
  session::v1::RevokeResponse revoked;
  ASSERT_TRUE(sessions_->Revoke(Context().get(), revoke, &revoked).ok());
  grpc::Status gone = Get(first.token(), &got);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gone.error_message(), "session not found");
  EXPECT_EQ(sessions_->Revoke(Context().get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  listed.Clear();
  ASSERT_TRUE(sessions_->ListUserSessions(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.sessions_size(), 1);
  EXPECT_EQ(listed.sessions(0).session_id(), second.session().session_id());

  // Counted without a user or a token anywhere in the metrics.
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_session_events_total{event=\"created\"}"), 2);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_session_events_total{event=\"revoked\"}"), 1);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_session_gets_total{result=\"hit\"}"), 1);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_session_gets_total{result=\"miss\"}"), 1);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_sessions_active"), 1);
  EXPECT_EQ(metrics->find("alice"), std::string::npos);
  EXPECT_EQ(metrics->find(first.token().substr(4)), std::string::npos);
}

TEST_F(SessionE2eTest, UpdateRotateAndRevokeTheOtherDevices) {
  ASSERT_NO_FATAL_FAILURE(Start({"--session.rotation_grace=1h"}));
  const CreateResponse laptop = Create("carol");
  const CreateResponse phone = Create("carol");
  const CreateResponse tablet = Create("carol");

  session::v1::UpdateRequest update;
  update.set_token(laptop.token());
  (*update.mutable_set())["cart"] = "3 items";
  update.add_delete_("role");
  update.set_expected_version(1);
  session::v1::UpdateResponse updated;
  ASSERT_TRUE(sessions_->Update(Context().get(), update, &updated).ok());
  EXPECT_EQ(updated.session().version(), 2u);
  EXPECT_EQ(updated.session().attributes().at("cart"), "3 items");
  EXPECT_FALSE(updated.session().attributes().contains("role"));
  const grpc::Status stale = sessions_->Update(Context().get(), update, &updated);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.error_message(), HasSubstr("at version 2, not 1"));

  session::v1::RotateRequest rotate;
  rotate.set_token(laptop.token());
  session::v1::RotateResponse rotated;
  ASSERT_TRUE(sessions_->Rotate(Context().get(), rotate, &rotated).ok());
  EXPECT_NE(rotated.token(), laptop.token());
  EXPECT_EQ(rotated.session().session_id(), laptop.session().session_id());
  EXPECT_EQ(rotated.session().attributes().at("cart"), "3 items");
  GetResponse got;
  ASSERT_TRUE(Get(laptop.token(), &got).ok());  // within the grace period
  EXPECT_EQ(got.session().version(), 3u);

  // "Log out my other devices", from the laptop's new token.
  session::v1::RevokeUserSessionsRequest others;
  others.set_user_id("carol");
  others.set_except_token(rotated.token());
  session::v1::RevokeUserSessionsResponse revoked;
  ASSERT_TRUE(sessions_->RevokeUserSessions(Context().get(), others, &revoked).ok());
  EXPECT_EQ(revoked.revoked(), 2u);
  EXPECT_EQ(Get(phone.token(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(tablet.token(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Get(rotated.token(), &got).ok());

  // All of it survives a restart: version, attributes, the rotation and the revocations.
  ASSERT_NO_FATAL_FAILURE(Stop(SIGTERM));
  ASSERT_NO_FATAL_FAILURE(Start({"--session.rotation_grace=1h"}));
  ASSERT_TRUE(Get(rotated.token(), &got, /*touch=*/false).ok());
  EXPECT_EQ(got.session().version(), 3u);
  EXPECT_EQ(got.session().attributes().at("cart"), "3 items");
  EXPECT_TRUE(Get(laptop.token(), &got, false).ok());  // the grace lasts an hour
  EXPECT_EQ(Get(phone.token(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  session::v1::ListUserSessionsRequest list;
  list.set_user_id("carol");
  session::v1::ListUserSessionsResponse listed;
  ASSERT_TRUE(sessions_->ListUserSessions(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.sessions_size(), 1);
}

TEST_F(SessionE2eTest, APerUserCapRefusesOrEvicts) {
  ASSERT_NO_FATAL_FAILURE(Start({"--session.max_per_user=2"}));
  Create("dave");
  Create("dave");
  CreateResponse response;
  const grpc::Status refused = sessions_->Create(Context().get(), For("dave"), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("the cap is 2"));
  ASSERT_NO_FATAL_FAILURE(Stop(SIGTERM));

  ASSERT_NO_FATAL_FAILURE(Start({"--session.max_per_user=2", "--session.over_cap=evict_oldest"}));
  const CreateResponse newest = Create("dave");
  session::v1::ListUserSessionsRequest list;
  list.set_user_id("dave");
  session::v1::ListUserSessionsResponse listed;
  ASSERT_TRUE(sessions_->ListUserSessions(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.sessions_size(), 2);
  EXPECT_EQ(listed.sessions(1).session_id(), newest.session().session_id());
}

TEST_F(SessionE2eTest, BadRequestsNameTheField) {
  ASSERT_NO_FATAL_FAILURE(Start());
  CreateResponse response;
  grpc::Status status = sessions_->Create(Context().get(), For(""), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("user_id must be 1 to 256 bytes"));

  CreateRequest negative = For("bob");
  negative.mutable_idle_timeout()->set_seconds(-5);
  status = sessions_->Create(Context().get(), negative, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("idle_timeout is not a valid positive duration"));

  GetResponse got;
  status = Get("", &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("token must not be empty"));
  EXPECT_EQ(Get("hps_not-a-token", &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Every file under `dir`, concatenated.
std::string AllBytes(const std::string& dir) {
  std::string bytes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    bytes += content.str();
  }
  return bytes;
}

TEST_F(SessionE2eTest, SessionsSurviveARestartWithTheirExpiryAndNoTokenReachesTheDisk) {
  ASSERT_NO_FATAL_FAILURE(Start());
  std::vector<CreateResponse> created;
  for (int i = 0; i < 20; ++i) created.push_back(Create(absl::StrCat("user", i % 5)));
  admin::v1::RewriteResponse rewritten;
  ASSERT_TRUE(admin_->Rewrite(Context().get(), {}, &rewritten).ok());  // a base holds them too
  created.push_back(Create("late"));                                   // and a segment this one
  ASSERT_NO_FATAL_FAILURE(Stop(SIGTERM));

  const std::string disk = AllBytes(data_dir_);
  ASSERT_FALSE(disk.empty());
  for (const CreateResponse& c : created) {
    const std::string body = c.token().substr(4);
    std::string raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(body, &raw));
    EXPECT_EQ(disk.find(body), std::string::npos) << "token in the data directory";
    EXPECT_EQ(disk.find(raw.substr(2)), std::string::npos) << "token bytes in the data directory";
  }

  ASSERT_NO_FATAL_FAILURE(Start());
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_sessions_active"), 21);  // counted at start
  for (const CreateResponse& c : created) {
    GetResponse got;
    ASSERT_TRUE(Get(c.token(), &got, /*touch=*/false).ok()) << c.session().user_id();
    EXPECT_EQ(got.session().session_id(), c.session().session_id());
    EXPECT_EQ(got.session().expires().seconds(), c.session().expires().seconds());
    EXPECT_EQ(got.session().absolute_expiry().seconds(), c.session().absolute_expiry().seconds());
  }
}

// Writers create sessions as fast as they can while a rewriter rewrites; once enough are
// acknowledged, hotpathd is killed. Every acknowledged session must be there after a restart.
void KillDuringAcknowledgedCreates(HotpathdProcess* process, SessionService::Stub* sessions,
                                   admin::v1::AdminService::Stub* admin, int cycle, int kill_after,
                                   std::vector<std::string>* acked_tokens) {
  constexpr int kWriters = 4;
  absl::Mutex mu;
  int acked = 0;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        CreateResponse response;
        const grpc::Status status = sessions->Create(
            Context().get(), For(absl::StrCat("c", cycle, "w", w, "u", i % 7)), &response);
        if (!status.ok()) return;  // the kill: unacknowledged, so allowed to be lost
        absl::MutexLock lock(&mu);
        acked_tokens->push_back(response.token());
        ++acked;
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) {
      admin::v1::RewriteResponse rewritten;
      if (!admin->Rewrite(Context().get(), {}, &rewritten).ok()) return;
    }
  });
  bool enough_acked = false;
  {
    absl::MutexLock lock(&mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return acked >= kill_after; };
    enough_acked = mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60));
  }
  // Killed, stopped and joined on every path, so the threads never outlive what they use.
  process->Signal(SIGKILL);
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(enough_acked) << "the writers stopped before " << kill_after << " acknowledgements";
  ASSERT_TRUE(process->WaitForExit(absl::Seconds(30)).has_value());
}

class SessionCrashTest : public SessionE2eTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(SessionCrashTest, KillNineLosesNoAcknowledgedCreate) {
  const std::string fsync = absl::StrCat("--persistence.fsync=", GetParam());
  // The kill lands at a random moment: after a random number of acknowledgements, while four
  // writers and a rewriter are mid-call (the thread timing varies the moment further).
  const uint32_t seed = std::random_device{}();
  std::mt19937 random(seed);
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::vector<std::string> acked;
  for (int cycle = 0; cycle < 6; ++cycle) {
    ASSERT_NO_FATAL_FAILURE(Start({fsync}));
    // Everything acknowledged in earlier cycles is still there, then more is written.
    for (const std::string& token : acked) {
      GetResponse got;
      ASSERT_TRUE(Get(token, &got, /*touch=*/false).ok()) << "lost after a kill: cycle " << cycle;
    }
    const int kill_after = std::uniform_int_distribution<int>(20, 400)(random);
    ASSERT_NO_FATAL_FAILURE(KillDuringAcknowledgedCreates(&process_, sessions_.get(), admin_.get(),
                                                          cycle, kill_after, &acked));
  }
  ASSERT_NO_FATAL_FAILURE(Start({fsync}));
  for (const std::string& token : acked) {
    GetResponse got;
    ASSERT_TRUE(Get(token, &got, /*touch=*/false).ok()) << "lost after the last kill";
  }
}

INSTANTIATE_TEST_SUITE_P(FsyncPolicies, SessionCrashTest, ::testing::Values("always", "everysec"));

}  // namespace
}  // namespace hotpath
