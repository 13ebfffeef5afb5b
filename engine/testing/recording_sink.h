// A MutationSink for tests: keeps an owned Record of every mutation it is handed.
#pragma once

#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine/mutation.h"
#include "engine/record.h"

namespace hotpath {

using RecordedMutation = Record;

class RecordingSink : public MutationSink {
 public:
  void Apply(const Mutation& m) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(Record::From(m));
  }

  std::vector<Record> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath
