#include "services/session/session_events.h"

#include <string>
#include <vector>

#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/session/session_store.h"

namespace hotpath::session {
namespace {

using ::testing::ElementsAre;

// "event:user" for every entry of `ns`'s event stream in `keyspace`, oldest first.
std::vector<std::string> Entries(Keyspace& keyspace, const std::string& ns) {
  std::vector<std::string> entries;
  auto read = keyspace.StreamRead({.ns = ns, .key = "_sys:session-events"},
                                  [&](const hotpath::Stream& stream) {
                                    stream.ForEachEntry([&](const StreamEntry& entry) {
                                      std::string line;
                                      for (const auto& [field, value] : entry.fields) {
                                        if (field == "event") line = value + line;
                                        if (field == "user_id") line += ":" + value;
                                      }
                                      entries.push_back(line);
                                    });
                                    return true;
                                  });
  if (!read.ok()) return {};
  return entries;
}

class SessionEventsTest : public ::testing::Test {
 protected:
  SessionEventsTest()
      // An hour's linger: every test here relies on Flush and Stop ending it (one that did
      // not would hang the test).
      : events_(SessionEventsOptions{.max_length = 5, .linger = absl::Hours(1)}),
        keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_, &events_).value()),
        store_(keyspace_.get(), SessionLimits{}, &events_) {
    events_.set_on_expired([this] { ++expired_; });
    events_.Start(keyspace_.get());
  }
  ~SessionEventsTest() override { events_.Stop(); }  // before the keyspace goes

  // "event:user" for every entry of `ns`'s event stream, oldest first, once all is appended.
  std::vector<std::string> Stream(const std::string& ns = "default") {
    events_.Flush();
    return Appended(ns);
  }

  // The same, as it stands.
  std::vector<std::string> Appended(const std::string& ns) { return Entries(*keyspace_, ns); }

  NewSession For(const std::string& user) {
    return {.user_id = user, .idle_timeout = absl::Seconds(10)};
  }

  FakeClock clock_;
  RecordingSink sink_;
  SessionEvents events_;
  std::unique_ptr<Keyspace> keyspace_;
  int expired_ = 0;
  SessionStore store_;
};

TEST_F(SessionEventsTest, PublishedEventsLandInOrderAndTheStreamKeepsTheNewest) {
  v1::StoredSession session;
  session.set_session_id("id1");
  session.set_user_id("alice");
  events_.Publish(SessionEvent::kCreated, "default", session);
  events_.Publish(SessionEvent::kRotated, "default", session);
  EXPECT_THAT(Stream(), ElementsAre("created:alice", "rotated:alice"));
  session.set_user_id("bob");
  for (SessionEvent event : {SessionEvent::kCreated, SessionEvent::kRevoked, SessionEvent::kEvicted,
                             SessionEvent::kExpired}) {
    events_.Publish(event, "default", session);
  }
  events_.Publish(SessionEvent::kCreated, "tenant-b", session);
  // The newest five.
  EXPECT_THAT(Stream(), ElementsAre("rotated:alice", "created:bob", "revoked:bob", "evicted:bob",
                                    "expired:bob"));
  EXPECT_THAT(Stream("tenant-b"), ElementsAre("created:bob"));  // each tenant its own stream
}

TEST_F(SessionEventsTest, EventsAppendedTogetherAreTrimmedOncePerStep) {
  v1::StoredSession session;
  session.set_user_id("hana");
  // The hour's linger ends at the Flush, so the thread takes all 300 as one batch: a step of
  // 256 and one of 44.
  for (int i = 0; i < 300; ++i) events_.Publish(SessionEvent::kCreated, "default", session);
  EXPECT_EQ(Stream().size(), 5u);
  int appends = 0;
  int trims = 0;
  for (const RecordedMutation& record : sink_.records()) {
    appends += record.kind == MutationKind::kStreamAppend;
    trims += record.kind == MutationKind::kStreamTrim;
  }
  EXPECT_EQ(appends, 300);
  EXPECT_EQ(trims, 2);  // not one per event past the fifth
}

TEST_F(SessionEventsTest, TheStorePublishesEachChangeOfASession) {
  SessionStore capped(keyspace_.get(),
                      SessionLimits{.max_sessions_per_user = 1, .evict_oldest = true}, &events_);
  const CreatedSession first = capped.Create("default", For("erin")).value();
  clock_.Advance(absl::Milliseconds(1));
  const CreatedSession second = capped.Create("default", For("erin")).value();  // evicts
  ASSERT_TRUE(capped.Rotate("default", second.token).ok());
  ASSERT_TRUE(capped.RevokeUser("default", "erin", "").ok());
  EXPECT_THAT(Stream(), ElementsAre("created:erin", "evicted:erin", "created:erin", "rotated:erin",
                                    "revoked:erin"));
}

TEST_F(SessionEventsTest, ExpiredSessionsAreAnnouncedButRotatedTokensAreNot) {
  NewSession session = For("carol");
  session.idle_timeout = absl::Seconds(60);
  const CreatedSession created = store_.Create("default", session).value();
  ASSERT_TRUE(store_.Rotate("default", created.token).ok());  // a forward with a 30 s grace
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(keyspace_->SweepExpired(64).removed, 1u);  // the forward: not a session
  EXPECT_THAT(Stream(), ElementsAre("created:carol", "rotated:carol"));
  clock_.Advance(absl::Seconds(30));                   // the session's idle timeout
  EXPECT_EQ(keyspace_->SweepExpired(64).removed, 2u);  // the session and its index
  EXPECT_THAT(Stream(), ElementsAre("created:carol", "rotated:carol", "expired:carol"));
  EXPECT_EQ(expired_, 1);
}

TEST_F(SessionEventsTest, StopAppendsWhatIsQueued) {
  v1::StoredSession session;
  session.set_user_id("dave");
  for (int i = 0; i < 2; ++i) events_.Publish(SessionEvent::kCreated, "default", session);
  events_.Stop();
  EXPECT_THAT(Appended("default"), ElementsAre("created:dave", "created:dave"));
}

TEST(SessionEventsLingerTest, EnoughWaitingEventsEndTheLinger) {
  FakeClock clock;
  SessionEvents events(SessionEventsOptions{.linger = absl::Hours(1), .linger_events = 3});
  absl::Mutex mu;
  int appended = 0;  // steps: the three events are appended as one
  events.set_on_appended([&](const std::string&) {
    absl::MutexLock lock(&mu);
    ++appended;
  });
  auto keyspace = Keyspace::Create({.shards = 4}, &clock, nullptr, &events).value();
  events.Start(keyspace.get());
  v1::StoredSession session;
  session.set_user_id("gina");
  for (int i = 0; i < 3; ++i) events.Publish(SessionEvent::kCreated, "default", session);
  {
    // No Flush: the third event alone ends the hour's wait.
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n >= 1; }, &appended));
  }
  EXPECT_EQ(Entries(*keyspace, "default").size(), 3u);
  events.Stop();
  EXPECT_EQ(appended, 1);
}

TEST(SessionEventsStepTest, EachNamespacesEventsLandInOrderAndAreAnnouncedPerStep) {
  FakeClock clock;
  SessionEvents events(SessionEventsOptions{.linger = absl::Hours(1)});
  std::vector<std::string> announced;  // only the events thread writes it before Stop
  events.set_on_appended([&](const std::string& ns) { announced.push_back(ns); });
  int lost = 0;
  events.set_on_lost([&] { ++lost; });
  auto keyspace = Keyspace::Create({.shards = 4}, &clock, nullptr, &events).value();
  v1::StoredSession session;
  // Queued before the thread starts, so it takes them as one batch: runs a, b, (bad), a.
  for (const char* user : {"a1", "a2"}) {
    session.set_user_id(user);
    events.Publish(SessionEvent::kCreated, "tenant-a", session);
  }
  session.set_user_id("b1");
  events.Publish(SessionEvent::kCreated, "tenant-b", session);
  events.Publish(SessionEvent::kCreated, "", session);  // no such namespace: lost
  events.Publish(SessionEvent::kRevoked, "", session);
  session.set_user_id("a3");
  events.Publish(SessionEvent::kRevoked, "tenant-a", session);
  events.Start(keyspace.get());
  events.Stop();
  EXPECT_THAT(announced, ElementsAre("tenant-a", "tenant-b", "tenant-a"));
  EXPECT_EQ(lost, 2);
  EXPECT_THAT(Entries(*keyspace, "tenant-a"),
              ElementsAre("created:a1", "created:a2", "revoked:a3"));
  EXPECT_THAT(Entries(*keyspace, "tenant-b"), ElementsAre("created:b1"));
}

TEST(SessionEventsLossTest, LostEventsAreCountedWhetherDroppedOrRefused) {
  FakeClock clock;
  SessionEvents events(SessionEventsOptions{.max_queued = 2});
  int lost = 0;
  events.set_on_lost([&] { ++lost; });
  auto keyspace = Keyspace::Create({.shards = 4}, &clock, nullptr, &events).value();
  // The stream's key holds a string in "default": appends there are refused.
  ASSERT_TRUE(keyspace->Set({.ns = "default", .key = "_sys:session-events"}, "taken").ok());
  v1::StoredSession session;
  session.set_user_id("frank");
  for (int i = 0; i < 3; ++i) events.Publish(SessionEvent::kCreated, "default", session);
  EXPECT_EQ(lost, 1);  // the queue holds two: the oldest went
  EXPECT_EQ(events.dropped(), 1u);
  events.Start(keyspace.get());
  events.Flush();
  EXPECT_EQ(lost, 3);  // and the two left were refused by the stream
  events.Stop();
}

}  // namespace
}  // namespace hotpath::session
