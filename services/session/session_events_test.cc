#include "services/session/session_events.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/session/session_store.h"

namespace hotpath::session {
namespace {

using ::testing::ElementsAre;

class SessionEventsTest : public ::testing::Test {
 protected:
  SessionEventsTest()
      : events_(SessionEventsOptions{.max_length = 3}),
        keyspace_(Keyspace::Create({.shards = 4}, &clock_, nullptr, &events_).value()),
        store_(keyspace_.get(), SessionLimits{}) {
    events_.set_on_expired([this] { ++expired_; });
    events_.Start(keyspace_.get());
  }

  // "event:user" for every entry of the event stream, oldest first.
  std::vector<std::string> Stream() {
    events_.Flush();
    std::vector<std::string> entries;
    auto read = keyspace_->StreamRead({.ns = "system", .key = "session-events"},
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

  NewSession For(const std::string& user) {
    return {.user_id = user, .idle_timeout = absl::Seconds(10)};
  }

  FakeClock clock_;
  SessionEvents events_;
  std::unique_ptr<Keyspace> keyspace_;
  SessionStore store_;
  int expired_ = 0;
};

TEST_F(SessionEventsTest, PublishedEventsLandInOrderAndTheStreamKeepsTheNewest) {
  v1::StoredSession session;
  session.set_session_id("id1");
  session.set_user_id("alice");
  events_.Publish(SessionEvent::kCreated, "default", session);
  events_.Publish(SessionEvent::kRotated, "default", session);
  EXPECT_THAT(Stream(), ElementsAre("created:alice", "rotated:alice"));
  session.set_user_id("bob");
  events_.Publish(SessionEvent::kRevoked, "default", session);
  events_.Publish(SessionEvent::kEvicted, "default", session);
  EXPECT_THAT(Stream(), ElementsAre("rotated:alice", "revoked:bob", "evicted:bob"));
}

TEST_F(SessionEventsTest, ExpiredSessionsAreAnnouncedButRotatedTokensAreNot) {
  NewSession session = For("carol");
  session.idle_timeout = absl::Seconds(60);
  const CreatedSession created = store_.Create("default", session).value();
  ASSERT_TRUE(store_.Rotate("default", created.token).ok());  // a forward with a 30 s grace
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(keyspace_->SweepExpired(64).removed, 1u);  // the forward: not a session
  EXPECT_TRUE(Stream().empty());
  clock_.Advance(absl::Seconds(30));                   // the session's idle timeout
  EXPECT_EQ(keyspace_->SweepExpired(64).removed, 2u);  // the session and its index
  EXPECT_THAT(Stream(), ElementsAre("expired:carol"));
  EXPECT_EQ(expired_, 1);
}

TEST_F(SessionEventsTest, StopAppendsWhatIsQueued) {
  v1::StoredSession session;
  session.set_user_id("dave");
  for (int i = 0; i < 2; ++i) events_.Publish(SessionEvent::kCreated, "default", session);
  events_.Stop();
  events_.Start(keyspace_.get());  // so that Stream() can flush
  EXPECT_THAT(Stream(), ElementsAre("created:dave", "created:dave"));
}

}  // namespace
}  // namespace hotpath::session
