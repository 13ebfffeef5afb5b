// EncodingSink: a MutationSink that encodes and frames every mutation as the log writer's
// Apply does, into a buffer it reuses, so an in-process benchmark pays for the records (and the
// lock) a server's log would, but not for the file.
//
// Thread safety: Apply may be called concurrently, as the MutationSink contract allows.
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/mutation.h"
#include "persistence/record_format.h"

namespace hotpath {

class EncodingSink final : public MutationSink {
 public:
  void Apply(const Mutation& mutation) override {
    const std::string payload = EncodeMutation(mutation);
    absl::MutexLock lock(&mu_);
    if (log_.size() > (1 << 20)) log_.clear();
    AppendFrame(payload, &log_);
  }

 private:
  absl::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath
