// hotpath.pubsub.v1.PubSubService against the real hotpathd: publish and subscribe over gRPC,
// metrics, messages that survive a clean restart and a kill -9 once acknowledged, subscribers
// ended promptly by a clean stop, and consumer groups whose unacknowledged messages survive a
// kill -9 and are delivered again.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

using ConsumeStream = grpc::ClientReaderWriter<ps::ConsumeRequest, ps::ConsumeResponse>;

// Reads until `count` deliveries came (true) or the stream ended (false).
bool Receive(ConsumeStream& stream, size_t count, std::vector<ps::Delivery>* got) {
  ps::ConsumeResponse response;
  while (got->size() < count && stream.Read(&response)) {
    for (const ps::Delivery& d : response.deliveries()) got->push_back(d);
  }
  return got->size() >= count;
}

TEST_F(PubSubE2eTest, UnackedGroupMessagesSurviveKillNineAndComeBackCounted) {
  Start({"--persistence.fsync=always", "--pubsub.redelivery_check_interval=20ms"});
  for (const char* payload : {"a", "b", "c", "d"}) Publish(payload);
  ps::CreateGroupRequest create;
  create.set_topic("events.e2e");
  create.set_group("workers");
  create.set_earliest(true);
  create.mutable_options()->mutable_ack_deadline()->set_nanos(300'000'000);
  ps::CreateGroupResponse created;
  ASSERT_TRUE(pubsub_->CreateGroup(Context().get(), create, &created).ok());
  EXPECT_EQ(created.group().lag(), 4);

  auto context = Context();
  auto stream = pubsub_->Consume(context.get());
  ps::ConsumeRequest start;
  start.mutable_start()->set_topic("events.e2e");
  start.mutable_start()->set_group("workers");
  start.mutable_start()->set_consumer("first");
  start.mutable_start()->set_max_outstanding(10);
  ASSERT_TRUE(stream->Write(start));
  std::vector<ps::Delivery> got;
  ASSERT_TRUE(Receive(*stream, 4, &got));
  ps::ConsumeRequest ack;
  ack.set_max_outstanding(2);  // what stays outstanding: nothing more comes
  ack.add_ack_ids(got[0].message().id());
  ack.add_ack_ids(got[1].message().id());
  ASSERT_TRUE(stream->Write(ack));
  // Acks have no answer; the group shows them applied. A publish answered under fsync=always
  // then covers every record before it, the acks' included.
  ps::GetGroupRequest get;
  get.set_topic("events.e2e");
  get.set_group("workers");
  ps::GetGroupResponse info;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    ASSERT_TRUE(pubsub_->GetGroup(Context().get(), get, &info).ok());
  } while (info.group().pending() != 2 && absl::Now() < deadline);
  ASSERT_EQ(info.group().pending(), 2);
  Publish("e");
  const auto metrics = HttpGet(process_.metrics_address(), "/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_pubsub_group_pending"), 2);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_pubsub_group_acked_total"), 2);
  EXPECT_EQ(PrometheusValue(*metrics, "hotpath_pubsub_consumers"), 1);
  EXPECT_EQ(metrics->find("workers"), std::string::npos);  // no group is a label
  Stop(SIGKILL);
  context->TryCancel();
  (void)stream->Finish();

  Start({"--pubsub.redelivery_check_interval=20ms"});
  ASSERT_TRUE(pubsub_->GetGroup(Context().get(), get, &info).ok());
  EXPECT_EQ(info.group().pending(), 2);
  EXPECT_EQ(info.group().lag(), 1);
  auto again_context = Context();
  auto again = pubsub_->Consume(again_context.get());
  start.mutable_start()->set_consumer("second");
  ASSERT_TRUE(again->Write(start));
  // Until c and d are back. "second" never acks, so with a 300 ms deadline e (new to the
  // group) may come round again meanwhile: what matters is which messages come and how they
  // are counted, not how often e does.
  std::map<std::string, std::vector<uint32_t>> counts;  // payload -> delivery counts seen
  ps::ConsumeResponse batch;
  while (!(counts.contains("c") && counts.contains("d") && counts.contains("e")) &&
         again->Read(&batch)) {
    for (const ps::Delivery& d : batch.deliveries()) {
      counts[d.message().payload()].push_back(d.delivery_count());
    }
  }
  EXPECT_FALSE(counts.contains("a"));  // acked before the kill: never again
  EXPECT_FALSE(counts.contains("b"));
  ASSERT_TRUE(counts.contains("c") && counts.contains("d") && counts.contains("e"));
  EXPECT_EQ(counts["c"].front(), 2);  // delivered once before the kill
  EXPECT_EQ(counts["d"].front(), 2);
  EXPECT_EQ(counts["e"].front(), 1);
  // A clean stop ends the consumer at once.
  Stop(SIGTERM);
  ps::ConsumeResponse response;
  while (again->Read(&response)) {
  }
  EXPECT_EQ(again->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace hotpath
