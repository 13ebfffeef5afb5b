// A MutationSink for tests: keeps a copy of every record it is handed.
#pragma once

#include <optional>
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
  std::optional<Value> value;
  int64_t deadline_ms;
};

class RecordingSink : public MutationSink {
 public:
  void Apply(const Mutation& m) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(RecordedMutation{
        m.shard, m.sequence, m.kind, std::string(m.key.ns), std::string(m.key.key),
        m.value != nullptr ? std::optional<Value>(*m.value) : std::nullopt, m.deadline_ms});
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
