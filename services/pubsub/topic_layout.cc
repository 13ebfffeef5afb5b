#include "services/pubsub/topic_layout.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/common/absl_view.h"
#include "engine/slot.h"

namespace hotpath::pubsub {
namespace {

constexpr size_t kMaxTopicBytes = 200;
constexpr std::string_view kPayloadField = "p";
constexpr std::string_view kHeaderPrefix = "h:";

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::vector<std::string_view> Levels(std::string_view name) {
  std::vector<std::string_view> levels;
  for (absl::string_view level : absl::StrSplit(AbslView(name), '.')) {
    levels.emplace_back(level.data(), level.size());
  }
  return levels;
}

// Checks the levels of a name; `wildcards` lets a level be "*", and the last one ">".
absl::Status CheckLevels(std::string_view name, std::string_view field, bool wildcards) {
  if (name.empty() || name.size() > kMaxTopicBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(field), " must be 1 to ", kMaxTopicBytes, " characters"));
  }
  const std::vector<std::string_view> levels = Levels(name);
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string_view level = levels[i];
    if (wildcards && (level == "*" || (level == ">" && i + 1 == levels.size()))) continue;
    bool valid = !level.empty();
    for (char c : level) valid = valid && NameChar(c);
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(field), " \"", AbslView(name),
                       "\" is not levels of letters, digits, '-' and '_' separated by '.'",
                       wildcards ? " (or '*', and '>' last)" : ""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTopicName(std::string_view topic, std::string_view field) {
  return CheckLevels(topic, field, /*wildcards=*/false);
}

absl::Status CheckPattern(std::string_view pattern) {
  return CheckLevels(pattern, "pattern", /*wildcards=*/true);
}

bool Matches(std::string_view pattern, std::string_view topic) {
  const std::vector<std::string_view> want = Levels(pattern);
  const std::vector<std::string_view> have = Levels(topic);
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == ">" && i + 1 == want.size()) return have.size() > i;
    if (i >= have.size()) return false;
    if (want[i] != "*" && want[i] != have[i]) return false;
  }
  return want.size() == have.size();
}

std::string TopicPlace::DedupeKey(int64_t created_ms, std::string_view idempotency_key) const {
  return absl::StrCat("pd:{", tag, "}", created_ms, ":", AbslView(idempotency_key), ":", topic);
}

TopicPlace PlaceOfTopic(std::string_view topic) {
  TopicPlace place{.topic = std::string(topic), .tag = std::string(SlotTag(KeySlot(topic)))};
  place.meta_key = absl::StrCat("pt:{", place.tag, "}", AbslView(topic));
  place.stream_key = absl::StrCat("pm:{", place.tag, "}", AbslView(topic));
  place.outbox_key = absl::StrCat("po:{", place.tag, "}", AbslView(topic));
  return place;
}

std::optional<std::string> TopicOfKey(std::string_view key, std::string_view kind) {
  if (key.size() < kind.size() + 2 || key.substr(0, kind.size()) != kind ||
      key.substr(kind.size(), 2) != ":{") {
    return std::nullopt;
  }
  const size_t close = key.find('}');
  if (close == std::string_view::npos || close + 1 >= key.size()) return std::nullopt;
  return std::string(key.substr(close + 1));
}

absl::StatusOr<std::optional<v1::StoredTopic>> ReadTopic(Shard::Access& access) {
  const Value* value = access.value();
  if (value == nullptr) return std::nullopt;
  v1::StoredTopic topic;
  if (value->type() != ValueType::kString || !topic.ParseFromString(value->string())) {
    return absl::DataLossError("a stored topic cannot be read");
  }
  return topic;
}

void WriteTopic(Shard::Access& access, const v1::StoredTopic& topic) {
  access.Upsert(Value::String(topic.SerializeAsString()), 0);
}

absl::StatusOr<v1::StoredTopic> LoadTopic(Shard::Locked& locked, const std::string& ns,
                                          const TopicPlace& place) {
  absl::StatusOr<std::optional<v1::StoredTopic>> stored =
      locked.Apply(KeyRef{ns, place.meta_key}, ReadTopic);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::NotFoundError(absl::StrCat("topic \"", place.topic, "\" not found"));
  }
  return **std::move(stored);
}

Stream* StreamAt(Shard::Locked& locked, const KeyRef& key) {
  return locked.Apply(key, [](Shard::Access& access) -> Stream* {
    Value* value = access.value();
    return value != nullptr && value->type() == ValueType::kStream ? &value->stream() : nullptr;
  });
}

v1::StoredGroup* FindGroup(v1::StoredTopic& topic, std::string_view group) {
  for (v1::StoredGroup& stored : *topic.mutable_groups()) {
    if (stored.name() == group) return &stored;
  }
  return nullptr;
}

StreamFields FieldsOf(const v1::OutgoingMessage& message) {
  StreamFields fields;
  fields.reserve(1 + message.headers_size());
  fields.emplace_back(std::string(kPayloadField), message.payload());
  for (const auto& [name, value] : message.headers()) {
    fields.emplace_back(absl::StrCat(AbslView(kHeaderPrefix), name), value);
  }
  return fields;
}

void FillMessage(const std::string& topic, const StreamEntry& entry, v1::Message* out) {
  out->set_topic(topic);
  out->set_id(IdText(entry.id));
  out->mutable_published()->set_seconds(static_cast<int64_t>(entry.id.ms / 1000));
  out->mutable_published()->set_nanos(static_cast<int32_t>(entry.id.ms % 1000) * 1'000'000);
  for (const auto& [field, value] : entry.fields) {
    if (field == kPayloadField) {
      out->set_payload(value);
    } else if (std::string_view(field).substr(0, kHeaderPrefix.size()) == kHeaderPrefix) {
      (*out->mutable_headers())[field.substr(kHeaderPrefix.size())] = value;
    } else {
      (*out->mutable_headers())[field] = value;  // a system topic's entry: its fields
    }
  }
}

void SetDuration(int64_t ms, google::protobuf::Duration* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
}

absl::StatusOr<int64_t> MillisOf(const google::protobuf::Duration& d, const char* field) {
  constexpr int64_t kNanosPerMilli = 1'000'000;
  constexpr int64_t kMaxSeconds = 315'576'000'000;  // protobuf's own bound: 10,000 years
  if (d.seconds() < 0 || d.seconds() > kMaxSeconds || d.nanos() < 0 || d.nanos() >= 1'000'000'000 ||
      (d.seconds() == 0 && d.nanos() > 0 && d.nanos() < kNanosPerMilli)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be a duration of 1 ms to 10,000 years, or zero"));
  }
  return d.seconds() * 1000 + d.nanos() / kNanosPerMilli;
}

std::string IdText(StreamId id) { return absl::StrCat(id.ms, "-", id.seq); }

absl::StatusOr<StreamId> ParseId(std::string_view text, std::string_view field) {
  absl::StatusOr<StreamId> id = StreamId::Parse(text);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(field), " \"", AbslView(text),
                                                   "\" is not a message ID (<ms>-<seq>)"));
  }
  return id;
}

}  // namespace hotpath::pubsub
