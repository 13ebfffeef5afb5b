#include "services/session/session_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/session/session_layout.h"
#include "services/session/token.h"

namespace hotpath::session {
namespace {

using ::testing::HasSubstr;

constexpr char kNs[] = "default";

class SessionStoreTest : public ::testing::Test {
 protected:
  SessionStoreTest()
      : keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_).value()),
        store_(keyspace_.get(), SessionLimits{}) {}

  NewSession For(const std::string& user, absl::Duration idle = absl::Seconds(10),
                 absl::Duration lifetime = absl::Seconds(60)) {
    NewSession session{.user_id = user, .idle_timeout = idle, .absolute_lifetime = lifetime};
    session.device.set_ip("10.0.0.7");
    session.device.set_user_agent("curl/8");
    session.attributes["role"] = "admin";
    return session;
  }

  CreatedSession Create(const std::string& user, absl::Duration idle = absl::Seconds(10),
                        absl::Duration lifetime = absl::Seconds(60)) {
    return store_.Create(kNs, For(user, idle, lifetime)).value();
  }

  bool Live(const std::string& token) { return store_.Get(kNs, token, /*touch=*/false).ok(); }

  // The user's index entries as stored, live sessions or not.
  size_t IndexEntries(const std::string& user) {
    size_t entries = 0;
    keyspace_->ForEachKey([&](const KeyRef& key, const Value& value, int64_t) {
      if (value.type() == ValueType::kHash && key.key.substr(0, 2) == "u:" &&
          key.key.substr(key.key.find('}') + 1) == user) {
        entries = value.hash().size();
      }
    });
    return entries;
  }

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  SessionStore store_;
};

