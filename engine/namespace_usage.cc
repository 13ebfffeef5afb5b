#include "engine/namespace_usage.h"

#include "engine/common/absl_view.h"

namespace hotpath {

NamespaceUsage::Counters* NamespaceUsage::CountersOf(std::string_view ns) {
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = by_namespace_.find(AbslView(ns)); it != by_namespace_.end()) return &it->second;
  }
  absl::MutexLock lock(&mu_);
  return &by_namespace_[std::string(ns)];  // node_hash_map: the address never moves
}

NamespaceUsage::Totals NamespaceUsage::Of(std::string_view ns) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_namespace_.find(AbslView(ns));
  if (it == by_namespace_.end()) return {};
  return {it->second.keys.load(std::memory_order_relaxed),
          it->second.bytes.load(std::memory_order_relaxed)};
}

}  // namespace hotpath
