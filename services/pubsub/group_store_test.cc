#include "services/pubsub/group_store.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pubsub/dead_letters.h"

namespace hotpath::pubsub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kNs[] = "default";
constexpr char kTopic[] = "jobs";
constexpr char kDeadLetters[] = "jobs.dead";

std::vector<std::string> Payloads(const Pulled& pulled) {
  std::vector<std::string> out;
  for (const Delivery& d : pulled.deliveries) out.push_back(d.message.payload());
  return out;
}

class GroupStoreTest : public ::testing::Test {
 protected:
  GroupStoreTest() { clock_.Set(absl::FromUnixSeconds(1'800'000'000)); }
  void SetUp() override { Open(sink_.records()); }

  // (Re)starts on `records`, as recovery would.
  void Open(const std::vector<Record>& records) {
    groups_.reset();
    topics_.reset();
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, &sink_).value();
    for (const Record& record : records) ASSERT_TRUE(keyspace_->Replay(record).ok());
    topics_ = std::make_unique<TopicStore>(keyspace_.get(), TopicLimits{});
    ASSERT_TRUE(topics_->Start().ok());
    groups_ = std::make_unique<GroupStore>(keyspace_.get(), topics_.get(), GroupLimits{});
  }
  void Restart() { Open(sink_.records()); }

  std::string Publish(const std::string& topic, const std::string& payload) {
    google::protobuf::RepeatedPtrField<v1::OutgoingMessage> one;
    one.Add()->set_payload(payload);
    (*one[0].mutable_headers())["trace"] = absl::StrCat("t-", payload);
    auto results = topics_->Publish(kNs, topic, one, "message");
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? results->at(0).id() : "";
  }

  // A group on kTopic from its earliest message, with a 10 s ack deadline.
  v1::Group Create(uint32_t max_deliveries = 0, const std::string& dead_letters = "") {
    v1::GroupOptions options;
    options.mutable_ack_deadline()->set_seconds(10);
    options.set_max_deliveries(max_deliveries);
    options.set_dead_letter_topic(dead_letters);
    auto group = groups_->CreateGroup(kNs, kTopic, "workers", options,
                                      {.kind = StartPoint::Kind::kEarliest});
    EXPECT_TRUE(group.ok()) << group.status();
    return group.value_or(v1::Group{});
  }

  Pulled Pull(const std::string& consumer, uint32_t max, bool claim_due = true) {
    auto pulled = groups_->Pull(kNs, kTopic, "workers", consumer, max, claim_due);
    EXPECT_TRUE(pulled.ok()) << pulled.status();
    return pulled.ok() ? *std::move(pulled) : Pulled{};
  }

  v1::Group Info() { return groups_->GetGroup(kNs, kTopic, "workers").value(); }

  std::vector<v1::Message> DeadLetters() {
    return topics_->Read(kNs, kDeadLetters, kMinStreamId, 100).value_or(std::vector<v1::Message>{});
  }

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  std::unique_ptr<TopicStore> topics_;
  std::unique_ptr<GroupStore> groups_;
};

TEST_F(GroupStoreTest, OptionsAreCheckedAndNamed) {
  Publish(kTopic, "a");
  const auto create = [&](const v1::GroupOptions& options, const std::string& topic = kTopic) {
    return groups_->CreateGroup(kNs, topic, "g", options, {}).status();
  };
  v1::GroupOptions short_deadline;
  short_deadline.mutable_ack_deadline()->set_nanos(50'000'000);
  EXPECT_THAT(create(short_deadline).message(), HasSubstr("options.ack_deadline"));
  v1::GroupOptions many;
  many.set_max_deliveries(1001);
  EXPECT_THAT(create(many).message(), HasSubstr("options.max_deliveries"));
  v1::GroupOptions self;
  self.set_dead_letter_topic(kTopic);
  EXPECT_THAT(create(self).message(), HasSubstr("options.dead_letter_topic must differ"));
  EXPECT_TRUE(absl::IsNotFound(create({}, "missing")));
  EXPECT_THAT(create({}, "_sys.session-events").message(), HasSubstr("system topics"));
  EXPECT_TRUE(create({}).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(create({})));
  EXPECT_TRUE(absl::IsNotFound(groups_->GetGroup(kNs, kTopic, "other").status()));
}

TEST_F(GroupStoreTest, EachMessageGoesToOneConsumer) {
  for (const char* payload : {"a", "b", "c", "d"}) Publish(kTopic, payload);
  EXPECT_EQ(Create().lag(), 4);
  EXPECT_THAT(Payloads(Pull("c1", 2)), ElementsAre("a", "b"));
  const Pulled second = Pull("c2", 5);
  EXPECT_THAT(Payloads(second), ElementsAre("c", "d"));
  EXPECT_EQ(second.deliveries[0].delivery_count, 1);
  EXPECT_EQ(second.deliveries[0].message.headers().at("trace"), "t-c");
  EXPECT_THAT(Payloads(Pull("c1", 5)), IsEmpty());

  const v1::Group info = Info();
  EXPECT_EQ(info.lag(), 0);
  EXPECT_EQ(info.pending(), 4);
  ASSERT_EQ(info.consumers_size(), 2);
  EXPECT_EQ(info.consumers(0).name(), "c1");
  EXPECT_EQ(info.consumers(0).pending(), 2);
  EXPECT_EQ(info.options().ack_deadline().seconds(), 10);
}

TEST_F(GroupStoreTest, UnackedMessagesComeBackAfterTheirDeadlineCounted) {
  Publish(kTopic, "a");
  Publish(kTopic, "b");
  Create();
  const Pulled first = Pull("c1", 10);
  ASSERT_EQ(first.deliveries.size(), 2);
  EXPECT_EQ(groups_->Ack(kNs, kTopic, "workers", {first.deliveries[0].id}).value(), 1);
  EXPECT_EQ(groups_->Ack(kNs, kTopic, "workers", {first.deliveries[0].id}).value(), 0);

  clock_.Advance(absl::Seconds(9));
  EXPECT_THAT(Payloads(Pull("c2", 10)), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  const Pulled again = Pull("c2", 10);
  EXPECT_THAT(Payloads(again), ElementsAre("b"));
  EXPECT_EQ(again.deliveries[0].delivery_count, 2);
  EXPECT_EQ(again.redelivered, 1);
  // Now c2's: c1 no longer owns it.
  ASSERT_EQ(Info().consumers_size(), 1);
  EXPECT_EQ(Info().consumers(0).name(), "c2");
  // Without claim_due, only new messages.
  clock_.Advance(absl::Seconds(10));
  EXPECT_THAT(Payloads(Pull("c1", 10, /*claim_due=*/false)), IsEmpty());
}

TEST_F(GroupStoreTest, ANackedMessageIsDueAfterItsDelay) {
  Publish(kTopic, "a");
  Create();
  const StreamId id = Pull("c1", 1).deliveries.at(0).id;
  EXPECT_TRUE(absl::IsInvalidArgument(
      groups_->Nack(kNs, kTopic, "workers", "c1", {id}, absl::Seconds(11)).status()));
  // Only the consumer holding it can nack it.
  EXPECT_EQ(groups_->Nack(kNs, kTopic, "workers", "c2", {id}, absl::ZeroDuration()).value(), 0);
  EXPECT_EQ(groups_->Nack(kNs, kTopic, "workers", "c1", {id}, absl::Seconds(3)).value(), 1);
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(Payloads(Pull("c1", 1)), IsEmpty());
  clock_.Advance(absl::Seconds(1));
  const Pulled again = Pull("c1", 1);
  EXPECT_THAT(Payloads(again), ElementsAre("a"));
  EXPECT_EQ(again.deliveries[0].delivery_count, 2);
}

TEST_F(GroupStoreTest, AtMaxDeliveriesAMessageMovesToTheDeadLetterTopicWithItsReason) {
  const std::string id = Publish(kTopic, "a");
  Create(/*max_deliveries=*/2, kDeadLetters);
  EXPECT_EQ(Pull("c1", 1).deliveries.size(), 1);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Pull("c1", 1).deliveries.at(0).delivery_count, 2);
  clock_.Advance(absl::Seconds(10));
  const Pulled last = Pull("c1", 1);
  EXPECT_THAT(last.deliveries, IsEmpty());
  EXPECT_EQ(last.dead_lettered, 1);

  const std::vector<v1::Message> letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1);
  EXPECT_EQ(letters[0].payload(), "a");
  EXPECT_EQ(letters[0].headers().at("trace"), "t-a");
  EXPECT_EQ(letters[0].headers().at(kReasonHeader), kReasonMaxDeliveries);
  EXPECT_EQ(letters[0].headers().at(kTopicHeader), kTopic);
  EXPECT_EQ(letters[0].headers().at(kGroupHeader), "workers");
  EXPECT_EQ(letters[0].headers().at(kIdHeader), id);
  EXPECT_EQ(letters[0].headers().at(kDeliveriesHeader), "2");
  const v1::Group info = Info();
  EXPECT_EQ(info.pending(), 0);
  EXPECT_EQ(info.dead_lettered(), 1);
}

TEST_F(GroupStoreTest, AfterNNacksTheMessageIsADeadLetter) {
  Publish(kTopic, "a");
  Create(/*max_deliveries=*/3, kDeadLetters);
  for (uint32_t delivery = 1; delivery <= 3; ++delivery) {
    const Pulled pulled = Pull("c1", 1);
    ASSERT_EQ(pulled.deliveries.size(), 1);
    EXPECT_EQ(pulled.deliveries[0].delivery_count, delivery);
    ASSERT_EQ(
        groups_->Nack(kNs, kTopic, "workers", "c1", {pulled.deliveries[0].id}, absl::ZeroDuration())
            .value(),
        1);
    EXPECT_TRUE(DeadLetters().empty());
  }
  EXPECT_EQ(Pull("c1", 1).dead_lettered, 1);  // no clock advance: nacked means due now
  ASSERT_EQ(DeadLetters().size(), 1);
  EXPECT_EQ(DeadLetters()[0].headers().at(kDeliveriesHeader), "3");
}

TEST_F(GroupStoreTest, WithoutADeadLetterTopicASpentMessageIsDroppedAndCounted) {
  Publish(kTopic, "a");
  Create(/*max_deliveries=*/1);
  Pull("c1", 1);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(Pull("c1", 1).dead_lettered, 1);
  EXPECT_EQ(Info().pending(), 0);
  EXPECT_EQ(Info().dead_lettered(), 1);
}

TEST_F(GroupStoreTest, RetentionDeadLettersPendingMessagesInsteadOfStrandingThem) {
  v1::TopicOptions options;
  options.mutable_retention()->set_max_messages(2);
  ASSERT_TRUE(topics_->CreateTopic(kNs, kTopic, options).ok());
  Publish(kTopic, "a");
  Publish(kTopic, "b");
  Create(/*max_deliveries=*/0, kDeadLetters);
  ASSERT_EQ(Pull("c1", 2).deliveries.size(), 2);
  Publish(kTopic, "c");  // retention removes "a", still pending
  const std::vector<v1::Message> letters = DeadLetters();
  ASSERT_EQ(letters.size(), 1);
  EXPECT_EQ(letters[0].payload(), "a");
  EXPECT_EQ(letters[0].headers().at(kReasonHeader), kReasonRetention);
  EXPECT_EQ(letters[0].headers().at(kDeliveriesHeader), "1");
  const v1::Group info = Info();
  EXPECT_EQ(info.pending(), 1);  // "b" only: nothing points at a removed message
  EXPECT_EQ(info.lag(), 1);      // "c"
  EXPECT_EQ(info.dead_lettered(), 1);
}

TEST_F(GroupStoreTest, PendingMessagesSurviveARestart) {
  Publish(kTopic, "a");
  Publish(kTopic, "b");
  Create();
  Pull("c1", 1);
  Restart();
  EXPECT_EQ(Info().pending(), 1);
  EXPECT_EQ(Info().lag(), 1);
  clock_.Advance(absl::Seconds(10));
  const Pulled pulled = Pull("c2", 5);
  EXPECT_THAT(Payloads(pulled), ElementsAre("a", "b"));
  EXPECT_EQ(pulled.deliveries[0].delivery_count, 2);
}

// A crash after the step that put a dead letter in the outbox, before the drain published it
// or after it published it but before the outbox let go of it: the letter reaches the
// dead-letter topic exactly once. (A crash inside the publish step itself, between the append
// and the idempotency key, is the at-least-once case docs/pubsub.md names.)
TEST_F(GroupStoreTest, ADeadLetterCutOffByACrashIsDeliveredOnceAtStart) {
  Publish(kTopic, "a");
  Create(/*max_deliveries=*/1, kDeadLetters);
  Pull("c1", 1);
  clock_.Advance(absl::Seconds(10));
  const size_t before = sink_.records().size();
  Pull("c1", 1);
  const std::vector<Record> all = sink_.records();
  const std::string dead_stream = PlaceOfTopic(kDeadLetters).stream_key;
  size_t published = 0;  // the record appending the letter to the dead-letter topic
  for (size_t i = before; i < all.size() && published == 0; ++i) {
    if (all[i].key == dead_stream) published = i;
  }
  ASSERT_GT(published, before);
  // The publish step is the append, then the letter's idempotency key; the outbox trim follows.
  ASSERT_LT(published + 2, all.size());
  ASSERT_EQ(all[published + 1].key.rfind("pd:", 0), 0);
  for (size_t cut : {published, published + 2}) {
    SCOPED_TRACE(cut);
    const std::vector<Record> survived(all.begin(), all.begin() + cut);
    Open(survived);
    const std::vector<v1::Message> letters = DeadLetters();
    ASSERT_EQ(letters.size(), 1);
    EXPECT_EQ(letters[0].payload(), "a");
    EXPECT_EQ(Info().pending(), 0);
  }
}

TEST_F(GroupStoreTest, AForgottenConsumerLeavesItsMessagesPendingForOthers) {
  Publish(kTopic, "a");
  Create();
  Pull("c1", 1);
  ASSERT_TRUE(groups_->Forget(kNs, kTopic, "workers", "c1").ok());
  ASSERT_TRUE(groups_->Forget(kNs, kTopic, "workers", "c1").ok());  // gone already: fine
  EXPECT_EQ(Info().pending(), 1);
  clock_.Advance(absl::Seconds(10));
  const Pulled taken = Pull("c2", 1);
  EXPECT_THAT(Payloads(taken), ElementsAre("a"));
  EXPECT_EQ(taken.deliveries[0].delivery_count, 2);
  ASSERT_EQ(Info().consumers_size(), 1);
  EXPECT_EQ(Info().consumers(0).name(), "c2");
}

TEST_F(GroupStoreTest, DeletingAGroupForgetsItsPendingMessages) {
  Publish(kTopic, "a");
  Create();
  Pull("c1", 1);
  ASSERT_TRUE(groups_->DeleteGroup(kNs, kTopic, "workers").ok());
  EXPECT_TRUE(absl::IsNotFound(groups_->GetGroup(kNs, kTopic, "workers").status()));
  EXPECT_TRUE(absl::IsNotFound(groups_->Pull(kNs, kTopic, "workers", "c1", 1, true).status()));
  // Created again, it starts afresh.
  const v1::Group again = Create();
  EXPECT_EQ(again.pending(), 0);
  EXPECT_EQ(again.lag(), 1);
}

}  // namespace
}  // namespace hotpath::pubsub
