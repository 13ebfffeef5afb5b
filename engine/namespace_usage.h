// NamespaceUsage: how many keys, and how many bytes of the keyspace's accounting, each
// namespace (tenant) holds, kept as the shards change, so a per-namespace quota can be checked
// on every call without visiting the shards.
//
// Shards report each change with Add; readers ask Of(ns). Counters are created on a
// namespace's first key and kept afterwards (at zero once it is empty): namespaces are few,
// bounded by configuration and tenants, not by traffic.
//
// Thread safety: Add and Of may run on any thread. Counters() hands out a pointer that stays
// valid for the object's life, so a shard can keep it and add without the lock here.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace hotpath {

class NamespaceUsage {
 public:
  struct Counters {
    std::atomic<int64_t> keys{0};
    std::atomic<int64_t> bytes{0};
  };
  struct Totals {
    int64_t keys = 0;
    int64_t bytes = 0;
  };

  // The counters of `ns`, created on first use.
  Counters* CountersOf(std::string_view ns) ABSL_LOCKS_EXCLUDED(mu_);
  // Zero for a namespace never seen.
  Totals Of(std::string_view ns) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  absl::node_hash_map<std::string, Counters> by_namespace_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotpath
