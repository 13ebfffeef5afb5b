// hotpath.pubsub.v1.PubSubService against the real hotpathd: publish and subscribe over gRPC,
// metrics, messages that survive a clean restart and a kill -9 once acknowledged, and
// subscribers ended promptly by a clean stop.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "hotpath/pubsub/v1/pubsub.grpc.pb.h"
#include "hotpath/session/v1/session.grpc.pb.h"
#include "tests/testing/hotpathd_process.h"
#include "tools/common/http_get.h"

namespace hotpath {
namespace {

using ::hotpath::pubsub::v1::PubSubService;
using ::hotpath::testing::HotpathdProcess;
using ::hotpath::testing::MakeTempDir;
namespace ps = ::hotpath::pubsub::v1;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

class PubSubE2eTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--server.grpc_address=127.0.0.1:0",
                                     "--server.metrics_address=127.0.0.1:0",
                                     "--persistence.data_dir=" + data_dir_};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(process_.Start(args)) << process_.last_output();
    pubsub_ = PubSubService::NewStub(
        grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials()));
  }

  void Stop(int signal_number) {
    process_.Signal(signal_number);
    ASSERT_TRUE(process_.WaitForExit(absl::Seconds(30)).has_value());
  }

  std::string Publish(const std::string& payload) {
    ps::PublishRequest request;
    request.set_topic("events.e2e");
    request.mutable_message()->set_payload(payload);
    ps::PublishResponse response;
    const grpc::Status status = pubsub_->Publish(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.id();
  }

  // Every retained message of the topic, read through a Subscribe from the earliest.
  std::vector<std::string> Retained(size_t expected) {
    ps::SubscribeRequest request;
    request.set_topic("events.e2e");
    request.set_earliest(true);
    auto context = Context();
    auto reader = pubsub_->Subscribe(context.get(), request);
    std::vector<std::string> payloads;
    ps::SubscribeResponse response;
    while (payloads.size() < expected && reader->Read(&response)) {
      for (const ps::Message& m : response.messages()) payloads.push_back(m.payload());
    }
    context->TryCancel();
    reader->Finish();
    return payloads;
  }

  std::string data_dir_ = MakeTempDir("pubsub-e2e");
  HotpathdProcess process_;
  std::unique_ptr<PubSubService::Stub> pubsub_;
};

TEST_F(PubSubE2eTest, MessagesReachSubscribersAndSurviveARestart) {
  Start();
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    expected.push_back(absl::StrCat("m", i));
    Publish(expected.back());
  }
  EXPECT_EQ(Retained(20), expected);
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_pubsub_published_total"), 20);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_pubsub_topics"), 1);
  EXPECT_EQ(metrics->find("events.e2e"), std::string::npos);  // no topic is a label
  Stop(SIGTERM);
  Start();
  EXPECT_EQ(Retained(20), expected);
}

TEST_F(PubSubE2eTest, AcknowledgedPublishesSurviveKillNine) {
  Start({"--persistence.fsync=always"});
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    expected.push_back(absl::StrCat("m", i));
    Publish(expected.back());
  }
  Stop(SIGKILL);
  Start();
  EXPECT_EQ(Retained(200), expected);
}

TEST_F(PubSubE2eTest, SessionLifecycleEventsArriveOnTheirSystemTopic) {
  Start();
  ps::SubscribeRequest request;
  request.set_topic("_sys.session-events");
  request.set_earliest(true);
  auto context = Context();
  auto reader = pubsub_->Subscribe(context.get(), request);
  auto sessions = session::v1::SessionService::NewStub(
      grpc::CreateChannel(process_.grpc_address(), grpc::InsecureChannelCredentials()));
  session::v1::CreateRequest create;
  create.set_user_id("alice");
  session::v1::CreateResponse created;
  ASSERT_TRUE(sessions->Create(Context().get(), create, &created).ok());
  ps::SubscribeResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_GE(response.messages_size(), 1);
  EXPECT_EQ(response.messages(0).headers().at("event"), "created");
  EXPECT_EQ(response.messages(0).headers().at("user_id"), "alice");
  context->TryCancel();
  reader->Finish();
}

TEST_F(PubSubE2eTest, ACleanStopEndsSubscribersAtOnce) {
  Start();
  Publish("before");
  ps::SubscribeRequest request;
  request.set_topic("events.e2e");
  request.set_earliest(true);
  auto context = Context();
  auto reader = pubsub_->Subscribe(context.get(), request);
  ps::SubscribeResponse response;
  ASSERT_TRUE(reader->Read(&response));
  Stop(SIGTERM);
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace hotpath
