// How sessions sit in the engine (see session_store.h for the rules): key names, and the reads
// and writes one step of the store makes on them. Internal to the session store.
//
// Every function here runs inside a Keyspace::InShard step, on keys of that step's shard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "hotpath/session/v1/storage.pb.h"

namespace hotpath::session {

// "s:{T}<digest>": a session (or a rotated token's forward), T the slot's tag.
std::string SessionKey(uint32_t slot, std::string_view digest);
// "u:{T}<user id>": the user's index, in the same slot as the user's sessions.
std::string IndexKey(uint32_t slot, std::string_view user_id);

// Where a token's session would be. Nullopt for anything that is not one of our tokens.
struct TokenPlace {
  uint32_t slot = 0;
  std::string digest;  // TokenDigest
  std::string key;     // SessionKey(slot, digest)
};
std::optional<TokenPlace> PlaceOf(std::string_view token);

// Where a user's index is: its slot (that of all the user's sessions) and key.
struct UserPlace {
  uint32_t slot = 0;
  std::string index_key;  // IndexKey(slot, user id)
};
UserPlace PlaceOfUser(std::string_view user_id);

// The stored value under `access`: a session or a forward. DataLoss if it cannot be read.
absl::StatusOr<std::optional<v1::StoredSession>> ReadStored(Shard::Access& access);

// A token's live session: found directly, or through the forwards rotations leave behind.
struct Resolved {
  std::string digest;  // the live session's token digest
  std::string key;     // SessionKey of that digest
  v1::StoredSession stored;
  std::vector<std::string> forward_keys;  // the forwards followed on the way, if any
};
// Nullopt when the token names nothing live.
absl::StatusOr<std::optional<Resolved>> Resolve(Shard::Locked& locked, const std::string& ns,
                                                uint32_t slot, std::string_view digest);

// The user's entry for `digest` says `expires_ms`, and the index lives at least that long.
absl::Status IndexSession(Shard::Access& access, std::string_view digest, int64_t expires_ms);
// Removes `digest`'s entry (and the index with its last entry).
void UnindexSession(Shard::Access& access, std::string_view digest);
// Drops the entries of sessions ended by `now_ms` (an entry's expiry is never earlier than its
// session's, as the index is written first). Never empties the index.
void PruneIndex(Shard::Access& access, int64_t now_ms);
// The digests the index lists.
std::vector<std::string> IndexedDigests(Shard::Access& access);

}  // namespace hotpath::session
