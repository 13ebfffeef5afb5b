// A MutationSink for tests: keeps a copy of every record it is handed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine/mutation.h"

namespace hotpath {

struct RecordedMutation {
  uint32_t shard;
  uint64_t sequence;
  MutationKind kind;
  std::string ns;
  std::string key;
  std::shared_ptr<const Value> value;  // set for kUpsert; Values are move-only
  int64_t deadline_ms;
  std::string field;
  std::string field_value;
  int64_t score;
  uint64_t tiebreak;
  StreamId stream_id;
  std::string group;
  std::string consumer;
  uint32_t delivery_count;
  int64_t delivery_ms;
  StreamFields stream_fields;
};

class RecordingSink : public MutationSink {
 public:
  void Apply(const Mutation& m) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(RecordedMutation{
        m.shard, m.sequence, m.kind, std::string(m.key.ns), std::string(m.key.key),
        m.value != nullptr ? std::make_shared<const Value>(m.value->SmallCopy()) : nullptr,
        m.deadline_ms, std::string(m.field), std::string(m.field_value), m.score, m.tiebreak,
        m.stream_id, std::string(m.group), std::string(m.consumer), m.delivery_count, m.delivery_ms,
        m.stream_fields != nullptr ? *m.stream_fields : StreamFields{}});
  }

  std::vector<RecordedMutation> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<RecordedMutation> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath
