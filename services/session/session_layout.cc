#include "services/session/session_layout.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/slot.h"
#include "services/session/token.h"

namespace hotpath::session {
namespace {

// Rotations within one grace period chain forwards; a chain is never longer than the number
// of rotations in that time, and a longer one is not followed.
constexpr int kMaxForwards = 8;

}  // namespace

std::string SessionKey(uint32_t slot, std::string_view digest) {
  return absl::StrCat("s:{", AbslView(SlotTag(slot)), "}", AbslView(digest));
}

std::string IndexKey(uint32_t slot, std::string_view user_id) {
  return absl::StrCat("u:{", AbslView(SlotTag(slot)), "}", AbslView(user_id));
}

std::optional<TokenPlace> PlaceOf(std::string_view token) {
  const std::optional<uint32_t> slot = TokenSlot(token);
  if (!slot.has_value()) return std::nullopt;
  TokenPlace place{.slot = *slot, .digest = TokenDigest(token)};
  place.key = SessionKey(place.slot, place.digest);
  return place;
}

UserPlace PlaceOfUser(std::string_view user_id) {
  const uint32_t slot = KeySlot(user_id);
  return {.slot = slot, .index_key = IndexKey(slot, user_id)};
}

absl::StatusOr<std::optional<v1::StoredSession>> ReadStored(Shard::Access& access) {
  const Value* value = access.value();
  if (value == nullptr) return std::nullopt;
  v1::StoredSession stored;
  if (value->type() != ValueType::kString || !stored.ParseFromString(value->string())) {
    return absl::DataLossError("a stored session cannot be read");
  }
  return stored;
}

absl::StatusOr<std::optional<Resolved>> Resolve(Shard::Locked& locked, const std::string& ns,
                                                uint32_t slot, std::string_view digest) {
  Resolved found;
  found.digest = std::string(digest);
  for (int hop = 0; hop <= kMaxForwards; ++hop) {
    found.key = SessionKey(slot, found.digest);
    const KeyRef key{ns, found.key};
    absl::StatusOr<std::optional<v1::StoredSession>> stored = locked.Apply(key, ReadStored);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return std::nullopt;
    if ((*stored)->rotated_to().empty()) {
      found.stored = **std::move(stored);
      return found;
    }
    found.forward_keys.push_back(found.key);
    found.digest = (*stored)->rotated_to();
  }
  return std::nullopt;
}

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

void UnindexSession(Shard::Access& access, std::string_view digest) {
  Value* value = access.value();
  if (value == nullptr || value->type() != ValueType::kHash) return;
  if (!value->hash().Delete(digest)) return;
  access.Emit({.kind = MutationKind::kHashDelete, .field = digest});
  if (value->hash().size() == 0) access.RemoveEmpty();
}

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
    if (value->hash().size() == 1) break;  // the caller adds an entry next
    value->hash().Delete(digest);
    access.Emit({.kind = MutationKind::kHashDelete, .field = digest});
  }
}

std::vector<std::string> IndexedDigests(Shard::Access& access) {
  std::vector<std::string> digests;
  const Value* value = access.value();
  if (value == nullptr || value->type() != ValueType::kHash) return digests;
  value->hash().ForEach(
      [&](std::string_view digest, std::string_view) { digests.emplace_back(digest); });
  return digests;
}

}  // namespace hotpath::session
