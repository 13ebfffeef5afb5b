#include "services/session/session_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "engine/slot.h"
#include "services/common/utf8.h"
#include "services/session/session_layout.h"
#include "services/session/token.h"

namespace hotpath::session {
namespace {

constexpr int64_t kTouchResolutionMs = 1000;

absl::Status NotFound() { return absl::NotFoundError("session not found"); }

absl::Status CheckTimeout(absl::Duration value, const char* field, const SessionLimits& limits) {
  if (value < limits.min_timeout || value > limits.max_lifetime) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be between ", absl::FormatDuration(limits.min_timeout), " and ",
        absl::FormatDuration(limits.max_lifetime), ", got ", absl::FormatDuration(value)));
  }
  return absl::OkStatus();
}

int64_t NowMs(const Shard::Locked& locked) { return locked.now_ns() / 1'000'000; }

// Writes `stored` as the session under `key`, expiring when it ends.
void WriteSession(Shard::Locked& locked, const KeyRef& key, const v1::StoredSession& stored) {
  locked.Apply(key, [&](Shard::Access& access) {
    access.Upsert(Value::String(stored.SerializeAsString()), SessionStore::ExpiresMs(stored));
  });
}

// Ends the session under `key` (digest `digest`): the session first, then its index entry, so
// a crash in between leaves only an entry to drop.
void EndSession(Shard::Locked& locked, const std::string& ns, uint32_t slot,
                const std::string& user_id, const std::string& digest, const std::string& key) {
  locked.Apply(KeyRef{ns, key}, [](Shard::Access& access) { access.Delete(); });
  const std::string index_key = IndexKey(slot, user_id);
  locked.Apply(KeyRef{ns, index_key},
               [&](Shard::Access& access) { UnindexSession(access, digest); });
}

// The user's live sessions with their digests, dropping index entries that name no session
// (ended, revoked, rotated away, or never written before a crash). A copy whose rotated_from
// key still holds the full session is a Rotate cut short by a crash, so never acknowledged:
// the old token keeps the session and the copy, whose token nobody holds, ends.
std::vector<std::pair<std::string, v1::StoredSession>> LiveSessions(Shard::Locked& locked,
                                                                    const std::string& ns,
                                                                    uint32_t slot,
                                                                    const KeyRef& index,
                                                                    absl::Status* error) {
  std::vector<std::string> digests;
  locked.Apply(index, [&](Shard::Access& access) { digests = IndexedDigests(access); });
  std::vector<std::pair<std::string, v1::StoredSession>> live;
  std::vector<std::string> gone;       // entries without a session
  std::vector<std::string> unrotated;  // copies of an unfinished Rotate
  for (const std::string& digest : digests) {
    const std::string key = SessionKey(slot, digest);
    absl::StatusOr<std::optional<v1::StoredSession>> stored =
        locked.Apply(KeyRef{ns, key}, ReadStored);
    if (!stored.ok()) {
      *error = stored.status();
      return {};
    }
    if (!stored->has_value() || !(*stored)->rotated_to().empty()) {
      gone.push_back(digest);
      continue;
    }
    if (!(*stored)->rotated_from().empty()) {
      const std::string from_key = SessionKey(slot, (*stored)->rotated_from());
      absl::StatusOr<std::optional<v1::StoredSession>> from =
          locked.Apply(KeyRef{ns, from_key}, ReadStored);
      if (from.ok() && from->has_value() && (*from)->rotated_to().empty() &&
          (*from)->session_id() == (*stored)->session_id()) {
        unrotated.push_back(digest);
        continue;
      }
    }
    live.emplace_back(digest, **std::move(stored));
  }
  if (!gone.empty()) {
    locked.Apply(index, [&](Shard::Access& access) {
      for (const std::string& digest : gone) UnindexSession(access, digest);
    });
  }
  for (const std::string& digest : unrotated) {
    const std::string key = SessionKey(slot, digest);
    locked.Apply(KeyRef{ns, key}, [](Shard::Access& access) { access.Delete(); });
    locked.Apply(index, [&](Shard::Access& access) { UnindexSession(access, digest); });
  }
  std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.second.created_ns(), a.second.session_id()) <
           std::make_pair(b.second.created_ns(), b.second.session_id());
  });
  return live;
}

}  // namespace