TEST_F(SessionStoreTest, CreateThenGetReturnsTheSession) {
  const CreatedSession created = Create("alice");
  const v1::StoredSession got = store_.Get(kNs, created.token, true).value();
  EXPECT_EQ(got.user_id(), "alice");
  EXPECT_EQ(got.session_id(), created.session.session_id());
  EXPECT_EQ(got.session_id().size(), 16u);
  EXPECT_EQ(got.attributes().at("role"), "admin");
  EXPECT_EQ(got.device().ip(), "10.0.0.7");
  EXPECT_EQ(got.version(), 1u);
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  EXPECT_EQ(got.created_ns(), absl::ToUnixNanos(clock_.Now()));
  EXPECT_EQ(SessionStore::ExpiresMs(got), now_ms + 10'000);
  EXPECT_EQ(got.absolute_expiry_ms(), now_ms + 60'000);
}

TEST_F(SessionStoreTest, OnlyTheTokensDigestIsStored) {
  const CreatedSession created = Create("alice");
  keyspace_->ForEachKey([&](const KeyRef& key, const Value& value, int64_t) {
    EXPECT_EQ(key.key.find(created.token), std::string_view::npos);
    EXPECT_EQ(key.key.find(created.token.substr(4)), std::string_view::npos);
    if (value.type() == ValueType::kString) {
      EXPECT_EQ(value.string().find(created.token.substr(4)), std::string::npos);
    }
  });
  for (const Record& record : sink_.records()) {
    EXPECT_EQ(record.key.find(created.token.substr(4)), std::string::npos);
    EXPECT_EQ(record.field.find(created.token.substr(4)), std::string::npos);
  }
}

TEST_F(SessionStoreTest, TouchingPushesTheIdleExpiryOutButNeverPastTheAbsoluteOne) {
  const CreatedSession created = Create("alice");  // idle 10 s, absolute 60 s
  for (int second = 8; second < 60; second += 8) {
    clock_.Advance(absl::Seconds(8));
    ASSERT_TRUE(store_.Get(kNs, created.token, true).ok()) << "at " << second << " s";
  }
  // 56 s in, just touched: the idle expiry would be 66 s, the absolute one wins at 60 s.
  clock_.Advance(absl::Seconds(4) - absl::Milliseconds(1));
  EXPECT_TRUE(Live(created.token));
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(store_.Get(kNs, created.token, true).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, AnUntouchedSessionEndsAfterItsIdleTimeout) {
  const CreatedSession created = Create("alice");
  clock_.Advance(absl::Seconds(9));
  EXPECT_TRUE(store_.Get(kNs, created.token, /*touch=*/false).ok());  // reads, does not touch
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(Live(created.token));
}

TEST_F(SessionStoreTest, TouchesWithinASecondWriteNothing) {
  const CreatedSession created = Create("alice");
  const size_t records = sink_.records().size();
  clock_.Advance(absl::Milliseconds(999));
  ASSERT_TRUE(store_.Get(kNs, created.token, true).ok());
  EXPECT_EQ(sink_.records().size(), records);
  clock_.Advance(absl::Milliseconds(1));
  const v1::StoredSession touched = store_.Get(kNs, created.token, true).value();
  EXPECT_GT(sink_.records().size(), records);
  EXPECT_EQ(touched.last_seen_ms(), touched.created_ns() / 1'000'000 + 1000);
  EXPECT_EQ(touched.version(), 1u);  // a touch is not a change of the session's data
}

TEST_F(SessionStoreTest, UnknownRevokedExpiredAndMalformedTokensAllGetTheSameNotFound) {
  const CreatedSession revoked = Create("alice");
  const CreatedSession expired = Create("alice");
  EXPECT_EQ(store_.Revoke(kNs, revoked.token)->session_id(), revoked.session.session_id());
  clock_.Advance(absl::Seconds(10));
  const std::string unknown = NewToken(KeySlot("alice")).value();
  for (const std::string& token :
       {revoked.token, expired.token, unknown, std::string("garbage"), std::string("")}) {
    const absl::Status got = store_.Get(kNs, token, true).status();
    EXPECT_EQ(got.code(), absl::StatusCode::kNotFound) << token;
    EXPECT_EQ(got.message(), "session not found");
    EXPECT_EQ(store_.Revoke(kNs, token).status().code(), absl::StatusCode::kNotFound);
  }
}

TEST_F(SessionStoreTest, NamespacesDoNotShareSessions) {
  const CreatedSession created = Create("alice");
  EXPECT_EQ(store_.Get("tenant-b", created.token, true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_.List("tenant-b", "alice").value().empty());
}

TEST_F(SessionStoreTest, ListShowsLiveSessionsOldestFirstAndDropsTheRest) {
  const CreatedSession first = Create("alice");
  clock_.Advance(absl::Seconds(1));
  const CreatedSession second = Create("alice", absl::Seconds(30), absl::Seconds(60));
  clock_.Advance(absl::Seconds(1));
  const CreatedSession third = Create("alice");
  Create("bob");
  ASSERT_TRUE(store_.Revoke(kNs, third.token).ok());
  EXPECT_EQ(IndexEntries("alice"), 2u);  // revoking took its entry along

  std::vector<v1::StoredSession> listed = store_.List(kNs, "alice").value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].session_id(), first.session.session_id());
  EXPECT_EQ(listed[1].session_id(), second.session.session_id());

  clock_.Advance(absl::Seconds(9));  // the first ended (idle 10 s), the second lives
  EXPECT_EQ(IndexEntries("alice"), 2u);
  listed = store_.List(kNs, "alice").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].session_id(), second.session.session_id());
  EXPECT_EQ(IndexEntries("alice"), 1u);  // the expired one's entry is gone too
}

TEST_F(SessionStoreTest, AnIndexEntryWhoseSessionIsGoneIsNeverListed) {
  // What a crash between a step's records can leave: the entry, not the session.
  const CreatedSession created = Create("alice");
  const std::string key = SessionKey(KeySlot("alice"), TokenDigest(created.token));
  ASSERT_TRUE(keyspace_->Delete({.ns = kNs, .key = key}).value());
  EXPECT_TRUE(store_.List(kNs, "alice").value().empty());
  EXPECT_EQ(IndexEntries("alice"), 0u);
}

TEST_F(SessionStoreTest, TheIndexLivesAsLongAsItsLongestSession) {
  const CreatedSession created = Create("alice");
  std::optional<int64_t> index_deadline;
  auto read_deadline = [&] {
    keyspace_->ForEachKey([&](const KeyRef& key, const Value&, int64_t deadline_ms) {
      if (key.key.substr(0, 2) == "u:") index_deadline = deadline_ms;
    });
  };
  read_deadline();
  EXPECT_EQ(index_deadline, SessionStore::ExpiresMs(created.session));
  clock_.Advance(absl::Seconds(5));
  const v1::StoredSession touched = store_.Get(kNs, created.token, true).value();
  read_deadline();
  EXPECT_EQ(index_deadline, SessionStore::ExpiresMs(touched));
  clock_.Advance(absl::Seconds(10));  // the session and its index end together
  const std::string index = IndexKey(KeySlot("alice"), "alice");
  EXPECT_FALSE(keyspace_->Exists({.ns = kNs, .key = index}).value());
  EXPECT_FALSE(Live(created.token));
}

