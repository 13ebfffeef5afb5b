#include "tools/bench/workload.h"

namespace hotpath {

std::string& ApiKey() {
  static auto* key = new std::string();
  return *key;
}

std::map<std::string, WorkloadFactory>& WorkloadRegistry() {
  static auto* registry = new std::map<std::string, WorkloadFactory>();
  return *registry;
}

}  // namespace hotpath
