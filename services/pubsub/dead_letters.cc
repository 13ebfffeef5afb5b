#include "services/pubsub/dead_letters.h"

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"

namespace hotpath::pubsub {
namespace {

constexpr std::string_view kDestinationField = "x:destination";
constexpr std::string_view kKeyField = "x:key";

// Topic and group names together can exceed an idempotency key's 256 bytes, so they enter it
// as a hash, one that every build computes alike (64-bit FNV-1a): a drain repeated after an
// upgrade must make the same key.
std::string KeyOf(std::string_view topic, std::string_view group, StreamId id) {
  uint64_t hash = 0xcbf29ce484222325;
  const auto mix = [&hash](std::string_view bytes) {
    for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3;
  };
  mix(topic);
  mix("\n");
  mix(group);
  return absl::StrCat("dl:", absl::Hex(hash, absl::kZeroPad16), ":", IdText(id));
}

}  // namespace

absl::StatusOr<bool> AddDeadLetter(Shard::Locked& locked, const std::string& ns,
                                   const TopicPlace& place, v1::StoredGroup& group,
                                   const StreamEntry& entry, uint32_t deliveries,
                                   std::string_view reason) {
  group.set_dead_lettered(group.dead_lettered() + 1);
  if (group.dead_letter_topic().empty()) return false;
  v1::Message original;
  FillMessage(place.topic, entry, &original);
  v1::OutgoingMessage letter;
  letter.set_payload(original.payload());
  *letter.mutable_headers() = original.headers();
  auto& headers = *letter.mutable_headers();
  headers[kReasonHeader] = std::string(reason);
  headers[kTopicHeader] = place.topic;
  headers[kGroupHeader] = group.name();
  headers[kIdHeader] = original.id();
  headers[kDeliveriesHeader] = absl::StrCat(deliveries);
  StreamFields fields = FieldsOf(letter);
  fields.emplace_back(std::string(kDestinationField), group.dead_letter_topic());
  fields.emplace_back(std::string(kKeyField), KeyOf(place.topic, group.name(), entry.id));
  absl::StatusOr<StreamId> added = locked.Apply(
      KeyRef{ns, place.outbox_key},
      [&](Shard::Access& access) { return StreamAppendIn(access, std::nullopt, fields, {}); });
  if (!added.ok()) return added.status();
  return true;
}

DeadLetter ParseDeadLetter(const StreamEntry& entry) {
  DeadLetter letter;
  StreamEntry message{.id = entry.id};
  for (const auto& [field, value] : entry.fields) {
    if (field == kDestinationField) {
      letter.destination = value;
    } else if (field == kKeyField) {
      letter.message.set_idempotency_key(value);
    } else {
      message.fields.emplace_back(field, value);
    }
  }
  v1::Message parsed;
  FillMessage(letter.destination, message, &parsed);
  letter.message.set_payload(parsed.payload());
  *letter.message.mutable_headers() = parsed.headers();
  return letter;
}

}  // namespace hotpath::pubsub