TEST_F(SessionStoreTest, ACreateShedsTheIndexEntriesOfEndedSessions) {
  Create("alice");
  Create("alice", absl::Seconds(30));
  clock_.Advance(absl::Seconds(10));  // the first ended; nobody listed
  EXPECT_EQ(IndexEntries("alice"), 2u);
  Create("alice");
  EXPECT_EQ(IndexEntries("alice"), 2u);  // the second and the new one
}

TEST_F(SessionStoreTest, ALaterShorterSessionNeverShortensTheIndex) {
  const CreatedSession longer = Create("alice", absl::Seconds(30), absl::Seconds(60));
  Create("alice", absl::Seconds(5), absl::Seconds(60));
  clock_.Advance(absl::Seconds(20));  // the shorter one ended, the longer lives
  const std::vector<v1::StoredSession> listed = store_.List(kNs, "alice").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].session_id(), longer.session.session_id());
}

TEST_F(SessionStoreTest, AShortIdleTimeoutIsTouchedAtAFinerResolution) {
  const CreatedSession created = Create("alice", absl::Seconds(1), absl::Seconds(60));
  clock_.Advance(absl::Milliseconds(600));
  ASSERT_TRUE(store_.Get(kNs, created.token, true).ok());  // half the idle timeout has passed
  clock_.Advance(absl::Milliseconds(900));                 // 1.5 s in, 0.9 s after the touch
  EXPECT_TRUE(Live(created.token));
}

