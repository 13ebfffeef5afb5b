// The pub/sub service in-process over real gRPC: publish, subscribers replaying and tailing,
// patterns, retention's explicit out-of-range, slow live-only subscribers, and the gate.
#include "services/pubsub/pubsub_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pubsub/pubsub_harness.h"

namespace hotpath::pubsub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Context() { return TestContext(); }

class PubSubServiceTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kMaxLag = 5;

  PubSubServiceTest() : h_(kMaxLag) {}

  std::vector<std::string> Publish(const std::string& topic,
                                   const std::vector<std::string>& payloads) {
    v1::PublishBatchRequest request;
    request.set_topic(topic);
    for (const std::string& payload : payloads) request.add_messages()->set_payload(payload);
    v1::PublishBatchResponse response;
    const grpc::Status status = stub_->PublishBatch(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::PublishResponse& r : response.results()) ids.push_back(r.id());
    return ids;
  }

  // Reads until `count` messages came (true) or the stream ended (false).
  static bool ReadMessages(grpc::ClientReader<v1::SubscribeResponse>& reader, size_t count,
                           std::vector<v1::Message>* got) {
    v1::SubscribeResponse response;
    while (got->size() < count && reader.Read(&response)) {
      for (const v1::Message& m : response.messages()) got->push_back(m);
    }
    return got->size() >= count;
  }

  static std::vector<std::string> Payloads(const std::vector<v1::Message>& messages) {
    std::vector<std::string> out;
    for (const v1::Message& m : messages) out.push_back(m.payload());
    return out;
  }

  // Whether the hub holds `n` streams within 10 s (a subscription is the server's once its
  // call has arrived, which the client cannot see).
  bool AwaitSubscribers(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (hub_.subscribers() < n && absl::Now() < deadline) std::this_thread::yield();
    return hub_.subscribers() >= n;
  }

  struct Subscription {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader;
  };
  Subscription Subscribe(const v1::SubscribeRequest& request) {
    Subscription s{.context = Context()};
    s.reader = stub_->Subscribe(s.context.get(), request);
    return s;
  }

  PubSubHarness h_;
  ServingGate& gate_ = h_.gate;
  SubscriberHub& hub_ = h_.hub;
  std::unique_ptr<v1::PubSubService::Stub>& stub_ = h_.stub;
};

TEST_F(PubSubServiceTest, NothingIsServedBeforeTheGateOpens) {
  v1::PublishRequest publish;
  publish.set_topic("t");
  v1::PublishResponse published;
  EXPECT_EQ(stub_->Publish(Context().get(), publish, &published).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::SubscribeRequest request;
  request.set_topic("t");
  Subscription s = Subscribe(request);
  v1::SubscribeResponse response;
  EXPECT_FALSE(s.reader->Read(&response));
  EXPECT_EQ(s.reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PubSubServiceTest, ManySubscribersEachGetEveryMessageInOrder) {
  gate_.Open();
  Publish("news", {"before"});
  std::vector<Subscription> subscribers;
  for (int i = 0; i < 20; ++i) {
    v1::SubscribeRequest request;
    request.set_topic("news");
    request.set_latest(true);
    subscribers.push_back(Subscribe(request));
  }
  // A subscriber counts once the server has it.
  ASSERT_TRUE(AwaitSubscribers(20));
  std::vector<std::string> expected;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> batch;
    for (int i = 0; i < 30; ++i) batch.push_back(absl::StrCat(round, "-", i));
    Publish("news", batch);
    expected.insert(expected.end(), batch.begin(), batch.end());
  }
  for (Subscription& s : subscribers) {
    std::vector<v1::Message> got;
    ASSERT_TRUE(ReadMessages(*s.reader, expected.size(), &got));
    EXPECT_EQ(Payloads(got), expected);
    s.context->TryCancel();
    s.reader->Finish();
  }
}

TEST_F(PubSubServiceTest, EarliestReplaysThenTails) {
  gate_.Open();
  Publish("t", {"a", "b"});
  v1::SubscribeRequest request;
  request.set_topic("t");
  request.set_earliest(true);
  Subscription s = Subscribe(request);
  std::vector<v1::Message> got;
  ASSERT_TRUE(ReadMessages(*s.reader, 2, &got));
  Publish("t", {"c"});
  ASSERT_TRUE(ReadMessages(*s.reader, 3, &got));
  EXPECT_THAT(Payloads(got), ElementsAre("a", "b", "c"));
  // Resuming after "a" gives the rest.
  v1::SubscribeRequest resume;
  resume.set_topic("t");
  resume.set_after_id(got[0].id());
  Subscription r = Subscribe(resume);
  std::vector<v1::Message> rest;
  ASSERT_TRUE(ReadMessages(*r.reader, 2, &rest));
  EXPECT_THAT(Payloads(rest), ElementsAre("b", "c"));
  s.context->TryCancel();
  r.context->TryCancel();
}

TEST_F(PubSubServiceTest, ResumingFromWhatRetentionRemovedIsOutOfRange) {
  gate_.Open();
  v1::CreateTopicRequest create;
  create.set_topic("short");
  create.mutable_options()->mutable_retention()->set_max_messages(2);
  v1::CreateTopicResponse created;
  ASSERT_TRUE(stub_->CreateTopic(Context().get(), create, &created).ok());
  const std::vector<std::string> ids = Publish("short", {"a", "b", "c", "d"});
  v1::SubscribeRequest request;
  request.set_topic("short");
  request.set_after_id(ids[0]);
  Subscription s = Subscribe(request);
  v1::SubscribeResponse response;
  EXPECT_FALSE(s.reader->Read(&response));
  const grpc::Status status = s.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), HasSubstr(ids[2]));  // the earliest retained
}