SessionStore::StartStats SessionStore::AtStart(Keyspace& keyspace) {
  struct Repair {
    std::string ns;
    std::string key;
    int64_t expires_ms = 0;
  };
  std::vector<Repair> repairs;
  StartStats stats;
  // One pass over every key: start-up time grows with the data directory.
  keyspace.ForEachKey([&](const KeyRef& key, const Value& value, int64_t deadline_ms) {
    const std::string_view prefix = key.key.substr(0, 3);
    if (prefix == "s:{" && value.type() == ValueType::kString) {
      // Sessions past their deadline but not removed yet count too: each leaves exactly once,
      // by a delete or by an expiry that counts it down.
      v1::StoredSession stored;
      if (stored.ParseFromString(value.string()) && stored.rotated_to().empty()) ++stats.live;
    } else if (prefix == "u:{" && deadline_ms == 0 && value.type() == ValueType::kHash) {
      Repair repair{std::string(key.ns), std::string(key.key)};
      value.hash().ForEach([&](std::string_view, std::string_view expires) {
        int64_t expires_ms = 0;
        if (absl::SimpleAtoi(AbslView(expires), &expires_ms)) {
          repair.expires_ms = std::max(repair.expires_ms, expires_ms);
        }
      });
      repairs.push_back(std::move(repair));
    }
  });
  for (const Repair& repair : repairs) {
    // A deadline already past removes the index, as nothing it lists can be live.
    (void)keyspace.SetDeadline(KeyRef{repair.ns, repair.key},
                               absl::FromUnixMillis(std::max<int64_t>(repair.expires_ms, 1)));
  }
  stats.repaired_indexes = repairs.size();
  return stats;
}

int64_t SessionStore::ExpiresMs(const v1::StoredSession& session) {
  return std::min(session.last_seen_ms() + session.idle_ms(), session.absolute_expiry_ms());
}

std::pair<absl::Duration, absl::Duration> SessionStore::TimeoutsOf(
    const NewSession& session) const {
  const absl::Duration lifetime = session.absolute_lifetime.value_or(limits_.default_lifetime);
  // A default idle timeout never outlasts the lifetime the caller asked for.
  const absl::Duration idle =
      session.idle_timeout.value_or(std::min(limits_.default_idle_timeout, lifetime));
  return {idle, lifetime};
}

absl::Status SessionStore::CheckUserId(const std::string& user_id) const {
  if (user_id.empty() || user_id.size() > limits_.max_user_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user_id must be 1 to ", limits_.max_user_id_bytes, " bytes, got ", user_id.size()));
  }
  if (!IsValidUtf8(user_id)) return absl::InvalidArgumentError("user_id is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status SessionStore::CheckAttributes(
    const google::protobuf::Map<std::string, std::string>& attributes,
    const v1::Device& device) const {
  size_t entries = 0;
  size_t bytes = 0;
  auto count = [&](const google::protobuf::Map<std::string, std::string>& map,
                   const char* field) -> absl::Status {
    for (const auto& [key, value] : map) {
      if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty key"));
      // Stored in proto3 strings, which could not be read back otherwise.
      if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": a key or value is not valid UTF-8"));
      }
      ++entries;
      bytes += key.size() + value.size();
    }
    return absl::OkStatus();
  };
  HP_RETURN_IF_ERROR(count(attributes, "attributes"));
  HP_RETURN_IF_ERROR(count(device.labels(), "device.labels"));
  if (entries > limits_.max_attributes) {
    return absl::InvalidArgumentError(absl::StrCat("attributes and device.labels hold ", entries,
                                                   " entries; the limit is ",
                                                   limits_.max_attributes));
  }
  if (bytes > limits_.max_attribute_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("attributes and device.labels hold ", bytes,
                                                   " bytes; the limit is ",
                                                   limits_.max_attribute_bytes));
  }
  return absl::OkStatus();
}

