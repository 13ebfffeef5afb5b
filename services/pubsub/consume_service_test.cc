// Consumer groups over real gRPC, in-process: the window, acks, redelivery to another
// consumer after the ack deadline, nacks into the dead-letter topic, group info with open
// streams, and refused or ended Consume streams.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pubsub/dead_letters.h"
#include "services/pubsub/pubsub_harness.h"

namespace hotpath::pubsub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Stream = grpc::ClientReaderWriter<v1::ConsumeRequest, v1::ConsumeResponse>;

class ConsumeTest : public ::testing::Test {
 protected:
  ConsumeTest() : h_(/*max_lag=*/100) { h_.gate.Open(); }

  void Publish(const std::string& topic, const std::vector<std::string>& payloads) {
    v1::PublishBatchRequest request;
    request.set_topic(topic);
    for (const std::string& payload : payloads) request.add_messages()->set_payload(payload);
    v1::PublishBatchResponse response;
    ASSERT_TRUE(h_.stub->PublishBatch(TestContext().get(), request, &response).ok());
  }

  // A group on "jobs" from its earliest message.
  void CreateGroup(int64_t ack_deadline_ms, uint32_t max_deliveries = 0,
                   const std::string& dead_letters = "") {
    v1::CreateTopicRequest topic;
    topic.set_topic("jobs");
    v1::CreateTopicResponse made;
    ASSERT_TRUE(h_.stub->CreateTopic(TestContext().get(), topic, &made).ok());
    v1::CreateGroupRequest request;
    request.set_topic("jobs");
    request.set_group("workers");
    request.set_earliest(true);
    request.mutable_options()->mutable_ack_deadline()->set_seconds(ack_deadline_ms / 1000);
    request.mutable_options()->mutable_ack_deadline()->set_nanos(
        static_cast<int32_t>(ack_deadline_ms % 1000) * 1'000'000);
    request.mutable_options()->set_max_deliveries(max_deliveries);
    request.mutable_options()->set_dead_letter_topic(dead_letters);
    v1::CreateGroupResponse response;
    const grpc::Status status = h_.stub->CreateGroup(TestContext().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  struct Consumer {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Stream> stream;
    std::string name;
    // Every delivery received so far, the first response's included: the response naming the
    // consumer may already carry deliveries.
    std::vector<v1::Delivery> got;

    // Reads until `count` deliveries came in all (true) or the stream ended (false).
    bool Receive(size_t count) {
      v1::ConsumeResponse response;
      while (got.size() < count && stream->Read(&response)) {
        for (const v1::Delivery& d : response.deliveries()) got.push_back(d);
      }
      return got.size() >= count;
    }
  };
  // Opens a consumer and reads the response naming it.
  Consumer Consume(const std::string& name, uint32_t window) {
    Consumer c{.context = TestContext()};
    c.stream = h_.stub->Consume(c.context.get());
    v1::ConsumeRequest request;
    request.mutable_start()->set_topic("jobs");
    request.mutable_start()->set_group("workers");
    request.mutable_start()->set_consumer(name);
    request.mutable_start()->set_max_outstanding(window);
    EXPECT_TRUE(c.stream->Write(request));
    v1::ConsumeResponse hello;
    EXPECT_TRUE(c.stream->Read(&hello));
    c.name = hello.consumer();
    for (const v1::Delivery& d : hello.deliveries()) c.got.push_back(d);
    return c;
  }

  static std::vector<std::string> Payloads(const std::vector<v1::Delivery>& deliveries) {
    std::vector<std::string> out;
    for (const v1::Delivery& d : deliveries) out.push_back(d.message().payload());
    return out;
  }

  v1::Group Info() {
    v1::GetGroupRequest request;
    request.set_topic("jobs");
    request.set_group("workers");
    v1::GetGroupResponse response;
    EXPECT_TRUE(h_.stub->GetGroup(TestContext().get(), request, &response).ok());
    return response.group();
  }

  PubSubHarness h_;
};

TEST_F(ConsumeTest, TheWindowBoundsWhatIsOutstandingAndAcksReopenIt) {
  CreateGroup(/*ack_deadline_ms=*/60'000);
  Publish("jobs", {"a", "b", "c", "d", "e"});
  Consumer c = Consume("c1", /*window=*/2);
  EXPECT_EQ(c.name, "c1");
  ASSERT_TRUE(c.Receive(2));
  EXPECT_THAT(Payloads(c.got), ElementsAre("a", "b"));
  EXPECT_EQ(c.got[0].delivery_count(), 1);
  // The window is full: the group holds the rest back.
  v1::Group info = Info();
  EXPECT_EQ(info.pending(), 2);
  EXPECT_EQ(info.lag(), 3);
  ASSERT_EQ(info.consumers_size(), 1);
  EXPECT_EQ(info.consumers(0).name(), "c1");
  EXPECT_EQ(info.consumers(0).open_streams(), 1);

  v1::ConsumeRequest ack;
  ack.add_ack_ids(c.got[0].message().id());
  ack.add_ack_ids(c.got[1].message().id());
  ASSERT_TRUE(c.stream->Write(ack));
  ASSERT_TRUE(c.Receive(4));
  EXPECT_THAT(Payloads(c.got), ElementsAre("a", "b", "c", "d"));
  c.stream->WritesDone();
  EXPECT_TRUE(c.stream->Finish().ok());
}

TEST_F(ConsumeTest, AnUnackedMessageGoesToAnotherConsumerAfterItsDeadline) {
  CreateGroup(/*ack_deadline_ms=*/200);
  Publish("jobs", {"a"});
  Consumer first = Consume("c1", 10);
  ASSERT_TRUE(first.Receive(1));
  first.context->TryCancel();  // crashed without acking
  (void)first.stream->Finish();

  // A cancelled stream is gone from the hub at once (bounded wait: gRPC tells the server).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (h_.consumers.streams() > 0 && absl::Now() < deadline) std::this_thread::yield();
  EXPECT_EQ(h_.consumers.streams(), 0);

  Consumer second = Consume("c2", 10);
  ASSERT_TRUE(second.Receive(1));
  EXPECT_EQ(second.got[0].message().id(), first.got[0].message().id());
  EXPECT_EQ(second.got[0].delivery_count(), 2);
}

TEST_F(ConsumeTest, ANackAtMaxDeliveriesDeadLettersTheMessage) {
  CreateGroup(/*ack_deadline_ms=*/60'000, /*max_deliveries=*/1, "jobs.dead");
  Publish("jobs", {"poison"});
  Consumer c = Consume("", 10);
  EXPECT_THAT(c.name, HasSubstr("consumer-"));
  ASSERT_TRUE(c.Receive(1));
  v1::ConsumeRequest nack;
  nack.add_nack_ids(c.got[0].message().id());
  ASSERT_TRUE(c.stream->Write(nack));

  v1::SubscribeRequest subscribe;
  subscribe.set_topic("jobs.dead");
  subscribe.set_earliest(true);
  auto context = TestContext();
  auto reader = h_.stub->Subscribe(context.get(), subscribe);
  v1::SubscribeResponse letters;
  ASSERT_TRUE(reader->Read(&letters));
  ASSERT_EQ(letters.messages_size(), 1);
  EXPECT_EQ(letters.messages(0).payload(), "poison");
  EXPECT_EQ(letters.messages(0).headers().at(kReasonHeader), kReasonMaxDeliveries);
  EXPECT_EQ(letters.messages(0).headers().at(kIdHeader), c.got[0].message().id());
  EXPECT_EQ(Info().dead_lettered(), 1);
  EXPECT_EQ(Info().pending(), 0);
}

TEST_F(ConsumeTest, BadRequestsEndTheStreamNamingTheField) {
  CreateGroup(/*ack_deadline_ms=*/1000);
  const auto ended = [&](const v1::ConsumeRequest& first, const v1::ConsumeRequest* second) {
    auto context = TestContext();
    auto stream = h_.stub->Consume(context.get());
    stream->Write(first);
    if (second != nullptr) stream->Write(*second);
    v1::ConsumeResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  };
  v1::ConsumeRequest no_start;
  no_start.set_max_outstanding(1);
  EXPECT_THAT(ended(no_start, nullptr).error_message(), HasSubstr("start"));
  v1::ConsumeRequest start;
  start.mutable_start()->set_topic("jobs");
  start.mutable_start()->set_group("workers");
  v1::ConsumeRequest bad_ack;
  bad_ack.add_ack_ids("x");
  const grpc::Status bad = ended(start, &bad_ack);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("ack_ids[0]"));
  v1::ConsumeRequest missing = start;
  missing.mutable_start()->set_group("nobody");
  EXPECT_EQ(ended(missing, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ConsumeRequest wide = start;
  wide.mutable_start()->set_max_outstanding(10'001);
  EXPECT_THAT(ended(wide, nullptr).error_message(), HasSubstr("start.max_outstanding"));
}

TEST_F(ConsumeTest, DeletingTheGroupEndsItsConsumers) {
  CreateGroup(/*ack_deadline_ms=*/1000);
  Consumer c = Consume("c1", /*window=*/0);  // paused: it never pulls, yet learns the news
  v1::DeleteGroupRequest request;
  request.set_topic("jobs");
  request.set_group("workers");
  v1::DeleteGroupResponse response;
  ASSERT_TRUE(h_.stub->DeleteGroup(TestContext().get(), request, &response).ok());
  EXPECT_FALSE(c.Receive(1));
  EXPECT_EQ(c.stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace hotpath::pubsub
