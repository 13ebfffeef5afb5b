#include "services/session/session_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "engine/slot.h"
#include "services/session/token.h"

namespace hotpath::session {
namespace {

constexpr int64_t kTouchResolutionMs = 1000;

std::string SessionKey(uint32_t slot, std::string_view digest) {
  return absl::StrCat("s:{", AbslView(SlotTag(slot)), "}", AbslView(digest));
}

std::string IndexKey(uint32_t slot, std::string_view user_id) {
  return absl::StrCat("u:{", AbslView(SlotTag(slot)), "}", AbslView(user_id));
}

absl::Status NotFound() { return absl::NotFoundError("session not found"); }

absl::Status CheckTimeout(absl::Duration value, const char* field, const SessionLimits& limits) {
  if (value < limits.min_timeout || value > limits.max_lifetime) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be between ", absl::FormatDuration(limits.min_timeout), " and ",
        absl::FormatDuration(limits.max_lifetime), ", got ", absl::FormatDuration(value)));
  }
  return absl::OkStatus();
}

// The stored session under `access`, if the key holds one. DataLoss if it cannot be read.
absl::StatusOr<std::optional<v1::StoredSession>> ReadSession(Shard::Access& access) {
  const Value* value = access.value();
  if (value == nullptr) return std::nullopt;
  v1::StoredSession stored;
  if (value->type() != ValueType::kString || !stored.ParseFromString(value->string())) {
    return absl::DataLossError("a stored session cannot be read");
  }
  return stored;
}

// Index first (see the header): the user's entry for `digest` says `expires_ms`, and the
// index lives at least that long.
absl::Status IndexSession(Shard::Access& access, std::string_view digest, int64_t expires_ms) {
  Value* value = access.value();
  if (value != nullptr && value->type() != ValueType::kHash) {
    return absl::FailedPreconditionError("a user's session index holds another type");
  }
  Hash& index = value != nullptr ? value->hash() : access.Create(Value::NewHash()).hash();
  const std::string expires = absl::StrCat(expires_ms);
  index.Set(digest, expires);
  access.Emit({.kind = MutationKind::kHashSet, .field = digest, .field_value = expires});
  if (access.deadline_ms() < expires_ms) access.SetDeadline(expires_ms);
  return absl::OkStatus();
}

// Drops the entries of sessions that have ended by `now_ms`. An entry's expiry is never
// earlier than its session's (the index is written first), so no live session's entry goes.
void PruneIndex(Shard::Access& access, int64_t now_ms) {
  Value* value = access.value();
  if (value == nullptr || value->type() != ValueType::kHash) return;
  std::vector<std::string> ended;
  value->hash().ForEach([&](std::string_view digest, std::string_view expires) {
    int64_t expires_ms = 0;
    if (absl::SimpleAtoi(AbslView(expires), &expires_ms) && expires_ms <= now_ms) {
      ended.emplace_back(digest);
    }
  });
  for (const std::string& digest : ended) {
    value->hash().Delete(digest);
    access.Emit({.kind = MutationKind::kHashDelete, .field = digest});
  }
  // Never emptied here: the caller adds an entry next.
}

void UnindexSession(Shard::Access& access, std::string_view digest) {
  Value* value = access.value();
  if (value == nullptr || value->type() != ValueType::kHash) return;
  if (!value->hash().Delete(digest)) return;
  access.Emit({.kind = MutationKind::kHashDelete, .field = digest});
  if (value->hash().size() == 0) access.RemoveEmpty();
}

int64_t NowMs(const Shard::Locked& locked) { return locked.now_ns() / 1'000'000; }

}  // namespace

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

absl::Status SessionStore::Validate(const NewSession& session) const {
  if (session.user_id.empty() || session.user_id.size() > limits_.max_user_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("user_id must be 1 to ",
                                                   limits_.max_user_id_bytes, " bytes, got ",
                                                   session.user_id.size()));
  }
  size_t entries = 0;
  size_t bytes = 0;
  auto count = [&](const google::protobuf::Map<std::string, std::string>& map,
                   const char* field) -> absl::Status {
    for (const auto& [key, value] : map) {
      if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty key"));
      ++entries;
      bytes += key.size() + value.size();
    }
    return absl::OkStatus();
  };
  HP_RETURN_IF_ERROR(count(session.attributes, "attributes"));
  HP_RETURN_IF_ERROR(count(session.device.labels(), "device.labels"));
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
  const uint32_t slot = KeySlot(session.user_id);
  CreatedSession created;
  HP_ASSIGN_OR_RETURN(created.token, NewToken(slot));
  HP_ASSIGN_OR_RETURN(std::string session_id, NewSessionId());
  const std::string digest = TokenDigest(created.token);
  const std::string index_key = IndexKey(slot, session.user_id);
  const KeyRef index{ns, index_key};
  const std::string stored_at_key = SessionKey(slot, digest);
  const KeyRef stored_at{ns, stored_at_key};
  const auto [idle, lifetime] = TimeoutsOf(session);
  const int64_t idle_ms = absl::ToInt64Milliseconds(idle);
  const int64_t lifetime_ms = absl::ToInt64Milliseconds(lifetime);

  HP_RETURN_IF_ERROR(keyspace_->InShard({index, stored_at}, [&](Shard::Locked& locked) {
    const int64_t now_ms = NowMs(locked);
    v1::StoredSession& stored = created.session;
    stored.set_session_id(session_id);
    stored.set_user_id(session.user_id);
    *stored.mutable_attributes() = session.attributes;
    *stored.mutable_device() = session.device;
    stored.set_version(1);
    stored.set_created_ns(locked.now_ns());
    stored.set_last_seen_ms(now_ms);
    stored.set_idle_ms(idle_ms);
    stored.set_absolute_expiry_ms(now_ms + lifetime_ms);
    const int64_t expires_ms = ExpiresMs(stored);
    // 2^-256 per pair of tokens; checked anyway, as a collision would hand over a session.
    const bool taken =
        locked.Apply(stored_at, [](Shard::Access& access) { return access.value() != nullptr; });
    if (taken) return absl::InternalError("a new token matched a live one; try again");
    // A user's index grows only here, so here it sheds the entries of ended sessions.
    HP_RETURN_IF_ERROR(locked.Apply(index, [&](Shard::Access& access) {
      PruneIndex(access, now_ms);
      return IndexSession(access, digest, expires_ms);
    }));
    locked.Apply(stored_at, [&](Shard::Access& access) {
      access.Upsert(Value::String(stored.SerializeAsString()), expires_ms);
    });
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<v1::StoredSession> SessionStore::Get(const std::string& ns, std::string_view token,
                                                    bool touch) {
  const std::optional<uint32_t> slot = TokenSlot(token);
  if (!slot.has_value()) return NotFound();
  const std::string digest = TokenDigest(token);
  const std::string stored_at_key = SessionKey(*slot, digest);
  const KeyRef stored_at{ns, stored_at_key};
  return keyspace_->InShard(
      {stored_at}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::StoredSession> {
        HP_ASSIGN_OR_RETURN(std::optional<v1::StoredSession> stored,
                            locked.Apply(stored_at, ReadSession));
        if (!stored.has_value()) return NotFound();
        const int64_t now_ms = NowMs(locked);
        // Short idle timeouts get a finer resolution, so a touch always lands in time.
        const int64_t resolution_ms = std::min(kTouchResolutionMs, stored->idle_ms() / 2);
        if (!touch || now_ms - stored->last_seen_ms() < resolution_ms) return *stored;
        stored->set_last_seen_ms(now_ms);
        const int64_t expires_ms = ExpiresMs(*stored);
        // The user's index has the session's tag (its slot), so it is in this shard too.
        const std::string index_key = IndexKey(*slot, stored->user_id());
        const KeyRef index{ns, index_key};
        HP_RETURN_IF_ERROR(locked.Apply(index, [&](Shard::Access& access) {
          return IndexSession(access, digest, expires_ms);
        }));
        locked.Apply(stored_at, [&](Shard::Access& access) {
          access.Upsert(Value::String(stored->SerializeAsString()), expires_ms);
        });
        return *stored;
      });
}

absl::Status SessionStore::Revoke(const std::string& ns, std::string_view token) {
  const std::optional<uint32_t> slot = TokenSlot(token);
  if (!slot.has_value()) return NotFound();
  const std::string digest = TokenDigest(token);
  const std::string stored_at_key = SessionKey(*slot, digest);
  const KeyRef stored_at{ns, stored_at_key};
  return keyspace_->InShard({stored_at}, [&](Shard::Locked& locked) -> absl::Status {
    HP_ASSIGN_OR_RETURN(std::optional<v1::StoredSession> stored,
                        locked.Apply(stored_at, ReadSession));
    if (!stored.has_value()) return NotFound();
    // The session goes first: a crash in between leaves only an index entry to drop.
    locked.Apply(stored_at, [](Shard::Access& access) { access.Delete(); });
    const std::string index_key = IndexKey(*slot, stored->user_id());
    const KeyRef index{ns, index_key};
    locked.Apply(index, [&](Shard::Access& access) { UnindexSession(access, digest); });
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::StoredSession>> SessionStore::List(const std::string& ns,
                                                                  const std::string& user_id) {
  if (user_id.empty() || user_id.size() > limits_.max_user_id_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "user_id must be 1 to ", limits_.max_user_id_bytes, " bytes, got ", user_id.size()));
  }
  const uint32_t slot = KeySlot(user_id);
  const std::string index_key = IndexKey(slot, user_id);
  const KeyRef index{ns, index_key};
  using Sessions = std::vector<v1::StoredSession>;
  return keyspace_->InShard({index}, [&](Shard::Locked& locked) -> absl::StatusOr<Sessions> {
    std::vector<std::string> digests;
    locked.Apply(index, [&](Shard::Access& access) {
      const Value* value = access.value();
      if (value == nullptr || value->type() != ValueType::kHash) return;
      value->hash().ForEach(
          [&](std::string_view field, std::string_view) { digests.emplace_back(field); });
    });
    Sessions sessions;
    std::vector<std::string> gone;
    for (const std::string& digest : digests) {
      const std::string stored_at_key = SessionKey(slot, digest);
      const KeyRef stored_at{ns, stored_at_key};
      HP_ASSIGN_OR_RETURN(std::optional<v1::StoredSession> stored,
                          locked.Apply(stored_at, ReadSession));
      if (stored.has_value()) {
        sessions.push_back(*std::move(stored));
      } else {
        gone.push_back(digest);
      }
    }
    if (!gone.empty()) {
      locked.Apply(index, [&](Shard::Access& access) {
        for (const std::string& digest : gone) UnindexSession(access, digest);
      });
    }
    std::sort(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.created_ns(), a.session_id()) <
             std::make_pair(b.created_ns(), b.session_id());
    });
    return sessions;
  });
}

}  // namespace hotpath::session
