// SessionStore: sessions and their per-user index on the engine, with idle and absolute
// expiry, and the consistency rules that make the index trustworthy.
//
// Layout, per namespace (T = SlotTag of the user id's slot, so both keys share a shard;
// session_layout.h):
//   s:{T}<digest>   string: a StoredSession (storage.proto); deadline = when it expires. After
//                   a Rotate, the old digest's key holds only `rotated_to` (a forward to the
//                   new digest) for the rotation grace period.
//   u:{T}<user id>  hash: <digest> -> the session's expiry in Unix ms; deadline = the
//                   latest expiry among its sessions
// Every operation runs as one Keyspace::InShard step, so no other call sees a session and its
// index entry disagree. A crash keeps a prefix of a step's records, so steps write the index
// before the session: at worst an index entry outlives its session (revoked, expired, or never
// written), and every reader checks the session and drops such an entry. A live session is
// never missing from its user's index, and a dropped entry costs one lookup.
//
// Expiry: a session ends at min(last use + idle timeout, absolute expiry); a Get that touches
// it moves the first, never the second. Touches have a resolution of one second (half the
// idle timeout if that is less): a Get within it of the last recorded use writes nothing, so
// a busy session is not rewritten (and logged) on every request.
// A user's index sheds the entries of ended sessions at every Create (and at List), so it
// holds about as many entries as the user has live sessions.
//
// Errors: InvalidArgument naming the field; NotFound ("session not found") for a token that is
// malformed, unknown, expired or revoked alike; Unavailable if the OS has no randomness.
// Thread safety: every method may be called concurrently. The keyspace must outlive the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/keyspace.h"
#include "hotpath/session/v1/storage.pb.h"
#include "services/session/session_events.h"

namespace hotpath::session {

struct SessionLimits {
  absl::Duration default_idle_timeout = absl::Minutes(30);
  absl::Duration default_lifetime = absl::Hours(24);
  absl::Duration min_timeout = absl::Seconds(1);
  absl::Duration max_lifetime = absl::Hours(24 * 366);
  size_t max_user_id_bytes = 256;
  // Attributes and device labels together: how many, and their keys' and values' bytes.
  size_t max_attributes = 64;
  size_t max_attribute_bytes = 16 * 1024;
  size_t max_ip_bytes = 64;
  size_t max_user_agent_bytes = 1024;
  // How long a rotated-away token keeps working (for requests already in flight with it).
  absl::Duration rotation_grace = absl::Seconds(30);
  // Most live sessions per user (0: no cap). At the cap a Create is refused
  // (RESOURCE_EXHAUSTED), or with evict_oldest the user's oldest sessions end to make room.
  size_t max_sessions_per_user = 0;
  bool evict_oldest = false;
};

// What Update changes: keys to delete, then keys to set.
struct AttributeChanges {
  google::protobuf::Map<std::string, std::string> set;
  std::vector<std::string> remove;
  std::optional<uint64_t> expected_version;
};

// What Create needs; unset timeouts take the limits' defaults.
struct NewSession {
  std::string user_id;
  google::protobuf::Map<std::string, std::string> attributes;
  v1::Device device;
  std::optional<absl::Duration> idle_timeout;
  std::optional<absl::Duration> absolute_lifetime;
};

struct CreatedSession {
  std::string token;  // the caller's, never stored
  v1::StoredSession session;
  std::vector<v1::StoredSession> evicted;  // the user's oldest, ended to stay within the cap
};

class SessionStore {
 public:
  // `keyspace` must outlive the store; `events` too, unless null (no lifecycle events). Events
  // are published inside the step that makes the change, so one session's events are in the
  // order of its changes.
  SessionStore(Keyspace* keyspace, const SessionLimits& limits, SessionEvents* events = nullptr)
      : keyspace_(keyspace), limits_(limits), events_(events) {}

  // Checks every field against the limits; InvalidArgument naming the first bad one.
  absl::Status Validate(const NewSession& session) const;

  absl::StatusOr<CreatedSession> Create(const std::string& ns, const NewSession& session);
  // The session, touched (idle expiry pushed out) unless `touch` is false.
  absl::StatusOr<v1::StoredSession> Get(const std::string& ns, std::string_view token, bool touch);
  // Applies `changes` (Aborted when expected_version is not the session's). Does not touch.
  // A rotated-away token cannot Update or Rotate (NotFound): within its grace it only reads
  // (Get) and revokes.
  absl::StatusOr<v1::StoredSession> Update(const std::string& ns, std::string_view token,
                                           const AttributeChanges& changes);
  // The session under a new token; the old one forwards to it for the rotation grace.
  absl::StatusOr<CreatedSession> Rotate(const std::string& ns, std::string_view token);
  // Returns the session it ended.
  absl::StatusOr<v1::StoredSession> Revoke(const std::string& ns, std::string_view token);
  // Ends the user's sessions but the one of `except_token` (if given and live); returns them.
  absl::StatusOr<std::vector<v1::StoredSession>> RevokeUser(const std::string& ns,
                                                            const std::string& user_id,
                                                            std::string_view except_token);
  // Run at start, after recovery, in one pass over every key: counts the live sessions (not
  // rotated-away tokens; for the active-sessions gauge), and gives every user index without an
  // expiry (a crash between the two records that create an index) the latest expiry of its
  // entries, so it cannot outlive its sessions.
  struct StartStats {
    uint64_t live = 0;
    size_t repaired_indexes = 0;
  };
  static StartStats AtStart(Keyspace& keyspace);
  // The user's live sessions, oldest first. Drops index entries whose session is gone.
  absl::StatusOr<std::vector<v1::StoredSession>> List(const std::string& ns,
                                                      const std::string& user_id);

  // When a stored session ends if not touched again: min(last use + idle, absolute), in ms.
  static int64_t ExpiresMs(const v1::StoredSession& session);

 private:
  // The idle timeout and lifetime a Create asks for, defaults filled in.
  std::pair<absl::Duration, absl::Duration> TimeoutsOf(const NewSession& session) const;
  // InvalidArgument unless attributes and labels together fit the limits.
  absl::Status CheckAttributes(const google::protobuf::Map<std::string, std::string>& attributes,
                               const v1::Device& device) const;
  absl::Status CheckUserId(const std::string& user_id) const;

  void Publish(SessionEvent event, const std::string& ns, const v1::StoredSession& session) {
    if (events_ != nullptr) events_->Publish(event, ns, session);
  }

  Keyspace* const keyspace_;
  const SessionLimits limits_;
  SessionEvents* const events_;
};

}  // namespace hotpath::session
