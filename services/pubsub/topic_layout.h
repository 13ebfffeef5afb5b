// How topics sit in the engine: key names, topic names and patterns, and messages as stream
// entries. Internal to the topic store (topic_store.h has the rules).
//
// Per namespace, with T = SlotTag of the topic name's slot, so a topic's keys share a shard
// and a publish is one Keyspace::InShard step:
//   pt:{T}<topic>                 string: the StoredTopic (storage.proto)
//   pm:{T}<topic>                 stream: the messages
//   pd:{T}<created>:<key>:<topic> string: an idempotency key's message ID, with a deadline
//                                 of the dedupe window (<created>: the topic's creation time,
//                                 so a re-created topic does not inherit old keys)
//   po:{T}<topic>                 stream: dead letters on their way out (dead_letters.h)
// A topic's consumer groups are groups of its pm: stream; their options are in the StoredTopic.
// A message is one stream entry: field "p" holds the payload, and each header is a field
// "h:<name>". Entries other services append (system topics) show their fields as headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "hotpath/pubsub/v1/pubsub.pb.h"
#include "hotpath/pubsub/v1/storage.pb.h"

namespace hotpath::pubsub {

// InvalidArgument (naming `field`) unless `topic` is 1 to 200 of [A-Za-z0-9._-], with no
// empty level ("a..b", ".a", "a.").
absl::Status CheckTopicName(std::string_view topic, std::string_view field);
// InvalidArgument unless `pattern` is a valid topic name whose levels may also be "*", and
// whose last level may be ">".
absl::Status CheckPattern(std::string_view pattern);
// Whether `topic` matches `pattern` ("*": one level; ">" last: one or more levels).
bool Matches(std::string_view pattern, std::string_view topic);

struct TopicPlace {
  std::string topic;
  std::string tag;
  std::string meta_key;    // pt:
  std::string stream_key;  // pm:
  std::string outbox_key;  // po:
  std::string DedupeKey(int64_t created_ms, std::string_view idempotency_key) const;
};
TopicPlace PlaceOfTopic(std::string_view topic);
// The topic a key of `kind` ("pt", "pm" or "po") names, for the scan at start; nullopt for
// other keys.
std::optional<std::string> TopicOfKey(std::string_view key, std::string_view kind);

absl::StatusOr<std::optional<v1::StoredTopic>> ReadTopic(Shard::Access& access);
void WriteTopic(Shard::Access& access, const v1::StoredTopic& topic);
// The topic's record within a step: NotFound naming the topic when there is none.
absl::StatusOr<v1::StoredTopic> LoadTopic(Shard::Locked& locked, const std::string& ns,
                                          const TopicPlace& place);
// The stream under `key` within a step, or null when there is none.
Stream* StreamAt(Shard::Locked& locked, const KeyRef& key);
// The group's options in the topic's record, or null.
v1::StoredGroup* FindGroup(v1::StoredTopic& topic, std::string_view group);

// A message as stream fields, and back.
StreamFields FieldsOf(const v1::OutgoingMessage& message);
void FillMessage(const std::string& topic, const StreamEntry& entry, v1::Message* out);

// Durations in whole milliseconds. MillisOf: InvalidArgument naming `field` unless `d` is zero
// or 1 ms to 10,000 years (sub-millisecond parts are dropped).
void SetDuration(int64_t ms, google::protobuf::Duration* out);
absl::StatusOr<int64_t> MillisOf(const google::protobuf::Duration& d, const char* field);

std::string IdText(StreamId id);
// InvalidArgument naming `field` for text that is not "<ms>-<seq>" or "<ms>".
absl::StatusOr<StreamId> ParseId(std::string_view text, std::string_view field);

}  // namespace hotpath::pubsub
