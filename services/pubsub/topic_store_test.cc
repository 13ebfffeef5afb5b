#include "services/pubsub/topic_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::pubsub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNs[] = "default";

google::protobuf::RepeatedPtrField<v1::OutgoingMessage> Batch(
    const std::vector<std::string>& payloads, const std::string& key = "") {
  google::protobuf::RepeatedPtrField<v1::OutgoingMessage> batch;
  for (const std::string& payload : payloads) {
    v1::OutgoingMessage* m = batch.Add();
    m->set_payload(payload);
    m->set_idempotency_key(key);
  }
  return batch;
}

std::vector<std::string> Payloads(const std::vector<v1::Message>& messages) {
  std::vector<std::string> out;
  for (const v1::Message& m : messages) out.push_back(m.payload());
  return out;
}

class TopicStoreTest : public ::testing::Test {
 protected:
  TopicStoreTest() { clock_.Set(absl::FromUnixSeconds(1'800'000'000)); }
  void SetUp() override { Open(TopicLimits{}); }

  void Open(const TopicLimits& limits) {
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, &sink_).value();
    store_ = std::make_unique<TopicStore>(keyspace_.get(), limits);
    ASSERT_TRUE(store_->Start().ok());
  }

  std::string Publish(const std::string& topic, const std::string& payload,
                      const std::string& key = "") {
    auto results = store_->Publish(kNs, topic, Batch({payload}, key), "message");
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? results->at(0).id() : "";
  }

  v1::Topic CreateWithRetention(const std::string& topic, uint64_t max_messages) {
    v1::TopicOptions options;
    options.mutable_retention()->set_max_messages(max_messages);
    return store_->CreateTopic(kNs, topic, options).value();
  }

  // Restarts on the records written so far, as recovery would.
  void Restart() {
    auto fresh = Keyspace::Create({.shards = 4}, &clock_, &sink_).value();
    for (const Record& record : sink_.records()) ASSERT_TRUE(fresh->Replay(record).ok());
    store_.reset();
    keyspace_ = std::move(fresh);
    store_ = std::make_unique<TopicStore>(keyspace_.get(), TopicLimits{});
    ASSERT_TRUE(store_->Start().ok());
  }

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  std::unique_ptr<TopicStore> store_;
};

TEST_F(TopicStoreTest, MessagesComeBackInOrderWithTheirHeaders) {
  google::protobuf::RepeatedPtrField<v1::OutgoingMessage> batch = Batch({"a", "b"});
  (*batch[1].mutable_headers())["trace"] = "t-1";
  const auto ids = store_->Publish(kNs, "orders.eu", batch, "messages").value();
  ASSERT_EQ(ids.size(), 2);
  const std::vector<v1::Message> read = store_->Read(kNs, "orders.eu", kMinStreamId, 10).value();
  EXPECT_THAT(Payloads(read), ElementsAre("a", "b"));
  EXPECT_EQ(read[0].id(), ids[0].id());
  EXPECT_EQ(read[1].headers().at("trace"), "t-1");
  EXPECT_EQ(read[1].topic(), "orders.eu");
  EXPECT_EQ(read[1].published().seconds(), 1'800'000'000);
  // The topic was created on the first publish, with the defaults.
  const v1::Topic topic = store_->GetTopic(kNs, "orders.eu").value();
  EXPECT_EQ(topic.messages(), 2);
  EXPECT_EQ(topic.options().retention().max_messages(), TopicLimits{}.default_max_messages);
}

TEST_F(TopicStoreTest, AnIdempotencyKeyIsAppendedOncePerWindow) {
  v1::TopicOptions options;
  options.mutable_dedupe_window()->set_seconds(60);
  ASSERT_TRUE(store_->CreateTopic(kNs, "t", options).ok());
  const std::string first = Publish("t", "x", "order-1");
  const auto again = store_->Publish(kNs, "t", Batch({"x"}, "order-1"), "message").value();
  EXPECT_TRUE(again[0].duplicate());
  EXPECT_EQ(again[0].id(), first);
  // Twice in one batch: the second is the duplicate.
  const auto batch = store_->Publish(kNs, "t", Batch({"y", "y"}, "order-2"), "messages").value();
  EXPECT_FALSE(batch[0].duplicate());
  EXPECT_TRUE(batch[1].duplicate());
  EXPECT_EQ(store_->GetTopic(kNs, "t").value().messages(), 2);
  clock_.Advance(absl::Seconds(61));
  EXPECT_FALSE(
      store_->Publish(kNs, "t", Batch({"x"}, "order-1"), "message").value()[0].duplicate());
}

TEST_F(TopicStoreTest, RetentionKeepsTheNewestAndResumingBeforeItIsOutOfRange) {
  CreateWithRetention("t", 3);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(Publish("t", absl::StrCat("m", i)));
  const v1::Topic topic = store_->GetTopic(kNs, "t").value();
  EXPECT_EQ(topic.messages(), 3);
  EXPECT_EQ(topic.first_id(), ids[7]);

  const StreamId earliest = store_->Begin(kNs, "t", {.kind = StartPoint::Kind::kEarliest}).value();
  EXPECT_THAT(Payloads(store_->Read(kNs, "t", earliest, 10).value()),
              ElementsAre("m7", "m8", "m9"));
  // After m2: m3..m6 are gone, which a reader must hear about.
  const StreamId after_m2 = StreamId::Parse(ids[2]).value();
  const auto gap = store_->Read(kNs, "t", after_m2, 10);
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(gap.status().message(), HasSubstr(ids[7]));
  EXPECT_EQ(store_->Begin(kNs, "t", {.kind = StartPoint::Kind::kAfter, .after = after_m2})
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  // After m6, the last removed: nothing was missed.
  const StreamId after_m6 = StreamId::Parse(ids[6]).value();
  EXPECT_THAT(Payloads(store_->Read(kNs, "t", after_m6, 10).value()),
              ElementsAre("m7", "m8", "m9"));
  // And the same answers after a restart.
  Restart();
  EXPECT_EQ(store_->Read(kNs, "t", after_m2, 10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(Payloads(store_->Read(kNs, "t", after_m6, 10).value()),
              ElementsAre("m7", "m8", "m9"));
}

TEST_F(TopicStoreTest, ATailingReaderGoesOnWhenRetentionTakesWhatItAlreadyRead) {
  CreateWithRetention("t", 1);
  const StreamId start = store_->Begin(kNs, "t", {}).value();
  StreamId cursor = start;
  for (int i = 0; i < 5; ++i) {
    Publish("t", absl::StrCat("m", i));
    const std::vector<v1::Message> got = store_->Read(kNs, "t", cursor, 10).value();
    ASSERT_THAT(Payloads(got), ElementsAre(absl::StrCat("m", i)));
    cursor = StreamId::Parse(got.back().id()).value();
  }
}

TEST_F(TopicStoreTest, MaxAgeDropsOldMessages) {
  v1::TopicOptions options;
  options.mutable_retention()->mutable_max_age()->set_seconds(60);
  ASSERT_TRUE(store_->CreateTopic(kNs, "t", options).ok());
  Publish("t", "old");
  clock_.Advance(absl::Seconds(30));
  Publish("t", "mid");
  clock_.Advance(absl::Seconds(45));
  Publish("t", "new");
  const StreamId earliest = store_->Begin(kNs, "t", {.kind = StartPoint::Kind::kEarliest}).value();
  EXPECT_THAT(Payloads(store_->Read(kNs, "t", earliest, 10).value()), ElementsAre("mid", "new"));
}

TEST_F(TopicStoreTest, StartPoints) {
  Publish("t", "a");
  clock_.Advance(absl::Seconds(10));
  const int64_t later_ms = clock_.NowMillis();
  Publish("t", "b");
  const StreamId latest = store_->Begin(kNs, "t", {}).value();
  EXPECT_TRUE(store_->Read(kNs, "t", latest, 10).value().empty());
  const StreamId at =
      store_->Begin(kNs, "t", {.kind = StartPoint::Kind::kAtTime, .at_ms = later_ms}).value();
  EXPECT_THAT(Payloads(store_->Read(kNs, "t", at, 10).value()), ElementsAre("b"));
  EXPECT_EQ(store_->Begin(kNs, "nope", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TopicStoreTest, PatternsMatchLevels) {
  for (const char* topic : {"orders.eu", "orders.us", "orders.eu.paid", "users.eu"}) {
    Publish(topic, "x");
  }
  EXPECT_THAT(store_->Matching(kNs, "orders.*"), ElementsAre("orders.eu", "orders.us"));
  EXPECT_THAT(store_->Matching(kNs, "orders.>"),
              ElementsAre("orders.eu", "orders.eu.paid", "orders.us"));
  EXPECT_THAT(store_->Matching(kNs, "*.eu"), ElementsAre("orders.eu", "users.eu"));
  EXPECT_TRUE(store_->Matching("other", "orders.*").empty());
}

TEST_F(TopicStoreTest, TopicsAreCreatedListedAndDeleted) {
  ASSERT_TRUE(store_->CreateTopic(kNs, "a", {}).ok());
  EXPECT_EQ(store_->CreateTopic(kNs, "a", {}).status().code(), absl::StatusCode::kAlreadyExists);
  Publish("b", "x");
  ASSERT_EQ(store_->ListTopics(kNs).value().size(), 2);
  ASSERT_TRUE(store_->DeleteTopic(kNs, "b").ok());
  EXPECT_EQ(store_->Read(kNs, "b", kMinStreamId, 1).status().code(), absl::StatusCode::kNotFound);
  Restart();
  ASSERT_EQ(store_->ListTopics(kNs).value().size(), 1);
}

TEST_F(TopicStoreTest, SessionEventsReadAsASystemTopic) {
  // It exists before its first event, like every system topic.
  v1::Topic topic = store_->GetTopic(kNs, kSessionEventsTopic).value();
  EXPECT_EQ(topic.name(), kSessionEventsTopic);
  EXPECT_EQ(topic.messages(), 0);
  EXPECT_EQ(topic.last_id(), "");
  // As the SessionService's event publisher appends them (services/session/session_events.h).
  for (const char* event : {"created", "revoked"}) {
    ASSERT_TRUE(keyspace_
                    ->StreamAppend({kNs, kSessionEventsKey}, std::nullopt,
                                   {{"event", event}, {"session_id", "s1"}})
                    .ok());
  }
  const StreamId earliest =
      store_->Begin(kNs, kSessionEventsTopic, {.kind = StartPoint::Kind::kEarliest}).value();
  const std::vector<v1::Message> events =
      store_->Read(kNs, kSessionEventsTopic, earliest, 10).value();
  ASSERT_EQ(events.size(), 2);
  EXPECT_EQ(events[1].topic(), kSessionEventsTopic);
  EXPECT_EQ(events[1].headers().at("event"), "revoked");
  topic = store_->GetTopic(kNs, kSessionEventsTopic).value();
  EXPECT_EQ(topic.messages(), 2);
  EXPECT_EQ(topic.first_id(), events[0].id());
  EXPECT_EQ(topic.last_id(), events[1].id());
  EXPECT_EQ(store_->GetTopic("other", kSessionEventsTopic).value().messages(), 0);
  // Nobody else may write to it.
  EXPECT_EQ(store_->Publish(kNs, kSessionEventsTopic, Batch({"x"}), "message").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->CreateTopic(kNs, kSessionEventsTopic, {}).ok());
}

TEST_F(TopicStoreTest, BadInputIsRefusedNamingTheField) {
  EXPECT_THAT(store_->CreateTopic(kNs, "a..b", {}).status().message(), HasSubstr("topic"));
  EXPECT_THAT(store_->CreateTopic(kNs, "", {}).status().message(), HasSubstr("topic"));
  EXPECT_THAT(store_->CreateTopic(kNs, "_sys.x", {}).status().message(), HasSubstr("_sys."));
  v1::TopicOptions forever;
  forever.mutable_retention()->mutable_max_age()->set_seconds(INT64_MAX);
  EXPECT_THAT(store_->CreateTopic(kNs, "a", forever).status().message(),
              HasSubstr("options.retention.max_age"));
  EXPECT_THAT(
      store_->Publish(kNs, "t", Batch({std::string(2 << 20, 'x')}), "message").status().message(),
      HasSubstr("message.payload"));
  google::protobuf::RepeatedPtrField<v1::OutgoingMessage> batch = Batch({"ok", "bad"});
  (*batch[1].mutable_headers())[""] = "v";
  EXPECT_THAT(store_->Publish(kNs, "t", batch, "messages").status().message(),
              HasSubstr("messages[1].headers"));
  EXPECT_EQ(store_->ListTopics(kNs).value().size(), 0);  // nothing published, nothing made

  TopicLimits strict;
  strict.auto_create = false;
  Open(strict);
  EXPECT_EQ(store_->Publish(kNs, "t", Batch({"x"}), "message").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace hotpath::pubsub