absl::Status SessionStore::Validate(const NewSession& session) const {
  HP_RETURN_IF_ERROR(CheckUserId(session.user_id));
  HP_RETURN_IF_ERROR(CheckAttributes(session.attributes, session.device));
  if (!IsValidUtf8(session.device.ip()) || !IsValidUtf8(session.device.user_agent())) {
    return absl::InvalidArgumentError("device.ip and device.user_agent must be valid UTF-8");
  }
  if (session.device.ip().size() > limits_.max_ip_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("device.ip is over ", limits_.max_ip_bytes, " bytes"));
  }
  if (session.device.user_agent().size() > limits_.max_user_agent_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("device.user_agent is over ", limits_.max_user_agent_bytes, " bytes"));
  }
  const auto [idle, lifetime] = TimeoutsOf(session);
  HP_RETURN_IF_ERROR(CheckTimeout(idle, "idle_timeout", limits_));
  HP_RETURN_IF_ERROR(CheckTimeout(lifetime, "absolute_lifetime", limits_));
  if (lifetime < idle) {
    return absl::InvalidArgumentError(
        absl::StrCat("absolute_lifetime (", absl::FormatDuration(lifetime),
                     ") must not be shorter than idle_timeout (", absl::FormatDuration(idle), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CreatedSession> SessionStore::Create(const std::string& ns,
                                                    const NewSession& session) {
  HP_RETURN_IF_ERROR(Validate(session));
  const UserPlace user = PlaceOfUser(session.user_id);
  const uint32_t slot = user.slot;
  CreatedSession created;
  HP_ASSIGN_OR_RETURN(TokenAndId fresh, NewTokenAndId(slot));
  created.token = std::move(fresh.token);
  const std::string session_id = std::move(fresh.session_id);
  const std::string digest = TokenDigest(created.token);
  const KeyRef index{ns, user.index_key};
  const std::string stored_at_key = SessionKey(slot, digest);
  const KeyRef stored_at{ns, stored_at_key};
  // Plain variables, not a structured binding: lambdas below capture them.
  const std::pair<absl::Duration, absl::Duration> timeouts = TimeoutsOf(session);
  const absl::Duration idle = timeouts.first;
  const absl::Duration lifetime = timeouts.second;

  HP_RETURN_IF_ERROR(keyspace_->InShard({index, stored_at}, [&](Shard::Locked& locked) {
    const int64_t now_ms = NowMs(locked);
    // 2^-256 per pair of tokens; checked anyway, as a collision would hand over a session.
    const bool taken =
        locked.Apply(stored_at, [](Shard::Access& access) { return access.value() != nullptr; });
    if (taken) return absl::InternalError("a new token matched a live one; try again");
    if (limits_.max_sessions_per_user > 0) {
      absl::Status error;
      auto live = LiveSessions(locked, ns, slot, index, &error);
      HP_RETURN_IF_ERROR(error);
      if (live.size() >= limits_.max_sessions_per_user && !limits_.evict_oldest) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "user has ", live.size(), " sessions; the cap is ", limits_.max_sessions_per_user));
      }
      // Oldest first: end as many as it takes to leave room for this one.
      for (size_t i = 0; live.size() - i >= limits_.max_sessions_per_user; ++i) {
        EndSession(locked, ns, slot, session.user_id, live[i].first,
                   SessionKey(slot, live[i].first));
        Publish(SessionEvent::kEvicted, ns, live[i].second);
        created.evicted.push_back(std::move(live[i].second));
      }
    }
    v1::StoredSession& stored = created.session;
    stored.set_session_id(session_id);
    stored.set_user_id(session.user_id);
    *stored.mutable_attributes() = session.attributes;
    *stored.mutable_device() = session.device;
    stored.set_version(1);
    stored.set_created_ns(locked.now_ns());
    stored.set_last_seen_ms(now_ms);
    stored.set_idle_ms(absl::ToInt64Milliseconds(idle));
    stored.set_absolute_expiry_ms(now_ms + absl::ToInt64Milliseconds(lifetime));
    // A user's index grows only here, so here it sheds the entries of ended sessions too.
    HP_RETURN_IF_ERROR(locked.Apply(index, [&](Shard::Access& access) {
      PruneIndex(access, now_ms);
      return IndexSession(access, digest, ExpiresMs(stored));
    }));
    WriteSession(locked, stored_at, stored);
    Publish(SessionEvent::kCreated, ns, stored);
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<v1::StoredSession> SessionStore::Get(const std::string& ns, std::string_view token,
                                                    bool touch) {
  const std::optional<TokenPlace> place = PlaceOf(token);
  if (!place.has_value()) return NotFound();
  return keyspace_->InShard(
      {KeyRef{ns, place->key}}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::StoredSession> {
        HP_ASSIGN_OR_RETURN(std::optional<Resolved> found,
                            Resolve(locked, ns, place->slot, place->digest));
        if (!found.has_value()) return NotFound();
        v1::StoredSession& stored = found->stored;
        const int64_t now_ms = NowMs(locked);
        // Short idle timeouts get a finer resolution, so a touch always lands in time.
        const int64_t resolution_ms = std::min(kTouchResolutionMs, stored.idle_ms() / 2);
        if (!touch || now_ms - stored.last_seen_ms() < resolution_ms) return stored;
        stored.set_last_seen_ms(now_ms);
        // The user's index has the session's tag (its slot), so it is in this shard too.
        const std::string index_key = IndexKey(place->slot, stored.user_id());
        HP_RETURN_IF_ERROR(locked.Apply(KeyRef{ns, index_key}, [&](Shard::Access& access) {
          return IndexSession(access, found->digest, ExpiresMs(stored));
        }));
        WriteSession(locked, KeyRef{ns, found->key}, stored);
        return stored;
      });
}

absl::StatusOr<v1::StoredSession> SessionStore::Update(const std::string& ns,
                                                       std::string_view token,
                                                       const AttributeChanges& changes) {
  for (const std::string& key : changes.remove) {
    if (changes.set.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("attribute \"", key, "\" is both in set and in delete"));
    }
  }
  const std::optional<TokenPlace> place = PlaceOf(token);
  if (!place.has_value()) return NotFound();
  return keyspace_->InShard(
      {KeyRef{ns, place->key}}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::StoredSession> {
        HP_ASSIGN_OR_RETURN(std::optional<Resolved> found,
                            Resolve(locked, ns, place->slot, place->digest));
        // A rotated-away token only reads and revokes during its grace.
        if (!found.has_value() || !found->forward_keys.empty()) return NotFound();
        v1::StoredSession& stored = found->stored;
        if (changes.expected_version.has_value() && *changes.expected_version != stored.version()) {
          return absl::AbortedError(absl::StrCat("the session is at version ", stored.version(),
                                                 ", not ", *changes.expected_version));
        }
        auto& attributes = *stored.mutable_attributes();
        for (const std::string& key : changes.remove) attributes.erase(key);
        for (const auto& [key, value] : changes.set) attributes[key] = value;
        HP_RETURN_IF_ERROR(CheckAttributes(attributes, stored.device()));
        stored.set_version(stored.version() + 1);
        WriteSession(locked, KeyRef{ns, found->key}, stored);
        return stored;
      });
}

absl::StatusOr<CreatedSession> SessionStore::Rotate(const std::string& ns, std::string_view token) {
  const std::optional<TokenPlace> place = PlaceOf(token);
  if (!place.has_value()) return NotFound();
  CreatedSession rotated;
  HP_ASSIGN_OR_RETURN(rotated.token, NewToken(place->slot));  // same slot: same shard, same index
  const std::string new_digest = TokenDigest(rotated.token);
  const std::string new_key = SessionKey(place->slot, new_digest);
  HP_RETURN_IF_ERROR(keyspace_->InShard(
      {KeyRef{ns, place->key}, KeyRef{ns, new_key}}, [&](Shard::Locked& locked) -> absl::Status {
        HP_ASSIGN_OR_RETURN(std::optional<Resolved> found,
                            Resolve(locked, ns, place->slot, place->digest));
        // A rotated-away token cannot rotate again: whoever still holds it (a fixation, a
        // theft) must not get a fresh token for the whole session.
        if (!found.has_value() || !found->forward_keys.empty()) return NotFound();
        const bool taken = locked.Apply(
            KeyRef{ns, new_key}, [](Shard::Access& access) { return access.value() != nullptr; });
        if (taken) return absl::InternalError("a new token matched a live one; try again");
        v1::StoredSession& stored = rotated.session;
        stored = std::move(found->stored);
        stored.set_version(stored.version() + 1);
        stored.set_rotated_from(found->digest);
        const int64_t expires_ms = ExpiresMs(stored);
        const std::string index_key = IndexKey(place->slot, stored.user_id());
        const KeyRef index{ns, index_key};
        // The new entry and session first; then the old key becomes a forward for the grace
        // period, and its entry goes. A crash in between leaves both copies; readers know the
        // new one for the orphan by its rotated_from (LiveSessions).
        HP_RETURN_IF_ERROR(locked.Apply(index, [&](Shard::Access& access) {
          return IndexSession(access, new_digest, expires_ms);
        }));
        WriteSession(locked, KeyRef{ns, new_key}, stored);
        v1::StoredSession forward;
        forward.set_rotated_to(new_digest);
        const int64_t grace_ms =
            std::min(NowMs(locked) + absl::ToInt64Milliseconds(limits_.rotation_grace), expires_ms);
        locked.Apply(KeyRef{ns, found->key}, [&](Shard::Access& access) {
          if (grace_ms <= NowMs(locked)) {
            access.Delete();  // no grace: the old token ends now
          } else {
            access.Upsert(Value::String(forward.SerializeAsString()), grace_ms);
          }
        });
        locked.Apply(index, [&](Shard::Access& access) { UnindexSession(access, found->digest); });
        Publish(SessionEvent::kRotated, ns, stored);
        return absl::OkStatus();
      }));
  return rotated;
}

absl::StatusOr<v1::StoredSession> SessionStore::Revoke(const std::string& ns,
                                                       std::string_view token) {
  const std::optional<TokenPlace> place = PlaceOf(token);
  if (!place.has_value()) return NotFound();
  return keyspace_->InShard(
      {KeyRef{ns, place->key}}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::StoredSession> {
        HP_ASSIGN_OR_RETURN(std::optional<Resolved> found,
                            Resolve(locked, ns, place->slot, place->digest));
        if (!found.has_value()) return NotFound();
        EndSession(locked, ns, place->slot, found->stored.user_id(), found->digest, found->key);
        for (const std::string& forward : found->forward_keys) {
          locked.Apply(KeyRef{ns, forward}, [](Shard::Access& access) { access.Delete(); });
        }
        Publish(SessionEvent::kRevoked, ns, found->stored);
        return std::move(found->stored);
      });
}

absl::StatusOr<std::vector<v1::StoredSession>> SessionStore::RevokeUser(
    const std::string& ns, const std::string& user_id, std::string_view except_token) {
  HP_RETURN_IF_ERROR(CheckUserId(user_id));
  const UserPlace user = PlaceOfUser(user_id);
  const uint32_t slot = user.slot;
  const KeyRef index{ns, user.index_key};
  using Sessions = std::vector<v1::StoredSession>;
  return keyspace_->InShard({index}, [&](Shard::Locked& locked) -> absl::StatusOr<Sessions> {
    // The caller's own session, if its token is one of this user's.
    std::string keep;
    if (!except_token.empty() && TokenSlot(except_token) == slot) {
      HP_ASSIGN_OR_RETURN(std::optional<Resolved> own,
                          Resolve(locked, ns, slot, TokenDigest(except_token)));
      if (own.has_value() && own->stored.user_id() == user_id) keep = own->stored.session_id();
    }
    absl::Status error;
    auto live = LiveSessions(locked, ns, slot, index, &error);
    HP_RETURN_IF_ERROR(error);
    Sessions ended;
    for (auto& [digest, stored] : live) {
      if (!keep.empty() && stored.session_id() == keep) continue;
      EndSession(locked, ns, slot, user_id, digest, SessionKey(slot, digest));
      Publish(SessionEvent::kRevoked, ns, stored);
      ended.push_back(std::move(stored));
    }
    return ended;
  });
}

absl::StatusOr<std::vector<v1::StoredSession>> SessionStore::List(const std::string& ns,
                                                                  const std::string& user_id) {
  HP_RETURN_IF_ERROR(CheckUserId(user_id));
  const UserPlace user = PlaceOfUser(user_id);
  const uint32_t slot = user.slot;
  const KeyRef index{ns, user.index_key};
  using Sessions = std::vector<v1::StoredSession>;
  return keyspace_->InShard({index}, [&](Shard::Locked& locked) -> absl::StatusOr<Sessions> {
    absl::Status error;
    auto live = LiveSessions(locked, ns, slot, index, &error);
    HP_RETURN_IF_ERROR(error);
    Sessions sessions;
    sessions.reserve(live.size());
    for (auto& [digest, stored] : live) sessions.push_back(std::move(stored));
    return sessions;
  });
}

}  // namespace hotpath::session
