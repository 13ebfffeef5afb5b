// Test helpers: the whole state of a keyspace rendered as text, so that two keyspaces can be
// compared (after replay, snapshot loading, rewrite) with one EXPECT_EQ and a readable diff.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/keyspace.h"

namespace hotpath {

// One value, every detail that persistence must keep.
inline std::string Describe(const Value& value) {
  switch (value.type()) {
    case ValueType::kString:
      return "string " + value.string();
    case ValueType::kCounter:
      return absl::StrCat("counter ", value.counter());
    case ValueType::kLimiter:
      return absl::StrCat("limiter ", value.limiter().algorithm, " ",
                          absl::StrJoin(value.limiter().slots, ","));
    case ValueType::kHash: {
      std::map<std::string, std::string> fields;
      value.hash().ForEach([&](std::string_view f, std::string_view v) { fields.emplace(f, v); });
      return "hash " + absl::StrJoin(fields, ",", absl::PairFormatter("="));
    }
    case ValueType::kSortedSet: {
      std::string out =
          absl::StrCat("zset ", static_cast<int>(value.sorted_set().options().score_order),
                       static_cast<int>(value.sorted_set().options().ties));
      value.sorted_set().ForEach([&](const ScoredMember& m) {
        absl::StrAppend(&out, " ", std::string(m.member), ":", m.score, ":", m.tiebreak);
      });
      return out;
    }
    case ValueType::kStream: {
      const Stream& stream = value.stream();
      std::string out = "stream last " + stream.last_id().ToString();
      for (const StreamEntry& e : stream.Range(kMinStreamId, kMaxStreamId, UINT64_MAX)) {
        absl::StrAppend(&out, " ", e.id.ToString(), "{",
                        absl::StrJoin(e.fields, ",", absl::PairFormatter("=")), "}");
      }
      for (const Stream::GroupImage& image : stream.Groups()) {
        const std::string& group = image.name;
        absl::StrAppend(&out, " group ", group, " at ", stream.LastDelivered(group)->ToString(),
                        " consumers ", absl::StrJoin(image.consumers, ","));
        const std::vector<PendingEntry> pending =
            stream.PendingDetail(group, kMinStreamId, kMaxStreamId, UINT64_MAX, "", INT64_MIN, 0)
                .value();
        for (const PendingEntry& p : pending) {
          absl::StrAppend(&out, " ", p.id.ToString(), "@", p.consumer, "x", p.delivery_count, "t",
                          p.last_delivery_ms);
        }
      }
      return out;
    }
  }
  return "?";
}

inline std::map<std::string, std::string> Dump(const Keyspace& keyspace) {
  std::map<std::string, std::string> out;
  keyspace.ForEachKey([&](const KeyRef& key, const Value& value, int64_t deadline_ms) {
    out[absl::StrCat(std::string(key.ns), "/", std::string(key.key))] =
        absl::StrCat(Describe(value), " deadline ", deadline_ms);
  });
  return out;
}

}  // namespace hotpath