TEST_F(SessionStoreTest, ADefaultIdleTimeoutNeverOutlastsTheLifetimeAsked) {
  NewSession session = For("alice");
  session.idle_timeout.reset();  // the default is 30 minutes
  session.absolute_lifetime = absl::Seconds(20);
  const CreatedSession created = store_.Create(kNs, session).value();
  EXPECT_EQ(created.session.idle_ms(), 20'000);
}

TEST_F(SessionStoreTest, UpdateChangesAttributesAndBumpsTheVersionUnlessItIsStale) {
  const CreatedSession created = Create("alice");
  AttributeChanges changes{.remove = {"role"}, .expected_version = 1};
  changes.set["theme"] = "dark";
  const v1::StoredSession updated = store_.Update(kNs, created.token, changes).value();
  EXPECT_EQ(updated.version(), 2u);
  EXPECT_FALSE(updated.attributes().contains("role"));
  EXPECT_EQ(updated.attributes().at("theme"), "dark");
  EXPECT_EQ(store_.Get(kNs, created.token, false)->attributes().at("theme"), "dark");

  // A second writer that read version 1 loses: nothing it wanted is applied.
  AttributeChanges stale{.expected_version = 1};
  stale.set["theme"] = "light";
  const absl::Status conflict = store_.Update(kNs, created.token, stale).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(conflict.message(), HasSubstr("at version 2, not 1"));
  EXPECT_EQ(store_.Get(kNs, created.token, false)->attributes().at("theme"), "dark");

  AttributeChanges both{.remove = {"theme"}};
  both.set["theme"] = "x";
  EXPECT_THAT(store_.Update(kNs, created.token, both).status().message(),
              HasSubstr("both in set and in delete"));
  AttributeChanges too_many;
  for (int i = 0; i < 64; ++i) too_many.set[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(store_.Update(kNs, created.token, too_many).status().message(),
              HasSubstr("the limit is 64"));
  EXPECT_EQ(store_.Get(kNs, created.token, false)->version(), 2u);
  EXPECT_EQ(store_.Update(kNs, "hps_nope", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, RotateIssuesANewTokenAndTheOldOneLastsOnlyTheGrace) {
  const CreatedSession created = Create("alice", absl::Seconds(600), absl::Seconds(3600));
  const CreatedSession rotated = store_.Rotate(kNs, created.token).value();
  EXPECT_NE(rotated.token, created.token);
  EXPECT_EQ(rotated.session.session_id(), created.session.session_id());
  EXPECT_EQ(rotated.session.version(), 2u);
  EXPECT_TRUE(Live(rotated.token));
  EXPECT_TRUE(Live(created.token));  // in flight with the old token: still passes
  EXPECT_EQ(store_.Get(kNs, created.token, false)->version(), 2u);  // the same session
  EXPECT_EQ(store_.List(kNs, "alice")->size(), 1u);
  EXPECT_EQ(IndexEntries("alice"), 1u);
  // The old token only reads during its grace: it can neither change nor rotate the session.
  EXPECT_EQ(store_.Update(kNs, created.token, {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.Rotate(kNs, created.token).status().code(), absl::StatusCode::kNotFound);
  clock_.Advance(absl::Seconds(30));  // the default grace
  EXPECT_FALSE(Live(created.token));
  EXPECT_TRUE(Live(rotated.token));
}

TEST_F(SessionStoreTest, RevokingThroughARotatedTokenEndsTheSession) {
  const CreatedSession created = Create("alice", absl::Seconds(600), absl::Seconds(3600));
  const CreatedSession rotated = store_.Rotate(kNs, created.token).value();
  ASSERT_TRUE(store_.Revoke(kNs, created.token).ok());
  EXPECT_FALSE(Live(rotated.token));
  EXPECT_FALSE(Live(created.token));
  EXPECT_TRUE(store_.List(kNs, "alice")->empty());
}

TEST_F(SessionStoreTest, RevokeUserEndsEverySessionOrAllButTheCallers) {
  std::vector<CreatedSession> sessions;
  for (int i = 0; i < 4; ++i) sessions.push_back(Create("alice"));
  const CreatedSession bob = Create("bob");
  EXPECT_EQ(store_.RevokeUser(kNs, "alice", sessions[2].token)->size(), 3u);
  EXPECT_TRUE(Live(sessions[2].token));
  EXPECT_FALSE(Live(sessions[0].token));
  EXPECT_TRUE(Live(bob.token));
  // Someone else's token keeps nothing of alice's.
  EXPECT_EQ(store_.RevokeUser(kNs, "alice", bob.token)->size(), 1u);
  EXPECT_FALSE(Live(sessions[2].token));
  EXPECT_EQ(IndexEntries("alice"), 0u);
  EXPECT_TRUE(store_.RevokeUser(kNs, "alice", "")->empty());
  EXPECT_EQ(SessionStore::AtStart(*keyspace_).live, 1u);  // bob's
}

TEST_F(SessionStoreTest, ACapRefusesOrEvictsTheOldestAtomically) {
  SessionStore capped(keyspace_.get(), SessionLimits{.max_sessions_per_user = 2});
  ASSERT_TRUE(capped.Create(kNs, For("alice")).ok());
  clock_.Advance(absl::Milliseconds(1));  // creation order is by time
  ASSERT_TRUE(capped.Create(kNs, For("alice")).ok());
  clock_.Advance(absl::Milliseconds(1));
  const absl::Status refused = capped.Create(kNs, For("alice")).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("user has 2 sessions; the cap is 2"));
  EXPECT_TRUE(capped.Create(kNs, For("bob")).ok());  // per user

  SessionStore evicting(keyspace_.get(),
                        SessionLimits{.max_sessions_per_user = 2, .evict_oldest = true});
  const std::vector<v1::StoredSession> before = store_.List(kNs, "alice").value();
  const CreatedSession third = evicting.Create(kNs, For("alice")).value();
  ASSERT_EQ(third.evicted.size(), 1u);
  EXPECT_EQ(third.evicted[0].session_id(), before[0].session_id());
  const std::vector<v1::StoredSession> after = store_.List(kNs, "alice").value();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].session_id(), before[1].session_id());  // the oldest went
  EXPECT_EQ(after[1].session_id(), third.session.session_id());
}

TEST_F(SessionStoreTest, ARotateCutShortByACrashLeavesTheOldTokenInCharge) {
  // What a crash between Rotate's records can leave: the new copy written, the old session
  // not yet turned into a forward. The Rotate was never acknowledged, so the old token wins.
  const CreatedSession created = Create("alice");
  const uint32_t slot = KeySlot("alice");
  v1::StoredSession copy = created.session;
  copy.set_version(2);
  copy.set_rotated_from(TokenDigest(created.token));
  const std::string orphan_digest = TokenDigest(NewToken(slot).value());
  const std::string orphan_key = SessionKey(slot, orphan_digest);
  const std::string index_key = IndexKey(slot, "alice");
  ASSERT_TRUE(keyspace_->Set({.ns = kNs, .key = orphan_key}, copy.SerializeAsString()).ok());
  ASSERT_TRUE(
      keyspace_->HashSet({.ns = kNs, .key = index_key}, orphan_digest, "9999999999999").ok());
  // The old token's session moves on past the orphan's version: still the one kept.
  ASSERT_TRUE(store_.Update(kNs, created.token, {}).ok());
  ASSERT_TRUE(store_.Update(kNs, created.token, {}).ok());
  const std::vector<v1::StoredSession> listed = store_.List(kNs, "alice").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].version(), 3u);
  EXPECT_EQ(IndexEntries("alice"), 1u);
  EXPECT_FALSE(keyspace_->Exists({.ns = kNs, .key = orphan_key}).value());
  EXPECT_TRUE(Live(created.token));
}

TEST_F(SessionStoreTest, AnIndexLeftWithoutAnExpiryGetsItsLatestEntrysAtRepair) {
  // What a crash between an index's first two records leaves: its entry, but no expiry.
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  const std::string alice = IndexKey(KeySlot("alice"), "alice");
  const std::string bob = IndexKey(KeySlot("bob"), "bob");
  ASSERT_TRUE(
      keyspace_->HashSet({.ns = kNs, .key = alice}, "d1", absl::StrCat(now_ms + 5000)).ok());
  ASSERT_TRUE(
      keyspace_->HashSet({.ns = kNs, .key = alice}, "d2", absl::StrCat(now_ms + 9000)).ok());
  ASSERT_TRUE(keyspace_->HashSet({.ns = kNs, .key = bob}, "d3", absl::StrCat(now_ms - 1)).ok());
  Create("carol");  // an index with its expiry: left alone
  EXPECT_EQ(SessionStore::AtStart(*keyspace_).repaired_indexes, 2u);
  EXPECT_EQ(keyspace_->GetDeadline({.ns = kNs, .key = alice}).value(),
            absl::FromUnixMillis(now_ms + 9000));
  EXPECT_FALSE(keyspace_->Exists({.ns = kNs, .key = bob}).value());  // nothing in it was live
  EXPECT_EQ(SessionStore::AtStart(*keyspace_).repaired_indexes, 0u);
}

TEST_F(SessionStoreTest, BadInputIsRefusedNamingTheField) {
  auto error = [&](NewSession session) {
    return std::string(store_.Create(kNs, session).status().message());
  };
  EXPECT_THAT(error(For("")), HasSubstr("user_id must be 1 to 256 bytes"));
  EXPECT_THAT(error(For(std::string(257, 'u'))), HasSubstr("user_id must be 1 to 256 bytes"));
  EXPECT_THAT(error(For("a", absl::ZeroDuration())), HasSubstr("idle_timeout must be between"));
  EXPECT_THAT(error(For("a", absl::Seconds(10), absl::Hours(24 * 400))),
              HasSubstr("absolute_lifetime must be between"));
  EXPECT_THAT(error(For("a", absl::Seconds(60), absl::Seconds(10))),
              HasSubstr("absolute_lifetime (10s) must not be shorter than idle_timeout (1m)"));
  NewSession many = For("a");
  for (int i = 0; i < 65; ++i) many.attributes[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(error(many), HasSubstr("hold 66 entries; the limit is 64"));
  NewSession big = For("a");
  (*big.device.mutable_labels())["blob"] = std::string(16 * 1024, 'x');
  EXPECT_THAT(error(big), HasSubstr("bytes; the limit is 16384"));
  NewSession empty_key = For("a");
  empty_key.attributes[""] = "v";
  EXPECT_THAT(error(empty_key), HasSubstr("attributes: empty key"));
  NewSession agent = For("a");
  agent.device.set_user_agent(std::string(1025, 'a'));
  EXPECT_THAT(error(agent), HasSubstr("device.user_agent is over 1024 bytes"));
  // Text stored in proto3 strings must be UTF-8, or it could not be read back.
  EXPECT_THAT(error(For("caf\xc3")), HasSubstr("user_id is not valid UTF-8"));
  NewSession latin1 = For("a");
  latin1.attributes["name"] = "Jos\xe9";
  EXPECT_THAT(error(latin1), HasSubstr("attributes: a key or value is not valid UTF-8"));
  NewSession ip = For("a");
  ip.device.set_ip("10.0.0.\xff");
  EXPECT_THAT(error(ip), HasSubstr("device.ip and device.user_agent must be valid UTF-8"));
  EXPECT_EQ(store_.List(kNs, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keyspace_->Stats().keys, 0u);                    // nothing was stored
  EXPECT_TRUE(store_.Create(kNs, For("caf\xc3\xa9")).ok());  // valid UTF-8 is fine
}

}  // namespace
}  // namespace hotpath::session