TEST_F(PubSubServiceTest, APatternFollowsMatchingTopicsIncludingNewOnes) {
  gate_.Open();
  Publish("orders.eu", {"eu-old"});
  v1::SubscribeRequest request;
  request.set_pattern("orders.*");
  request.set_latest(true);
  Subscription s = Subscribe(request);
  ASSERT_TRUE(AwaitSubscribers(1));
  Publish("orders.eu", {"eu-1"});
  Publish("users.eu", {"not-mine"});
  Publish("orders.us", {"us-1"});  // created after the subscription
  std::vector<v1::Message> got;
  ASSERT_TRUE(ReadMessages(*s.reader, 2, &got));
  std::vector<std::string> payloads = Payloads(got);
  std::sort(payloads.begin(), payloads.end());
  EXPECT_THAT(payloads, ElementsAre("eu-1", "us-1"));
  s.context->TryCancel();
}

TEST_F(PubSubServiceTest, APatternReadsItsTopicsRoundRobin) {
  gate_.Open();
  std::vector<std::string> busy(500, "a");
  Publish("rr.a", busy);
  Publish("rr.b", {"b"});
  v1::SubscribeRequest request;
  request.set_pattern("rr.*");
  request.set_earliest(true);
  request.set_max_batch(10);
  Subscription s = Subscribe(request);
  // "rr.b" sorts after the busy "rr.a"; it must not wait for all 50 of rr.a's responses.
  v1::SubscribeResponse response;
  bool seen = false;
  for (int i = 0; i < 3 && !seen && s.reader->Read(&response); ++i) {
    for (const v1::Message& m : response.messages()) seen = seen || m.payload() == "b";
  }
  EXPECT_TRUE(seen);
  s.context->TryCancel();
}

TEST_F(PubSubServiceTest, LargeMessagesComeInResponsesAClientCanReceive) {
  gate_.Open();
  for (int i = 0; i < 5; ++i) Publish("big", {std::string(1 << 20, 'x')});
  v1::SubscribeRequest request;
  request.set_topic("big");
  request.set_earliest(true);
  Subscription s = Subscribe(request);  // the client's default 4 MiB receive limit
  std::vector<v1::Message> got;
  EXPECT_TRUE(ReadMessages(*s.reader, 5, &got));
  s.context->TryCancel();
  EXPECT_EQ(s.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(PubSubServiceTest, ASlowLiveOnlySubscriberIsEndedWithWhereToResume) {
  gate_.Open();
  Publish("t", {"first"});
  v1::SubscribeRequest request;
  request.set_topic("t");
  request.set_live_only(true);
  request.set_max_batch(1);
  Subscription s = Subscribe(request);
  ASSERT_TRUE(AwaitSubscribers(1));
  std::vector<std::string> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(absl::StrCat("m", i));
  Publish("t", batch);
  std::vector<v1::Message> got;
  EXPECT_FALSE(ReadMessages(*s.reader, 100, &got));
  const grpc::Status status = s.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("resume after"));
  EXPECT_LT(got.size(), 100);
}

TEST_F(PubSubServiceTest, DeletingATopicEndsItsSubscribers) {
  gate_.Open();
  Publish("t", {"x"});
  v1::SubscribeRequest request;
  request.set_topic("t");
  request.set_earliest(true);
  Subscription s = Subscribe(request);
  std::vector<v1::Message> got;
  ASSERT_TRUE(ReadMessages(*s.reader, 1, &got));
  v1::DeleteTopicRequest remove;
  remove.set_topic("t");
  v1::DeleteTopicResponse removed;
  ASSERT_TRUE(stub_->DeleteTopic(Context().get(), remove, &removed).ok());
  EXPECT_FALSE(ReadMessages(*s.reader, 2, &got));
  EXPECT_EQ(s.reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PubSubServiceTest, BadSubscriptionsAreRefusedNamingTheField) {
  gate_.Open();
  const auto refused = [&](const v1::SubscribeRequest& request) {
    Subscription s = Subscribe(request);
    v1::SubscribeResponse response;
    EXPECT_FALSE(s.reader->Read(&response));
    return s.reader->Finish();
  };
  v1::SubscribeRequest none;
  EXPECT_THAT(refused(none).error_message(), HasSubstr("topic or pattern"));
  v1::SubscribeRequest bad_pattern;
  bad_pattern.set_pattern("a.>.b");
  EXPECT_THAT(refused(bad_pattern).error_message(), HasSubstr("pattern"));
  v1::SubscribeRequest pattern_after;
  pattern_after.set_pattern("a.*");
  pattern_after.set_after_id("1-0");
  EXPECT_THAT(refused(pattern_after).error_message(), HasSubstr("after_id"));
  v1::SubscribeRequest unknown;
  unknown.set_topic("nope");
  EXPECT_EQ(refused(unknown).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace hotpath::pubsub
